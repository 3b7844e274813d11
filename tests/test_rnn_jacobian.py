"""Tests of derivations.rnn_jacobian: the step Jacobian, the product, its bound and the figure.

The chain-rule product is compared with an independent finite difference in mpmath, the
log-space path with the plain float64 product, and the bound with the actual singular value.
"""

import math

import matplotlib.figure
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from derivations import rnn_jacobian as rj

kinds = st.sampled_from(rj.MATRIX_KINDS)
sigmas = st.floats(min_value=0.05, max_value=3.0)
seeds = st.integers(min_value=0, max_value=10_000)


# --- symbolic ---------------------------------------------------------------------------

@pytest.mark.parametrize("size", [1, 2, 3])
def test_step_jacobian_formula_equals_sympy_jacobian(size):
    # diag(tanh'(W x)) W is SymPy's own Jacobian of tanh(W x), entry by entry (exact identity).
    W, x, step = rj.symbolic_step(size)
    assert W.shape == (size, size) and x.shape == (size, 1)
    assert sp.simplify(step.jacobian(x) - rj.step_jacobian_formula(W, x)) == sp.zeros(size, size)


def test_step_jacobian_formula_is_not_tanh_prime_at_the_state():
    # The pre-activation matters: tanh' evaluated at x instead of W x is a different matrix.
    W, x, step = rj.symbolic_step(2)
    wrong = sp.diag(*[1 - sp.tanh(xi) ** 2 for xi in x]) * W
    point = {**dict(zip(W, [1, 2, -1, 0.5])), **dict(zip(x, [0.3, -0.7]))}
    assert abs(float((step.jacobian(x) - wrong).subs(point).norm())) > 0.1


# --- numeric ----------------------------------------------------------------------------

@settings(max_examples=30)
@given(kinds, sigmas, st.integers(1, 6), seeds)
def test_scaled_matrix_has_the_requested_sigma_max(kind, sigma, size, seed):
    # sigma_max(W) = sigma to 1e-12 relative (QR / SVD rounding); orthogonal-scaled has all
    # singular values equal to sigma.
    W = rj.scaled_matrix(kind, sigma, size, seed=seed)
    assert math.isclose(rj.sigma_max(W), sigma, rel_tol=1e-12)
    if kind == "orthogonal-scaled":
        assert np.allclose(np.linalg.svd(W, compute_uv=False), sigma, rtol=1e-12)


def test_trajectory_follows_the_recurrence():
    W = rj.scaled_matrix("random", 1.3, 4, seed=1)
    xs = rj.trajectory(W, np.arange(4.0), 6)
    assert xs.shape == (6, 4) and np.array_equal(xs[0], np.arange(4.0))
    # Each row is tanh(W @ previous row), bit for bit (same operations).
    assert all(np.array_equal(xs[t + 1], np.tanh(W @ xs[t])) for t in range(5))


def test_step_jacobian_matches_sympy_at_a_point():
    # 1e-14 relative: a few roundings in tanh and in one product.
    W, x, step = rj.symbolic_step(3)
    rng = np.random.default_rng(3)
    W0, x0 = rng.standard_normal((3, 3)), rng.standard_normal(3)
    subs = {s: sp.Rational(v) for s, v in [*zip(W, W0.ravel()), *zip(x, x0)]}  # exact binary values
    exact = np.array(step.jacobian(x).subs(subs).evalf(30), dtype=float)
    assert np.allclose(rj.step_jacobian(W0, x0), exact, rtol=1e-14, atol=0)


@pytest.mark.parametrize("sigma,depth", [(0.25, 40), (0.5, 10), (1.0, 25), (2.0, 15)])
def test_jacobian_product_matches_high_precision_finite_differences(sigma, depth):
    # Normwise relative 1e-10: the float64 product carries ~depth roundings amplified by the
    # non-normality of the factors (measured <= 1e-14); the mpmath difference is exact to ~1e-30.
    rng = np.random.default_rng(depth)
    W, x = rj.scaled_matrix("random", sigma, 3, seed=depth), rng.standard_normal(3)
    J = rj.jacobian_product(W, x, depth)
    F = rj.finite_difference_jacobian(W, x, depth)
    assert rj.sigma_max(J - F) <= 1e-10 * rj.sigma_max(F)


def test_jacobian_product_depth_one_is_identity_and_depth_two_is_one_step():
    W = rj.scaled_matrix("random", 0.8, 3, seed=2)
    x = np.array([0.1, -0.4, 2.0])
    assert np.array_equal(rj.jacobian_product(W, x, 1), np.eye(3))  # no step: identity exactly
    assert np.allclose(rj.jacobian_product(W, x, 2), rj.step_jacobian(W, x), rtol=1e-15, atol=0)


@settings(max_examples=40)
@given(kinds, sigmas, seeds, st.floats(min_value=1e-4, max_value=5.0), st.integers(1, 50))
def test_bound_holds(kind, sigma, seed, size, depth):
    # The theorem: actual <= per-step bound <= sigma_max(W)^(n-1), in log10 with 1e-9 slack
    # for the rounding of at most 50 logarithms.
    W = rj.scaled_matrix(kind, sigma, 5, seed=seed)
    x = size * np.random.default_rng(seed).standard_normal(5)
    p = rj.log10_sigma_path(W, x, depth)
    assert np.all(p["actual"] <= p["step_bound"] + 1e-9)
    assert np.all(p["step_bound"] <= p["power_bound"] + 1e-9)


@settings(max_examples=25)
@given(kinds, sigmas, seeds, st.integers(1, 60))
def test_log_path_matches_direct_product(kind, sigma, seed, depth):
    # Where float64 does not under/overflow, log10 sigma_max of the plain product equals the
    # log-space value to 1e-9 absolute (rounding of renormalisation and SVD).
    W = rj.scaled_matrix(kind, sigma, 4, seed=seed)
    x = np.random.default_rng(seed + 1).standard_normal(4)
    p = rj.log10_sigma_path(W, x, depth)
    assert np.array_equal(p["t"], np.arange(1, depth + 1))
    assert p["actual"][0] == 0.0  # J_1 = I
    assert math.isclose(p["actual"][-1], math.log10(rj.sigma_max(rj.jacobian_product(W, x, depth))), abs_tol=1e-9)


def test_bound_attained_for_scaled_orthogonal_at_zero_and_log_path_survives_underflow():
    W = rj.scaled_matrix("orthogonal-scaled", 0.5, 4, seed=1)
    p = rj.log10_sigma_path(W, np.zeros(4), 3000)
    # x = 0 forever, J_n = W^(n-1): the bound (n-1) log10(1/2) is attained (1e-9: rounding).
    assert np.allclose(p["actual"], p["power_bound"], atol=1e-9)
    assert rj.sigma_max(rj.jacobian_product(W, np.zeros(4), 3000)) == 0.0  # float64 underflows


def test_sigma_max_of_known_matrices():
    assert rj.sigma_max(np.diag([0.3, -2.0, 1.0])) == pytest.approx(2.0, rel=1e-15)
    assert rj.sigma_max(np.array([[1.0, 1.0], [0.0, 0.0]])) == pytest.approx(math.sqrt(2), rel=1e-15)


# --- bad input --------------------------------------------------------------------------

@pytest.mark.parametrize("W", [np.ones((2, 3)), np.ones(3), np.ones((0, 0)), [[1.0, np.nan], [0.0, 1.0]],
                               [[np.inf, 0.0], [0.0, 1.0]]])
def test_bad_matrix_is_rejected(W):
    with pytest.raises(ValueError, match="W must"):
        rj.check_matrix(W)
    with pytest.raises(ValueError, match="W must"):
        rj.jacobian_product(W, np.zeros(2), 3)


@pytest.mark.parametrize("depth", [0, -1, 2.5, True, "3"])
def test_bad_depth_is_rejected(depth):
    W = np.eye(2)
    for f in (rj.jacobian_product, rj.trajectory, rj.log10_sigma_path, rj.finite_difference_jacobian):
        with pytest.raises(ValueError, match="depth"):
            f(W, np.zeros(2), depth)


def test_bad_state_and_other_arguments_are_rejected():
    W = np.eye(2)
    with pytest.raises(ValueError, match="length 2"):
        rj.step_jacobian(W, np.zeros(3))
    with pytest.raises(ValueError, match="finite"):
        rj.trajectory(W, np.array([np.nan, 0.0]), 2)
    with pytest.raises(ValueError, match="matrix kind"):
        rj.scaled_matrix("diagonal", 1.0, 2)
    with pytest.raises(ValueError, match="sigma"):
        rj.scaled_matrix("random", -1.0, 2)
    with pytest.raises(ValueError, match="sigma"):
        rj.scaled_matrix("random", float("nan"), 2)
    with pytest.raises(ValueError, match="size"):
        rj.symbolic_step(0)
    with pytest.raises(ValueError, match="sigma_max"):
        rj.sigma_max(np.array([[np.nan]]))
    with pytest.raises(ValueError, match="input scale"):
        rj.figure_input("medium")
    with pytest.raises(ValueError, match="at most"):
        rj.figure_data(1.0, rj.FIGURE_MAX_DEPTH + 5, "random", "small")


# --- the figure -------------------------------------------------------------------------

def test_figure_data_is_the_log_path_of_the_figure_matrix():
    data = rj.figure_data(1.5, 20, "orthogonal-scaled", "small")
    assert set(data) == {"t", "actual", "step_bound", "power_bound"}
    assert all(v.shape == (20,) for v in data.values())
    W = rj.scaled_matrix("orthogonal-scaled", 1.5, rj.FIGURE_SIZE, seed=rj.FIGURE_SEED)
    J = rj.jacobian_product(W, rj.figure_input("small"), 20)
    # Same numbers as the direct product (1e-9 absolute in log10: rounding only).
    assert math.isclose(data["actual"][-1], math.log10(rj.sigma_max(J)), abs_tol=1e-9)
    # Small input, orthogonal W: growth close to the bound 1.5^(t-1) early on (tanh' ~ 1 - 1e-10).
    assert abs(data["actual"][9] - 9 * math.log10(1.5)) < 1e-3


def test_explorer_table_budget_plot_and_chart():
    fig_obj = rj.explorer()
    rows = fig_obj.table()  # raises if over the 150,000-value budget
    assert len(rows) == 8 * 10 * 2 * 2
    spec = fig_obj.vega_spec()
    assert spec["usermeta"]["explorer"] == "rnn-jacobian"
    fig = matplotlib.figure.Figure()
    rj.plot_figure(fig, fig_obj.data(), **fig_obj.defaults())
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 3  # actual and both bounds
