"""Tests of derivations.grouped_conv: parameter counts, the convolution, the block.

References are independent of the code they check: the convolution against a loop over
the defining sum, the counts against the sizes of the arrays the code consumes and
against the SymPy formula, the path form against the grouped form, and the source's
module against a single path scaled by 32.
"""

import matplotlib.figure
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from derivations import grouped_conv as gc

from .hostile import Call

EPS = np.finfo(float).eps


def conv_reference(x, weight, bias, groups, padding):
    """The defining sum of a grouped convolution, one output entry at a time."""
    n, c_in, rows, cols = x.shape
    c_out, per_group, k, _ = weight.shape
    padded = np.zeros((n, c_in, rows + 2 * padding, cols + 2 * padding))
    padded[:, :, padding:padding + rows, padding:padding + cols] = x
    y = np.empty((n, c_out, rows + 2 * padding - k + 1, cols + 2 * padding - k + 1))
    for s, o, p, q in np.ndindex(y.shape):
        first = (o // (c_out // groups)) * per_group
        y[s, o, p, q] = bias[o] + sum(
            weight[o, c, a, b] * padded[s, first + c, p + a, q + b]
            for c in range(per_group) for a in range(k) for b in range(k))
    return y


def max_rel(a, b):
    """Largest difference relative to the largest reference entry."""
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


# --- parameter counts -----------------------------------------------------------------

@given(st.integers(1, 6), st.integers(1, 8), st.integers(1, 8), st.integers(1, 7),
       st.booleans())
def test_parameter_count_is_the_formula_and_the_array_sizes(g, m_in, m_out, k, bias):
    c_in, c_out = g * m_in, g * m_out
    count = gc.parameter_count(c_in, c_out, k, groups=g, bias=bias)
    # The weight array conv2d accepts has shape (C_out, C_in / g, k, k); bias (C_out,).
    weight = np.zeros((c_out, c_in // g, k, k))
    bias_array = np.zeros(c_out) if bias else None
    gc.conv2d(np.zeros((1, c_in, k, k)), weight, bias_array, groups=g)
    assert count == weight.size + (c_out if bias else 0)
    C_in, C_out, K, G, B = sp.symbols("C_in C_out k g b", positive=True)
    formula = (C_in * K**2 / G + B) * C_out
    assert count == formula.subs({C_in: c_in, C_out: c_out, K: k, G: g, B: int(bias)})


def test_parameter_count_known_values():
    assert gc.parameter_count(256, 4, 1) == 256 * 4 + 4
    assert gc.parameter_count(4, 4, 3) == 4 * 4 * 9 + 4
    assert gc.parameter_count(128, 128, 3, groups=32) == 4 * 9 * 128 + 128
    assert gc.parameter_count(64, 64, 3, groups=64, bias=False) == 9 * 64  # depthwise


def test_parameter_count_refuses_groups_that_do_not_divide():
    with pytest.raises(ValueError, match="must divide c_in"):
        gc.parameter_count(10, 12, 3, groups=4)
    with pytest.raises(ValueError, match="must divide c_out"):
        gc.parameter_count(12, 10, 3, groups=4)
    with pytest.raises(ValueError, match="bias"):
        gc.parameter_count(12, 12, 3, bias=1)


@given(st.integers(1, 40), st.integers(1, 10), st.integers(1, 300),
       st.sampled_from([1, 3, 5]))
def test_block_counts_differ_by_the_merged_last_biases(g, w, C, k):
    with_b = gc.block_parameter_counts(g, w, C, k, bias=True)
    without = gc.block_parameter_counts(g, w, C, k, bias=False)
    assert with_b["paths"] - with_b["grouped"] == (g - 1) * C
    assert without["paths"] == without["grouped"] == g * (2 * C * w + w * w * k * k)


def test_block_counts_match_the_arrays_of_both_forms():
    weights = gc.random_paths(paths=5, width=3, channels=7, kernel=3, seed=1)
    grouped = gc.to_grouped(**weights)
    counts = gc.block_parameter_counts(5, 3, 7, 3)
    assert counts["paths"] == sum(v.size for v in weights.values())
    assert counts["grouped"] == sum(v.size for n, v in grouped.items() if n != "groups")
    assert gc.block_parameter_counts() == {"paths": 78592, "grouped": 70656}
    assert gc.RESNET_BOTTLENECK == 69632


# --- the convolution ------------------------------------------------------------------

@given(st.sampled_from([(1, 6, 6), (2, 6, 4), (3, 3, 6), (6, 6, 6), (2, 4, 2)]),
       st.sampled_from([1, 2, 3]), st.integers(0, 2), st.integers(0, 2**31))
def test_conv2d_matches_the_defining_sum(channels, k, padding, seed):
    groups, c_in, c_out = channels
    padding = min(padding, k - 1)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2, c_in, 5, 4))
    weight = rng.normal(size=(c_out, c_in // groups, k, k))
    bias = rng.normal(size=c_out)
    fast = gc.conv2d(x, weight, bias, groups=groups, padding=padding)
    # Each entry sums c_in k^2 / g <= 54 products in two orders: over 300 random cases
    # at most 5e-16 of the largest entry. 5e-14 is 100x that; a wrong offset gives O(1).
    assert max_rel(fast, conv_reference(x, weight, bias, groups, padding)) < 5e-14


def test_conv2d_without_bias_and_its_refusals():
    x = np.ones((1, 4, 3, 3))
    y = gc.conv2d(x, np.ones((2, 2, 3, 3)), groups=2)
    assert np.array_equal(y, np.full((1, 2, 1, 1), 18.0))
    with pytest.raises(ValueError, match="axis 1 must be C_in / groups"):
        gc.conv2d(x, np.ones((2, 4, 3, 3)), groups=2)
    with pytest.raises(ValueError, match="padding"):
        gc.conv2d(x, np.ones((2, 4, 3, 3)), padding=3)
    with pytest.raises(ValueError, match="too small"):
        gc.conv2d(np.ones((1, 4, 2, 2)), np.ones((2, 4, 3, 3)))
    with pytest.raises(ValueError, match="axis 3"):
        gc.conv2d(x, np.ones((2, 4, 3, 2)))


# --- the block ------------------------------------------------------------------------

@given(st.integers(1, 4), st.integers(1, 3), st.integers(1, 5), st.sampled_from([1, 3]),
       st.integers(0, 2**31))
def test_paths_equal_the_grouped_form(g, w, C, k, seed):
    weights = gc.random_paths(paths=g, width=w, channels=C, kernel=k, seed=seed)
    x = np.random.default_rng(seed + 1).normal(size=(2, C, 4, 3))
    T = gc.paths_block(x, **weights)
    grouped = gc.grouped_block(x, **gc.to_grouped(**weights))
    # Same products, different order of addition: over 300 random cases at most 8e-16
    # of the largest entry; 1e-13 is ~100x that. A misplaced filter gives O(1).
    assert max_rel(grouped, T) < 1e-13


def test_to_grouped_places_every_entry_by_the_index_rule():
    weights = gc.random_paths(paths=3, width=2, channels=5, kernel=3, seed=2)
    grouped = gc.to_grouped(**weights)
    assert grouped["groups"] == 3
    for i in range(3):
        for r in range(2):
            assert np.array_equal(grouped["G1"][i * 2 + r], weights["A1"][i, r])
            assert grouped["c1"][i * 2 + r] == weights["b1"][i, r]
            assert np.array_equal(grouped["G2"][i * 2 + r], weights["A2"][i, r])
            assert grouped["c2"][i * 2 + r] == weights["b2"][i, r]
            assert np.array_equal(grouped["G3"][:, i * 2 + r], weights["A3"][i, :, r])
    assert np.allclose(grouped["c3"], weights["b3"].sum(axis=0), rtol=1e-15, atol=0)


def test_paths_block_matches_a_loop_over_separate_paths():
    # An independent model: each path through conv_reference, then the sum.
    weights = gc.random_paths(paths=2, width=2, channels=3, kernel=3, seed=3)
    x = np.random.default_rng(4).normal(size=(1, 3, 4, 4))
    total = 0.0
    for i in range(2):
        h = np.maximum(conv_reference(x, weights["A1"][i], weights["b1"][i], 1, 0), 0)
        h = np.maximum(conv_reference(h, weights["A2"][i], weights["b2"][i], 1, 1), 0)
        total = total + conv_reference(h, weights["A3"][i], weights["b3"][i], 1, 0)
    assert max_rel(gc.paths_block(x, **weights), total) < 1e-13


def test_random_paths_draws_pytorch_default_ranges():
    weights = gc.random_paths(paths=4, width=3, channels=16, kernel=3, seed=5)
    # Layer bounds 1 / sqrt(fan_in): fan_in = 16, 3 * 9, 3.
    fans = (("A1", 16), ("b1", 16), ("A2", 27), ("b2", 27), ("A3", 3), ("b3", 3))
    for name, fan_in in fans:
        assert np.max(np.abs(weights[name])) <= 1 / np.sqrt(fan_in)
    again = gc.random_paths(paths=4, width=3, channels=16, kernel=3, seed=5)
    assert all(np.array_equal(weights[n], again[n]) for n in weights)
    with pytest.raises(ValueError, match="weights"):
        gc.random_paths(paths=10**4, width=64, channels=256)


def test_moving_bias_between_paths_changes_nothing():
    weights = gc.random_paths(paths=3, width=2, channels=4, seed=6)
    x = np.random.default_rng(7).normal(size=(1, 4, 3, 3))
    moved = {n: v.copy() for n, v in weights.items()}
    moved["b3"][0] += 1.5
    moved["b3"][2] -= 1.5
    assert max_rel(gc.paths_block(x, **moved), gc.paths_block(x, **weights)) < 1e-13


def test_source_block_is_one_path_scaled_by_32():
    weights = gc.random_paths(paths=1, width=4, channels=8, kernel=3, seed=8)
    one = {n: v[0] for n, v in weights.items()}
    x = np.random.default_rng(9).normal(size=(2, 8, 5, 5))
    S = gc.source_block(x, **one)
    h = np.maximum(conv_reference(x, one["A1"], one["b1"], 1, 0), 0)
    h = np.maximum(conv_reference(h, one["A2"], one["b2"], 1, 1), 0)
    path = np.maximum(conv_reference(h, one["A3"], one["b3"], 1, 0), 0)
    # 32 additions of one tensor: at most 31 roundings of the largest entry (~7e-15).
    assert max_rel(S, 32 * path) < 1e-13
    assert S.min() >= 0.0
    with pytest.raises(ValueError, match="axis 2"):
        gc.source_block(x, **{**one, "A2": np.zeros((4, 4, 5, 5))})


def test_per_path_relu_breaks_the_equivalence():
    weights = gc.random_paths(paths=4, width=2, channels=6, seed=10)
    x = np.random.default_rng(11).normal(size=(1, 6, 4, 4))
    T = gc.paths_block(x, **weights)
    with_relu = sum(gc.source_block(x, **{n: v[i] for n, v in weights.items()}, paths=1)
                    for i in range(4))
    assert T.min() < 0 and with_relu.min() >= 0
    assert max_rel(with_relu, T) > 0.1


# --- the figure -----------------------------------------------------------------------

def test_figure_table_is_small_and_plot_updates_in_place():
    figure = gc.explorer()
    rows = figure.table()
    numbers = sum(len(v) for r in rows for v in r.values() if isinstance(v, list))
    assert numbers <= 40_000
    fig = matplotlib.figure.Figure()
    first = figure.data(width=4, bias="with biases")
    gc.plot_count_figure(fig, first, width=4, bias="with biases")
    axes, lines = list(fig.axes), list(fig.axes[0].lines)
    second = figure.data(width=9, bias="without biases")
    gc.plot_count_figure(fig, second, width=9, bias="without biases")
    assert list(fig.axes) == axes and list(fig.axes[0].lines) == lines
    assert np.array_equal(lines[0].get_ydata(), second["path_form"])
    assert figure.vega_spec()["usermeta"]["explorer"] == "grouped-conv-parameters"


def test_figure_data_is_the_block_count():
    data = gc.count_figure_data(4, "with biases")
    assert round(data["path_form"][31] * 1e3) == 78592
    assert round(data["grouped_form"][31] * 1e3) == 70656


# --- hostile input --------------------------------------------------------------------

_W = gc.random_paths(paths=2, width=2, channels=4, kernel=3, seed=0)
_ONE = {n: v[0] for n, v in _W.items()}
_X = np.random.default_rng(0).normal(size=(1, 4, 4, 4))

PUBLIC_CALLS = [
    Call(gc.parameter_count, {"c_in": 128, "c_out": 128, "kernel": 3, "groups": 32,
                              "bias": True}),
    Call(gc.block_parameter_counts, {"paths": 32, "width": 4, "channels": 256,
                                     "kernel": 3, "bias": True}),
    Call(gc.conv2d, {"x": _X, "weight": np.ones((4, 2, 3, 3)), "bias": np.ones(4),
                     "groups": 2, "padding": 1}, exempt={"bias": {"none"}}),
    Call(gc.random_paths, {"paths": 2, "width": 2, "channels": 4, "kernel": 3,
                           "seed": 0}),
    Call(gc.paths_block, {"x": _X, **_W}),
    Call(gc.to_grouped, dict(_W)),
    Call(gc.grouped_block, {"x": _X, **gc.to_grouped(**_W)}),
    Call(gc.source_block, {"x": _X, **_ONE, "paths": 3}),
    Call(gc.count_figure_data, {"width": 4, "bias": "with biases"}),
    Call(gc.explorer, {}),
]

HOSTILE_EXEMPT = {
    "derivations.grouped_conv.plot_count_figure": "figure view: draws given data on a "
    "matplotlib Figure; its data come from count_figure_data, which validates",
    "derivations.grouped_conv.chart_count_figure": "figure view: builds an Altair "
    "chart from the Explorer's filtered table",
}
