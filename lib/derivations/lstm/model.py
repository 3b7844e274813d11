"""The univariate LSTM in numbers: forward pass, backprop through time, gradient checks.

Chapter "Backprop through time in the univariate LSTM" (``book/lstm.md``). For
t = 1, ..., T, with scalar input x(t) and scalar state (h(t), c(t)):

    i(t) = sigmoid(w_ix x(t) + w_ih h(t-1) + b_i)      input gate
    f(t) = sigmoid(w_fx x(t) + w_fh h(t-1) + b_f)      forget gate
    o(t) = sigmoid(w_ox x(t) + w_oh h(t-1) + b_o)      output gate
    g(t) = tanh(w_gx x(t) + w_gh h(t-1) + b_g)         candidate
    c(t) = f(t) c(t-1) + i(t) g(t)                     cell
    h(t) = o(t) tanh c(t)                              output

The offsets b_* are 0 in the homework's model (here they default to 0). The loss reads
the outputs h(1..T); BPTT needs of it only e(t) = dL/dh(t), its explicit partial
derivative.
The vanilla tanh RNN of the comparison section is here too.
"""

from __future__ import annotations

from typing import Mapping

import mpmath
import numpy as np

from .. import activations, checks

__all__ = [
    "GATES", "WEIGHTS", "PARAMS", "VARIABLES", "LIMIT", "sigmoid", "random_params",
    "forward", "backprop", "bptt", "squared_loss", "loss_and_grad", "fd_gradient",
    "fd_gradient_mp", "gradient_check", "rnn_forward", "rnn_bptt",
]

#: The four gates, in the order of the parameter names (``w_ix``, ``w_ih``, ``b_i``...).
GATES = ("i", "f", "o", "g")
#: The eight weights of the homework's model.
WEIGHTS = tuple(f"w_{k}{s}" for k in GATES for s in "xh")
#: All twelve parameters: per gate, the input and recurrent weights and the offset.
PARAMS = tuple(n for k in GATES for n in (f"w_{k}x", f"w_{k}h", f"b_{k}"))
#: What the loss is differentiated with respect to: the parameters, the initial state.
VARIABLES = PARAMS + ("h0", "c0")
#: Largest magnitude accepted for a parameter, input, target or initial state. Every
#: gate is saturated to float64 precision long before it; beyond it, products could
#: overflow.
LIMIT = 1e6


# -------------------------------------------------------------------------------------
# Input checks (thin uses of derivations.checks)
# -------------------------------------------------------------------------------------
def _scalar(value, name: str) -> float:
    return checks.real(value, name, minimum=-LIMIT, maximum=LIMIT)


def _sequence(value, name: str, length: int | None = None,
              limit: float = LIMIT) -> np.ndarray:
    """A non-empty finite 1-D sequence of the given length, entries of size <= limit."""
    arr = checks.array(value, name, shape=(length,))
    if np.max(np.abs(arr)) > limit:
        raise ValueError(f"{name} must have entries of size at most {limit:g}, "
                         f"got {np.max(np.abs(arr)):g}")
    return arr


def _params(weights) -> dict[str, float]:
    """The twelve parameters as floats: every weight required, offsets default to 0."""
    if not isinstance(weights, Mapping):
        raise ValueError("weights must be a mapping from parameter names to numbers, "
                         f"got {type(weights).__name__}")
    unknown = sorted(set(weights) - set(PARAMS), key=str)
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown}; "
                         f"allowed: {', '.join(PARAMS)}")
    missing = [n for n in WEIGHTS if n not in weights]
    if missing:
        raise ValueError(f"missing weight(s) {missing}; all of {', '.join(WEIGHTS)} "
                         "are "
                         "required (the offsets b_i, b_f, b_o, b_g default to 0)")
    return {n: _scalar(weights.get(n, 0.0), n) for n in PARAMS}


def sigmoid(z):
    """The logistic function, overflow-free and accurate for large |z| (the shared form
    ``activations.phi``); z is a real number or an array. Chapter section 'The
    model'."""
    z = checks.array(z, "z") if np.ndim(z) else checks.real(z, "z")
    return activations.phi("sigmoid", z)


def random_params(rng, scale: float = 1.0, offsets: bool = True) -> dict:
    """Parameters drawn from N(0, scale^2) (the offsets too, unless ``offsets=False``),
    for
    tests and examples. Chapter section 'Checking the implementation numerically'."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator, "
                         f"got {type(rng).__name__}")
    scale = checks.real(scale, "scale", minimum=0.0, maximum=1e3, open_min=True)
    if not isinstance(offsets, (bool, np.bool_)):
        raise ValueError(f"offsets must be True or False, got {offsets!r}")
    return {n: float(scale * rng.standard_normal()) if (offsets or n.startswith("w"))
            else 0.0 for n in PARAMS}


# -------------------------------------------------------------------------------------
# Forward pass and BPTT
# -------------------------------------------------------------------------------------
def _run(p: dict, x: np.ndarray, h0: float, c0: float) -> dict:
    T = x.size
    wx, wh, b = (np.array([p[f"{a}_{k}{s}"] for k in GATES])
                 for a, s in (("w", "x"), ("w", "h"), ("b", "")))
    n = {k: np.full(T + 1, np.nan) for k in ("i", "f", "o", "g", "c", "h", "tc",
                                             "zi", "zf", "zo", "zg")}
    n["h"][0], n["c"][0] = h0, c0
    for t in range(1, T + 1):
        z = wx * x[t - 1] + wh * n["h"][t - 1] + b
        gates = activations.phi("sigmoid", z[:3])
        for j, k in enumerate(GATES):
            n["z" + k][t] = z[j]
        n["i"][t], n["f"][t], n["o"][t] = gates
        n["g"][t] = np.tanh(z[3])
        n["c"][t] = n["f"][t] * n["c"][t - 1] + n["i"][t] * n["g"][t]
        n["tc"][t] = np.tanh(n["c"][t])
        n["h"][t] = n["o"][t] * n["tc"][t]
    n["x"] = np.concatenate([[np.nan], x])
    return n


def forward(weights: Mapping, xs, h0: float = 0.0, c0: float = 0.0) -> dict:
    """Run the LSTM over xs = x(1..T); return its nodes as arrays indexed by t = 0..T.

    ``weights`` maps the eight names of ``WEIGHTS`` to numbers; the offsets ``b_i, b_f,
    b_o, b_g`` are optional (default 0). ``out["h"][t]`` is h(t) (``out["h"][0]`` is
    h0), likewise ``c``; the gates ``i, f, o, g``, their pre-activations ``zi, zf, zo,
    zg`` and
    ``tc`` = tanh c(t) hold NaN at t = 0. Chapter section 'The model'.
    """
    p = _params(weights)
    return _run(p, _sequence(xs, "xs"), _scalar(h0, "h0"), _scalar(c0, "c0"))


def _backprop(p: dict, n: dict, e: np.ndarray) -> dict:
    T = e.size
    # Slopes of the gates at their pre-activations, t = 1..T (index 0 unused).
    dk = {k: np.append(np.nan, activations.phi_prime("sigmoid", n["z" + k][1:]))
          for k in "ifo"}
    dk["g"] = np.append(np.nan, activations.phi_prime("tanh", n["zg"][1:]))
    tau = activations.phi_prime("tanh", n["c"])  # 1 - tanh^2 c(t), accurate saturated
    bar = {k: np.full(T + 1, np.nan) for k in ("h", "c", *GATES)}
    pre = {k: np.zeros(T + 2) for k in GATES}  # error signals of the pre-activations
    c_next = 0.0  # cbar(t+1) f(t+1): nothing comes from t = T + 1
    with np.errstate(over="raise", invalid="raise"):
        try:
            for t in range(T, -1, -1):
                hb = (e[t - 1] if t >= 1 else 0.0) + sum(pre[k][t + 1] * p[f"w_{k}h"]
                                                         for k in GATES)
                cb = c_next + (hb * n["o"][t] * tau[t] if t >= 1 else 0.0)
                bar["h"][t], bar["c"][t] = hb, cb
                if t >= 1:
                    bar["g"][t], bar["o"][t] = cb * n["i"][t], hb * n["tc"][t]
                    bar["f"][t], bar["i"][t] = cb * n["c"][t - 1], cb * n["g"][t]
                    for k in GATES:
                        pre[k][t] = bar[k][t] * dk[k][t]
                    c_next = cb * n["f"][t]
        except FloatingPointError as err:
            raise ValueError(f"the error signals overflow float64 near step t = {t}: "
                             "the gradient explodes for these weights and inputs"
                             ) from err
    grad = {}
    for k in GATES:
        s = pre[k][1:T + 1]
        grad[f"w_{k}x"] = float(np.sum(s * n["x"][1:]))
        grad[f"w_{k}h"] = float(np.sum(s * n["h"][:-1]))
        grad[f"b_{k}"] = float(np.sum(s))
    grad["h0"], grad["c0"] = float(bar["h"][0]), float(bar["c"][0])
    out = {f"{k}bar": v for k, v in bar.items()}
    out["grad"] = grad
    return out


def backprop(weights: Mapping, xs, dL_dh, h0: float = 0.0, c0: float = 0.0,
             nodes: dict | None = None) -> dict:
    """Backprop through time: the error signal of every node and the gradient of every
    parameter (theorems 'BPTT for the univariate LSTM' and 'Gradient of the input-gate
    weight', chapter section 'The recursions').

    ``dL_dh[t-1]`` is e(t) = dL/dh(t) for t = 1..T. ``nodes`` may pass in ``forward``'s
    output for the same arguments, to avoid running it again. Returns arrays ``hbar,
    cbar, gbar, obar, fbar, ibar`` indexed by t = 0..T (gates NaN at 0) and ``grad``, a
    dict with dL/dp for each name in PARAMS and for ``h0`` and ``c0``.
    """
    p = _params(weights)
    x = _sequence(xs, "xs")
    e = _sequence(dL_dh, "dL_dh", length=x.size, limit=1e100)
    h0, c0 = _scalar(h0, "h0"), _scalar(c0, "c0")
    if nodes is None:
        nodes = _run(p, x, h0, c0)
    elif not (isinstance(nodes, Mapping) and np.shape(nodes.get("h")) == (x.size + 1,)):
        raise ValueError(f"nodes must be forward()'s output for these {x.size} inputs")
    return _backprop(p, nodes, e)


def bptt(weights: Mapping, xs, dL_dh, h0: float = 0.0, c0: float = 0.0) -> dict:
    """The gradient of the loss with respect to each parameter named in ``weights``.

    Returns the same keys as ``weights`` (the eight weights and any offsets given).
    ``dL_dh[t-1]`` is e(t) = dL/dh(t). For the error signals, use :func:`backprop`.
    Chapter section 'The recursions'.
    """
    grad = backprop(weights, xs, dL_dh, h0, c0)["grad"]
    return {name: grad[name] for name in PARAMS if name in weights}


# -------------------------------------------------------------------------------------
# The squared loss and the numeric gradient checks
# -------------------------------------------------------------------------------------
def squared_loss(h, y) -> float:
    """L = 1/2 sum_{t=1..T} (h(t) - y(t))^2 for outputs ``h`` indexed 0..T and targets
    ``y`` indexed 1..T. Chapter section 'Checking the implementation numerically'."""
    h = checks.array(h, "h", ndim=1)
    y = _sequence(y, "y", length=h.size - 1)
    return float(0.5 * np.sum((h[1:] - y) ** 2))


def _problem(params, x, y, h0, c0):
    p = _params(params)
    x = _sequence(x, "x")
    return p, x, _sequence(y, "y", length=x.size), _scalar(h0, "h0"), _scalar(c0, "c0")


def loss_and_grad(params: Mapping, x, y, h0: float = 0.0, c0: float = 0.0) -> tuple:
    """The squared loss and its gradient by BPTT (the twelve parameters, h0 and c0),
    where
    e(t) = h(t) - y(t). Chapter section 'Checking the implementation numerically'."""
    p, x, y, h0, c0 = _problem(params, x, y, h0, c0)
    n = _run(p, x, h0, c0)
    grad = _backprop(p, n, n["h"][1:] - y)["grad"]
    return 0.5 * float(np.sum((n["h"][1:] - y) ** 2)), grad


def _vector(p: dict, h0: float, c0: float) -> np.ndarray:
    return np.array([p[k] for k in PARAMS] + [h0, c0])


def fd_gradient(params: Mapping, x, y, h0: float = 0.0, c0: float = 0.0) -> dict:
    """The gradient of the squared loss by float64 central differences
    (``checks.central_difference``: step cbrt(eps) max(1, |v|), absolute error about
    eps^(2/3) |L|). Chapter section 'Checking the implementation numerically'."""
    p, x, y, h0, c0 = _problem(params, x, y, h0, c0)

    def loss(v):
        n = _run(dict(zip(PARAMS, v[:12])), x, v[12], v[13])
        return 0.5 * np.sum((n["h"][1:] - y) ** 2)

    grad = checks.central_difference(loss, _vector(p, h0, c0))
    return dict(zip(VARIABLES, map(float, grad)))


def _loss_mp(v, x, y):
    """The squared loss in mpmath at the working precision; v holds VARIABLES."""
    p = dict(zip(VARIABLES, v))
    h, c, total = p["h0"], p["c0"], mpmath.mpf(0)
    for xt, yt in zip(x, y):
        z = {k: p[f"w_{k}x"] * xt + p[f"w_{k}h"] * h + p[f"b_{k}"] for k in GATES}
        i, f, o = (1 / (1 + mpmath.exp(-z[k])) for k in "ifo")
        c = f * c + i * mpmath.tanh(z["g"])
        h = o * mpmath.tanh(c)
        total += (h - yt) ** 2 / 2
    return total


def fd_gradient_mp(params: Mapping, x, y, h0: float = 0.0, c0: float = 0.0,
                   digits: int = 30) -> dict:
    """The gradient of the squared loss by central differences in mpmath
    (``checks.mp_central_difference``: step 10^-digits, 2 digits + 20 decimal digits of
    working precision), a reference far below float64 rounding that differentiates
    nothing. The inputs are the float64 values, taken exactly. Chapter section 'Checking
    the
    implementation numerically'."""
    p, x, y, h0, c0 = _problem(params, x, y, h0, c0)
    digits = checks.integer(digits, "digits", minimum=20, maximum=60)
    x_mp, y_mp = [mpmath.mpf(float(v)) for v in x], [mpmath.mpf(float(v)) for v in y]
    grad = checks.mp_central_difference(lambda v: _loss_mp(v, x_mp, y_mp),
                                        _vector(p, h0, c0), digits=digits)
    return dict(zip(VARIABLES, map(float, np.ravel(grad))))


def gradient_check(seed: int, T: int) -> dict:
    """The BPTT gradient of a random problem against float64 and mpmath central
    differences.

    The problem: parameters, inputs, targets, h0 and c0 standard normal from
    ``default_rng(seed)``, squared loss over T steps. Returns the loss ``L``, the BPTT
    gradient ``bptt`` and the two references ``fd64`` and ``fd_mp`` (arrays over
    VARIABLES). Chapter section 'Checking the implementation numerically'.
    """
    seed = checks.integer(seed, "seed", minimum=0, maximum=2**32 - 1)
    T = checks.integer(T, "T", minimum=1, maximum=1000)
    rng = np.random.default_rng(seed)
    p = random_params(rng)
    x, y = rng.standard_normal((2, T))
    h0, c0 = (float(v) for v in rng.standard_normal(2))
    L, g = loss_and_grad(p, x, y, h0, c0)
    return {"L": L, "bptt": np.array([g[k] for k in VARIABLES]),
            "fd64": np.array(list(fd_gradient(p, x, y, h0, c0).values())),
            "fd_mp": np.array(list(fd_gradient_mp(p, x, y, h0, c0).values()))}


# -------------------------------------------------------------------------------------
# The vanilla RNN of the comparison
# -------------------------------------------------------------------------------------
def rnn_forward(w_x: float, w_h: float, x, h0: float = 0.0) -> dict:
    """The vanilla tanh RNN h(t) = tanh(z(t)), z(t) = w_x x(t) + w_h h(t-1); returns
    ``{"h": h(0..T), "z": z(0..T)}`` (z(0) is NaN). Chapter section 'Comparison with a
    vanilla RNN'."""
    w_x, w_h, h0 = _scalar(w_x, "w_x"), _scalar(w_h, "w_h"), _scalar(h0, "h0")
    x = _sequence(x, "x")
    h, z = np.empty(x.size + 1), np.full(x.size + 1, np.nan)
    h[0] = h0
    for t in range(1, x.size + 1):
        z[t] = w_x * x[t - 1] + w_h * h[t - 1]
        h[t] = np.tanh(z[t])
    return {"h": h, "z": z}


def rnn_bptt(w_h: float, nodes: dict, e) -> np.ndarray:
    """Error signals hbar(0..T) of the vanilla RNN: hbar(t) = e(t) + hbar(t+1) w_h
    (1 - h(t+1)^2), with e(0) = 0. Each step back multiplies by w_h tanh'(z), so the
    signal
    changes geometrically. Chapter section 'Comparison with a vanilla RNN'."""
    w_h = _scalar(w_h, "w_h")
    if not isinstance(nodes, Mapping) or "z" not in nodes:
        raise ValueError("nodes must be rnn_forward()'s output (a mapping with 'z')")
    z = checks.array(nodes["z"][1:], "nodes['z'][1:]", ndim=1)
    e = _sequence(e, "e", length=z.size, limit=1e100)
    step = w_h * activations.phi_prime("tanh", z)  # dh(t)/dh(t-1), accurate saturated
    hbar = np.zeros(z.size + 1)
    hbar[-1] = e[-1]
    with np.errstate(over="raise"):
        try:
            for t in range(z.size - 1, -1, -1):
                hbar[t] = (e[t - 1] if t >= 1 else 0.0) + hbar[t + 1] * step[t]
        except FloatingPointError as err:
            raise ValueError("the RNN's error signals overflow float64") from err
    return hbar
