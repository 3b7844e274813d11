"""Run one chapter in a fresh kernel, as the build does, and report the first failing cell.

    .venv/bin/python tools/run_chapter.py book/activations.md [--save out.ipynb]

Quicker than a book build while writing a chapter: it executes the MyST notebook with
nbclient (the same executor MyST-NB uses) and prints each cell's time. The book build
(``make book``) still checks the MyST syntax, cross-references and the static figures.
"""

import argparse
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("chapter", type=Path)
    ap.add_argument("--save", type=Path, help="write the executed notebook here")
    args = ap.parse_args()
    nb = jupytext.read(args.chapter)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "book")}})
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as err:
        print(f"run_chapter: {args.chapter} failed after {time.perf_counter() - start:.1f} s:\n{err}", file=sys.stderr)
        return 1
    finally:
        if args.save:
            nbformat.write(nb, args.save)
    stderr = [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("name") == "stderr"]
    if stderr:
        print(f"run_chapter: {args.chapter} wrote to stderr (an error in the build):\n" + "\n".join(stderr), file=sys.stderr)
        return 1
    print(f"run_chapter: {args.chapter} ran in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
