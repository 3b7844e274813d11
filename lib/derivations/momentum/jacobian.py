"""The Jacobian of one momentum step: symbolic (any loss), numeric, determinant beta^D.

Chapter 'Reversing SGD with momentum' (``book/momentum.md``), section 'The Jacobian of
one step'. With H the Hessian of the loss at the theta the step starts from,

    d(theta', p') / d(theta, p) = [[I - alpha H, beta I], [-alpha H, beta I]],   det =
    beta^D.

The reverse step's Jacobian is its inverse, [[I, -I], [alpha H / beta, (I - alpha H) /
beta]].
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .. import checks
from . import _args
from .step import step

__all__ = [
    "alpha_s", "beta_s", "loss_function", "symbolic_step", "symbolic_jacobian",
    "symmetric_hessian", "block_jacobian", "polynomial_det", "prove_matrix_identity",
    "jacobian", "reverse_jacobian", "jacobian_fd", "determinant",
]

#: The symbols alpha > 0 and beta > 0 of the symbolic functions.
alpha_s, beta_s = sp.symbols("alpha beta", positive=True)

#: The loss as an undefined function, so that results hold for every loss.
loss_function = sp.Function(r"\mathcal{L}")


def symbolic_step(D: int):
    """The forward step for a general twice-differentiable loss L(theta_1..theta_D).

    Returns ``(theta, p, theta_new, p_new, L)``: tuples of symbols, the new state as
    SymPy column matrices, and the loss (an undefined function). Section 'The forward
    step'.
    """
    D = _args.dimension(D)
    theta = sp.symbols(f"theta_1:{D + 1}", real=True)
    p = sp.symbols(f"p_1:{D + 1}", real=True)
    L = loss_function(*theta)
    grad = sp.Matrix([sp.diff(L, t) for t in theta])
    p_new = beta_s * sp.Matrix(p) - alpha_s * grad
    theta_new = sp.Matrix(theta) + p_new
    return theta, p, theta_new, p_new, L


def symbolic_jacobian(D: int) -> tuple[sp.Matrix, sp.Matrix]:
    """The 2D x 2D Jacobian of one step with respect to (theta, p), and the Hessian.

    Rows are ordered (theta', p'), columns (theta, p). The loss is an undefined
    function, so the result holds for every twice-differentiable loss. Section 'The
    Jacobian of one step'.
    """
    theta, p, theta_new, p_new, L = symbolic_step(D)
    F = sp.Matrix.vstack(theta_new, p_new)
    return F.jacobian(sp.Matrix([*theta, *p])), sp.hessian(L, theta)


def symmetric_hessian(D: int) -> sp.Matrix:
    """A D x D symmetric matrix of independent real symbols h_ij = h_ji (i <= j)."""
    D = _args.dimension(D)
    return sp.Matrix(D, D, lambda i, j: sp.Symbol(f"h_{min(i, j) + 1}{max(i, j) + 1}",
                                                  real=True))


def _square(M, name: str) -> sp.Matrix:
    if not isinstance(M, sp.MatrixBase) or M.rows != M.cols or M.rows == 0:
        raise ValueError(f"{name} must be a non-empty square SymPy Matrix, "
                         f"got {type(M).__name__}")
    return M


def block_jacobian(H, alpha=alpha_s, beta=beta_s) -> sp.Matrix:
    """The explicit matrix [[I - alpha H, beta I], [-alpha H, beta I]] for a SymPy H.

    Equation (eq-jacobian) of the chapter.
    """
    H = _square(H, "H")
    I = sp.eye(H.rows)
    blocks = [[I - alpha * H, beta * I], [-alpha * H, beta * I]]
    return sp.BlockMatrix(blocks).as_explicit()


def polynomial_det(M) -> sp.Expr:
    """Exact determinant of a matrix of polynomials, by fraction-free elimination.

    SymPy's ``Matrix.det`` takes minutes on the 8 x 8 Jacobian for D = 4 with a symbolic
    Hessian; the same determinant over the polynomial ring ZZ[alpha, beta, h_ij]
    (``DomainMatrix``) takes milliseconds and is equally exact.
    """
    from sympy.polys.matrices import DomainMatrix

    dm = DomainMatrix.from_Matrix(_square(M, "M"))
    return dm.domain.to_sympy(dm.det())


#: Matrix identities are proved by the shared ``checks.prove_identity`` (block by block).
prove_matrix_identity = checks.prove_identity


def jacobian(H, alpha, beta) -> np.ndarray:
    """The Jacobian of one step, [[I - alpha H, beta I], [-alpha H, beta I]], given H.

    H is the Hessian of the loss at the theta the step starts from (beta = 0 allowed:
    plain gradient descent). Section 'The Jacobian of one step'.
    """
    H = _args.hessian(H)
    alpha, beta = _args.alpha(alpha), _args.beta(beta, reversible=False)
    I = np.eye(H.shape[0])
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.block([[I - alpha * H, beta * I], [-alpha * H, beta * I]])
    if not np.all(np.isfinite(out)):
        raise ValueError("alpha H overflowed float64")
    return out


def reverse_jacobian(H, alpha, beta) -> np.ndarray:
    """The reverse step's Jacobian, [[I, -I], [alpha H / beta, (I - alpha H) / beta]].

    H is the Hessian at the *recovered* theta (where the forward step started); the
    matrix is the inverse of :func:`jacobian` at the same H. Chapter 'Momentum in finite
    precision', section 'The reverse Jacobian'.
    """
    H = _args.hessian(H)
    alpha, beta = _args.alpha(alpha), _args.beta(beta, reversible=True)
    I = np.eye(H.shape[0])
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.block([[I, -I], [alpha * H / beta, (I - alpha * H) / beta]])
    if not np.all(np.isfinite(out)):
        raise ValueError("alpha H / beta overflowed float64")
    return out


def jacobian_fd(theta, p, grad, alpha, beta) -> np.ndarray:
    """Central-difference Jacobian of :func:`step` at (theta, p), rows (theta', p').

    An independent reference for :func:`jacobian`: it differences the step itself
    (``checks.central_difference``, step near the cube root of machine epsilon).
    Section 'The Jacobian of one step'.
    """
    theta, p = _args.state(theta, p)
    alpha, beta = _args.alpha(alpha), _args.beta(beta, reversible=False)
    _args.grad_at(grad, theta)
    D = theta.size

    def f(z):
        return np.concatenate(step(z[:D], z[D:], grad, alpha, beta))

    return checks.central_difference(f, np.concatenate([theta, p]))


def determinant(beta, D: int) -> float:
    """The Jacobian determinant of one step, beta**D, whatever the loss and alpha.

    Theorem 'Determinant of one step'.
    """
    beta = _args.beta(beta, reversible=False)
    return beta ** _args.dimension(D)
