"""What does exact reversal cost, and how fast is the momentum figure? Measures and prints, asserts nothing.

- per-step time of the float64 step (public, with input checks), of ExactMomentum's step and
  reverse step, on logistic regression (D = 3) and on a D = 100 quadratic, and the ratios;
- the figure's compute (figure_data) at its default and largest settings, and the full
  precompute of the static site's table.

Medians over repeats. Run: .venv/bin/python benchmarks/momentum_bench.py
"""

import statistics
import time

import numpy as np

from derivations import momentum


def _median_us(fn, steps, repeats=5):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn(steps)
        times.append(1e6 * (time.perf_counter() - t) / steps)
    return statistics.median(times)


def _per_step(problem, D, steps=2000):
    theta0 = np.linspace(-1.0, 1.0, D)

    def float_run(n):
        t, p = theta0, np.zeros(D)
        for _ in range(n):
            t, p = momentum.step(t, p, problem.grad, 0.1, 0.9)

    ex = momentum.ExactMomentum(theta0, np.zeros(D), problem.grad, 0.1, 0.9)
    f = _median_us(float_run, steps)
    e_fwd = _median_us(ex.run, steps)
    e_rev = _median_us(ex.unrun, steps)
    print(f"  float64 step          {f:9.1f} us")
    print(f"  ExactMomentum.step    {e_fwd:9.1f} us   ({e_fwd / f:.1f} x float)")
    print(f"  ExactMomentum.reverse {e_rev:9.1f} us   ({e_rev / f:.1f} x float)")


def main():
    print("per-step time, logistic regression (D = 3):")
    _per_step(momentum.logistic_regression(), 3)
    rng = np.random.default_rng(0)
    Q = np.linalg.qr(rng.standard_normal((100, 100)))[0]
    A = (Q * np.linspace(0.01, 1.0, 100)) @ Q.T
    print("per-step time, quadratic (D = 100):")
    _per_step(momentum.quadratic(0.5 * (A + A.T), np.zeros(100)), 100, steps=500)

    for params in (dict(beta=0.9, alpha=0.1, steps=600), dict(beta=0.6, alpha=0.15, steps=800)):
        times = []
        for _ in range(5):
            t = time.perf_counter()
            momentum.figure_data(**params)
            times.append(1e3 * (time.perf_counter() - t))
        print(f"figure_data({params}): median {statistics.median(times):.0f} ms")
    fig = momentum.explorer()
    t = time.perf_counter()
    rows = fig.table()
    total = sum(len(v) for r in rows for v in r.values() if isinstance(v, list))
    print(f"static table: {len(rows)} combinations, {total} values, {time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
