"""Sphinx extension: keep every page self-contained (no third-party scripts, no dead weight).

Jupyter Book 1 always loads sphinx-thebe, which adds a script naming a CDN URL for thebe
(and, as set up by JB, declares ``THEBE_JS_URL`` twice, an error in every page's console).
The book has no live-kernel button, so those scripts are dropped. MyST-NB also embeds the
ipywidgets state saved at execution time; the static pages draw their figures with Vega
instead, so that state (tens of kB per figure) is dropped as well. The Vega libraries
(0.8 MB) are loaded only by pages that draw a chart.
"""

from __future__ import annotations


def _unwanted(script) -> bool:
    filename = getattr(script, "filename", None) or ""
    attributes = getattr(script, "attributes", {}) or {}
    body = attributes.get("body", "") or ""
    return (
        "thebe" in filename
        or "THEBE_JS_URL" in body
        or attributes.get("type") == "application/vnd.jupyter.widget-state+json"
    )


def _needs_vega(script, body: str) -> bool:
    filename = getattr(script, "filename", None) or ""
    return "vendor/vega" not in filename or 'class="explorer"' in body


def _prune_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    body = context.get("body", "") or ""
    if scripts:
        context["script_files"] = [s for s in scripts if not _unwanted(s) and _needs_vega(s, body)]


def setup(app):
    app.connect("html-page-context", _prune_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
