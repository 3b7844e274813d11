"""The self-check answer box on the static site, in a real browser, offline.

The activations chapter has a box for sigma'(z) in z. Typing the right formula and pressing
Enter must say "Correct" (with a typeset preview of what was read); a wrong one must say
"Not equal" and name a point; text outside the grammar must be refused, not run. Needs the
built site (``make book``) with mathjs (``vendor/math.js``) and ``selfcheck.js`` loaded.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

PAGE = "book/activations.html"
SIGMA_PRIME = "exp(-z)/(1+exp(-z))^2"
SIGMA_PRIME_STARS = "exp(-z)/(1+exp(-z))**2"
NOT_SIGMA_PRIME = "exp(-z)/(1+exp(-z))"
VERDICT = re.compile(r"Correct|Not equal|Could not read|The checker failed")


def _answer(box, text: str):
    """Type ``text`` into the box and press Enter, as a reader would; return the status."""
    field = box.locator("input.self-check")
    field.fill(text)
    field.press("Enter")
    status = box.locator('[role="status"]')
    expect(status).to_have_text(VERDICT, timeout=5000)
    return status


def _sigma_prime_box(page):
    """The box on the page that accepts sigma'(z) (the chapter may hold other boxes)."""
    boxes = page.locator(".self-check-box")
    assert boxes.count() >= 1, f"no self-check box on {PAGE}"
    seen = []
    for i in range(boxes.count()):
        box = boxes.nth(i)
        box.scroll_into_view_if_needed()
        text = _answer(box, SIGMA_PRIME).inner_text()
        if text.startswith("Correct"):
            return box
        seen.append(text)
    raise AssertionError(f"no box accepts {SIGMA_PRIME!r}; their verdicts: {seen}")


def test_sigma_prime_box_judges_answers(site_url, open_page, artifacts):
    page, log = open_page(f"{site_url}/{PAGE}")
    # mathjs is loaded only when a reader first checks an answer (pages stay light).
    page.wait_for_function("() => window.SelfCheck", timeout=15000)
    assert not page.evaluate("() => !!window.math"), "mathjs was loaded before any answer was checked"
    box = _sigma_prime_box(page)

    status = _answer(box, SIGMA_PRIME)
    expect(status).to_contain_text("Correct")
    # The preview shows what was read, as MathML the browser typesets: a fraction of exp(-z)
    # over a power; the page's own formulas are untouched.
    expect(box.locator(".self-check-preview math")).to_have_count(1, timeout=15000)
    expect(box.locator(".self-check-preview math mfrac msup")).to_have_count(1)
    box.screenshot(path=str(artifacts / "self-check-correct.png"))

    expect(_answer(box, SIGMA_PRIME_STARS)).to_contain_text("Correct")  # ** as well as ^

    status = _answer(box, NOT_SIGMA_PRIME)
    expect(status).to_contain_text("Not equal")
    expect(status).to_contain_text(re.compile(r"at z = -?[0-9.]+, your answer is [-0-9.e+]+ but the expected value is"))
    box.screenshot(path=str(artifacts / "self-check-not-equal.png"))

    for hostile in ("__import__('os')", "9**9**9**9", "2z", "f(z) = 1", "z.constructor"):
        expect(_answer(box, hostile)).to_contain_text("Could not read your answer")
    expect(box.locator("input.self-check")).to_have_attribute("aria-invalid", "true")

    # Once more correct after the refusals: the box keeps working.
    expect(_answer(box, SIGMA_PRIME)).to_contain_text("Correct")
    assert log.errors == [], f"console errors: {log.errors}"
    assert log.offsite == [], f"requests to other hosts: {log.offsite}"


def test_box_is_labelled_and_announces(site_url, open_page):
    page, _log = open_page(f"{site_url}/{PAGE}")
    fields = page.locator("input.self-check").all()
    assert fields, f"no self-check box on {PAGE}"
    for field in fields:
        # An accessible name (its <label>) and a live status region it points to.
        label = page.locator(f'label[for="{field.get_attribute("id")}"]')
        assert label.count() == 1 and label.inner_text().strip()
        status = page.locator(f'#{field.get_attribute("aria-describedby")}')
        assert status.get_attribute("role") == "status"
