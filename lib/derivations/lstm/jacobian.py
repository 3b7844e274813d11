"""Problem C1c: the one-step Jacobian of the LSTM state, its bound, and where the bound
needs its hypothesis on the output gate.

Chapter "Backprop through time in the univariate LSTM", section 'C1c: why the gradient
does not explode'. J(t) = d(h(t), c(t)) / d(h(t-1), c(t-1)); with B = dc(t)/dh(t-1),

    J = [[o(1-o) w_oh tanh c + o tau B, o tau f], [B, f]],   tau = 1 - tanh^2 c(t),

and its largest absolute row sum is at most r(t) = max(f, o (1 + |w_oh|)) + kappa(t),
with kappa(t) = (1 - f) |w_fh c(t-1)| + i (|w_ih| + |w_gh|). The error signals grow by
at most the product of the r(k); when o(k) (1 + |w_oh|) <= 1 at every step, by at most
exp(sum kappa(k)). :func:`output_gate_counterexample` shows that without the hypothesis
on o, f near 1 and i near 0 do not stop the growth.
"""

from __future__ import annotations

from typing import Mapping

import mpmath
import numpy as np
import sympy as sp

from .. import activations, checks
from .model import GATES, PARAMS, _params, _scalar, _backprop, _run
from .symbolic import Sigmoid, Tanh

__all__ = [
    "state_jacobian_symbolic", "state_jacobian", "kappa", "jacobian_bound",
    "zero_state_rate", "output_gate_counterexample",
]


def state_jacobian_symbolic():
    """SymPy's Jacobian of one step (h(t-1), c(t-1)) -> (h(t), c(t)) and the symbols it
    uses.

    Returns (J, syms): J a 2 x 2 Matrix (rows h, c; columns h(t-1), c(t-1)); ``syms``
    holds the parameter symbols, ``h_prev``, ``c_prev``, ``x`` and the expressions i, f,
    o, g, c, h.
    """
    P = {n: sp.Symbol(n, real=True) for n in PARAMS}
    hp, cp, xt = sp.symbols("h_prev c_prev x_t", real=True)
    z = {k: P[f"w_{k}x"] * xt + P[f"w_{k}h"] * hp + P[f"b_{k}"] for k in GATES}
    i, f, o = (Sigmoid(z[k]) for k in "ifo")
    g = Tanh(z["g"])
    c = f * cp + i * g
    h = o * Tanh(c)
    J = sp.Matrix([[sp.diff(h, hp), sp.diff(h, cp)], [sp.diff(c, hp), sp.diff(c, cp)]])
    return J, {"params": P, "h_prev": hp, "c_prev": cp, "x": xt,
               "i": i, "f": f, "o": o, "g": g, "c": c, "h": h}


def _nodes(nodes) -> int:
    keys = ("i", "f", "o", "g", "c", "h", "tc", "zi", "zf", "zo", "zg")
    if not isinstance(nodes, Mapping) or any(k not in nodes for k in keys) \
            or np.ndim(nodes["h"]) != 1 or np.size(nodes["h"]) < 2:
        raise ValueError("nodes must be forward()'s output (over T >= 1 steps)")
    return np.size(nodes["h"]) - 1


def state_jacobian(params: Mapping, nodes: dict) -> np.ndarray:
    """J(t) for t = 1..T from ``forward``'s nodes, shape (T + 1, 2, 2) (rows h, c;
    columns
    h(t-1), c(t-1); entry 0 is NaN). Theorem 'One-step Jacobian'."""
    p = _params(params)
    T = _nodes(nodes)
    s = slice(1, None)
    i, f, o, g, tc = (nodes[k][s] for k in ("i", "f", "o", "g", "tc"))
    di, df, do = (activations.phi_prime("sigmoid", nodes["z" + k][s]) for k in "ifo")
    B = (nodes["c"][:-1] * df * p["w_fh"] + g * di * p["w_ih"]
         + i * activations.phi_prime("tanh", nodes["zg"][s]) * p["w_gh"])
    tau = activations.phi_prime("tanh", nodes["c"][s])
    J = np.full((T + 1, 2, 2), np.nan)
    J[1:, 0, 0] = do * p["w_oh"] * tc + o * tau * B
    J[1:, 0, 1] = o * tau * f
    J[1:, 1, 0] = B
    J[1:, 1, 1] = f
    return J


def kappa(params: Mapping, nodes: dict) -> np.ndarray:
    """kappa(t) = (1 - f(t)) |w_fh c(t-1)| + i(t) (|w_ih| + |w_gh|) for t = 1..T (entry
    0
    NaN): the bound on |dc(t)/dh(t-1)|, small when f is near 1 and i near 0."""
    p = _params(params)
    _nodes(nodes)
    i, f = nodes["i"], nodes["f"]
    c_prev = np.concatenate([[np.nan], nodes["c"][:-1]])
    return (1 - f) * np.abs(p["w_fh"] * c_prev) + i * (abs(p["w_ih"]) + abs(p["w_gh"]))


def jacobian_bound(params: Mapping, nodes: dict) -> np.ndarray:
    """r(t) = max(f(t), o(t) (1 + |w_oh|)) + kappa(t), the bound of theorem 'The growth
    of the error signals' on the largest absolute row sum of J(t), for t = 1..T (entry 0
    NaN).
    It tends to 1 as f(t) -> 1 and i(t), o(t) -> 0, whatever the weights."""
    p = _params(params)
    k = kappa(p, nodes)
    return np.maximum(nodes["f"], nodes["o"] * (1 + abs(p["w_oh"]))) + k


def zero_state_rate(b_f: float, b_i: float, b_o: float, w_gh: float) -> float:
    """lambda_0 = sigma(b_f) + sigma(b_i) sigma(b_o) w_gh, the nonzero eigenvalue of J
    at the zero state (x = 0, h0 = c0 = 0, b_g = 0): the factor by which the error
    signals change
    per step back there. Section 'Comparison with a vanilla RNN'."""
    b_f, b_i, b_o, w_gh = (_scalar(v, n) for v, n in
                           ((b_f, "b_f"), (b_i, "b_i"), (b_o, "b_o"), (w_gh, "w_gh")))
    s = activations.phi("sigmoid", np.array([b_f, b_i, b_o]))
    return float(s[0] + s[1] * s[2] * w_gh)


def output_gate_counterexample(w_oh: float = 20.0, c0: float = 1.5, b_f: float = 8.0,
                               steps: int = 30) -> dict:
    """An LSTM whose forget gates are sigma(b_f) (near 1) and input gates sigma(-b_f)
    (near 0) at every step, with kappa = 0, whose error signal still explodes: the
    inputs hold the output gate at exactly 1/2, where h(t) depends on h(t-1) with slope
    (w_oh / 4) tanh c(t).

    Weights: w_oh, w_ox = 1, all others 0; offsets b_f, b_i = -b_f, b_o = b_g = 0; h0 =
    0, c(0) = c0; inputs x(t) = -w_oh h(t-1), so the output gate's pre-activation is 0.
    Loss L = h(T). Returns the parameters, inputs, nodes, ``hbar`` (by BPTT), ``growth``
    = |hbar(0) / hbar(T)|, ``reference`` = prod_t (|w_oh| / 4) tanh(c0 sigma(b_f)^t)
    computed in mpmath (the closed form, a second algorithm), and ``kappa_sum``.
    """
    w_oh = checks.real(w_oh, "w_oh", minimum=-1e3, maximum=1e3)
    c0 = checks.real(c0, "c0", minimum=-50.0, maximum=50.0)
    b_f = checks.real(b_f, "b_f", minimum=-50.0, maximum=50.0)
    T = checks.integer(steps, "steps", minimum=1, maximum=100)
    p = {**{n: 0.0 for n in PARAMS}, "w_oh": w_oh, "w_ox": 1.0, "b_f": b_f, "b_i": -b_f}
    x = np.zeros(T)
    nodes = _run(p, x[:1], 0.0, c0)
    for t in range(1, T):  # x(t+1) from h(t), so that z_o(t+1) = x + w_oh h(t) = 0
        x[t] = -w_oh * nodes["h"][t]
        nodes = _run(p, x[:t + 1], 0.0, c0)
    e = np.zeros(T)
    e[-1] = 1.0
    hbar = _backprop(p, nodes, e)["hbar"]
    with mpmath.workdps(40):
        f = 1 / (1 + mpmath.exp(-mpmath.mpf(b_f)))
        ref = mpmath.fprod(abs(mpmath.mpf(w_oh)) / 4 * abs(mpmath.tanh(c0 * f ** t))
                           for t in range(1, T + 1))
    return {"params": p, "x": x, "nodes": nodes, "hbar": hbar,
            "growth": float(abs(hbar[0] / hbar[T])), "reference": float(ref),
            "kappa_sum": float(np.sum(kappa(p, nodes)[1:]))}
