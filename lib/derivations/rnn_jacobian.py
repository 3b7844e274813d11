"""Jacobians of the recurrence h_{t+1} = phi(W h_t) across many steps (chapter
"Gradients through recurrent steps"); phi is tanh (the homework's) or the sigmoid.

With z_t = W h_t, one step has Jacobian D_t W, D_t = diag(phi'(z_t)), and
dh_T/dh_1 = D_{T-1} W ... D_1 W (T - 1 factors). This module proves the step Jacobian
for every width n (:func:`prove_step_jacobian`), builds the product in NumPy (and in log
space for great depths), an independent mpmath finite-difference Jacobian, the
singular-value bounds of the chapter's theorem, and the chapter's figure. The problem
writes x_t for the state; the book and this module write h_t (the old keyword names
x1, x, size still work).
"""

from __future__ import annotations

import functools
import math

import mpmath
import numpy as np
import sympy as sp

from . import activations, checks

__all__ = [
    "ACTIVATIONS", "MATRIX_KINDS", "INPUT_SCALES", "MAX_DEPTH", "symbolic_step",
    "step_jacobian_formula", "prove_step_jacobian", "check_matrix", "scaled_matrix",
    "trajectory", "step_jacobian", "jacobian_product", "finite_difference_jacobian",
    "sigma_max", "log10_sigma_path", "figure_input", "figure_data", "plot_figure",
    "chart_figure", "explorer",
]

#: The activations of the recurrence: tanh (gamma = 1) and the sigmoid (gamma = 1/4).
ACTIVATIONS = ("tanh", "sigmoid")
#: How the figure builds W: sigma times a random orthogonal matrix, or a Gaussian matrix
#: rescaled to sigma_max = sigma.
MATRIX_KINDS = ("orthogonal-scaled", "random")
#: The figure's h_1: |h_1| = 1e-6 (phi' near its peak) or entries ~3 (saturated).
INPUT_SCALES = ("small", "large")
#: The most states h_1..h_T the float64 functions accept (the mpmath reference: 1000).
MAX_DEPTH = 10**5


def _old_names(**renames):
    """Accept the keyword names of earlier versions (x1, x, size) for h1, h, width."""
    def wrap(func):
        @functools.wraps(func)
        def call(*args, **kwargs):
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise ValueError(f"give {new} or its old name {old}, not both")
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)
        return call
    return wrap


def _activation(name) -> str:
    return checks.choice(name, "activation", ACTIVATIONS)


def _depth(depth, maximum=MAX_DEPTH) -> int:
    return checks.integer(depth, "depth T (number of states h_1..h_T)", minimum=1,
                          maximum=maximum)


def check_matrix(W) -> np.ndarray:
    """W as a float64 array, after checking it is n x n, non-empty and finite."""
    return checks.array(W, "W", shape=("n", "n"))


def _state(W, h, name):
    dims: dict = {}
    W = checks.array(W, "W", shape=("n", "n"), dims=dims)
    return W, checks.array(h, name, shape=("n",), dims=dims)


# --- Symbolic: one step and its Jacobian.

@_old_names(size="width")
def symbolic_step(width: int = 2, activation: str = "tanh"):
    """(W, h, phi(W h)) for a width x width matrix of symbols (section "One step")."""
    n = checks.integer(width, "width n", minimum=1, maximum=8)
    name = _activation(activation)
    W = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"w_{i + 1}{j + 1}", real=True))
    h = sp.Matrix(n, 1, lambda i, _j: sp.Symbol(f"h_{i + 1}", real=True))
    u = sp.Symbol("u", real=True)
    phi = activations.expression(name, u)
    return W, h, (W * h).applyfunc(lambda zi: phi.subs(u, zi))


@_old_names(x="h")
def step_jacobian_formula(W: sp.Matrix, h: sp.Matrix, activation: str = "tanh"):
    """diag(phi'(z)) W with z = W h and phi' as SymPy differentiates phi."""
    if not (isinstance(W, sp.MatrixBase) and isinstance(h, sp.MatrixBase)):
        raise ValueError("W and h must be SymPy matrices (see symbolic_step)")
    if W.shape[0] != W.shape[1] or h.shape != (W.shape[1], 1):
        raise ValueError(f"W must be n x n and h n x 1, got {W.shape} and {h.shape}")
    u = sp.Symbol("u", real=True)
    d = activations.derivative(_activation(activation), u)
    return sp.diag(*[d.subs(u, zi) for zi in W * h]) * W


def prove_step_jacobian() -> checks.Identity:
    """d phi(z_i) / d h_j = (diag(phi'(z)) W)_{ij} for every width n and every
    differentiable phi, entrywise with indexed symbols, z_i = sum_m W_im h_m and indices
    1 <= i, j <= n. Raises unless proved symbolically (section "One step")."""
    n = sp.Symbol("n", integer=True, positive=True)
    i, j, k, m = sp.symbols("i j k m", integer=True, positive=True)
    W, h, u = sp.IndexedBase("W"), sp.IndexedBase("h"), sp.Dummy("u")
    phi = sp.Function("varphi")

    def z(row):
        return sp.Sum(W[row, m] * h[m], (m, 1, n))

    entry = sp.refine(sp.diff(phi(z(i)), h[j]).doit(), sp.Q.le(j, n))
    d_phi = sp.Subs(sp.Derivative(phi(u), u), u, z(k))
    formula = sp.Sum(sp.KroneckerDelta(i, k) * d_phi * W[k, j], (k, 1, n))
    identity = checks.prove_identity(entry, sp.refine(formula.doit(), sp.Q.le(i, n)))
    if not isinstance(identity.check, checks.Proved):
        raise AssertionError("the step Jacobian was not proved symbolically")
    # Shown unevaluated: d phi(z_i) / d h_j = sum_k delta_ik phi'(z_k) W_kj.
    shown = sp.Eq(sp.Derivative(phi(z(i)), h[j]), formula, evaluate=False)
    return checks.Identity(shown, identity.check)


# --- Numeric: matrices, trajectories and Jacobian products.

@_old_names(size="width")
def scaled_matrix(kind: str, sigma: float, width: int, seed: int = 0) -> np.ndarray:
    """A width x width matrix with sigma_max = sigma: sigma times a Haar-random
    orthogonal matrix (every singular value sigma), or a Gaussian matrix rescaled
    ("random")."""
    checks.choice(kind, "kind", MATRIX_KINDS)
    sigma = checks.real(sigma, "sigma", minimum=0.0, open_min=True, maximum=1e6)
    n = checks.integer(width, "width n", minimum=1, maximum=1000)
    rng = np.random.default_rng(checks.integer(seed, "seed", minimum=0))
    G = rng.standard_normal((n, n))
    if kind == "orthogonal-scaled":
        Q, R = np.linalg.qr(G)
        return sigma * (Q * np.sign(np.diag(R)))  # sign fix: Q is Haar-distributed
    return sigma * (G / np.linalg.norm(G, 2))


@_old_names(x1="h1")
def trajectory(W, h1, depth: int, activation: str = "tanh") -> np.ndarray:
    """The states h_1, ..., h_T as the rows of a (T, n) array."""
    W, h = _state(W, h1, "h1")
    T, name = _depth(depth), _activation(activation)
    hs = np.empty((T, h.size))
    hs[0] = h
    for t in range(1, T):
        hs[t] = activations.phi(name, W @ hs[t - 1])
    return hs


@_old_names(x="h")
def step_jacobian(W, h, activation: str = "tanh") -> np.ndarray:
    """dh_{t+1}/dh_t = diag(phi'(W h_t)) W: phi' at the pre-activation, not at h_t."""
    W, h = _state(W, h, "h")
    return activations.phi_prime(_activation(activation), W @ h)[:, None] * W


@_old_names(x1="h1")
def jacobian_product(W, h1, depth: int, activation: str = "tanh") -> np.ndarray:
    """dh_T/dh_1 by the chain rule, D_{T-1} W ... D_1 W (the identity for T = 1).
    Under- or overflows at great depths; see :func:`log10_sigma_path`."""
    W, h = _state(W, h1, "h1")
    T, name = _depth(depth), _activation(activation)
    J = np.eye(h.size)
    for _ in range(T - 1):
        z = W @ h
        J = (activations.phi_prime(name, z)[:, None] * W) @ J
        h = activations.phi(name, z)
    return J


@_old_names(x1="h1")
def finite_difference_jacobian(W, h1, depth: int, digits: int = 30,
                               activation: str = "tanh") -> np.ndarray:
    """dh_T/dh_1 by central differences of the map h_1 -> h_T in mpmath
    (``activations.mp_reference_derivative``: step 10**-digits, precision raised until
    the difference is resolved). Independent of :func:`jacobian_product`: it
    differentiates nothing."""
    W, h = _state(W, h1, "h1")
    T, name = _depth(depth, 1000), _activation(activation)
    f = {"tanh": mpmath.tanh, "sigmoid": lambda t: 1 / (1 + mpmath.exp(-t))}[name]

    def run(v):
        Wm, state = mpmath.matrix(W.tolist()), mpmath.matrix(v)
        for _ in range(T - 1):
            state = (Wm * state).apply(f)
        return [state[r] for r in range(h.size)]

    return activations.mp_reference_derivative(run, h, digits=digits)


def sigma_max(A) -> float:
    """The largest singular value (spectral norm) of a matrix."""
    return float(np.linalg.norm(checks.array(A, "A", ndim=2), 2))


@_old_names(x1="h1")
def log10_sigma_path(W, h1, depth: int, activation: str = "tanh") -> dict:
    """log10 of sigma_max(J_t), J_t = dh_t/dh_1, and of both bounds, for t = 1..T.

    Keys: ``t``; ``actual``; ``step_bound`` (sum over steps of log10 sigma_max(D_s) +
    log10 sigma_max(W)); ``power_bound`` ((t - 1) log10 (gamma sigma_max(W))). The
    product is renormalised after each step and its scale kept as a logarithm, so depth
    10**4 works where float64 under- or overflows (section "Great depths").
    """
    W, h = _state(W, h1, "h1")
    T, name = _depth(depth), _activation(activation)
    s = sigma_max(W)
    log_s = math.log10(s) if s > 0 else -math.inf
    log_gamma = math.log10(float(activations.max_derivative(name)))
    actual, step = np.zeros(T), np.zeros(T)
    M, scale, acc = np.eye(h.size), 0.0, 0.0
    for t in range(1, T):
        z = W @ h
        M = (activations.phi_prime(name, z)[:, None] * W) @ M
        c = float(np.max(np.abs(M)))
        if c == 0.0:  # only if W = 0: the Jacobian is exactly zero from here on
            actual[t:], step[t:] = -math.inf, -math.inf
            break
        M, scale = M / c, scale + math.log10(c)
        actual[t] = scale + math.log10(np.linalg.norm(M, 2))
        # sigma_max(D_t) = max_i phi'(z_i): the entries of D_t are positive
        acc += float(np.max(activations.log10_phi_prime(name, z))) + log_s
        step[t] = acc
        h = activations.phi(name, z)
    t_axis = np.arange(1, T + 1, dtype=float)
    return {"t": t_axis, "actual": actual, "step_bound": step,
            "power_bound": (t_axis - 1) * (log_gamma + log_s)}


# --- The interactive figure.

FIGURE_WIDTH = FIGURE_SIZE = 8
FIGURE_SEED = 12
FIGURE_MAX_DEPTH = 50


@_old_names(size="width")
def figure_input(scale: str, width: int = FIGURE_WIDTH) -> np.ndarray:
    """The figure's h_1: a fixed random direction of length 1e-6 or 3 sqrt(n)."""
    checks.choice(scale, "scale", INPUT_SCALES)
    n = checks.integer(width, "width n", minimum=1, maximum=1000)
    u = np.random.default_rng(FIGURE_SEED + 1).standard_normal(n)
    return u / np.linalg.norm(u) * (1e-6 if scale == "small" else 3.0 * math.sqrt(n))


@functools.lru_cache(maxsize=None)
def _figure_path(sigma: float, kind: str, scale: str, activation: str) -> dict:
    W = scaled_matrix(kind, sigma, FIGURE_WIDTH, seed=FIGURE_SEED)
    return log10_sigma_path(W, figure_input(scale), FIGURE_MAX_DEPTH, activation)


def figure_data(sigma: float, depth: int = FIGURE_MAX_DEPTH, kind: str = "random",
                scale: str = "small", activation: str = "tanh") -> dict:
    """The figure's numbers: :func:`log10_sigma_path` for the figure's W and h_1."""
    sigma = checks.real(sigma, "sigma", minimum=0.0, open_min=True, maximum=1e6)
    T = _depth(depth, FIGURE_MAX_DEPTH)
    checks.choice(kind, "kind", MATRIX_KINDS)
    checks.choice(scale, "scale", INPUT_SCALES)
    path = _figure_path(sigma, kind, scale, _activation(activation))
    return {k: v[:T].copy() for k, v in path.items()}


def plot_figure(fig, data, sigma, kind="random", scale="small", activation="tanh"):
    """Matplotlib view, updated in place: log10 sigma_max(dh_t/dh_1) against t, with
    both bounds."""
    sigma = checks.real(sigma, "sigma", minimum=0.0, open_min=True, maximum=1e6)
    checks.choice(kind, "kind", MATRIX_KINDS)
    checks.choice(scale, "scale", INPUT_SCALES)
    _activation(activation)
    if not fig.axes:
        ax = fig.subplots()
        ax.plot([], [], color="C0", marker=".", label="actual σ_max(∂h_t/∂h_1)")
        ax.plot([], [], color="C2", ls=":", label="Π σ_max(D_s) σ_max(W)")
        ax.plot([], [], color="C3", ls="--", label="(γ σ_max(W))^(t-1)")
        ax.set(xlabel="step t", ylabel="log10 σ_max")
        ax.legend(loc="lower left", fontsize="small")
    ax = fig.axes[0]
    for line, key in zip(ax.lines, ("actual", "step_bound", "power_bound")):
        line.set_data(data["t"], data[key])
    values = np.concatenate([data[k] for k in ("actual", "step_bound", "power_bound")])
    values = values[np.isfinite(values)]
    ax.set_xlim(0, data["t"][-1] + 1)
    ax.set_ylim(values.min() - 1, values.max() + 1)
    ax.set_title(f"{activation}, {kind} W, σ_max(W) = {sigma:g}, {scale} h_1")


def chart_figure(source, params):
    """Vega-Lite view of the same three curves (folded for the legend)."""
    import altair as alt

    names = {"actual": "actual", "step_bound": "per-step bound",
             "power_bound": "(γ σ_max(W))^(t-1)"}
    cases = [f"datum.curve == '{k}' ? '{v}'" for k, v in list(names.items())[:-1]]
    label = " : ".join(cases + [f"'{list(names.values())[-1]}'"])
    colors = alt.Scale(domain=list(names.values()),
                       range=["#1f77b4", "#2ca02c", "#d62728"])
    return (source.transform_fold(list(names), as_=["curve", "log10"])
            .transform_calculate(curve=label)
            .mark_line(point=True)
            .encode(x=alt.X("t:Q", title="step t"),
                    y=alt.Y("log10:Q", title="log10 σ_max"),
                    color=alt.Color("curve:N", scale=colors),
                    strokeDash=alt.StrokeDash("curve:N", legend=None))
            .properties(width=420, height=260))


def explorer():
    """The chapter's figure: sigma_max(W), the kind of W, the input, the activation."""
    from .explore import Choice, Explorer, Slider

    return Explorer(
        name="rnn-jacobian",
        controls=[Slider("sigma", 0.5, 6.0, 0.5, value=1.5, label="σ_max(W)"),
                  Choice("kind", list(MATRIX_KINDS), value="random", label="W"),
                  Choice("scale", list(INPUT_SCALES), value="small", label="input h_1"),
                  Choice("activation", list(ACTIVATIONS), value="tanh", label="φ")],
        compute=figure_data, plot=plot_figure, chart=chart_figure,
        width=7.5, height=3.6,
    )
