"""Tests of derivations.residual: the three stacks, their Jacobians, Weyl's inequalities,
batch normalisation's Jacobian, the SymPy derivations and the figure.

Every Jacobian is compared with a reference that differentiates nothing: central
differences of the forward map (mpmath or float64), or SymPy's derivative of the composed
expression. Every bound is checked both ways: it holds, and a constructed case reaches it.
"""

import math

import matplotlib.figure
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from derivations import checks, residual
from derivations.residual import batchnorm as bn
from derivations.residual import figure as rfig
from derivations.residual import symbolic, weyl

from .hostile import Call

ARCHS, ACTS = residual.ARCHS, residual.ACTIVATIONS
_As, _bs, _x = residual.random_stack(3, 3, 1.0, seed=0, bias_scale=0.5)
_STACK = {"As": _As, "bs": _bs, "x": _x, "arch": "residual", "activation": "tanh"}
_M = np.arange(9.0).reshape(3, 3) / 7
_u = np.array([0.3, -1.2, 2.0, 0.7])
_H = np.random.default_rng(1).standard_normal((4, 3))
_BOUND = checks.check_bound(np.array([0.5, 1.0]), np.array([1.0, 1.0]))

PUBLIC_CALLS = [
    Call(residual.forward, dict(_STACK)),
    Call(residual.block_jacobians, dict(_STACK)),
    Call(residual.input_jacobian, dict(_STACK)),
    Call(residual.parameter_jacobians, dict(_STACK)),
    Call(residual.log10_layer_norms, dict(_STACK)),
    Call(residual.log10_input_norms, dict(_STACK)),
    Call(residual.reference_jacobians, {**_STACK, "digits": 20}),
    Call(residual.random_stack, {"depth": 3, "width": 3, "scale": 1.0, "seed": 0,
                                 "bias_scale": 0.5}),
    Call(residual.input_norm_samples, {"arch": "plain", "activation": "relu", "scale": 1.0,
                                       "depth": 5, "width": 3, "seeds": 2}),
    Call(residual.path_expansion, {"Ms": np.stack([_M, -_M])}),
    Call(weyl.singular_values, {"M": _M}),
    Call(weyl.weyl_sides, {"A": _M, "B": np.eye(3)}),
    Call(weyl.perturbation_sides, {"A": _M, "B": np.eye(3)}),
    Call(weyl.residual_sides, {"B": _M}),
    Call(weyl.random_orthogonal, {"n": 3, "seed": 0}),
    Call(weyl.tight_weyl_pair, {"n": 4, "i": 2, "j": 2, "seed": 0}),
    Call(bn.batchnorm, {"u": _u, "gain": 1.5, "shift": 0.2, "eta": 1e-5}),
    Call(bn.batchnorm_jacobian, {"u": _u, "gain": 1.5, "eta": 1e-5}),
    Call(bn.batchnorm_eigenvalues, {"u": _u, "gain": 1.5, "eta": 1e-5}),
    Call(bn.reference_jacobian, {"u": _u, "gain": 1.5, "eta": 1e-5}),
    Call(bn.bn_block, {"H": _H, "A": _M, "arch": "residual", "activation": "relu", "eta": 1e-5}),
    Call(bn.bn_block_jacobian, {"H": _H, "A": _M, "arch": "post-activation",
                                "activation": "tanh", "eta": 1e-5}),
    Call(bn.bn_random_stack, {"depth": 2, "width": 3, "batch": 4, "seed": 0}),
    Call(bn.bn_log10_input_norms, {"As": np.stack([_M, _M.T]), "H0": _H, "arch": "plain",
                                   "activation": "relu", "eta": 1e-5, "every": 1}),
    Call(bn.bn_input_norm_samples, {"arch": "residual", "activation": "relu", "depth": 4,
                                    "width": 3, "batch": 4, "seeds": 2, "every": 2}),
    Call(symbolic.layer_derivatives, {"arch": "plain"}),
    Call(symbolic.symbolic_stack, {"width": 2, "depth": 1, "arch": "residual",
                                   "activation": "tanh"}),
    Call(symbolic.batchnorm_general, {}),
    Call(symbolic.batchnorm_direct, {"batch": 2}),
    Call(symbolic.weyl_2x2_steps, {}),
    Call(symbolic.path_expansion_identity, {"factors": 2}),
    Call(rfig.figure_data, {"depth": 10, "scale": 1.0, "activation": "tanh", "arch": "residual"}),
]

HOSTILE_EXEMPT = {
    "derivations.residual.figure.plot_figure":
        "draws on the matplotlib Figure the Explorer passes in, from figure_data's checked output",
    "derivations.residual.figure.chart_figure":
        "builds an Altair chart from the Explorer's own source and params",
    "derivations.residual.figure.explorer": "takes no arguments",
    "derivations.residual.figure.plot_measurement":
        "draws the chapter's static figure from arrays the chapter computed (refuses an empty dict)",
}


def _stack(L=4, n=3, seed=2, scale=1.0):
    return residual.random_stack(L, n, scale, seed=seed, bias_scale=0.5)


# --- the forward map --------------------------------------------------------------------

@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("act", ["tanh", "sigmoid"])
def test_forward_is_the_definition(arch, act):
    # The float64 stack against SymPy's exact expression, evaluated to 30 digits: 1e-14.
    As_s, bs_s, x_s, hL = symbolic.symbolic_stack(2, 3, arch, act)
    As, bs, x = _stack(3, 2)
    subs = {s: sp.Float(float(v), 30) for M, V in [*zip(As_s, As), *zip(bs_s, bs), (x_s, x)]
            for s, v in zip(M, np.ravel(V))}
    exact = np.array(hL.subs(subs).evalf(30), dtype=float).ravel()
    hs = residual.forward(As, bs, x, arch, act)
    assert len(hs) == 4 and np.array_equal(hs[0], x)
    assert np.allclose(hs[-1], exact, rtol=1e-14, atol=0)


def test_forward_relu_by_hand():
    A = np.array([[[1.0, -2.0], [0.5, 1.0]]])
    b = np.array([[0.1, -3.0]])
    x = np.array([1.0, 2.0])
    z = A[0] @ x + b[0]  # (-2.9, -1.5)
    assert np.array_equal(residual.forward(A, b, x, "plain", "relu")[-1], [0.0, 0.0])
    assert np.array_equal(residual.forward(A, b, x, "residual", "relu")[-1], x)
    assert np.array_equal(residual.forward(A, b, x, "post-activation", "relu")[-1],
                          np.maximum(z + x, 0))


# --- Jacobians ----------------------------------------------------------------------------

@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("act", ACTS)
def test_jacobians_match_mpmath_differences(arch, act):
    # Every Jacobian of h_L against central differences of the forward map in mpmath:
    # measured <= 1e-13 per entry; tolerance 1e-11.
    As, bs, x = _stack(3, 3, seed=7)
    ref = residual.reference_jacobians(As, bs, x, arch, act)
    grads = residual.parameter_jacobians(As, bs, x, arch, act)
    checks.check_close(residual.input_jacobian(As, bs, x, arch, act), ref["x"], 1e-11)
    for g, rb, rA in zip(grads, ref["b"], ref["A"]):
        checks.check_close(g["b"], rb, 1e-11)
        checks.check_close(g["A"], rA, 1e-11)


@pytest.mark.parametrize("arch", ARCHS)
def test_block_jacobians_are_the_formulas_and_multiply_to_the_input_jacobian(arch):
    As, bs, x = _stack(5, 4, seed=3)
    hs = residual.forward(As, bs, x, arch, "tanh")
    Js = residual.block_jacobians(As, bs, x, arch, "tanh")
    P = np.eye(4)
    for l, J in enumerate(Js):
        z = As[l] @ hs[l] + bs[l] + (hs[l] if arch == "post-activation" else 0)
        d = 1 - np.tanh(z) ** 2
        want = {"plain": d[:, None] * As[l], "residual": np.eye(4) + d[:, None] * As[l],
                "post-activation": d[:, None] * (As[l] + np.eye(4))}[arch]
        assert np.allclose(J, want, rtol=1e-14, atol=1e-15)
        P = J @ P
    assert np.allclose(residual.input_jacobian(As, bs, x, arch, "tanh"), P, rtol=1e-13, atol=0)


def test_parameter_jacobians_structure():
    As, bs, x = _stack(4, 3, seed=5)
    hs = residual.forward(As, bs, x, "residual", "sigmoid")
    grads = residual.parameter_jacobians(As, bs, x, "residual", "sigmoid")
    assert len(grads) == 4 and all(set(g) == {"b", "A"} for g in grads)
    for l, g in enumerate(grads):
        assert g["b"].shape == (3, 3) and g["A"].shape == (3, 3, 3)
        # d(h_L)_i / d(A_l)_jk = (d h_L / d b_l)_ij (h_{l-1})_k, exactly (one product each).
        assert np.array_equal(g["A"], g["b"][:, :, None] * hs[l][None, None, :])
    s = 1 / (1 + np.exp(-(As[3] @ hs[3] + bs[3])))
    assert np.allclose(grads[3]["b"], np.diag(s * (1 - s)), rtol=1e-14)  # the top layer: D_L


# --- log-space norms and the bounds ---------------------------------------------------------

@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("act", ACTS)
def test_log_norms_match_direct_products(arch, act):
    # Where float64 does not overflow, the renormalised products give the same singular
    # values as the direct ones: 1e-10 absolute in log10 (rounding).
    As, bs, x = residual.random_stack(30, 6, 1.5, seed=4, bias_scale=0.3)
    out = residual.log10_input_norms(As, bs, x, arch, act)
    for k in (1, 7, 30):
        s = np.linalg.svd(residual.input_jacobian(As[:k], bs[:k], x, arch, act), compute_uv=False)
        with np.errstate(divide="ignore"):
            assert np.allclose(out["sigma_max"][k - 1], np.log10(s[0]), atol=1e-10)
            if s[-1] > 1e-6 * s[0]:  # sigma_min is only accurate when well conditioned
                assert abs(out["sigma_min"][k - 1] - np.log10(s[-1])) < 1e-6
    layers = residual.log10_layer_norms(As, bs, x, arch, act)
    assert layers["log10_norm"][-1] == 0.0 and np.array_equal(layers["layer"], np.arange(31))
    assert math.isclose(layers["log10_norm"][0], out["sigma_max"][-1], abs_tol=1e-9)


def test_log_norms_survive_where_float64_underflows():
    As, bs, x = residual.random_stack(600, 4, 1.0, seed=1)
    out = residual.log10_input_norms(As, bs, x, "plain", "sigmoid")
    assert np.all(np.isfinite(out["sigma_max"])) and out["sigma_max"][-1] < -330
    assert not residual.input_jacobian(As, bs, x, "plain", "sigmoid").any()  # underflowed


def test_exactly_zero_products_stay_zero():
    As, bs, x = _stack(4, 3)
    bs[1] = -1e3  # relu' = 0 on every unit of layer 2
    out = residual.log10_input_norms(As, bs, x, "plain", "relu")
    assert out["sigma_max"][0] > -np.inf and np.all(out["sigma_max"][1:] == -np.inf)
    layers = residual.log10_layer_norms(As, bs, x, "plain", "relu")
    assert np.all(layers["log10_norm"][:2] == -np.inf) and layers["log10_norm"][2] > -np.inf


@settings(max_examples=30)
@given(st.sampled_from(ARCHS), st.sampled_from(ACTS), st.floats(0.01, 3.0),
       st.integers(0, 10_000))
def test_product_bounds_hold_for_random_stacks(arch, act, scale, seed):
    # Theorem "Products of residual blocks" with B_l = J_l - I, and submultiplicativity,
    # at every depth; 1e-9 in log10 covers the rounding of 40 logarithms.
    out = residual.log10_input_norms(*residual.random_stack(40, 5, scale, seed), arch, act)
    assert np.all(out["sigma_max"] <= out["step_bound"] + 1e-9)
    assert np.all(out["step_bound"] <= out["upper"] + 1e-9)
    assert np.all(out["sigma_min"] >= out["lower"] - 1e-9)
    assert np.all(out["sigma_min"] <= out["sigma_max"] + 1e-12)


def test_product_bounds_are_attained_and_a_wrong_bound_fails():
    # B_l = -eps_l u u^T: sigma_min of the product is exactly prod (1 - eps_l).
    rng = np.random.default_rng(0)
    u = rng.standard_normal(5)
    u /= np.linalg.norm(u)
    eps = rng.uniform(0, 0.2, size=30)
    P = np.eye(5)
    for e in eps:
        P = (np.eye(5) - e * np.outer(u, u)) @ P
    smin = np.linalg.svd(P, compute_uv=False)[-1]
    checks.check_bound(np.prod(1 - eps), smin, attained=1 - 1e-12)
    with pytest.raises(AssertionError):  # a bound one factor too strong is violated
        checks.check_bound(np.prod(1 - eps) / (1 - eps[0]), smin)


def test_input_norm_samples_stack_the_runs():
    out = residual.input_norm_samples("residual", "tanh", 0.5, depth=6, width=4, seeds=3)
    assert out["sigma_max"].shape == (3, 6)
    one = residual.log10_input_norms(*residual.random_stack(6, 4, 0.5, 2), "residual", "tanh")
    assert np.array_equal(out["sigma_max"][2], one["sigma_max"])


# --- which terms survive a zero factor -------------------------------------------------------

def test_path_expansion_sums_to_the_product_and_zero_factor_kills_its_paths():
    rng = np.random.default_rng(3)
    Ms = rng.standard_normal((4, 3, 3)) / 2
    terms = residual.path_expansion(Ms)
    assert len(terms) == 16 and np.array_equal(terms[()], np.eye(3))
    P = np.eye(3)
    for M in Ms:
        P = (np.eye(3) + M) @ P
    assert np.allclose(sum(terms.values()), P, rtol=1e-13, atol=1e-14)
    assert np.allclose(terms[(1, 3)], Ms[2] @ Ms[0])  # highest index on the left
    Ms[1] = 0.0
    terms = residual.path_expansion(Ms)
    assert all(not T.any() for S, T in terms.items() if 2 in S)
    assert sum(1 for S in terms if 2 not in S) == 8


@pytest.mark.parametrize("arch,zero_expected", [("plain", True), ("residual", False),
                                                ("post-activation", True)])
def test_a_dead_layer_above(arch, zero_expected):
    As, bs, x = residual.random_stack(6, 8, 1.0, seed=9, bias_scale=0.5)
    bs[3] = -1e3  # layer 4 dead for ReLU
    g = residual.parameter_jacobians(As, bs, x, arch, "relu")[1]
    assert (not g["b"].any()) == zero_expected and (not g["A"].any()) == zero_expected


def test_a_dead_layer_kills_its_own_gradient_in_every_stack():
    As, bs, x = residual.random_stack(6, 8, 1.0, seed=9, bias_scale=0.5)
    bs[2] = -1e3
    for arch in ARCHS:
        g = residual.parameter_jacobians(As, bs, x, arch, "relu")[2]
        assert not g["b"].any() and not g["A"].any()


# --- Weyl -------------------------------------------------------------------------------------

@settings(max_examples=40)
@given(st.integers(1, 12), st.floats(0.01, 5.0), st.integers(0, 10_000))
def test_weyl_inequalities_hold(n, scale, seed):
    rng = np.random.default_rng(seed)
    M, E = rng.standard_normal((n, n)), scale * rng.standard_normal((n, n))
    checks.check_bound(*weyl.weyl_sides(M, E))
    checks.check_bound(*weyl.perturbation_sides(M, E))
    for value, bound in weyl.residual_sides(E / math.sqrt(n)).values():
        checks.check_bound(value, bound)


@pytest.mark.parametrize("n", [1, 2, 4, 7])
def test_weyl_equality_cases(n):
    for i in range(1, n + 1):
        for j in range(1, n - i + 2):
            M, E = weyl.tight_weyl_pair(n, i, j, seed=i + 10 * j)
            s = weyl.singular_values
            assert math.isclose(s(M + E)[i + j - 2], s(M)[i - 1] + s(E)[j - 1], rel_tol=1e-12)
    for e in (0.1, 0.7):
        lower = weyl.residual_sides(-e * np.eye(n))["lower"]
        upper = weyl.residual_sides(e * np.eye(n))["upper"]
        assert math.isclose(lower[0], lower[1], rel_tol=1e-14)
        assert math.isclose(upper[0], upper[1], rel_tol=1e-14)


def test_weyl_sides_pairs_and_orthogonal():
    v, b = weyl.weyl_sides(np.diag([3.0, 2.0, 1.0]), np.diag([0.5, 0.25, 0.0]))
    assert v.size == b.size == 6  # (i, j) with i + j - 1 <= 3
    Q = weyl.random_orthogonal(5, seed=3)
    assert np.allclose(Q.T @ Q, np.eye(5), atol=1e-14)


# --- batch normalisation ----------------------------------------------------------------------

@pytest.mark.parametrize("N", [2, 3, 5, 32])
@pytest.mark.parametrize("gain", [1.0, -2.5])
def test_batchnorm_jacobian_and_all_eigenvalues(N, gain):
    u = np.random.default_rng(N).normal(0.5, 2.0, size=N)
    J = bn.batchnorm_jacobian(u, gain=gain)
    # N = 2 loses ~5 digits to cancellation (entries ~ eta/tau^3): measured 5e-11, tol 3e-9.
    checks.check_close(J, bn.reference_jacobian(u, gain=gain), 3e-9 if N == 2 else 1e-12)
    assert np.allclose(J, J.T, atol=0)
    eig = np.linalg.eigvalsh(J)
    want = bn.batchnorm_eigenvalues(u, gain=gain)
    assert np.allclose(eig, want, rtol=0, atol=3e-9 * np.max(np.abs(eig)))  # N = 2 cancels
    assert np.allclose(J @ np.ones(N), 0, atol=1e-14 * N)


def test_batchnorm_output_statistics():
    u = np.random.default_rng(0).normal(3.0, 2.0, size=50)
    y = bn.batchnorm(u, gain=2.0, shift=-1.0, eta=0.0 + 1e-12)
    assert math.isclose(y.mean(), -1.0, abs_tol=1e-12)
    assert math.isclose(y.std(), 2.0, rel_tol=1e-9)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("act", ACTS)
def test_bn_block_jacobian_matches_differences(arch, act):
    # Float64 central differences: measured ~1e-10 of the largest entry; tolerance 1e-8.
    H = np.random.default_rng(4).standard_normal((5, 3))
    A = np.random.default_rng(5).standard_normal((3, 3))
    J = bn.bn_block_jacobian(H, A, arch, act)
    F = checks.central_difference(lambda w: bn.bn_block(w.reshape(5, 3), A, arch, act).ravel(),
                                  H.ravel())
    assert np.max(np.abs(J - F)) <= 1e-8 * np.max(np.abs(F))


@pytest.mark.parametrize("arch", ARCHS)
def test_bn_structured_product_equals_dense(arch):
    rng = np.random.default_rng(6)
    H, A, M = rng.standard_normal((6, 4)), rng.standard_normal((4, 4)), rng.standard_normal((24, 7))
    dense = bn.bn_block_jacobian(H, A, arch, "relu") @ M
    assert np.allclose(bn._apply_block_jacobian(H, A, arch, "relu", 1e-5, M), dense,
                       rtol=1e-13, atol=1e-14)


def test_bn_log_norms_match_dense_products():
    As, H0 = bn.bn_random_stack(6, 3, 4, seed=2)
    out = bn.bn_log10_input_norms(As, H0, "post-activation", "tanh", every=2)
    P, H = np.eye(12), H0
    direct = []
    for l, A in enumerate(As):
        P = bn.bn_block_jacobian(H, A, "post-activation", "tanh") @ P
        H = bn.bn_block(H, A, "post-activation", "tanh")
        if l % 2 == 1:
            direct.append(math.log10(np.linalg.norm(P, 2)))
    assert np.allclose(out, direct, atol=1e-10)
    samples = bn.bn_input_norm_samples("post-activation", "tanh", depth=6, width=3, batch=4,
                                       seeds=3, every=2)
    assert np.array_equal(samples[2], out)


# --- symbolic -------------------------------------------------------------------------------

@pytest.mark.parametrize("arch", ARCHS)
def test_layer_derivatives_are_proved_and_a_wrong_formula_is_not(arch):
    pairs = symbolic.layer_derivatives(arch)
    for got, want in pairs.values():
        assert checks.prove_identity(got, want).check.status() == "proved"
    got, want = pairs["h"]
    j = [s for s in want.free_symbols if s.name == "j"][0]
    i = [s for s in want.free_symbols if s.name == "i"][0]
    with pytest.raises(AssertionError):  # without the identity term (residual) or with it
        wrong = want - sp.KroneckerDelta(i, j) if arch == "residual" else want + sp.KroneckerDelta(i, j)
        checks.prove_identity(got.subs({i: 1, j: 1}), wrong.subs({i: 1, j: 1}))


def test_batchnorm_and_weyl_identities_are_proved():
    general = symbolic.batchnorm_general()
    for key in ("offdiag", "diag", "sum_uhat", "sum_uhat_sq"):
        assert checks.prove_identity(*general[key]).check.status() == "proved"
    u, J, F = symbolic.batchnorm_direct(2)
    assert all(checks.prove_identity(J[a, c], F[a, c]).check.status() == "proved"
               for a in range(2) for c in range(2))
    steps = symbolic.weyl_2x2_steps()
    for key, pair in steps.items():
        if key != "symbols":
            assert checks.prove_identity(*pair).check.status() == "proved", key
    with pytest.raises(AssertionError):  # the gap with the wrong sign is not an identity
        lhs, rhs = steps["lower_gap"]
        checks.prove_identity(lhs, rhs - 4 * steps["symbols"]["B"][0, 0])


def test_path_expansion_identity_orders_the_factors():
    product, paths = symbolic.path_expansion_identity(3)
    assert checks.prove_identity(product, paths).check.status() == "proved"
    M1, M2 = sorted((s for s in paths.free_symbols if s.name in ("M_1", "M_2")), key=str)
    assert sp.expand(paths - M2 * M1 + M1 * M2) != sp.expand(product)  # order matters


# --- the figure ---------------------------------------------------------------------------

def test_figure_data_and_table_budget():
    data = rfig.figure_data(20, 2.0, "relu", "plain")
    As, bs, x = residual.random_stack(100, rfig.FIGURE_WIDTH, 2.0, seed=rfig.FIGURE_SEED)
    ref = residual.log10_layer_norms(As[:20], bs[:20], x, "plain", "relu")
    assert np.array_equal(data["log10_norm"], ref["log10_norm"])
    ex = rfig.explorer()
    rows = ex.table()
    assert len(rows) == 10 * len(rfig.FIGURE_SCALES) * 3 * 3
    assert sum(len(r["layer"]) + len(r["log10_norm"]) for r in rows) <= 41_000
    assert ex.vega_spec()["usermeta"]["explorer"] == "residual-gradients"


def test_plot_updates_in_place():
    ex = rfig.explorer()
    fig = matplotlib.figure.Figure()
    first = dict(depth=30, scale="1.0", activation="tanh", arch="residual")
    rfig.plot_figure(fig, ex.data(**first), **first)
    ax, lines = fig.axes[0], list(fig.axes[0].lines)
    second = dict(depth=60, scale="4.0", activation="relu", arch="plain")
    rfig.plot_figure(fig, ex.data(**second), **second)
    assert fig.axes == [ax] and list(ax.lines) == lines  # same artists, new data
    assert len(ax.lines[-1].get_xdata()) == 61 and "plain" in ax.get_title()
    assert ax.get_xlim() == (0.0, 60.0)


def test_plot_measurement_draws_one_panel_per_title():
    fig = matplotlib.figure.Figure()
    d = np.arange(1, 6)
    rfig.plot_measurement(fig, {"a": {"plain": (d, np.ones((3, 5)))},
                                "b": {"residual": (d, np.zeros((3, 5)))}})
    assert len(fig.axes) == 2
    with pytest.raises(ValueError):
        rfig.plot_measurement(fig, {})


# --- bad input --------------------------------------------------------------------------------

def test_bad_stacks_are_refused():
    As, bs, x = _stack(3, 3)
    with pytest.raises(ValueError, match="x"):
        residual.forward(As, bs, np.zeros(4))
    with pytest.raises(ValueError, match="bs"):
        residual.forward(As, bs[:2], x)
    with pytest.raises(ValueError, match="As"):
        residual.forward(As[:, :, :2], bs, x)
    with pytest.raises(ValueError, match="As"):
        residual.forward(np.zeros((0, 3, 3)), bs, x)
    with pytest.raises(ValueError, match="finite"):
        residual.input_jacobian(np.where(As == As[0, 0, 0], np.nan, As), bs, x)
    with pytest.raises(ValueError, match="arch"):
        residual.parameter_jacobians(As, bs, x, arch="pre-activation")
    with pytest.raises(ValueError, match="activation"):
        residual.forward(As, bs, x, activation="gelu")
    with pytest.raises(ValueError, match="overflow"):
        residual.forward(*residual.random_stack(200, 4, 1e3, seed=0), "residual", "relu")
    with pytest.raises(ValueError, match="at most 12"):
        residual.path_expansion(np.zeros((13, 2, 2)))
    with pytest.raises(ValueError, match="2 samples"):
        bn.batchnorm(np.array([1.0]))
    with pytest.raises(ValueError, match="H"):
        bn.bn_block(np.zeros((1, 3)), np.eye(3))
    with pytest.raises(ValueError, match="j"):
        weyl.tight_weyl_pair(4, 3, 3)
