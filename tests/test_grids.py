"""Tests of derivations.grids: the MDRNN and the PixelCNN, counted, scheduled, traced.

Every count is compared with what the NumPy models actually perform (a tally taken from
the operands) or with an enumeration of the dependency graph; every model is compared
with an independent reference written another way (a memoised recursion for the MDRNN,
a dense masked convolution pixel by pixel for the PixelCNN); every dependency claim is
checked by perturbing one input of the model and seeing which outputs move.
"""

import functools
import json

import altair as alt
import matplotlib.figure
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from derivations import checks
from derivations import grids as g
from derivations.grids import formulas as F

from .hostile import Call


def _mdrnn_problem(G, D, H, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((G, G, D)), scale * rng.standard_normal((H, D)),
            scale * rng.standard_normal((H, H)), scale * rng.standard_normal((H, H)))


def _pixelcnn_problem(P, Q, L, k, d, n, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((P, Q, d)), scale * rng.standard_normal((k, k, d, n)),
            scale * rng.standard_normal((L - 1, k, k, n, n)))


# --- counts ---------------------------------------------------------------------------

def test_weight_count_formula_and_function_agree():
    w = F.mdrnn_formulas()["weights"]
    for D in range(1, 6):
        for H in range(1, 6):
            # W_in is H x D, W_W and W_N are H x H: count the entries of real arrays.
            arrays = _mdrnn_problem(2, D, H)[1:]
            assert g.mdrnn_weight_count(D, H) == sum(a.size for a in arrays)
            assert w.subs({F.d: D, F.n: H}) == g.mdrnn_weight_count(D, H)


def test_seed_004_operation_count_is_the_formula():
    # Seed 004 counts H (n_a + 2D + 4H - 1) operations per cell; over G^2 cells this is
    # the book's mults + adds + n_a * activations, as an identity in all symbols.
    per_cell = F.n * (F.n_a + 2 * F.d + 4 * F.n - 1)
    total = F.mdrnn_formulas()["arithmetic"]
    assert checks.prove_identity(F.G**2 * per_cell, total).check


@settings(max_examples=25)
@given(st.integers(1, 7), st.integers(1, 5), st.integers(1, 5),
       st.sampled_from(g.mdrnn.SCHEDULES))
def test_mdrnn_operations_counted_equal_the_formulas(G, D, H, schedule):
    f = F.mdrnn_formulas()
    _, counted = g.mdrnn_forward_counted(*_mdrnn_problem(G, D, H), schedule=schedule)
    sub = {F.G: G, F.d: D, F.n: H}
    assert counted == {key: int(f[key].subs(sub)) for key in counted}


@pytest.mark.parametrize("G,D,H", [(1, 1, 1), (2, 3, 1), (4, 2, 3), (9, 1, 2)])
def test_mdrnn_connections_enumerated_equal_the_formula(G, D, H):
    f = F.mdrnn_formulas()["connections"]
    assert g.mdrnn_connection_count(G, D, H) == f.subs({F.G: G, F.d: D, F.n: H})


@settings(max_examples=25)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 3),
       st.sampled_from([3, 5, 7]), st.integers(1, 2), st.integers(1, 3))
def test_pixelcnn_counts_equal_the_formulas(P, Q, L, k, d, n):
    f = F.pixelcnn_formulas()
    sub = {F.P: P, F.Q: Q, F.L: L, F.k: k, F.d: d, F.n: n}
    _, counted = g.pixelcnn_forward_counted(*_pixelcnn_problem(P, Q, L, k, d, n))
    assert counted == {key: f[key].subs(sub) for key in counted}
    if k // 2 <= min(P, Q):  # the connection formula's hypothesis
        counted_links = g.pixelcnn_connection_count(P, Q, L, k, d, n)
        assert counted_links == f["connections"].subs(sub)


def test_kernel_one_is_degenerate():
    # k = 1: mask A keeps no tap, so layer 1 multiplies and adds nothing and outputs
    # phi(0) = 0 everywhere; the "taps * n_in - 1 additions" count (k >= 3) fails here.
    out, counted = g.pixelcnn_forward_counted(*_pixelcnn_problem(3, 3, 1, 1, 1, 1))
    assert counted == {"mults": 0, "adds": 0, "activations": 9} and not out.any()
    assert F.pixelcnn_formulas()["adds"].subs({F.P: 3, F.Q: 3, F.L: 1, F.k: 1, F.d: 1,
                                               F.n: 1}) == -9


def test_connection_formula_needs_its_hypothesis():
    # With r = (k-1)/2 > min(P, Q) the closed form counts taps that miss the image with
    # a negative weight: it is wrong there, which is why the hypothesis is stated.
    f = F.pixelcnn_formulas()["connections"]
    sub = {F.P: 2, F.Q: 2, F.L: 1, F.k: 7, F.d: 1, F.n: 1}
    assert g.pixelcnn_connection_count(2, 2, 1, 7) != f.subs(sub)


def test_big_o_of_the_counts():
    mdrnn, pixel = F.mdrnn_formulas(), F.pixelcnn_formulas()
    assert sp.O(mdrnn["mults"], (F.G, sp.oo)) == sp.O(F.G**2, (F.G, sp.oo))
    # Leading terms: G^2 n (d + 2n) and P Q L n^2 k^2 / 2.
    ratio = mdrnn["connections"] / (F.G**2 * F.n * (F.d + 2 * F.n))
    assert sp.simplify(sp.limit(ratio, F.G, sp.oo)) == 1
    lead = pixel["connections"] / (F.P * F.Q * F.L * F.n**2 * F.k**2 / 2)
    for s in (F.P, F.Q, F.L, F.k):
        lead = sp.simplify(sp.limit(lead, s, sp.oo))
    assert lead == 1


# --- the models against independent references ----------------------------------------

def _mdrnn_reference(x, W_in, W_W, W_N):
    """h(i, j) straight from the definition, by a memoised recursion (no schedule)."""
    G, H = x.shape[0], W_in.shape[0]

    @functools.lru_cache(maxsize=None)
    def h(i, j):
        if i < 0 or j < 0:
            return np.zeros(H)
        return np.tanh(W_in @ x[i, j] + W_W @ h(i - 1, j) + W_N @ h(i, j - 1))

    return np.array([[h(i, j) for j in range(G)] for i in range(G)])


@pytest.mark.parametrize("schedule", g.mdrnn.SCHEDULES)
def test_mdrnn_matches_the_recursive_definition(schedule):
    problem = _mdrnn_problem(6, 3, 4, seed=2)
    # Absolute 1e-13 (the states lie in (-1, 1); tiny = 1 turns the relative error into
    # an absolute one): the two differ only in summation order (measured ~1e-16).
    checks.check_close(g.mdrnn_forward(*problem, schedule=schedule),
                       _mdrnn_reference(*problem), 1e-13, tiny=1.0)


def test_schedules_agree_exactly_on_integers():
    rng = np.random.default_rng(4)
    for G in (1, 2, 5, 8):
        x = rng.integers(-3, 4, (G, G, 2))
        Ws = [rng.integers(-2, 3, (3, 2)), rng.integers(-1, 2, (3, 3)),
              rng.integers(-1, 2, (3, 3))]
        for activation in ("relu", "identity"):
            loop = g.mdrnn_exact_forward(x, *Ws, schedule="loop", activation=activation)
            wave = g.mdrnn_exact_forward(x, *Ws, schedule="wavefront",
                                         activation=activation)
            assert loop.dtype == object and np.array_equal(loop, wave)


def test_mdrnn_output_layout():
    x, W_in, W_W, W_N = _mdrnn_problem(3, 2, 5)
    h = g.mdrnn_forward(x, W_in, W_W, W_N)
    assert h.shape == (3, 3, 5)
    # index [i, j] = h(i, j): the corner cell reads only its own input.
    assert np.array_equal(h[0, 0], np.tanh(W_in @ x[0, 0]))
    assert np.allclose(h[1, 0], np.tanh(W_in @ x[1, 0] + W_W @ h[0, 0]), rtol=1e-15)


def _pixelcnn_reference(x, W_first, W_rest, activation=np.tanh):
    """Dense masked convolution, one output pixel at a time, full k x k window times the
    mask (a second algorithm: no tap list, no padding)."""
    h = x
    for layer, W in enumerate([W_first, *W_rest]):
        k = W.shape[0]
        r = k // 2
        m = g.mask(k, "A" if layer == 0 else "B")
        P, Q, _ = h.shape
        out = np.zeros((P, Q, W.shape[-1]))
        for p in range(P):
            for q in range(Q):
                for a in range(k):
                    for b in range(k):
                        pp, qq = p + a - r, q + b - r
                        if m[a, b] and 0 <= pp < P and 0 <= qq < Q:
                            out[p, q] += h[pp, qq] @ W[a, b]
        h = activation(out)
    return h


def test_pixelcnn_matches_a_dense_reference():
    problem = _pixelcnn_problem(5, 6, 3, 3, 2, 3, seed=1)
    # Absolute 1e-12 (tanh outputs lie in (-1, 1)): summation order only (measured
    # ~1e-16).
    checks.check_close(g.pixelcnn_forward(*problem), _pixelcnn_reference(*problem),
                       1e-12, tiny=1.0)


def test_masks():
    assert np.array_equal(g.mask(3, "A"), [[1, 1, 1], [1, 0, 0], [0, 0, 0]])
    assert np.array_equal(g.mask(3, "B"), [[1, 1, 1], [1, 1, 0], [0, 0, 0]])
    for k in (1, 3, 5, 7):
        assert g.mask(k, "A").sum() == (k * k - 1) // 2
        assert g.mask(k, "B").sum() == (k * k + 1) // 2


# --- sequential steps -----------------------------------------------------------------

@pytest.mark.parametrize("G", [1, 2, 3, 7, 20])
def test_wavefront_is_a_valid_and_optimal_schedule(G):
    steps = g.wavefront(G)
    assert len(steps) == 2 * G - 1
    cells = [c for step in steps for c in step]
    assert sorted(cells) == [(i, j) for i in range(G) for j in range(G)]  # each once
    when = {c: s for s, step in enumerate(steps) for c in step}
    graph = g.mdrnn_dependencies(G)
    assert all(when[u] < when[v] for v, preds in graph.items() for u in preds)
    # The as-soon-as-possible levels of the graph are exactly the wavefront's steps.
    levels = g.critical_path_levels(graph)
    assert all(levels[c] == when[c] + 1 for c in cells)
    assert max(levels.values()) == 2 * G - 1


def test_critical_path_levels_small_cases_and_errors():
    chain = {"a": [], "b": ["a"], "c": ["b"], "d": ["a"]}
    assert g.critical_path_levels(chain) == {"a": 1, "b": 2, "c": 3, "d": 2}
    assert g.critical_path_levels(chain, {"b": 0})["c"] == 2
    with pytest.raises(ValueError, match="cycle"):
        g.critical_path_levels({"a": ["b"], "b": ["a"]})
    with pytest.raises(ValueError, match="not in the graph"):
        g.critical_path_levels({"a": ["z"]})


@pytest.mark.parametrize("P,Q,L,k",
                         [(4, 4, 1, 3), (5, 6, 2, 3), (6, 5, 3, 5), (3, 7, 2, 5)])
def test_pixelcnn_depths(P, Q, L, k):
    f = F.pixelcnn_formulas()
    sub = {F.P: P, F.Q: Q, F.L: L, F.k: k}
    assert g.pixelcnn_depth(P, Q, L, k, "training") == L
    assert g.pixelcnn_depth(P, Q, L, k, "generation") == f["generation_depth"].subs(sub)


def test_generation_depth_is_raster_when_the_filter_spans_a_row():
    # With r >= Q - 1 every pixel reads the last pixel of the row above: no overlap.
    assert g.pixelcnn_depth(4, 3, 2, 5, "generation") == 4 * 3 * 2


# --- context --------------------------------------------------------------------------

def _staircase(L, k):
    """The field the chapter derives: row 0 dx in [-R, -1], row -m dx in
    [-R, r min(m, L)]."""
    r, R = k // 2, L * (k // 2)
    out = np.zeros((2 * R + 1, 2 * R + 1), dtype=bool)
    out[R, :R] = True
    for m in range(1, R + 1):
        out[R - m, : R + r * min(m, L) + 1] = True
    return out


@pytest.mark.parametrize("L", [1, 2, 3, 5])
@pytest.mark.parametrize("k", [1, 3, 5, 7])
def test_receptive_field_is_the_staircase_and_is_causal(L, k):
    field = g.masked_receptive_field(L, k)
    R = L * (k // 2)
    assert field.shape == (2 * R + 1, 2 * R + 1)
    assert np.array_equal(field, _staircase(L, k))
    assert not field[R, R] and not field[R + 1:].any() and not field[R, R:].any()
    if k >= 3:
        f = {key: v.subs({F.L: L, F.k: k})
             for key, v in F.receptive_field_formulas().items()}
        assert field.sum() == f["field"]
        assert f["potential"] - field.sum() == f["blind"] == (k // 2) * L * (L - 1) // 2


@pytest.mark.parametrize("L,k", [(1, 3), (2, 3), (3, 3), (2, 5)])
def test_receptive_field_matches_perturbing_the_model(L, k):
    # Identity activation and positive weights: every path adds a positive amount, so a
    # pixel influences an output exactly when there is a path (no cancellation).
    R = L * (k // 2)
    side = 2 * R + 1
    rng = np.random.default_rng(L + k)
    W1 = rng.uniform(0.5, 1.5, (k, k, 1, 1))
    Wr = rng.uniform(0.5, 1.5, (L - 1, k, k, 1, 1))
    base = np.zeros((side, side, 1))
    out0 = g.pixelcnn_forward(base, W1, Wr, activation="identity")
    seen = np.zeros((side, side), dtype=bool)
    for p in range(side):
        for q in range(side):
            bumped = base.copy()
            bumped[p, q, 0] = 1.0
            out = g.pixelcnn_forward(bumped, W1, Wr, activation="identity")
            seen[p, q] = out[R, R, 0] != out0[R, R, 0]
    assert np.array_equal(seen, g.masked_receptive_field(L, k))


def test_mdrnn_context_is_the_quadrant_and_matches_perturbation():
    G = 5
    rng = np.random.default_rng(9)
    W_in, W_W, W_N = (rng.uniform(0.2, 0.6, s) for s in [(2, 1), (2, 2), (2, 2)])
    base = np.zeros((G, G, 1))
    h0 = g.mdrnn_forward(base, W_in, W_W, W_N, activation="identity")
    moved = np.zeros((G, G, G, G), dtype=bool)  # [i', j', i, j]
    for i in range(G):
        for j in range(G):
            bumped = base.copy()
            bumped[i, j, 0] = 1.0
            h = g.mdrnn_forward(bumped, W_in, W_W, W_N, activation="identity")
            moved[i, j] = np.any(h != h0, axis=-1)
    ii, jj = np.meshgrid(range(G), range(G), indexing="ij")
    for i in range(G):
        for j in range(G):
            quadrant = (ii <= i) & (jj <= j)
            assert np.array_equal(g.mdrnn_context(G, i, j), quadrant)
            assert np.array_equal(moved[:, :, i, j], quadrant)


def test_context_map_categories():
    codes = g.context_map(8, 8, 7, 4, 3, 3)
    labels = np.array(g.CONTEXT_LABELS)[codes]
    assert labels[7, 4] == "output pixel" and (labels[7, 5:] == "later pixels").all()
    # The blind spot: rows 6 and 5 right of the staircase (dx > r m), never the MDRNN's.
    blind = {tuple(c) for c in np.argwhere(labels == "blind spot")}
    assert blind == {(6, 7), (5, 7), (6, 6)}
    assert (labels[:7, :5] != "PixelCNN only").all()  # MDRNN sees all of these
    assert (labels[:4, 5:] == "neither").all()
    box = g.context_box(2, 3)
    assert box.shape == (3, 5) and box[2, 2] == 1


# --- the figure -----------------------------------------------------------------------

def test_explorer_table_is_small_and_plot_updates_in_place():
    e = g.explorer()
    rows = e.table()
    values = sum(len(v) for r in rows for key, v in r.items()
                 if not key.startswith("_k_"))
    assert values <= 40_000
    spec = e.vega_spec()
    assert spec["usermeta"]["explorer"] == "grid-context-wavefront"
    json.dumps(spec)
    fig = matplotlib.figure.Figure()
    g.plot_figure(fig, e.data(), **e.defaults())
    axes, image = list(fig.axes), fig.axes[0].images[0]
    params = {"grid": 4, "kernel": 5, "layers": 2, "step": 3}
    g.plot_figure(fig, e.data(**params), **params)
    assert fig.axes == axes and list(fig.axes[0].images) == [image]  # same artists
    assert image.get_array().shape == (4, 4)
    wave = fig.axes[1].images[0].get_array()
    assert (wave == 1).sum() == len(g.wavefront(4)[2])  # step 3: anti-diagonal 2


def test_figure_data_wave_column_is_the_wavefront():
    data = g.figure_data(grid=6, kernel=3, layers=2, step=1)
    wave = data["wave"].reshape(6, 6)
    for s, cells in enumerate(g.wavefront(6), start=1):
        assert all(wave[j, i] == s for i, j in cells)  # pixel (row j, column i)


def test_plot_context_box_updates_in_place():
    fig = matplotlib.figure.Figure()
    g.plot_context_box(fig, 3, 3)
    images = [ax.images[0] for ax in fig.axes[:3]]
    g.plot_context_box(fig, 3, 3)
    assert [ax.images[0] for ax in fig.axes[:3]] == images and len(fig.axes) == 3


# --- bad sizes ------------------------------------------------------------------------

def test_bad_sizes_raise_clear_errors():
    with pytest.raises(ValueError, match="G must be an integer >= 1"):
        g.wavefront(0)
    with pytest.raises(ValueError, match="odd"):
        g.masked_receptive_field(2, 4)
    with pytest.raises(ValueError, match="kernel must be an integer >= 1"):
        g.masked_receptive_field(2, -3)
    with pytest.raises(ValueError, match="layers must be an integer >= 1"):
        g.masked_receptive_field(0, 3)
    x, W_in, W_W, W_N = _mdrnn_problem(3, 2, 4)
    with pytest.raises(ValueError, match="W_in has shape"):
        g.mdrnn_forward(x, W_in.T, W_W, W_N)
    with pytest.raises(ValueError, match="W_N has shape"):
        g.mdrnn_forward(x, W_in, W_W, W_N[:3])
    with pytest.raises(ValueError, match="x has shape"):
        g.mdrnn_forward(x[:2], W_in, W_W, W_N)
    with pytest.raises(ValueError, match="odd"):
        g.pixelcnn_forward(np.zeros((3, 3, 1)), np.zeros((2, 2, 1, 1)),
                           np.zeros((0, 2, 2, 1, 1)))


# --- hostile input --------------------------------------------------------------------

_x, _Wi, _Ww, _Wn = _mdrnn_problem(3, 2, 2)
_px, _W1, _Wr = _pixelcnn_problem(4, 4, 2, 3, 1, 2)
_ints = dict(x=np.arange(18).reshape(3, 3, 2) % 3 - 1, W_in=np.array([[1, -1], [0, 2]]),
             W_W=np.array([[1, 0], [-1, 1]]), W_N=np.array([[0, 1], [1, 0]]))
_fig_params = {"grid": 4, "kernel": 3, "layers": 2, "step": 2}
_small_graph = {"a": [], "b": ["a"]}

PUBLIC_CALLS = [
    Call(g.critical_path_levels, {"predecessors": _small_graph, "cost": None}),
    Call(g.mdrnn_formulas, {}),
    Call(g.pixelcnn_formulas, {}),
    Call(g.receptive_field_formulas, {}),
    Call(g.wavefront, {"G": 4}),
    Call(g.mdrnn_forward, {"x": _x, "W_in": _Wi, "W_W": _Ww, "W_N": _Wn,
                           "schedule": "loop", "activation": "tanh"}),
    Call(g.mdrnn_forward_counted, {"x": _x, "W_in": _Wi, "W_W": _Ww, "W_N": _Wn,
                                   "schedule": "wavefront", "activation": "tanh"}),
    Call(g.mdrnn_exact_forward, {**_ints, "schedule": "loop", "activation": "relu"}),
    Call(g.mdrnn_weight_count, {"D": 3, "H": 4}),
    Call(g.mdrnn_connection_count, {"G": 3, "D": 2, "H": 2}),
    Call(g.mdrnn_dependencies, {"G": 3}),
    Call(g.mdrnn_context, {"G": 4, "i": 2, "j": 1}),
    Call(g.mask, {"kernel": 3, "kind": "A"}),
    Call(g.pixelcnn_forward, {"x": _px, "W_first": _W1, "W_rest": _Wr,
                              "activation": "tanh"}),
    Call(g.pixelcnn_forward_counted, {"x": _px, "W_first": _W1, "W_rest": _Wr,
                                      "activation": "relu"}),
    Call(g.pixelcnn_connection_count, {"P": 4, "Q": 5, "layers": 2, "kernel": 3, "d": 1,
                                       "n": 2}),
    Call(g.masked_receptive_field, {"layers": 2, "kernel": 3}),
    Call(g.pixelcnn_dependencies, {"P": 3, "Q": 3, "layers": 2, "kernel": 3,
                                   "mode": "generation"}),
    Call(g.pixelcnn_depth, {"P": 3, "Q": 4, "layers": 2, "kernel": 3,
                            "mode": "training"}),
    Call(g.context_map, {"rows": 6, "cols": 6, "p0": 5, "q0": 3, "layers": 2,
                         "kernel": 3}),
    Call(g.context_box, {"layers": 2, "kernel": 3}),
    Call(g.figure_data, _fig_params),
    Call(g.plot_figure, {"fig": matplotlib.figure.Figure(),
                         "data": g.figure_data(**_fig_params), **_fig_params}),
    Call(g.plot_context_box, {"fig": matplotlib.figure.Figure(), "layers": 2,
                              "kernel": 3}),
    Call(g.chart_figure, {"source": alt.Chart(alt.NamedData(name="explorer_table")),
                          "params": {}}),
    Call(g.explorer, {}),
]
HOSTILE_EXEMPT: dict = {}
