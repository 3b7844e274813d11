"""Tests for derivations.lstm: the LSTM's BPTT recursions, proved symbolically and checked numerically."""

import warnings

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from derivations import lstm

EPS = np.finfo(float).eps


def _problem(seed, T, scale=1.0):
    rng = np.random.default_rng(seed)
    p = lstm.random_params(rng, scale)
    x, y = rng.standard_normal(T), rng.standard_normal(T)
    h0, c0 = rng.standard_normal(2)
    return p, x, y, float(h0), float(c0)


def _vec(d, keys):
    return np.array([float(d[k]) for k in keys])


KEYS = lstm.PARAMS + ("h0", "c0")
finite = st.floats(-5, 5, allow_nan=False)


# ---------------------------------------------------------------- the forward pass
def test_forward_follows_the_model_equations():
    p, x, _, h0, c0 = _problem(0, 7)
    n = lstm.forward(p, x, h0, c0)
    # Initial state stored at t = 0, exactly as given.
    assert n["h"][0] == h0 and n["c"][0] == c0
    # The cell and output equations hold at every step (one rounding each: 4 eps relative is ample).
    assert np.allclose(n["c"][1:], n["f"][1:] * n["c"][:-1] + n["i"][1:] * n["g"][1:], rtol=4 * EPS, atol=0)
    assert np.allclose(n["h"][1:], n["o"][1:] * np.tanh(n["c"][1:]), rtol=4 * EPS, atol=0)
    # The gates are sigmoids of their pre-activations (0 < gate < 1), g a tanh.
    t = 3
    z_f = p["w_fx"] * x[t - 1] + p["w_fh"] * n["h"][t - 1] + p["b_f"]
    assert np.isclose(n["f"][t], 1 / (1 + np.exp(-z_f)), rtol=4 * EPS, atol=0)
    assert np.all((n["i"][1:] > 0) & (n["i"][1:] < 1))


def test_sigmoid_is_stable_at_extreme_inputs():
    z = np.array([-800.0, -40.0, 0.0, 40.0, 800.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning would fail the test
        s = lstm.sigmoid(z)
    # Exact values where float64 can represent them; sigma(0) = 1/2 exactly.
    assert s[0] == 0.0 and s[2] == 0.5 and s[4] == 1.0
    # sigma(-40) = e^-40 / (1 + e^-40) to a few roundings (4 eps relative), not 0.
    assert np.isclose(s[1], np.exp(-40) / (1 + np.exp(-40)), rtol=4 * EPS, atol=0)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 12))
def test_batched_forward_equals_one_model_at_a_time(seed, T):
    rng = np.random.default_rng(seed)
    ps = [lstm.random_params(rng) for _ in range(3)]
    x = rng.standard_normal(T)
    batch = lstm.forward({k: np.array([q[k] for q in ps]) for k in lstm.PARAMS}, x)
    for j, q in enumerate(ps):
        single = lstm.forward(q, x)
        # Same operations on the same numbers: the batch must agree bit for bit.
        assert np.array_equal(batch["h"][:, j], single["h"]) and np.array_equal(batch["c"][:, j], single["c"])


# ---------------------------------------------------------------- the gradient
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("T", [1, 2, 10, 100])
def test_bptt_matches_high_precision_finite_differences(seed, T):
    p, x, y, h0, c0 = _problem(seed, T)
    _, g = lstm.loss_and_grad(p, x, y, h0, c0)
    ref = lstm.fd_gradient_mp(p, x, y, h0, c0)
    # Reference error ~1e-30 (50 digits, step 1e-20); BPTT's float64 rounding over <= 100 steps
    # is ~1e-14 relative (measured <= 2e-14). A wrong term would give O(1) errors: 1e-8 separates them.
    err = lstm.relative_error(_vec(g, KEYS), _vec(ref, KEYS))
    assert err.max() <= 1e-8, dict(zip(KEYS, err))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("T", [3, 30, 100])
def test_bptt_matches_float64_central_differences(seed, T):
    p, x, y, h0, c0 = _problem(seed, T)
    L, g = lstm.loss_and_grad(p, x, y, h0, c0)
    fd = lstm.fd_gradient(p, x, y, h0, c0)
    # Central differences with step h ~ eps^(1/3) ~ 6e-6: truncation ~ h^2 |L'''| / 6 ~ 1e-11 and
    # rounding ~ eps |L| / h ~ 4e-11 |L| (absolute). 1e-8 (1 + |L|) leaves a margin of ~100;
    # relative error is not used because components of size 1e-3 then fail by rounding alone.
    assert np.all(np.abs(_vec(g, KEYS) - _vec(fd, KEYS)) <= 1e-8 * (1 + L))


def test_gradient_check_summary():
    c = lstm.gradient_check(3, 20)
    # The summary carries the same guarantees as the direct tests above (same tolerances, same reasons).
    assert c["rel_mp"] <= 1e-8 and c["abs_fd64"] <= 1e-8 * (1 + c["L"])
    assert 0 < c["min_abs_grad"] and c["rel_fd64"] >= 0


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 15))
def test_error_signals_are_linear_in_the_loss_partials(seed, T):
    rng = np.random.default_rng(seed)
    p = lstm.random_params(rng)
    x, e1, e2 = rng.standard_normal((3, T))
    b1, b2, b12 = (lstm.backprop(p, x, e) for e in (e1, e2, e1 + 2 * e2))
    # BPTT is linear in e(t): bar(e1 + 2 e2) = bar(e1) + 2 bar(e2), up to rounding (1e-12 absolute
    # on signals of size <= ~10 here).
    for k in ("hbar", "cbar"):
        assert np.allclose(b12[k], b1[k] + 2 * b2[k], rtol=1e-12, atol=1e-12)


def test_bptt_of_a_last_step_loss_has_the_closed_form_at_T():
    p, x, _, _, _ = _problem(5, 6)
    e = np.zeros(6)
    e[-1] = 1.0
    n = lstm.forward(p, x)
    b = lstm.backprop(p, x, e, nodes=n)
    # Boundary at t = T: hbar(T) = e(T) and cbar(T) = hbar(T) o(T) (1 - tanh^2 c(T)) (nothing from T+1).
    assert b["hbar"][6] == 1.0
    assert np.isclose(b["cbar"][6], n["o"][6] * (1 - np.tanh(n["c"][6]) ** 2), rtol=4 * EPS, atol=0)


# ---------------------------------------------------------------- the symbolic proof
def test_sigmoid_and_tanh_classes_differentiate_like_their_closed_forms():
    z = sp.Symbol("z", real=True)
    # Sigmoid's fdiff sigma (1 - sigma) is the derivative of 1 / (1 + exp(-z)).
    d = sp.diff(lstm.Sigmoid(z), z).rewrite(sp.exp) - sp.diff(1 / (1 + sp.exp(-z)), z)
    assert sp.simplify(d) == 0
    # Tanh's fdiff 1 - tanh^2 is SymPy's derivative of tanh.
    assert sp.simplify(sp.diff(lstm.Tanh(z), z).rewrite(sp.tanh) - sp.diff(sp.tanh(z), z)) == 0


@pytest.mark.parametrize("T", [1, 2, 3])
def test_recursions_equal_sympy_total_derivatives(T):
    model = lstm.symbolic_model(T)
    direct = lstm.graph_error_signals(model)
    rec = lstm.recursion_error_signals(model)
    # Every node's error signal and dL/dw_ix: the difference is the zero polynomial (exact).
    assert set(direct) == set(rec) and len(direct) == 6 * T + 1
    for key in direct:
        assert lstm.is_zero(direct[key] - rec[key]), key


def test_adding_the_loss_term_late_gives_a_wrong_cbar():
    model = lstm.symbolic_model(2)
    direct = lstm.graph_error_signals(model)
    late = lstm.recursion_error_signals(model, loss_first=False)
    # The literal top-to-bottom reading misses e(t) o(t) tanh'(c(t)) in cbar(t): the check detects it.
    assert not lstm.is_zero(direct[("c", 2)] - late[("c", 2)])
    missing = model["a"][1] * model["nodes"][("o", 2)] * (1 - lstm.Tanh(model["nodes"][("c", 2)]) ** 2)
    assert lstm.is_zero(direct[("c", 2)] - late[("c", 2)] - missing)
    # hbar(T) = e(T) either way, but the wrong cbar(2) then corrupts hbar(1) through the gates.
    assert lstm.is_zero(direct[("h", 2)] - late[("h", 2)])
    assert not lstm.is_zero(direct[("h", 1)] - late[("h", 1)])


def test_is_zero_detects_a_planted_error():
    model = lstm.symbolic_model(2)
    direct = lstm.graph_error_signals(model)
    rec = lstm.recursion_error_signals(model)
    # A recursion that drops the w_oh term of hbar(1) must not pass.
    n, P = model["nodes"], model["params"]
    o2 = n[("o", 2)]
    wrong = rec[("h", 1)] - rec[("o", 2)] * o2 * (1 - o2) * P["w_oh"]
    assert not lstm.is_zero(direct[("h", 1)] - wrong)


def test_symbolic_model_matches_numeric_forward():
    model = lstm.symbolic_model(2)
    p, x, _, h0, c0 = _problem(7, 2)
    subs = {model["params"][k]: p[k] for k in lstm.PARAMS}
    subs.update({model["x"][0]: x[0], model["x"][1]: x[1], model["h0"]: h0, model["c0"]: c0})
    h2 = model["nodes"][("h", 2)].rewrite(sp.exp).xreplace({k: sp.Float(v, 30) for k, v in subs.items()})
    # The symbolic h(2) evaluated at 30 digits equals the float64 forward to rounding (1e-14 relative).
    assert np.isclose(float(h2.evalf(30)), lstm.forward(p, x, h0, c0)["h"][2], rtol=1e-14, atol=0)


# ---------------------------------------------------------------- the Jacobian and the bound
def test_state_jacobian_matches_sympy_and_the_adjoint():
    J_sym, s = lstm.state_jacobian_symbolic()
    P = s["params"]
    args = [P[k] for k in lstm.PARAMS] + [s["h_prev"], s["c_prev"], s["x"]]
    f = sp.lambdify(args, J_sym, modules=[{"Sigmoid": lstm.sigmoid, "Tanh": np.tanh}, "numpy"])
    p, x, _, h0, c0 = _problem(8, 9, scale=1.5)
    n = lstm.forward(p, x, h0, c0)
    J = lstm.state_jacobian(p, n)
    for t in range(1, 10):
        ref = np.array(f(*[p[k] for k in lstm.PARAMS], n["h"][t - 1], n["c"][t - 1], x[t - 1]), dtype=float)
        # The closed-form entries equal SymPy's derivatives to a few roundings (1e-12 absolute, entries <= ~10).
        assert np.allclose(J[t], ref, rtol=1e-12, atol=1e-12)
    # The state adjoint (hbar(t-1), f(t) cbar(t)) = J(t)^T (hbar(t), f(t+1) cbar(t+1)) for a last-step loss.
    e = np.zeros(9)
    e[-1] = 1.0
    b = lstm.backprop(p, x, e, h0, c0, nodes=n)
    adj = np.array([1.0, 0.0])
    for t in range(9, 0, -1):
        adj = J[t].T @ adj
        assert np.allclose(adj, [b["hbar"][t - 1], n["f"][t] * b["cbar"][t]], rtol=1e-12, atol=1e-15)


def test_gate_regime_limit_of_the_jacobian():
    J, s = lstm.state_jacobian_symbolic()
    i, f, o, g, tc = sp.symbols("i f o g tc")
    Jg = J.xreplace({lstm.Tanh(s["c"]): tc, s["i"]: i, s["f"]: f, s["o"]: o, s["g"]: g})
    # Forget gate 1, input and output gates 0: J is exactly diag(0, 1), whatever the weights.
    assert Jg.subs({f: 1, i: 0, o: 0}) == sp.Matrix([[0, 0], [0, 1]])


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.1, 5.0), finite, finite, finite)
def test_jacobian_norm_never_exceeds_the_bound(seed, scale, bf, bi, bo):
    rng = np.random.default_rng(seed)
    p = {**lstm.random_params(rng, scale), "b_f": bf, "b_i": bi, "b_o": bo}
    x = rng.standard_normal(20)
    n = lstm.forward(p, x, *rng.standard_normal(2))
    norm = np.abs(lstm.state_jacobian(p, n)[1:]).sum(axis=2).max(axis=1)
    # Theorem: ||J(t)||_inf <= max(f, o(1+|w_oh|)) + beta; 1e-12 absorbs the rounding of both sides.
    assert np.all(norm <= lstm.jacobian_bound(p, n)[1:] * (1 + 1e-12))


def test_bound_tends_to_one_in_the_gate_regime():
    p = {**lstm.random_params(np.random.default_rng(3), 2.0), "b_f": 40.0, "b_i": -40.0, "b_o": -40.0}
    x = np.random.default_rng(4).standard_normal(100)
    n = lstm.forward(p, x)
    # Every pre-activation is at least `margin` from 0 on the gate's side (|h| <= 1), so 1 - f, i and o
    # are below q = e^-margin, and |bound - 1| <= q (1 + |w_oh| + |w_fh| max|c| + |w_ih| + |w_gh|) =: K.
    margin = min(40.0 - abs(p[f"w_{k}x"]) * np.abs(x).max() - abs(p[f"w_{k}h"]) for k in "ifo")
    K = np.exp(-margin) * (1 + abs(p["w_oh"]) + abs(p["w_fh"]) * np.abs(n["c"]).max() + abs(p["w_ih"]) + abs(p["w_gh"]))
    bound = lstm.jacobian_bound(p, n)[1:]
    assert K < 1e-9  # the regime is really reached, so the next line says something
    assert np.all(np.abs(bound - 1) <= K + 4 * EPS)
    # Over 100 steps the product of the bounds, the growth the theorem allows, is within 100 K of 1.
    assert abs(np.prod(bound) - 1) <= 100 * K + 400 * EPS


# ---------------------------------------------------------------- LSTM vs vanilla RNN at the zero state
@pytest.mark.parametrize("bf,bi,bo,wgh", [(0.0, 0.0, 0.0, 3.0), (4.0, -4.0, -4.0, 3.0), (-1.0, 2.0, 1.0, -2.0)])
def test_zero_state_lstm_signals_are_geometric(bf, bi, bo, wgh):
    T = 40
    p = {**{k: 0.0 for k in lstm.PARAMS}, "w_gh": wgh, "w_ih": 1.0, "w_fh": -1.0, "w_oh": 2.0,
         "b_f": bf, "b_i": bi, "b_o": bo}
    e = np.zeros(T)
    e[-1] = 1.0
    b = lstm.backprop(p, np.zeros(T), e)
    m = lstm.zero_state_rate(bf, bi, bo, wgh)
    o = lstm.sigmoid(bo)
    k = T - np.arange(1, T + 1)
    # cbar(t) = o m^(T-t) exactly in exact arithmetic; <= 40 multiplications: 1e-13 relative.
    assert np.allclose(b["cbar"][1:], o * m ** k, rtol=1e-13, atol=0)


def test_rnn_bptt_at_zero_state_and_against_finite_differences():
    T, wh = 30, 1.3
    e = np.zeros(T)
    e[-1] = 1.0
    nodes = lstm.rnn_forward(0.7, wh, np.zeros(T))
    # At h = 0 every factor is w_h: hbar(t) = w_h^(T-t), exploding for |w_h| > 1 (1e-13: 30 roundings).
    assert np.allclose(lstm.rnn_bptt(wh, nodes, e)[1:], wh ** (T - np.arange(1, T + 1)), rtol=1e-13, atol=0)
    # With inputs: hbar(0) = dh(T)/dh(0) by central differences (step 1e-5, error ~1e-10; tolerance 1e-7).
    x = np.random.default_rng(2).standard_normal(T)
    hb = lstm.rnn_bptt(wh, lstm.rnn_forward(0.7, wh, x, 0.2), e)[0]
    fd = (lstm.rnn_forward(0.7, wh, x, 0.2 + 1e-5)["h"][-1] - lstm.rnn_forward(0.7, wh, x, 0.2 - 1e-5)["h"][-1]) / 2e-5
    assert abs(hb - fd) <= 1e-7 * max(1.0, abs(hb))


def test_zero_state_rate_limit():
    s, w = sp.symbols("s w", real=True)
    m = lstm.Sigmoid(s) + lstm.Sigmoid(-s) ** 2 * w
    # b_f = s, b_i = b_o = -s, s -> oo: m -> 1 for any w (SymPy limit on the exp form).
    assert sp.limit(m.rewrite(sp.exp), s, sp.oo) == 1
    # And numerically for a large weight: |m - 1| < 1e-6 at offsets +-20 (e^-20 ~ 2e-9).
    assert abs(lstm.zero_state_rate(20.0, -20.0, -20.0, 100.0) - 1) < 1e-6


# ---------------------------------------------------------------- the figure
def test_error_signals_columns_and_regime():
    d = lstm.error_signals(100, 6.0, -6.0, -6.0)
    assert set(d) == {"t", "log10_hbar", "log10_cbar", "log10_hbar_rnn"}
    assert all(v.shape == (100,) for v in d.values())
    # The loss is h(T): hbar(T) = 1 in both models, so its log10 is exactly 0.
    assert d["log10_hbar"][-1] == 0.0 and d["log10_hbar_rnn"][-1] == 0.0
    # In the gate regime cbar changes by less than one decade over 100 steps ...
    assert np.ptp(d["log10_cbar"]) < 1.0
    # ... while the vanilla RNN's signal falls by more than 20 decades.
    assert d["log10_hbar_rnn"][0] < -20


def test_error_signals_agree_with_bptt():
    d = lstm.error_signals(25, 2.0, 0.0, -2.0)
    x = lstm.figure_inputs()[:25]
    e = np.zeros(25)
    e[-1] = 1.0
    b = lstm.backprop({**lstm.FIGURE_PARAMS, "b_f": 2.0, "b_i": 0.0, "b_o": -2.0}, x, e)
    # The figure's columns are log10 of the BPTT signals (same computation: 1e-12 for the log).
    assert np.allclose(d["log10_cbar"], np.log10(np.abs(b["cbar"][1:])), rtol=0, atol=1e-12)


def test_plot_chart_and_explorer():
    import altair as alt
    from matplotlib.figure import Figure

    data = lstm.error_signals(25, 4.0, -4.0, -4.0)
    fig = Figure()
    lstm.plot_error_signals(fig, data)
    # Three curves on one labelled axis.
    ax = fig.axes[0]
    assert len(ax.lines) == 3 and "log10" in ax.get_ylabel()
    rows = [{k: [float(v) for v in data[k]] for k in data}]
    source = alt.Chart(alt.Data(values=rows)).transform_flatten(list(data))
    spec = lstm.chart_error_signals(source, {}).to_dict()
    # The chart folds the three signal columns into one line layer with a colour per signal.
    assert spec["mark"]["type"] == "line" and spec["encoding"]["color"]["field"] == "signal"
    ex = lstm.explorer()
    # The precomputed table stays within the budget (4 columns x 250 rows x 125 offset combinations).
    total = sum(sum(len(r[k]) for k in data) for r in ex.table())
    assert total == 125_000


# ---------------------------------------------------------------- input checks
@pytest.mark.parametrize("call,message", [
    (lambda: lstm.forward({"w_ix": 1.0}, [1.0]), "missing weight"),
    (lambda: lstm.forward({**{k: 0.0 for k in lstm.WEIGHTS}, "w_zz": 1.0}, [1.0]), "unknown parameter"),
    (lambda: lstm.forward({k: np.nan for k in lstm.WEIGHTS}, [1.0]), "finite"),
    (lambda: lstm.forward({k: 0.0 for k in lstm.WEIGHTS}, []), "non-empty 1-D"),
    (lambda: lstm.forward([1.0], [1.0]), "mapping"),
    (lambda: lstm.backprop({k: 0.0 for k in lstm.WEIGHTS}, [1.0, 2.0], [1.0]), "one value dL/dh"),
    (lambda: lstm.loss_and_grad({k: 0.0 for k in lstm.WEIGHTS}, [1.0, 2.0], [1.0]), "one target"),
    (lambda: lstm.fd_gradient({k: 0.0 for k in lstm.WEIGHTS}, [1.0], [1.0], rel_step=2.0), "rel_step"),
    (lambda: lstm.fd_gradient_mp({k: 0.0 for k in lstm.WEIGHTS}, [1.0], [1.0], dps=10), "dps"),
    (lambda: lstm.fd_gradient_mp({k: 0.0 for k in lstm.WEIGHTS}, [1.0], [1.0], step="1e-3"), "step"),
    (lambda: lstm.relative_error([1.0], [1.0, 2.0]), "same shape"),
    (lambda: lstm.random_params(np.random.default_rng(0), 0.0), "scale"),
    (lambda: lstm.symbolic_model(0), "integer from 1 to 6"),
    (lambda: lstm.symbolic_model(2.0), "integer from 1 to 6"),
    (lambda: lstm.state_jacobian({k: 0.0 for k in lstm.WEIGHTS}, {"h": np.zeros((3, 2))}), "unbatched"),
    (lambda: lstm.rnn_forward(1.0, np.inf, [1.0]), "w_h must be finite"),
    (lambda: lstm.rnn_bptt(1.0, {"z": np.zeros(3)}, [1.0]), "e of length T"),
    (lambda: lstm.gradient_check(0, 0), "positive integer"),
    (lambda: lstm.error_signals(0), "steps"),
    (lambda: lstm.error_signals(10.5), "steps"),
    (lambda: lstm.error_signals(10, forget=np.nan), "forget"),
])
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@given(st.lists(finite, min_size=1, max_size=5))
def test_relative_error_properties(a):
    a = np.array(a)
    # Zero for identical inputs; symmetric; 2 exactly when b = -a (a != 0).
    assert np.all(lstm.relative_error(a, a) == 0)
    b = a * 1.5 + 0.1
    assert np.array_equal(lstm.relative_error(a, b), lstm.relative_error(b, a))
    nz = np.abs(a) > 1e-300  # below `tiny` the denominator is tiny itself, by design
    assert np.all(lstm.relative_error(a[nz], -a[nz]) == 2)


def test_public_bptt_returns_exactly_the_given_weights_gradients():
    # The issue's contract: bptt(weights, xs, dL_dh, h0, c0) -> {weight name: dL/dweight}.
    rng = np.random.default_rng(7)
    weights = {k: float(rng.standard_normal()) for k in lstm.WEIGHTS}
    xs, dL_dh = rng.standard_normal(6), rng.standard_normal(6)
    grads = lstm.bptt(weights=weights, xs=xs, dL_dh=dL_dh, h0=0.1, c0=-0.2)
    assert set(grads) == set(lstm.WEIGHTS)
    full = lstm.backprop(weights, xs, dL_dh, 0.1, -0.2)["grad"]
    assert all(grads[k] == full[k] for k in lstm.WEIGHTS)  # the same numbers, not a recomputation
    # With the offsets given, their gradients are returned as well.
    assert set(lstm.bptt({**weights, "b_f": 1.0}, xs, dL_dh)) == set(lstm.WEIGHTS) | {"b_f"}
    nodes = lstm.forward(weights=weights, xs=xs, h0=0.1, c0=-0.2)
    assert set("ifogch") <= set(nodes) and nodes["h"].shape == (7,)


def test_public_bptt_rejects_nan_signals():
    weights = {k: 0.5 for k in lstm.WEIGHTS}
    with pytest.raises(ValueError, match="dL_dh must be finite"):
        lstm.bptt(weights, [1.0, 2.0], [0.1, np.nan])
