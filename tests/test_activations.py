"""Tests of derivations.activations: the symbolic derivatives, the exact maxima and the chain.

Each quantity is computed two independent ways where possible (SymPy vs float64, the
chain rule's product vs a finite difference of the composed function, log space vs the
plain product), and compared within a stated tolerance.
"""

import math

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from derivations import activations as act

z = act.z
finite_x = st.floats(min_value=-50, max_value=50, allow_nan=False)
names = st.sampled_from(act.ACTIVATIONS)


# --- symbolic ---------------------------------------------------------------------------

def test_expression_and_derivative_match_textbook_forms():
    # sigma' = sigma(1 - sigma) and tanh' = 1 - tanh^2 as symbolic identities.
    s = act.expression("sigmoid")
    assert sp.simplify(act.derivative("sigmoid") - s * (1 - s)) == 0
    assert sp.simplify(act.derivative("tanh") - (1 - sp.tanh(z) ** 2)) == 0
    # ReLU': 0 on z <= 0 (the library convention at 0), 1 on z > 0.
    d = act.derivative("relu")
    assert [d.subs(z, v) for v in (-2, 0, 3)] == [0, 0, 1]


def test_critical_points_are_where_the_second_derivative_vanishes():
    for name in ("sigmoid", "tanh"):
        points = act.critical_points(name)
        assert points == [0]
        assert sp.diff(act.expression(name), z, 2).subs(z, points[0]) == 0
    assert act.critical_points("relu") == []


def test_max_derivative_is_exact():
    # Exact rationals, not floats: == compares structure, and these are the exact values.
    assert act.max_derivative("sigmoid") == sp.Rational(1, 4)
    assert act.max_derivative("tanh") == 1
    assert act.max_derivative("relu") == 1


def test_max_derivative_is_not_exceeded_on_a_fine_grid():
    # An independent look at the maximum: phi' on 20001 points of [-20, 20] never exceeds it
    # (tolerance 1e-15: float rounding of phi' near its peak).
    grid = np.linspace(-20, 20, 20001)
    for name in act.ACTIVATIONS:
        top = float(act.max_derivative(name))
        values = act.phi_prime(name, grid)
        assert values.max() <= top + 1e-15
        assert values.max() >= top - 1e-6  # and it is approached (grid spacing 2e-3)


def test_chain_bound_is_power_of_max():
    assert act.chain_bound("sigmoid", 3) == sp.Rational(1, 64)
    assert act.chain_bound("tanh", 50) == 1


# --- numeric phi, phi', log10 phi' ------------------------------------------------------

@pytest.mark.parametrize("name", act.ACTIVATIONS)
def test_numeric_phi_and_phi_prime_match_sympy(name):
    # 50-digit evaluation of SymPy's own expressions as the reference; 1e-13 relative is a few
    # ulps of exp/tanh/log1p rounding. ReLU is exact.
    grid = np.linspace(-40, 40, 161)
    f = sp.lambdify(z, act.expression(name), "mpmath")
    df = sp.lambdify(z, act.derivative(name), "mpmath")
    with mpmath.workdps(50):
        ref_f = np.array([float(f(mpmath.mpf(v))) for v in grid])
        ref_df = np.array([float(df(mpmath.mpf(v))) for v in grid])
    assert np.allclose(act.phi(name, grid), ref_f, rtol=1e-13, atol=1e-300)
    assert np.allclose(act.phi_prime(name, grid), ref_df, rtol=1e-13, atol=0)


@given(name=names, x=finite_x)
def test_log10_phi_prime_is_log_of_phi_prime(name, x):
    # Where phi' is a normal double the two must agree to 1e-12 absolute in log10.
    d = float(act.phi_prime(name, x))
    lg = float(act.log10_phi_prime(name, x))
    if d > 1e-300:
        assert abs(lg - math.log10(d)) < 1e-12
    elif d == 0.0 and name == "relu":
        assert lg == -math.inf


def test_log10_phi_prime_survives_where_phi_prime_underflows():
    # sigmoid'(800) = e^-800 / (1 + e^-800)^2 underflows in float64; its log10 is -800 / ln 10.
    assert act.phi_prime("sigmoid", 800.0) == 0.0
    assert abs(float(act.log10_phi_prime("sigmoid", 800.0)) - (-800 / math.log(10))) < 1e-9


# --- the chain ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", act.ACTIVATIONS)
@pytest.mark.parametrize("depth", [1, 2, 7, 25, 50])
def test_chain_rule_matches_high_precision_finite_difference(name, depth):
    # The product of layer factors vs a central difference in >= 120-digit arithmetic:
    # 1e-8 relative leaves wide room for float64 rounding (~depth * 1e-16) and none for a
    # wrong factor.
    rng = np.random.default_rng(depth)
    for x in rng.uniform(-4, 4, size=5):
        a = float(act.chain_derivative(name, x, depth))
        b = act.finite_difference_derivative(name, x, depth)
        assert abs(a - b) <= 1e-8 * max(abs(a), abs(b), 1e-300)


def test_chain_with_weight_and_bias_matches_finite_difference():
    for w, b in [(2.5, -0.3), (-1.5, 0.7), (8.0, -4.0)]:
        for x in (-0.7, 0.2, 1.3):
            a = float(act.chain_derivative("sigmoid", x, 12, weight=w, bias=b))
            ref = act.finite_difference_derivative("sigmoid", x, 12, weight=w, bias=b)
            assert abs(a - ref) <= 1e-8 * max(abs(a), abs(ref), 1e-300)


@given(name=names, x=finite_x, depth=st.integers(1, 60))
@settings(max_examples=60, deadline=None)
def test_log_space_equals_log_of_product_where_product_is_normal(name, x, depth):
    prod = float(act.chain_derivative(name, x, depth))
    lg = float(act.log10_chain_derivative(name, x, depth))
    if prod > 1e-300:
        # Independent accumulations of ~depth roundings each: 1e-10 absolute in log10.
        assert abs(lg - math.log10(prod)) < 1e-10
    else:
        assert prod == 0.0 or lg < -290


@given(name=names, x=finite_x, depth=st.integers(1, 200))
@settings(max_examples=80, deadline=None)
def test_theorem_bound_holds(name, x, depth):
    # |f'(x)| <= (max phi')^n, checked in log10 with 1e-12 slack for rounding.
    bound = depth * math.log10(float(act.max_derivative(name)))
    assert float(act.log10_chain_derivative(name, x, depth)) <= bound + 1e-12


def test_log_space_reaches_depth_one_million_with_the_fixed_point_rate():
    # The per-layer rate at depth 1e6 is log10 h*(1 - h*), h* = sigma(h*), within 1e-5
    # (the transient before the fixed point shifts the mean by < 1e-5).
    h = sp.Symbol("h")
    h_star = float(sp.nsolve(1 / (1 + sp.exp(-h)) - h, h, 0.5))
    per_layer = float(act.log10_chain_derivative("sigmoid", 0.3, 10**6)) / 10**6
    assert abs(per_layer - math.log10(h_star * (1 - h_star))) < 1e-5
    # ...where the float64 product has long underflowed.
    assert act.chain_derivative("sigmoid", 0.3, 1000) == 0.0


@given(name=names, x=finite_x, depth=st.integers(1, 3000),
       weight=st.floats(-5, 5, allow_nan=False), bias=st.floats(-3, 3, allow_nan=False))
@settings(max_examples=60, deadline=None)
def test_scalar_and_vector_paths_agree(name, x, depth, weight, bias):
    # A scalar input (or a deep chain at a few inputs) runs a pure-Python loop with its own
    # copy of the formulas; wide inputs run NumPy. The same sums, possibly rounded in another
    # order: 1e-9 absolute in log10 per 1000 layers. Equal -inf where the derivative is 0.
    one = float(act.log10_chain_derivative(name, x, depth, weight, bias))
    wide = float(act.log10_chain_derivative(name, np.full(20, x), depth, weight, bias)[0])
    if math.isinf(one) or math.isinf(wide):
        assert one == wide
    else:
        assert abs(one - wide) <= 1e-9 * max(1.0, depth / 1000) * max(1.0, abs(one) / 1e3)


def test_tanh_at_zero_keeps_derivative_one_and_relu_is_dead_on_the_left():
    assert act.chain_derivative("tanh", 0.0, 1000) == 1.0
    assert act.log10_chain_derivative("relu", -1.0, 10**6) == -math.inf
    assert act.log10_chain_derivative("relu", 1.0, 10**6) == 0.0


def test_chain_output_is_the_composition():
    assert math.isclose(float(act.chain_output("tanh", 0.5, 3)), math.tanh(math.tanh(math.tanh(0.5))), rel_tol=1e-15)


# --- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("depth", [0, -3, 2.5, True, "3", None])
def test_bad_depth_is_rejected(depth):
    with pytest.raises(ValueError, match="depth"):
        act.chain_derivative("sigmoid", 0.1, depth)
    with pytest.raises(ValueError, match="depth"):
        act.log10_chain_derivative("sigmoid", 0.1, depth)


@pytest.mark.parametrize("x", [math.nan, math.inf, -math.inf, [0.1, math.nan]])
def test_non_finite_input_is_rejected(x):
    with pytest.raises(ValueError, match="finite"):
        act.chain_derivative("tanh", x, 3)
    with pytest.raises(ValueError, match="finite"):
        act.log10_chain_derivative("tanh", x, 3)


def test_unknown_activation_is_rejected_everywhere():
    for fn in (act.expression, act.derivative, act.max_derivative, act.critical_points):
        with pytest.raises(ValueError, match="unknown activation 'swish'"):
            fn("swish")
    with pytest.raises(ValueError, match="choose one of sigmoid, tanh, relu"):
        act.chain_derivative("swish", 0.0, 2)


def test_bad_weight_or_bias_is_rejected():
    with pytest.raises(ValueError, match="weight"):
        act.chain_derivative("tanh", 0.0, 2, weight=math.nan)
    with pytest.raises(ValueError, match="bias"):
        act.log10_chain_derivative("tanh", 0.0, 2, bias=math.inf)


# --- the figure -------------------------------------------------------------------------------

def test_figure_data_is_the_log_space_chain():
    data = act.chain_figure_data(12, "sigmoid")
    assert np.array_equal(data["x"], act.FIGURE_X)
    assert np.array_equal(data["log10_abs_derivative"], act.log10_chain_derivative("sigmoid", act.FIGURE_X, 12))


def test_static_and_jupyter_views_draw_the_same_bound():
    # The bound reaches the Vega chart as SymPy's expression printed for Vega, and the
    # matplotlib plot through lambdify: evaluate the printed text (Vega's log, pow and
    # division mean what Python's do) and compare at every depth of the figure (1e-12 relative).
    from derivations.explore import vega_expr

    n = sp.Symbol("n", positive=True)
    for name in act.ACTIVATIONS:
        expr = act._log10_bound_expr(name, n)
        code = vega_expr(expr, {n: "depth"})
        as_plotted = sp.lambdify(n, expr, "math")
        for depth in range(1, act.FIGURE_MAX_DEPTH + 1):
            printed = eval(code, {"log": math.log, "pow": math.pow, "exp": math.exp, "depth": depth})
            assert math.isclose(printed, as_plotted(depth), rel_tol=1e-12, abs_tol=1e-15)
            assert math.isclose(printed, depth * math.log10(float(act.max_derivative(name))), rel_tol=1e-12, abs_tol=1e-15)
