"""Sphinx extension: keep every page self-contained (no third-party scripts, no dead weight).

Jupyter Book 1 always loads sphinx-thebe, which adds a script naming a CDN URL for thebe
(and, as set up by JB, declares ``THEBE_JS_URL`` twice, an error in every page's console).
The book has no live-kernel button, so those scripts are dropped. MyST-NB also embeds the
ipywidgets state saved at execution time; the static pages draw their figures with Vega
instead, so that state (tens of kB per figure) is dropped as well. The Vega libraries
(0.8 MB) are loaded only by pages that draw a chart, the self-check script only by pages
with an answer box (it loads mathjs itself when a reader first checks an answer).

The theme shows its icons (search, menu, download...) with Font Awesome's JavaScript kit,
1.5 MB on every page, although its stylesheet already holds Font Awesome's rules. After the
build the kit is dropped, the stylesheet keeps only the rules of the icons the site uses,
and they are drawn with the solid font cut down to those icons (fontTools, which matplotlib
brings): a few kB instead of 156 kB.

An Explorer's precomputed table (every control combination's numbers) is moved out of its
page into a script next to it (``_static/explorers/<page>-<figure>.js``), which the page
loads before drawing: the page's HTML stays small and readable, and the table still loads
from ``file://`` (a ``fetch`` of a JSON file would not).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FA_FONT = ROOT / "node_modules" / "@fortawesome" / "fontawesome-free" / "webfonts" / "fa-solid-900.ttf"
FA_FONT_OUT = "_static/vendor/fontawesome/webfonts/icons.woff"
_FA_SCRIPT = re.compile(r'<script defer src="([./]*)_static/scripts/fontawesome\.js[^"]*"></script>')


def _unwanted(script) -> bool:
    filename = getattr(script, "filename", None) or ""
    attributes = getattr(script, "attributes", {}) or {}
    body = attributes.get("body", "") or ""
    return (
        "thebe" in filename
        or "THEBE_JS_URL" in body
        or attributes.get("type") == "application/vnd.jupyter.widget-state+json"
    )


def _needed(script, body: str) -> bool:
    """Vega only where a chart is drawn, the self-check script only where a box is."""
    filename = getattr(script, "filename", None) or ""
    if "vendor/vega" in filename:
        return 'class="explorer"' in body
    if filename.endswith("selfcheck.js"):
        return 'class="self-check-box"' in body
    return True


def _prune_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    body = context.get("body", "") or ""
    if scripts:
        context["script_files"] = [s for s in scripts if not _unwanted(s) and _needed(s, body)]


THEME_CSS = "_static/styles/pydata-sphinx-theme.css"
_ICON_RULE_MIN = re.compile(r'((?:\.fa-[a-z0-9-]+:+before,?)+)\{content:"\\([0-9a-f]+)"\}')
_SOLID_FACE = re.compile(r"(@font-face\{[^}]*font-weight:900;src:)[^}]*\}")


def _trim_theme_css(css: str, used: set[str]) -> tuple[str, set[int]]:
    """The theme's stylesheet (which embeds Font Awesome's) keeping only the icon rules for
    icons in ``used``, its solid font pointed at the cut-down font; and the code points kept."""
    points = set()

    def rule(m):
        names = set(re.findall(r"\.fa-([a-z0-9-]+):", m.group(1)))
        if names & used:
            points.add(int(m.group(2), 16))
            return m.group(0)
        return ""

    css = _ICON_RULE_MIN.sub(rule, css)
    css = _SOLID_FACE.sub(lambda m: m.group(1) + 'url(../vendor/fontawesome/webfonts/icons.woff) format("woff")}', css)
    return css, points


def _icon_font(points: set[int], target: Path) -> None:
    """The solid icon font cut down to ``points``."""
    from fontTools import subset

    options = subset.Options()
    options.flavor = "woff"
    options.layout_features = []
    font = subset.load_font(str(FA_FONT), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(points))
    subsetter.subset(font)
    target.parent.mkdir(parents=True, exist_ok=True)
    subset.save_font(font, str(target), options)


# The theme's search button shows "Search Ctrl+K" but is named just "Search" (axe:
# label-content-name-mismatch): without the aria-label its name is its visible text.
_SEARCH_LABEL = re.compile(r'(<button class="btn search-button-field[^"]*"[^>]*?) aria-label="Search"')

# A hidden cell's toggle is named "Toggle hidden content" but shows "Show code cell source";
# named by its visible text instead.
_TOGGLE_LABEL = re.compile(r'(<summary[^>]*?) aria-label="Toggle hidden content"')

_EMBED = re.compile(r'vegaEmbed\("#explorer-([a-z0-9-]+)", ')
_TABLE = "explorer_table"


def _extract_tables(page: Path, text: str, out: Path) -> str:
    """Move each inline Explorer table of ``text`` into its own script; return the new page."""
    pieces, pos = [], 0
    for match in _EMBED.finditer(text):
        if match.start() < pos or text.startswith("Object.assign(", match.end()):
            continue  # inside a previous match, or moved out by an earlier build already
        spec, end = json.JSONDecoder().raw_decode(text, match.end())
        rows = spec.get("datasets", {}).pop(_TABLE, None)
        if rows is None:
            continue
        key = f"{page.stem}-{match.group(1)}"
        script = out / "_static" / "explorers" / f"{key}.js"
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_text(f"(window.explorerTables = window.explorerTables || {{}})[{json.dumps(key)}] = "
                          + json.dumps(rows, separators=(",", ":")) + ";\n", encoding="utf-8")
        start = text.rfind("<script", 0, match.start())
        src = Path(*[".."] * (len(page.relative_to(out).parts) - 1), "_static", "explorers", f"{key}.js").as_posix()
        spec_js = json.dumps(spec, separators=(",", ":"), sort_keys=True).replace("</", "<\\/")
        pieces += [text[pos:start], f'<script src="{src}"></script>\n', text[start:match.end()],
                   f'Object.assign({spec_js}, {{"datasets": Object.assign({json.dumps(spec.get("datasets", {}))}, '
                   f'{{"{_TABLE}": window.explorerTables[{json.dumps(key)}]}})}})']
        pos = end
    return "".join(pieces) + text[pos:] if pieces else text


def _replace_icon_kit(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    used: set[str] = set()
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        used |= set(re.findall(r"\bfa-([a-z0-9-]+)", text))
        new = _TOGGLE_LABEL.sub(r"\1", _SEARCH_LABEL.sub(r"\1", _extract_tables(page, text, out)))
        new = _FA_SCRIPT.sub("", new)
        # The bibliography's list wrapper has no list items (axe: aria-required-children).
        new = new.replace('<div role="list" class="citation-list">', '<div class="citation-list">')
        if new != text:
            page.write_text(new, encoding="utf-8")
    theme = out / THEME_CSS
    if theme.exists():
        css, points = _trim_theme_css(theme.read_text(encoding="utf-8"), used)
        theme.write_text(css, encoding="utf-8")
        if points:
            _icon_font(points, out / FA_FONT_OUT)


def setup(app):
    app.connect("html-page-context", _prune_scripts, priority=900)
    app.connect("build-finished", _replace_icon_kit)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
