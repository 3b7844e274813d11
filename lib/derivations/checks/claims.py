"""Symbolic identities (prove_identity: proved, or verified exactly at random rational points
when simplification cannot decide) and the claims ledger (claim, Claim, LEDGER).
"""

from __future__ import annotations

import html
import random
from dataclasses import dataclass, field
from typing import Callable, Sequence

import sympy as sp

from .validate import _show
from .numeric import Argued, BoundCheck, Numeric, Proved, Verified, _where


# ---------------------------------------------------------------------------------------
# Symbolic identities
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Identity:
    """The outcome of :func:`prove_identity`: the equation (for display) and how it was checked."""

    equation: sp.Eq
    check: Proved | Verified

    def _repr_latex_(self) -> str:
        from ..printing import wrapped_latex  # long identities over several lines

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
