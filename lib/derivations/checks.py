"""What every chapter's code repeats: input validation, numeric comparisons, and claims.

Three parts, used by every other module of the package:

- **Validators** (:func:`real`, :func:`integer`, :func:`choice`, :func:`array`,
  :func:`function`): each returns the cleaned value or raises one ``ValueError`` whose
  message names the argument, says what is allowed and shows what was given.
- **Numeric comparisons**: :func:`relative_error`, :func:`central_difference` (float64, step
  near the cube root of machine epsilon), :func:`mp_central_difference` (mpmath, for when
  float64 cannot resolve the quantity) and :func:`check_close` / :func:`check_bound`, which
  assert, and return a record that prints the measured error beside its tolerance.
- **Claims**: :func:`prove_identity` proves ``lhs == rhs`` symbolically (or, when SymPy's
  simplification cannot decide, verifies it exactly at random rational points and says so);
  :func:`claim` gathers the checks of one stated result into its status (``proved``,
  ``verified exactly for ...``, ``checked numerically (...)``, ``argued``), records it in
  :data:`LEDGER` and displays as the badge the book prints beside the result. The book's
  build collects the badges into the Claims page (``tools/claims_ledger.py``).
"""

from __future__ import annotations

import html
import inspect
import math
import numbers
import random
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

import mpmath
import numpy as np
import sympy as sp

__all__ = [
    "real", "integer", "choice", "array", "function", "relative_error", "central_difference",
    "mp_central_difference", "check_close", "check_bound", "prove_identity", "Proved",
    "Verified", "Numeric", "Argued", "BoundCheck", "claim", "Claim", "LEDGER", "EPS",
]

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


# ---------------------------------------------------------------------------------------
# Symbolic identities
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Identity:
    """The outcome of :func:`prove_identity`: the equation (for display) and how it was checked."""

    equation: sp.Eq
    check: Proved | Verified

    def _repr_latex_(self) -> str:
        from .printing import wrapped_latex  # long identities over several lines

        return f"$\\displaystyle {wrapped_latex(self.equation)}$"

    def __str__(self) -> str:
        return f"{self.equation}  [{self.check.status()}]"


def _rational_points(symbols, count: int, seed: int):
    rng = random.Random(seed)
    for _ in range(count):
        yield {s: _sample(s, rng) for s in symbols}


def _sample(s: sp.Symbol, rng: random.Random) -> sp.Rational:
    """A random rational respecting the symbol's sign and integer assumptions."""
    if s.is_integer:
        v = sp.Integer(rng.randint(1, 6))
        return v if (s.is_positive or s.is_nonnegative or rng.random() < 0.5) else -v
    v = sp.Rational(rng.randint(1, 97), rng.randint(1, 37))
    if s.is_positive or s.is_nonnegative:
        return v
    if s.is_negative:
        return -v
    return v if rng.random() < 0.5 else -v


def prove_identity(lhs, rhs, *, simplify: Callable = sp.simplify, points: int = 12, seed: int = 0,
                   rewrite: Sequence | None = None) -> Identity:
    """Prove ``lhs == rhs``: the difference must simplify to 0.

    When simplification leaves a nonzero-looking expression, the difference is evaluated
    exactly at ``points`` random rational points (honouring the symbols' assumptions): a
    nonzero value refutes the identity (``AssertionError`` naming the point); all zeros give
    the weaker status "verified exactly at N random rational points", never "proved".
    ``rewrite`` (e.g. ``[sp.exp]``) rewrites the difference before simplifying.

    Matrix expressions of symbolic size (``MatrixSymbol``, ``BlockMatrix``) are proved block
    by block: each block of the difference must simplify to a zero matrix, which proves the
    identity for every size.
    """
    if isinstance(lhs, sp.MatrixExpr) or isinstance(rhs, sp.MatrixExpr):
        return _prove_matrix_identity(lhs, rhs, simplify)
    lhs, rhs = sp.sympify(lhs), sp.sympify(rhs)
    diff = lhs - rhs
    if rewrite:
        for target in rewrite:
            diff = diff.rewrite(target)
    where = _where()
    if simplify(diff) == 0:
        return Identity(sp.Eq(lhs, rhs, evaluate=False), Proved("the difference simplifies to 0", where))
    symbols = sorted(diff.free_symbols, key=str)
    evaluated = 0
    for point in _rational_points(symbols, points, seed):
        try:
            value = sp.simplify(diff.subs(point).doit())
        except (ZeroDivisionError, ValueError):
            continue
        if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            continue  # a pole of either side: not a point of comparison
        if not value.is_number:
            # An undefined function or a symbol without a value: no exact evaluation is possible.
            raise AssertionError(f"cannot decide lhs == rhs: simplification leaves {sp.simplify(diff)}, "
                                 f"which is not a number at {point} ({value})")
        if value != 0 and (value.is_zero is False or abs(complex(sp.N(value, 50))) > 0):
            raise AssertionError(f"not an identity: lhs - rhs = {value} at {point}")
        evaluated += 1
    if evaluated < max(1, points // 2):
        raise AssertionError(f"cannot decide lhs == rhs: only {evaluated} of {points} random points were usable")
    return Identity(sp.Eq(lhs, rhs, evaluate=False),
                    Verified(f"{evaluated} random rational points (simplification could not decide)", where))


def _prove_matrix_identity(lhs, rhs, simplify) -> Identity:
    if not (isinstance(lhs, sp.MatrixExpr) and isinstance(rhs, sp.MatrixExpr)):
        raise ValueError("lhs and rhs must both be SymPy matrix expressions (MatrixSymbol, BlockMatrix), "
                         f"got {type(lhs).__name__} and {type(rhs).__name__}")
    if lhs.shape != rhs.shape:
        raise ValueError(f"lhs and rhs must have the same shape, got {lhs.shape} and {rhs.shape}")
    if isinstance(lhs, sp.BlockMatrix) and isinstance(rhs, sp.BlockMatrix):
        if lhs.blockshape != rhs.blockshape:
            raise ValueError(f"block shapes differ: {lhs.blockshape} and {rhs.blockshape}")
        pairs = [((i, j), lhs.blocks[i, j], rhs.blocks[i, j])
                 for i in range(lhs.blockshape[0]) for j in range(lhs.blockshape[1])]
    else:
        pairs = [("the whole", lhs, rhs)]
    for where, a, b in pairs:
        diff = simplify(sp.expand((a - b).doit()))
        if not (getattr(diff, "is_ZeroMatrix", False) or diff == 0):
            raise AssertionError(f"not an identity: block {where} of lhs - rhs is {diff}")
    return Identity(sp.Eq(lhs, rhs, evaluate=False),
                    Proved("the difference simplifies to the zero matrix", _where(3)))


# ---------------------------------------------------------------------------------------
# The claims ledger
# ---------------------------------------------------------------------------------------

_KINDS = {Proved: "proved", Verified: "verified", Numeric: "numeric", BoundCheck: "numeric", Argued: "argued"}


@dataclass
class Claim:
    """A stated result of the book, with the checks behind it and the status they earn.

    The status is the weakest of its checks' (a result proved in general but whose float
    code was only checked numerically is "proved" only if every check is a proof). Display
    it in a chapter (a hidden-input cell right after the theorem) to print its badge; the
    build's Claims page collects every badge.
    """

    label: str
    statement: str
    checks: list = field(default_factory=list)

    @property
    def weakest(self):
        return min(self.checks, key=lambda c: c.rank)

    @property
    def kind(self) -> str:
        return _KINDS[type(self.weakest)]

    @property
    def status(self) -> str:
        return self.weakest.status()

    def _repr_html_(self) -> str:
        where = sorted({c.where for c in self.checks if getattr(c, "where", None)})
        return (f'<p class="claim-status claim-{self.kind}" data-claim="{html.escape(self.label)}" '
                f'data-statement="{html.escape(self.statement)}" data-status="{html.escape(self.status)}" '
                f'data-check="{html.escape("; ".join(where))}">'
                f'<span class="claim-badge">{html.escape(self.status)}</span></p>')

    def _repr_markdown_(self) -> str:
        return f"**Status:** {self.status}"

    def __repr__(self) -> str:
        return f"Claim({self.label!r}: {self.status})"


#: Every claim recorded in this Python process, by label (the chapter's own ledger).
LEDGER: dict[str, Claim] = {}


def claim(label: str, statement: str, *checks) -> Claim:
    """Record the result ``label`` (its theorem's label), what it says, and what checked it.

    Each check is a :class:`Proved`, :class:`Verified`, :class:`Numeric` or :class:`Argued`
    record, or an :class:`Identity` (its check is used). With no check the claim is argued.
    """
    if not isinstance(label, str) or not label:
        raise ValueError(f"label must be a non-empty string, got {_show(label)}")
    if not isinstance(statement, str) or not statement:
        raise ValueError(f"statement must be a non-empty string, got {_show(statement)}")
    found = []
    for c in checks:
        c = c.check if isinstance(c, Identity) else c
        if not isinstance(c, (Proved, Verified, Numeric, BoundCheck, Argued)):
            raise ValueError("a check must be a Proved, Verified, Numeric, BoundCheck, Argued or Identity "
                             f"record, got {_show(c)}")
        found.append(c)
    result = Claim(label, statement, found or [Argued()])
    LEDGER[label] = result
    return result
