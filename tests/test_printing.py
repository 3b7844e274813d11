"""derivations.printing: long SymPy results are set over lines that fit the column."""

from __future__ import annotations

import sympy as sp

from derivations import printing

HOSTILE_EXEMPT = {
    "derivations.printing.init_printing": "takes no argument",
    "derivations.printing.wrapped_latex": "prints any SymPy object or container, as sp.latex does",
    "derivations.printing.visible_width": "measures any string of TeX",
}

x, y, z, k, n = sp.symbols("x y z k n")


def _rows(tex: str) -> list[str]:
    body = tex.split(r"\begin{aligned}", 1)[1].rsplit(r"\end{aligned}", 1)[0]
    return body.split(r" \\ ")


def test_short_results_are_printed_as_sympy_prints_them():
    for expr in (x + y, sp.sin(x) / (1 + x**2), sp.Eq(x, 2 * y), {1: x}):
        assert printing.wrapped_latex(expr) == sp.latex(expr)


def test_a_long_sum_is_split_into_lines_of_the_same_terms():
    expr = sp.expand((x + y + z + k + n + 1) ** 4)
    tex = printing.wrapped_latex(expr)
    rows = _rows(tex)
    assert len(rows) > 2
    assert all(printing.visible_width(r) <= printing.MAX_WIDTH + 20 for r in rows)
    # Nothing lost: the same number of terms as SymPy prints (signs carried over lines).
    terms = sum(r.count(" + ") + r.count(" - ") for r in rows) + 1
    assert terms == len(expr.args)


def test_an_equation_keeps_its_alignment_point():
    expr = sp.Eq(sp.Function("f")(x), sp.expand((x + y + z + k + n) ** 4), evaluate=False)
    rows = _rows(printing.wrapped_latex(expr))
    assert sum("&=" in r for r in rows) == 1 and rows[0].startswith(r"f{\left(x \right)}")


def test_a_wide_matrix_is_printed_entry_by_entry():
    entry = sp.expand((x + y + z + k + n) ** 3)
    m = sp.Matrix([[entry, 1], [2, entry]])
    tex = printing.wrapped_latex(sp.Eq(sp.MatrixSymbol("J", 2, 2), m, evaluate=False))
    where = [tex.find(rf"\left(J\right)_{{{ij}}} &=") for ij in ("11", "12", "21", "22")]
    assert -1 not in where and where == sorted(where)
    assert r"\begin{matrix}" not in tex


def test_visible_width_counts_fractions_by_their_wider_part():
    assert printing.visible_width(r"\frac{abcdef}{2}") < printing.visible_width("abcdef + 2")
    assert printing.visible_width("x^{2}") < printing.visible_width("xx2")
