"""The answer box: ipywidgets in Jupyter, static HTML on the site (judged there by
assets/selfcheck.js with the same payload and rule).
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from .. import checks

from .grammar import MAX_LENGTH, _read, _sympy
from .verdict import Verdict, _judge, _symbols, static_payload


# ---------------------------------------------------------------------------------------
# The box: ipywidgets in Jupyter, static HTML (judged by assets/selfcheck.js) on the site
# ---------------------------------------------------------------------------------------

_BOXES: list[str] = []


@dataclass
class SelfCheck:
    """One answer box; display it (see :func:`box`)."""

    expected: Any
    symbols: tuple[sp.Symbol, ...]
    prompt: str
    label: str
    seed: int = 0
    count: int = 8
    payload: dict = field(init=False)
    element_id: str = field(init=False)

    def __post_init__(self) -> None:
        self.payload = static_payload(self.expected, self.symbols, seed=self.seed, count=self.count)
        content = json.dumps([self.payload, self.prompt, self.label]).encode()
        digest = hashlib.sha1(content).hexdigest()
        # Content hash plus display order: stable from run to run, distinct on one page.
        _BOXES.append(digest)
        self.element_id = f"self-check-{digest[:10]}-{len(_BOXES)}"

    def judge(self, answer: str) -> Verdict:
        """The verdict on ``answer`` against this box's payload (what the browser uses)."""
        tree = _read(answer, tuple(self.payload["variables"]))
        latex = sp.latex(_sympy(tree, {s.name: s for s in self.symbols}))
        return _judge(tree, self.payload, latex)

    def placeholder(self) -> str:
        return f"a formula in {', '.join(self.payload['variables'])}; Enter to check"

    def html(self) -> str:
        """The static box: input, typeset preview, role="status" verdict, JSON payload."""
        i, v = self.element_id, self.payload["variables"][0]
        data = json.dumps(self.payload, sort_keys=True, separators=(",", ":")).replace("</", "<\\/")
        return (
            f'<div class="self-check-box" id="{i}">\n'
            f'<p class="self-check-prompt">{_math_spans(html.escape(self.prompt))}</p>\n'
            '<div class="self-check-row">'
            f'<label class="self-check-label" for="{i}-input">{html.escape(self.label)}</label> '
            f'<input class="self-check" id="{i}-input" type="text" autocomplete="off" '
            f'autocapitalize="off" spellcheck="false" maxlength="{MAX_LENGTH}" '
            f'aria-describedby="{i}-status" placeholder="{html.escape(self.placeholder())}"> '
            '<button type="button" class="self-check-button">Check</button></div>\n'
            f'<div class="self-check-preview" id="{i}-preview"></div>\n'
            f'<div class="self-check-status" id="{i}-status" role="status" aria-live="polite">'
            f"Type your answer as plain text (e.g. 2*{v}^2 + sin({v})) and press Enter.</div>\n"
            f'<script type="application/json" class="self-check-data">{data}</script>\n'
            "</div>"
        )

    def widget(self):
        """The Jupyter view: a text field (Enter checks), a Check button and the verdict."""
        import ipywidgets as w

        prompt = w.HTMLMath(value=html.escape(self.prompt))
        text = w.Text(description=self.label, placeholder=self.placeholder(),
                      continuous_update=False, style={"description_width": "initial"},
                      layout=w.Layout(width="520px"))
        button = w.Button(description="Check")
        status = w.HTMLMath(value="")

        def run(_change=None):
            try:
                verdict = self.judge(text.value)
            except ValueError as err:
                status.value = html.escape(f"Could not read your answer: {err}")
                return
            status.value = f"{html.escape(verdict.message)}<br>You typed: ${verdict.latex}$"

        text.observe(run, names="value")
        button.on_click(run)
        view = w.VBox([prompt, w.HBox([text, button]), status])
        view.self_check_input = text  # for tests and for readers who drive it from code
        view.self_check_status = status
        view.self_check_run = run
        return view

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = dict(self.widget()._repr_mimebundle_())
        bundle["text/html"] = self.html()
        bundle["text/plain"] = f"Self-check box: {self.prompt}"
        return bundle


def _math_spans(text: str) -> str:
    r"""Wrap each \(...\) of an (escaped) prompt as Sphinx writes inline maths, so that the
    build typesets it with the rest of the page (tools/typeset_math.py)."""
    return re.sub(r"(\\\(.*?\\\))", r'<span class="math notranslate nohighlight">\1</span>', text)


def box(expected, symbols, prompt: str, label: str, seed: int = 0, count: int = 8) -> SelfCheck:
    """An answer box for ``expected`` (a SymPy expression in ``symbols``).

    ``prompt`` is the question shown above the field; ``label`` names the field (its
    accessible label, e.g. ``"σ'(z) ="``). Display the result in a chapter cell: Jupyter
    shows the widget, the book's build the static HTML box.
    """
    for value, name in ((prompt, "prompt"), (label, "label")):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name} must be a non-empty string, got {checks._show(value)}")
        if len(value) > 1000:
            raise ValueError(f"{name} must be at most 1000 characters, got {len(value)}")
    return SelfCheck(expected, _symbols(symbols), prompt, label, seed, count)
