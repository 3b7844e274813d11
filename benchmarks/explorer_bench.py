"""How fast do the book's interactive figures respond? Measures and prints, asserts nothing.

For every chapter module with an ``explorer()`` factory:
- compute: one call of the figure's compute function (what a control move costs in Jupyter
  before drawing), median over all control combinations;
- redraw: a full Jupyter redraw (compute + matplotlib + PNG), median over 15 random moves;
- table: time to precompute the static site's table and its size as JSON.

Run: .venv/bin/python benchmarks/explorer_bench.py
"""

import importlib
import itertools
import json
import pkgutil
import random
import statistics
import time

import derivations


def _median_ms(fn, calls):
    times = []
    for args in calls:
        t = time.perf_counter()
        fn(**args)
        times.append(1e3 * (time.perf_counter() - t))
    return statistics.median(times), max(times)


def main():
    rng = random.Random(0)
    print(f"{'figure':28s} {'combos':>7s} {'compute ms':>11s} {'redraw ms':>10s} {'table s':>8s} {'table kB':>9s}")
    for info in pkgutil.iter_modules(derivations.__path__):
        module = importlib.import_module(f"derivations.{info.name}")
        if not hasattr(module, "explorer"):
            continue
        fig = module.explorer()
        names = [c.name for c in fig.controls]
        combos = [dict(zip(names, v)) for v in itertools.product(*[c.values() for c in fig.controls])]
        fig.render_png()  # warm up fonts and caches once
        compute_med, _ = _median_ms(lambda **p: fig.compute(**p), combos)
        moves = [rng.choice(combos) for _ in range(15)]
        redraw_med, redraw_max = _median_ms(fig.render_png, moves)
        t = time.perf_counter()
        spec = fig.vega_spec()
        table_s = time.perf_counter() - t
        kb = len(json.dumps(spec, separators=(",", ":"))) / 1024
        print(f"{fig.name:28s} {len(combos):7d} {compute_med:11.2f} {redraw_med:10.1f} {table_s:8.2f} {kb:9.0f}"
              f"   (slowest redraw {redraw_max:.0f} ms)")


if __name__ == "__main__":
    main()
