"""Validators: each returns the cleaned value or raises one ValueError that names the argument,
says what is allowed and shows what was given.
"""

from __future__ import annotations

import math
import numbers
from typing import Callable, Iterable, Sequence

import numpy as np


#: float64 machine epsilon.
EPS = float(np.finfo(float).eps)


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ---------------------------------------------------------------------------------------
# Validators
# ---------------------------------------------------------------------------------------

def real(value, name: str, *, minimum: float | None = None, maximum: float | None = None,
         open_min: bool = False, open_max: bool = False) -> float:
    """A finite real scalar (not a bool, list or array) in [minimum, maximum], as a float.

    ``open_min`` / ``open_max`` exclude the end points. NaN and infinities are refused.
    """
    ok = not isinstance(value, (bool, np.bool_)) and (
        isinstance(value, numbers.Real)
        or (isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "fiu"))
    if not ok:
        raise ValueError(f"{name} must be a finite real number, got {_show(value)}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be a finite real number, got {_show(value)}")
    if minimum is not None and (v < minimum or (open_min and v == minimum)):
        raise ValueError(f"{name} must be {'>' if open_min else '>='} {minimum}, got {v}")
    if maximum is not None and (v > maximum or (open_max and v == maximum)):
        raise ValueError(f"{name} must be {'<' if open_max else '<='} {maximum}, got {v}")
    return v


def integer(value, name: str, *, minimum: int | None = 1, maximum: int | None = None) -> int:
    """An integer (not a bool or a float) in [minimum, maximum]; by default a positive one."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {_show(value)}")
    v = int(value)
    if minimum is not None and v < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {v}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{name} must be an integer <= {maximum}, got {v}")
    return v


def choice(value, name: str, options: Iterable[str]) -> str:
    """One of a few names (exact string match)."""
    options = tuple(options)
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}, got {_show(value)}")
    return value


def array(value, name: str, *, shape: Sequence[int | str | None] | None = None, ndim: int | None = None,
          dims: dict | None = None, allow_empty: bool = False, max_abs: float | None = None,
          finite: bool = True) -> np.ndarray:
    """A finite float64 array (numbers only: no bools, strings or objects).

    ``shape`` gives each axis as an int (that length), None (any length) or a name: axes
    with the same name must have the same length, across calls too when the same ``dims``
    dict is passed (so ``array(W, "W", shape=("n", "n"), dims=d)`` then
    ``array(x, "x", shape=("n",), dims=d)`` checks that W is square and matches x).
    ``max_abs`` refuses entries larger in magnitude (where a model would overflow float64).
    ``finite=False`` lets NaN and infinities through, as NumPy's elementwise functions do.
    """
    try:
        arr = np.asarray(value)
    except Exception as err:  # ragged lists and the like
        raise ValueError(f"{name} must be an array of real numbers, got {_show(value)}") from err
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"{name} must be an array of real numbers, got {_show(value)}")
    arr = arr.astype(np.float64)
    if shape is not None:
        ndim = len(shape)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if shape is not None:
        dims = {} if dims is None else dims
        for axis, (want, got) in enumerate(zip(shape, arr.shape)):
            if isinstance(want, str):
                want = dims.setdefault(want, got)
            if want is not None and want != got:
                raise ValueError(f"{name} has shape {arr.shape}, but axis {axis} must have length {want}")
    if finite and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must hold finite numbers only (no NaN or infinity)")
    if max_abs is not None and arr.size and np.max(np.abs(arr)) > max_abs:
        raise ValueError(f"{name} must have entries of magnitude at most {max_abs:g}, got {np.max(np.abs(arr)):g}")
    return arr


def function(value, name: str) -> Callable:
    """A callable."""
    if not callable(value):
        raise ValueError(f"{name} must be a callable, got {type(value).__name__}")
    return value
