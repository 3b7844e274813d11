"""Timings for derivations.lstm: where batching the finite-difference check helps.

The float64 gradient check needs 28 forward passes (14 variables, two signs). ``fd_gradient``
runs them as one batched pass over a parameter axis; the loop below runs them one by one.
Run: .venv/bin/python benchmarks/lstm_bench.py [T_symbolic]   (default 3; 4 takes a few minutes)
"""

import statistics
import sys
import time

import numpy as np

from derivations import lstm


def median_time(fn, repeat=7):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def looped_fd(p, x, y, rel_step=np.finfo(float).eps ** (1 / 3)):
    """The same central differences as fd_gradient, one forward pass per perturbation."""
    base = {**p, "h0": 0.0, "c0": 0.0}
    out = {}
    for k in lstm.PARAMS + ("h0", "c0"):
        h = rel_step * max(1.0, abs(base[k]))
        losses = []
        for sign in (1, -1):
            q = dict(base)
            q[k] += sign * h
            n = lstm.forward({n: q[n] for n in lstm.PARAMS}, x, q["h0"], q["c0"])
            losses.append(float(lstm.squared_loss(n["h"], y)))
        out[k] = (losses[0] - losses[1]) / (2 * h)
    return out


def main(T_symbolic=3):
    rng = np.random.default_rng(0)
    p = lstm.random_params(rng)
    print(f"{'T':>5} {'bptt ms':>9} {'fd batched ms':>14} {'fd looped ms':>13} {'loop/batch':>11} {'fd mpmath ms':>13}")
    for T in (10, 100, 1000):
        x, y = rng.standard_normal((2, T))
        e = np.zeros(T)
        t_bptt = median_time(lambda: lstm.backprop(p, x, e))
        t_batch = median_time(lambda: lstm.fd_gradient(p, x, y))
        t_loop = median_time(lambda: looped_fd(p, x, y))
        # Same differences up to rounding: the batched loss sums over time in another order,
        # which moves L by ~eps |L| and each quotient by ~eps |L| / step ~ 4e-11 |L|.
        a, b = lstm.fd_gradient(p, x, y), looped_fd(p, x, y)
        L = float(lstm.squared_loss(lstm.forward(p, x)["h"], y))
        assert all(abs(a[k] - b[k]) <= 1e-8 * (1 + L) for k in a)
        t_mp = median_time(lambda: lstm.fd_gradient_mp(p, x, y), repeat=3) if T <= 100 else float("nan")
        print(f"{T:>5} {1e3 * t_bptt:>9.2f} {1e3 * t_batch:>14.2f} {1e3 * t_loop:>13.2f} "
              f"{t_loop / t_batch:>11.1f} {1e3 * t_mp:>13.1f}")
    t0 = time.perf_counter()
    model = lstm.symbolic_model(T_symbolic)
    direct, rec = lstm.graph_error_signals(model), lstm.recursion_error_signals(model)
    assert all(lstm.is_zero(direct[k] - rec[k]) for k in direct)
    print(f"symbolic proof, T = {T_symbolic}: all {len(direct)} differences are 0, "
          f"{time.perf_counter() - t0:.1f} s (one run)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
