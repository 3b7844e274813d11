"""The forward step of SGD with momentum and its exact inverse, in float64.

Chapter 'Reversing SGD with momentum' (``book/momentum.md``), sections 'The forward
step' and 'The reverse step'. The step on the state (theta, p) is

    p     <- beta p - alpha grad L(theta)
    theta <- theta + p                     (the new p moves theta)

and, for beta != 0, its inverse is

    theta <- theta - p
    p     <- (p + alpha grad L(theta)) / beta   (the gradient at the recovered theta)

:func:`reversal_errors` measures how a float64 reversal drifts from the forward run
(chapter 'Momentum in finite precision').
"""

from __future__ import annotations

import numpy as np

from . import _args

__all__ = ["step", "reverse_step", "trajectory", "reverse_trajectory",
           "reversal_errors"]


def _forward(theta, p, grad, alpha, beta):
    p_new = beta * p - alpha * grad(theta)
    return theta + p_new, p_new


def _reverse(theta, p, grad, alpha, beta):
    theta_old = theta - p
    return theta_old, (p + alpha * grad(theta_old)) / beta


def _finite(what: str, *arrays) -> None:
    if not all(np.all(np.isfinite(a)) for a in arrays):
        raise ValueError(f"{what} overflowed float64 (alpha too large for this loss?)")


def step(theta, p, grad, alpha, beta):
    """One step of SGD with momentum: ``p <- beta p - alpha grad``, ``theta += p``.

    ``theta``, ``p``: 1-D float arrays of equal length D; ``grad``: a callable returning
    grad L at a point; ``alpha >= 0``; ``beta`` in [0, 1] (``beta = 0`` is plain
    gradient descent, which cannot be reversed). Returns the new ``(theta, p)``; the
    inputs are not modified. Chapter 'Reversing SGD with momentum', section 'The forward
    step'.
    """
    theta, p = _args.state(theta, p)
    alpha, beta = _args.alpha(alpha), _args.beta(beta, reversible=False)
    g = _args.grad_at(grad, theta)
    with np.errstate(over="ignore", invalid="ignore"):
        p_new = beta * p - alpha * g
        theta_new = theta + p_new
    _finite("the step", theta_new, p_new)
    return theta_new, p_new


def reverse_step(theta, p, grad, alpha, beta):
    """The inverse of :func:`step`: ``theta -= p``, ``p <- (p + alpha grad) / beta``.

    The gradient is taken at the *recovered* theta, which is why theta is undone first.
    ``beta`` must be in (0, 1]. In exact arithmetic ``reverse_step(*step(s))`` is ``s``;
    in float64 it is ``s`` up to rounding, which later reverse steps amplify. Chapter
    'Reversing SGD with momentum', section 'The reverse step'.
    """
    theta, p = _args.state(theta, p)
    alpha, beta = _args.alpha(alpha), _args.beta(beta, reversible=True)
    with np.errstate(over="ignore", invalid="ignore"):
        theta_old = theta - p
    _finite("the reverse step", theta_old)
    g = _args.grad_at(grad, theta_old)
    with np.errstate(over="ignore", invalid="ignore"):
        p_old = (p + alpha * g) / beta
    _finite("the reverse step", p_old)
    return theta_old, p_old


def trajectory(theta0, p0, grad, alpha, beta, steps: int):
    """``steps`` forward steps from (theta0, p0): thetas, ps of shape (steps + 1, D).

    Row k is the state after k steps. Raises ValueError if the run overflows float64.
    Chapter 'Momentum in finite precision', section 'Reversing in floating point'.
    """
    theta, p = _args.state(theta0, p0)
    alpha, beta = _args.alpha(alpha), _args.beta(beta, reversible=False)
    steps = _args.steps(steps)
    _args.grad_at(grad, theta)
    with np.errstate(over="ignore", invalid="ignore"):
        thetas, ps = _trajectory(theta, p, grad, alpha, beta, steps)
    _finite("the forward run", thetas[-1], ps[-1])
    return thetas, ps


def _trajectory(theta, p, grad, alpha, beta, steps):
    thetas = np.empty((steps + 1, theta.size))
    ps = np.empty_like(thetas)
    thetas[0], ps[0] = theta, p
    for k in range(steps):
        theta, p = _forward(theta, p, grad, alpha, beta)
        thetas[k + 1], ps[k + 1] = theta, p
    return thetas, ps


def reverse_trajectory(theta_end, p_end, grad, alpha, beta, steps: int):
    """``steps`` float64 reverse steps from the final state: shape (steps + 1, D).

    Row k is the reconstruction of the state after k forward steps, so row ``steps`` is
    the input and row 0 the reconstructed start. A float64 reversal amplifies its
    rounding errors geometrically; once it has lost the trajectory its values may
    overflow to ``inf``, silently: that is the phenomenon the chapter measures. Chapter
    'Momentum in finite precision', section 'Reversing in floating point'.
    """
    theta, p = _args.state(theta_end, p_end)
    alpha, beta = _args.alpha(alpha), _args.beta(beta, reversible=True)
    steps = _args.steps(steps)
    _args.grad_at(grad, theta)
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
    """Run ``steps`` float64 steps forward, reverse them in float64, return the errors.

    Entry j (j = 0..steps) is the largest absolute error over the 2D coordinates of the
    state reconstructed after j reverse steps, against the forward run at step ``steps -
    j``. Entry 0 is 0 by construction; a reconstruction that overflowed gives ``inf``.
    Chapter 'Momentum in finite precision', section 'Reversing in floating point'.
    """
    _args.beta(beta, reversible=True)
    thetas, ps = trajectory(theta0, p0, grad, alpha, beta, steps)
    rt, rp = _reverse_trajectory(thetas[-1], ps[-1], grad, float(alpha), float(beta),
                                 int(steps))
    with np.errstate(over="ignore", invalid="ignore"):
        err = np.maximum(np.abs(rt - thetas).max(axis=1), np.abs(rp - ps).max(axis=1))
    err = np.where(np.isfinite(err), err, np.inf)
    return err[::-1].copy()
