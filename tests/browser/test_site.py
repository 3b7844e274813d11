"""The static site in a real browser, offline: clean pages, typeset maths, live controls.

Run against the built site (``make book``) served on 127.0.0.1 with every other host
blocked. Screenshots of every page and of every control move are kept in test-artifacts/.
"""

from __future__ import annotations

import re

import pytest

from .conftest import SITE

PAGES = sorted(
    str(p.relative_to(SITE)) for p in SITE.rglob("*.html")
    if not p.relative_to(SITE).parts[0].startswith("_")
) if SITE.exists() else []

# Vega draws asynchronously after an input event; MathJax typesets after load.
SETTLE_MS = 600


def _slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")


def _wait_for_mathjax(page) -> None:
    page.wait_for_function(
        "() => !window.MathJax || (window.MathJax.startup && window.MathJax.startup.promise)", timeout=15000)
    page.evaluate("() => window.MathJax ? window.MathJax.startup.promise : null")


def test_pages_were_found():
    # Guards the parametrisation below: an empty site would otherwise test nothing.
    assert "book/activations.html" in PAGES and "index.html" in PAGES


@pytest.mark.parametrize("path", PAGES)
def test_page_is_clean_offline_and_typeset(path, site_url, open_page, artifacts):
    page, log = open_page(f"{site_url}/{path}")
    _wait_for_mathjax(page)
    page.wait_for_timeout(SETTLE_MS)
    page.screenshot(path=str(artifacts / f"page-{_slug(path)}.png"), full_page=True)
    assert log.offsite == [], f"requests to other hosts: {log.offsite}"
    assert log.errors == [], f"console errors: {log.errors}"
    # Every math element Sphinx wrote must now hold MathJax output, i.e. no raw TeX is left.
    untypeset = page.evaluate(
        "() => [...document.querySelectorAll('.math')].filter(e => !e.querySelector('mjx-container'))"
        ".map(e => e.textContent.slice(0, 60))")
    assert untypeset == [], f"math left as raw TeX: {untypeset[:5]}"
    # The text a reader sees, code cells excepted (their source may well hold TeX strings).
    body = page.evaluate("""() => { const a = (document.querySelector('article') || document.body).cloneNode(true);
      a.querySelectorAll('pre, code, .highlight, script').forEach(e => e.remove()); return a.innerText; }""")
    assert "\\(" not in body and "$$" not in body, "raw TeX delimiters in the page text"


def _figure_png(page, explorer) -> bytes:
    """Pixels of the chart alone (vega's svg), not of the controls below it."""
    return explorer.query_selector("svg.marks").screenshot()


def _redrawn_png(page, explorer, before: bytes, limit_ms: int = 8000) -> bytes:
    """The chart's pixels once they differ from ``before`` (Vega redraws asynchronously),
    or its pixels after ``limit_ms`` if they never do (the caller's assert then fails)."""
    waited, after = 0, _figure_png(page, explorer)
    while after == before and waited < limit_ms:
        page.wait_for_timeout(200)
        waited += 200
        after = _figure_png(page, explorer)
    return after


def _controls(explorer):
    return explorer.query_selector_all(".vega-bindings input[type=range], .vega-bindings select") + [
        group for group in explorer.query_selector_all(".vega-bindings .vega-bind")
        if group.query_selector("input[type=radio]")
    ]


def _state(control):
    radios = control.query_selector_all("input[type=radio]")
    if radios:
        return next((r.get_attribute("value") for r in radios if r.is_checked()), None)
    return control.evaluate("e => e.value")


def _restore(control, value) -> None:
    radios = control.query_selector_all("input[type=radio]")
    if radios:
        next(r for r in radios if r.get_attribute("value") == value).click()
        return
    control.evaluate("(e, v) => { e.value = v; e.dispatchEvent(new Event('input', {bubbles: true})); "
                     "e.dispatchEvent(new Event('change', {bubbles: true})); }", value)


def _move(page, control, attempt: int = 0) -> str:
    """Change a control to another value the way a reader would; return a description."""
    radios = control.query_selector_all("input[type=radio]")
    if radios:
        target = next(r for r in radios if not r.is_checked())
        value = target.get_attribute("value")
        target.click()
        return f"radio -> {value}"
    if control.evaluate("e => e.tagName") == "SELECT":
        options = control.evaluate("e => [...e.options].map(o => o.value)")
        current = control.evaluate("e => e.value")
        value = next(o for o in options if o != current)
        control.select_option(value)
        return f"select -> {value}"
    lo, hi = (float(control.get_attribute(a) or v) for a, v in (("min", 0), ("max", 100)))
    cur = float(control.evaluate("e => e.value"))  # the live value (the attribute is only the initial one)
    step = float(control.get_attribute("step") or 1)
    mid = lo + step * round((hi - lo) / step / 2)
    # The far end first; if the figure happens not to change there (a saturated state), the
    # other end, then the middle.
    candidates = [v for v in (hi, lo, mid) if v != cur]
    value = candidates[min(attempt, len(candidates) - 1)]
    control.evaluate("(e, v) => { e.value = v; e.dispatchEvent(new Event('input', {bubbles: true})); "
                     "e.dispatchEvent(new Event('change', {bubbles: true})); }", str(value))
    return f"range -> {value}"


@pytest.mark.parametrize("path", PAGES)
def test_every_control_redraws_its_figure(path, site_url, open_page, artifacts):
    page, log = open_page(f"{site_url}/{path}")
    page.wait_for_timeout(SETTLE_MS)
    explorers = page.query_selector_all(".explorer")
    if 'class="explorer"' not in (SITE / path).read_text(encoding="utf-8"):
        assert explorers == []
        return
    assert explorers, "the page has an explorer figure but none was drawn"
    for e_index, explorer in enumerate(explorers):
        name = explorer.get_attribute("data-explorer")
        explorer.scroll_into_view_if_needed()
        page.wait_for_selector(f"#explorer-{name} .vega-bindings", timeout=15000)
        controls = _controls(explorer)
        assert controls, f"figure {name} has no controls"
        for c_index, control in enumerate(controls):
            # Each control is moved from the figure's default state (the others restored),
            # so that a saturated combination left by an earlier move cannot hide a change.
            original = _state(control)
            for attempt in range(3):
                before = _figure_png(page, explorer)
                what = _move(page, control, attempt)
                after = _redrawn_png(page, explorer, before)
                if after != before:
                    break
            (artifacts / f"control-{name}-{c_index}-before.png").write_bytes(before)
            (artifacts / f"control-{name}-{c_index}-after.png").write_bytes(after)
            assert before != after, f"figure {name}: moving control {c_index} ({what}) left the pixels unchanged"
            _restore(control, original)
            _redrawn_png(page, explorer, after, limit_ms=3000)
    assert log.errors == [] and log.offsite == []
