"""Weyl's inequalities for singular values, checked on matrices, with the cases of equality.

Chapter "Residual connections", section "One residual block: Weyl's inequalities". For n x n
real A and B, with sigma_1 >= ... >= sigma_n:

- sigma_{i+j-1}(A + B) <= sigma_i(A) + sigma_j(B) whenever i + j - 1 <= n;
- |sigma_i(A + B) - sigma_i(A)| <= sigma_1(B) for every i;
- with A = I: every singular value of I + B lies in [1 - sigma_1(B), 1 + sigma_1(B)].

Each function returns the two sides of one inequality as arrays, ready for
``checks.check_bound(value, bound, attained=...)``; the ``tight_*`` functions build matrices
for which the inequality is an equality, so that the check can also show it is sharp.
"""

from __future__ import annotations

import numpy as np

from .. import checks

__all__ = [
    "singular_values", "weyl_sides", "perturbation_sides", "residual_sides",
    "tight_weyl_pair", "random_orthogonal",
]


def _square(M, name: str, dims: dict | None = None) -> np.ndarray:
    return checks.array(M, name, shape=("n", "n"), dims={} if dims is None else dims)


def singular_values(M) -> np.ndarray:
    """sigma_1 >= ... >= sigma_n of a square matrix."""
    return np.linalg.svd(_square(M, "M"), compute_uv=False)


def weyl_sides(A, B) -> tuple[np.ndarray, np.ndarray]:
    """(sigma_{i+j-1}(A + B), sigma_i(A) + sigma_j(B)) over every pair with i + j - 1 <= n."""
    dims: dict = {}
    A, B = _square(A, "A", dims), _square(B, "B", dims)
    sa, sb, sab = (np.linalg.svd(M, compute_uv=False) for M in (A, B, A + B))
    n = sa.size
    pairs = np.array([(a, c) for a in range(n) for c in range(n - a)])  # 0-based i - 1, j - 1
    return sab[pairs[:, 0] + pairs[:, 1]], sa[pairs[:, 0]] + sb[pairs[:, 1]]


def perturbation_sides(A, B) -> tuple[np.ndarray, np.ndarray]:
    """(|sigma_i(A + B) - sigma_i(A)| for every i, sigma_1(B) repeated)."""
    dims: dict = {}
    A, B = _square(A, "A", dims), _square(B, "B", dims)
    sa, sab = np.linalg.svd(A, compute_uv=False), np.linalg.svd(A + B, compute_uv=False)
    return np.abs(sab - sa), np.full(sa.size, np.linalg.norm(B, 2))


def residual_sides(B) -> dict:
    """The three inequalities for one residual block's Jacobian I + B, as (value, bound) pairs
    with positive bounds: ``lower`` 1 <= sigma_min(I + B) + sigma_max(B); ``upper``
    |sigma_max(I + B) - 1| <= sigma_max(B); ``reverse`` sigma_max(B) <= sigma_max(I + B) + 1."""
    B = _square(B, "B")
    s = np.linalg.svd(np.eye(B.shape[0]) + B, compute_uv=False)
    b = float(np.linalg.norm(B, 2))
    return {"lower": (1.0, s[-1] + b), "upper": (abs(s[0] - 1.0), b), "reverse": (b, s[0] + 1.0)}


def random_orthogonal(n: int, seed: int = 0) -> np.ndarray:
    """A Haar-random n x n orthogonal matrix (QR of a Gaussian matrix, signs fixed)."""
    n = checks.integer(n, "n", minimum=1, maximum=1024)
    seed = checks.integer(seed, "seed", minimum=0, maximum=2**63 - 1)
    Q, R = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    return Q * np.sign(np.diag(R))


def tight_weyl_pair(n: int, i: int, j: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(A, B) with sigma_{i+j-1}(A + B) = sigma_i(A) + sigma_j(B) exactly (up to rounding).

    In a common singular basis U, V: A has i - 1 singular values 10 on coordinates that B
    leaves at 0, B has j - 1 singular values 10 on i + j - 2 coordinates of its own, and on
    coordinate i + j - 1 both put a value below 10 (a, b); then A + B has i + j - 2 singular
    values 10 and then a + b.
    """
    n = checks.integer(n, "n", minimum=1, maximum=1024)
    i = checks.integer(i, "i", minimum=1, maximum=n)
    j = checks.integer(j, "j", minimum=1, maximum=n - i + 1)
    seed = checks.integer(seed, "seed", minimum=0, maximum=2**63 - 1)
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0.5, 4.0, size=2)
    da, db = np.zeros(n), np.zeros(n)
    da[: i - 1] = 10.0
    db[i - 1: i + j - 2] = 10.0
    da[i + j - 2], db[i + j - 2] = a, b
    U, V = random_orthogonal(n, seed + 1), random_orthogonal(n, seed + 2)
    return U @ np.diag(da) @ V.T, U @ np.diag(db) @ V.T
