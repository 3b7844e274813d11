"""Momentum in finite precision: bits lost per step, how fast a float reversal errs.

Chapter 'Momentum in finite precision' (``book/momentum_precision.md``). One step
contracts volume in the state space by beta^D, so it destroys -log2(beta) bits per
parameter (:func:`bits_lost_per_step`). A float64 reversal cannot recover them: its
error grows like the product of reverse Jacobians. On a quadratic loss with a stable
step every eigenvalue of the reverse step has modulus in [1, 1/beta] and the spectral
radius lies in [beta^-1/2, 1/beta] (:func:`reverse_eigenvalue_moduli`,
:func:`eigenvalue_band_proof`).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import sympy as sp

from .. import checks
from . import _args
from .jacobian import alpha_s, beta_s, block_jacobian, reverse_jacobian

__all__ = [
    "bits_lost_per_step", "growth_band", "steps_to_lose", "critical_curvatures",
    "underdamped",
    "reverse_eigenvalue_moduli", "reverse_spectral_radius", "eigenvalue_band_proof",
    "reverse_amplification", "fit_growth_rate",
]


def bits_lost_per_step(beta) -> float:
    """-log2(beta): the bits per parameter one step destroys (its det is beta^D).

    Also the rate at which :class:`ExactMomentum`'s buffer grows. Chapter 'Reversing SGD
    with momentum', section 'What the determinant says about finite precision'.
    """
    return -math.log2(_args.beta(beta, reversible=True)) + 0.0


def growth_band(beta) -> tuple[float, float]:
    """(beta**-0.5, 1/beta): the band of the reverse step's spectral radius.

    Theorem 'Error growth of the reversal'.
    """
    beta = _args.beta(beta, reversible=True)
    return beta ** -0.5, 1.0 / beta


def steps_to_lose(beta, bits: int = 52) -> tuple[float, float]:
    """(bits, 2 bits) / -log2(beta): reverse steps in which an error grows by 2^bits.

    At the fastest rate of :func:`growth_band`, 1/beta per step, an error grows by
    2^bits in bits / -log2(beta) steps; at the slowest, beta^-1/2, in twice as many.
    With bits = 52 (float64's fraction) this is how long a float64 reversal keeps any
    bit of the start. beta must be in (0, 1) (at beta = 1 nothing is lost).
    """
    beta = checks.real(beta, "beta (the momentum coefficient)", minimum=0.0,
                       maximum=1.0, open_min=True, open_max=True)
    bits = checks.integer(bits, "bits", minimum=1, maximum=10**6)
    rate = -math.log2(beta)
    return bits / rate, 2 * bits / rate


def critical_curvatures(alpha, beta) -> tuple[float, float]:
    """((1 - sqrt beta)^2, (1 + sqrt beta)^2) / alpha: the underdamped curvatures.

    A direction of curvature lambda is underdamped (complex eigenvalues) exactly when
    lambda lies strictly between them.
    """
    alpha = checks.real(alpha, "alpha (the learning rate)", minimum=0.0, open_min=True)
    beta = _args.beta(beta, reversible=True)
    return (1 - math.sqrt(beta)) ** 2 / alpha, (1 + math.sqrt(beta)) ** 2 / alpha


def _stable_eigenvalues(eigenvalues, alpha, beta):
    lam = checks.array(eigenvalues, "eigenvalues", ndim=1)
    alpha, beta = _args.alpha(alpha), _args.beta(beta, reversible=True)
    with np.errstate(over="ignore"):
        t = alpha * lam
    if np.any(lam < 0) or not np.all(t <= 2 * (1 + beta)):
        raise ValueError("every Hessian eigenvalue must satisfy 0 <= alpha * eigenvalue"
                         f" <= 2 (1 + beta) = {2 * (1 + beta):g} (a stable step), got "
                         f"alpha * eigenvalues in [{t.min():g}, {t.max():g}]")
    return t, beta


def underdamped(eigenvalues, alpha, beta) -> np.ndarray:
    """For each Hessian eigenvalue: is its direction underdamped?

    That is, (1 + beta - alpha lam)^2 < 4 beta.

    Then the step's two eigenvalues are complex with modulus sqrt(beta). Eigenvalues
    must give a stable step (0 <= alpha lam <= 2 (1 + beta)).
    """
    t, beta = _stable_eigenvalues(eigenvalues, alpha, beta)
    return _discriminant(t, beta) < 0


def _discriminant(t, beta):
    """s^2 - 4 beta with s = 1 + beta - t, as (1 - beta)^2 - t (2 (1 + beta) - t).

    The second form has no cancellation near t = 0 and beta = 1.
    """
    return (1 - beta) ** 2 - t * (2 * (1 + beta) - t)


def reverse_eigenvalue_moduli(eigenvalues, alpha, beta) -> np.ndarray:
    """Moduli of the reverse step's eigenvalues on a quadratic with these curvatures.

    Returns shape (len(eigenvalues), 2), each row (smaller, larger). Along an
    eigenvector of curvature lam the forward step has characteristic polynomial mu^2 - s
    mu + beta with s = 1 + beta - alpha lam; the reverse step's eigenvalues are 1/mu.
    Underdamped (s^2 < 4 beta): both moduli are beta^-1/2. Otherwise the roots are real;
    the larger in modulus, (|s| + sqrt(s^2 - 4 beta)) / 2, is computed directly and the
    smaller as beta divided by it (no cancellation), with s^2 - 4 beta computed as (1 -
    beta)^2 - alpha lam (2 (1 + beta) - alpha lam). Requires a stable step. Theorem
    'Error growth of the reversal'.
    """
    t, beta = _stable_eigenvalues(eigenvalues, alpha, beta)
    s = 1 + beta - t
    disc = _discriminant(t, beta)
    under = disc < 0
    root = math.sqrt(beta)
    fwd_big = np.where(under, root, 0.5 * (np.abs(s) + np.sqrt(np.maximum(disc, 0.0))))
    fwd_small = np.where(under, root, beta / fwd_big)  # fwd_big >= sqrt(beta) > 0 here
    return np.stack([1.0 / fwd_big, 1.0 / fwd_small], axis=1)


def reverse_spectral_radius(eigenvalues, alpha, beta) -> float:
    """The spectral radius of the reverse step on a quadratic: the largest of
    :func:`reverse_eigenvalue_moduli`, the asymptotic growth per step of a float
    reversal's error.
    """
    return float(reverse_eigenvalue_moduli(eigenvalues, alpha, beta).max())


def _nonnegative(expr, how: str) -> checks.Proved:
    if sp.simplify(expr).is_nonnegative is not True:
        raise AssertionError(f"SymPy cannot decide that {expr} >= 0")
    return checks.Proved(how, "derivations.momentum.precision.eigenvalue_band_proof")


def eigenvalue_band_proof() -> dict:
    """The symbolic steps of part 2 of the theorem 'Error growth of the reversal'.

    Along one eigen-direction the step is the 2 x 2 matrix of :func:`block_jacobian`
    with H = [lambda]. Returns a dict of named steps, each a ``checks.Identity`` (an
    equation proved by ``checks.prove_identity``) or a ``checks.Proved`` sign fact that
    SymPy's assumptions decide. With s = 1 + beta - alpha lambda and 0 < beta <= 1:

    - ``charpoly``: chi(mu) = mu^2 - s mu + beta;
    - ``vieta``: the two roots multiply to beta;
    - ``complex_modulus``, ``complex_modulus_beta``: if s^2 < 4 beta the roots are
      (s +- i sqrt(q)) / 2 with q = 4 beta - s^2 > 0, and |mu|^2 = (s^2 + q) / 4 = beta;
    - ``mirror``: chi for -s at -mu is chi for s at mu, so s >= 0 suffices for real
      roots;
    - ``gap`` and ``gap_sign``, ``room_sign``: for real roots and 0 <= s <= 1 + beta,
      (2 - s)^2 - (s^2 - 4 beta) = 4 (1 + beta - s) >= 0 and 2 - s >= 0, so
      sqrt(s^2 - 4 beta) <= 2 - s: the larger root (s + sqrt(s^2 - 4 beta)) / 2 is <= 1;
    - ``flat_end``, ``edge_end``: at alpha lambda = 0 the roots are 1 and beta, at alpha
      lambda = 2 (1 + beta) they are -1 and -beta (both ends of [1, 1/beta] attained).
    """
    lam, mu, s, q = sp.symbols("lambda mu s q", real=True)
    beta, alpha = beta_s, alpha_s
    chi = sp.expand((mu * sp.eye(2) - block_jacobian(sp.Matrix([[lam]]))).det())
    s_of = 1 + beta - alpha * lam
    out = {"charpoly": checks.prove_identity(chi, mu**2 - s_of * mu + beta)}
    mu1, mu2 = sp.solve(mu**2 - s * mu + beta, mu)
    out["vieta"] = checks.prove_identity(mu1 * mu2, beta)
    qp = sp.Symbol("q", positive=True)  # q = 4 beta - s^2 > 0: the underdamped case
    root = (s + sp.I * sp.sqrt(qp)) / 2
    out["complex_modulus"] = checks.prove_identity(root * sp.conjugate(root),
                                                   (s**2 + qp) / 4)
    # (s^2 + q) / 4 at q = 4 beta - s^2, unevaluated for display
    substituted = sp.Mul(sp.Add(s**2, 4 * beta - s**2, evaluate=False),
                         sp.Rational(1, 4), evaluate=False)
    out["complex_modulus_beta"] = checks.prove_identity(substituted, beta)
    out["mirror"] = checks.prove_identity((mu**2 - s * mu + beta).subs(mu, -mu),
                                          (mu**2 - s * mu + beta).subs(s, -s))
    out["gap"] = checks.prove_identity((2 - s) ** 2 - (s**2 - 4 * beta),
                                       4 * (1 + beta - s))
    # Sign facts, with the hypotheses as substitutions: s = 1 + beta - x with x >= 0 (a
    # stable step), beta = 1 / (1 + w) with w >= 0 (0 < beta <= 1).
    x, w = sp.symbols("x w", nonnegative=True)
    on_range = {s: 1 + beta - x}
    in_unit = {beta: 1 / (1 + w)}
    out["gap_sign"] = _nonnegative((4 * (1 + beta - s)).subs(on_range),
                                   "4 x >= 0 for x >= 0")
    out["room_sign"] = _nonnegative((2 - s).subs(on_range).subs(in_unit),
                                    "2 - s = w / (1 + w) + x >= 0 for w, x >= 0")
    out["flat_end"] = checks.prove_identity(chi.subs(lam, 0), (mu - 1) * (mu - beta))
    out["edge_end"] = checks.prove_identity(chi.subs(lam, 2 * (1 + beta) / alpha),
                                            (mu + 1) * (mu + beta))
    return out


def reverse_amplification(thetas, hessian: Callable, alpha, beta) -> np.ndarray:
    """log10 of the largest singular value of the product of j reverse Jacobians.

    ``thetas`` is a forward trajectory (K + 1 rows); reverse step j (from state K - j +
    1 to K - j) has the Jacobian :func:`reverse_jacobian` at ``hessian(thetas[K - j])``.
    The product is renormalised every step so it never overflows. It is how much a
    rounding error made at the start of the reversal is amplified after j reverse steps;
    its slope is the reversal's finite-time top Lyapunov exponent. Section 'A loss that
    is not quadratic'.
    """
    thetas = checks.array(thetas, "thetas", ndim=2)
    checks.function(hessian, "hessian")
    alpha, beta = _args.alpha(alpha), _args.beta(beta, reversible=True)
    K, D = thetas.shape[0] - 1, thetas.shape[1]
    P = np.eye(2 * D)
    log_scale = 0.0
    out = np.zeros(K + 1)
    for j in range(1, K + 1):
        P = reverse_jacobian(hessian(thetas[K - j]), alpha, beta) @ P
        size = np.linalg.norm(P, 2)
        P /= size
        log_scale += math.log10(size)
        out[j] = log_scale
    return out


def fit_growth_rate(errors, lo: float = 1e-12, hi: float = 1e-3) -> float:
    """Least-squares slope of log10(error) against j over errors in [lo, hi].

    In decades per step.

    The window leaves out the first steps (errors of a few roundings, often exactly 0)
    and the tail where the reconstruction has lost the trajectory. ``errors`` may hold
    +inf (a reconstruction that overflowed). Raises ValueError when fewer than 10 errors
    fall in the window. Section 'Reversing in floating point'.
    """
    raw = np.asarray(errors) if not isinstance(errors, str) else errors
    floats = getattr(raw, "dtype", None) is not None and raw.dtype.kind == "f"
    clean = np.where(raw == np.inf, 0.0, raw) if floats else raw
    checks.array(clean, "errors", ndim=1)
    errors = np.asarray(raw, dtype=np.float64)
    if np.any(errors < 0):
        raise ValueError("errors must be >= 0")
    lo = checks.real(lo, "lo", minimum=0.0, open_min=True)
    hi = checks.real(hi, "hi", minimum=lo, open_min=True)
    j = np.arange(errors.size)
    keep = (errors >= lo) & (errors <= hi)
    if keep.sum() < 10:
        raise ValueError(f"fewer than 10 errors lie in [{lo}, {hi}]; run more steps or "
                         "widen the window")
    return float(np.polyfit(j[keep], np.log10(errors[keep]), 1)[0])
