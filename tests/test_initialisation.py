"""Tests of derivations.initialisation: closed forms, an exact second route, sampling.

Each closed form is checked three ways: symbolically (it satisfies its recursion and
first layer, and equals the theorem's formula), against exact rational iteration of the
recursion (no rsolve), and against whole networks drawn at random (the exact value
inside a 99.9 % interval, rival formulas outside). The interval machinery itself is
tested for coverage, and a planted wrong value must be caught.
"""

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from derivations import checks
from derivations import initialisation as ini
from derivations.initialisation import L, a, n, v0

from .hostile import Call

COMBOS = [(s, act) for s in ini.SCHEMES for act in ini.ACTIVATIONS]

#: The theorems' formulas, typed from the chapter (thm-init-linear, thm-init-relu,
#: thm-init-schemes).
EXPECTED = {
    ("pytorch-default", "linear"): 3**-L * v0 + (1 - 3**-L) / (2 * n),
    ("pytorch-default", "relu"):
        6 ** (1 - L) * (v0 / 3 + 1 / (3 * n) - 2 / (5 * n)) + 2 / (5 * n),
    ("xavier-uniform", "linear"): v0,
    ("xavier-uniform", "relu"): 2 ** (1 - L) * v0,
    ("kaiming-uniform", "linear"): 2**L * v0,
    ("kaiming-uniform", "relu"): 2 * v0,
}


# --- symbolic -----------------------------------------------------------------

def test_uniform_variance():
    assert sp.simplify(ini.uniform_variance() - a**2 / 3) == 0
    assert math.isclose(float(ini.uniform_variance(0.5)), 1 / 12, rel_tol=1e-15)


def test_bounds_are_the_pytorch_definitions():
    # kaiming_uniform_(a=sqrt 5): gain sqrt(2 / (1 + 5)), bound gain * sqrt(3 / fan_in).
    gain = sp.sqrt(sp.Rational(2, 6))
    assert sp.simplify(ini.weight_bound("pytorch-default") - gain * sp.sqrt(3 / n)) == 0
    assert sp.simplify(ini.weight_bound("pytorch-default") - 1 / sp.sqrt(n)) == 0
    assert sp.simplify(ini.bias_bound("pytorch-default") - 1 / sp.sqrt(n)) == 0
    assert sp.simplify(ini.weight_bound("xavier-uniform") - sp.sqrt(6 / (2 * n))) == 0
    kaiming = sp.sqrt(2) * sp.sqrt(3 / n)
    assert sp.simplify(ini.weight_bound("kaiming-uniform") - kaiming) == 0
    assert ini.bias_bound("xavier-uniform") == 0
    assert ini.bias_bound("kaiming-uniform") == 0


@pytest.mark.parametrize("combo", COMBOS)
def test_closed_form_solves_its_recursion_and_equals_the_theorem(combo):
    V = ini.variance_closed_form(*combo)
    co = ini.layer_coefficients(*combo)
    assert sp.simplify(V.subs(L, L + 1) - (co["r"] * V + co["s"])) == 0
    assert sp.simplify(V.subs(L, 1) - (co["g"] * v0 + co["s"])) == 0
    assert sp.simplify(V - EXPECTED[combo]) == 0


def test_relu_halves_the_gain_after_the_first_layer():
    for scheme in ini.SCHEMES:
        lin = ini.layer_coefficients(scheme, "linear")
        relu = ini.layer_coefficients(scheme, "relu")
        assert lin["g"] == relu["g"] == lin["r"] and relu["r"] == lin["r"] / 2
        assert lin["s"] == relu["s"]


def test_deep_limits():
    limits = {k: ini.deep_limit(*k) for k in COMBOS}
    assert limits[("pytorch-default", "linear")] == 1 / (2 * n)
    assert limits[("pytorch-default", "relu")] == 2 / (5 * n)
    assert limits[("xavier-uniform", "linear")] == v0
    assert limits[("kaiming-uniform", "relu")] == 2 * v0
    assert limits[("xavier-uniform", "relu")] == 0
    assert limits[("kaiming-uniform", "linear")] == sp.oo


# --- two exact algorithms -----------------------------------------------------

@given(st.integers(1, 60), st.integers(1, 5000), st.floats(0, 100),
       st.sampled_from(COMBOS))
def test_closed_form_agrees_with_exact_iteration(depth, width, variance, combo):
    # Both are exact until one final rounding to float64: at most 1 ulp apart
    # (tol 3e-16).
    closed = ini.output_variance(depth, width, variance, *combo)
    iterated = ini.variance_recursion(depth, width, variance, *combo)[-1]
    checks.check_close(closed, iterated, 3e-16, tiny=1e-300)


def test_zero_input_and_overflow():
    # With v_0 = 0 only the biases remain: (1 - 3^-L) / (2n).
    expected = (1 - 3.0**-4) / 20
    assert math.isclose(ini.output_variance(4, 10, 0.0), expected, rel_tol=1e-15)
    with pytest.raises(ValueError, match="does not fit in a float64"):
        ini.output_variance(2000, 8, 1.0, "kaiming-uniform", "linear")  # 2^2000


# --- sampling -----------------------------------------------------------------

@pytest.mark.parametrize("combo, width, variance", [
    (("pytorch-default", "relu"), 8, 2.5),
    (("kaiming-uniform", "relu"), 12, 0.3),
    (("xavier-uniform", "linear"), 8, 1.0),
])
def test_sampled_networks_match_the_closed_form(combo, width, variance):
    depth = 4
    est = ini.monte_carlo_variance(depth, width, variance, *combo, networks=6000,
                                   seed=42)
    exact = ini.variance_recursion(depth, width, variance, *combo)
    others = {f"{o}": ini.variance_recursion(depth, width, variance, *o)
              for o in COMBOS if o != combo}
    record = ini.check_monte_carlo(est, exact, others)
    assert record.error <= 1.0


def test_a_wrong_value_is_caught():
    # The check can fail: 5 % off the exact value is outside a ~2 % interval.
    est = ini.monte_carlo_variance(3, 8, 1.0, "pytorch-default", "linear",
                                   networks=8000, seed=3)
    exact = ini.variance_recursion(3, 8)
    assert np.all(est["half_width"] / exact < 0.03)
    with pytest.raises(AssertionError, match="outside the interval"):
        ini.check_monte_carlo(est, exact * 1.05)
    with pytest.raises(AssertionError, match="cannot tell"):
        ini.check_monte_carlo(est, exact, {"almost exact": exact * 1.001})


def test_interval_covers_the_mean_at_its_confidence():
    # 300 independent 95 % intervals for the mean of u^2, u ~ U(-1, 1) (mean 1/3): the
    # number that cover it is Binomial(300, 0.95) if the intervals are right, mean 285,
    # s.d. 3.8; require 270..299 (4 s.d. below, and not all 300, which would mean
    # intervals far too wide).
    rng = np.random.default_rng(9)
    covered = 0
    for _ in range(300):
        est = ini.mean_with_interval(rng.uniform(-1, 1, 500) ** 2, confidence=0.95)
        covered += int(est["low"] <= 1 / 3 <= est["high"])
    assert 270 <= covered <= 299


# --- the figure ---------------------------------------------------------------

def test_figure_data_matches_output_variance():
    d = ini.figure_data(4, 7, "pytorch-default", "relu")
    direct = [ini.output_variance(k, 16, 1.0, "pytorch-default", "relu")
              for k in range(1, 8)]
    checks.check_close(10 ** d["log10_variance"], direct, 1e-13)  # log10 round trip
    assert np.all((d["input_share"] > 0) & (d["input_share"] < 1))
    assert np.allclose(10 ** d["log10_limit"], 2 / (5 * 16), rtol=1e-13)
    no_limit = ini.figure_data(4, 3, "xavier-uniform", "relu")["log10_limit"]
    assert np.all(np.isnan(no_limit))


def test_plot_updates_in_place_and_table_is_small():
    from matplotlib.figure import Figure

    e = ini.explorer()
    fig = Figure()
    first = dict(log2_width=6, depth=10, scheme="pytorch-default", activation="linear")
    second = dict(log2_width=2, depth=3, scheme="kaiming-uniform", activation="relu")
    e.plot(fig, e.data(**first), **first)
    lines = [id(line) for ax in fig.axes for line in ax.lines]
    e.plot(fig, e.data(**second), **second)
    assert [id(line) for ax in fig.axes for line in ax.lines] == lines
    assert len(fig.axes) == 2
    assert len(fig.axes[0].lines[0].get_xdata()) == 3
    total = sum(len(v) for row in e.table() for v in row.values()
                if isinstance(v, list))
    assert total <= 40_000


# --- bad input ----------------------------------------------------------------

@pytest.mark.parametrize("call, message", [
    (lambda: ini.output_variance(0, 10), "depth must be an integer >= 1"),
    (lambda: ini.output_variance(3, 0), "fan_in must be an integer >= 1"),
    (lambda: ini.output_variance(3, 10, -1.0), "input_variance must be >= 0"),
    (lambda: ini.output_variance(3, 10, scheme="lecun"), "scheme must be one of"),
    (lambda: ini.output_variance(3, 10, activation="tanh"),
     "activation must be one of"),
    (lambda: ini.monte_carlo_variance(200, 4096, networks=10**6), "draws"),
    (lambda: ini.uniform_variance(-sp.Symbol("p", positive=True)), "positive"),
    (lambda: ini.mean_with_interval(np.ones(10)), "at least 30"),
    (lambda: ini.check_monte_carlo({"mean": 1.0}, 1.0), "result of mean_with_interval"),
])
def test_bad_input_is_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()


_EST = ini.mean_with_interval(np.random.default_rng(0).uniform(0, 1, 200))

PUBLIC_CALLS = [
    Call(ini.uniform_variance, {"half_width": 0.5}),
    Call(ini.weight_bound, {"scheme": "xavier-uniform"}),
    Call(ini.bias_bound, {"scheme": "pytorch-default"}),
    Call(ini.layer_coefficients, {"scheme": "kaiming-uniform", "activation": "relu"}),
    Call(ini.variance_closed_form, {"scheme": "pytorch-default", "activation": "relu"}),
    Call(ini.deep_limit, {"scheme": "pytorch-default", "activation": "linear"}),
    Call(ini.output_variance, {"depth": 5, "fan_in": 32, "input_variance": 1.0,
                               "scheme": "pytorch-default", "activation": "linear"}),
    Call(ini.variance_recursion, {"depth": 5, "fan_in": 32, "input_variance": 1.0,
                                  "scheme": "xavier-uniform", "activation": "relu"}),
    Call(ini.monte_carlo_variance, {"depth": 2, "fan_in": 4, "input_variance": 1.0,
                                    "scheme": "pytorch-default", "activation": "relu",
                                    "networks": 100, "seed": 0, "confidence": 0.99}),
    Call(ini.mean_with_interval,
         {"samples": np.random.default_rng(1).uniform(0, 1, 100), "confidence": 0.95}),
    Call(ini.check_monte_carlo, {"estimate": _EST, "exact": np.array([0.5])}),
    Call(ini.figure_data, {"log2_width": 4, "depth": 6, "scheme": "pytorch-default",
                           "activation": "relu"}),
]

HOSTILE_EXEMPT = {
    "derivations.initialisation.plot_variance_figure":
        "draws on a matplotlib Figure the Explorer passes in",
    "derivations.initialisation.chart_variance_figure":
        "builds an Altair chart from the Explorer's own source",
    "derivations.initialisation.explorer": "takes no arguments",
}
