"""The Jacobian of a tanh recurrence x_{t+1} = tanh(W x_t) across many steps.

Chapter "Gradients through recurrent steps" (``book/rnn_jacobian.md``). With the
pre-activation ``z_t = W x_t``, one step has Jacobian ``D_t W`` where
``D_t = diag(tanh'(z_t))``, and ``d x_n / d x_1 = D_{n-1} W ... D_1 W`` (n - 1 factors).
This module builds that product symbolically (SymPy) and numerically (NumPy, with a
log-space version for great depths), an independent finite-difference Jacobian in
arbitrary precision (mpmath), the singular-value bounds of the chapter's theorem, and the
chapter's interactive figure.
"""

from __future__ import annotations

import functools
import math
import numbers

import mpmath
import numpy as np
import sympy as sp

from .activations import log10_phi_prime, phi_prime

__all__ = [
    "symbolic_step", "step_jacobian_formula", "check_matrix", "scaled_matrix", "trajectory",
    "step_jacobian", "jacobian_product", "finite_difference_jacobian", "sigma_max",
    "log10_sigma_path", "figure_input", "figure_data", "plot_figure", "chart_figure", "explorer",
    "MATRIX_KINDS", "INPUT_SCALES",
]

#: How the figure builds W: a random orthogonal matrix times s, or a Gaussian matrix rescaled to sigma_max = s.
MATRIX_KINDS = ("orthogonal-scaled", "random")
#: Input sizes of the figure: |x_1| = 1e-6 (tanh' ~ 1 at first) or entries of size ~3 (saturated).
INPUT_SCALES = ("small", "large")


# ---------------------------------------------------------------------------------------
# Input checks.
# ---------------------------------------------------------------------------------------

def _check_depth(depth) -> int:
    if isinstance(depth, bool) or not isinstance(depth, numbers.Integral):
        raise ValueError(f"depth must be a positive integer (the number of states x_1..x_n), got {depth!r}")
    if depth < 1:
        raise ValueError(f"depth must be at least 1 (x_1 alone is depth 1), got {depth}")
    return int(depth)


def _check_size(size) -> int:
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    return int(size)


def check_matrix(W) -> np.ndarray:
    """W as a float64 array, after checking it is square, non-empty and finite."""
    W = np.asarray(W, dtype=float)
    if W.ndim != 2 or W.shape[0] != W.shape[1] or W.shape[0] == 0:
        raise ValueError(f"W must be a non-empty square matrix (d x d), got shape {W.shape}")
    if not np.all(np.isfinite(W)):
        raise ValueError("W must be finite (no NaN or infinity)")
    return W


def _check_state(W, x) -> tuple[np.ndarray, np.ndarray]:
    W = check_matrix(W)
    x = np.asarray(x, dtype=float)
    if x.shape != (W.shape[0],):
        raise ValueError(f"x must be a vector of length {W.shape[0]} to match W, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x must be finite (no NaN or infinity)")
    return W, x


# ---------------------------------------------------------------------------------------
# Symbolic: one step and its Jacobian.
# ---------------------------------------------------------------------------------------

def symbolic_step(size: int = 2):
    """(W, x, tanh(W x)) for a generic size x size matrix of symbols.

    See the chapter's section "One step". The Jacobian of the third item with respect to x
    is what SymPy's ``Matrix.jacobian`` computes and the chapter compares with the formula.
    """
    size = _check_size(size)
    W = sp.Matrix(size, size, lambda i, j: sp.Symbol(f"w_{i + 1}{j + 1}", real=True))
    x = sp.Matrix(size, 1, lambda i, _j: sp.Symbol(f"x_{i + 1}", real=True))
    return W, x, (W * x).applyfunc(sp.tanh)


def step_jacobian_formula(W: sp.Matrix, x: sp.Matrix) -> sp.Matrix:
    """diag(tanh'(z)) W with z = W x and tanh'(z) = 1 - tanh(z)^2 (the chapter's formula)."""
    z = W * x
    return sp.diag(*[1 - sp.tanh(zi) ** 2 for zi in z]) * W


# ---------------------------------------------------------------------------------------
# Numeric: matrices, trajectories and Jacobian products.
# ---------------------------------------------------------------------------------------

def scaled_matrix(kind: str, sigma: float, size: int, seed: int = 0) -> np.ndarray:
    """A size x size matrix with largest singular value ``sigma``.

    ``"orthogonal-scaled"``: sigma times a random orthogonal matrix (all singular values equal
    sigma); ``"random"``: a Gaussian matrix rescaled so that its largest singular value is sigma.
    """
    if kind not in MATRIX_KINDS:
        raise ValueError(f"unknown matrix kind {kind!r}; choose one of {', '.join(MATRIX_KINDS)}")
    size = _check_size(size)
    if isinstance(sigma, bool) or not isinstance(sigma, numbers.Real) or not math.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma must be a positive finite number, got {sigma!r}")
    G = np.random.default_rng(seed).standard_normal((size, size))
    if kind == "orthogonal-scaled":
        Q, R = np.linalg.qr(G)
        return sigma * Q * np.sign(np.diag(R))  # sign fix: Q is Haar-distributed
    return sigma * G / np.linalg.norm(G, 2)


def trajectory(W, x1, depth: int) -> np.ndarray:
    """The states x_1, ..., x_n as the rows of an (n, d) array."""
    W, x = _check_state(W, x1)
    depth = _check_depth(depth)
    xs = np.empty((depth, x.size))
    xs[0] = x
    for t in range(1, depth):
        xs[t] = np.tanh(W @ xs[t - 1])
    return xs


def step_jacobian(W, x) -> np.ndarray:
    """d x_{t+1} / d x_t = diag(tanh'(W x_t)) W: tanh' at the pre-activation, not at x_t."""
    W, x = _check_state(W, x)
    return phi_prime("tanh", W @ x)[:, None] * W


def jacobian_product(W, x1, depth: int) -> np.ndarray:
    """d x_n / d x_1 by the chain rule, D_{n-1} W ... D_1 W (the identity for n = 1).

    Underflows or overflows in float64 at great depths; see :func:`log10_sigma_path`.
    """
    W, x = _check_state(W, x1)
    depth = _check_depth(depth)
    J = np.eye(x.size)
    for _ in range(depth - 1):
        z = W @ x
        J = (phi_prime("tanh", z)[:, None] * W) @ J
        x = np.tanh(z)
    return J


def finite_difference_jacobian(W, x1, depth: int, digits: int = 30) -> np.ndarray:
    """d x_n / d x_1 by central differences of the composed map, in mpmath arithmetic.

    An independent check of :func:`jacobian_product`: it differentiates nothing. The step is
    10**-digits, so the truncation error (order step**2) is far below float64 rounding; the
    working precision adds the digits that x_n(x_1 + h) - x_n(x_1 - h) loses when the Jacobian
    is tiny (its size is estimated from the bound sigma_max(W)**(n-1)).
    """
    W, x = _check_state(W, x1)
    depth = _check_depth(depth)
    s = float(np.linalg.norm(W, 2))
    lost = max(0.0, -(depth - 1) * math.log10(s)) if s > 0 else 0.0
    lost = min(lost, 400.0)
    d = x.size
    with mpmath.workdps(int(2 * digits + lost + 20)):
        Wm = mpmath.matrix(W.tolist())

        def run(v):
            for _ in range(depth - 1):
                v = (Wm * v).apply(mpmath.tanh)
            return v

        h = mpmath.mpf(10) ** (-digits)
        out = np.empty((d, d))
        for j in range(d):
            e = mpmath.matrix(d, 1)
            e[j] = h
            base = mpmath.matrix(x.tolist())
            diff = (run(base + e) - run(base - e)) / (2 * h)
            out[:, j] = [float(diff[i]) for i in range(d)]
    return out


def sigma_max(A) -> float:
    """The largest singular value (spectral norm) of a matrix."""
    A = np.asarray(A, dtype=float)
    if A.ndim != 2 or A.size == 0 or not np.all(np.isfinite(A)):
        raise ValueError(f"sigma_max needs a non-empty finite 2-D array, got shape {A.shape}")
    return float(np.linalg.norm(A, 2))


def log10_sigma_path(W, x1, depth: int) -> dict:
    """log10 of the actual sigma_max(d x_t / d x_1) and of both bounds, for t = 1..n.

    Keys: ``t``; ``actual`` (log10 sigma_max(J_t)); ``step_bound`` (the sum over steps of
    log10 sigma_max(D_s) + log10 sigma_max(W), the theorem's middle term); ``power_bound``
    ((t - 1) log10 sigma_max(W)). The product is renormalised after each step and the scale
    kept as a logarithm, so depth 10**4 works where the float64 product under/overflows.
    See the chapter's section "Great depths".
    """
    W, x = _check_state(W, x1)
    depth = _check_depth(depth)
    log_s = math.log10(sigma_max(W)) if sigma_max(W) > 0 else -math.inf
    actual = np.zeros(depth)
    step = np.zeros(depth)
    M, scale, acc = np.eye(x.size), 0.0, 0.0
    for t in range(1, depth):
        z = W @ x
        M = (phi_prime("tanh", z)[:, None] * W) @ M
        c = float(np.max(np.abs(M)))
        if c == 0.0:  # only if W = 0: the Jacobian is exactly zero from here on
            actual[t:], step[t:] = -math.inf, -math.inf
            break
        M = M / c
        scale += math.log10(c)
        actual[t] = scale + math.log10(np.linalg.norm(M, 2))
        acc += float(np.max(log10_phi_prime("tanh", z))) + log_s  # sigma_max(D) = max_i tanh'(z_i)
        step[t] = acc
        x = np.tanh(z)
    t_axis = np.arange(1, depth + 1, dtype=float)
    return {"t": t_axis, "actual": actual, "step_bound": step, "power_bound": (t_axis - 1) * log_s}


# ---------------------------------------------------------------------------------------
# The interactive figure.
# ---------------------------------------------------------------------------------------

FIGURE_SIZE = 8
FIGURE_SEED = 12
FIGURE_MAX_DEPTH = 50


def figure_input(scale: str, size: int = FIGURE_SIZE) -> np.ndarray:
    """The figure's x_1: a fixed random direction of length 1e-6 ("small") or 3 sqrt(d) ("large")."""
    if scale not in INPUT_SCALES:
        raise ValueError(f"unknown input scale {scale!r}; choose one of {', '.join(INPUT_SCALES)}")
    u = np.random.default_rng(FIGURE_SEED + 1).standard_normal(size)
    u /= np.linalg.norm(u)
    return u * (1e-6 if scale == "small" else 3.0 * math.sqrt(size))


@functools.lru_cache(maxsize=None)
def _figure_path(sigma: float, kind: str, scale: str) -> dict:
    W = scaled_matrix(kind, sigma, FIGURE_SIZE, seed=FIGURE_SEED)
    return log10_sigma_path(W, figure_input(scale), FIGURE_MAX_DEPTH)


def figure_data(sigma: float, depth: int, kind: str, scale: str) -> dict:
    """The figure's numbers: :func:`log10_sigma_path` for the figure's W and x_1, steps 1..depth."""
    depth = _check_depth(depth)
    if depth > FIGURE_MAX_DEPTH:
        raise ValueError(f"depth must be at most {FIGURE_MAX_DEPTH} for the figure, got {depth}")
    path = _figure_path(float(sigma), kind, scale)
    return {k: v[:depth].copy() for k, v in path.items()}


def plot_figure(fig, data, sigma, depth, kind, scale):
    """Matplotlib view: log10 sigma_max(d x_t / d x_1) against t, with both bounds."""
    ax = fig.subplots()
    ax.plot(data["t"], data["actual"], color="C0", marker=".", label="actual σ_max(∂x_t/∂x_1)")
    ax.plot(data["t"], data["step_bound"], color="C2", ls=":", label="Π σ_max(D_s) σ_max(W)")
    ax.plot(data["t"], data["power_bound"], color="C3", ls="--", label="σ_max(W)^(t-1)")
    ax.set_xlabel("step t")
    ax.set_ylabel("log10 σ_max")
    ax.set_title(f"{kind} W, σ_max(W) = {sigma}, {scale} x_1")
    ax.legend(loc="best", fontsize="small")


def chart_figure(source, params):
    """Vega-Lite view of the same three curves (folded into one long table for the legend)."""
    import altair as alt

    names = {"actual": "actual", "step_bound": "per-step bound", "power_bound": "σ_max(W)^(t-1)"}
    return (source.transform_fold(list(names), as_=["curve", "log10"])
            .transform_calculate(curve=" : ".join(
                [f"datum.curve == '{k}' ? '{v}'" for k, v in list(names.items())[:-1]]
                + [f"'{list(names.values())[-1]}'"]))
            .mark_line(point=True)
            .encode(x=alt.X("t:Q", title="step t"),
                    y=alt.Y("log10:Q", title="log10 σ_max"),
                    color=alt.Color("curve:N", scale=alt.Scale(domain=list(names.values()),
                                                               range=["#1f77b4", "#2ca02c", "#d62728"])),
                    strokeDash=alt.StrokeDash("curve:N", legend=None))
            .properties(width=420, height=260))


def explorer():
    """The chapter's interactive figure: sigma_max(W), depth, the kind of W and the input size."""
    from .explore import Choice, Explorer, Slider

    return Explorer(
        name="rnn-jacobian",
        controls=[Slider("sigma", 0.25, 2.0, 0.25, value=1.5, label="σ_max(W)"),
                  Slider("depth", 5, FIGURE_MAX_DEPTH, 5, value=30, label="depth n"),
                  Choice("kind", list(MATRIX_KINDS), value="random", label="W"),
                  Choice("scale", list(INPUT_SCALES), value="small", label="input x_1")],
        compute=figure_data, plot=plot_figure, chart=chart_figure, width=7.5, height=4.0,
    )
