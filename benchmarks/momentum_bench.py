"""Exact vs float64 momentum steps and the momentum figures' compute: measures, prints.

Asserts nothing (timings on a shared machine are noise for a test). For each D and run
length it reports the median time per step, over several runs, of

- ``float step``: the library's float64 step, ``momentum.step`` (argument checks
  included), the baseline of issue 16;
- ``float arithmetic``: the bare update ``p = beta p - alpha g; theta = theta + p``;
- ``exact step`` / ``exact reverse``: ``ExactMomentum.run`` / ``unrun``, per step;

and the ratios exact / float step and exact / float arithmetic. The loss is the cheapest
one we could think of, a diagonal quadratic (gradient: two array operations), so the
ratios are the least favourable to exact reversal; a costlier gradient shrinks them. It
also reports the buffer's information and memory per parameter per step against
-log2(beta), and the figures' compute time.

Run: ``.venv/bin/python benchmarks/momentum_bench.py [--quick]``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np

from derivations import momentum
from derivations.momentum.step import _forward

ALPHA, BETA = 0.1, 0.9


def _problem(D: int):
    lam = np.linspace(0.01, 1.0, D)   # Hessian eigenvalues; alpha lam <= 0.1: stable
    theta_star = np.zeros(D)
    return (lambda t: lam * (t - theta_star)), np.linspace(-1.0, 1.0, D)


def _per_step_us(run, steps: int, repeats: int) -> tuple[float, float]:
    """Median and spread (max - min) over ``repeats`` runs of the time per step (us)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(steps)
        times.append(1e6 * (time.perf_counter() - start) / steps)
    return statistics.median(times), max(times) - min(times)


def compare(D: int, steps: int, repeats: int) -> dict:
    grad, theta0 = _problem(D)

    def float_step(n):
        t, p = theta0, np.zeros(D)
        for _ in range(n):
            t, p = momentum.step(t, p, grad, ALPHA, BETA)

    def float_arithmetic(n):
        t, p = theta0, np.zeros(D)
        for _ in range(n):
            t, p = _forward(t, p, grad, ALPHA, BETA)

    exact = momentum.ExactMomentum(theta0, np.zeros(D), grad, ALPHA, BETA)
    out = {"D": D, "steps": steps}
    # Interleave the four measurements so that a burst of load on the machine hits all.
    samples = {k: [] for k in ("float", "arith", "exact", "reverse")}
    for _ in range(repeats):
        samples["float"].append(_per_step_us(float_step, steps, 1)[0])
        samples["arith"].append(_per_step_us(float_arithmetic, steps, 1)[0])
        samples["exact"].append(_per_step_us(exact.run, steps, 1)[0])
        samples["reverse"].append(_per_step_us(exact.unrun, steps, 1)[0])
    for k, v in samples.items():
        out[k] = statistics.median(v)
        out[k + "_spread"] = max(v) - min(v)
    exact.run(steps)
    out["info_rate"] = exact.buffer_rate()
    out["memory_rate"] = exact.memory_bits() / (D * steps)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer sizes and repeats")
    args = ap.parse_args()
    repeats = 3 if args.quick else 7
    cases = [(100, 1000), (100, 10_000), (10_000, 300), (10_000, 3000)]
    if not args.quick:
        cases = [(3, 2000)] + cases + [(1000, 2000)]
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, "
          f"NumPy {np.__version__}")
    print(f"diagonal quadratic, alpha = {ALPHA}, beta = {BETA}; medians over {repeats} "
          "runs (spread = max - min), microseconds per step")
    bits = momentum.bits_lost_per_step(BETA)
    print(f"-log2(beta) = {bits:.5f} bits per parameter per step\n")
    head = ("D", "steps", "float step", "float arith", "exact step", "exact rev",
            "exact/step", "exact/arith", "info b/p/s", "memory b/p/s")
    print(" | ".join(head))
    print("|".join("---" for _ in head))
    for D, steps in cases:
        r = compare(D, steps, repeats)
        print(" | ".join([
            str(D), str(steps),
            *(f"{r[k]:.1f} ±{r[k + '_spread']:.1f}"
              for k in ("float", "arith", "exact", "reverse")),
            f"{r['exact'] / r['float']:.2f}", f"{r['exact'] / r['arith']:.2f}",
            f"{r['info_rate']:.5f}", f"{r['memory_rate']:.4f}"]))

    print()
    for params in (dict(beta=0.9, alpha=0.1), dict(beta=0.6, alpha=0.15)):
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            momentum.figure_data(**params)
            times.append(1e3 * (time.perf_counter() - t))
        print(f"figure_data({params}): median {statistics.median(times):.0f} ms")
    for make in (momentum.explorer, momentum.area_explorer):
        fig = make()
        t = time.perf_counter()
        rows = fig.table()
        total = sum(len(v) for r in rows for v in r.values() if isinstance(v, list))
        print(f"{fig.name}: static table of {len(rows)} combinations, {total} values, "
              f"{time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
