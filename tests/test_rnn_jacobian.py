"""Tests of derivations.rnn_jacobian: step Jacobian, product, bound and figure.

The step Jacobian is proved for every width; the chain-rule product is compared with an
independent mpmath finite difference, the log-space path with the plain float64 product,
and the bound with the actual singular value, both ways (it holds, and where it is
attained). Tolerances are about 100x the error measured, stated beside each.
"""

import math

import matplotlib.figure
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from derivations import checks
from derivations import rnn_jacobian as rj

from .hostile import Call

kinds = st.sampled_from(rj.MATRIX_KINDS)
sigmas = st.floats(min_value=0.05, max_value=3.0)
seeds = st.integers(min_value=0, max_value=10_000)
W3 = rj.scaled_matrix("random", 0.9, 3, seed=1)
H3 = np.array([0.2, -0.5, 1.0])

PUBLIC_CALLS = [
    Call(rj.symbolic_step, {"width": 2, "activation": "sigmoid"}),
    Call(rj.step_jacobian_formula, {"W": sp.eye(2), "h": sp.Matrix([1, 2]),
                                    "activation": "tanh"}),
    Call(rj.prove_step_jacobian, {}),
    Call(rj.check_matrix, {"W": W3}),
    Call(rj.scaled_matrix, {"kind": "random", "sigma": 0.5, "width": 3, "seed": 4}),
    Call(rj.trajectory, {"W": W3, "h1": H3, "depth": 4, "activation": "tanh"}),
    Call(rj.step_jacobian, {"W": W3, "h": H3, "activation": "sigmoid"}),
    Call(rj.jacobian_product, {"W": W3, "h1": H3, "depth": 4, "activation": "tanh"}),
    Call(rj.finite_difference_jacobian, {"W": W3, "h1": H3, "depth": 3, "digits": 20,
                                         "activation": "sigmoid"}),
    Call(rj.sigma_max, {"A": W3}),
    Call(rj.log10_sigma_path, {"W": W3, "h1": H3, "depth": 5, "activation": "sigmoid"}),
    Call(rj.figure_input, {"scale": "large", "width": 4}),
    Call(rj.figure_data, {"sigma": 1.5, "depth": 10, "kind": "random", "scale": "small",
                          "activation": "tanh"}),
    Call(rj.plot_figure, {"fig": matplotlib.figure.Figure(),
                          "data": rj.figure_data(1.5, 10), "sigma": 1.5,
                          "kind": "random", "scale": "small", "activation": "tanh"}),
    Call(rj.explorer, {}),
]
HOSTILE_EXEMPT = {
    "derivations.rnn_jacobian.chart_figure":
        "Vega-Lite callback: its arguments are the Explorer's table and Altair params",
}


# --- symbolic

def test_step_jacobian_is_proved_for_every_width():
    identity = rj.prove_step_jacobian()
    assert isinstance(identity.check, checks.Proved)
    assert "varphi" in str(identity.equation)  # a generic phi: tanh and sigmoid alike


@pytest.mark.parametrize("activation", rj.ACTIVATIONS)
@pytest.mark.parametrize("width", [1, 2, 3])
def test_step_jacobian_formula_equals_sympy_jacobian(width, activation):
    # diag(phi'(W h)) W is SymPy's own Jacobian of phi(W h), entry by entry (exact).
    W, h, step = rj.symbolic_step(width, activation)
    assert W.shape == (width, width) and h.shape == (width, 1)
    difference = step.jacobian(h) - rj.step_jacobian_formula(W, h, activation)
    difference = difference.applyfunc(lambda e: e.rewrite(sp.exp))
    assert sp.simplify(difference) == sp.zeros(width)


def test_step_jacobian_formula_is_not_phi_prime_at_the_state():
    # The pre-activation matters: tanh' evaluated at h instead of W h is another matrix.
    W, h, step = rj.symbolic_step(2)
    wrong = sp.diag(*[1 - sp.tanh(hi) ** 2 for hi in h]) * W
    point = {**dict(zip(W, [1, 2, -1, 0.5])), **dict(zip(h, [0.3, -0.7]))}
    assert abs(float((step.jacobian(h) - wrong).subs(point).norm())) > 0.1


def test_old_keyword_names_still_work():
    W = rj.scaled_matrix("random", 0.8, size=3, seed=2)
    assert np.array_equal(rj.jacobian_product(W, x1=H3, depth=3),
                          rj.jacobian_product(W, h1=H3, depth=3))
    assert np.array_equal(rj.step_jacobian(W, x=H3), rj.step_jacobian(W, h=H3))
    with pytest.raises(ValueError, match="not both"):
        rj.trajectory(W, h1=H3, x1=H3, depth=2)


# --- numeric

@settings(max_examples=30)
@given(kinds, sigmas, st.integers(1, 6), seeds)
def test_scaled_matrix_has_the_requested_sigma_max(kind, sigma, width, seed):
    # sigma_max(W) = sigma to 1e-13 relative (measured <= 1e-15: QR / SVD rounding);
    # orthogonal-scaled has every singular value equal to sigma.
    W = rj.scaled_matrix(kind, sigma, width, seed=seed)
    checks.check_close(rj.sigma_max(W), sigma, 1e-13)
    if kind == "orthogonal-scaled":
        singular_values = np.linalg.svd(W, compute_uv=False)
        checks.check_close(singular_values, np.full_like(singular_values, sigma), 1e-13)


def test_trajectory_follows_the_recurrence():
    W = rj.scaled_matrix("random", 1.3, 4, seed=1)
    hs = rj.trajectory(W, np.arange(4.0), 6)
    assert hs.shape == (6, 4) and np.array_equal(hs[0], np.arange(4.0))
    # Each row is tanh(W @ previous row), bit for bit (same operations).
    assert all(np.array_equal(hs[t + 1], np.tanh(W @ hs[t])) for t in range(5))


@pytest.mark.parametrize("activation", rj.ACTIVATIONS)
def test_step_jacobian_matches_sympy_at_a_point(activation):
    # Exact SymPy Jacobian at exact binary inputs, evaluated to 30 digits. Measured max
    # rel. error 2e-16 (a few roundings in phi' and one product); tolerance 3e-14.
    W, h, step = rj.symbolic_step(3, activation)
    rng = np.random.default_rng(3)
    W0, h0 = rng.standard_normal((3, 3)), rng.standard_normal(3)
    subs = {s: sp.Rational(v) for s, v in [*zip(W, W0.ravel()), *zip(h, h0)]}
    exact = np.array(step.jacobian(h).subs(subs).evalf(30), dtype=float)
    print(checks.check_close(rj.step_jacobian(W0, h0, activation), exact, 3e-14))


@pytest.mark.parametrize("activation,sigma,depth", [
    ("tanh", 0.25, 40), ("tanh", 0.5, 10), ("tanh", 1.0, 25), ("tanh", 2.0, 15),
    ("sigmoid", 2.0, 20), ("sigmoid", 4.0, 10), ("sigmoid", 8.0, 15)])
def test_jacobian_product_matches_high_precision_finite_differences(activation, sigma,
                                                                     depth):
    # Normwise relative error: measured <= 3e-15 (depth roundings, amplified by the
    # non-normality of the factors); tolerance 3e-13, ~100x.
    rng = np.random.default_rng(depth)
    W, h = rj.scaled_matrix("random", sigma, 3, seed=depth), rng.standard_normal(3)
    J = rj.jacobian_product(W, h, depth, activation)
    F = rj.finite_difference_jacobian(W, h, depth, activation=activation)
    assert rj.sigma_max(J - F) <= 3e-13 * rj.sigma_max(F)


def test_jacobian_product_depth_one_is_identity_and_depth_two_is_one_step():
    W = rj.scaled_matrix("random", 0.8, 3, seed=2)
    assert np.array_equal(rj.jacobian_product(W, H3, 1), np.eye(3))  # no step
    assert np.array_equal(rj.jacobian_product(W, H3, 2), rj.step_jacobian(W, H3))


@settings(max_examples=40)
@given(kinds, sigmas, seeds, st.floats(min_value=1e-4, max_value=5.0),
       st.integers(1, 50), st.sampled_from(rj.ACTIVATIONS))
def test_bound_holds(kind, sigma, seed, size, depth, activation):
    # actual <= per-step bound <= (gamma sigma_max(W))^(T-1), in log10 with 1e-9 slack
    # for the rounding of at most 50 logarithms (measured violations: none above 1e-13).
    unit = 4.0 if activation == "sigmoid" else 1.0  # 1 / gamma
    W = rj.scaled_matrix(kind, unit * sigma, 5, seed=seed)
    h = size * np.random.default_rng(seed).standard_normal(5)
    p = rj.log10_sigma_path(W, h, depth, activation)
    assert np.all(p["actual"] <= p["step_bound"] + 1e-9)
    assert np.all(p["step_bound"] <= p["power_bound"] + 1e-9)


@settings(max_examples=25)
@given(kinds, sigmas, seeds, st.integers(1, 60))
def test_log_path_matches_direct_product(kind, sigma, seed, depth):
    # Where float64 does not under/overflow, log10 sigma_max of the plain product equals
    # the log-space value: 1e-11 absolute (measured 1e-13: renormalisation and SVD).
    W = rj.scaled_matrix(kind, sigma, 4, seed=seed)
    h = np.random.default_rng(seed + 1).standard_normal(4)
    p = rj.log10_sigma_path(W, h, depth)
    assert np.array_equal(p["t"], np.arange(1, depth + 1))
    assert p["actual"][0] == 0.0  # J_1 = I
    direct = math.log10(rj.sigma_max(rj.jacobian_product(W, h, depth)))
    assert abs(p["actual"][-1] - direct) <= 1e-11


def test_tanh_bound_attained_for_scaled_orthogonal_at_zero_beyond_underflow():
    W = rj.scaled_matrix("orthogonal-scaled", 0.5, 4, seed=1)
    p = rj.log10_sigma_path(W, np.zeros(4), 3000)
    # h = 0 forever, J_T = W^(T-1): the bound (T-1) log10(1/2) is attained to rounding
    # (measured 2e-13 over 3000 steps; tolerance 1e-11 absolute in log10).
    assert np.max(np.abs(p["actual"] - p["power_bound"])) <= 1e-11
    assert rj.sigma_max(rj.jacobian_product(W, np.zeros(4), 3000)) == 0.0  # underflow


def test_sigmoid_bound_attained_on_the_projection():
    # W = s (I - 11^T/n) kills the constant vector; from h_1 = c 1 every pre-activation
    # is 0, D_t = I/4 and J_T = (W/4)^(T-1): sigma_max(J_T) = (s/4)^(T-1) exactly.
    n, s, T = 4, 3.0, 12
    W = s * (np.eye(n) - np.ones((n, n)) / n)
    J = rj.jacobian_product(W, np.full(n, 0.5), T, "sigmoid")
    print(checks.check_bound(rj.sigma_max(J), (s / 4) ** (T - 1), slack=1e-13,
                             attained=1 - 1e-13))  # measured ratio 1 - 4e-16


def test_sigma_max_of_known_matrices():
    assert rj.sigma_max(np.diag([0.3, -2.0, 1.0])) == pytest.approx(2.0, rel=1e-15)
    rank_one = np.array([[1.0, 1.0], [0.0, 0.0]])
    assert rj.sigma_max(rank_one) == pytest.approx(math.sqrt(2), rel=1e-15)


# --- bad input

@pytest.mark.parametrize("W", [np.ones((2, 3)), np.ones(3), np.ones((0, 0)),
                               [[1.0, np.nan], [0.0, 1.0]],
                               [[np.inf, 0.0], [0.0, 1.0]]])
def test_bad_matrix_is_rejected(W):
    with pytest.raises(ValueError, match="W "):
        rj.check_matrix(W)
    with pytest.raises(ValueError, match="W "):
        rj.jacobian_product(W, np.zeros(2), 3)


@pytest.mark.parametrize("depth", [0, -1, 2.5, True, "3", 10**6])
def test_bad_depth_is_rejected(depth):
    for f in (rj.jacobian_product, rj.trajectory, rj.log10_sigma_path,
              rj.finite_difference_jacobian):
        with pytest.raises(ValueError, match="depth"):
            f(np.eye(2), np.zeros(2), depth)


def test_bad_state_and_other_arguments_are_rejected():
    W = np.eye(2)
    with pytest.raises(ValueError, match="axis 0 must have length 2"):
        rj.step_jacobian(W, np.zeros(3))
    with pytest.raises(ValueError, match="finite"):
        rj.trajectory(W, np.array([np.nan, 0.0]), 2)
    with pytest.raises(ValueError, match="kind must be one of"):
        rj.scaled_matrix("diagonal", 1.0, 2)
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="sigma"):
            rj.scaled_matrix("random", bad, 2)
    with pytest.raises(ValueError, match="width"):
        rj.symbolic_step(0)
    with pytest.raises(ValueError, match="activation must be one of 'tanh', 'sigmoid'"):
        rj.jacobian_product(W, np.zeros(2), 3, activation="relu")
    with pytest.raises(ValueError, match="scale must be one of"):
        rj.figure_input("medium")
    with pytest.raises(ValueError, match="<= 50"):
        rj.figure_data(1.0, rj.FIGURE_MAX_DEPTH + 5, "random", "small")


# --- the figure

def test_figure_data_is_the_log_path_of_the_figure_matrix():
    data = rj.figure_data(1.5, 20, "orthogonal-scaled", "small")
    assert set(data) == {"t", "actual", "step_bound", "power_bound"}
    assert all(v.shape == (20,) for v in data.values())
    W = rj.scaled_matrix("orthogonal-scaled", 1.5, rj.FIGURE_WIDTH, seed=rj.FIGURE_SEED)
    J = rj.jacobian_product(W, rj.figure_input("small"), 20)
    # The same numbers as the direct product (1e-11 absolute in log10: rounding only).
    assert abs(data["actual"][-1] - math.log10(rj.sigma_max(J))) <= 1e-11
    # Small input, orthogonal W: growth at the bound's rate 1.5^(t-1) early on, where
    # tanh' = 1 - O(1e-10): within 1e-3 in log10 at t = 10.
    assert abs(data["actual"][9] - 9 * math.log10(1.5)) < 1e-3


def test_explorer_table_budget_and_plot_updates_in_place():
    explorer = rj.explorer()
    rows = explorer.table()
    assert len(rows) == 12 * 2 * 2 * 2
    assert sum(4 * len(r["t"]) for r in rows) <= 40_000
    assert explorer.vega_spec()["usermeta"]["explorer"] == "rnn-jacobian"
    fig = matplotlib.figure.Figure()
    rj.plot_figure(fig, explorer.data(), **explorer.defaults())
    lines = [id(line) for line in fig.axes[0].lines]
    assert len(fig.axes) == 1 and len(lines) == 3  # actual and both bounds
    params = {**explorer.defaults(), "sigma": 4.5, "activation": "sigmoid"}
    rj.plot_figure(fig, explorer.data(**params), **params)
    assert [id(line) for line in fig.axes[0].lines] == lines and len(fig.axes) == 1
    drawn = fig.axes[0].lines[0].get_ydata()
    assert np.array_equal(drawn, explorer.data(**params)["actual"])
    assert fig.axes[0].get_title().startswith("sigmoid")
