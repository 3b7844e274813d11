"""Sphinx extension: take a chapter away. Each chapter page offers its executed notebook.

The theme's download menu offers only the page's MyST source (a text file that needs
jupytext to open as a notebook). After the build, each chapter's executed notebook (from
the execution cache, outputs included) is written to ``_notebooks/<chapter>.ipynb`` and
added to that menu; the whole book's source is offered as one archive
(``_static/derivations-book-source.zip``, the files tracked by git), which the intro
links to, so that a reader can run everything locally (``make lab``).
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARCHIVE = "_static/derivations-book-source.zip"
_MENU = re.compile(r'(<ul class="dropdown-menu">\s*)')


def _item(href: str) -> str:
    return (f'<li><a href="{href}" download class="btn btn-sm dropdown-item" '
            'title="Download the executed notebook (open it in Jupyter)">'
            '<span class="btn__icon-container"><i class="fas fa-file"></i></span>'
            '<span class="btn__text-container">.ipynb</span></a></li>\n')


def _source_archive(out: Path) -> None:
    try:
        files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return  # not a git checkout: no archive (the intro says how to get the source)
    target = out / ARCHIVE
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(f for f in files.decode().split("\0") if f):
            path = ROOT / name
            if path.is_file():
                info = zipfile.ZipInfo(f"derivations-book/{name}", date_time=(2026, 1, 1, 0, 0, 0))
                info.external_attr = (path.stat().st_mode & 0o777) << 16
                z.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)


def _finished(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    sys.path.insert(0, str(ROOT / "tools"))
    import nbformat
    from executed_notebooks import chapters_with_code, executed_notebook
    from jupyter_cache import get_cache

    out = Path(app.outdir)
    cache = get_cache(str(Path(app.outdir).parent / ".jupyter_cache"))
    for chapter in chapters_with_code():
        docname = chapter.relative_to(ROOT).with_suffix("").as_posix()
        page = out / f"{docname}.html"
        if not page.exists():
            continue
        try:
            nb = executed_notebook(chapter, cache)
        except KeyError:
            continue
        target = out / "_notebooks" / f"{chapter.stem}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
        text = page.read_text(encoding="utf-8")
        href = Path(*[".."] * (len(Path(docname).parts) - 1), "_notebooks", target.name).as_posix()
        if href not in text:
            page.write_text(_MENU.sub(lambda m: m.group(1) + _item(href), text, count=1), encoding="utf-8")
    _source_archive(out)


def setup(app):
    app.connect("build-finished", _finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
