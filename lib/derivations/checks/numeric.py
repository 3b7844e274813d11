"""Numeric comparisons and what they report: relative error, float64 and mpmath central
differences, and the records of a check (Proved, Verified, Numeric, Argued, BoundCheck)
with check_close and check_bound, which assert and print the error beside the tolerance.
"""

from __future__ import annotations

import inspect
import numbers
from dataclasses import dataclass
from typing import Callable

import mpmath
import numpy as np

from .validate import EPS, array, function, integer, real


# ---------------------------------------------------------------------------------------
# Numeric comparisons
# ---------------------------------------------------------------------------------------

def relative_error(a, b, tiny: float = 1e-300) -> np.ndarray:
    """Elementwise |a - b| / max(|a|, |b|, tiny): 0 when equal, at most 2 when signs differ."""
    a, b = np.asarray(a), np.asarray(b)
    for what, v in (("a", a), ("b", b)):
        if v.dtype.kind not in "fiu":
            raise ValueError(f"{what} must hold real numbers, got dtype {v.dtype}")
    a, b = a.astype(float), b.astype(float)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    return np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), tiny)


def central_difference(f: Callable, x, step: float | None = None) -> np.ndarray:
    """The Jacobian of ``f`` at ``x`` by float64 central differences, shape f(x).shape + x.shape.

    The default step is cbrt(eps) * max(1, |x_j|) per coordinate, which balances truncation
    (order step^2) against rounding (order eps / step): about 1e-10 relative error at best,
    and much worse when f varies over many orders of magnitude; use
    :func:`mp_central_difference` then.
    """
    function(f, "f")
    x = array(x, "x", allow_empty=False)
    if step is not None:
        real(step, "step", minimum=0.0, open_min=True)
    f0 = np.asarray(f(x), dtype=float)
    out = np.empty(f0.shape + x.shape)
    flat = x.reshape(-1)
    for j in range(flat.size):
        h = step if step is not None else np.cbrt(EPS) * max(1.0, abs(flat[j]))
        plus, minus = flat.copy(), flat.copy()
        plus[j] += h
        minus[j] -= h
        diff = (np.asarray(f(plus.reshape(x.shape)), dtype=float)
                - np.asarray(f(minus.reshape(x.shape)), dtype=float)) / (plus[j] - minus[j])
        out.reshape(f0.shape + (flat.size,))[..., j] = diff
    return out


def mp_central_difference(f: Callable, x, digits: int = 30, extra_digits: int = 0) -> np.ndarray:
    """The Jacobian of ``f`` at ``x`` by central differences in mpmath arithmetic.

    ``f`` takes a list of ``mpf`` (the entries of x, taken exactly from float64) and returns
    an ``mpf`` or a list of them. The step is 10^-digits, so truncation (order step^2) is
    far below float64 rounding; the working precision is 2 digits + extra_digits + 20
    decimal digits, so the difference keeps ``digits`` significant digits even when the
    derivative is as small as 10^-extra_digits. It differentiates nothing: an independent
    reference for a chain rule.
    """
    function(f, "f")
    x = array(x, "x", ndim=1)
    digits = integer(digits, "digits", minimum=5, maximum=200)
    extra = integer(extra_digits, "extra_digits", minimum=0, maximum=5000)
    with mpmath.workdps(2 * digits + extra + 20):
        h = mpmath.mpf(10) ** (-digits)
        base = [mpmath.mpf(float(v)) for v in x]
        columns = []
        for j in range(x.size):
            plus, minus = list(base), list(base)
            plus[j] += h
            minus[j] -= h
            fp, fm = f(plus), f(minus)
            if isinstance(fp, (list, tuple, mpmath.matrix)):
                columns.append([float((a - b) / (2 * h)) for a, b in zip(fp, fm)])
            else:
                columns.append([float((fp - fm) / (2 * h))])
    out = np.array(columns).T
    return out[0] if out.shape[0] == 1 and not isinstance(fp, (list, tuple, mpmath.matrix)) else out


# ---------------------------------------------------------------------------------------
# Statuses: what checked a claim
# ---------------------------------------------------------------------------------------

def _where(depth: int = 2) -> str | None:
    """The module.function that called into this module (None from a notebook cell)."""
    frame = inspect.stack()[depth]
    module = frame.frame.f_globals.get("__name__", "")
    if module in ("__main__", "") or module.startswith("__"):
        return None
    return f"{module}.{frame.function}"


@dataclass(frozen=True)
class Proved:
    """A general symbolic proof (for every value of the symbols, under stated assumptions)."""

    how: str = "symbolic proof"
    where: str | None = None
    rank = 3

    def status(self) -> str:
        return "proved"


@dataclass(frozen=True)
class Verified:
    """Verified exactly (no rounding) on finitely many cases, e.g. ``sizes="T <= 3"``."""

    sizes: str
    where: str | None = None
    rank = 2

    def status(self) -> str:
        return f"verified exactly for {self.sizes}"


@dataclass(frozen=True)
class Numeric:
    """Checked in floating point: the largest error measured and the tolerance it met."""

    error: float
    tol: float
    what: str = "rel. err"
    where: str | None = None
    rank = 1

    def status(self) -> str:
        return f"checked numerically ({self.what} {self.error:.1e}, tol {self.tol:.0e})"

    def __str__(self) -> str:
        return f"{self.what} {self.error:.2e} <= tol {self.tol:.0e}"


@dataclass(frozen=True)
class Argued:
    """Argued in prose only; no computation checks it."""

    where: str | None = None
    rank = 0

    def status(self) -> str:
        return "argued"


Status = Proved | Verified | Numeric | Argued


def check_close(value, reference, tol: float, what: str = "rel. err", tiny: float = 1e-300) -> Numeric:
    """Assert max relative error of value against reference <= tol; return it as a :class:`Numeric`.

    Set ``tol`` about 100x the error you measured, and say why in a comment; the returned
    record prints the measured error beside the tolerance.
    """
    tol = real(tol, "tol", minimum=0.0, open_min=True)
    value, reference = np.asarray(value, dtype=float), np.asarray(reference, dtype=float)
    if value.shape != reference.shape:
        try:
            value, reference = np.broadcast_arrays(value, reference)  # e.g. a scalar reference
        except ValueError as err:
            raise AssertionError(f"check_close: shapes {value.shape} and {reference.shape} differ") from err
    if not (np.all(np.isfinite(value)) and np.all(np.isfinite(reference))):
        raise AssertionError(f"check_close: non-finite values ({what})")
    err = float(np.max(relative_error(value, reference, tiny))) if value.size else 0.0
    if not err <= tol:
        raise AssertionError(f"{what} {err:.3e} exceeds the tolerance {tol:.1e}")
    return Numeric(err, tol, what, _where())


@dataclass(frozen=True)
class BoundCheck:
    """A bound that holds (value <= bound, up to rounding) and how close it comes (value/bound)."""

    worst_ratio: float
    slack: float
    where: str | None = None
    rank = 1

    def status(self) -> str:
        return f"checked numerically (value/bound up to {self.worst_ratio:.4g}, slack {self.slack:.0e})"

    def __str__(self) -> str:
        return f"largest value/bound = {self.worst_ratio:.6g} (<= 1 + {self.slack:.0e})"


def check_bound(value, bound, *, slack: float = 1e-12, attained: float | None = None) -> BoundCheck:
    """Assert value <= bound * (1 + slack) everywhere, and, when ``attained`` is given, that
    the largest ratio value/bound is at least ``attained`` (the bound is not loose there).

    A bound check that only tests ``value <= bound`` passes for any bound that is too large:
    pair it with a tightness check (``attained``) wherever the statement says it is sharp.
    """
    value, bound = np.asarray(value, dtype=float), np.asarray(bound, dtype=float)
    value, bound = np.broadcast_arrays(value, bound)
    if value.size == 0 or np.any(bound <= 0) or not np.all(np.isfinite(value)):
        raise AssertionError("check_bound needs finite values and positive bounds")
    ratio = value / bound
    worst = float(np.max(ratio))
    if worst > 1.0 + slack:
        k = int(np.argmax(ratio))
        raise AssertionError(f"bound violated: value {value.flat[k]!r} > bound {bound.flat[k]!r}")
    if attained is not None and worst < attained:
        raise AssertionError(f"bound not attained: largest value/bound is {worst:.6g} < {attained}")
    return BoundCheck(worst, slack, _where())
