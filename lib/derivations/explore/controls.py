"""The controls of an Explorer: a slider on a decimal grid, or a choice among options.

Each control makes its ipywidgets widget (the Jupyter view) and its Vega-Lite binding
and filter (the static view), so the two views move through the same values.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Sequence

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"control name must be an identifier (letters, digits, _), got {name!r}")


@dataclass(frozen=True)
class Slider:
    """A numeric control on the grid ``min, min + step, ..., max`` (ends included)."""

    name: str
    min: float
    max: float
    step: float
    value: float
    label: str | None = None

    def __post_init__(self) -> None:
        _check_name(self.name)
        for what in ("min", "max", "step", "value"):
            v = getattr(self, what)
            if (isinstance(v, bool) or not isinstance(v, (int, float))
                    or not math.isfinite(v)):
                raise ValueError(
                    f"slider {self.name!r}: {what} must be a finite number, got {v!r}")
        if self.step <= 0:
            raise ValueError(
                f"slider {self.name!r}: step must be positive, got {self.step}")
        if self.max < self.min:
            raise ValueError(
                f"slider {self.name!r}: max {self.max} is below min {self.min}")
        n = (self.max - self.min) / self.step
        if abs(n - round(n)) > 1e-9 * max(1.0, abs(n)):
            raise ValueError(
                f"slider {self.name!r}: (max - min) must be a whole number of steps")
        if self.index(self.value) is None:
            raise ValueError(
                f"slider {self.name!r}: value {self.value} is not on the grid "
                f"{self.min}:{self.step}:{self.max}")

    @property
    def integer(self) -> bool:
        """Whether every grid value is an integer (then the widget is an IntSlider)."""
        return all(float(v).is_integer() for v in (self.min, self.step, self.value))

    def values(self) -> list:
        """The grid of values, as ints for an integer slider."""
        n = int(round((self.max - self.min) / self.step))
        vals = [self.min + k * self.step for k in range(n + 1)]
        if self.integer:
            return [int(round(v)) for v in vals]
        # Round away the binary noise of min + k * step (the grid is decimal).
        return [float(f"{v:.12g}") for v in vals]

    def index(self, value: float) -> int | None:
        """Position of ``value`` on the grid, or None when it is not a grid value."""
        k = (value - self.min) / self.step
        n = round((self.max - self.min) / self.step)
        if abs(k - round(k)) > 1e-9 or not 0 <= round(k) <= n:
            return None
        return int(round(k))

    def widget(self):
        import ipywidgets as w

        cls = w.IntSlider if self.integer else w.FloatSlider
        kind = int if self.integer else float
        return cls(
            value=kind(self.value), min=kind(self.min), max=kind(self.max),
            step=kind(self.step),
            description=self.label or self.name, continuous_update=True,
            style={"description_width": "initial"}, layout=w.Layout(width="420px"),
        )

    def binding(self):
        import altair as alt

        return alt.binding_range(min=self.min, max=self.max, step=self.step,
                                 name=(self.label or self.name) + " ")

    def filter_expr(self) -> str:
        """Vega expression true for the table rows of the current slider value."""
        return (f"datum._k_{self.name} == "
                f"round(({self.name} - {self.min!r}) / {self.step!r})")


@dataclass(frozen=True)
class Choice:
    """A control that picks one of a few named options (strings)."""

    name: str
    options: Sequence[str]
    value: str
    label: str | None = None

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not self.options or not all(isinstance(o, str) for o in self.options):
            raise ValueError(
                f"choice {self.name!r}: options must be a non-empty list of strings")
        if len(set(self.options)) != len(self.options):
            raise ValueError(f"choice {self.name!r}: options must be distinct")
        if self.value not in self.options:
            raise ValueError(f"choice {self.name!r}: value {self.value!r} is not one "
                             f"of {list(self.options)}")

    def values(self) -> list:
        return list(self.options)

    def widget(self):
        import ipywidgets as w

        return w.ToggleButtons(options=list(self.options), value=self.value,
                               description=self.label or self.name,
                               style={"description_width": "initial"})

    def binding(self):
        import altair as alt

        return alt.binding_radio(options=list(self.options),
                                 name=(self.label or self.name) + " ")

    def filter_expr(self) -> str:
        return f"datum.{self.name} == {self.name}"
