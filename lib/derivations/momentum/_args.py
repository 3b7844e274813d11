"""The argument rules shared by the momentum modules, stated with ``checks``.

Nothing here validates by itself: each helper names an argument of the chapter (the
state, alpha, beta, a step count) and passes it to the shared validators with its
allowed range.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .. import checks

#: The largest number of steps a single call runs (a guard against 10**308 by mistake).
MAX_STEPS = 10**7


def state(theta, p) -> tuple[np.ndarray, np.ndarray]:
    """theta and p: finite 1-D float arrays of the same length D."""
    dims: dict = {}
    return (checks.array(theta, "theta", shape=("D",), dims=dims),
            checks.array(p, "p", shape=("D",), dims=dims))


def alpha(value) -> float:
    """The learning rate, alpha >= 0."""
    return checks.real(value, "alpha (the learning rate)", minimum=0.0)


def beta(value, *, reversible: bool) -> float:
    """The momentum coefficient: in [0, 1], or in (0, 1] for the reverse step."""
    name = "beta (the momentum coefficient)"
    if reversible:
        name = "beta (the momentum coefficient; the reverse step divides by it)"
    return checks.real(value, name, minimum=0.0, maximum=1.0, open_min=reversible)


def steps(value, *, minimum: int = 0) -> int:
    """A number of steps, 0 <= steps <= MAX_STEPS (or from ``minimum``)."""
    return checks.integer(value, "steps", minimum=minimum, maximum=MAX_STEPS)


def dimension(value) -> int:
    """The number of parameters D of a symbolic computation (1..50)."""
    return checks.integer(value, "D (the number of parameters)", minimum=1, maximum=50)


def hessian(value) -> np.ndarray:
    """A square, non-empty, finite matrix."""
    return checks.array(value, "H (the Hessian)", shape=("D", "D"))


def grad_at(grad: Callable, theta: np.ndarray) -> np.ndarray:
    """grad(theta), checked once: a finite float array of theta's shape."""
    checks.function(grad, "grad")
    return checks.array(grad(theta), "grad(theta)", shape=theta.shape)
