"""Batch normalisation in training mode: its Jacobian, and residual blocks built with it.

Chapter "Residual connections", section "Batch normalisation's Jacobian". One feature over a
batch of N samples u_1..u_N is normalised with the batch's own mean and variance,

    mu = (1/N) sum_k u_k,   v = (1/N) sum_k (u_k - mu)^2,   tau = sqrt(v + eta),
    BN(u)_i = gain (u_i - mu) / tau + shift

(eta is PyTorch's ``eps``), so every output depends on every sample: d BN(u)_i / d u_j =
(gain / tau) (delta_ij - 1/N - uhat_i uhat_j / N) with uhat = (u - mu) / tau. A block acts
on a batch H (N x n, one row per
sample); BN normalises each column (feature) of H A^T separately.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

from .. import checks
from ..activations import ACTIVATIONS, phi, phi_prime
from ._blas import single_thread
from .network import ARCHS

__all__ = [
    "batchnorm", "batchnorm_jacobian", "batchnorm_eigenvalues", "reference_jacobian", "bn_block",
    "bn_block_jacobian", "bn_random_stack", "bn_log10_input_norms", "bn_input_norm_samples",
]

#: PyTorch's default eps (the chapter's eta).
ETA_DEFAULT = 1e-5


def _check_batch(u, gain, eta):
    u = checks.array(u, "u (one feature over the batch)", ndim=1)
    if u.size < 2:
        raise ValueError(f"u must hold at least 2 samples (a batch), got {u.size}")
    gain = checks.real(gain, "gain", minimum=-1e6, maximum=1e6)
    eta = checks.real(eta, "eta (PyTorch's eps)", minimum=0.0, maximum=1e6, open_min=True)
    return u, gain, eta


def _stats(u, eta):
    mu = float(np.mean(u))
    tau = math.sqrt(float(np.mean((u - mu) ** 2)) + eta)
    return (u - mu) / tau, tau


def batchnorm(u, gain: float = 1.0, shift: float = 0.0, eta: float = ETA_DEFAULT) -> np.ndarray:
    """BN(u) for one feature u over a batch (training mode: the batch's mean and variance)."""
    u, gain, eta = _check_batch(u, gain, eta)
    shift = checks.real(shift, "shift", minimum=-1e6, maximum=1e6)
    uhat, _ = _stats(u, eta)
    return gain * uhat + shift


def batchnorm_jacobian(u, gain: float = 1.0, eta: float = ETA_DEFAULT) -> np.ndarray:
    """d BN(u) / d u = (gain / tau) (I - 1 1^T / N - uhat uhat^T / N), N x N (the theorem)."""
    u, gain, eta = _check_batch(u, gain, eta)
    uhat, tau = _stats(u, eta)
    N = u.size
    return (gain / tau) * (np.eye(N) - 1.0 / N - np.outer(uhat, uhat) / N)


def batchnorm_eigenvalues(u, gain: float = 1.0, eta: float = ETA_DEFAULT) -> np.ndarray:
    """The theorem's eigenvalues of d BN / d u, sorted: 0 (on the vector of ones),
    (gain / tau) eta / tau^2 (on uhat) and gain / tau (N - 2 times)."""
    u, gain, eta = _check_batch(u, gain, eta)
    _, tau = _stats(u, eta)
    values = np.array([0.0, gain / tau * eta / tau**2] + [gain / tau] * (u.size - 2))
    return np.sort(values)


def reference_jacobian(u, gain: float = 1.0, eta: float = ETA_DEFAULT) -> np.ndarray:
    """d BN(u) / d u by central differences of BN's definition in mpmath arithmetic.

    The independent reference for :func:`batchnorm_jacobian`: mean, variance and the division
    are evaluated at points 10^-30 apart with 80 digits, so entries as small as the eta
    eigenvalue (1e-5 / tau^3) keep their digits.
    """
    u, gain, eta = _check_batch(u, gain, eta)
    N = u.size
    g, e = mpmath.mpf(gain), mpmath.mpf(eta)

    def bn_mp(w):
        mu = sum(w) / N
        tau = mpmath.sqrt(sum((wi - mu) ** 2 for wi in w) / N + e)
        return [g * (wi - mu) / tau for wi in w]

    return checks.mp_central_difference(bn_mp, u, digits=30, extra_digits=20)


def _check_block(H, A, arch, activation, eta):
    arch = checks.choice(arch, "arch", ARCHS)
    activation = checks.choice(activation, "activation", ACTIVATIONS)
    dims: dict = {}
    H = checks.array(H, "H (a batch, one row per sample)", shape=("N", "n"), dims=dims)
    A = checks.array(A, "A", shape=("n", "n"), dims=dims)
    if H.shape[0] < 2:
        raise ValueError(f"H must hold at least 2 samples (rows), got {H.shape[0]}")
    eta = checks.real(eta, "eta (PyTorch's eps)", minimum=0.0, maximum=1e6, open_min=True)
    return H, A, arch, activation, eta


def _normalise_columns(U, eta):
    mu = U.mean(axis=0)
    tau = np.sqrt(((U - mu) ** 2).mean(axis=0) + eta)
    return (U - mu) / tau, tau


def _block_parts(H, A, arch, activation, eta):
    Y, tau = _normalise_columns(H @ A.T, eta)
    z = H + Y if arch == "post-activation" else Y
    out = phi(activation, z)
    return (H + out if arch == "residual" else out), Y, tau, phi_prime(activation, z)


def bn_block(H, A, arch: str = "residual", activation: str = "relu", eta: float = ETA_DEFAULT):
    """One block on a batch: ``"plain"`` phi(BN(H A^T)), ``"residual"`` H + phi(BN(H A^T))
    (the identity path kept clean) or ``"post-activation"`` phi(H + BN(H A^T))."""
    H, A, arch, activation, eta = _check_block(H, A, arch, activation, eta)
    return _block_parts(H, A, arch, activation, eta)[0]


def _block_jacobian(H, A, arch, activation, eta):
    N, n = H.shape
    _, Y, tau, d = _block_parts(H, A, arch, activation, eta)
    # d BN(U[:, k]) / d U[:, k] for every feature k: (1/tau_k)(I - 11^T/N - y y^T/N), y = Y[:, k].
    Jbn = (np.eye(N)[None] - 1.0 / N - np.einsum("mk,pk->kmp", Y, Y) / N) / tau[:, None, None]
    # d Y[m, k] / d H[p, q] = Jbn[k, m, p] A[k, q]  (U = H A^T).
    T = np.einsum("kmp,kq->mkpq", Jbn, A).reshape(N * n, N * n)
    g = d.reshape(-1)[:, None]
    if arch == "plain":
        return g * T
    if arch == "residual":
        return np.eye(N * n) + g * T
    return g * (np.eye(N * n) + T)


def bn_block_jacobian(H, A, arch: str = "residual", activation: str = "relu",
                      eta: float = ETA_DEFAULT) -> np.ndarray:
    """d vec(H') / d vec(H) for :func:`bn_block`, an (N n) x (N n) matrix; vec is row-major
    (entry m * n + k is sample m, feature k). BN couples the samples, so it is not block
    diagonal."""
    H, A, arch, activation, eta = _check_block(H, A, arch, activation, eta)
    return _block_jacobian(H, A, arch, activation, eta)


def bn_random_stack(depth: int, width: int, batch: int, seed: int = 0):
    """(As, H0): depth matrices with N(0, 1/n) entries and a batch of N(0, 1) inputs.

    BN removes the scale of A from the forward pass, so no scale argument is needed.
    """
    depth = checks.integer(depth, "depth", minimum=1, maximum=1000)
    width = checks.integer(width, "width", minimum=1, maximum=256)
    batch = checks.integer(batch, "batch", minimum=2, maximum=256)
    seed = checks.integer(seed, "seed", minimum=0, maximum=2**63 - 1)
    rng = np.random.default_rng(seed)
    return rng.standard_normal((depth, width, width)) / math.sqrt(width), rng.standard_normal((batch, width))


def _apply_block_jacobian(H, A, arch, activation, eta, M):
    """(d vec(H') / d vec(H)) @ M without forming the (N n) x (N n) matrix: T @ M is two
    small batched products (A on each sample's features, then J^(k) on each feature's
    batch), so no large BLAS call is made (section "Blocks with batch normalisation")."""
    N, n = H.shape
    _, Y, tau, d = _block_parts(H, A, arch, activation, eta)
    Jbn = (np.eye(N)[None] - 1.0 / N - np.einsum("mk,pk->kmp", Y, Y) / N) / tau[:, None, None]
    C = M.shape[1]
    X = A @ M.reshape(N, n, C)                                   # [p, k, c] = sum_q A_kq M_pq,c
    TM = (Jbn @ X.transpose(1, 0, 2)).transpose(1, 0, 2).reshape(N * n, C)  # sum_p J^(k)_mp X_pkc
    g = d.reshape(-1)[:, None]
    if arch == "plain":
        return g * TM
    if arch == "residual":
        return M + g * TM
    return g * (M + TM)


def bn_log10_input_norms(As, H0, arch: str = "residual", activation: str = "relu",
                         eta: float = ETA_DEFAULT, every: int = 1) -> np.ndarray:
    """log10 sigma_max(d vec(H_k) / d vec(H_0)) for k = every, 2 every, ..., through a stack
    of BN blocks (k = L included when every divides L).

    The product is renormalised after every block (its scale kept as a logarithm); the
    singular value, the costly part, is taken only at the depths asked for, as the square
    root of the largest eigenvalue of P^T P.
    """
    dims: dict = {}
    As = checks.array(As, "As", shape=("L", "n", "n"), dims=dims)
    H0 = checks.array(H0, "H0", shape=(None, "n"), dims=dims)
    H, _, arch, activation, eta = _check_block(H0, As[0], arch, activation, eta)
    every = checks.integer(every, "every", minimum=1, maximum=As.shape[0])
    out = np.full(As.shape[0] // every, -math.inf)
    M, scale = np.eye(H.size), 0.0
    with single_thread():
        for l, A in enumerate(As):
            M = _apply_block_jacobian(H, A, arch, activation, eta, M)
            H = _block_parts(H, A, arch, activation, eta)[0]
            c = float(np.max(np.abs(M)))
            if c == 0.0:
                break
            M, scale = M / c, scale + math.log10(c)
            if (l + 1) % every == 0:
                top = float(np.linalg.eigvalsh(M.T @ M)[-1])
                out[(l + 1) // every - 1] = scale + 0.5 * math.log10(top)
    if not np.all(np.isfinite(H)):
        raise ValueError("the forward pass overflowed float64")
    return out


def bn_input_norm_samples(arch: str, activation: str = "relu", depth: int = 100, width: int = 16,
                          batch: int = 8, seeds: int = 8, every: int = 10) -> np.ndarray:
    """:func:`bn_log10_input_norms` for stacks of seeds 0..seeds-1, as a (seeds, depth // every)
    array (section "Measured: gradient norms through depth")."""
    seeds = checks.integer(seeds, "seeds", minimum=1, maximum=1000)
    return np.array([bn_log10_input_norms(*bn_random_stack(depth, width, batch, seed), arch, activation,
                                          every=every) for seed in range(seeds)])
