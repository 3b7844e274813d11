"""Write the notebooks the book build executed, with all their outputs, for nbval.

MyST-NB's copies in _build/jupyter_execute lack the outputs of `glue` cells (it moves them
to *.glue.json), so nbval would see those cells as changed. The execution cache holds the
complete executed notebooks: for each chapter in _toc.yml that has code, this looks up the
cache record matching the chapter's *current* code and writes it to _build/executed/.
A chapter with no matching record (not built since it changed) is an error: run make book.
"""

import sys
from pathlib import Path

import nbformat
import yaml
from jupyter_cache import get_cache
from myst_nb.core.read import read_myst_markdown_notebook

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "_build" / "executed"


def toc_files(node) -> list[str]:
    """Every `file:` entry of a _toc.yml tree, in order."""
    found = []
    if isinstance(node, dict):
        if "file" in node:
            found.append(node["file"])
        for value in node.values():
            found += toc_files(value)
    elif isinstance(node, list):
        for item in node:
            found += toc_files(item)
    return found


def executed_notebook(path: Path, cache):
    """The executed notebook (with all outputs) of the chapter at ``path`` as it is now, from
    the execution cache; KeyError when the cache has no run of its current code."""
    nb = read_myst_markdown_notebook(path.read_text(encoding="utf-8"))
    record = cache.match_cache_notebook(nb)
    return cache.get_cache_bundle(record.pk).nb


def chapters_with_code() -> list[Path]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    chapters = [ROOT / f"{name}.md" for name in [toc["root"], *toc_files(toc)]]
    return [p for p in chapters if p.exists() and "```{code-cell}" in p.read_text(encoding="utf-8")]


def main() -> int:
    cache = get_cache(str(ROOT / "_build" / ".jupyter_cache"))
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.ipynb"):
        old.unlink()
    written = 0
    for path in chapters_with_code():
        try:
            nb = executed_notebook(path, cache)
        except KeyError:
            print(f"executed_notebooks: no executed copy of {path.relative_to(ROOT)} matches its "
                  "current code; run `make book` first", file=sys.stderr)
            return 1
        nbformat.write(nb, OUT / f"{path.stem}.ipynb")
        written += 1
    print(f"executed_notebooks: wrote {written} notebooks to {OUT.relative_to(ROOT)}")
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main())
