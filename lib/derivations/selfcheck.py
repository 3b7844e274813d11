"""Self-check answer boxes: the reader types a formula and the book says whether it is right.

Every chapter has at least one box (the first: sigma'(z) in "Activations and depth",
``book/activations.md``). It works in both places the book is read:

- in Jupyter, :func:`box` shows an ipywidgets text field; pressing Enter runs :func:`check`;
- on the static site (no kernel), the same box is plain HTML: the build embeds the
  expected values at fixed sample points (:func:`static_payload`), and ``assets/selfcheck.js``
  parses the reader's text with mathjs, evaluates it at those points and judges it.

**The reader's text is never executed.** It is read by a small recursive-descent parser
(numbers, the box's variables, ``pi``, ``e``, the functions in :data:`FUNCTIONS`,
``+ - * / ^ **``, unary signs, parentheses and commas between function arguments) that
builds an unevaluated SymPy expression for display and a tree that is evaluated in float64.
Anything else raises a ``ValueError`` that says what was not understood. The work is
bounded: at most :data:`MAX_LENGTH` characters, :data:`MAX_NODES` operations, nesting
:data:`MAX_DEPTH` deep, and a power whose exponent is a constant must have
``|exponent| <= MAX_EXPONENT`` (so ``9**9**9**9`` is refused); simplification, when asked
for, runs in a separate process that is killed after a time limit.

**The verdict rule** (the same in Python and in the browser, which read it from the payload):
the answer and the expected expression are compared at ``count`` fixed sample points
(:func:`sample_points`: each real variable uniform on [-2, 2], a positive one on
[0.1, 2], a negative one on [-2, -0.1], rounded to 3 decimals; integer variables get
integers; points where the expected value is not a finite real number are skipped). The
expected values come from SymPy at 30 digits; the answer is evaluated in float64, and
every intermediate value must be a finite real number (else the answer is "undefined" at
that point). They agree at a point when ``|a - b| / max(|a|, |b|, FLOOR) <= RTOL``
(:func:`derivations.checks.relative_error` with ``tiny=FLOOR``); the answer is correct when
they agree at every point, and otherwise the message names the first point that differs.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import math
import numbers
import pickle
import re
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from . import checks

__all__ = [
    "check", "sample_points", "static_payload", "box", "Verdict", "SelfCheck",
    "FUNCTIONS", "CONSTANTS", "RTOL", "FLOOR", "MAX_LENGTH", "MAX_NODES", "MAX_DEPTH",
    "MAX_EXPONENT",
]

#: Relative tolerance of the verdict: float64 evaluation of two equal formulas differs by
#: a few ulps (about 1e-15) at well-conditioned points, so 1e-9 leaves a wide margin, while
#: a wrong formula differs by far more than 1e-9 at 8 random points.
RTOL = 1e-9
#: Values smaller than FLOOR in size are compared absolutely, to RTOL * FLOOR = 1e-12.
FLOOR = 1e-3
#: Bounds on the reader's text and on the work it can cause.
MAX_LENGTH = 500
MAX_NODES = 200
MAX_DEPTH = 40
MAX_EXPONENT = 64
#: Functions the reader may call, with their (fewest, most) numbers of arguments.
FUNCTIONS: dict[str, tuple[int, int]] = {
    "exp": (1, 1), "log": (1, 1), "sqrt": (1, 1), "sin": (1, 1), "cos": (1, 1),
    "tan": (1, 1), "tanh": (1, 1), "sinh": (1, 1), "cosh": (1, 1), "abs": (1, 1),
    "max": (2, 16), "min": (2, 16),
}
#: Constants the reader may use.
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
# Names a variable may not take: the functions and constants above, and words mathjs
# reads as operators or literals (so that both parsers see the same names).
_RESERVED = set(FUNCTIONS) | set(CONSTANTS) | {
    "mod", "to", "in", "and", "or", "not", "xor", "true", "false", "null", "undefined",
    "NaN", "Infinity", "end"}
_VARIABLE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,19}$")
_MAX_VARIABLES = 6
_DECIMALS = 3
_MAX_COUNT = 64

_TOKEN = re.compile(r"""
    (?P<space>[ \t]+)
  | (?P<number>(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\*\*|[-+*/^(),])
""", re.VERBOSE)


# ---------------------------------------------------------------------------------------
# Reading the answer: tokenizer, grammar, bounds
# ---------------------------------------------------------------------------------------

def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ValueError(f"unexpected character {text[pos]!r} at position {pos + 1}; use "
                             "numbers, names, + - * / ^ ** ( ) and commas between arguments")
        kind = m.lastgroup
        if kind == "number" and text.startswith(".", m.end()):
            # "3." is refused: mathjs would read "3.^2" as its element-wise ".^".
            raise ValueError(f"unexpected '.' after the number {m.group()!r} at position "
                             f"{m.end() + 1}; write decimals with digits on both sides "
                             "of the point (3.0, 0.5)")
        if kind != "space":
            tokens.append((kind, "^" if m.group() == "**" else m.group(), pos + 1))
        pos = m.end()
    return tokens


class _Parser:
    """Recursive descent over::

        expr  := term (('+' | '-') term)*
        term  := unary (('*' | '/') unary)*
        unary := ('+' | '-') unary | power
        power := atom (('^' | '**') unary)?          (so 2^3^2 = 2^(3^2), -z^2 = -(z^2))
        atom  := number | constant | variable | function '(' expr (',' expr)* ')' | '(' expr ')'

    Nodes are tuples: ("num", value, text), ("name", name), ("neg" | "pos" | "paren", child),
    ("add" | "sub" | "mul" | "div" | "pow", left, right), ("call", name, args).
    """

    def __init__(self, text: str, variables: tuple[str, ...]):
        self.tokens = _tokenize(text)
        self.variables = variables
        self.pos = 0
        self.nesting = 0
        self.nodes = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            raise ValueError("the answer ends too early (an operand or ')' is missing)")
        self.pos += 1
        return tok

    def node(self, *parts) -> tuple:
        if parts[0] != "paren":
            self.nodes += 1
            if self.nodes > MAX_NODES:
                raise ValueError(f"the answer is too long: at most {MAX_NODES} operations")
        return parts

    def enter(self) -> None:
        # Each level entered here is a distinct node on the path to the leaves, so this
        # guard (against Python's recursion limit) refuses only trees deeper than MAX_DEPTH.
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise ValueError(f"the answer is nested too deeply (at most {MAX_DEPTH} levels)")

    def parse(self) -> tuple:
        if not self.tokens:
            raise ValueError("the answer is empty")
        tree = self.expr()
        tok = self.peek()
        if tok is not None:
            raise ValueError(f"unexpected {tok[1]!r} at position {tok[2]}")
        return tree

    def expr(self) -> tuple:
        tree = self.term()
        while (tok := self.peek()) is not None and tok[1] in "+-" and tok[0] == "op":
            self.take()
            tree = self.node("add" if tok[1] == "+" else "sub", tree, self.term())
        return tree

    def term(self) -> tuple:
        tree = self.unary()
        while (tok := self.peek()) is not None and tok[0] == "op" and tok[1] in "*/":
            self.take()
            tree = self.node("mul" if tok[1] == "*" else "div", tree, self.unary())
        return tree

    def unary(self) -> tuple:
        tok = self.peek()
        if tok is not None and tok[0] == "op" and tok[1] in "+-":
            self.take()
            self.enter()
            child = self.unary()
            self.nesting -= 1
            return self.node("neg" if tok[1] == "-" else "pos", child)
        return self.power()

    def power(self) -> tuple:
        base = self.atom()
        tok = self.peek()
        if tok is not None and tok[0] == "op" and tok[1] == "^":
            self.take()
            self.enter()
            exponent = self.unary()
            self.nesting -= 1
            return self.node("pow", base, exponent)
        if tok is not None and (tok[0] in ("number", "name") or tok[1] == "("):
            raise ValueError(f"missing operator before {tok[1]!r} at position {tok[2]}: "
                             "write * for a product (2*z, not 2z)")
        return base

    def atom(self) -> tuple:
        kind, text, where = self.take()
        if kind == "number":
            value = float(text)
            if not math.isfinite(value):
                raise ValueError(f"the number {text[:20]!r} is too large")
            return self.node("num", value, text)
        if kind == "name":
            nxt = self.peek()
            if nxt is not None and nxt[1] == "(":
                return self.call(text, where)
            if text in self.variables or text in CONSTANTS:
                return self.node("name", text)
            if text in FUNCTIONS:
                raise ValueError(f"{text} is a function: write {text}(...)")
            raise ValueError(f"unknown name {text[:30]!r} at position {where}; the answer may use "
                             f"{', '.join(self.variables) or 'no variables'}, pi, e and the "
                             f"functions {', '.join(FUNCTIONS)}")
        if text == "(":
            self.enter()
            inner = self.expr()
            self.nesting -= 1
            self.close(where)
            return self.node("paren", inner)
        raise ValueError(f"unexpected {text!r} at position {where}")

    def call(self, name: str, where: int) -> tuple:
        if name not in FUNCTIONS:
            raise ValueError(f"{name[:30]!r} at position {where} is not a function the answer "
                             f"may call ({', '.join(FUNCTIONS)})")
        self.take()  # "("
        self.enter()
        args = [self.expr()]
        while (tok := self.peek()) is not None and tok[1] == ",":
            self.take()
            args.append(self.expr())
        self.nesting -= 1
        self.close(where)
        lo, hi = FUNCTIONS[name]
        if not lo <= len(args) <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}"
            raise ValueError(f"{name} takes {want} argument(s), got {len(args)}")
        return self.node("call", name, tuple(args))

    def close(self, opened_at: int) -> None:
        tok = self.peek()
        if tok is None or tok[1] != ")":
            got = "the end" if tok is None else repr(tok[1])
            raise ValueError(f"expected ')' to close the '(' near position {opened_at}, got {got}")
        self.take()


def _children(tree: tuple) -> tuple:
    if tree[0] in ("num", "name"):
        return ()
    if tree[0] == "call":
        return tree[2]
    return tree[1:]


def _depth(tree: tuple) -> int:
    return 1 + max((_depth(c) for c in _children(tree)), default=0)


def _has_variable(tree: tuple, variables) -> bool:
    if tree[0] == "name":
        return tree[1] in variables
    return any(_has_variable(c, variables) for c in _children(tree))


def _check_exponents(tree: tuple, variables) -> None:
    """A constant exponent must be a finite number of size <= MAX_EXPONENT (no towers)."""
    for child in _children(tree):
        _check_exponents(child, variables)
    if tree[0] == "pow" and not _has_variable(tree[2], variables):
        value = _evaluate(tree[2], {})
        if value is None or abs(value) > MAX_EXPONENT:
            shown = "undefined" if value is None else f"{value:.6g}"
            raise ValueError(f"an exponent is too large ({shown}); constant exponents must be "
                             f"at most {MAX_EXPONENT} in size")


def _read(answer, variables: tuple[str, ...]) -> tuple:
    """The checked tree of the reader's text (ValueError for anything not understood)."""
    if not isinstance(answer, str):
        raise ValueError(f"answer must be a string (the formula as plain text), got "
                         f"{type(answer).__name__}")
    if len(answer) > MAX_LENGTH:
        raise ValueError(f"the answer is too long: {len(answer)} characters, at most {MAX_LENGTH}")
    tree = _Parser(answer, variables).parse()
    if _depth(tree) > MAX_DEPTH:
        raise ValueError(f"the answer is nested too deeply (at most {MAX_DEPTH} levels)")
    _check_exponents(tree, variables)
    return tree


# ---------------------------------------------------------------------------------------
# Evaluating the tree: float64, every intermediate finite and real (as in selfcheck.js)
# ---------------------------------------------------------------------------------------

class _Undefined(Exception):
    pass


def _finite(v: float) -> float:
    if not math.isfinite(v):
        raise _Undefined
    return v


def _positive_log(x: float) -> float:
    if x <= 0:
        raise _Undefined
    return math.log(x)


def _sqrt(x: float) -> float:
    if x < 0:
        raise _Undefined
    return math.sqrt(x)


_MATH = {"exp": math.exp, "log": _positive_log, "sqrt": _sqrt, "sin": math.sin,
         "cos": math.cos, "tan": math.tan, "tanh": math.tanh, "sinh": math.sinh,
         "cosh": math.cosh, "abs": abs, "max": max, "min": min}


def _value(tree: tuple, env: dict[str, float]) -> float:
    kind = tree[0]
    if kind == "num":
        return tree[1]
    if kind == "name":
        return env[tree[1]] if tree[1] in env else CONSTANTS[tree[1]]
    if kind == "paren" or kind == "pos":
        return _value(tree[1], env)
    if kind == "neg":
        return -_value(tree[1], env)
    if kind == "call":
        return _finite(_MATH[tree[1]](*[_value(a, env) for a in tree[2]]))
    a, b = _value(tree[1], env), _value(tree[2], env)
    if kind == "add":
        return _finite(a + b)
    if kind == "sub":
        return _finite(a - b)
    if kind == "mul":
        return _finite(a * b)
    if kind == "div":
        if b == 0:
            raise _Undefined
        return _finite(a / b)
    return _finite(math.pow(a, b))  # "pow": ValueError for a negative base and a fractional b


def _evaluate(tree: tuple, env: dict[str, float]) -> float | None:
    """The tree's float64 value, or None where it is undefined (not a finite real)."""
    try:
        return _value(tree, env)
    except (_Undefined, ValueError, OverflowError, ZeroDivisionError):
        return None


# ---------------------------------------------------------------------------------------
# The SymPy expression of the tree (unevaluated: built without computing anything)
# ---------------------------------------------------------------------------------------

_SYMPY_FUNCTIONS = {"exp": sp.exp, "log": sp.log, "sin": sp.sin, "cos": sp.cos, "tan": sp.tan,
                    "tanh": sp.tanh, "sinh": sp.sinh, "cosh": sp.cosh, "abs": sp.Abs}


def _number(value: float, text: str) -> sp.Expr:
    if text.isdigit():
        return sp.Integer(int(text))  # at most 309 digits: its float is finite
    return sp.Rational(repr(value))  # the shortest decimal of the float (1e-999 -> 0), exactly


def _sympy(tree: tuple, symbols: dict[str, sp.Symbol]) -> sp.Expr:
    kind = tree[0]
    if kind == "num":
        return _number(tree[1], tree[2])
    if kind == "name":
        return symbols[tree[1]] if tree[1] in symbols else {"pi": sp.pi, "e": sp.E}[tree[1]]
    if kind in ("paren", "pos"):
        return _sympy(tree[1], symbols)
    if kind == "neg":
        return sp.Mul(sp.Integer(-1), _sympy(tree[1], symbols), evaluate=False)
    if kind == "call":
        args = [_sympy(a, symbols) for a in tree[2]]
        if tree[1] == "sqrt":
            return sp.sqrt(args[0], evaluate=False)
        if tree[1] in ("max", "min"):
            return (sp.Max if tree[1] == "max" else sp.Min)(*args, evaluate=False)
        return _SYMPY_FUNCTIONS[tree[1]](args[0], evaluate=False)
    a, b = _sympy(tree[1], symbols), _sympy(tree[2], symbols)
    if kind == "add":
        return sp.Add(a, b, evaluate=False)
    if kind == "sub":
        return sp.Add(a, sp.Mul(sp.Integer(-1), b, evaluate=False), evaluate=False)
    if kind == "mul":
        return sp.Mul(a, b, evaluate=False)
    if kind == "div":
        inverse = sp.Pow(b, sp.Integer(-1), evaluate=False)
        return inverse if a == 1 else sp.Mul(a, inverse, evaluate=False)
    return sp.Pow(a, b, evaluate=False)


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
