"""The losses of the momentum chapters: a quadratic, log-cosh, logistic regression.

Each is a :class:`Problem`: the loss, its gradient and its Hessian as callables of
theta. Products are written as elementwise sums rather than BLAS calls, so that a
float64 run gives the same bits on every machine: the float reversal amplifies the last
bit, and the figures' tables must be reproducible. See chapters ``book/momentum.md`` and
``book/momentum_precision.md``.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from .. import activations, checks
from . import _args

__all__ = ["Problem", "quadratic", "log_cosh", "logistic_regression"]


class Problem(NamedTuple):
    """A loss, its gradient and Hessian (callables of theta), a minimiser if known."""

    loss: Callable
    grad: Callable
    hessian: Callable
    theta_star: np.ndarray | None


def quadratic(H, theta_star) -> Problem:
    """L(theta) = (theta - theta*)' H (theta - theta*) / 2, H symmetric and PSD.

    Its Hessian is H everywhere, so the step is linear and decouples along H's
    eigenvectors (chapter 'Momentum in finite precision', section 'The reverse step on a
    quadratic').
    """
    H = _args.hessian(H)
    scale = max(1.0, float(np.abs(H).max()))
    if not np.allclose(H, H.T, rtol=0, atol=1e-14 * scale):
        raise ValueError("H must be symmetric")
    if np.linalg.eigvalsh(H).min() < -1e-12 * scale:
        raise ValueError("H must be positive semi-definite")
    ts = checks.array(theta_star, "theta_star", shape=(H.shape[0],))
    H, ts = H.copy(), ts.copy()
    def grad(t):
        return (H * (t - ts)).sum(axis=1)

    return Problem(loss=lambda t: 0.5 * float((grad(t) * (t - ts)).sum()),
                   grad=grad,
                   hessian=lambda t: H,
                   theta_star=ts)


def log_cosh(c: float = 2.0) -> Problem:
    """L(theta) = c sum_i log cosh(theta_i): gradient c tanh, Hessian c diag(sech^2).

    A smooth convex loss whose curvature varies from c (at 0) to 0 (far out): the
    nonlinear case of the chapter's area explorer (section 'Explore: a step shrinks
    areas').
    """
    c = checks.real(c, "c", minimum=0.0, open_min=True, maximum=1e6)

    def loss(t):
        a = np.abs(t)  # log cosh t = |t| + log(1 + e^{-2|t|}) - log 2, without overflow
        return c * float(np.sum(a + np.log1p(np.exp(-2.0 * a)) - np.log(2.0)))

    return Problem(loss=loss, grad=lambda t: c * np.tanh(t),
                   hessian=lambda t: np.diag(c / np.cosh(np.clip(t, -350, 350)) ** 2),
                   theta_star=None)


def logistic_regression(n_samples: int = 80, n_features: int = 2,
                        seed: int = 0) -> Problem:
    """Mean logistic loss on a seeded synthetic set; theta = (weights, bias).

    D = n_features + 1.

    Inputs are standard normal, labels are drawn from the logistic model with weights
    ``(1.5, -1.0, 0.5, ...)`` and bias 0.3, so the classes overlap and the minimiser is
    finite. L(theta) = mean(log(1 + exp(x'theta)) - y x'theta); its Hessian is
    ``X' diag(sigma'(X theta)) X / N``.
    """
    n_samples = checks.integer(n_samples, "n_samples", minimum=1, maximum=10**6)
    n_features = checks.integer(n_features, "n_features", minimum=1, maximum=10**4)
    seed = checks.integer(seed, "seed", minimum=0, maximum=2**63 - 1)
    rng = np.random.default_rng(seed)
    X = np.hstack([rng.standard_normal((n_samples, n_features)),
                   np.ones((n_samples, 1))])
    w = np.concatenate([np.resize([1.5, -1.0, 0.5], n_features), [0.3]])
    y = (rng.random(n_samples) < 1.0 / (1.0 + np.exp(-X @ w))).astype(np.float64)
    N = float(n_samples)

    def lin(t):  # X theta as elementwise sums (no BLAS: reproducible bits)
        return (X * t).sum(axis=1)

    def grad(t):
        return (X * (activations.phi("sigmoid", lin(t)) - y)[:, None]).sum(axis=0) / N

    return Problem(
        loss=lambda t: float(np.mean(np.logaddexp(0.0, lin(t)) - y * lin(t))),
        grad=grad,
        hessian=lambda t: (X.T * activations.phi_prime("sigmoid", lin(t))) @ X / N,
        theta_star=None)
