"""Tests of derivations.activations: the symbolic derivatives, the proofs, the exact
maxima and the chain.

Each quantity is computed two independent ways where possible (SymPy vs float64, the
chain rule's product vs an mpmath finite difference of the composed function, log space
vs the plain product) and compared with ``checks.check_close`` at a tolerance about 100x
the error measured (stated beside each). Bounds are checked both ways
(``check_bound`` with ``attained``).
"""

import math

import matplotlib.figure
import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from derivations import activations as act
from derivations import checks

from .hostile import Call

z = act.z
finite_x = st.floats(min_value=-50, max_value=50, allow_nan=False)
names = st.sampled_from(act.ACTIVATIONS)
# ufunc-like kernels: NaN in, NaN out (the LSTM module relies on it)
ELEMENTWISE = {"x": {"empty", "nan", "inf", "extra-axis"}}
ANY_SHAPE = {"x": {"extra-axis"}}  # the chain is applied entrywise to x of any shape

PUBLIC_CALLS = [
    Call(act.expression, {"name": "tanh", "var": z}),
    Call(act.derivative, {"name": "sigmoid", "var": z}),
    Call(act.critical_points, {"name": "tanh"}),
    Call(act.max_derivative, {"name": "sigmoid"}),
    Call(act.chain_bound, {"name": "sigmoid", "depth": 3}),
    Call(act.prove_chain_product, {}),
    Call(act.prove_slope_bound, {"name": "relu"}),
    Call(act.phi, {"name": "sigmoid", "x": np.array([-1.0, 0.5])}, ELEMENTWISE),
    Call(act.phi_prime, {"name": "tanh", "x": np.array([-1.0, 0.5])}, ELEMENTWISE),
    Call(act.log10_phi_prime, {"name": "relu", "x": np.array([-1.0, 0.5])},
         ELEMENTWISE),
    Call(act.chain_output, {"name": "tanh", "x": np.array([0.3, -1.0]), "depth": 4,
                            "weight": 1.5, "bias": 0.2}, ANY_SHAPE),
    Call(act.chain_derivative, {"name": "relu", "x": np.array([0.3, -1.0]), "depth": 4,
                                "weight": 1.5, "bias": 0.2}, ANY_SHAPE),
    Call(act.log10_chain_derivative, {"name": "sigmoid", "x": np.array([0.3, -1.0]),
                                      "depth": 4, "weight": 1.5, "bias": 0.2},
         ANY_SHAPE),
    Call(act.mp_reference_derivative, {"f": lambda v: v[0] ** 2, "x": np.array([0.5]),
                                       "digits": 20}),
    Call(act.finite_difference_derivative, {"name": "tanh", "x": 0.3, "depth": 3,
                                            "weight": 1.2, "bias": -0.1, "digits": 20}),
    Call(act.chain_figure_data, {"depth": 5, "activation": "tanh"}),
    Call(act.plot_chain_figure, {"fig": matplotlib.figure.Figure(),
                                 "data": act.chain_figure_data(5, "tanh"), "depth": 5,
                                 "activation": "tanh"}),
    Call(act.explorer, {}),
]
HOSTILE_EXEMPT = {
    "derivations.activations.chart_chain_figure":
        "Vega-Lite callback: its arguments are the Explorer's table and Altair params",
}


# --- symbolic

def test_expression_and_derivative_match_textbook_forms():
    s = act.expression("sigmoid")
    assert isinstance(checks.prove_identity(act.derivative("sigmoid"), s * (1 - s),
                                            rewrite=[sp.exp]).check, checks.Proved)
    assert isinstance(checks.prove_identity(act.derivative("tanh"),
                                            1 - sp.tanh(z) ** 2).check, checks.Proved)
    # ReLU': 0 on z <= 0 (the library convention at 0), 1 on z > 0.
    d = act.derivative("relu")
    assert [d.subs(z, v) for v in (-2, 0, 3)] == [0, 0, 1]


def test_critical_points_are_where_the_second_derivative_vanishes():
    for name in ("sigmoid", "tanh"):
        assert act.critical_points(name) == [0]
        assert sp.diff(act.expression(name), z, 2).subs(z, 0) == 0
    assert act.critical_points("relu") == []


def test_max_derivative_is_exact():
    # Exact rationals: == compares structure, and these are the exact values.
    assert act.max_derivative("sigmoid") == sp.Rational(1, 4)
    assert act.max_derivative("tanh") == 1 and act.max_derivative("relu") == 1


def test_slope_bound_is_a_proved_square_and_is_attained_on_a_grid():
    grid = np.linspace(-20, 20, 20001)  # contains 0, where sigma' and tanh' peak
    for name in act.ACTIVATIONS:
        identity = act.prove_slope_bound(name)
        assert isinstance(identity.check, checks.Proved)
        gamma = float(act.max_derivative(name))
        # phi' <= gamma (rounding slack 1e-15) and reaches it (at z = 0, or z > 0).
        print(name, checks.check_bound(act.phi_prime(name, grid), gamma, slack=1e-15,
                                       attained=1 - 1e-15))


def test_chain_product_proof_is_general_and_its_step_is_not_vacuous():
    proof = act.prove_chain_product()
    assert all(isinstance(p.check, checks.Proved) for p in proof.values())
    # At L = 2 the step's sides expand to three factors phi'(h_0) phi'(h_1) phi'(h_2); a
    # product with one factor fewer (the classic off-by-one) is a different polynomial
    # in those independent factors.
    step = proof["step"].equation
    L = next(s for s in step.free_symbols if s.name == "L")
    lhs, rhs = step.lhs.subs(L, 2).doit(), step.rhs.subs(L, 2).doit()
    product, ell = step.rhs.args[0], step.rhs.args[1][0]
    short = sp.Product(product, (ell, 1, 2)).doit()
    assert sp.expand(lhs - rhs) == 0 and sp.expand(lhs - short) != 0
    assert len(sp.Mul.make_args(rhs)) == 3


def test_chain_bound_is_power_of_max():
    assert act.chain_bound("sigmoid", 3) == sp.Rational(1, 64)
    assert act.chain_bound("tanh", 50) == 1


# --- numeric phi, phi', log10 phi'

@pytest.mark.parametrize("name", act.ACTIVATIONS)
def test_numeric_phi_and_phi_prime_match_sympy(name):
    # SymPy's own expressions in 50-digit arithmetic as the reference. Measured max rel.
    # error 3.5e-16 (a few ulps of exp): tolerance 3e-14, ~100x.
    grid = np.linspace(-40, 40, 161)
    f = sp.lambdify(z, act.expression(name), "mpmath")
    df = sp.lambdify(z, act.derivative(name), "mpmath")
    with mpmath.workdps(50):
        ref_f = np.array([float(f(mpmath.mpf(v))) for v in grid])
        ref_df = np.array([float(df(mpmath.mpf(v))) for v in grid])
    print(checks.check_close(act.phi(name, grid), ref_f, 3e-14))
    print(checks.check_close(act.phi_prime(name, grid), ref_df, 3e-14))


@given(name=names, x=finite_x)
def test_log10_phi_prime_is_log_of_phi_prime(name, x):
    # Where phi' is a normal double, the two agree to 1e-12 absolute in log10 (measured
    # 7e-15 on a fine grid of [-50, 50], where log10 phi' reaches -43).
    d = float(act.phi_prime(name, x))
    lg = float(act.log10_phi_prime(name, x))
    if d > 1e-300:
        assert abs(lg - math.log10(d)) < 1e-12
    elif name == "relu":
        assert d == 0.0 and lg == -math.inf


def test_log10_phi_prime_survives_where_phi_prime_underflows():
    # sigmoid'(800) = e^-800 / (1 + e^-800)^2 underflows; its log10 is -800 / ln 10.
    assert act.phi_prime("sigmoid", 800.0) == 0.0
    print(checks.check_close(act.log10_phi_prime("sigmoid", 800.0), -800 / math.log(10),
                             1e-14))  # measured 0: both are one rounded division


def test_elementwise_kernels_pass_nan_through_for_the_lstm_module():
    out = act.phi_prime("sigmoid", np.array([np.nan, 0.0]))
    assert math.isnan(out[0]) and out[1] == 0.25


# --- the chain

def test_chain_rule_matches_an_independent_finite_difference():
    # Product of layer factors vs mpmath central difference, depths 1..50.
    # Measured max rel. error 3.6e-15 (about L roundings); tolerance 3e-13 (~100x).
    rng = np.random.default_rng(20201)
    product, reference = [], []
    for name in act.ACTIVATIONS:
        for L in (1, 2, 7, 25, 50):
            for x in rng.uniform(-4, 4, size=4):
                product.append(float(act.chain_derivative(name, x, L)))
                reference.append(act.finite_difference_derivative(name, x, L))
    print(checks.check_close(product, reference, 3e-13))


def test_weights_and_biases_match_the_finite_difference():
    # Measured max rel. error 1.5e-15 (12 layers); tolerance 2e-13 (~100x).
    product, reference = [], []
    for w, b in [(2.5, -0.3), (-1.5, 0.7), (8.0, -4.0)]:
        for x in (-0.7, 0.2, 1.3):
            product.append(float(act.chain_derivative("sigmoid", x, 12, w, b)))
            reference.append(act.finite_difference_derivative("sigmoid", x, 12, w, b))
    print(checks.check_close(product, reference, 2e-13))


def test_relu_reference_is_independent_of_the_code_under_test(monkeypatch):
    # Issue 9: the old reference returned 0 whenever log10_chain_derivative said -inf,
    # so a wrong chain rule on ReLU's dead side could not fail. The reference never
    # calls the chain code now: break it and the reference still answers.
    def broken(*args, **kwargs):
        raise RuntimeError("the reference must not call the code under test")

    monkeypatch.setattr(act, "chain_derivative", broken)
    monkeypatch.setattr(act, "log10_chain_derivative", broken)
    assert act.finite_difference_derivative("relu", -0.5, 5) == 0.0  # flat: exactly 0
    assert act.finite_difference_derivative("relu", 0.5, 5, weight=-1.0) == 0.0
    # One layer with w = -1 at x = -0.5: pre-activation 0.5 > 0, so f'(x) = w = -1.
    assert act.finite_difference_derivative("relu", -0.5, 1, weight=-1.0) == -1.0


def test_a_wrong_chain_rule_is_caught_on_the_relu_side():
    # A planted bug (ReLU' taken as 1 everywhere) must fail against the reference.
    wrong = [1.0 for _ in range(4)]
    reference = [act.finite_difference_derivative("relu", x, 3) for x in (-2, -1, 1, 2)]
    with pytest.raises(AssertionError):
        checks.check_close(wrong, reference, 1e-6)


@given(name=names, x=finite_x, depth=st.integers(1, 60))
@settings(max_examples=60)
def test_log_space_equals_log_of_product_where_product_is_normal(name, x, depth):
    # Two accumulations of ~L roundings each: 4e-12 absolute in log10 (measured 3.6e-14
    # on 3000 inputs, depths up to 60).
    prod = float(act.chain_derivative(name, x, depth))
    lg = float(act.log10_chain_derivative(name, x, depth))
    if prod > 1e-300:
        assert abs(lg - math.log10(prod)) < 4e-12
    else:
        assert prod == 0.0 or lg < -290


@given(name=names, x=finite_x, depth=st.integers(1, 200))
@settings(max_examples=80)
def test_theorem_bound_holds(name, x, depth):
    # |f'(x)| <= gamma^L in log10 with 1e-12 slack for rounding.
    bound = depth * math.log10(float(act.max_derivative(name)))
    assert float(act.log10_chain_derivative(name, x, depth)) <= bound + 1e-12


def test_bound_is_attained_for_tanh_and_relu_and_sandwiched_for_the_sigmoid():
    xs = np.linspace(-8, 8, 401)  # contains 0
    for L in (1, 2, 5, 20):
        for name in ("tanh", "relu"):  # attained: at x = 0 (tanh), every x > 0 (ReLU)
            print(checks.check_bound(chain_max(name, xs, L), 1.0, attained=1 - 1e-15))
        # Sigmoid: f'(0) >= (1/4) sigma'(1)^(L-1) (every later h lies in (0, 1)), so the
        # bound 4^-L is approached within the factor (4 sigma'(1))^(L-1) and no closer.
        lower = 0.25 * float(act.phi_prime("sigmoid", 1.0)) ** (L - 1)
        print(checks.check_bound(chain_max("sigmoid", xs, L), 0.25**L,
                                 attained=(lower / 0.25**L) * (1 - 1e-12)))


def chain_max(name, xs, L):
    return float(np.max(act.chain_derivative(name, xs, L)))


def test_log_space_reaches_depth_one_million_with_the_fixed_point_rate():
    # Per-layer rate at depth 1e6 vs log10 h*(1 - h*), h* = sigma(h*): measured 5.1e-8
    # (the ~40 transient layers, averaged over 1e6); tolerance 5e-6, 100x.
    h = sp.Symbol("h")
    h_star = float(sp.nsolve(1 / (1 + sp.exp(-h)) - h, h, 0.5))
    per_layer = float(act.log10_chain_derivative("sigmoid", 0.3, 10**6)) / 10**6
    print(checks.check_close(per_layer, math.log10(h_star * (1 - h_star)), 5e-6))
    assert act.chain_derivative("sigmoid", 0.3, 1000) == 0.0  # the product underflowed


def test_tanh_at_zero_keeps_derivative_one_and_relu_is_dead_on_the_left():
    assert act.chain_derivative("tanh", 0.0, 1000) == 1.0
    assert act.log10_chain_derivative("relu", -1.0, 10**6) == -math.inf
    assert act.log10_chain_derivative("relu", 1.0, 10**6) == 0.0


def test_expanding_relu_chain_overflows_silently_in_the_product_not_in_log_space():
    with np.errstate(all="raise"):
        assert act.chain_derivative("relu", 1.0, 200, weight=1000.0) == math.inf
        assert act.log10_chain_derivative("relu", 1.0, 200, weight=1000.0) == 600.0


def test_chain_output_is_the_composition():
    # 1e-15: three correctly rounded tanh calls, same order of operations.
    assert math.isclose(float(act.chain_output("tanh", 0.5, 3)),
                        math.tanh(math.tanh(math.tanh(0.5))), rel_tol=1e-15)


def test_mp_reference_raises_precision_for_tiny_derivatives():
    # d/dx (1e-60 x^2) at x = 1 is 2e-60, far below float64 rounding of f itself.
    tiny = act.mp_reference_derivative(lambda v: mpmath.mpf("1e-60") * v[0] ** 2, [1.0])
    print(checks.check_close(tiny, [2e-60], 1e-14))  # measured ~1e-16: one rounding


# --- bad input

@pytest.mark.parametrize("depth", [0, -3, 2.5, True, "3", None, 10**8])
def test_bad_depth_is_rejected(depth):
    for f in (act.chain_derivative, act.log10_chain_derivative):
        with pytest.raises(ValueError, match="depth"):
            f("sigmoid", 0.1, depth)


@pytest.mark.parametrize("x", [math.nan, math.inf, -math.inf, [0.1, math.nan]])
def test_non_finite_input_is_rejected(x):
    for f in (act.chain_derivative, act.log10_chain_derivative):
        with pytest.raises(ValueError, match="finite"):
            f("tanh", x, 3)


def test_unknown_activation_is_rejected_everywhere():
    for fn in (act.expression, act.derivative, act.max_derivative, act.critical_points):
        with pytest.raises(ValueError, match="activation must be one of 'sigmoid'"):
            fn("swish")
    with pytest.raises(ValueError, match="got 'swish'"):
        act.chain_derivative("swish", 0.0, 2)


def test_bad_weight_or_bias_is_rejected():
    with pytest.raises(ValueError, match="weight"):
        act.chain_derivative("tanh", 0.0, 2, weight=math.nan)
    with pytest.raises(ValueError, match="bias"):
        act.log10_chain_derivative("tanh", 0.0, 2, bias=math.inf)


# --- the figure

def test_figure_data_is_the_log_space_chain():
    data = act.chain_figure_data(12, "sigmoid")
    assert np.array_equal(data["x"], act.FIGURE_X)
    assert np.array_equal(data["log10_abs_derivative"],
                          act.log10_chain_derivative("sigmoid", act.FIGURE_X, 12))


def test_plot_updates_in_place_and_table_is_small():
    fig = matplotlib.figure.Figure()
    act.plot_chain_figure(fig, act.chain_figure_data(3, "tanh"), 3, "tanh")
    artists = [id(a) for ax in fig.axes for a in ax.lines]
    act.plot_chain_figure(fig, act.chain_figure_data(40, "relu"), 40, "relu")
    assert [id(a) for ax in fig.axes for a in ax.lines] == artists  # same artists
    assert fig.axes[0].get_title() == "relu chain, depth L = 40"
    assert np.array_equal(fig.axes[0].lines[0].get_ydata(),
                          act.chain_figure_data(40, "relu")["log10_abs_derivative"])
    rows = act.explorer().table()
    assert sum(len(r["x"]) + len(r["log10_abs_derivative"]) for r in rows) <= 40_000


def test_static_and_jupyter_views_draw_the_same_bound():
    # The bound reaches the Vega chart as SymPy's expression printed for Vega, and the
    # matplotlib plot through lambdify: evaluate the printed text (Vega's log, pow and
    # division mean what Python's do) and compare at every depth (1e-12 relative).
    from derivations.explore import vega_expr

    L = sp.Symbol("L", positive=True)
    for name in act.ACTIVATIONS:
        expr = act._log10_bound_expr(name, L)
        code = vega_expr(expr, {L: "depth"})
        as_plotted = sp.lambdify(L, expr, "math")
        for depth in range(1, act.FIGURE_MAX_DEPTH + 1):
            printed = eval(code, {"log": math.log, "pow": math.pow, "depth": depth})
            exact = depth * math.log10(float(act.max_derivative(name)))
            assert math.isclose(printed, as_plotted(depth), rel_tol=1e-12,
                                abs_tol=1e-15)
            assert math.isclose(printed, exact, rel_tol=1e-12, abs_tol=1e-15)
