"""Timings for derivations.lstm: what BPTT saves over finite differences, and what each
symbolic proof costs.

BPTT gives all 14 gradient components (12 parameters, h(0), c(0)) from one forward and
one backward pass; central differences need 28 forward passes, in float64
(``fd_gradient``) or in mpmath (``fd_gradient_mp``, the chapter's reference). The general
proof works at one generic step, whatever T; the check against the unrolled network grows
like 4^T.

Run: .venv/bin/python benchmarks/lstm_bench.py [T_symbolic]
(T_symbolic = 1..4, default 3; 4 takes minutes.)
"""

import statistics
import sys
import time

import numpy as np

from derivations import checks, lstm


def median_time(fn, repeat=5):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(T_symbolic=3):
    rng = np.random.default_rng(0)
    p = lstm.random_params(rng)
    print(f"{'T':>5} {'bptt ms':>9} {'fd float64 ms':>14} {'fd/bptt':>8} "
          f"{'fd mpmath ms':>13}")
    for T in (10, 100, 1000):
        x, y = rng.standard_normal((2, T))
        t_bptt = median_time(lambda: lstm.loss_and_grad(p, x, y))
        t_fd = median_time(lambda: lstm.fd_gradient(p, x, y), repeat=3)
        # The float64 differences agree with BPTT within their own error, ~eps^(2/3)
        # (1 + L) absolute (measured <= 4e-11 in the chapter); tolerance 3e-9.
        L, g = lstm.loss_and_grad(p, x, y)
        fd = lstm.fd_gradient(p, x, y)
        checks.check_close(np.array([g[k] for k in fd]) / (1 + L),
                           np.array(list(fd.values())) / (1 + L), 3e-9, tiny=1.0)
        t_mp = (median_time(lambda: lstm.fd_gradient_mp(p, x, y), repeat=1)
                if T <= 100 else float("nan"))
        print(f"{T:>5} {1e3 * t_bptt:>9.2f} {1e3 * t_fd:>14.2f} {t_fd / t_bptt:>8.1f} "
              f"{1e3 * t_mp:>13.1f}")
    t0 = time.perf_counter()
    proofs = lstm.prove_generic_step()
    print(f"general proof at a generic step: {len(proofs)} identities, "
          f"{time.perf_counter() - t0:.2f} s")
    t0 = time.perf_counter()
    status = lstm.verify_unrolled(T_symbolic)
    print(f"unrolled network, {status.status()}: {time.perf_counter() - t0:.1f} s (one run)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
