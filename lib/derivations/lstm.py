"""The univariate LSTM, backprop through time, and why its gradient need not explode.

Chapter "Backprop through time in the univariate LSTM" (label ``lstm-backprop``). The model,
for t = 1, ..., T, with scalar input x(t) and scalar state (h(t), c(t)):

    i(t) = sigmoid(w_ix x(t) + w_ih h(t-1) + b_i)      input gate
    f(t) = sigmoid(w_fx x(t) + w_fh h(t-1) + b_f)      forget gate
    o(t) = sigmoid(w_ox x(t) + w_oh h(t-1) + b_o)      output gate
    g(t) = tanh(w_gx x(t) + w_gh h(t-1) + b_g)         candidate
    c(t) = f(t) c(t-1) + i(t) g(t)                     cell
    h(t) = o(t) tanh(c(t))                             output

The offsets b_* are zero in the homework's model; they are the figure's controls. The loss L
depends on the outputs h(1..T); ``e(t) = dL/dh(t)`` (the explicit partial) is all that BPTT
needs of it. An error signal ``zbar`` is the total derivative dL/dz of the loss with respect
to the node z of the computation graph.

Numeric functions accept a batch: every parameter may be a float or an array of one shape
(the batch), and the pass runs once for the whole batch (the finite-difference check uses
this to evaluate all perturbed models at once).
"""

from __future__ import annotations

from typing import Mapping

import mpmath
import numpy as np
import sympy as sp

from . import activations

__all__ = [
    "GATES", "WEIGHTS", "PARAMS", "sigmoid", "random_params", "forward", "backprop", "bptt", "squared_loss",
    "loss_and_grad", "fd_gradient", "fd_gradient_mp", "gradient_check", "relative_error",
    "state_jacobian", "jacobian_bound", "zero_state_rate", "rnn_forward", "rnn_bptt",
    "Sigmoid", "Tanh", "symbolic_model", "graph_error_signals", "recursion_error_signals", "recursion_w_ix",
    "atoms_to_symbols", "is_zero", "state_jacobian_symbolic",
    "FIGURE_T_MAX", "FIGURE_PARAMS", "FIGURE_RNN", "FIGURE_SEED", "figure_inputs", "error_signals",
    "plot_error_signals", "chart_error_signals", "explorer",
]

#: The four gates, in the order used for parameter names (``w_ix``, ``w_ih``, ``b_i``, ...).
GATES = ("i", "f", "o", "g")
#: The eight weights of the homework's model.
WEIGHTS = tuple(f"w_{k}{s}" for k in GATES for s in "xh")
#: All twelve parameters: per gate, the input weight, the recurrent weight and the offset.
PARAMS = tuple(n for k in GATES for n in (f"w_{k}x", f"w_{k}h", f"b_{k}"))

# ----------------------------------------------------------------------------------------
# Numeric model
# ----------------------------------------------------------------------------------------
def sigmoid(z):
    """The logistic function without overflow for large |z| (the shared, tested form of
    ``activations.phi``). See the chapter 'Backprop through time in the univariate LSTM',
    section 'The model', and the chapter 'Activations and depth' for the proof of the form."""
    return activations.phi("sigmoid", z)


_PRE = ("zi", "zf", "zo", "zg")


def _sech2(z):
    """1 - tanh(z)^2, accurate (not 0) where tanh(z) rounds to +-1, and overflow-free."""
    return activations.phi_prime("tanh", z)


def _dsigmoid(z):
    """sigmoid'(z) = sigmoid (1 - sigmoid), accurate where sigmoid rounds to 1."""
    return activations.phi_prime("sigmoid", z)


def _check_params(params: Mapping) -> dict:
    if not isinstance(params, Mapping):
        raise ValueError(f"params must be a mapping from parameter names to numbers, got {type(params).__name__}")
    unknown = set(params) - set(PARAMS)
    if unknown:
        raise ValueError(f"unknown parameter(s) {sorted(unknown)}; allowed: {', '.join(PARAMS)}")
    missing = set(WEIGHTS) - set(params)
    if missing:
        raise ValueError(f"missing weight(s) {sorted(missing)}; all of {', '.join(WEIGHTS)} are required "
                         "(offsets b_i, b_f, b_o, b_g default to 0)")
    out = {n: np.asarray(params.get(n, 0.0), dtype=float) for n in PARAMS}
    for n, v in out.items():
        if not np.all(np.isfinite(v)):
            raise ValueError(f"parameter {n} must be finite, got {v}")
    return out


def _check_sequence(x, name: str = "x") -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence (one value per time step), got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite")
    return x


def random_params(rng: np.random.Generator, scale: float = 1.0, offsets: bool = True) -> dict:
    """Parameters drawn from N(0, scale^2) (offsets too, unless ``offsets=False``), for tests and
    examples. See the chapter, section 'Checking the gradient numerically'."""
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    return {n: (float(scale * rng.standard_normal()) if (offsets or n.startswith("w")) else 0.0) for n in PARAMS}


def forward(weights: Mapping, xs, h0=0.0, c0=0.0) -> dict:
    """Run the LSTM over the inputs xs = x(1..T); return the nodes as arrays indexed by time t = 0..T.

    ``weights`` maps the eight weight names (``WEIGHTS``) to numbers; the offsets ``b_i, b_f,
    b_o, b_g`` are optional (default 0).

    ``out["h"][t]`` is h(t) (``out["h"][0]`` is h0), likewise ``c``; the gates ``i, f, o, g``,
    their pre-activations ``zi, zf, zo, zg`` and ``tc`` = tanh c(t) hold NaN at t = 0.
    Parameters may be arrays of one batch shape.
    See the chapter 'Backprop through time in the univariate LSTM', section 'The model'.
    """
    p = _check_params(weights)
    x = _check_sequence(xs, "xs")
    T = x.size
    shape = np.broadcast_shapes(*(v.shape for v in p.values()), np.shape(h0), np.shape(c0))
    nodes = {k: np.full((T + 1,) + shape, np.nan) for k in ("i", "f", "o", "g", "c", "h", "tc", *_PRE)}
    nodes["h"][0], nodes["c"][0] = h0, c0
    for t in range(1, T + 1):
        hp = nodes["h"][t - 1]
        for k in GATES:
            nodes["z" + k][t] = p[f"w_{k}x"] * x[t - 1] + p[f"w_{k}h"] * hp + p[f"b_{k}"]
        for k in "ifo":
            nodes[k][t] = sigmoid(nodes["z" + k][t])
        nodes["g"][t] = np.tanh(nodes["zg"][t])
        nodes["c"][t] = nodes["f"][t] * nodes["c"][t - 1] + nodes["i"][t] * nodes["g"][t]
        nodes["tc"][t] = np.tanh(nodes["c"][t])
        nodes["h"][t] = nodes["o"][t] * nodes["tc"][t]
    nodes["x"] = np.concatenate([[np.nan], x])
    return nodes


def backprop(weights: Mapping, xs, dL_dh, h0=0.0, c0=0.0, nodes: dict | None = None) -> dict:
    """Backprop through time: the error signals of every node and the gradient of every parameter.

    ``dL_dh[t-1]`` is e(t) = dL/dh(t), the loss's explicit partial (through the direct use of
    h(t), not through later steps), for t = 1..T. ``nodes`` may pass in ``forward``'s output
    to avoid running it again. Returns arrays
    ``hbar, cbar, gbar, obar, fbar, ibar`` indexed by t = 0..T (gates NaN at 0) and
    ``grad``, a dict with dL/dp for each name in PARAMS and for ``h0`` and ``c0``.
    The recursions are those of theorem 'BPTT for the univariate LSTM':

        hbar(t) = e(t) + sum over gates k of kbar(t+1) k'(t+1) w_kh
        cbar(t) = cbar(t+1) f(t+1) + hbar(t) o(t) (1 - tanh^2 c(t))
        gbar = cbar i,  obar = hbar tanh c,  fbar = cbar c(t-1),  ibar = cbar g

    with k' = k(1 - k) for the sigmoid gates, 1 - g^2 for g, and nothing from t = T+1.
    See the chapter 'Backprop through time in the univariate LSTM', section 'The recursions'.
    """
    p = _check_params(weights)
    x = _check_sequence(xs, "xs")
    T = x.size
    e = np.asarray(dL_dh, dtype=float)
    if e.shape[:1] != (T,):
        raise ValueError(f"dL_dh must hold one value dL/dh(t) per time step (length {T}), got shape {e.shape}")
    if not np.all(np.isfinite(e)):
        raise ValueError("dL_dh must be finite")
    n = forward(weights, x, h0, c0) if nodes is None else nodes
    shape = n["h"].shape[1:]
    # Local derivative of each gate with respect to its pre-activation.
    # (computed from the pre-activations, so they stay accurate where the gate saturates).
    dk = {k: _dsigmoid(n["z" + k]) for k in "ifo"}
    dk["g"] = _sech2(n["zg"])
    tau = _sech2(n["c"])  # 1 - tanh^2 c(t)
    bar = {k: np.full((T + 1,) + np.broadcast_shapes(shape, e.shape[1:]), np.nan) for k in ("h", "c", *GATES)}
    # pbar[k] = kbar * k' is the error signal of gate k's pre-activation.
    pbar = {k: np.zeros_like(bar["h"]) for k in GATES}
    for t in range(T, -1, -1):
        hb = e[t - 1] if t >= 1 else np.zeros(bar["h"].shape[1:])
        cb = 0.0
        if t < T:
            hb = hb + sum(pbar[k][t + 1] * p[f"w_{k}h"] for k in GATES)
            cb = bar["c"][t + 1] * n["f"][t + 1]
        if t >= 1:
            cb = cb + hb * n["o"][t] * tau[t]
        bar["h"][t], bar["c"][t] = hb, cb
        if t >= 1:
            bar["g"][t] = cb * n["i"][t]
            bar["o"][t] = hb * n["tc"][t]
            bar["f"][t] = cb * n["c"][t - 1]
            bar["i"][t] = cb * n["g"][t]
            for k in GATES:
                pbar[k][t] = bar[k][t] * dk[k][t]
    # Parameter gradients: sums over time of pre-activation signals times the multiplied input.
    xs = n["x"][1:].reshape((T,) + (1,) * (pbar["i"].ndim - 1))
    grad = {}
    for k in GATES:
        s = pbar[k][1:]
        grad[f"w_{k}x"] = np.sum(s * xs, axis=0)
        grad[f"w_{k}h"] = np.sum(s * n["h"][:-1], axis=0)
        grad[f"b_{k}"] = np.sum(s, axis=0)
    grad["h0"], grad["c0"] = bar["h"][0], bar["c"][0]
    out = {f"{k}bar": v for k, v in bar.items()}
    out["grad"] = grad
    return out


def bptt(weights: Mapping, xs, dL_dh, h0=0.0, c0=0.0) -> dict:
    """The gradient of the loss with respect to each parameter in ``weights``, by BPTT.

    Returns a dict with the same keys as ``weights`` (the eight weights ``w_ix, ..., w_gh``,
    and any offsets ``b_*`` that were given). ``dL_dh[t-1]`` is dL/dh(t) through the direct
    use of h(t) only. For the error signals themselves, use :func:`backprop`.
    See the chapter 'Backprop through time in the univariate LSTM', section 'The recursions'.
    """
    grad = backprop(weights, xs, dL_dh, h0, c0)["grad"]
    return {name: grad[name] for name in PARAMS if name in weights}


def squared_loss(h, y):
    """L = 1/2 sum_t (h(t) - y(t))^2 over t = 1..T, for outputs ``h`` indexed 0..T; sums over axis 0
    (so a batch of models gives a batch of losses). See the chapter, section 'Checking the gradient numerically'."""
    return 0.5 * np.sum((h[1:] - y.reshape((-1,) + (1,) * (np.ndim(h) - 1))) ** 2, axis=0)


def _targets(y, T):
    y = _check_sequence(y, "y")
    if y.size != T:
        raise ValueError(f"y must have one target per time step ({T}), got {y.size}")
    return y


def loss_and_grad(params: Mapping, x, y, h0=0.0, c0=0.0) -> tuple[float, dict]:
    """The squared loss 1/2 sum (h(t) - y(t))^2 and its gradient by BPTT (params, h0, c0), where
    e(t) = h(t) - y(t). See the chapter, section 'Checking the gradient numerically'."""
    x = _check_sequence(x)
    y = _targets(y, x.size)
    n = forward(params, x, h0, c0)
    return float(squared_loss(n["h"], y)), backprop(params, x, n["h"][1:] - y, h0, c0, nodes=n)["grad"]


_VARS = PARAMS + ("h0", "c0")


def fd_gradient(params: Mapping, x, y, h0=0.0, c0=0.0, rel_step: float = np.finfo(float).eps ** (1 / 3)) -> dict:
    """Central finite differences of the squared loss in float64, all 2 x 14 perturbations in one batch.

    The step for variable v is ``rel_step * max(1, |v|)``; the default, the cube root of the
    machine epsilon (about 6e-6), balances the truncation error (step^2) against rounding
    (eps / step). See the chapter, section 'Checking the gradient numerically'.
    """
    p = _check_params(params)
    x = _check_sequence(x)
    y = _targets(y, x.size)
    if not 0 < rel_step < 1:
        raise ValueError(f"rel_step must lie in (0, 1), got {rel_step}")
    base = {**{k: float(v) for k, v in p.items()}, "h0": float(h0), "c0": float(c0)}
    m = len(_VARS)
    cols = {k: np.full(2 * m, v) for k, v in base.items()}
    steps = {}
    for j, k in enumerate(_VARS):
        steps[k] = rel_step * max(1.0, abs(base[k]))
        cols[k][2 * j] += steps[k]
        cols[k][2 * j + 1] -= steps[k]
    n = forward({k: cols[k] for k in PARAMS}, x, cols["h0"], cols["c0"])
    L = squared_loss(n["h"], y)
    return {k: float((L[2 * j] - L[2 * j + 1]) / (2 * steps[k])) for j, k in enumerate(_VARS)}


def _loss_mp(pv: Mapping, x, y, h0, c0):
    sig = lambda z: 1 / (1 + mpmath.exp(-z))  # noqa: E731
    h, c, L = h0, c0, mpmath.mpf(0)
    for xt, yt in zip(x, y):
        pre = {k: pv[f"w_{k}x"] * xt + pv[f"w_{k}h"] * h + pv[f"b_{k}"] for k in GATES}
        c = sig(pre["f"]) * c + sig(pre["i"]) * mpmath.tanh(pre["g"])
        h = sig(pre["o"]) * mpmath.tanh(c)
        L += (h - yt) ** 2 / 2
    return L


def fd_gradient_mp(params: Mapping, x, y, h0=0.0, c0=0.0, dps: int = 50, step: str = "1e-20") -> dict:
    """Central finite differences of the squared loss in mpmath at ``dps`` decimal digits.

    With dps = 50 and step 1e-20 the truncation error (~ step^2 = 1e-40) and the rounding
    error (~ 10^-dps / step = 1e-30) are both far below float64's resolution, so this is a
    reference for the float64 BPTT gradient. The inputs are the float64 values, taken exactly.
    See the chapter, section 'Checking the gradient numerically'.
    """
    p = _check_params(params)
    x = _check_sequence(x)
    y = _targets(y, x.size)
    if dps < 20:
        raise ValueError(f"dps must be at least 20 for a useful reference, got {dps}")
    with mpmath.workdps(dps):
        hstep = mpmath.mpf(step)
        if not (0 < hstep < mpmath.mpf(10) ** (-(dps // 4))):
            raise ValueError(f"step must be positive and below 10^-(dps/4) = 1e-{dps // 4}, got {step}")
        base = {**{k: mpmath.mpf(float(v)) for k, v in p.items()}, "h0": mpmath.mpf(float(h0)),
                "c0": mpmath.mpf(float(c0))}
        xm, ym = [mpmath.mpf(float(v)) for v in x], [mpmath.mpf(float(v)) for v in y]
        out = {}
        for k in _VARS:
            plus, minus = dict(base), dict(base)
            plus[k] += hstep
            minus[k] -= hstep
            lp = _loss_mp(plus, xm, ym, plus["h0"], plus["c0"])
            lm = _loss_mp(minus, xm, ym, minus["h0"], minus["c0"])
            out[k] = float((lp - lm) / (2 * hstep))
    return out


def gradient_check(seed: int, T: int) -> dict:
    """Compare the BPTT gradient of a random problem with float64 and mpmath central differences.

    The problem: parameters, inputs, targets, h0 and c0 all standard normal from
    ``default_rng(seed)``, squared loss over T steps. Returns the loss ``L``, the smallest
    gradient component ``min_abs_grad``, and over the 14 components the largest relative error
    against float64 differences (``rel_fd64``), the largest absolute one (``abs_fd64``) and the
    largest relative error against the mpmath reference (``rel_mp``).
    See the chapter, section 'Checking the gradient numerically'.
    """
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 1:
        raise ValueError(f"T must be a positive integer, got {T!r}")
    rng = np.random.default_rng(seed)
    p = random_params(rng)
    x, y = rng.standard_normal((2, T))
    h0, c0 = (float(v) for v in rng.standard_normal(2))
    L, g = loss_and_grad(p, x, y, h0, c0)
    a = np.array([float(g[k]) for k in _VARS])
    f64 = np.array([v for v in fd_gradient(p, x, y, h0, c0).values()])
    fmp = np.array([v for v in fd_gradient_mp(p, x, y, h0, c0).values()])
    return {"L": L, "min_abs_grad": float(np.abs(a).min()), "rel_fd64": float(relative_error(a, f64).max()),
            "abs_fd64": float(np.abs(a - f64).max()), "rel_mp": float(relative_error(a, fmp).max())}


def relative_error(a, b, tiny: float = 1e-300) -> np.ndarray:
    """Elementwise |a - b| / max(|a|, |b|, tiny): 0 when equal, at most 2 when the signs differ.
    See the chapter, section 'Checking the gradient numerically'."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    return np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), tiny)


# ----------------------------------------------------------------------------------------
# Why the gradient does not explode: the one-step Jacobian and its bound
# ----------------------------------------------------------------------------------------
def _check_nodes(nodes) -> int:
    if not isinstance(nodes, Mapping) or "h" not in nodes or np.ndim(nodes["h"]) != 1:
        raise ValueError("nodes must be the output of forward() for scalar (unbatched) parameters")
    return nodes["h"].shape[0] - 1


def state_jacobian(params: Mapping, nodes: dict) -> np.ndarray:
    """J(t) = d(h(t), c(t)) / d(h(t-1), c(t-1)) for t = 1..T, as an array of shape (T + 1, 2, 2)
    (rows h, c; columns h(t-1), c(t-1); entry 0 is NaN).

    Theorem 'One-step Jacobian': with tau' = 1 - tanh^2 c(t) and
    B = dc(t)/dh(t-1) = c(t-1) f(1-f) w_fh + g i(1-i) w_ih + i (1-g^2) w_gh,
    J = [[o(1-o) w_oh tanh c + o tau' B, o tau' f], [B, f]].
    See the chapter, section 'Why the gradient does not explode'.
    """
    p = _check_params(params)
    T = _check_nodes(nodes)
    s = slice(1, None)
    i, f, o, g, tc = (nodes[k][s] for k in ("i", "f", "o", "g", "tc"))
    di, df, do = (_dsigmoid(nodes["z" + k][s]) for k in "ifo")
    B = nodes["c"][:-1] * df * p["w_fh"] + g * di * p["w_ih"] + i * _sech2(nodes["zg"][s]) * p["w_gh"]
    tau = _sech2(nodes["c"][s])
    J = np.full((T + 1, 2, 2), np.nan)
    J[1:, 0, 0] = do * p["w_oh"] * tc + o * tau * B
    J[1:, 0, 1] = o * tau * f
    J[1:, 1, 0] = B
    J[1:, 1, 1] = f
    return J


def jacobian_bound(params: Mapping, nodes: dict) -> np.ndarray:
    """For t = 1..T (entry 0 NaN), the bound max(f, o (1 + |w_oh|)) + beta on the max-row-sum
    norm of J(t), where beta = (1 - f) |w_fh c(t-1)| + i (|w_ih| + |w_gh|).

    It tends to 1 as f(t) -> 1 and i(t), o(t) -> 0, whatever the weights.
    See the chapter, section 'Why the gradient does not explode'.
    """
    p = _check_params(params)
    _check_nodes(nodes)
    i, f, o = (nodes[k] for k in "ifo")
    cp = np.concatenate([[np.nan], nodes["c"][:-1]])
    beta = (1 - f) * np.abs(p["w_fh"] * cp) + i * (np.abs(p["w_ih"]) + np.abs(p["w_gh"]))
    return np.maximum(f, o * (1 + np.abs(p["w_oh"]))) + beta


def zero_state_rate(b_f, b_i, b_o, w_gh):
    """m = sigmoid(b_f) + sigmoid(b_i) sigmoid(b_o) w_gh: the factor by which the LSTM's error
    signals grow per step back when x = 0, h0 = c0 = 0 and b_g = 0 (the state stays at 0).

    m -> 1 as b_f -> +inf and b_i, b_o -> -inf, whatever w_gh. See the chapter, section
    'Comparison with a vanilla RNN'.
    """
    return sigmoid(b_f) + sigmoid(b_i) * sigmoid(b_o) * np.asarray(w_gh, dtype=float)


def rnn_forward(w_x: float, w_h: float, x, h0: float = 0.0) -> dict:
    """The vanilla tanh RNN h(t) = tanh(z(t)), z(t) = w_x x(t) + w_h h(t-1); returns
    ``{"h": h(0..T), "z": z(0..T)}`` (z(0) is NaN). See the chapter, section 'Comparison with a
    vanilla RNN'."""
    x = _check_sequence(x)
    for name, v in (("w_x", w_x), ("w_h", w_h), ("h0", h0)):
        if not np.isfinite(v):
            raise ValueError(f"{name} must be finite, got {v}")
    h, z = np.empty(x.size + 1), np.full(x.size + 1, np.nan)
    h[0] = h0
    for t in range(1, x.size + 1):
        z[t] = w_x * x[t - 1] + w_h * h[t - 1]
        h[t] = np.tanh(z[t])
    return {"h": h, "z": z}


def rnn_bptt(w_h: float, nodes: dict, e) -> np.ndarray:
    """Error signals hbar(0..T) of the vanilla RNN: hbar(t) = e(t) + hbar(t+1) w_h (1 - h(t+1)^2).

    Each step back multiplies by w_h (1 - h^2), so the signal changes geometrically.
    See the chapter, section 'Comparison with a vanilla RNN'.
    """
    z = np.asarray(nodes["z"], dtype=float)
    T = z.size - 1
    e = np.asarray(e, dtype=float)
    if T < 1 or e.shape != (T,):
        raise ValueError(f"need nodes over T >= 1 steps and e of length T; got {z.shape} and {e.shape}")
    step = w_h * _sech2(z)  # dh(t)/dh(t-1), accurate where tanh saturates
    hbar = np.zeros(T + 1)
    hbar[T] = e[T - 1]
    for t in range(T - 1, -1, -1):
        hbar[t] = (e[t - 1] if t >= 1 else 0.0) + hbar[t + 1] * step[t + 1]
    return hbar


# ----------------------------------------------------------------------------------------
# Symbolic model: total derivatives from SymPy against the recursions
# ----------------------------------------------------------------------------------------
class Sigmoid(sp.Function):
    """The logistic function as a SymPy function whose derivative is written sigma (1 - sigma).

    The chapter proves this derivative from 1 / (1 + exp(-z)) (``rewrite(sp.exp)``); keeping
    sigma unexpanded keeps the LSTM's total derivatives small enough to compare exactly.
    See the chapter, section 'Proof with SymPy'.
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
    auto-simplifies its argument (``sp.tanh`` inspects its argument on every call, which is
    slow for the LSTM's nested expressions). ``rewrite(sp.tanh)`` gives SymPy's own tanh.
    See the chapter, section 'Proof with SymPy'.
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


_NODES = ("h", "c", "g", "o", "f", "i")


def symbolic_model(T: int) -> dict:
    """The LSTM over T steps as SymPy expressions, with a perturbation symbol on every node.

    Returns a dict with ``params`` (symbols of PARAMS), ``x``, ``a`` (loss coefficients
    a(t) = dL/dh(t)), ``h0``, ``c0``, ``delta`` (``delta[(k, t)]`` is added to node k at time t),
    ``L`` = sum_t a(t) h(t) with the perturbations, and ``nodes[(k, t)]`` the unperturbed values.
    The total derivative of L with respect to node (k, t) is dL/d delta[(k, t)] at delta = 0.
    A linear loss is general here: BPTT uses the loss only through e(t) = dL/dh(t), and the
    a(t) are arbitrary symbols. See the chapter, section 'Proof with SymPy'.
    """
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or not 1 <= T <= 6:
        raise ValueError(f"T must be an integer from 1 to 6 (the expressions grow like 4^T), got {T!r}")
    T = int(T)
    P = {n: sp.Symbol(n, real=True) for n in PARAMS}
    x = sp.symbols(f"x1:{T + 1}", real=True)
    a = sp.symbols(f"a1:{T + 1}", real=True)
    h0, c0 = sp.symbols("h0 c0", real=True)
    delta = {(k, t): sp.Symbol(f"delta_{k}{t}", real=True) for t in range(1, T + 1) for k in _NODES}

    def run(d):
        h, c, out = h0, c0, {("h", 0): h0, ("c", 0): c0}
        for t in range(1, T + 1):
            pre = {k: P[f"w_{k}x"] * x[t - 1] + P[f"w_{k}h"] * h + P[f"b_{k}"] for k in GATES}
            gate = {k: Sigmoid(pre[k]) for k in "ifo"}
            gate["g"] = Tanh(pre["g"])
            gate = {k: v + d.get((k, t), 0) for k, v in gate.items()}
            c = gate["f"] * c + gate["i"] * gate["g"] + d.get(("c", t), 0)
            h = gate["o"] * Tanh(c) + d.get(("h", t), 0)
            out.update({(k, t): v for k, v in gate.items()})
            out[("c", t)], out[("h", t)] = c, h
        return out

    perturbed = run(delta)
    L = sum(a[t - 1] * perturbed[("h", t)] for t in range(1, T + 1))
    return {"T": T, "params": P, "x": x, "a": a, "h0": h0, "c0": c0, "delta": delta, "L": L,
            "nodes": run({})}


def graph_error_signals(model: dict) -> dict:
    """SymPy's total derivatives dL/dz for every node z = (k, t): differentiate L with respect
    to the perturbation on z, then set every perturbation to 0. Also ``("w_ix", None)``: dL/dw_ix.
    See the chapter, section 'Proof with SymPy'."""
    zero = {d: 0 for d in model["delta"].values()}
    out = {key: sp.diff(model["L"], d).xreplace(zero) for key, d in model["delta"].items()}
    out[("w_ix", None)] = sp.diff(model["L"], model["params"]["w_ix"]).xreplace(zero)
    return out


def recursion_error_signals(model: dict, loss_first: bool = True) -> dict:
    """The error signals computed by the recursions of the chapter (which are the source's (a),
    read with the loss term added to hbar(t) before cbar(t) uses it, and nothing from T+1).

    Built from the unperturbed node expressions of ``model``; keys (k, t) as in
    ``graph_error_signals``. With ``loss_first=False`` the loss term e(t) is added to hbar(t)
    only after cbar(t) and obar(t) have used it (a literal top-to-bottom reading of the
    source's listing), which the chapter shows is wrong. See the chapter, section 'The recursions'.
    """
    T, n, P, a = model["T"], model["nodes"], model["params"], model["a"]
    dk = {"i": lambda t: n[("i", t)] * (1 - n[("i", t)]), "f": lambda t: n[("f", t)] * (1 - n[("f", t)]),
          "o": lambda t: n[("o", t)] * (1 - n[("o", t)]), "g": lambda t: 1 - n[("g", t)] ** 2}
    bar = {}
    for t in range(T, 0, -1):
        hb, cb = sp.S.Zero, sp.S.Zero
        if t < T:
            hb = sum(bar[(k, t + 1)] * dk[k](t + 1) * P[f"w_{k}h"] for k in GATES)
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
    """The source's (b) and the book's theorem 'Gradient of the input-gate weight':
    w_ix-bar = sum_t ibar(t) i(t) (1 - i(t)) x(t). See the chapter, section 'The recursions'."""
    n, x = model["nodes"], model["x"]
    return sum(bar[("i", t)] * n[("i", t)] * (1 - n[("i", t)]) * x[t - 1] for t in range(1, model["T"] + 1))


def atoms_to_symbols(expr: sp.Expr) -> sp.Expr:
    """Replace every application of Sigmoid or Tanh by a fresh symbol (equal calls, equal symbols).

    If the result expands to 0, the original is 0: it is the image of the zero polynomial
    under substituting the calls back. This turns the comparison of nested total derivatives
    into a polynomial identity, which ``sp.expand`` decides exactly.
    See the chapter, section 'Proof with SymPy'.
    """
    calls = sorted(expr.atoms(Sigmoid, Tanh), key=sp.default_sort_key)
    return expr.xreplace({c: sp.Dummy(f"u{j}") for j, c in enumerate(calls)})


def is_zero(expr: sp.Expr) -> bool:
    """Whether ``expr`` is identically 0 as a polynomial in its Sigmoid/Tanh calls and symbols
    (True proves ``expr == 0``). See the chapter, section 'Proof with SymPy'."""
    return sp.expand(atoms_to_symbols(expr)) == 0


def state_jacobian_symbolic():
    """SymPy's Jacobian of one step (h(t-1), c(t-1)) -> (h(t), c(t)) and the symbols it uses.

    Returns (J, syms) with J a 2 x 2 Matrix (rows h, c; columns h(t-1), c(t-1)); ``syms`` holds
    the parameter symbols, ``h_prev``, ``c_prev``, ``x`` and the expressions i, f, o, g, c, h.
    See the chapter, section 'Why the gradient does not explode'.
    """
    P = {n: sp.Symbol(n, real=True) for n in PARAMS}
    hp, cp, xt = sp.symbols("h_prev c_prev x_t", real=True)
    pre = {k: P[f"w_{k}x"] * xt + P[f"w_{k}h"] * hp + P[f"b_{k}"] for k in GATES}
    i, f, o = (Sigmoid(pre[k]) for k in "ifo")
    g = Tanh(pre["g"])
    c = f * cp + i * g
    h = o * Tanh(c)
    J = sp.Matrix([[sp.diff(h, hp), sp.diff(h, cp)], [sp.diff(c, hp), sp.diff(c, cp)]])
    return J, {"params": P, "h_prev": hp, "c_prev": cp, "x": xt, "i": i, "f": f, "o": o, "g": g, "c": c, "h": h}


# ----------------------------------------------------------------------------------------
# The interactive figure: error signals for a loss at the last step only
# ----------------------------------------------------------------------------------------
#: Longest sequence in the figure.
FIGURE_T_MAX = 100
#: The figure's fixed LSTM weights (the offsets b_i, b_f, b_o are the controls; b_g = 0).
FIGURE_PARAMS = {"w_ix": 1.0, "w_ih": 2.0, "w_fx": 1.0, "w_fh": 2.0, "w_ox": 1.0, "w_oh": 2.0,
                 "w_gx": 1.0, "w_gh": 2.0, "b_g": 0.0}
#: The figure's vanilla RNN h(t) = tanh(w_x x(t) + w_h h(t-1)) on the same inputs.
FIGURE_RNN = {"w_x": 1.0, "w_h": 2.0}
#: Seed of the figure's standard-normal input sequence.
FIGURE_SEED = 421


def figure_inputs() -> np.ndarray:
    """The figure's input sequence x(1..FIGURE_T_MAX), standard normal from ``default_rng(FIGURE_SEED)``."""
    return np.random.default_rng(FIGURE_SEED).standard_normal(FIGURE_T_MAX)


def _log10_abs(v: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        out = np.log10(np.abs(v))
    out[~np.isfinite(out)] = np.nan  # an exactly-zero signal has no logarithm: leave a gap
    return out


def error_signals(steps: int = 50, forget: float = 4.0, ingate: float = -4.0, outgate: float = -4.0) -> dict:
    """log10 |hbar(t)| and log10 |cbar(t)| of the LSTM, and log10 |hbar(t)| of a vanilla RNN,
    for t = 1..steps, when the loss is L = h(steps) (the last output only).

    ``forget``, ``ingate``, ``outgate`` are the offsets b_f, b_i, b_o; the weights are
    FIGURE_PARAMS and FIGURE_RNN, the inputs a fixed standard-normal sequence.
    See the chapter, section 'Exploring the error signals'.
    """
    if isinstance(steps, bool) or not float(steps).is_integer() or not 1 <= steps <= FIGURE_T_MAX:
        raise ValueError(f"steps must be an integer from 1 to {FIGURE_T_MAX}, got {steps!r}")
    for name, v in (("forget", forget), ("ingate", ingate), ("outgate", outgate)):
        if not np.isfinite(v):
            raise ValueError(f"{name} offset must be a finite number, got {v!r}")
    T = int(steps)
    x = figure_inputs()[:T]
    e = np.zeros(T)
    e[-1] = 1.0
    params = {**FIGURE_PARAMS, "b_f": forget, "b_i": ingate, "b_o": outgate}
    b = backprop(params, x, e)
    rnn = rnn_forward(FIGURE_RNN["w_x"], FIGURE_RNN["w_h"], x)
    return {"t": np.arange(1, T + 1, dtype=float),
            "log10_hbar": _log10_abs(b["hbar"][1:]),
            "log10_cbar": _log10_abs(b["cbar"][1:]),
            "log10_hbar_rnn": _log10_abs(rnn_bptt(FIGURE_RNN["w_h"], rnn, e)[1:])}


_SERIES = (("log10_cbar", "LSTM c̄(t)", "tab:blue", "-"), ("log10_hbar", "LSTM h̄(t)", "tab:orange", "-"),
           ("log10_hbar_rnn", "RNN h̄(t)", "tab:gray", "--"))


def plot_error_signals(fig, data: dict, **params) -> None:
    """Matplotlib view of ``error_signals``: the three log10 curves against t.
    See the chapter, section 'Exploring the error signals'."""
    ax = fig.add_subplot(1, 1, 1)
    for key, label, color, style in _SERIES:
        ax.plot(data["t"], data[key], style, color=color, label=label)
    ax.set_xlabel("time step t")
    ax.set_ylabel("log10 |error signal|")
    ax.set_title("loss L = h(T): error signals back through time")
    ax.legend(loc="lower right")


def chart_error_signals(source, params):
    """Altair view of ``error_signals`` over the precomputed (already filtered) table: the same
    three curves, folded into one line layer coloured by signal. See the chapter, section
    'Exploring the error signals'."""
    import altair as alt

    keys = [k for k, *_ in _SERIES]
    names = {k: label for k, label, *_ in _SERIES}
    calc = " : ".join(f"datum.key == '{k}' ? '{names[k]}'" for k in keys[:-1]) + f" : '{names[keys[-1]]}'"
    return (
        source.transform_fold(keys, as_=["key", "value"])
        .transform_calculate(signal=calc)
        .mark_line()
        .encode(
            x=alt.X("t:Q", title="time step t"),
            y=alt.Y("value:Q", title="log10 |error signal|"),
            color=alt.Color("signal:N", title=None,
                            scale=alt.Scale(domain=[names[k] for k in keys],
                                            range=["#1f77b4", "#ff7f0e", "#7f7f7f"])),
            # Same field and title as the colour: Vega-Lite merges the two into one legend.
            strokeDash=alt.StrokeDash("signal:N", title=None,
                                      scale=alt.Scale(domain=[names[k] for k in keys], range=[[1, 0], [1, 0], [6, 4]])),
        )
        .properties(width=460, height=260, title="loss L = h(T): error signals back through time")
    )


def explorer():
    """The chapter's figure: the error signals for a last-step loss, with T and the gate offsets as controls.

    Table budget: T in {25, 50, 75, 100} (250 rows over the four) x 5^3 offset combinations x
    4 columns = 125,000 values, under the 150,000 limit.
    """
    from derivations.explore import Explorer, Slider

    return Explorer(
        name="lstm-error-signals",
        controls=[
            Slider("steps", 25, 100, 25, value=50, label="sequence length T"),
            Slider("forget", -2.0, 6.0, 2.0, value=4.0, label="forget offset b_f"),
            Slider("ingate", -6.0, 2.0, 2.0, value=-4.0, label="input offset b_i"),
            Slider("outgate", -6.0, 2.0, 2.0, value=-4.0, label="output offset b_o"),
        ],
        compute=error_signals,
        plot=plot_error_signals,
        chart=chart_error_signals,
    )
