"""Plain, residual and post-activation stacks: forward pass, Jacobians, gradient norms.

Chapter "Residual connections" (``book/residual.md``). Layer l of a stack of depth L maps
h_{l-1} to h_l (the problem writes y_l), with z_l the pre-activation and D_l = diag(phi'(z_l)):

- ``"plain"``:            h_l = phi(A_l h_{l-1} + b_l),            J_l = D_l A_l
- ``"residual"``:         h_l = phi(A_l h_{l-1} + b_l) + h_{l-1},  J_l = I + D_l A_l
- ``"post-activation"``:  h_l = phi(A_l h_{l-1} + b_l + h_{l-1}),  J_l = D_l (A_l + I)

where J_l = d h_l / d h_{l-1} (section "Three block Jacobians"). Every gradient is a product
of these: d h_L / d h_l = J_L ... J_{l+1}, d h_L / d b_l = (d h_L / d h_l) D_l, and
d (h_L)_i / d (A_l)_jk = (d h_L / d b_l)_ij (h_{l-1})_k (section "Gradients of the
parameters"). Norms of long products are kept in log space so that depth 100 at any weight
scale neither overflows nor underflows.
"""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np

from .. import checks
from ..activations import ACTIVATIONS, phi, phi_prime

__all__ = [
    "ARCHS", "ACTIVATIONS", "forward", "block_jacobians", "input_jacobian",
    "parameter_jacobians", "random_stack", "log10_layer_norms", "log10_input_norms",
    "path_expansion", "input_norm_samples", "reference_jacobians",
]

#: The three ways of wiring a layer (see the module docstring).
ARCHS = ("plain", "residual", "post-activation")

#: Largest weight scale random_stack accepts (beyond it float64 overflows within a few layers).
MAX_SCALE = 1e3


def _check_stack(As, bs, x, arch, activation):
    """The stack as float arrays (L, n, n), (L, n), (n,), after checking every argument."""
    arch = checks.choice(arch, "arch", ARCHS)
    activation = checks.choice(activation, "activation", ACTIVATIONS)
    dims: dict = {}
    As = checks.array(As, "As (the weight matrices A_1..A_L)", shape=("L", "n", "n"), dims=dims)
    bs = checks.array(bs, "bs (the biases b_1..b_L)", shape=("L", "n"), dims=dims)
    x = checks.array(x, "x (the input h_0)", shape=("n",), dims=dims)
    return As, bs, x, arch, activation


def _trace(As, bs, x, arch, activation):
    """States h_0..h_L (rows of an (L+1, n) array) and phi'(z_l) for l = 1..L ((L, n))."""
    L, n = bs.shape
    hs = np.empty((L + 1, n))
    ds = np.empty((L, n))
    hs[0] = x
    with np.errstate(over="ignore", invalid="ignore"):
        for l in range(L):
            z = As[l] @ hs[l] + bs[l]
            if arch == "post-activation":
                z = z + hs[l]
            out = phi(activation, z)
            hs[l + 1] = out + hs[l] if arch == "residual" else out
            ds[l] = phi_prime(activation, z)
    if not (np.all(np.isfinite(hs)) and np.all(np.isfinite(ds))):
        raise ValueError("the forward pass overflowed float64: use smaller weights or a shallower stack")
    return hs, ds


def _block(A, d, arch):
    """J_l from A_l and d = phi'(z_l) (the chapter's three formulas)."""
    if arch == "plain":
        return d[:, None] * A
    if arch == "residual":
        return np.eye(d.size) + d[:, None] * A
    return d[:, None] * (A + np.eye(d.size))


def forward(As, bs, x, arch: str = "residual", activation: str = "tanh") -> list[np.ndarray]:
    """The states [h_0 = x, h_1, ..., h_L] of the stack (section "Three block Jacobians")."""
    As, bs, x, arch, activation = _check_stack(As, bs, x, arch, activation)
    hs, _ = _trace(As, bs, x, arch, activation)
    return list(hs)


def block_jacobians(As, bs, x, arch: str = "residual", activation: str = "tanh") -> list[np.ndarray]:
    """[J_1, ..., J_L], J_l = d h_l / d h_{l-1}, each n x n, at the states of input x."""
    As, bs, x, arch, activation = _check_stack(As, bs, x, arch, activation)
    _, ds = _trace(As, bs, x, arch, activation)
    return [_block(A, d, arch) for A, d in zip(As, ds)]


def _checked(out: np.ndarray, what: str) -> np.ndarray:
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{what} overflowed float64: use log10_input_norms for its size")
    return out


def input_jacobian(As, bs, x, arch: str = "residual", activation: str = "tanh") -> np.ndarray:
    """d h_L / d x = J_L ... J_1, an n x n array (the chain rule, applied from the input up)."""
    As, bs, x, arch, activation = _check_stack(As, bs, x, arch, activation)
    _, ds = _trace(As, bs, x, arch, activation)
    P = np.eye(x.size)
    with np.errstate(over="ignore", invalid="ignore"):
        for A, d in zip(As, ds):
            P = _block(A, d, arch) @ P
    return _checked(P, "d h_L / d x")


def parameter_jacobians(As, bs, x, arch: str = "residual", activation: str = "tanh") -> list[dict]:
    """Gradients of h_L with respect to every bias and weight matrix (section "Gradients of
    the parameters").

    Entry l - 1 of the list is for layer l: ``"b"`` is d h_L / d b_l (n x n) and ``"A"`` is
    the n x n x n array whose [i, j, k] entry is d (h_L)_i / d (A_l)_jk. Computed backwards:
    P_L = I, P_{l-1} = P_l J_l, and d h_L / d b_l = P_l D_l.
    """
    As, bs, x, arch, activation = _check_stack(As, bs, x, arch, activation)
    hs, ds = _trace(As, bs, x, arch, activation)
    L, n = bs.shape
    out: list[dict] = [{} for _ in range(L)]
    P = np.eye(n)
    with np.errstate(over="ignore", invalid="ignore"):
        for l in range(L - 1, -1, -1):
            grad_b = P * ds[l][None, :]
            out[l] = {"b": _checked(grad_b, "d h_L / d b"),
                      "A": _checked(grad_b[:, :, None] * hs[l][None, None, :], "d h_L / d A")}
            P = P @ _block(As[l], ds[l], arch)
    return out


_MP_PHI = {"tanh": mpmath.tanh, "sigmoid": lambda t: 1 / (1 + mpmath.exp(-t)),
           "relu": lambda t: t if t > 0 else mpmath.mpf(0)}


def reference_jacobians(As, bs, x, arch: str = "residual", activation: str = "tanh",
                        digits: int = 30) -> dict:
    """Every Jacobian of h_L by central differences of the forward map in mpmath arithmetic:
    ``"x"`` (n x n), ``"b"`` and ``"A"`` (lists over layers, n x n and n x n x n).

    The independent reference for :func:`input_jacobian` and :func:`parameter_jacobians`: it
    evaluates the stack's definition (no derivative) at points 10^-digits apart, through
    ``checks.mp_central_difference``, so even Jacobian entries of 1e-20 keep ~20 digits.
    """
    As, bs, x, arch, activation = _check_stack(As, bs, x, arch, activation)
    L, n = bs.shape
    f = _MP_PHI[activation]

    def run(A_list, b_list, h):
        for A, b in zip(A_list, b_list):
            z = [sum((A[i][k] * h[k] for k in range(n)), b[i]) for i in range(n)]
            if arch == "post-activation":
                z = [zi + hi for zi, hi in zip(z, h)]
            out = [f(zi) for zi in z]
            h = [o + hi for o, hi in zip(out, h)] if arch == "residual" else out
        return h

    A_mp = [[[mpmath.mpf(float(v)) for v in row] for row in A] for A in As]
    b_mp = [[mpmath.mpf(float(v)) for v in b] for b in bs]
    x_mp = [mpmath.mpf(float(v)) for v in x]
    diff = lambda g, at: checks.mp_central_difference(g, at, digits=digits, extra_digits=30)  # noqa: E731
    out = {"x": diff(lambda v: run(A_mp, b_mp, v), x), "b": [], "A": []}
    for l in range(L):
        out["b"].append(diff(lambda v, l=l: run(A_mp, b_mp[:l] + [v] + b_mp[l + 1:], x_mp), bs[l]))
        flat = diff(lambda v, l=l: run(A_mp[:l] + [[v[i * n:(i + 1) * n] for i in range(n)]] + A_mp[l + 1:],
                                       b_mp, x_mp), As[l].reshape(-1))
        out["A"].append(flat.reshape(n, n, n))
    return out


def random_stack(depth: int, width: int, scale: float, seed: int = 0, bias_scale: float = 0.0):
    """(As, bs, x): A_l with i.i.d. N(0, scale^2 / n) entries, b_l with N(0, bias_scale^2)
    entries, x with N(0, 1) entries, all from ``np.random.default_rng(seed)``.

    With scale = 1 each A_l keeps the length of a random vector on average (sigma_max(A_l) is
    close to 2 for large n). The same seed gives the same directions G_l at every scale, so
    A_l = scale * G_l / sqrt(n) (section "Measured: gradient norms through depth").
    """
    depth = checks.integer(depth, "depth", minimum=1, maximum=10_000)
    width = checks.integer(width, "width", minimum=1, maximum=1024)
    scale = checks.real(scale, "scale", minimum=0.0, maximum=MAX_SCALE)
    seed = checks.integer(seed, "seed", minimum=0, maximum=2**63 - 1)
    bias_scale = checks.real(bias_scale, "bias_scale", minimum=0.0, maximum=MAX_SCALE)
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((depth, width, width))
    x = rng.standard_normal(width)
    b = rng.standard_normal((depth, width))
    return scale * G / math.sqrt(width), bias_scale * b, x


def _blocks(As, ds, arch) -> np.ndarray:
    """All J_l at once, as an (L, n, n) array."""
    I = np.eye(ds.shape[1])
    if arch == "plain":
        return ds[:, :, None] * As
    if arch == "residual":
        return I + ds[:, :, None] * As
    return ds[:, :, None] * (As + I)


def _renormalised_products(factors, left: bool):
    """Running products of the factors (each new one on the left if ``left``, else on the
    right), each divided by its largest entry: (normalised products, log10 of the scales).

    A product that becomes exactly zero stays zero (its scale is -inf from there on).
    """
    L, n, _ = factors.shape
    out, logs = np.zeros_like(factors), np.full(L, -math.inf)
    M, scale = np.eye(n), 0.0
    for k, F in enumerate(factors):
        M = F @ M if left else M @ F
        c = float(np.max(np.abs(M)))
        if c == 0.0:
            break
        M, scale = M / c, scale + math.log10(c)
        out[k], logs[k] = M, scale
    return out, logs


def _log10_svals(Ms) -> np.ndarray:
    """log10 of the singular values of a stack of matrices, (L, n), -inf for zeros."""
    with np.errstate(divide="ignore"):
        return np.log10(np.linalg.svd(Ms, compute_uv=False))


def log10_layer_norms(As, bs, x, arch: str = "residual", activation: str = "tanh") -> dict:
    """log10 sigma_max(d h_L / d h_l) for l = 0..L: how large the gradient reaching layer l is.

    Keys ``layer`` (0..L) and ``log10_norm`` (0 at l = L, where the Jacobian is I). The
    product is renormalised after each factor and its scale kept as a logarithm, so it never
    under- or overflows (the chapter's interactive figure).
    """
    As, bs, x, arch, activation = _check_stack(As, bs, x, arch, activation)
    _, ds = _trace(As, bs, x, arch, activation)
    Ms, logs = _renormalised_products(_blocks(As, ds, arch)[::-1], left=False)
    norms = np.append((logs + _log10_svals(Ms)[:, 0])[::-1], 0.0)
    return {"layer": np.arange(bs.shape[0] + 1, dtype=float), "log10_norm": norms}


def log10_input_norms(As, bs, x, arch: str = "residual", activation: str = "tanh") -> dict:
    """Singular values of d h_k / d x for every depth k = 1..L, and the chapter's bounds on them.

    Keys (each an array over k = 1..L, all log10): ``sigma_max`` and ``sigma_min`` of
    d h_k / d x = J_k ... J_1; ``step_bound``, the sum of log10 sigma_max(J_j) over j <= k
    (submultiplicativity); ``upper`` and ``lower``, the sums of log10(1 + sigma_max(B_j)) and
    log10(1 - sigma_max(B_j)) with B_j = J_j - I (Weyl, theorem "Products of residual
    blocks"; ``lower`` is -inf once some sigma_max(B_j) >= 1). Renormalised like
    :func:`log10_layer_norms`.
    """
    As, bs, x, arch, activation = _check_stack(As, bs, x, arch, activation)
    _, ds = _trace(As, bs, x, arch, activation)
    blocks = _blocks(As, ds, arch)
    Ms, logs = _renormalised_products(blocks, left=True)
    sv = logs[:, None] + _log10_svals(Ms)
    branch = np.linalg.svd(blocks - np.eye(blocks.shape[1]), compute_uv=False)[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = np.where(branch < 1.0, np.log10(np.clip(1.0 - branch, 0.0, None)), -math.inf)
    return {"depth": np.arange(1, bs.shape[0] + 1, dtype=float), "sigma_max": sv[:, 0],
            "sigma_min": sv[:, -1], "step_bound": np.cumsum(_log10_svals(blocks)[:, 0]),
            "upper": np.cumsum(np.log10(1.0 + branch)), "lower": np.cumsum(lower)}


def input_norm_samples(arch: str, activation: str, scale: float, depth: int = 100,
                       width: int = 16, seeds: int = 30) -> dict:
    """:func:`log10_input_norms` of ``seeds`` random stacks (seeds 0..seeds-1), stacked as
    (seeds, depth) arrays under the same keys (section "Measured: gradient norms through depth")."""
    seeds = checks.integer(seeds, "seeds", minimum=1, maximum=1000)
    runs = [log10_input_norms(*random_stack(depth, width, scale, seed), arch, activation)
            for seed in range(seeds)]
    return {k: np.array([r[k] for r in runs]) for k in runs[0]}


def path_expansion(Ms) -> dict[tuple[int, ...], np.ndarray]:
    """The terms of (I + M_m) ... (I + M_1), one per subset S of {1..m} (section "A zero
    factor"): the product of the M_j with j in S, highest index on the left (I for S empty).

    Their sum is the product; a term survives M_j = 0 exactly when j is not in S.
    """
    Ms = checks.array(Ms, "Ms (the matrices M_1..M_m)", shape=("m", "n", "n"))
    m, n = Ms.shape[0], Ms.shape[1]
    if m > 12:
        raise ValueError(f"Ms must hold at most 12 matrices (2^m terms), got {m}")
    terms = {}
    for size in range(m + 1):
        for S in itertools.combinations(range(1, m + 1), size):
            T = np.eye(n)
            for j in S:  # ascending j: each new factor goes on the left
                T = Ms[j - 1] @ T
            terms[S] = T
    return terms
