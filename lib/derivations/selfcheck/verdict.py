"""Judging an answer: the fixed sample points, the payload the static page embeds, and the
verdict (the same rule as assets/selfcheck.js).
"""

from __future__ import annotations

import functools
import json
import math
import numbers
import pickle
import subprocess
import sys
from dataclasses import dataclass

import numpy as np
import sympy as sp

from .. import checks

from .grammar import CONSTANTS, FLOOR, FUNCTIONS, MAX_DEPTH, MAX_EXPONENT, MAX_LENGTH, MAX_NODES, RTOL, _DECIMALS, _MAX_COUNT, _MAX_VARIABLES, _RESERVED, _VARIABLE, _evaluate, _read, _sympy


# ---------------------------------------------------------------------------------------
# Sample points, the payload, the verdict
# ---------------------------------------------------------------------------------------

def _symbols(symbols) -> tuple[sp.Symbol, ...]:
    items = (symbols,) if isinstance(symbols, sp.Symbol) else symbols
    if not isinstance(items, (tuple, list)) or not items:
        raise ValueError(f"symbols must be a SymPy Symbol or a non-empty list of them, got "
                         f"{checks._show(symbols)}")
    if len(items) > _MAX_VARIABLES:
        raise ValueError(f"symbols: at most {_MAX_VARIABLES} variables, got {len(items)}")
    for s in items:
        if not isinstance(s, sp.Symbol):
            raise ValueError(f"symbols must be SymPy Symbols, got {checks._show(s)}")
        if not _VARIABLE.match(s.name) or s.name in _RESERVED:
            raise ValueError(f"symbol name {s.name!r} cannot be typed in an answer: use letters, "
                             "digits and _ (starting with a letter, at most 20 characters), and "
                             f"none of {', '.join(sorted(_RESERVED))}")
    names = [s.name for s in items]
    if len(set(names)) != len(names):
        raise ValueError(f"symbols must have distinct names, got {names}")
    return tuple(items)


def _expected(expected, symbols: tuple[sp.Symbol, ...]) -> sp.Expr:
    if isinstance(expected, numbers.Real) and not isinstance(expected, (bool, np.bool_)):
        checks.real(expected, "expected")
        return sp.nsimplify(expected) if isinstance(expected, float) else sp.Integer(int(expected))
    if not isinstance(expected, sp.Expr):
        raise ValueError(f"expected must be a SymPy expression or a real number (never a "
                         f"string), got {checks._show(expected)}")
    extra = expected.free_symbols - set(symbols)
    if extra:
        raise ValueError(f"expected uses {sorted(map(str, extra))}, which are not among the "
                         f"symbols {[s.name for s in symbols]}")
    return expected


def _draw(s: sp.Symbol, rng: np.random.Generator) -> float:
    if s.is_integer:
        lo, hi = (1, 12) if s.is_positive else (0, 12) if s.is_nonnegative else (
            (-12, -1) if s.is_negative else (-6, 6))
        return float(rng.integers(lo, hi + 1))
    lo, hi = (0.1, 2.0) if s.is_positive else (0.0, 2.0) if s.is_nonnegative else (
        (-2.0, -0.1) if s.is_negative else (-2.0, 2.0))
    return round(float(rng.uniform(lo, hi)), _DECIMALS) + 0.0  # + 0.0: no "-0.0"


def _expected_value(expected: sp.Expr, symbols, point) -> float | None:
    """The expected value at the point (SymPy, 30 digits), or None if not finite and real."""
    subs = {s: sp.Rational(repr(v)) for s, v in zip(symbols, point)}
    try:
        value = complex(sp.N(expected.subs(subs), 30))
    except (TypeError, ValueError, OverflowError, ZeroDivisionError):
        return None
    if value.imag != 0 or not math.isfinite(value.real) or abs(value.real) > 1e100:
        return None
    return value.real


def sample_points(symbols, seed: int = 0, count: int = 8, expected=None) -> list[dict[str, float]]:
    """The fixed points where answers are judged: ``count`` distinct points, one dict each.

    Drawn with ``numpy.random.default_rng(seed)``: a real variable uniform on [-2, 2]
    (positive: [0.1, 2], nonnegative: [0, 2], negative: [-2, -0.1]), rounded to 3
    decimals; an integer variable from -6..6 (positive: 1..12). When ``expected`` is
    given, points where it is not a finite real number (its singularities, its domain's
    edges) are skipped. The same points serve Jupyter and the static page.
    """
    syms = _symbols(symbols)
    seed = checks.integer(seed, "seed", minimum=0, maximum=2**32 - 1)
    count = checks.integer(count, "count", minimum=1, maximum=_MAX_COUNT)
    expr = None if expected is None else _expected(expected, syms)
    rng = np.random.default_rng(seed)
    found, seen = [], set()
    for _ in range(50 * count):
        point = tuple(_draw(s, rng) for s in syms)
        if point in seen:
            continue
        seen.add(point)
        if expr is not None and _expected_value(expr, syms, point) is None:
            continue
        found.append(point)
        if len(found) == count:
            return [{s.name: v for s, v in zip(syms, p)} for p in found]
    raise ValueError(f"found only {len(found)} of {count} sample points where expected is a "
                     "finite real number; check the symbols' assumptions and the expression")


@functools.lru_cache(maxsize=64)
def _payload(expected: sp.Expr, symbols: tuple[sp.Symbol, ...], seed: int, count: int) -> str:
    points = sample_points(symbols, seed=seed, count=count, expected=expected)
    rows = [[p[s.name] for s in symbols] for p in points]
    values = [_expected_value(expected, symbols, row) for row in rows]
    return json.dumps({
        "version": 1,
        "variables": [s.name for s in symbols],
        "points": rows,
        "expected": values,
        "rtol": RTOL,
        "floor": FLOOR,
        "constants": sorted(CONSTANTS),
        "functions": {k: list(v) for k, v in FUNCTIONS.items()},
        "limits": {"length": MAX_LENGTH, "nodes": MAX_NODES, "depth": MAX_DEPTH,
                   "exponent": MAX_EXPONENT},
    }, sort_keys=True)


def static_payload(expected, symbols, seed: int = 0, count: int = 8) -> dict:
    """What the static page needs to judge answers (JSON-ready): the variables, the sample
    points, the expected values there (SymPy at 30 digits, rounded to float64), the
    tolerance and the grammar's limits. ``assets/selfcheck.js`` reads every rule from it.
    """
    syms = _symbols(symbols)
    seed = checks.integer(seed, "seed", minimum=0, maximum=2**32 - 1)
    count = checks.integer(count, "count", minimum=1, maximum=_MAX_COUNT)
    return json.loads(_payload(_expected(expected, syms), syms, seed, count))


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`check`: ``correct``, a ``message`` for the reader, and when
    wrong, the sample ``point`` where the answer differs with both values there
    (``answer_value`` is None where the answer is undefined). ``latex`` shows what was read.
    """

    correct: bool
    message: str
    latex: str
    index: int | None = None
    point: dict[str, float] | None = None
    answer_value: float | None = None
    expected_value: float | None = None
    symbolic: str | None = None

    def __str__(self) -> str:
        return self.message

    def _repr_markdown_(self) -> str:
        return f"{self.message}\n\nYou typed: ${self.latex}$"


def _where(point: dict[str, float]) -> str:
    return ", ".join(f"{k} = {v:g}" for k, v in point.items())


def _judge(tree: tuple, payload: dict, latex: str) -> Verdict:
    names, floor = payload["variables"], payload["floor"]
    for i, (row, want) in enumerate(zip(payload["points"], payload["expected"])):
        env = dict(zip(names, row))
        got = _evaluate(tree, env)
        if got is None or float(checks.relative_error(got, want, tiny=floor)) > payload["rtol"]:
            point = {k: float(v) for k, v in env.items()}
            said = ("undefined (not a finite real number)" if got is None else f"{got:.6g}")
            return Verdict(False, f"Not equal: at {_where(point)}, your answer is {said} but the "
                                  f"expected value is {want:.6g}.", latex, i, point, got, want)
    n = len(payload["points"])
    return Verdict(True, f"Correct: your answer equals the expected one at all {n} sample "
                         f"points (relative tolerance {payload['rtol']:g}).", latex)


_SIMPLIFY_CHILD = (
    "import pickle, sys\n"
    "try:\n"
    "    import resource\n"
    "    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
    "except Exception:\n"
    "    pass\n"
    "import sympy\n"
    "d = pickle.loads(sys.stdin.buffer.read())\n"
    "zero = sympy.simplify(d) == 0 or sympy.simplify(d.rewrite(sympy.exp)) == 0\n"
    "print('zero' if zero else 'nonzero')\n"
)


def _simplify_in_child(difference: sp.Expr, seconds: float) -> str:
    """Whether SymPy simplifies ``difference`` to 0 (as it is, or rewritten in exponentials,
    which settles most hyperbolic and trigonometric forms), in a child process killed after
    ``seconds`` (SymPy's simplify, and even the evaluation of an unevaluated tree, can take
    unbounded time, and a signal cannot interrupt a long integer operation)."""
    try:
        out = subprocess.run([sys.executable, "-c", _SIMPLIFY_CHILD],
                             input=pickle.dumps(difference), capture_output=True,
                             timeout=seconds, check=False)
    except subprocess.TimeoutExpired:
        return f"simplification stopped after {seconds:g} s"
    answer = out.stdout.decode(errors="replace").strip()
    if answer == "zero":
        return "SymPy simplifies the difference to 0"
    if answer == "nonzero":
        return "SymPy's simplify did not reduce the difference to 0"
    return "simplification failed"


def check(answer: str, expected, symbols, seed: int = 0, count: int = 8,
          simplify_seconds: float = 0.0) -> Verdict:
    """Judge the reader's plain-text ``answer`` against ``expected`` (a SymPy expression in
    ``symbols``) at the sample points of :func:`sample_points`; see the module's rule.

    The text is parsed by a restricted grammar, never executed; anything it does not accept
    raises ``ValueError`` saying why. With ``simplify_seconds > 0`` and a correct verdict,
    SymPy also tries to simplify the difference to 0 in a separate process stopped after
    that many seconds; the outcome is in ``Verdict.symbolic`` and the message.
    """
    syms = _symbols(symbols)
    seconds = checks.real(simplify_seconds, "simplify_seconds", minimum=0.0, maximum=60.0)
    payload = static_payload(expected, syms, seed=seed, count=count)
    tree = _read(answer, tuple(payload["variables"]))
    parsed = _sympy(tree, {s.name: s for s in syms})
    verdict = _judge(tree, payload, sp.latex(parsed))
    if seconds > 0 and verdict.correct:
        # Built unevaluated: here nothing is computed; the child process evaluates it.
        minus = sp.Mul(sp.Integer(-1), _expected(expected, syms), evaluate=False)
        outcome = _simplify_in_child(sp.Add(parsed, minus, evaluate=False), seconds)
        verdict = Verdict(True, f"{verdict.message} {outcome[0].upper()}{outcome[1:]}.",
                          verdict.latex, symbolic=outcome)
    return verdict
