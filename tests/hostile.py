"""Hostile inputs for every public function, shared by all modules' tests.

Each ``tests/test_<topic>.py`` lists its public functions as ``PUBLIC_CALLS``: a list of
:class:`Call` (the function and one valid set of keyword arguments). ``test_hostile_input``
collects them all and, for every argument in turn, replaces its valid value by each hostile
value of its kind and expects a ``ValueError``:

- a scalar (int or float): a list, a 1-element array, a bool, NaN, +-inf, a string, None,
  and 1e308 (refused, or answered with finite numbers and no floating-point warning);
- an array: an empty one, one holding NaN or inf, one with an extra axis, a bool array, a
  string, None;
- a name (str): an unknown name, a number, None, the empty string.

A call that legitimately accepts one of these lists it in ``exempt`` ({argument: {kinds}}),
where each kind is one of the keys of :data:`SCALAR`, :data:`ARRAY` or :data:`NAME`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

SCALAR = {
    "list": lambda v: [v, v],
    "array": lambda v: np.array([v]),
    "bool": lambda v: True,
    "nan": lambda v: math.nan,
    "inf": lambda v: math.inf,
    "-inf": lambda v: -math.inf,
    "string": lambda v: "1",
    "none": lambda v: None,
}
HUGE = 1e308
ARRAY = {
    "empty": lambda a: np.zeros((0,) * max(a.ndim, 1)),
    "nan": lambda a: np.where(np.arange(a.size).reshape(a.shape) == 0, np.nan, a),
    "inf": lambda a: np.where(np.arange(a.size).reshape(a.shape) == 0, np.inf, a),
    "extra-axis": lambda a: a[None, ...].repeat(2, axis=0),
    "bools": lambda a: np.ones(a.shape, dtype=bool),
    "string": lambda a: "1",
    "none": lambda a: None,
}
NAME = {
    "unknown": lambda s: s + "-nope",
    "number": lambda s: 3,
    "none": lambda s: None,
    "empty": lambda s: "",
}


@dataclass
class Call:
    """A public function and one valid set of keyword arguments for it."""

    func: Callable
    kwargs: dict[str, Any]
    exempt: dict[str, set[str]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.func.__module__}.{self.func.__qualname__}"


def kinds(value) -> dict[str, Callable]:
    """The hostile replacements that apply to a valid value, by kind."""
    if isinstance(value, str):
        return NAME
    if isinstance(value, (bool, np.bool_)):
        return {}
    if isinstance(value, (int, float, np.integer, np.floating)):
        return SCALAR
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiu" and value.size:
        return ARRAY
    return {}
