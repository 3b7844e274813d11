"""SGD with momentum: one step, its exact inverse, the Jacobian of a step, exact reversal.

Chapter "Reversing SGD with momentum" (``book/momentum.md``). The update is

    p     <- beta p - alpha grad J(theta)
    theta <- theta + p            (the new p is used)

on the state ``(theta, p)`` with ``theta, p`` in R^D. It is invertible for ``beta != 0``:

    theta <- theta - p
    p     <- (p + alpha grad J(theta)) / beta     (the recovered theta is used)

and the Jacobian of one step has determinant ``beta**D`` whatever the loss. The module
holds the step and its inverse in float64, the symbolic Jacobian, numeric tools that
measure how fast a float64 reversal loses the trajectory, :class:`ExactMomentum` (the
fixed-point reversal of Maclaurin, Duvenaud & Adams 2015, which loses nothing), and the
chapter's interactive figure.
"""

from __future__ import annotations

import math
import numbers
from fractions import Fraction
from typing import Callable, NamedTuple

import numpy as np
import sympy as sp

from . import activations

__all__ = [
    "step", "reverse_step", "trajectory", "reverse_trajectory", "reversal_errors",
    "symbolic_step", "symbolic_jacobian", "block_jacobian", "symmetric_hessian", "polynomial_det",
    "jacobian", "reverse_jacobian", "jacobian_fd", "determinant", "bits_lost_per_step",
    "growth_band", "reverse_spectral_radius", "reverse_amplification", "fit_growth_rate",
    "Problem", "quadratic", "logistic_regression", "exact_multiply", "exact_divide", "ExactMomentum",
    "FIGURE_EIGENVALUES", "figure_problem", "figure_data", "plot_figure", "chart_figure", "explorer",
]

_LOG10_2 = math.log10(2.0)


# ---------------------------------------------------------------------------------------
# Input checks (bad input raises ValueError saying what was wrong and what is allowed).
# ---------------------------------------------------------------------------------------

def _check_real(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ValueError(f"{what} must be a finite real number, got {value!r}")
    return float(value)


def _check_alpha(alpha) -> float:
    alpha = _check_real(alpha, "alpha (the learning rate)")
    if alpha < 0:
        raise ValueError(f"alpha (the learning rate) must be >= 0, got {alpha}")
    return alpha


def _check_beta(beta, reversible: bool) -> float:
    beta = _check_real(beta, "beta (the momentum coefficient)")
    if reversible and not 0.0 < beta <= 1.0:
        raise ValueError(f"beta must be in (0, 1] for the step to be reversible (the reverse step divides "
                         f"by beta), got {beta}")
    if not reversible and not 0.0 <= beta <= 1.0:
        raise ValueError(f"beta (the momentum coefficient) must be in [0, 1], got {beta}")
    return beta


def _check_state(theta, p) -> tuple[np.ndarray, np.ndarray]:
    out = []
    for name, v in (("theta", theta), ("p", p)):
        arr = np.asarray(v)
        if arr.dtype.kind not in "fiu" or arr.dtype == bool:
            raise ValueError(f"{name} must be a 1-D array of real floats, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"{name} must be a non-empty 1-D array, got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must hold finite numbers only")
        out.append(arr)
    if out[0].shape != out[1].shape:
        raise ValueError(f"theta and p must have the same length, got {out[0].shape} and {out[1].shape}")
    return out[0], out[1]


def _check_grad(grad) -> Callable:
    if not callable(grad):
        raise ValueError(f"grad must be a callable returning grad J(theta), got {type(grad).__name__}")
    return grad


def _check_steps(steps) -> int:
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    return int(steps)


def _grad_at(grad, theta: np.ndarray) -> np.ndarray:
    g = np.asarray(grad(theta), dtype=np.float64)
    if g.shape != theta.shape:
        raise ValueError(f"grad(theta) must return an array of shape {theta.shape}, got {g.shape}")
    return g


# ---------------------------------------------------------------------------------------
# The step and its inverse in float64 (section "The reverse step").
# ---------------------------------------------------------------------------------------

def _step(theta, p, grad, alpha, beta):
    p_new = beta * p - alpha * grad(theta)
    return theta + p_new, p_new


def _reverse(theta, p, grad, alpha, beta):
    theta_old = theta - p
    return theta_old, (p + alpha * grad(theta_old)) / beta


def step(theta, p, grad, alpha, beta):
    """One step of SGD with momentum: ``p <- beta p - alpha grad(theta)``, then ``theta <- theta + p``.

    ``theta`` and ``p`` are 1-D float arrays of equal length, ``grad`` a callable returning
    grad J at a point, ``alpha >= 0`` and ``beta`` in [0, 1] (``beta = 0`` is plain SGD, which
    cannot be reversed). Returns the new ``(theta, p)``; the inputs are not modified.
    See the chapter 'Reversing SGD with momentum', section 'The forward step'.
    """
    theta, p = _check_state(theta, p)
    alpha, beta = _check_alpha(alpha), _check_beta(beta, reversible=False)
    grad = _check_grad(grad)
    p_new = beta * p - alpha * _grad_at(grad, theta)
    return theta + p_new, p_new


def reverse_step(theta, p, grad, alpha, beta):
    """The exact inverse of :func:`step`: ``theta <- theta - p``, then ``p <- (p + alpha grad(theta)) / beta``.

    The gradient is taken at the *recovered* theta, which is why theta must be undone
    first. ``beta`` must be in (0, 1]: the step divides by it. Returns the previous
    ``(theta, p)``. In exact arithmetic ``reverse_step(*step(s))`` is ``s``; in float64 it
    is ``s`` up to rounding, which later reverse steps amplify (see :func:`reversal_errors`).
    See the chapter 'Reversing SGD with momentum', section 'The reverse step'.
    """
    theta, p = _check_state(theta, p)
    alpha, beta = _check_alpha(alpha), _check_beta(beta, reversible=True)
    grad = _check_grad(grad)
    theta_old = theta - p
    return theta_old, (p + alpha * _grad_at(grad, theta_old)) / beta


def trajectory(theta0, p0, grad, alpha, beta, steps: int):
    """``steps`` forward steps from ``(theta0, p0)``: arrays ``thetas, ps`` of shape (steps + 1, D).

    Row k is the state after k steps. See section 'Reversing in floating point'.
    """
    theta, p = _check_state(theta0, p0)
    alpha, beta, steps = _check_alpha(alpha), _check_beta(beta, reversible=False), _check_steps(steps)
    grad = _check_grad(grad)
    _grad_at(grad, theta)  # check the gradient's shape once
    return _trajectory(theta, p, grad, alpha, beta, steps)


def _trajectory(theta, p, grad, alpha, beta, steps):
    thetas = np.empty((steps + 1, theta.size))
    ps = np.empty_like(thetas)
    thetas[0], ps[0] = theta, p
    for k in range(steps):
        theta, p = _step(theta, p, grad, alpha, beta)
        thetas[k + 1], ps[k + 1] = theta, p
    return thetas, ps


def reverse_trajectory(theta_end, p_end, grad, alpha, beta, steps: int):
    """``steps`` float64 reverse steps from the final state: arrays of shape (steps + 1, D).

    Row k is the reconstruction of the state after k forward steps, so row ``steps`` is the
    input and row 0 the reconstructed start. A float64 reversal amplifies its rounding
    errors geometrically; once it has lost the trajectory its values may overflow to
    ``inf`` (no warning is raised: that is the phenomenon being measured).
    See section 'Reversing in floating point'.
    """
    theta, p = _check_state(theta_end, p_end)
    alpha, beta, steps = _check_alpha(alpha), _check_beta(beta, reversible=True), _check_steps(steps)
    grad = _check_grad(grad)
    _grad_at(grad, theta)
    return _reverse_trajectory(theta, p, grad, alpha, beta, steps)


def _reverse_trajectory(theta, p, grad, alpha, beta, steps):
    thetas = np.empty((steps + 1, theta.size))
    ps = np.empty_like(thetas)
    thetas[steps], ps[steps] = theta, p
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(steps, 0, -1):
            theta, p = _reverse(theta, p, grad, alpha, beta)
            thetas[k - 1], ps[k - 1] = theta, p
    return thetas, ps


def reversal_errors(theta0, p0, grad, alpha, beta, steps: int) -> np.ndarray:
    """Run ``steps`` float64 steps forward, then reverse them in float64; return the errors.

    Entry j (j = 0..steps) is the largest absolute error over all 2D coordinates of the
    state reconstructed after j reverse steps, compared with the forward trajectory at
    the same step (``steps - j``). Entry 0 is 0 by construction. Non-finite
    reconstructions give ``inf``. See section 'Reversing in floating point'.
    """
    _check_beta(beta, reversible=True)
    thetas, ps = trajectory(theta0, p0, grad, alpha, beta, steps)
    rt, rp = _reverse_trajectory(thetas[-1], ps[-1], grad, float(alpha), float(beta), int(steps))
    with np.errstate(over="ignore", invalid="ignore"):
        err = np.maximum(np.abs(rt - thetas).max(axis=1), np.abs(rp - ps).max(axis=1))
    err = np.where(np.isfinite(err), err, np.inf)
    return err[::-1].copy()


# ---------------------------------------------------------------------------------------
# Symbolic: the step for a general loss, its Jacobian and determinant (section "The Jacobian").
# ---------------------------------------------------------------------------------------

alpha_s, beta_s = sp.symbols("alpha beta", positive=True)


def symbolic_step(D: int, loss=None):
    """The forward step for a general differentiable loss ``J(theta_1, ..., theta_D)``.

    Returns ``(theta, p, theta_new, p_new, J)`` with ``theta, p`` tuples of symbols,
    ``theta_new, p_new`` SymPy column matrices and ``J`` the loss (an undefined function
    unless ``loss`` is given). See section 'The Jacobian of one step'.
    """
    D = _check_dimension(D)
    theta = sp.symbols(f"theta_1:{D + 1}", real=True)
    p = sp.symbols(f"p_1:{D + 1}", real=True)
    J = sp.Function("J")(*theta) if loss is None else loss(*theta)
    grad = sp.Matrix([sp.diff(J, t) for t in theta])
    p_new = beta_s * sp.Matrix(p) - alpha_s * grad
    theta_new = sp.Matrix(theta) + p_new
    return theta, p, theta_new, p_new, J


def symbolic_jacobian(D: int) -> tuple[sp.Matrix, sp.Matrix]:
    """The 2D x 2D Jacobian of one step with respect to ``(theta, p)``, and the Hessian of J.

    Rows are ordered ``(theta_new, p_new)``, columns ``(theta, p)``. The loss is an
    undefined function, so the result holds for every twice-differentiable J.
    See section 'The Jacobian of one step'.
    """
    theta, p, theta_new, p_new, J = symbolic_step(D)
    F = sp.Matrix.vstack(theta_new, p_new)
    return F.jacobian(sp.Matrix([*theta, *p])), sp.hessian(J, theta)


def symmetric_hessian(D: int) -> sp.Matrix:
    """A D x D symmetric matrix of independent symbols ``h_ij = h_ji`` (i <= j)."""
    D = _check_dimension(D)
    return sp.Matrix(D, D, lambda i, j: sp.Symbol(f"h_{min(i, j) + 1}{max(i, j) + 1}", real=True))


def block_jacobian(H: sp.Matrix, alpha=alpha_s, beta=beta_s) -> sp.Matrix:
    """The block form ``[[I - alpha H, beta I], [-alpha H, beta I]]`` of the step's Jacobian.

    See equation (eq-jacobian) of the chapter.
    """
    D = H.shape[0]
    I = sp.eye(D)
    return sp.BlockMatrix([[I - alpha * H, beta * I], [-alpha * H, beta * I]]).as_explicit()


def polynomial_det(M: sp.Matrix) -> sp.Expr:
    """Exact determinant of a matrix with polynomial entries, by fraction-free elimination.

    SymPy's ``Matrix.det`` takes minutes on the 8 x 8 Jacobian for D = 4 with symbolic
    Hessian; the same determinant over the polynomial ring ``ZZ[alpha, beta, h_ij]``
    (``DomainMatrix``) takes milliseconds and is equally exact.
    """
    from sympy.polys.matrices import DomainMatrix

    dm = DomainMatrix.from_Matrix(sp.Matrix(M))
    return dm.domain.to_sympy(dm.det())


def _check_dimension(D) -> int:
    if isinstance(D, bool) or not isinstance(D, numbers.Integral) or not 1 <= D <= 50:
        raise ValueError(f"the dimension D must be an integer in 1..50, got {D!r}")
    return int(D)


# ---------------------------------------------------------------------------------------
# Numeric Jacobians and what the determinant implies.
# ---------------------------------------------------------------------------------------

def jacobian(H, alpha, beta) -> np.ndarray:
    """The Jacobian of one step, ``[[I - alpha H, beta I], [-alpha H, beta I]]``, for a Hessian H.

    H is the Hessian of J at the theta the step starts from. See section 'The Jacobian of one step'.
    """
    H = _check_hessian(H)
    alpha, beta = _check_alpha(alpha), _check_beta(beta, reversible=False)
    I = np.eye(H.shape[0])
    return np.block([[I - alpha * H, beta * I], [-alpha * H, beta * I]])


def reverse_jacobian(H, alpha, beta) -> np.ndarray:
    """The Jacobian of one reverse step, ``[[I, -I], [alpha H / beta, (I - alpha H) / beta]]``.

    H is the Hessian at the *recovered* theta (the point the forward step started from);
    this matrix is the inverse of :func:`jacobian` at the same H. See section
    'Reversing in floating point'.
    """
    H = _check_hessian(H)
    alpha, beta = _check_alpha(alpha), _check_beta(beta, reversible=True)
    I = np.eye(H.shape[0])
    return np.block([[I, -I], [alpha * H / beta, (I - alpha * H) / beta]])


def _check_hessian(H) -> np.ndarray:
    H = np.asarray(H, dtype=np.float64)
    if H.ndim != 2 or H.shape[0] != H.shape[1] or H.shape[0] == 0:
        raise ValueError(f"H must be a square non-empty matrix, got shape {H.shape}")
    if not np.all(np.isfinite(H)):
        raise ValueError("H must hold finite numbers only")
    return H


def jacobian_fd(theta, p, grad, alpha, beta, rel_step: float = 6e-6) -> np.ndarray:
    """Central-difference Jacobian of :func:`step` at ``(theta, p)`` (2D x 2D, rows ``(theta', p')``).

    Coordinate i is moved by ``h_i = rel_step * max(1, |x_i|)``; the default is near the cube
    root of machine epsilon, which balances truncation (O(h^2)) against rounding (O(eps/h)).
    See section 'The Jacobian of one step'.
    """
    theta, p = _check_state(theta, p)
    alpha, beta = _check_alpha(alpha), _check_beta(beta, reversible=False)
    grad = _check_grad(grad)
    rel_step = _check_real(rel_step, "rel_step")
    if rel_step <= 0:
        raise ValueError(f"rel_step must be positive, got {rel_step}")
    D = theta.size
    x = np.concatenate([theta, p])
    out = np.empty((2 * D, 2 * D))

    def f(z):
        t, q = step(z[:D], z[D:], grad, alpha, beta)
        return np.concatenate([t, q])

    for i in range(2 * D):
        h = rel_step * max(1.0, abs(x[i]))
        e = np.zeros(2 * D)
        e[i] = h
        out[:, i] = (f(x + e) - f(x - e)) / (2 * h)
    return out


def determinant(beta, D: int) -> float:
    """The Jacobian determinant of one step, ``beta**D``, independent of the loss and of alpha.

    See the theorem 'Determinant of one step' in the chapter.
    """
    beta = _check_beta(beta, reversible=False)
    return beta ** _check_dimension(D)


def bits_lost_per_step(beta) -> float:
    """Information the step destroys, ``-log2(beta)`` bits per parameter per step.

    A step maps a volume V of states to ``beta**D V``, so ``-D log2(beta)`` bits of the
    state are lost per step. This is also the rate at which :class:`ExactMomentum`'s buffer
    grows. See section 'What the determinant means'.
    """
    beta = _check_beta(beta, reversible=True)
    return -math.log2(beta) + 0.0


def growth_band(beta) -> tuple[float, float]:
    """``(beta**-0.5, beta**-1)``: the range of the per-step error growth of a float reversal.

    The lower end holds for every loss (the determinant forces the largest singular value
    of k reverse steps to be at least ``beta**(-k/2)``); the upper end holds on a quadratic
    with stable step size. See the theorem 'Error growth of the reversal'.
    """
    beta = _check_beta(beta, reversible=True)
    return beta ** -0.5, 1.0 / beta


def reverse_spectral_radius(eigenvalues, alpha, beta) -> float:
    """Spectral radius of the reverse step on a quadratic with the given Hessian eigenvalues.

    On ``J = (theta - theta*)' A (theta - theta*) / 2`` each eigen-direction of A (eigenvalue
    lam) is an independent 2 x 2 linear map with characteristic polynomial
    ``mu^2 - (1 + beta - alpha lam) mu + beta``; the reverse step has eigenvalues ``1/mu``.
    This is the asymptotic growth factor per step of a float reversal's error.
    See the theorem 'Error growth of the reversal'.
    """
    alpha, beta = _check_alpha(alpha), _check_beta(beta, reversible=True)
    lam = np.atleast_1d(np.asarray(eigenvalues, dtype=np.float64))
    if lam.ndim != 1 or lam.size == 0 or not np.all(np.isfinite(lam)):
        raise ValueError("eigenvalues must be a non-empty 1-D array of finite numbers")
    worst = 0.0
    for lm in lam:
        mu = np.roots([1.0, -(1.0 + beta - alpha * lm), beta])
        worst = max(worst, float(np.max(1.0 / np.abs(mu))))
    return worst


def reverse_amplification(thetas, hessian, alpha, beta) -> np.ndarray:
    """log10 of the largest singular value of the product of j reverse Jacobians, j = 0..K.

    ``thetas`` is a forward trajectory (K + 1 rows); reverse step j (from state K - j + 1 to
    K - j) has the Jacobian :func:`reverse_jacobian` at ``H = hessian(thetas[K - j])``. The
    product is renormalised every step so it never overflows. This is how much a rounding
    error made at the start of the reversal is amplified after j reverse steps; its slope
    is the reversal's (finite-time) top Lyapunov exponent. See section 'Reversing in
    floating point'.
    """
    thetas = np.asarray(thetas, dtype=np.float64)
    if thetas.ndim != 2 or thetas.shape[0] < 1:
        raise ValueError(f"thetas must be a (K + 1, D) array, got shape {thetas.shape}")
    alpha, beta = _check_alpha(alpha), _check_beta(beta, reversible=True)
    K, D = thetas.shape[0] - 1, thetas.shape[1]
    P = np.eye(2 * D)
    log_scale = 0.0
    out = np.zeros(K + 1)
    for j in range(1, K + 1):
        P = reverse_jacobian(hessian(thetas[K - j]), alpha, beta) @ P
        s = np.linalg.norm(P, 2)
        P /= s
        log_scale += math.log10(s)
        out[j] = log_scale
    return out


def fit_growth_rate(errors, lo: float = 1e-12, hi: float = 1e-3) -> float:
    """Least-squares slope of log10(error) against j where ``lo <= error <= hi``: log10 growth per step.

    The window excludes the first steps (errors of a few ulps, often exactly 0) and the
    saturated tail, where the reconstruction has lost the trajectory. Raises ValueError
    when fewer than 10 errors fall in the window.
    """
    errors = np.asarray(errors, dtype=np.float64)
    j = np.arange(errors.size)
    keep = (errors >= lo) & (errors <= hi)
    if keep.sum() < 10:
        raise ValueError(f"fewer than 10 errors lie in [{lo}, {hi}]; run more steps or widen the window")
    return float(np.polyfit(j[keep], np.log10(errors[keep]), 1)[0])


# ---------------------------------------------------------------------------------------
# Test problems: a quadratic and logistic regression on a small seeded synthetic set.
# ---------------------------------------------------------------------------------------

class Problem(NamedTuple):
    """A loss with its gradient and Hessian (callables of theta), and a minimiser if known."""

    loss: Callable
    grad: Callable
    hessian: Callable
    theta_star: np.ndarray | None


def quadratic(A, theta_star) -> Problem:
    """``J(theta) = (theta - theta*)' A (theta - theta*) / 2`` for a symmetric positive semi-definite A."""
    A = _check_hessian(A)
    if not np.allclose(A, A.T, rtol=0, atol=1e-14 * max(1.0, np.abs(A).max())):
        raise ValueError("A must be symmetric")
    if np.linalg.eigvalsh(A).min() < -1e-12 * max(1.0, np.abs(A).max()):
        raise ValueError("A must be positive semi-definite")
    ts = np.asarray(theta_star, dtype=np.float64)
    if ts.shape != (A.shape[0],) or not np.all(np.isfinite(ts)):
        raise ValueError(f"theta_star must be a finite vector of length {A.shape[0]}")
    A, ts = A.copy(), ts.copy()
    # Products as elementwise sums, not BLAS: the same bits on every machine, so the float
    # reversal (which amplifies the last bit) and the figure's table are reproducible.
    return Problem(loss=lambda t: 0.5 * float(((A * (t - ts)).sum(axis=1) * (t - ts)).sum()),
                   grad=lambda t: (A * (t - ts)).sum(axis=1),
                   hessian=lambda t: A,
                   theta_star=ts)


def logistic_regression(n_samples: int = 80, n_features: int = 2, seed: int = 0) -> Problem:
    """Mean logistic loss on a seeded synthetic set; theta = (weights, bias), D = n_features + 1.

    Inputs are standard normal, labels are drawn from the logistic model with weights
    ``(1.5, -1.0, 0.5, ...)`` and bias 0.3, so the classes overlap and the minimiser is
    finite. ``J(theta) = mean(log(1 + exp(x'theta)) - y x'theta)``; its Hessian is
    ``X' diag(s (1 - s)) X / n`` with ``s = sigmoid(X theta)``.
    """
    for name, v in (("n_samples", n_samples), ("n_features", n_features), ("seed", seed)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < (0 if name == "seed" else 1):
            raise ValueError(f"{name} must be a {'non-negative' if name == 'seed' else 'positive'} integer, got {v!r}")
    rng = np.random.default_rng(seed)
    X = np.hstack([rng.standard_normal((n_samples, n_features)), np.ones((n_samples, 1))])
    w = np.concatenate([np.resize([1.5, -1.0, 0.5], n_features), [0.3]])
    y = (rng.random(n_samples) < 1.0 / (1.0 + np.exp(-X @ w))).astype(np.float64)
    n = float(n_samples)

    def lin(t):  # X theta as elementwise sums (no BLAS: reproducible bits, see quadratic)
        return (X * t).sum(axis=1)

    return Problem(loss=lambda t: float(np.mean(np.logaddexp(0.0, lin(t)) - y * lin(t))),
                   grad=lambda t: (X * (activations.phi("sigmoid", lin(t)) - y)[:, None]).sum(axis=0) / n,
                   hessian=lambda t: (X.T * activations.phi_prime("sigmoid", lin(t))) @ X / n,
                   theta_star=None)


# ---------------------------------------------------------------------------------------
# Exact reversal on fixed-point integers (section "Exact reversal").
# ---------------------------------------------------------------------------------------

def exact_multiply(x: int, buffer: int, n: int, d: int) -> tuple[int, int]:
    """Multiply the integer x by n/d without losing information: returns ``(x', buffer')``.

    ``buffer <- buffer d + (x mod d)`` keeps the remainder that dividing by d would drop;
    ``x' = (x // d) n + (buffer mod n)`` and ``buffer' = buffer // n`` refill x's low digit
    from the buffer. Each line is a bijection of the integers, undone by
    :func:`exact_divide`. Python's ``//`` and ``%`` floor, so negative x work too.
    See the chapter 'Reversing SGD with momentum', section 'Exact reversal'.
    """
    _check_fraction(n, d, buffer)
    buffer = buffer * d + x % d
    x = (x // d) * n + buffer % n
    return x, buffer // n


def exact_divide(x: int, buffer: int, n: int, d: int) -> tuple[int, int]:
    """The exact inverse of :func:`exact_multiply`: multiply x by d/n, restoring the buffer."""
    _check_fraction(n, d, buffer)
    buffer = buffer * n + x % n
    x = (x // n) * d + buffer % d
    return x, buffer // d


def _check_fraction(n, d, buffer) -> None:
    for name, v in (("n", n), ("d", d)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if isinstance(buffer, bool) or not isinstance(buffer, numbers.Integral) or buffer < 0:
        raise ValueError(f"the buffer must be a non-negative integer, got {buffer!r}")


class ExactMomentum:
    """SGD with momentum on fixed-point integers, reversible bit for bit.

    The method of Maclaurin, Duvenaud & Adams (2015, "Gradient-based hyperparameter
    optimization through reversible learning"). theta and p are stored as Python integers
    in units of ``2**-frac_bits``; beta is the fraction ``n/d`` (the closest with
    denominator at most ``max_denominator``). Multiplying p by n/d would discard the
    remainder ``p mod d``; instead it is pushed onto ``buffer``, a single Python integer
    used as a stack of mixed-radix digits (``buffer <- buffer * d + (p mod d)``), and the
    product is refilled with a digit popped in base n (``p <- (p // d) * n + buffer mod n``,
    ``buffer <- buffer // n``). Every operation is then a bijection on integers, so
    :meth:`reverse` undoes :meth:`step` exactly, and the buffer grows by ``log2(d / n) =
    -log2(beta)`` bits per parameter per step: exactly the information the step destroys
    (:func:`bits_lost_per_step`). The gradient term ``alpha grad J(theta)`` is computed in
    float64 from the decoded theta and rounded to the grid; it is recomputed from the same
    integers on the way back, so its rounding is undone too.
    See the chapter 'Reversing SGD with momentum', section 'Exact reversal'.
    """

    def __init__(self, theta, p, grad, alpha, beta, frac_bits: int = 40, max_denominator: int = 1000):
        theta, p = _check_state(theta, p)
        self.grad = _check_grad(grad)
        self.alpha = _check_alpha(alpha)
        if isinstance(frac_bits, bool) or not isinstance(frac_bits, numbers.Integral) or not 1 <= frac_bits <= 200:
            raise ValueError(f"frac_bits must be an integer in 1..200, got {frac_bits!r}")
        if isinstance(max_denominator, bool) or not isinstance(max_denominator, numbers.Integral) \
                or max_denominator < 1:
            raise ValueError(f"max_denominator must be a positive integer, got {max_denominator!r}")
        if isinstance(beta, Fraction):
            frac = beta
        else:
            frac = Fraction(_check_real(beta, "beta (the momentum coefficient)")).limit_denominator(int(max_denominator))
        if not 0 < frac <= 1:
            raise ValueError(f"beta must be in (0, 1] for exact reversal, got {beta!r} (as a fraction {frac})")
        _grad_at(self.grad, theta)
        #: beta as the exact fraction n/d that the integer arithmetic uses.
        self.beta = frac
        self.frac_bits = int(frac_bits)
        self.theta = [self._encode(v) for v in theta]
        self.p = [self._encode(v) for v in p]
        #: The information buffer: one non-negative Python integer (a stack of digits).
        self.buffer = 0
        #: Net number of forward steps taken (forward steps minus reverse steps).
        self.steps = 0

    # fixed point <-> float
    def _encode(self, x: float) -> int:
        return int(round(math.ldexp(float(x), self.frac_bits)))

    def _decode(self, xs) -> np.ndarray:
        return np.array([math.ldexp(float(v), -self.frac_bits) for v in xs])

    @property
    def D(self) -> int:
        """The number of parameters."""
        return len(self.theta)

    def state(self) -> tuple:
        """The whole integer state ``(theta, p, buffer)``: equal states are equal bit for bit."""
        return tuple(self.theta), tuple(self.p), self.buffer

    def theta_float(self) -> np.ndarray:
        """theta decoded to float64."""
        return self._decode(self.theta)

    def p_float(self) -> np.ndarray:
        """p decoded to float64."""
        return self._decode(self.p)

    def buffer_bits(self) -> int:
        """The size of the information buffer in bits."""
        return self.buffer.bit_length()

    def _gradient_term(self) -> list[int]:
        g = self.alpha * _grad_at(self.grad, self._decode(self.theta))
        if not np.all(np.isfinite(g)):
            raise ValueError("alpha * grad J(theta) is not finite; exact reversal needs finite gradients")
        return [int(round(math.ldexp(float(v), self.frac_bits))) for v in g]

    def step(self) -> None:
        """One forward step: ``p <- beta p - alpha grad J(theta)``, ``theta <- theta + p``, exactly."""
        n, d = self.beta.numerator, self.beta.denominator
        for i in range(self.D):
            self.p[i], self.buffer = exact_multiply(self.p[i], self.buffer, n, d)
        a = self._gradient_term()
        for i in range(self.D):
            self.p[i] -= a[i]
            self.theta[i] += self.p[i]
        self.steps += 1

    def reverse(self) -> None:
        """One reverse step, the exact inverse of :meth:`step` (operations undone in reverse order)."""
        n, d = self.beta.numerator, self.beta.denominator
        for i in range(self.D):
            self.theta[i] -= self.p[i]
        a = self._gradient_term()
        for i in reversed(range(self.D)):  # the buffer is a stack: last pushed, first undone
            self.p[i], self.buffer = exact_divide(self.p[i] + a[i], self.buffer, n, d)
        self.steps -= 1

    def run(self, steps: int) -> None:
        """``steps`` forward steps."""
        for _ in range(_check_steps(steps)):
            self.step()

    def unrun(self, steps: int) -> None:
        """``steps`` reverse steps."""
        for _ in range(_check_steps(steps)):
            self.reverse()

    def buffer_rate(self) -> float:
        """Measured buffer growth in bits per parameter per step (net steps must be positive)."""
        if self.steps <= 0:
            raise ValueError("buffer_rate needs a positive number of net forward steps")
        return self.buffer_bits() / (self.D * self.steps)


# ---------------------------------------------------------------------------------------
# The interactive figure: a 2-D quadratic, forward / float reversal / exact reversal.
# ---------------------------------------------------------------------------------------

#: Hessian eigenvalues of the figure's quadratic: one stiff direction, one nearly flat.
FIGURE_EIGENVALUES = (1.0, 0.01)
FIGURE_THETA0 = (-1.5, 1.0)
FIGURE_THETA_STAR = (1.0, -0.5)
FIGURE_ROWS = 201
FIGURE_BOX = (-2.0, 4.0, -4.0, 3.0)       # x-min, x-max, y-min, y-max of the trajectory panel
FIGURE_LOG10_RANGE = (-18.0, 4.0)         # y range of the error panel
FIGURE_LOG10_ZERO = -18.0                 # where an error of exactly 0 is drawn
_EPS = 2.0 ** -52


def figure_problem() -> Problem:
    """The figure's quadratic: eigenvalues :data:`FIGURE_EIGENVALUES`, axes rotated by 30 degrees."""
    c, s = math.cos(math.pi / 6), math.sin(math.pi / 6)
    R = np.array([[c, -s], [s, c]])
    A = R @ np.diag(FIGURE_EIGENVALUES) @ R.T
    return quadratic(0.5 * (A + A.T), FIGURE_THETA_STAR)


def _log10_or_floor(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = np.log10(x)
    return np.where(x == 0, FIGURE_LOG10_ZERO, out)


def figure_data(beta: float, alpha: float, steps: int) -> dict:
    """The figure's numbers at one setting of the controls (sampled at 201 steps k).

    Columns: ``j`` (reverse steps taken, ``steps - k``); ``theta1_fwd, theta2_fwd`` (float64
    forward trajectory); ``theta1_naive, theta2_naive`` (float64 reversal from the final
    state; points outside 4x the plotting box are NaN); ``theta1_exact, theta2_exact``
    (:class:`ExactMomentum` reversal, decoded); ``log10_err_naive, log10_err_exact`` (largest
    coordinate error of each reversal against its own forward run; an error of exactly 0 is
    drawn at -18); ``log10_band_lo, log10_band_hi`` (the growth band of the theorem 'Error
    growth of the reversal': lines of slope ``log10 beta**-0.5`` and ``log10 beta**-1`` from
    the first float error above 100 machine epsilons, NaN before it).
    """
    alpha, beta, steps = _check_alpha(alpha), _check_beta(beta, reversible=True), _check_steps(steps)
    if steps < 1:
        raise ValueError("the figure needs at least one step")
    prob = figure_problem()
    theta0, p0 = np.array(FIGURE_THETA0), np.zeros(2)
    ft, fp = _trajectory(theta0, p0, prob.grad, alpha, beta, steps)
    rt, rp = _reverse_trajectory(ft[-1], fp[-1], prob.grad, alpha, beta, steps)
    with np.errstate(over="ignore", invalid="ignore"):
        err_naive = np.maximum(np.abs(rt - ft).max(axis=1), np.abs(rp - fp).max(axis=1))
    err_naive = np.where(np.isfinite(err_naive), err_naive, np.inf)

    k = np.unique(np.round(np.linspace(0, steps, FIGURE_ROWS)).astype(int))
    rows_k = set(k.tolist())
    exact = ExactMomentum(theta0, p0, prob.grad, alpha, beta)
    fwd_int = {0: exact.state()[:2]}     # the exact forward states at the sampled steps
    for i in range(1, steps + 1):
        exact.step()
        if i in rows_k:
            fwd_int[i] = exact.state()[:2]
    exact_theta = np.full((steps + 1, 2), np.nan)
    err_exact = np.zeros(steps + 1)
    exact_theta[steps] = exact.theta_float()
    for i in range(steps, 0, -1):
        exact.reverse()
        if i - 1 in rows_k:
            th, pp = exact.state()[:2]
            ft_i, fp_i = fwd_int[i - 1]
            exact_theta[i - 1] = exact.theta_float()
            err_exact[i - 1] = math.ldexp(max(abs(a - b) for a, b in zip(th + pp, ft_i + fp_i)), -exact.frac_bits)
    j = steps - k
    bx = FIGURE_BOX
    limit = 4.0 * max(abs(v) for v in bx)
    with np.errstate(invalid="ignore"):
        naive = np.where(np.abs(rt[k]) <= limit, rt[k], np.nan)
    # The growth band starts where the float error first exceeds 100 eps (before that it is
    # a few roundings, often exactly 0) and opens with the slopes of growth_band(beta).
    lo, hi = growth_band(beta)
    above = np.flatnonzero(err_naive[::-1] >= 100 * _EPS)
    j0 = int(above[0]) if above.size else steps + 1
    anchor = math.log10(err_naive[steps - j0]) if above.size else 0.0
    with np.errstate(invalid="ignore"):
        band_lo = np.where(j >= j0, anchor + (j - j0) * math.log10(lo), np.nan)
        band_hi = np.where(j >= j0, anchor + (j - j0) * math.log10(hi), np.nan)
    return {
        "j": j.astype(float),
        "theta1_fwd": ft[k, 0], "theta2_fwd": ft[k, 1],
        "theta1_naive": naive[:, 0], "theta2_naive": naive[:, 1],
        "theta1_exact": exact_theta[k, 0], "theta2_exact": exact_theta[k, 1],
        "log10_err_naive": _log10_or_floor(err_naive[k]),
        "log10_err_exact": _log10_or_floor(err_exact[k]),
        "log10_band_lo": band_lo,
        "log10_band_hi": band_hi,
    }


_SERIES = (("forward (float64)", "fwd", "#1f77b4"), ("float64 reversal", "naive", "#d62728"),
           ("exact reversal", "exact", "#2ca02c"))


def plot_figure(fig, data, beta, alpha, steps):
    """Matplotlib view: left, the trajectories in the theta plane; right, log10 error against j."""
    left, right = fig.subplots(1, 2)
    for label, key, color in _SERIES:
        ls = ":" if key == "exact" else "-"
        lw = 2.5 if key == "exact" else 1.2
        left.plot(data[f"theta1_{key}"], data[f"theta2_{key}"], ls, color=color, lw=lw, label=label)
    left.plot(*FIGURE_THETA0, "ko", ms=4)
    left.plot(*FIGURE_THETA_STAR, "k*", ms=7)
    left.set_xlim(FIGURE_BOX[0], FIGURE_BOX[1])
    left.set_ylim(FIGURE_BOX[2], FIGURE_BOX[3])
    left.set_xlabel("θ₁")
    left.set_ylabel("θ₂")
    left.set_title(f"β = {beta:g}, α = {alpha:g}, {steps} steps")
    left.legend(loc="upper right", fontsize="small")
    right.fill_between(data["j"], data["log10_band_lo"], data["log10_band_hi"], color="0.85",
                       label="growth band β^(-j/2) … β^(-j)")
    right.plot(data["j"], data["log10_err_naive"], color=_SERIES[1][2], label="float64 reversal")
    right.plot(data["j"], data["log10_err_exact"], color=_SERIES[2][2], ls=":", lw=2.5,
               label="exact reversal (0, drawn at -18)")
    right.set_ylim(*FIGURE_LOG10_RANGE)
    right.set_xlabel("reverse steps taken j")
    right.set_ylabel("log10 reconstruction error")
    right.legend(loc="upper left", fontsize="small")


def chart_figure(source, params):
    """Vega-Lite view of the same figure, drawn from the same columns."""
    import altair as alt

    bx = FIGURE_BOX
    xs = alt.Scale(domain=[bx[0], bx[1]])
    ys = alt.Scale(domain=[bx[2], bx[3]])
    colors = alt.Scale(domain=[s[0] for s in _SERIES], range=[s[2] for s in _SERIES])
    paths = []
    for label, key, _ in _SERIES:
        paths.append(
            source.transform_calculate(series=f"'{label}'")
            .mark_line(clip=True, strokeWidth=2.5 if key == "exact" else 1.2,
                       strokeDash=[2, 3] if key == "exact" else [1, 0])
            .encode(x=alt.X(f"theta1_{key}:Q", title="θ₁", scale=xs),
                    y=alt.Y(f"theta2_{key}:Q", title="θ₂", scale=ys),
                    order=alt.Order("j:Q", sort="descending"),
                    color=alt.Color("series:N", scale=colors, title=None,
                                    legend=alt.Legend(orient="bottom", direction="vertical"))))
    left = alt.layer(*paths).properties(width=240, height=220, title="trajectories in the θ plane")
    ly = alt.Scale(domain=list(FIGURE_LOG10_RANGE))
    band = source.mark_area(color="#d9d9d9", clip=True).encode(
        x=alt.X("j:Q", title="reverse steps taken j"),
        y=alt.Y("log10_band_lo:Q", scale=ly, title="log10 reconstruction error"),
        y2="log10_band_hi:Q")
    naive = source.mark_line(color=_SERIES[1][2], clip=True).encode(x="j:Q", y=alt.Y("log10_err_naive:Q", scale=ly))
    exact = source.mark_line(color=_SERIES[2][2], strokeDash=[2, 3], strokeWidth=2.5, clip=True).encode(
        x="j:Q", y=alt.Y("log10_err_exact:Q", scale=ly))
    right = alt.layer(band, naive, exact).properties(
        width=240, height=220, title=["float64 (red), exact (green, 0 at -18)", "and the growth band (grey)"])
    return alt.hconcat(left, right)


def explorer():
    """The chapter's interactive figure: beta, alpha and the number of steps."""
    from .explore import Explorer, Slider

    return Explorer(
        name="momentum-reversal",
        controls=[Slider("beta", 0.6, 1.0, 0.1, value=0.9, label="momentum β"),
                  Slider("alpha", 0.05, 0.15, 0.05, value=0.1, label="learning rate α"),
                  Slider("steps", 200, 800, 200, value=600, label="steps")],
        compute=figure_data, plot=plot_figure, chart=chart_figure,
        width=10.0, height=4.0,
    )
