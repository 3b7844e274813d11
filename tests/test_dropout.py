"""Tests of derivations.dropout: the SymPy decision, its counterexamples, both orders.

The decision (:func:`commutation`) is checked against the theorem's classification and
against expressions it has never seen (so it cannot be a lookup); every counterexample
is re-evaluated in float64 by independent code (:func:`phi`); the numeric orders are
compared on random masks.
"""

import math

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from derivations import checks
from derivations import dropout as dr
from derivations.explore import MAX_TABLE_VALUES

from .hostile import Call

z = dr.z
COMMUTING = {"relu", "leaky_relu", "identity", "abs"}


# --- the symbolic decision ------------------------------------------

@pytest.mark.parametrize("q", [None, 0.1, 0.5, 0.9])
def test_exactly_the_two_slope_activations_commute(q):
    # thm-dropout-activations: at every rate, and at each single rate, the same four.
    found = {name for name in dr.ACTIVATIONS if dr.commutes_with_dropout(name, q=q)}
    assert found == COMMUTING


def test_without_rescaling_only_phi_of_zero_matters():
    # thm-dropout-unscaled: c = 1, so exactly the activations with phi(0) = 0 commute.
    found = {name for name in dr.ACTIVATIONS
             if dr.commutes_with_dropout(name, rescale=False)}
    assert found == set(dr.ACTIVATIONS) - {"sigmoid", "softplus"}
    for name in dr.ACTIVATIONS:
        assert (name in found) == (sp.simplify(dr.expression(name).subs(z, 0)) == 0)


@pytest.mark.parametrize("expr, q, expected", [
    (3 * sp.Max(z, 0) - 2 * sp.Max(-z, 0), None, True),   # any two slopes through 0
    (sp.Integer(0), None, True),                         # the zero function
    (-5 * z, 0.3, True),
    (z**3, None, False),                                 # phi(0) = 0, degree-3 homog.
    (sp.Min(sp.Max(z, 0), 6), None, False),              # ReLU6 saturates beyond 6
    (sp.Max(z, 0) + 1, 0.5, False),                      # phi(0) != 0
    (sp.sin(z), 0.2, False),
])
def test_decision_on_unseen_expressions(expr, q, expected):
    # Expressions the module has no name for: the answer must come from the proof.
    assert dr.commutation_of(expr, q=q).commutes is expected


def test_one_rate_is_weaker_than_every_rate():
    # ex-dropout-one-rate: z (2 + sin(2 pi log2|z|)) satisfies phi(2z) = 2 phi(z) only.
    wobble = 2 + sp.sin(2 * sp.pi * sp.log(sp.Abs(z)) / sp.log(2))
    f = sp.Piecewise((0, sp.Eq(z, 0)), (z * wobble, True))
    assert dr.commutation_of(f, q=0.5).commutes
    assert not dr.commutation_of(f, q=0.25).commutes
    # "Every rate": the residual with symbolic c does not vanish, and the counterexample
    # must come from a rate other than 1/2, at which f does commute.
    every = dr.commutation_of(f)
    assert not every.commutes and every.witness["q"] != sp.Rational(1, 2)


@pytest.mark.parametrize("name", sorted(set(dr.ACTIVATIONS) - COMMUTING))
def test_counterexamples_are_exact_and_match_float64(name):
    r = dr.commutation(name)
    w = r.witness
    # The recorded gap is the difference of the two recorded orders, exactly.
    assert sp.simplify(w["dropout_then_phi"] - w["phi_then_dropout"] - w["gap"]) == 0
    assert w["gap"].is_zero is False
    # Independent float64 code at the same mask, input and rate: the same gap to 1e-13
    # (a few ulps of phi at |z| <= 2; a wrong witness would be off by O(1)).
    out = dr.both_orders(name, np.array([float(w["z"])]), np.array([float(w["m"])]),
                         float(w["q"]))
    numeric = out["dropout_then_phi"][0] - out["phi_then_dropout"][0]
    checks.check_close(numeric, float(sp.N(w["gap"], 30)), 1e-13)
    assert abs(numeric) > 1e-3


def test_proofs_are_general_for_the_commuting_ones():
    for name in COMMUTING:
        r = dr.commutation(name)
        assert r.commutes and r.witness is None and r.proof.status() == "proved"
        assert r.value_at_zero == 0 and all(v == 0 for v in r.residuals.values())
    # Leaky ReLU is proved with its slope a free symbol.
    assert dr.alpha in dr.expression("leaky_relu").free_symbols


def test_rate_is_read_as_the_decimal_it_was_written_as():
    assert dr.commutation("tanh", q=0.1).q == sp.Rational(1, 10)


# --- float64 ------------------------------------------

@pytest.mark.parametrize("name", dr.ACTIVATIONS)
def test_numeric_phi_matches_the_symbolic_expression(name):
    # 250-digit evaluation of the SymPy form (leaky slope 0.01; enough digits that
    # GELU's 1 + erf(z/sqrt 2) ~ 1e-197 at z = -30 survives the cancellation) against
    # the hand-written float64 code on [-30, 30]. Measured: <= 3e-16 (a few roundings),
    # so tolerance 3e-14; GELU 1.2e-13, because erfc(y) ~ exp(-y^2) turns the rounding
    # of y = -z/sqrt 2 into a relative error 2 y^2 eps ~ 1e-13 at |z| = 30
    # (conditioning, not the code): tolerance 1e-11.
    expr = dr.expression(name).subs(dr.alpha, sp.Rational(1, 100))
    exact = sp.lambdify(z, expr, "mpmath")
    grid = np.concatenate([np.linspace(-30, 30, 241), [0.0, 1e-8, -1e-8]])
    with mpmath.workdps(250):
        reference = np.array([float(exact(mpmath.mpf(float(v)))) for v in grid])
    tol = 1e-11 if name == "gelu" else 3e-14
    checks.check_close(dr.phi(name, grid), reference, tol)


@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=40), st.floats(0.01, 0.99),
       st.randoms())
def test_commuting_activations_agree_on_every_mask(values, q, rnd):
    # Tolerance 1e-14 relative: leaky ReLU rounds alpha z / (1 - q) in two orders
    # (<= 2 ulps).
    zz = np.array(values)
    mask = np.array([float(rnd.random() < 0.5) for _ in values])
    for name in COMMUTING:
        out = dr.both_orders(name, zz, mask, q)
        checks.check_close(out["phi_then_dropout"], out["dropout_then_phi"], 1e-14)


@given(st.floats(0.05, 0.95))
def test_non_commuting_activations_disagree_on_a_kept_unit(q):
    # At z = +-1 every non-commuting activation differs on at least one side, by > 1e-4.
    for name in set(dr.ACTIVATIONS) - COMMUTING:
        out = dr.both_orders(name, np.array([1.0, -1.0]), np.ones(2), q)
        gap = np.abs(out["phi_then_dropout"] - out["dropout_then_phi"])
        assert np.max(gap) > 1e-4, name


def test_expected_outputs_by_enumerating_the_mask():
    # The mean over the two mask values, each order applied by both_orders, against the
    # closed forms of expected_outputs (eq-dropout-mean); 1e-15 relative (rounding).
    zz = np.linspace(-5, 5, 41)
    for name in dr.ACTIVATIONS:
        for q in (0.2, 0.7):
            for rescale in (True, False):
                keep = dr.both_orders(name, zz, np.ones_like(zz), q, rescale)
                drop = dr.both_orders(name, zz, np.zeros_like(zz), q, rescale)
                mean = dr.expected_outputs(name, zz, q, rescale)
                for order in ("phi_then_dropout", "dropout_then_phi"):
                    enumerated = (1 - q) * keep[order] + q * drop[order]
                    checks.check_close(mean[order], enumerated, 1e-14, tiny=1e-12)
                if rescale:  # dropout-then-phi keeps the mean only when it commutes
                    same = np.allclose(mean["dropout_then_phi"], dr.phi(name, zz),
                                       rtol=1e-12, atol=1e-14)
                    assert same == (name in COMMUTING), name


def test_rescaling_keeps_the_mean_by_sampling():
    # E D_m(v) = v: mean over 400,000 masks within 5 standard errors (CLT).
    rng = np.random.default_rng(0)
    q, v, K = 0.4, 1.7, 400_000
    out = dr.dropout(np.full(K, v), (rng.random(K) >= q).astype(float), q)
    assert abs(out.mean() - v) <= 5 * out.std(ddof=1) / math.sqrt(K)


# --- the figure ------------------------------------------

def test_figure_data_is_both_orders_and_their_means():
    d = dr.figure_data("softplus", 0.3, "none")
    direct = dr.both_orders("softplus", d["z"], np.ones_like(d["z"]), 0.3,
                            rescale=False)
    assert np.array_equal(d["kept_dropout_then_phi"], direct["dropout_then_phi"])
    mean = dr.expected_outputs("softplus", d["z"], 0.3, rescale=False)
    assert np.array_equal(d["mean_phi_then_dropout"], mean["phi_then_dropout"])


def test_plot_updates_in_place_and_table_is_small():
    from matplotlib.figure import Figure

    e = dr.explorer()
    fig = Figure()
    first = dict(activation="tanh", q=0.5, scaling="1/(1-q)")
    second = dict(activation="relu", q=0.9, scaling="none")
    e.plot(fig, e.data(**first), **first)
    lines = [id(line) for ax in fig.axes for line in ax.lines]
    e.plot(fig, e.data(**second), **second)
    assert [id(line) for ax in fig.axes for line in ax.lines] == lines
    assert len(fig.axes) == 2
    assert np.array_equal(fig.axes[0].lines[1].get_ydata(),
                          e.data(**second)["kept_dropout_then_phi"])
    total = sum(len(v) for row in e.table() for v in row.values()
                if isinstance(v, list))
    assert total <= 40_000 <= MAX_TABLE_VALUES
    assert e.vega_spec()["usermeta"]["explorer"] == "dropout-orders"


# --- bad input ------------------------------------------

@pytest.mark.parametrize("call, message", [
    (lambda: dr.commutation("swish"), "name must be one of"),
    (lambda: dr.commutation("relu", q=1.0), "q must be <"),
    (lambda: dr.commutation("relu", q=0.0), "q must be >"),
    (lambda: dr.commutation("relu", rescale=1), "rescale must be True or False"),
    (lambda: dr.commutation_of(z + sp.Symbol("w")), "expression in z only"),
    (lambda: dr.commutation_of("z**2"), "SymPy expression"),
    (lambda: dr.dropout(np.ones(3), np.array([1.0, 0.5, 0.0]), 0.3),
     "0 \\(dropped\\) or 1"),
    (lambda: dr.dropout(np.ones(3), np.ones(2), 0.3), "shape of z"),
    (lambda: dr.figure_data("relu", 0.5, "half"), "scaling must be one of"),
])
def test_bad_input_is_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()


_Z3 = np.array([-1.0, 0.5, 2.0])
_MASK3 = np.array([1.0, 0.0, 1.0])

PUBLIC_CALLS = [
    Call(dr.expression, {"name": "tanh"}),
    Call(dr.commutation, {"name": "tanh", "q": 0.25}, exempt={"q": {"none"}}),
    Call(dr.commutes_with_dropout, {"name": "relu", "q": 0.5}, exempt={"q": {"none"}}),
    Call(dr.commutation_of, {"phi_expr": sp.tanh(z), "q": 0.5}, exempt={"q": {"none"}}),
    Call(dr.phi, {"name": "gelu", "x": _Z3}, exempt={"x": {"extra-axis"}}),
    Call(dr.dropout, {"v": _Z3, "mask": _MASK3, "q": 0.3}),
    Call(dr.both_orders, {"name": "sigmoid", "z": _Z3, "mask": _MASK3, "q": 0.3}),
    Call(dr.expected_outputs, {"name": "softplus", "z": _Z3, "q": 0.3},
         exempt={"z": {"extra-axis"}}),
    Call(dr.figure_data, {"activation": "tanh", "q": 0.5, "scaling": "none"}),
]

HOSTILE_EXEMPT = {
    "derivations.dropout.plot_dropout_figure":
        "draws on a matplotlib Figure the Explorer passes in",
    "derivations.dropout.chart_dropout_figure":
        "builds an Altair chart from the Explorer's own source",
    "derivations.dropout.explorer": "takes no arguments",
}
