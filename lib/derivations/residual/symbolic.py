"""SymPy derivations of the chapter "Residual connections" (``book/residual.md``).

Each function returns the expressions a section proves equal with
``checks.prove_identity``: the block Jacobians and parameter derivatives of one layer for a
general width n (SymPy differentiates sums over an index up to a symbolic n), batch
normalisation's Jacobian for a general batch size N, the steps of Weyl's inequality for
2 x 2 matrices, and the expansion of a product of residual factors into paths.
"""

from __future__ import annotations

import itertools

import sympy as sp

from .. import checks
from ..activations import expression
from .network import ARCHS

__all__ = [
    "layer_derivatives", "symbolic_stack", "batchnorm_general", "batchnorm_direct",
    "weyl_2x2_steps", "path_expansion_identity",
]

_PHI = sp.Function("varphi")
_T = sp.Dummy("t")


def _dphi(arg):
    """phi'(arg) for the generic phi, in the form SymPy's own chain rule produces."""
    return sp.Subs(sp.Derivative(_PHI(_T), _T), _T, arg)


def layer_derivatives(arch: str) -> dict:
    """One layer, general width n: SymPy's derivatives of (h_l)_i and the chapter's formulas.

    Returns ``{"h": (sympy, formula), "b": (...), "A": (...)}`` for d(h_l)_i/d(h_{l-1})_j,
    d(h_l)_i/d(b_l)_j and d(h_l)_i/d(A_l)_jq, with a generic activation varphi. SymPy
    answers with a Piecewise on "the index lies in 1..n"; writing n = j + m (or q + m) with
    m >= 0 settles that condition, so each pair holds for every n >= 1.
    """
    arch = checks.choice(arch, "arch", ARCHS)
    n = sp.Symbol("n", integer=True, positive=True)
    m = sp.Symbol("m", integer=True, nonnegative=True)
    i, j, q, r = sp.symbols("i j q r", integer=True, positive=True)
    A, h, b = sp.IndexedBase("A"), sp.IndexedBase("h"), sp.IndexedBase("b")
    z = sp.Sum(A[i, r] * h[r], (r, 1, n)) + b[i] + (h[i] if arch == "post-activation" else 0)
    out = _PHI(z) + (h[i] if arch == "residual" else 0)
    delta = sp.KroneckerDelta(i, j)
    dh = {"plain": _dphi(z) * A[i, j], "residual": delta + _dphi(z) * A[i, j],
          "post-activation": _dphi(z) * (delta + A[i, j])}[arch]
    pairs = {
        "h": (sp.diff(out, h[j]).doit(), dh, j),
        "b": (sp.diff(out, b[j]).doit(), _dphi(z) * delta, j),
        "A": (sp.diff(out, A[j, q]).doit(), _dphi(z) * delta * h[q], q),
    }
    return {k: (sp.simplify(got.subs(n, idx + m)), want.subs(n, idx + m))
            for k, (got, want, idx) in pairs.items()}


def symbolic_stack(width: int, depth: int, arch: str, activation: str):
    """(As, bs, x, h_L): matrices of symbols and the exact output of a small stack, so that
    SymPy can differentiate the composed map itself (an independent reference)."""
    width = checks.integer(width, "width", minimum=1, maximum=4)
    depth = checks.integer(depth, "depth", minimum=1, maximum=4)
    arch = checks.choice(arch, "arch", ARCHS)
    u = sp.Symbol("u", real=True)
    f = sp.Lambda(u, expression(checks.choice(activation, "activation", ("tanh", "sigmoid")), u))
    layers = range(1, depth + 1)
    As = [sp.Matrix(width, width, lambda a, c, l=l: sp.Symbol(f"A{l}_{a}{c}", real=True))
          for l in layers]
    bs = [sp.Matrix(width, 1, lambda a, _c, l=l: sp.Symbol(f"b{l}_{a}", real=True))
          for l in layers]
    x = sp.Matrix(width, 1, lambda a, _c: sp.Symbol(f"x_{a}", real=True))
    h = x
    for A, b in zip(As, bs):
        z = A * h + b + (h if arch == "post-activation" else sp.zeros(width, 1))
        out = z.applyfunc(f)
        h = out + h if arch == "residual" else out
    return As, bs, x, h


def batchnorm_general() -> dict:
    """Batch normalisation's Jacobian for a general batch size N, through its statistics.

    y_i depends on u_j (j != i) only through S_1 = sum_k u_k and S_2 = sum_k u_k^2, whose
    derivatives are 1 and 2 u_j for every N; so the total derivative is
    d y_i / d u_j = [i = j] dy/du_i + dy/dS_1 + 2 u_j dy/dS_2. Returned pairs (derivative,
    formula) for i != j and i = j, after writing S_2 through tau = sqrt(v + eta) > 0, and the
    two facts behind the eigenvalues: sum_k uhat_k = 0, sum_k uhat_k^2 = N (tau^2 - eta)/tau^2.
    """
    N = sp.Symbol("N", positive=True)
    ui, uj, S1, S2 = sp.symbols("u_i u_j S_1 S_2", real=True)
    eta, g, tau = sp.symbols("eta g tau", positive=True)
    mu = S1 / N
    y = g * (ui - mu) / sp.sqrt(S2 / N - mu**2 + eta)
    to_tau = {S2: N * (tau**2 - eta + mu**2)}  # v = S_2/N - mu^2 = tau^2 - eta
    off = (sp.diff(y, S1) + 2 * uj * sp.diff(y, S2)).subs(to_tau)
    diag = (sp.diff(y, ui) + sp.diff(y, S1) + 2 * ui * sp.diff(y, S2)).subs(to_tau)
    hat = lambda u: (u - mu) / tau  # noqa: E731
    return {
        "symbols": {"N": N, "u_i": ui, "u_j": uj, "S_1": S1, "S_2": S2, "eta": eta, "g": g,
                    "tau": tau},
        "y": y,
        "offdiag": (off, g / tau * (-1 / N - hat(ui) * hat(uj) / N)),
        "diag": (diag, g / tau * (1 - 1 / N - hat(ui) ** 2 / N)),
        "sum_uhat": ((S1 - N * mu) / tau, sp.Integer(0)),
        "sum_uhat_sq": (((S2 - 2 * mu * S1 + N * mu**2) / tau**2).subs(to_tau),
                        N * (tau**2 - eta) / tau**2),
    }


def batchnorm_direct(batch: int):
    """(u, J_sympy, J_formula) for an explicit batch of ``batch`` symbols: SymPy differentiates
    BN written out with its sums, and the chapter's formula (gain g = 1) built beside it."""
    batch = checks.integer(batch, "batch", minimum=2, maximum=4)
    u = sp.Matrix(batch, 1, lambda a, _c: sp.Symbol(f"u_{a + 1}", real=True))
    eta = sp.Symbol("eta", positive=True)
    mu = sum(u) / batch
    tau = sp.sqrt(sum((uk - mu) ** 2 for uk in u) / batch + eta)
    y = (u - sp.ones(batch, 1) * mu) / tau
    uhat = y
    formula = (sp.eye(batch) - sp.ones(batch, batch) / batch - uhat * uhat.T / batch) / tau
    return u, y.jacobian(u), formula


def weyl_2x2_steps() -> dict:
    """The identities behind Weyl's inequality for 2 x 2 matrices, as (lhs, rhs) pairs.

    With v = (cos t, sin t): ``rayleigh`` writes |M v|^2 as a + b cos 2t + c sin 2t;
    ``eig_plus``/``eig_minus`` show a +- sqrt(b^2 + c^2) are the eigenvalues of M^T M (so
    they are sigma_1^2 and sigma_2^2); ``amplitude`` shows b cos x + c sin x never exceeds
    sqrt(b^2 + c^2) in size (so the range of |M v|^2 is exactly [sigma_2^2, sigma_1^2]);
    ``lagrange`` is Cauchy-Schwarz for 2-vectors; ``lower_gap``/``upper_gap`` compare
    |(I + B) v|^2 with (1 -+ |B v|)^2.
    """
    t, x = sp.symbols("t x", real=True)
    M = sp.Matrix(2, 2, sp.symbols("m_11 m_12 m_21 m_22", real=True))
    B = sp.Matrix(2, 2, sp.symbols("beta_11 beta_12 beta_21 beta_22", real=True))
    v = sp.Matrix([sp.cos(t), sp.sin(t)])
    a = (M[0, 0] ** 2 + M[0, 1] ** 2 + M[1, 0] ** 2 + M[1, 1] ** 2) / 2
    b = (M[0, 0] ** 2 + M[1, 0] ** 2 - M[0, 1] ** 2 - M[1, 1] ** 2) / 2
    c = M[0, 0] * M[0, 1] + M[1, 0] * M[1, 1]
    r = sp.sqrt(b**2 + c**2)
    G = M.T * M
    lam = sp.Symbol("lambda")
    charpoly = (G - lam * sp.eye(2)).det()
    p1, p2, w1, w2 = sp.symbols("p_1 p_2 w_1 w_2", real=True)
    Bv = B * v
    norm_Bv = sp.sqrt(Bv.dot(Bv))
    vBv = v.dot(Bv)
    IBv = (sp.eye(2) + B) * v
    return {
        "symbols": {"t": t, "M": M, "B": B, "a": a, "b": b, "c": c},
        "rayleigh": ((M * v).dot(M * v), a + b * sp.cos(2 * t) + c * sp.sin(2 * t)),
        "eig_plus": (charpoly.subs(lam, a + r), sp.Integer(0)),
        "eig_minus": (charpoly.subs(lam, a - r), sp.Integer(0)),
        "amplitude": ((b * sp.cos(x) + c * sp.sin(x)) ** 2 + (b * sp.sin(x) - c * sp.cos(x)) ** 2,
                      b**2 + c**2),
        "lagrange": ((p1**2 + p2**2) * (w1**2 + w2**2) - (p1 * w1 + p2 * w2) ** 2,
                     (p1 * w2 - p2 * w1) ** 2),
        "unit": (v.dot(v), sp.Integer(1)),
        "lower_gap": (IBv.dot(IBv) - (1 - norm_Bv) ** 2, 2 * (norm_Bv + vBv)),
        "upper_gap": ((1 + norm_Bv) ** 2 - IBv.dot(IBv), 2 * (norm_Bv - vBv)),
    }


def path_expansion_identity(factors: int):
    """(product, sum of paths) for (1 + M_m) ... (1 + M_1) with non-commuting M_j: the
    expansion into one term per subset S of {1..m}, highest index on the left."""
    factors = checks.integer(factors, "factors", minimum=1, maximum=6)
    Ms = sp.symbols(f"M_1:{factors + 1}", commutative=False)
    product = sp.Integer(1)
    for M in Ms:
        product = (1 + M) * product
    paths = sp.Integer(0)
    for size in range(factors + 1):
        for S in itertools.combinations(range(factors), size):
            term = sp.Integer(1)
            for k in S:
                term = Ms[k] * term
            paths += term
    return sp.expand(product), paths
