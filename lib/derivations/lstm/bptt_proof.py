"""BPTT at a generic step t, for every T: the symbolic proof of the recursions.

Chapter "Backprop through time in the univariate LSTM", sections 'The recursions' and
'The gradient of w_ix'. Two consecutive steps t-1 -> t are written out, and everything
else the loss does is an undefined SymPy function F: the loss is F(h(t-1), h(t), c(t)).
Its first argument is the loss's explicit use of h(t-1) (earlier outputs held fixed);
the other two carry the future, which depends on the past only through the state
(h(t), c(t)).
At the last step (t = T) nothing follows: the loss is F(h(T-1), h(T)). The error signal
of a node is SymPy's derivative of the loss with respect to a perturbation added to that
node, at perturbation 0; since F is arbitrary, an identity between such signals holds at
every step of every LSTM and every loss.
"""

from __future__ import annotations

import sympy as sp

from .. import checks
from .model import GATES, PARAMS
from .symbolic import Sigmoid, Tanh, prove_zero_difference

__all__ = ["KINDS", "generic_step", "step_identities", "prove_generic_step", "readable"]

#: The three generic models: an interior step t < T, the last step t = T, and an
#: interior step whose future also depends on w_ix (for the gradient of w_ix).
KINDS = ("interior", "last", "w_ix")


def generic_step(kind: str = "interior") -> dict:
    """Steps t-1 and t of the LSTM with the rest of the loss an undefined function F.

    h(t-1) = o(t-1) tanh c(t-1), with the symbols ``c_prev`` and ``o_prev`` for c(t-1)
    and o(t-1); the gates, c(t) and h(t) follow the model. A perturbation is added to
    every node and to F's first argument. Returns ``params``, ``x`` (x(t)), ``c_prev``,
    ``o_prev``,
    ``nodes`` (unperturbed values of ``h_prev, c_prev, i, f, o, g, c, h``), ``L`` and
    ``bar``: the error signal of each node, ``e_prev`` = e(t-1) (the derivative through
    F's first argument), and for ``kind="w_ix"`` also ``w_ix``, the derivative through
    F's fourth argument (w_ix as used at steps after t).
    """
    kind = checks.choice(kind, "kind", KINDS)
    P = {n: sp.Symbol(n, real=True) for n in PARAMS}
    x, c_prev, o_prev = sp.symbols("x_t c_prev o_prev", real=True)
    names = ("h_prev", "c_prev", *GATES, "c", "h", "e_prev")
    names += ("w_ix",) if kind == "w_ix" else ()
    d = {k: sp.Symbol(f"delta_{k}", real=True) for k in names}
    cp = c_prev + d["c_prev"]
    hp = o_prev * Tanh(cp) + d["h_prev"]
    z = {k: P[f"w_{k}x"] * x + P[f"w_{k}h"] * hp + P[f"b_{k}"] for k in GATES}
    gate = {k: Sigmoid(z[k]) + d[k] for k in "ifo"}
    gate["g"] = Tanh(z["g"]) + d["g"]
    c = gate["f"] * cp + gate["i"] * gate["g"] + d["c"]
    h = gate["o"] * Tanh(c) + d["h"]
    args = [hp + d["e_prev"], h]
    if kind != "last":
        args.append(c)
    if kind == "w_ix":
        args.append(P["w_ix"] + d["w_ix"])
    L = sp.Function("F")(*args)
    zero = {v: 0 for v in d.values()}
    nodes = {"h_prev": hp, "c_prev": cp, **gate, "c": c, "h": h}
    return {"kind": kind, "params": P, "x": x, "c_prev": c_prev, "o_prev": o_prev,
            "L": L,
            "nodes": {k: v.xreplace(zero) for k, v in nodes.items()},
            "bar": {k: sp.diff(L, v).xreplace(zero) for k, v in d.items()},
            "zero": zero}


def step_identities(kind: str = "interior") -> dict[str, tuple[sp.Expr, sp.Expr]]:
    """The recursions at the generic step, as pairs (SymPy's total derivative, the value
    the recursion gives from other total derivatives), by name.

    ``"interior"`` and ``"last"``: the recursions of theorem 'BPTT for the univariate
    LSTM' for hbar(t-1), cbar(t-1) and the four gates at t; ``"last"`` adds the boundary
    cbar(T) = hbar(T) o(T) (1 - tanh^2 c(T)). ``"w_ix"``: the inductive step of theorem
    'Gradient of the input-gate weight', dL/dw_ix (state at t-1 held) = (the same
    through the steps after t) + ibar(t) i(t) (1 - i(t)) x(t).
    """
    m = generic_step(kind)
    n, bar, P = m["nodes"], m["bar"], m["params"]
    slope = {k: n[k] * (1 - n[k]) for k in "ifo"}
    slope["g"] = 1 - n["g"] ** 2
    if m["kind"] == "w_ix":
        total = sp.diff(m["L"], P["w_ix"]).xreplace(m["zero"])
        return {"wbar_ix": (total, bar["w_ix"] + bar["i"] * slope["i"] * m["x"])}
    out = {
        "hbar(t-1)": (bar["h_prev"], bar["e_prev"]
                      + sum(bar[k] * slope[k] * P[f"w_{k}h"] for k in GATES)),
        "cbar(t-1)": (bar["c_prev"], bar["c"] * n["f"]
                      + bar["h_prev"] * m["o_prev"] * (1 - Tanh(m["c_prev"]) ** 2)),
        "gbar(t)": (bar["g"], bar["c"] * n["i"]),
        "obar(t)": (bar["o"], bar["h"] * Tanh(n["c"])),
        "fbar(t)": (bar["f"], bar["c"] * m["c_prev"]),
        "ibar(t)": (bar["i"], bar["c"] * n["g"]),
    }
    if m["kind"] == "last":
        out["cbar(T)"] = (bar["c"], bar["h"] * n["o"] * (1 - Tanh(n["c"]) ** 2))
    return out


def prove_generic_step() -> dict[str, checks.Identity]:
    """Prove every identity of :func:`step_identities` for the three kinds; the keys are
    ``"<kind>: <name>"``. Raises AssertionError if one fails."""
    return {f"{kind}: {name}": prove_zero_difference(lhs, rhs)
            for kind in KINDS for name, (lhs, rhs) in step_identities(kind).items()}


def readable(expr: sp.Expr, model: dict) -> sp.Expr:
    """``expr`` with the node expressions of a :func:`generic_step` model replaced by
    symbols i(t), f(t), ..., h(t-1), and each derivative of F by the symbol ∂_k F, for
    display in the chapter."""
    if not isinstance(expr, sp.Expr):
        raise ValueError(f"expr must be a SymPy expression, got {type(expr).__name__}")
    if not isinstance(model, dict) or "nodes" not in model or "c_prev" not in model:
        raise ValueError("model must be generic_step()'s output")
    names = {"h_prev": "h(t-1)", "i": "i(t)", "f": "f(t)", "o": "o(t)", "g": "g(t)",
             "c": "c(t)", "h": "h(t)"}
    subs = {model["nodes"][k]: sp.Symbol(v, real=True) for k, v in names.items()}
    subs[model["c_prev"]] = sp.Symbol("c(t-1)", real=True)
    subs[model["o_prev"]] = sp.Symbol("o(t-1)", real=True)
    for s in expr.atoms(sp.Subs):
        deriv = s.expr
        if isinstance(deriv, sp.Derivative) and len(deriv.variables) == 1:
            k = deriv.expr.args.index(deriv.variables[0]) + 1
            subs[s] = sp.Symbol(rf"\partial_{k} F", real=True)
    return expr.xreplace(subs)
