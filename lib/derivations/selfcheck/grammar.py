"""Reading a reader's answer: the tokenizer, the recursive-descent grammar and its bounds,
the float64 evaluation of what was read (every intermediate value finite and real, as in
assets/selfcheck.js) and its unevaluated SymPy expression. Nothing typed is executed.
"""

from __future__ import annotations

import math
import numbers
import re

import sympy as sp


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
