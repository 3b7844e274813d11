"""Tests of derivations.explore: controls, the precomputed table, both views, the Vega
printer, and the Jupyter view's fast path (repainting only what a control move changed).
"""

import importlib
import io
import json
import math
import pkgutil
import threading
import time

import numpy as np
import pytest
import sympy as sp

import derivations
from derivations.explore import MAX_TABLE_VALUES, Choice, Explorer, Slider, vega_expr
from derivations.explore.jupyter import Latest
from derivations.explore.render import encode_png

from .hostile import Call

_x = sp.Symbol("x")
PUBLIC_CALLS = [Call(vega_expr, {"expr": _x**2 + 1, "names": {_x: "xv"}})]


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
    return Explorer("toy-figure", [Slider("depth", 1, 4, 1, value=2),
                                   Choice("kind", ["line", "square"], "line")],
                    _compute, _plot, _chart, **kw)


# --- controls -------------------------------------------------------------------------

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
        Explorer("ok", [Slider("n", 1, 2, 1, 1), Choice("n", ["a"], "a")], _compute,
                 _plot, _chart)
    with pytest.raises(ValueError, match="unknown control"):
        _explorer().data(width=3)


def test_compute_must_return_equal_length_columns():
    bad = Explorer("bad", [Slider("n", 1, 2, 1, 1)],
                   lambda n: {"x": np.zeros(3), "y": np.zeros(4)}, _plot, _chart)
    with pytest.raises(ValueError, match="equal-length"):
        bad.data()


def test_table_budget_is_enforced():
    big = Explorer("big", [Slider("n", 1, 100, 1, 1)],
                   lambda n: {"x": np.zeros(MAX_TABLE_VALUES // 100 + 1)},
                   _plot, _chart)
    with pytest.raises(ValueError, match="exceeds"):
        big.table()


# --- the table and the two views ------------------------------------------------------

def test_table_holds_compute_at_every_combination():
    e = _explorer()
    rows = e.table()
    assert len(rows) == 4 * 2
    for row in rows:
        depth = 1 + row["_k_depth"]
        expected = _compute(depth, row["kind"])
        assert row["y"] == [float(f"{v:.5g}") for v in expected["y"]]


def test_non_finite_values_become_null():
    e = Explorer("nan", [Slider("n", 1, 1, 1, 1)],
                 lambda n: {"x": np.array([0.0, 1.0]),
                            "y": np.array([np.nan, -np.inf])},
                 _plot, _chart)
    assert e.table()[0]["y"] == [None, None]


def test_vega_spec_binds_every_control_and_filters_the_table():
    spec = _explorer().vega_spec()
    params = {p["name"]: p for p in spec["params"]}
    assert params["depth"]["bind"]["input"] == "range" and params["depth"]["value"] == 2
    assert params["kind"]["bind"]["options"] == ["line", "square"]
    assert "explorer_table" in spec["datasets"]
    filt = spec["transform"][0]["filter"]
    assert "datum._k_depth == round((depth - 1) / 1)" in filt
    assert "datum.kind == kind" in filt
    assert spec["transform"][1] == {"flatten": ["x", "y"]}


def test_html_is_deterministic_and_embeds_the_spec():
    a, b = _explorer().html(), _explorer().html()
    assert a == b
    assert 'id="explorer-toy-figure"' in a and "vegaEmbed(" in a
    assert "</script" not in a.split("<script", 1)[1][:-9]


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


# --- the Vega printer -----------------------------------------------------------------

def _eval_vega(code, env):
    """Evaluate a printed Vega expression in Python: for these operators and functions
    two languages agree (the Piecewise ternary is checked separately, as text)."""
    scope = {"exp": math.exp, "log": math.log, "pow": math.pow, "sqrt": math.sqrt,
             "abs": abs,
             "E": math.e, "PI": math.pi, **env}
    return eval(code, scope)


@pytest.mark.parametrize("expr", [
    "tanh(x)", "1/(1 + exp(-x))", "x**3 - 2*x + 1/3", "sqrt(x**2 + 1)",
    "log(x**2 + 2)*exp(-x/7)",
    "4/(exp(2*x) + 2 + exp(-2*x))",
])
def test_vega_printer_matches_sympy_numerically(expr):
    x = sp.Symbol("x")
    e = sp.sympify(expr)
    code = vega_expr(e, {x: "xv"})
    for v in (-2.3, -0.1, 0.0, 0.7, 3.1):
        # Same double-precision operations in a different order: 1e-12 relative.
        assert math.isclose(_eval_vega(code, {"xv": v}), float(e.subs(x, v)),
                            rel_tol=1e-12, abs_tol=1e-14)


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


# --- the Jupyter view: repainting only what changed -----------------------------------
#
# Reference images come from a fresh figure drawn in full at the same control values.
# The fast path paints unchanged parts from cached layers composited "over" the image,
# which rounds differently from drawing in place where two semi-transparent paints
# overlap (a legend's frame over a line that moved under it): a pixel may differ by a
# level or two out of 255, so the comparisons allow 3 (a wrong or missing artist differs
# by ~100 or more).

PIXEL_TOLERANCE = 3

# The synthetic figures below place their axes by hand, so that a fresh figure lays out
# the same; constrained layout (which the Explorer asks for) has nothing to do, says so.
pytestmark = pytest.mark.filterwarnings("ignore:There are no gridspecs with layoutgrid")


def _compute_waves(a, b, title):
    x = np.linspace(0.0, 1.0, 60)
    return {"x": x, "y": np.sin(2 * np.pi * a * x), "z": b * np.cos(2 * np.pi * x)}


def _plot_waves(fig, data, a, b, title):
    """In place, on fixed axes positions (so that a fresh figure lays out the same)."""
    if not fig.axes:
        left = fig.add_axes([0.1, 0.15, 0.55, 0.7])
        right = fig.add_axes([0.75, 0.15, 0.2, 0.7])
        left.plot([], [], color="C0", lw=3, label="sin")
        left.plot([], [], color="C1", label="cos")
        left.fill_between([0, 1], [0, 0], [0, 0], color="C2", alpha=0.3)
        left.legend(loc="center", framealpha=0.8)  # the curves pass under it
        left.axhline(0.9, color="k", lw=0.8)  # never updated, moves with the y limits
        left.text(0.05, -0.9, "y = -0.9")
        left.set_xlim(0, 1)
        right.plot([], [], "k.-")
        right.set(xlim=(0, 1), ylim=(-1.1, 1.1), title="fixed")
    left, right = fig.axes
    left.lines[0].set_data(data["x"], data["y"])
    left.lines[1].set_data(data["x"], data["z"])
    left.collections[0].set_data(data["x"], 0 * data["x"], data["y"])
    left.set_ylim(-1.2 * max(1, b), 1.2 * max(1, b))  # moves with b only
    left.set_title(f"{title}: a = {a}")
    right.lines[0].set_data(data["x"][::6], data["y"][::6])


def _waves(plot=_plot_waves, **kw):
    return Explorer("waves", [Slider("a", 1, 3, 1, value=1),
                              Slider("b", 1, 2, 1, value=1),
                              Choice("title", ["one", "two"], "one")],
                    _compute_waves, plot, _chart, width=6.0, height=3.0, **kw)


def _fresh(explorer, **params):
    return explorer.renderer(partial=False).rgba(**params)


def _assert_same_image(got, want):
    assert got.shape == want.shape
    diff = np.abs(got.astype(int) - want.astype(int))
    bad = int((diff.max(axis=2) > PIXEL_TOLERANCE).sum())
    assert diff.max() <= PIXEL_TOLERANCE, f"{bad} pixels differ, by up to {diff.max()}"


def _changed_units(renderer):
    """The units the last draw repainted, named for the assertions below."""
    redraw = renderer.redraw
    assert redraw.last["mode"] == "partial"
    changed = [u for u, c in zip(redraw.scene.plan, redraw.changed) if c]
    axes = renderer.fig.axes
    return {type(u).__name__ + ("/" + u.axis_name if hasattr(u, "axis_name") else "")
            + (f"@{axes.index(u.axes)}" if u.axes else "") for u in changed}


def test_fast_path_draws_what_a_full_redraw_draws():
    e = _waves()
    fast = e.renderer()
    fast.rgba()
    moves = [dict(a=2), dict(a=3, b=2), dict(title="two"), dict(a=1, b=1, title="one"),
             dict(b=2), dict(a=2, title="two"), dict(a=2, title="two")]
    for move in moves:
        _assert_same_image(fast.rgba(**move), _fresh(e, **move))
        assert fast.redraw.last["mode"] in ("partial", "unchanged"), move
    # Only data moved (a), the limits did not: no axis object is repainted...
    fast.rgba(a=3, title="two")
    changed = _changed_units(fast)
    assert not {u for u in changed if "Axis" in u} and "Line2D@1" in changed
    # ...and the fast path did much less than a full draw.
    assert fast.redraw.last["changed"] < fast.redraw.last["units"] / 2


def test_fast_path_follows_a_change_of_limits_and_of_a_title():
    e = _waves()
    fast = e.renderer()
    fast.rgba(a=2, b=1, title="one")
    got = fast.rgba(a=2, b=2, title="one")  # the left y limits move, nothing else
    _assert_same_image(got, _fresh(e, a=2, b=2, title="one"))
    changed = _changed_units(fast)
    assert "YAxis/y@0" in changed and "XAxis/x@0" not in changed
    got = fast.rgba(a=2, b=2, title="two")  # only the left title changes
    _assert_same_image(got, _fresh(e, a=2, b=2, title="two"))
    assert _changed_units(fast) <= {"Text@0", "Line2D@0", "Line2D@1",
                                    "FillBetweenPolyCollection@0"}
    # The same values again: the artists are set as they were, the image is the same.
    assert np.array_equal(fast.rgba(a=2, b=2, title="two"), got)


def test_fast_path_png_is_the_image():
    fast = _waves().renderer()
    png = fast.png(a=3, b=2)
    from PIL import Image

    decoded = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))
    assert np.array_equal(decoded, fast.redraw.buffer())  # the pixels of that draw


def test_encode_png_round_trips_and_refuses_bad_input():
    from PIL import Image

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(7, 5, 4), dtype=np.uint8)
    for level in (0, 1, 9):
        back = np.asarray(Image.open(io.BytesIO(encode_png(image, level))))
        assert np.array_equal(back, image)
    for bad in (image[..., :3], image.astype(float), np.zeros((0, 3, 4), np.uint8)):
        with pytest.raises(ValueError, match="uint8"):
            encode_png(bad)
    with pytest.raises(ValueError, match="level"):
        encode_png(image, 10)


def _plot_best_legend(fig, data, a, b, title):
    """A legend at "best": it moves when the curves do."""
    if not fig.axes:
        ax = fig.add_axes([0.1, 0.1, 0.8, 0.8])
        ax.plot([], [], label="a curve")
        ax.set(xlim=(0, 1), ylim=(-2.5, 2.5))
        ax.legend(loc="best")
    ax = fig.axes[0]
    level = 2.0 if title == "one" else -2.0  # a curve along the top, or the bottom
    ax.lines[0].set_data(data["x"], level + 0.2 * data["y"])


def test_a_legend_at_best_moves_with_the_data():
    e = _waves(plot=_plot_best_legend)
    fast = e.renderer()
    fast.rgba(title="one")
    boxes = []
    for title in ("two", "one", "two"):
        _assert_same_image(fast.rgba(title=title), _fresh(e, title=title))
        boxes.append(fast.fig.axes[0].get_legend().get_window_extent().bounds)
    assert boxes[0] != boxes[1]  # the legend did move


def _plot_rebuilt_fill(fig, data, a, b, title):
    """Updates in place but replaces its fill on every call (a new artist each time)."""
    if not fig.axes:
        fig.add_axes([0.1, 0.1, 0.8, 0.8]).set(xlim=(0, 1), ylim=(-1, 1))
    ax = fig.axes[0]
    for c in list(ax.collections):
        c.remove()
    ax.fill_between(data["x"], 0, data["y"], color="C3")


def test_artists_added_or_removed_fall_back_to_a_full_draw():
    e = _waves(plot=_plot_rebuilt_fill)
    fast = e.renderer()
    fast.rgba()
    for a in (2, 3):
        _assert_same_image(fast.rgba(a=a), _fresh(e, a=a))
        assert fast.redraw.last["mode"] == "full"


def test_a_plot_that_is_not_in_place_is_rebuilt():
    e = _explorer()  # its plot adds a new Axes on every call
    fast = e.renderer()
    fast.rgba()
    for move in (dict(depth=4), dict(kind="square"), dict(depth=1, kind="line")):
        _assert_same_image(fast.rgba(**move), _fresh(e, **move))
        assert len(fast.fig.axes) == 1


def _plot_polar(fig, data, a, b, title):
    if not fig.axes:
        fig.add_subplot(projection="polar").plot([], [])
    fig.axes[0].lines[0].set_data(2 * np.pi * data["x"], 1 + data["y"] / 2)


def test_figures_the_fast_path_does_not_follow_are_drawn_in_full():
    e = _waves(plot=_plot_polar)
    fast = e.renderer()
    fast.rgba()
    _assert_same_image(fast.rgba(a=3), _fresh(e, a=3))
    assert fast.redraw.last["mode"] == "full"


def _plot_lazy(fig, data, a, b, title):
    """Sets the curve only when it changes (``b`` and ``title`` change nothing)."""
    if not fig.axes:
        ax = fig.add_axes([0.1, 0.1, 0.8, 0.8])
        ax.plot([], [])
        ax.set_ylim(-1, 1)
    line = fig.axes[0].lines[0]
    if not np.array_equal(line.get_ydata(), data["y"]):
        line.set_data(data["x"], data["y"])


def test_a_save_at_another_size_in_between_is_followed():
    """Saving the figure at another DPI leaves the canvas a new, blank renderer: the next
    move draws in full, even one that changes nothing."""
    e = _waves(plot=_plot_lazy)
    fast = e.renderer()
    fast.rgba(a=2)
    _assert_same_image(fast.rgba(a=2, b=2), _fresh(e, a=2))
    assert fast.redraw.last["mode"] == "unchanged"
    fast.fig.savefig(io.BytesIO(), format="png", dpi=50)
    _assert_same_image(fast.rgba(a=2, b=1), _fresh(e, a=2))


def _book_explorers():
    """Each chapter module's ``explorer`` factory, once (a package may re-export it)."""
    found = {}
    for info in pkgutil.walk_packages(derivations.__path__, "derivations."):
        factory = getattr(importlib.import_module(info.name), "explorer", None)
        if callable(factory) and not info.name.startswith("derivations.explore"):
            found.setdefault(factory, factory.__module__)
    return sorted(((name, f) for f, name in found.items()), key=lambda item: item[0])


@pytest.mark.parametrize("name,factory", _book_explorers(),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_book_figures_fast_path_matches_a_full_redraw(name, factory):
    """Every chapter's figure, moved through a few settings: the fast path's image
    equals a full redraw of the same figure (same frozen layout) at each."""
    e = factory()
    rng = np.random.default_rng(0)
    fast, full = e.renderer(), e.renderer(partial=False)
    fast.rgba()
    full.rgba()
    for _ in range(3):
        move = {c.name: c.values()[rng.integers(len(c.values()))] for c in e.controls}
        _assert_same_image(fast.rgba(**move), full.rgba(**move))
        assert fast.redraw.last["mode"] in ("partial", "unchanged")


# --- the worker that keeps up with a drag ---------------------------------------------

def test_latest_draws_the_last_value_one_redraw_after_the_hand_stops():
    """A slow redraw (40 ms) and a drag of 40 values, one every 2 ms: intermediate
    values are dropped, and after the last one arrives at most the redraw already
    running finishes, then the last value is drawn (no queue of stale redraws)."""
    drawn, started, lock = [], [], threading.Lock()

    def job(value):
        with lock:
            started.append((time.perf_counter(), value))
        time.sleep(0.04)
        with lock:
            drawn.append(value)

    latest = Latest(job, threaded=True)
    for value in range(40):
        latest.submit(value)
        time.sleep(0.002)
    stopped = time.perf_counter()
    assert latest.wait(10.0)
    done = time.perf_counter()
    assert drawn[-1] == 39
    assert len(drawn) < 40 / 3  # most intermediate values were skipped
    after = [v for t, v in started if t >= stopped]
    assert after in ([], [39])  # nothing but the last value starts after the hand stops
    assert drawn.count(39) == 1 and len(drawn) == len(set(drawn))
    # Wall-clock bound, loose for a loaded machine: the running redraw plus one more.
    assert done - stopped < 2 * 0.04 + 0.5


def test_widget_keeps_images_it_has_drawn():
    e, computed = _waves(), []
    e.compute = lambda **params: computed.append(params) or _compute_waves(**params)
    box = e.widget(threaded=False)
    image, a = box.explorer_image, box.explorer_controls["a"]
    first = bytes(image.value)
    a.value = 2
    second = bytes(image.value)
    a.value = 1
    assert bytes(image.value) == first != second
    assert [p["a"] for p in computed] == [1, 2]  # going back to a = 1 drew nothing


def test_threaded_widget_ends_on_the_last_position():
    """A fast drag on the worker thread: the image ends at the drag's last position."""
    from PIL import Image

    e = _waves()
    box = e.widget(threaded=True)
    a, b = box.explorer_controls["a"], box.explorer_controls["b"]
    for value in (2, 3, 1, 2, 3):
        a.value = value
        b.value = 1 + value % 2
    assert box.explorer_wait(10.0)
    png = bytes(box.explorer_image.value)
    shown = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))
    _assert_same_image(shown, _fresh(e, a=3, b=2))


def test_data_reuses_what_the_static_table_computed():
    """Displaying an Explorer makes its static table; control moves in Jupyter then reuse
    those columns (exactly, unrounded) instead of computing again."""
    e, computed = _explorer(), []
    e.compute = lambda **params: computed.append(params) or _compute(**params)
    before = e.data(depth=3, kind="square")
    e.table()
    n = len(computed)
    again = e.data(depth=3, kind="square")
    assert len(computed) == n and all(np.array_equal(before[k], again[k]) for k in before)
    again["y"][:] = 0.0  # a copy: the kept columns are not changed through it
    assert np.array_equal(e.data(depth=3, kind="square")["y"], before["y"])
    e.data(depth=3.5)  # off the grid: computed, not looked up
    assert len(computed) == n + 1
