"""SymPy expressions printed in Vega's expression language, for the static charts."""

from __future__ import annotations

from typing import Mapping

import sympy as sp
from sympy.printing.codeprinter import CodePrinter

__all__ = ["vega_expr"]


class _VegaPrinter(CodePrinter):
    """Prints a SymPy expression in Vega's expression language (a JavaScript subset)."""

    printmethod = "_vega"
    language = "Vega"
    _default_settings = {**CodePrinter._default_settings, "strict": True,
                         "contract": False}
    _functions = {"exp": "exp", "log": "log", "Abs": "abs", "sqrt": "sqrt",
                  "floor": "floor", "ceiling": "ceil", "sin": "sin", "cos": "cos",
                  "tan": "tan", "atan": "atan"}

    def __init__(self, names: Mapping[sp.Symbol, str]):
        super().__init__()
        self.names = names
        self.known_functions = dict(self._functions)

    # CodePrinter's hooks for statements; a Vega expression is a single line.
    def _format_code(self, lines):
        return lines

    def _get_statement(self, codestring):
        return codestring

    def _get_comment(self, text):
        return f"/* {text} */"

    def _declare_number_const(self, name, value):
        raise ValueError("Vega expressions cannot declare constants")

    def _print_Symbol(self, expr):
        if expr not in self.names:
            raise ValueError(f"symbol {expr} has no Vega name; pass it in `names`")
        return self.names[expr]

    def _print_Pow(self, expr):
        base, e = expr.as_base_exp()
        if e == sp.Rational(1, 2):
            return f"sqrt({self._print(base)})"
        return f"pow({self._print(base)}, {self._print(e)})"

    def _print_Rational(self, expr):
        return f"({expr.p}/{expr.q})"

    def _print_Integer(self, expr):
        return str(expr.p)

    def _print_Float(self, expr):
        return repr(float(expr))

    def _print_Exp1(self, expr):
        return "E"

    def _print_Pi(self, expr):
        return "PI"

    def _print_Max(self, expr):
        return "max(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Min(self, expr):
        return "min(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Piecewise(self, expr):
        if expr.args[-1].cond != True:  # noqa: E712 (SymPy's true)
            raise ValueError(
                "a Piecewise needs a final (expr, True) branch to print for Vega")
        out = self._print(expr.args[-1].expr)
        for e, c in reversed(expr.args[:-1]):
            out = f"(({self._print(c)}) ? ({self._print(e)}) : ({out}))"
        return out

    def _print_Relational(self, expr):
        ops = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
        op = ops[expr.rel_op]
        return f"({self._print(expr.lhs)} {op} {self._print(expr.rhs)})"

    def _print_log(self, expr):
        if len(expr.args) != 1:
            raise ValueError("only the natural log prints for Vega")
        return f"log({self._print(expr.args[0])})"


def vega_expr(expr: sp.Expr, names: Mapping[sp.Symbol, str]) -> str:
    """Print ``expr`` in Vega's expression language, each symbol renamed by ``names``.

    Vega has ``exp``, ``log`` and ``pow`` but no hyperbolic functions, so those are
    rewritten as exponentials first. Unsupported functions raise ``ValueError``.
    """
    expr = sp.sympify(expr).rewrite([sp.tanh, sp.sinh, sp.cosh, sp.coth], sp.exp)
    try:
        return _VegaPrinter(names).doprint(expr)
    except ValueError:
        raise
    except Exception as err:  # the printer's "not supported" errors, as one clear type
        raise ValueError(f"cannot print {expr} for Vega: {err}") from err
