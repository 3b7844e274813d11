"""Tests of derivations.explore: controls, the precomputed table, both views, the Vega printer."""

import json
import math

import numpy as np
import pytest
import sympy as sp

from derivations.explore import MAX_TABLE_VALUES, Choice, Explorer, Slider, vega_expr


def _compute(depth, kind):
    x = np.linspace(-1.0, 1.0, 5)
    y = x * depth if kind == "line" else x**2 * depth
    return {"x": x, "y": y}


def _plot(fig, data, **params):
    ax = fig.add_subplot()
    ax.plot(data["x"], data["y"])


def _chart(source, params):
    return source.mark_line().encode(x="x:Q", y="y:Q")


def _explorer(**kw):
    return Explorer("toy-figure", [Slider("depth", 1, 4, 1, value=2), Choice("kind", ["line", "square"], "line")],
                    _compute, _plot, _chart, **kw)


# --- controls -------------------------------------------------------------------------------

def test_slider_grid_and_index():
    s = Slider("alpha", 0.1, 0.5, 0.1, value=0.3)
    assert s.values() == [0.1, 0.2, 0.3, 0.4, 0.5]  # decimal grid, no binary noise
    assert s.index(0.3) == 2 and s.index(0.35) is None
    assert not s.integer and Slider("n", 1, 9, 2, value=5).values() == [1, 3, 5, 7, 9]


@pytest.mark.parametrize("kwargs, message", [
    (dict(name="bad name", min=0, max=1, step=1, value=0), "identifier"),
    (dict(name="a", min=0, max=1, step=0, value=0), "step must be positive"),
    (dict(name="a", min=2, max=1, step=1, value=2), "below min"),
    (dict(name="a", min=0, max=1, step=0.3, value=0), "whole number of steps"),
    (dict(name="a", min=0, max=1, step=0.5, value=0.25), "not on the grid"),
    (dict(name="a", min=0, max=math.inf, step=1, value=0), "finite"),
])
def test_bad_sliders_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Slider(**kwargs)


def test_bad_choices_are_rejected():
    with pytest.raises(ValueError, match="not one of"):
        Choice("c", ["a", "b"], "z")
    with pytest.raises(ValueError, match="distinct"):
        Choice("c", ["a", "a"], "a")


def test_bad_explorers_are_rejected():
    with pytest.raises(ValueError, match="lower-case"):
        Explorer("Bad Name", [Slider("n", 1, 2, 1, 1)], _compute, _plot, _chart)
    with pytest.raises(ValueError, match="distinct"):
        Explorer("ok", [Slider("n", 1, 2, 1, 1), Choice("n", ["a"], "a")], _compute, _plot, _chart)
    with pytest.raises(ValueError, match="unknown control"):
        _explorer().data(width=3)


def test_compute_must_return_equal_length_columns():
    bad = Explorer("bad", [Slider("n", 1, 2, 1, 1)], lambda n: {"x": np.zeros(3), "y": np.zeros(4)}, _plot, _chart)
    with pytest.raises(ValueError, match="equal-length"):
        bad.data()


def test_table_budget_is_enforced():
    big = Explorer("big", [Slider("n", 1, 100, 1, 1)], lambda n: {"x": np.zeros(MAX_TABLE_VALUES // 100 + 1)},
                   _plot, _chart)
    with pytest.raises(ValueError, match="exceeds"):
        big.table()


# --- the table and the two views ----------------------------------------------------------

def test_table_holds_compute_at_every_combination():
    e = _explorer()
    rows = e.table()
    assert len(rows) == 4 * 2
    for row in rows:
        depth = 1 + row["_k_depth"]
        expected = _compute(depth, row["kind"])
        assert row["y"] == [float(f"{v:.5g}") for v in expected["y"]]


def test_non_finite_values_become_null():
    e = Explorer("nan", [Slider("n", 1, 1, 1, 1)], lambda n: {"x": np.array([0.0, 1.0]), "y": np.array([np.nan, -np.inf])},
                 _plot, _chart)
    assert e.table()[0]["y"] == [None, None]


def test_vega_spec_binds_every_control_and_filters_the_table():
    spec = _explorer().vega_spec()
    params = {p["name"]: p for p in spec["params"]}
    assert params["depth"]["bind"]["input"] == "range" and params["depth"]["value"] == 2
    assert params["kind"]["bind"]["options"] == ["line", "square"]
    assert "explorer_table" in spec["datasets"]
    filt = spec["transform"][0]["filter"]
    assert "datum._k_depth == round((depth - 1) / 1)" in filt and "datum.kind == kind" in filt
    assert spec["transform"][1] == {"flatten": ["x", "y"]}


def test_html_is_deterministic_and_embeds_the_spec():
    a, b = _explorer().html(), _explorer().html()
    assert a == b
    assert 'id="explorer-toy-figure"' in a and "vegaEmbed(" in a and "</script" not in a.split("<script", 1)[1][:-9]


def test_mime_bundle_has_widget_and_static_views():
    bundle = _explorer()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/html"].startswith('<div class="explorer"')
    assert bundle["text/plain"] == "Explorer 'toy-figure' with controls depth, kind"


def test_widget_redraws_when_a_control_moves():
    box = _explorer().widget()
    before = box.explorer_image.value
    box.explorer_controls["depth"].value = 4
    after_depth = box.explorer_image.value
    box.explorer_controls["kind"].value = "square"
    assert before != after_depth != box.explorer_image.value
    assert after_depth[:8] == b"\x89PNG\r\n\x1a\n"


# --- the Vega printer --------------------------------------------------------------------------

def _eval_vega(code, env):
    """Evaluate a printed Vega expression in Python: for these operators and functions the
    two languages agree (the Piecewise ternary is checked separately, as text)."""
    scope = {"exp": math.exp, "log": math.log, "pow": math.pow, "sqrt": math.sqrt, "abs": abs,
             "E": math.e, "PI": math.pi, **env}
    return eval(code, scope)


@pytest.mark.parametrize("expr", [
    "tanh(x)", "1/(1 + exp(-x))", "x**3 - 2*x + 1/3", "sqrt(x**2 + 1)", "log(x**2 + 2)*exp(-x/7)",
    "4/(exp(2*x) + 2 + exp(-2*x))",
])
def test_vega_printer_matches_sympy_numerically(expr):
    x = sp.Symbol("x")
    e = sp.sympify(expr)
    code = vega_expr(e, {x: "xv"})
    for v in (-2.3, -0.1, 0.0, 0.7, 3.1):
        # Same double-precision operations in a different order: 1e-12 relative.
        assert math.isclose(_eval_vega(code, {"xv": v}), float(e.subs(x, v)), rel_tol=1e-12, abs_tol=1e-14)


def test_vega_printer_handles_piecewise_and_rejects_the_unknown():
    x = sp.Symbol("x")
    code = vega_expr(sp.Piecewise((0, x < 0), (x, True)), {x: "xv"})
    assert code == "(((xv < 0)) ? (0) : (xv))"
    with pytest.raises(ValueError, match="gamma"):
        vega_expr(sp.gamma(x), {x: "xv"})
    with pytest.raises(ValueError, match="no Vega name"):
        vega_expr(x + sp.Symbol("y"), {x: "xv"})


def test_chart_spec_survives_a_json_round_trip():
    spec = _explorer().vega_spec()
    assert json.loads(json.dumps(spec)) == spec
