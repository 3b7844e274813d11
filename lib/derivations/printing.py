"""SymPy's results as mathematics that fits the page: long ones are broken into aligned lines.

A chapter calls :func:`init_printing` once (instead of ``sp.init_printing``). Every SymPy
object it displays is then printed as LaTeX as usual, except that a result wider than the
text column (a long sum, an equation between long sums, a long dict or tuple of results) is
set as an ``aligned`` block, one group of terms per line, so that no formula needs to scroll
on a laptop screen. The break points are chosen by a width estimate in characters of
rendered text (:func:`visible_width`), not by MathJax: the layout happens at build time.
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.printing.latex import LatexPrinter

__all__ = ["init_printing", "wrapped_latex", "visible_width", "MAX_WIDTH"]

#: The widest line, in estimated rendered characters, that fits the text column at 1280 px.
MAX_WIDTH = 58

_COMMAND = re.compile(r"\\(left|right|displaystyle|operatorname|mathrm|mathit|mathbf|mathsf|quad|qquad|,|;|!)")
_FRAC = re.compile(r"\\frac\{((?:[^{}]|\{[^{}]*\})*)\}\{((?:[^{}]|\{[^{}]*\})*)\}")
_SCRIPT = re.compile(r"[_^]\{((?:[^{}]|\{[^{}]*\})*)\}")


def visible_width(tex: str) -> float:
    """A rough width of ``tex`` once typeset, in characters: commands count as one glyph,
    a fraction as its wider part, sub- and superscripts at about 70%, and a binary operator
    with its spacing as about two and a half (calibrated on the book's pages: one
    character is about 11 px of the 688 px column)."""
    s = _COMMAND.sub("", tex)
    operators = 1.5 * len(re.findall(r"(?<![{(^_])\s*[-+=]\s*|\\cdot|\\times", s))
    for _ in range(6):  # innermost fractions first
        new = _FRAC.sub(lambda m: m.group(1) if visible_width(m.group(1)) >= visible_width(m.group(2))
                        else m.group(2), s)
        if new == s:
            break
        s = new
    scripts = sum(0.7 * len(re.sub(r"\\[A-Za-z]+", "x", m)) for m in _SCRIPT.findall(s))
    s = _SCRIPT.sub("", s)
    s = re.sub(r"\\[A-Za-z]+", "x", s)
    s = re.sub(r"[{}\s]", "", s)
    return len(s) + scripts + operators


def _terms(expr: sp.Expr, settings) -> list[str]:
    """The LaTeX of each term of a sum, signs included, in SymPy's printing order."""
    printer = LatexPrinter(settings)
    ordered = printer._as_ordered_terms(expr, order=None)
    out = []
    for k, term in enumerate(ordered):
        tex = printer._print(term)
        if tex.startswith("-"):
            out.append("- " + tex[1:])
        else:
            out.append(("+ " if k else "") + tex)
    return out


def _lines(pieces: list[str], first_prefix: float = 0.0) -> list[str]:
    """Greedily group pieces into lines of at most MAX_WIDTH estimated characters."""
    lines, current, width = [], "", first_prefix
    for piece in pieces:
        w = visible_width(piece)
        if current and width + w > MAX_WIDTH:
            lines.append(current)
            current, width = "", 4.0
        current += (" " if current else "") + piece
        width += w
    if current:
        lines.append(current)
    return lines


def _aligned(rows: list[str]) -> str:
    return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"


def wrapped_latex(expr, **settings) -> str:
    """LaTeX of ``expr``, as an aligned block of several lines when one would be too wide."""
    tex = sp.latex(expr, **settings)
    if visible_width(tex) <= MAX_WIDTH:
        return tex
    if isinstance(expr, sp.Equality) and isinstance(expr.rhs, sp.MatrixBase) and expr.rhs.shape[0] * expr.rhs.shape[1] > 1:
        # A wide matrix: one line per entry, J_{ij} = ...
        name = sp.latex(expr.lhs, **settings)
        rows = [f"\\left({name}\\right)_{{{i + 1}{j + 1}}} &= {wrapped_latex(expr.rhs[i, j], **settings)}"
                for i in range(expr.rhs.shape[0]) for j in range(expr.rhs.shape[1])]
        return _aligned(rows)
    if isinstance(expr, sp.Equality):
        lhs, rhs = expr.lhs, expr.rhs
        left = _terms(lhs, settings) if isinstance(lhs, sp.Add) else [sp.latex(lhs, **settings)]
        right = _terms(rhs, settings) if isinstance(rhs, sp.Add) else [sp.latex(rhs, **settings)]
        rows = [("&" if k else "& ") + line for k, line in enumerate(_lines(left))]
        rows[0] = rows[0][1:].lstrip()  # the left side starts the first line, not at the alignment
        right_lines = _lines(right, first_prefix=2.0)
        rows[-1] += " &= " + right_lines[0]
        rows += [r"&\quad " + line for line in right_lines[1:]]
        return _aligned(rows)
    if isinstance(expr, sp.Add):
        lines = _lines(_terms(expr, settings))
        return _aligned(["& " + lines[0]] + [r"&\quad " + line for line in lines[1:]])
    if isinstance(expr, (dict, tuple, list)):
        items = ([f"{sp.latex(k, **settings)}: {sp.latex(v, **settings)}" for k, v in expr.items()]
                 if isinstance(expr, dict) else [wrapped_latex(v, **settings) for v in expr])
        if items:
            open_, close = {dict: (r"\left\{", r"\right\}"), tuple: (r"\left(", r"\right)"),
                            list: (r"\left[", r"\right]")}[type(expr)]
            return _bracketed(open_, close, _lines([item + "," for item in items[:-1]] + items[-1:]))
    return tex


def _bracketed(open_: str, close: str, lines: list[str]) -> str:
    """Lines of a container between brackets that span all of them."""
    body = r"\begin{aligned}" + r" \\ ".join("&" + line for line in lines) + r"\end{aligned}"
    return f"{open_}{body}{close}"


def init_printing() -> None:
    """SymPy's notebook printing (MathJax LaTeX), with long results broken into lines."""
    sp.init_printing(use_latex="mathjax", latex_printer=wrapped_latex)
