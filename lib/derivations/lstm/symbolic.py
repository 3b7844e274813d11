"""The LSTM unrolled over T steps in SymPy, compared exactly with the recursions.

Chapter "Backprop through time in the univariate LSTM", section 'A second check: the
unrolled network'. SymPy's total derivatives of the unrolled network (a perturbation
symbol added to every node, differentiated, then set to 0) are compared with the error
signals the recursions give; the difference is decided exactly by treating every
Sigmoid/Tanh call (and every derivative of an undefined function) as an opaque symbol
and expanding the resulting polynomial. The expressions grow like 4^T, so this check is
for small T; the general proof is in :mod:`derivations.lstm.bptt_proof`.
"""

from __future__ import annotations

import sympy as sp
from sympy.core.function import AppliedUndef

from .. import checks
from .model import GATES, PARAMS

__all__ = [
    "Sigmoid", "Tanh", "atoms_to_symbols", "is_zero", "prove_zero_difference",
    "symbolic_model", "graph_error_signals", "recursion_error_signals",
    "recursion_w_ix", "verify_unrolled",
]


class Sigmoid(sp.Function):
    """The logistic function as a SymPy function whose derivative is written sigma (1 -
    sigma).

    The chapter proves this derivative from 1 / (1 + exp(-z)) (``rewrite(sp.exp)``);
    keeping sigma unexpanded keeps the total derivatives small enough to compare
    exactly.
    """

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise sp.ArgumentIndexError(self, argindex)
        s = Sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return 1 / (1 + sp.exp(-z))

    def _latex(self, printer, exp=None):
        power = "" if exp is None else "^{%s}" % exp
        return r"\sigma%s\left(%s\right)" % (power, printer._print(self.args[0]))


class Tanh(sp.Function):
    """tanh as a SymPy function whose derivative is written 1 - tanh^2 and which never
    inspects its argument (``sp.tanh`` does, on every call, which is slow for the LSTM's
    nested expressions). ``rewrite(sp.tanh)`` gives SymPy's own tanh.
    """

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise sp.ArgumentIndexError(self, argindex)
        return 1 - Tanh(self.args[0]) ** 2

    def _eval_rewrite_as_tanh(self, z, **kwargs):
        return sp.tanh(z)

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return (sp.exp(2 * z) - 1) / (sp.exp(2 * z) + 1)

    def _latex(self, printer, exp=None):
        power = "" if exp is None else "^{%s}" % exp
        return r"\tanh%s\left(%s\right)" % (power, printer._print(self.args[0]))


def _expr(value, name: str) -> sp.Expr:
    if not isinstance(value, sp.Expr):
        raise ValueError(f"{name} must be a SymPy expression, "
                         f"got {type(value).__name__}")
    return value


def atoms_to_symbols(expr: sp.Expr) -> sp.Expr:
    """Replace every Sigmoid or Tanh call, every undefined function's value and every
    derivative of one (a ``Subs`` or ``Derivative``) by a fresh symbol; equal calls get
    equal symbols, outermost calls first.

    If the result expands to 0, so does ``expr``: it is the image of the zero polynomial
    under substituting the calls back. Section 'A second check: the unrolled network'.
    """
    expr = _expr(expr, "expr")
    calls = sorted(expr.atoms(Sigmoid, Tanh, sp.Subs, sp.Derivative, AppliedUndef),
                   key=sp.default_sort_key)
    return expr.xreplace({c: sp.Dummy(f"u{j}") for j, c in enumerate(calls)})


def is_zero(expr: sp.Expr) -> bool:
    """Whether ``expr`` is identically 0 as a polynomial in its opaque calls and symbols
    (True proves ``expr == 0``; False only says this test cannot show it)."""
    return sp.expand(atoms_to_symbols(expr)) == 0


def prove_zero_difference(lhs: sp.Expr, rhs: sp.Expr) -> checks.Identity:
    """Prove lhs == rhs by :func:`is_zero` and record it with ``checks.prove_identity``.

    Raises ``AssertionError`` when the difference is not the zero polynomial; the check
    comes first because ``prove_identity``'s fallback (random rational points) cannot
    evaluate an undefined function and so cannot refute such an identity.
    """
    lhs, rhs = _expr(lhs, "lhs"), _expr(rhs, "rhs")
    if not is_zero(lhs - rhs):
        raise AssertionError("the difference is not the zero polynomial in the calls")
    return checks.prove_identity(lhs, rhs,
                                 simplify=lambda d: sp.expand(atoms_to_symbols(d)))


_NODES = ("h", "c", "g", "o", "f", "i")


def symbolic_model(T: int) -> dict:
    """The LSTM over T steps as SymPy expressions, with a perturbation symbol on every
    node.

    Returns ``params`` (symbols of PARAMS), ``x``, ``a`` (loss coefficients a(t) =
    e(t)),
    ``h0``, ``c0``, ``delta`` (``delta[(k, t)]`` is added to node k at time t), the loss
    ``L`` = sum_t a(t) h(t) with the perturbations, and ``nodes[(k, t)]``, the
    unperturbed values. A linear loss is general here: BPTT uses the loss only through
    e(t), and the a(t) are arbitrary symbols.
    """
    T = checks.integer(T, "T", minimum=1, maximum=6)  # the expressions grow like 4^T
    P = {n: sp.Symbol(n, real=True) for n in PARAMS}
    x = sp.symbols(f"x1:{T + 1}", real=True)
    a = sp.symbols(f"a1:{T + 1}", real=True)
    h0, c0 = sp.symbols("h0 c0", real=True)
    delta = {(k, t): sp.Symbol(f"delta_{k}{t}", real=True)
             for t in range(1, T + 1) for k in _NODES}

    def run(d):
        h, c, out = h0, c0, {("h", 0): h0, ("c", 0): c0}
        for t in range(1, T + 1):
            z = {k: P[f"w_{k}x"] * x[t - 1] + P[f"w_{k}h"] * h + P[f"b_{k}"]
                 for k in GATES}
            gate = {k: Sigmoid(z[k]) for k in "ifo"}
            gate["g"] = Tanh(z["g"])
            gate = {k: v + d.get((k, t), 0) for k, v in gate.items()}
            c = gate["f"] * c + gate["i"] * gate["g"] + d.get(("c", t), 0)
            h = gate["o"] * Tanh(c) + d.get(("h", t), 0)
            out.update({(k, t): v for k, v in gate.items()})
            out[("c", t)], out[("h", t)] = c, h
        return out

    perturbed = run(delta)
    L = sum(a[t - 1] * perturbed[("h", t)] for t in range(1, T + 1))
    return {"T": T, "params": P, "x": x, "a": a, "h0": h0, "c0": c0, "delta": delta,
            "L": L, "nodes": run({})}


def _model(model) -> dict:
    if not isinstance(model, dict) or not {"T", "L", "delta", "nodes"} <= set(model):
        raise ValueError("model must be symbolic_model()'s output")
    return model


def graph_error_signals(model: dict) -> dict:
    """SymPy's total derivatives dL/dz for every node z = (k, t): differentiate L with
    respect to the perturbation on z, then set every perturbation to 0. Also
    ``("w_ix", None)``: dL/dw_ix."""
    model = _model(model)
    zero = {d: 0 for d in model["delta"].values()}
    out = {key: sp.diff(model["L"], d).xreplace(zero)
           for key, d in model["delta"].items()}
    out[("w_ix", None)] = sp.diff(model["L"], model["params"]["w_ix"]).xreplace(zero)
    return out


def recursion_error_signals(model: dict, loss_first: bool = True) -> dict:
    """The error signals given by the recursions of theorem 'BPTT for the univariate
    LSTM', built from the unperturbed node expressions of ``model``; keys as in
    :func:`graph_error_signals`.

    ``loss_first=False`` adds e(t) to hbar(t) only after cbar(t) and obar(t) have used
    it, an implementation slip that exercise 'Where the loss enters' shows to be wrong.
    """
    model = _model(model)
    if not isinstance(loss_first, bool):
        raise ValueError(f"loss_first must be True or False, got {loss_first!r}")
    T, n, P, a = model["T"], model["nodes"], model["params"], model["a"]

    def slope(k, t):
        v = n[(k, t)]
        return 1 - v ** 2 if k == "g" else v * (1 - v)

    bar = {}
    for t in range(T, 0, -1):
        hb, cb = sp.S.Zero, sp.S.Zero
        if t < T:
            hb = sum(bar[(k, t + 1)] * slope(k, t + 1) * P[f"w_{k}h"] for k in GATES)
            cb = bar[("c", t + 1)] * n[("f", t + 1)]
        if loss_first:
            hb += a[t - 1]
        cb += hb * n[("o", t)] * (1 - Tanh(n[("c", t)]) ** 2)
        bar[("g", t)] = cb * n[("i", t)]
        bar[("o", t)] = hb * Tanh(n[("c", t)])
        bar[("f", t)] = cb * n[("c", t - 1)]
        bar[("i", t)] = cb * n[("g", t)]
        if not loss_first:
            hb += a[t - 1]
        bar[("h", t)], bar[("c", t)] = hb, cb
    bar[("w_ix", None)] = recursion_w_ix(model, bar)
    return bar


def recursion_w_ix(model: dict, bar: dict) -> sp.Expr:
    """Theorem 'Gradient of the input-gate weight': sum_t ibar(t) i(t) (1 - i(t)) x(t),
    from the error signals ``bar`` (keys ``("i", t)``)."""
    model = _model(model)
    if not isinstance(bar, dict) or any(("i", t) not in bar
                                        for t in range(1, model["T"] + 1)):
        raise ValueError("bar must hold the input-gate signals ('i', t) for t = 1..T")
    n, x = model["nodes"], model["x"]
    return sum(bar[("i", t)] * n[("i", t)] * (1 - n[("i", t)]) * x[t - 1]
               for t in range(1, model["T"] + 1))


def verify_unrolled(T_max: int = 3) -> checks.Verified:
    """Compare, exactly, every error signal and dL/dw_ix of the recursions with SymPy's
    total derivatives of the unrolled network for T = 1..T_max; raise AssertionError on
    the first
    difference, else return the status ``verified exactly for T <= T_max``."""
    T_max = checks.integer(T_max, "T_max", minimum=1, maximum=4)
    for T in range(1, T_max + 1):
        model = symbolic_model(T)
        direct, rec = graph_error_signals(model), recursion_error_signals(model)
        for key in direct:
            if not is_zero(direct[key] - rec[key]):
                raise AssertionError(f"T = {T}: the recursion differs at {key}")
    return checks.Verified(f"T <= {T_max}", f"{__name__}.verify_unrolled")
