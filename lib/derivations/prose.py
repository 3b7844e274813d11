"""Computed numbers for a chapter's text, shown the same way on the website and in Jupyter.

A chapter never types a computed number into its prose. It records it here, formatted once:

    prose = Prose()
    prose.set("rate", rate, ".4f")

and its text writes ``{eval}`prose.rate```. In JupyterLab (with jupyterlab-myst) the kernel
evaluates ``prose.rate`` and shows the formatted text; in the book's build, where chapters
run ahead of time, ``tools/prose_eval.py`` reads the same text from the executed notebook
(``set`` glues it under the key ``prose.rate``). Both show exactly the string ``set`` made.
"""

from __future__ import annotations

import re

from . import checks

__all__ = ["Prose", "Shown"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Shown:
    """A value already formatted for the text: its ``repr`` is that text (no quotes)."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__


class Prose:
    """The numbers a chapter's text shows, by name (``prose.rate``)."""

    def set(self, name: str, value, fmt: str = "") -> Shown:
        """Format ``value`` with ``fmt`` (a format spec, e.g. ``".3g"``), keep it as ``self.<name>``
        and glue it for the book's build under ``prose.<name>``."""
        if not isinstance(name, str) or not _NAME.match(name) or name == "set":
            raise ValueError(f"name must be an identifier other than 'set', got {name!r}")
        if not isinstance(fmt, str):
            raise ValueError(f"fmt must be a format spec string, got {fmt!r}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            checks.real(value, name)
        try:
            text = format(value, fmt)
        except (TypeError, ValueError) as err:
            raise ValueError(f"cannot format {name}={value!r} with {fmt!r}: {err}") from err
        shown = Shown(text)
        object.__setattr__(self, name, shown)
        try:
            from myst_nb import glue
        except ImportError:  # outside the book's environment the attribute is enough
            return shown
        glue(f"prose.{name}", shown, display=False)
        return shown
