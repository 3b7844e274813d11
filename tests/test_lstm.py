"""Tests for derivations.lstm: BPTT proved symbolically and checked numerically, the
bound of
problem C1c both ways, its counterexample, and the figure."""

import warnings

import altair as alt
import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from derivations import checks, lstm
from derivations.lstm import bptt_proof, figure, jacobian, model, symbolic

from .hostile import Call

EPS = np.finfo(float).eps


def _problem(seed, T, scale=1.0):
    rng = np.random.default_rng(seed)
    p = lstm.random_params(rng, scale)
    x, y = rng.standard_normal(T), rng.standard_normal(T)
    h0, c0 = rng.standard_normal(2)
    return p, x, y, float(h0), float(c0)


def _last_step_loss(T):
    e = np.zeros(T)
    e[-1] = 1.0
    return e


KEYS = lstm.VARIABLES
_ZERO = {k: 0.0 for k in lstm.WEIGHTS}
finite = st.floats(-5, 5, allow_nan=False)


# ---------------------------------------------------------------- the forward pass
def test_forward_follows_the_model_equations():
    p, x, _, h0, c0 = _problem(0, 7)
    n = lstm.forward(p, x, h0, c0)
    # Initial state stored at t = 0, exactly as given.
    assert n["h"][0] == h0 and n["c"][0] == c0
    # The cell and output equations at every step: one or two roundings each (4 eps).
    cell = n["f"][1:] * n["c"][:-1] + n["i"][1:] * n["g"][1:]
    checks.check_close(n["c"][1:], cell, 4 * EPS)
    checks.check_close(n["h"][1:], n["o"][1:] * np.tanh(n["c"][1:]), 4 * EPS)
    # The forget gate is the sigmoid of its pre-activation, written out independently.
    t = 3
    z_f = p["w_fx"] * x[t - 1] + p["w_fh"] * n["h"][t - 1] + p["b_f"]
    checks.check_close(n["f"][t], 1 / (1 + np.exp(-z_f)), 4 * EPS)
    assert np.all((n["i"][1:] > 0) & (n["i"][1:] < 1))


def test_sigmoid_is_stable_at_extreme_inputs():
    z = np.array([-800.0, -40.0, 0.0, 40.0, 800.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning would fail the test
        s = lstm.sigmoid(z)
    # Exact values where float64 can represent them; sigma(0) = 1/2 exactly.
    assert s[0] == 0.0 and s[2] == 0.5 and s[4] == 1.0
    # sigma(-40) = e^-40 / (1 + e^-40) to a few roundings (4 eps relative), not 0.
    checks.check_close(s[1], np.exp(-40) / (1 + np.exp(-40)), 4 * EPS)


@pytest.mark.parametrize("bad", [[], [1, 2], np.array([1.0]), True, np.nan, np.inf,
                                 1e308, "1", None])
def test_forward_refuses_a_weight_that_is_not_one_finite_number(bad):
    # The example: w_ix = [] or [1, 2] used to give states of shape (T+1, 0) or
    # (T+1, 2).
    weights = {**{k: 0.5 for k in lstm.WEIGHTS}, "w_ix": bad}
    with pytest.raises(ValueError, match="w_ix"):
        lstm.forward(weights, [0.1, 0.2])


# ---------------------------------------------------------------- the gradient
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("T", [1, 2, 10, 100])
def test_bptt_matches_high_precision_finite_differences(seed, T):
    p, x, y, h0, c0 = _problem(seed, T)
    _, g = lstm.loss_and_grad(p, x, y, h0, c0)
    ref = lstm.fd_gradient_mp(p, x, y, h0, c0)
    # The reference is exact to far below float64. BPTT's rounding is 1e-16..6e-15
    # relative for most components; the worst over these 20 cases, 3.2e-13, is a
    # component 5000x smaller than the largest (seed 1, T = 2, b_f), left by
    # cancellation. Tolerance 3e-11; a wrong term in a recursion gives errors of order
    # 1.
    checks.check_close([g[k] for k in KEYS], [ref[k] for k in KEYS], 3e-11)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("T", [3, 30, 100])
def test_bptt_matches_float64_central_differences(seed, T):
    p, x, y, h0, c0 = _problem(seed, T)
    L, g = lstm.loss_and_grad(p, x, y, h0, c0)
    fd = lstm.fd_gradient(p, x, y, h0, c0)
    # Step ~6e-6: absolute error ~eps^(2/3) (1 + L) = 4e-11 (1 + L); measured at most
    # 3.5e-11 relative to max(|component|, 1 + L). Tolerance 3e-9, ~100x.
    a = np.array([g[k] for k in KEYS]) / (1 + L)
    b = np.array([fd[k] for k in KEYS]) / (1 + L)
    checks.check_close(a, b, 3e-9, tiny=1.0)


def test_gradient_check_returns_the_three_gradients():
    c = lstm.gradient_check(3, 20)
    assert set(c) == {"L", "bptt", "fd64", "fd_mp"} and c["bptt"].shape == (14,)
    # Same case as the tests above: mpmath agreement to 100x the measured 2e-15.
    checks.check_close(c["bptt"], c["fd_mp"], 2e-13)


@settings(max_examples=15)
@given(st.integers(0, 10_000), st.integers(1, 15))
def test_error_signals_are_linear_in_the_loss_partials(seed, T):
    rng = np.random.default_rng(seed)
    p = lstm.random_params(rng)
    x, e1, e2 = rng.standard_normal((3, T))
    b1, b2, b12 = (lstm.backprop(p, x, e) for e in (e1, e2, e1 + 2 * e2))
    # BPTT is linear in e(t); rounding of signals of size <= ~10: 1e-12 absolute.
    for k in ("hbar", "cbar"):
        assert np.allclose(b12[k], b1[k] + 2 * b2[k], rtol=1e-12, atol=1e-12)


def test_bptt_of_a_last_step_loss_has_the_closed_form_at_T():
    p, x, _, _, _ = _problem(5, 6)
    n = lstm.forward(p, x)
    b = lstm.backprop(p, x, _last_step_loss(6), nodes=n)
    # Boundary at t = T: hbar(T) = e(T), cbar(T) = e(T) o(T) (1 - tanh^2 c(T)).
    assert b["hbar"][6] == 1.0
    checks.check_close(b["cbar"][6], n["o"][6] * (1 - np.tanh(n["c"][6]) ** 2), 4 * EPS)


def test_public_bptt_returns_exactly_the_given_weights_gradients():
    rng = np.random.default_rng(7)
    weights = {k: float(rng.standard_normal()) for k in lstm.WEIGHTS}
    xs, dL_dh = rng.standard_normal(6), rng.standard_normal(6)
    grads = lstm.bptt(weights=weights, xs=xs, dL_dh=dL_dh, h0=0.1, c0=-0.2)
    assert set(grads) == set(lstm.WEIGHTS)
    full = lstm.backprop(weights, xs, dL_dh, 0.1, -0.2)["grad"]
    assert all(grads[k] == full[k] for k in lstm.WEIGHTS)  # the same numbers
    with_offset = lstm.bptt({**weights, "b_f": 1.0}, xs, dL_dh)
    assert set(with_offset) == set(lstm.WEIGHTS) | {"b_f"}
    nodes = lstm.forward(weights=weights, xs=xs, h0=0.1, c0=-0.2)
    assert set("ifogch") <= set(nodes) and nodes["h"].shape == (7,)


def test_overflowing_error_signals_are_refused_not_returned_as_inf():
    # Growth ~250^100 = 1e239, times 1e100: past float64.
    ce = lstm.output_gate_counterexample(w_oh=1000.0, c0=3.0, steps=100)
    with pytest.raises(ValueError, match="overflow"):
        lstm.backprop(ce["params"], ce["x"], 1e100 * _last_step_loss(100), c0=3.0)


# ---------------------------------------------------------------- the general proof
def test_sigmoid_and_tanh_classes_differentiate_like_their_closed_forms():
    z = sp.Symbol("z", real=True)
    d = sp.diff(lstm.Sigmoid(z), z).rewrite(sp.exp) - sp.diff(1 / (1 + sp.exp(-z)), z)
    assert sp.simplify(d) == 0
    d = sp.diff(lstm.Tanh(z), z).rewrite(sp.tanh) - sp.diff(sp.tanh(z), z)
    assert sp.simplify(d) == 0


def test_generic_step_proves_every_recursion():
    proofs = lstm.prove_generic_step()
    # 6 recursions at an interior step, the same 6 and the boundary cbar(T) at the last
    # step, and the inductive step for w_ix: 14 identities, each a general proof.
    assert len(proofs) == 14
    assert all(isinstance(p.check, checks.Proved) for p in proofs.values())


@pytest.mark.parametrize("kind,name,wrong", [
    # drop the w_oh path from hbar(t-1)
    ("interior", "hbar(t-1)", lambda m, rhs: rhs - m["bar"]["o"] * m["nodes"]["o"]
     * (1 - m["nodes"]["o"]) * m["params"]["w_oh"]),
    # drop the output term from cbar(t-1)
    ("interior", "cbar(t-1)", lambda m, rhs: m["bar"]["c"] * m["nodes"]["f"]),
    # use f where the recursion has c(t-1)
    ("last", "fbar(t)", lambda m, rhs: m["bar"]["c"] * m["nodes"]["f"]),
    # the w_ix step without its local term
    ("w_ix", "wbar_ix", lambda m, rhs: m["bar"]["w_ix"]),
])
def test_generic_step_refuses_a_planted_error(kind, name, wrong):
    m = lstm.generic_step(kind)
    lhs, rhs = lstm.step_identities(kind)[name]
    lstm.prove_zero_difference(lhs, rhs)  # the true recursion passes ...
    with pytest.raises(AssertionError):  # ... and the wrong one does not
        lstm.prove_zero_difference(lhs, wrong(m, rhs))


def test_prove_zero_difference_refuses_a_false_identity_in_an_undefined_function():
    # checks.prove_identity alone would fall back to rational points, where F has no
    # value.
    x = sp.Symbol("x", real=True)
    F = sp.Function("F")
    with pytest.raises(AssertionError):
        lstm.prove_zero_difference(2 * F(x), F(x))


def test_readable_names_the_nodes_and_the_derivatives_of_F():
    m = lstm.generic_step("last")
    text = str(lstm.readable(m["bar"]["c"], m))
    assert r"\partial_2 F" in text and "o(t)" in text and "Sigmoid" not in text


# ---------------------------------------------------------------- the unrolled network
@pytest.mark.parametrize("T", [1, 2, 3])
def test_recursions_equal_sympy_total_derivatives_of_the_unrolled_network(T):
    mod = lstm.symbolic_model(T)
    direct = lstm.graph_error_signals(mod)
    rec = lstm.recursion_error_signals(mod)
    assert set(direct) == set(rec) and len(direct) == 6 * T + 1
    for key in direct:
        assert lstm.is_zero(direct[key] - rec[key]), key


def test_verify_unrolled_returns_its_status():
    status = lstm.verify_unrolled(2)
    assert isinstance(status, checks.Verified)
    assert status.status() == "verified exactly for T <= 2"


def test_is_zero_detects_a_planted_error():
    mod = lstm.symbolic_model(2)
    direct = lstm.graph_error_signals(mod)
    rec = lstm.recursion_error_signals(mod)
    o2 = mod["nodes"][("o", 2)]
    wrong = rec[("h", 1)] - rec[("o", 2)] * o2 * (1 - o2) * mod["params"]["w_oh"]
    assert not lstm.is_zero(direct[("h", 1)] - wrong)


def test_adding_the_loss_term_late_gives_a_wrong_cbar():
    mod = lstm.symbolic_model(2)
    direct = lstm.graph_error_signals(mod)
    late = lstm.recursion_error_signals(mod, loss_first=False)
    n = mod["nodes"]
    missing = mod["a"][1] * n[("o", 2)] * (1 - lstm.Tanh(n[("c", 2)]) ** 2)
    assert lstm.is_zero(direct[("c", 2)] - late[("c", 2)] - missing)
    assert lstm.is_zero(direct[("h", 2)] - late[("h", 2)])
    assert not lstm.is_zero(direct[("h", 1)] - late[("h", 1)])


def test_symbolic_model_matches_numeric_forward():
    mod = lstm.symbolic_model(2)
    p, x, _, h0, c0 = _problem(7, 2)
    subs = {mod["params"][k]: p[k] for k in lstm.PARAMS}
    subs.update({mod["x"][0]: x[0], mod["x"][1]: x[1], mod["h0"]: h0, mod["c0"]: c0})
    h2 = mod["nodes"][("h", 2)].rewrite(sp.exp).xreplace({k: sp.Float(v, 30)
                                                           for k, v in subs.items()})
    # h(2) at 30 digits against the float64 forward: a few roundings (1e-14 relative).
    checks.check_close(float(h2.evalf(30)), lstm.forward(p, x, h0, c0)["h"][2], 1e-14)


# ---------------------------------------------------------------- the Jacobian and the
# bound
def test_state_jacobian_matches_sympy_and_the_adjoint():
    J_sym, s = lstm.state_jacobian_symbolic()
    P = s["params"]
    args = [P[k] for k in lstm.PARAMS] + [s["h_prev"], s["c_prev"], s["x"]]
    f = sp.lambdify(args, J_sym, modules=[{"Sigmoid": lambda v: 1 / (1 + np.exp(-v)),
                                           "Tanh": np.tanh}, "numpy"])
    p, x, _, h0, c0 = _problem(8, 9, scale=1.5)
    n = lstm.forward(p, x, h0, c0)
    J = lstm.state_jacobian(p, n)
    for t in range(1, 10):
        ref = np.array(f(*[p[k] for k in lstm.PARAMS], n["h"][t - 1], n["c"][t - 1],
                         x[t - 1]), dtype=float)
        # Closed form against SymPy's derivatives: entries <= ~10, a few roundings.
        assert np.allclose(J[t], ref, rtol=1e-12, atol=1e-12)
    # The state adjoint (hbar(t-1), f(t) cbar(t)) = J(t)^T (hbar(t), f(t+1) cbar(t+1)).
    b = lstm.backprop(p, x, _last_step_loss(9), h0, c0, nodes=n)
    adj = np.array([1.0, 0.0])
    for t in range(9, 0, -1):
        adj = J[t].T @ adj
        assert np.allclose(adj, [b["hbar"][t - 1], n["f"][t] * b["cbar"][t]],
                           rtol=1e-12, atol=1e-15)


def test_gate_regime_limit_of_the_jacobian():
    J, s = lstm.state_jacobian_symbolic()
    i, f, o, g, tc = sp.symbols("i f o g tc")
    Jg = J.xreplace({lstm.Tanh(s["c"]): tc, s["i"]: i, s["f"]: f, s["o"]: o, s["g"]: g})
    assert Jg.subs({f: 1, i: 0, o: 0}) == sp.Matrix([[0, 0], [0, 1]])


def _trajectory(seed, scale, bf, bi, bo, T=20):
    rng = np.random.default_rng(seed)
    p = {**lstm.random_params(rng, scale), "b_f": bf, "b_i": bi, "b_o": bo}
    x = rng.standard_normal(T)
    return p, x, lstm.forward(p, x, *rng.standard_normal(2))


@settings(max_examples=60)
@given(st.integers(0, 10_000), st.floats(0.1, 5.0), finite, finite, finite)
def test_jacobian_norm_never_exceeds_the_bound(seed, scale, bf, bi, bo):
    p, _, n = _trajectory(seed, scale, bf, bi, bo)
    norm = np.abs(lstm.state_jacobian(p, n)[1:]).sum(axis=2).max(axis=1)
    # Part 1: ||J(t)||_inf <= r(t); 1e-12 absorbs the rounding of both sides.
    checks.check_bound(norm, lstm.jacobian_bound(p, n)[1:], slack=1e-12)


def test_jacobian_bound_is_nearly_attained_in_the_gate_regime():
    # Where f -> 1 and i, o -> 0 both J and r tend to diag(0, 1) and 1: the bound is
    # sharp.
    p, _, n = _trajectory(3, 2.0, 12.0, -12.0, -12.0, T=50)
    norm = np.abs(lstm.state_jacobian(p, n)[1:]).sum(axis=2).max(axis=1)
    # Measured largest ratio 1 - 3e-6 (1 - f ~ 6e-6 here); attained to 1e-4.
    checks.check_bound(norm, lstm.jacobian_bound(p, n)[1:], slack=1e-12,
                       attained=1 - 1e-4)


@settings(max_examples=40)
@given(st.integers(0, 10_000), st.floats(0.1, 4.0), finite, finite, finite)
def test_error_signals_stay_below_the_product_of_the_bounds(seed, scale, bf, bi, bo):
    T = 20
    p, x, n = _trajectory(seed, scale, bf, bi, bo, T)
    b = lstm.backprop(p, x, _last_step_loss(T), nodes=n)
    r = lstm.jacobian_bound(p, n)[1:]
    allowed = np.append(np.cumprod(r[::-1])[::-1], 1.0)  # prod_{k=s+1}^T r(k), s = 0..T
    # Part 2, for h and c at every s <= T; 1e-12 for rounding.
    checks.check_bound(np.abs(b["hbar"]), allowed, slack=1e-12)
    checks.check_bound(np.abs(b["cbar"]), allowed, slack=1e-12)


def test_growth_bound_under_the_output_gate_hypothesis():
    rng = np.random.default_rng(11)
    p = {**lstm.random_params(rng, 3.0), "b_f": 6.0, "b_i": -6.0, "b_o": -6.0}
    x = rng.standard_normal(100)
    n = lstm.forward(p, x)
    assert np.all(n["o"][1:] * (1 + abs(p["w_oh"])) <= 1)  # the hypothesis holds
    b = lstm.backprop(p, x, _last_step_loss(100), nodes=n)
    bound = np.append(np.exp(np.cumsum(lstm.kappa(p, n)[1:][::-1])[::-1]), 1.0)
    signal = np.maximum(np.abs(b["hbar"]), np.abs(b["cbar"]))
    checks.check_bound(signal, bound, slack=1e-12)
    # Decays slowly: cbar(1)/cbar(T) is within 0.1% of f(2) ... f(T) and below 1.
    ratio = abs(b["cbar"][1] / b["cbar"][-1])
    checks.check_close(ratio, np.prod(n["f"][2:]), 1e-3)
    assert ratio < 1


def test_bound_tends_to_one_in_the_gate_regime():
    p, x, n = _trajectory(3, 2.0, 40.0, -40.0, -40.0, T=100)
    # Every gate pre-activation is at least `margin` from 0 on its side (|h| <= 1, |x|
    # known), so 1 - f, i, o < q = e^-margin and |r - 1| <= q (1 + |w_oh| + |w_fh|
    # max|c| + |w_ih| + |w_gh|) =: K.
    margin = min(40.0 - abs(p[f"w_{k}x"]) * np.abs(x).max() - abs(p[f"w_{k}h"])
                 for k in "ifo")
    K = np.exp(-margin) * (1 + abs(p["w_oh"]) + abs(p["w_fh"]) * np.abs(n["c"]).max()
                           + abs(p["w_ih"]) + abs(p["w_gh"]))
    r = lstm.jacobian_bound(p, n)[1:]
    assert K < 1e-9  # the regime is really reached, so the next lines say something
    assert np.all(np.abs(r - 1) <= K + 4 * EPS)
    assert abs(np.prod(r) - 1) <= 100 * K + 400 * EPS


# ---------------------------------------------------------------- the counterexample
def _h_T_mp(w_oh, c0, b_f, T):
    """h(T) as a function of [h(0)], in mpmath, for the counterexample's construction
    with its inputs x(t) = -w_oh h(t-1) computed once, exactly enough (150 digits), from
    h(0) = 0 and then held fixed. (The float64 inputs will not do: each step amplifies
    their
    rounding by |w_oh tanh c| / 4, the very growth under test.)"""
    def step(h, c, xt):
        f, i, o = (1 / (1 + mpmath.exp(-z)) for z in (b_f, -b_f, xt + w_oh * h))
        c = f * c + i * mpmath.tanh(0)
        return o * mpmath.tanh(c), c

    with mpmath.workdps(150):
        h, c, xs = mpmath.mpf(0), mpmath.mpf(c0), []
        for _ in range(T):
            xs.append(-w_oh * h)
            h, c = step(h, c, xs[-1])

    def h_T(v):
        h, c = v[0], mpmath.mpf(c0)
        for xt in xs:
            h, c = step(h, c, xt)
        return h

    return h_T


def test_output_gate_counterexample_explodes_despite_f_near_1_and_i_near_0():
    ce = lstm.output_gate_counterexample(w_oh=20.0, c0=1.5, b_f=8.0, steps=30)
    n = ce["nodes"]
    # The regime of the forget and input gates, kappa = 0, but o = 1/2 exactly.
    assert np.all(n["f"][1:] > 0.9996) and np.all(n["i"][1:] < 4e-4)
    assert ce["kappa_sum"] == 0
    assert np.all(n["o"][1:] == 0.5)
    assert ce["growth"] > 1e19  # far above exp(sum kappa) = 1: part 3 needs o small
    # BPTT against the closed form (mpmath): measured 1.5e-14, tolerance 1e-12.
    checks.check_close(ce["growth"], ce["reference"], 1e-12)
    # And against an mpmath central difference of h(T) in h(0), which knows neither the
    # closed form nor BPTT (step 1e-40 at 120 digits): measured ~1e-14, tolerance 1e-12.
    fd = checks.mp_central_difference(_h_T_mp(20.0, 1.5, 8.0, 30), [0.0], digits=40)
    checks.check_close(ce["hbar"][0], float(np.ravel(fd)[0]), 1e-12)
    # Part 2 of the theorem is not violated.
    checks.check_bound(ce["growth"], np.prod(lstm.jacobian_bound(ce["params"], n)[1:]))


# ---------------------------------------------------------------- zero state and
# vanilla RNN
@pytest.mark.parametrize("bf,bi,bo,wgh", [(0.0, 0.0, 0.0, 3.0), (4.0, -4.0, -4.0, 3.0),
                                          (-1.0, 2.0, 1.0, -2.0)])
def test_zero_state_lstm_signals_are_geometric(bf, bi, bo, wgh):
    T = 40
    p = {**{k: 0.0 for k in lstm.PARAMS}, "w_gh": wgh, "w_ih": 1.0, "w_fh": -1.0,
         "w_oh": 2.0, "b_f": bf, "b_i": bi, "b_o": bo}
    b = lstm.backprop(p, np.zeros(T), _last_step_loss(T))
    lam0 = lstm.zero_state_rate(bf, bi, bo, wgh)
    k = T - np.arange(1, T + 1)
    # cbar(t) = sigma(b_o) lambda0^(T-t): 40 roundings against pow, 1e-13 relative.
    checks.check_close(b["cbar"][1:], lstm.sigmoid(bo) * lam0 ** k, 1e-13)


def test_zero_state_rate_limit():
    s, w = sp.symbols("s w", real=True)
    lam0 = lstm.Sigmoid(s) + lstm.Sigmoid(-s) ** 2 * w
    assert sp.limit(lam0.rewrite(sp.exp), s, sp.oo) == 1
    # Numerically for a large weight: |lambda0 - 1| <= 2e-9 (1 + 100) at offsets +-20.
    assert abs(lstm.zero_state_rate(20.0, -20.0, -20.0, 100.0) - 1) < 1e-6


def test_rnn_bptt_at_zero_state_and_against_finite_differences():
    T, wh = 30, 1.3
    e = _last_step_loss(T)
    nodes = lstm.rnn_forward(0.7, wh, np.zeros(T))
    # At h = 0 every factor is w_h: hbar(t) = w_h^(T-t); 30 roundings, 1e-13 relative.
    exact = wh ** (T - np.arange(1, T + 1))
    checks.check_close(lstm.rnn_bptt(wh, nodes, e)[1:], exact, 1e-13)
    x = np.random.default_rng(2).standard_normal(T)
    hb = lstm.rnn_bptt(wh, lstm.rnn_forward(0.7, wh, x, 0.2), e)[0]

    def h_T(v):  # the RNN in mpmath, inputs taken exactly from float64
        h = v[0]
        for xt in x:
            h = mpmath.tanh(0.7 * mpmath.mpf(xt) + wh * h)
        return h

    fd = checks.mp_central_difference(h_T, [0.2])
    # hbar(0) = dh(T)/dh(0) is small here (the signal vanishes), so float64 differences
    # would be too coarse; against mpmath's: measured 1.8e-15 relative, tolerance 2e-13.
    checks.check_close(hb, float(np.ravel(fd)[0]), 2e-13)


# ---------------------------------------------------------------- the figure
def test_error_signals_columns_and_regime():
    d = lstm.error_signals(6.0, -6.0, -6.0, steps=100)
    assert set(d) == {"t", "log10_hbar", "log10_cbar", "log10_hbar_rnn"}
    assert all(v.shape == (100,) for v in d.values())
    # The loss is h(T): hbar(T) = 1 in both models, log10 exactly 0.
    assert d["log10_hbar"][-1] == 0.0 and d["log10_hbar_rnn"][-1] == 0.0
    assert np.ptp(d["log10_cbar"]) < 1.0  # in the regime: less than one decade
    assert d["log10_hbar_rnn"][0] < -20  # the RNN's falls by more than 20


def test_error_signals_agree_with_bptt_and_subsample():
    d = lstm.error_signals(2.0, 0.0, -2.0, steps=25)
    b = lstm.backprop({**lstm.FIGURE_PARAMS, "b_f": 2.0, "b_i": 0.0, "b_o": -2.0},
                      lstm.figure_inputs()[:25], _last_step_loss(25))
    # log10 of the same BPTT numbers: 1e-12 absolute.
    log_cbar = np.log10(np.abs(b["cbar"][1:]))
    assert np.allclose(d["log10_cbar"], log_cbar, rtol=0, atol=1e-12)
    sub = lstm.error_signals(2.0, 0.0, -2.0, steps=25, every=2)
    assert sub["t"].tolist() == list(range(1, 26, 2)) and sub["t"][-1] == 25
    assert np.array_equal(sub["log10_hbar"], d["log10_hbar"][::2])


def test_plot_updates_in_place():
    fig = Figure()
    lstm.plot_error_signals(fig, lstm.error_signals(4.0, -4.0, -4.0), forget=4.0)
    ax, lines = fig.axes[0], list(fig.axes[0].lines)
    assert len(lines) == 3 and "log10" in ax.get_ylabel()
    new = lstm.error_signals(-2.0, 2.0, 2.0)
    lstm.plot_error_signals(fig, new, forget=-2.0)
    # Same axes and line objects, new data, new title and limits.
    assert fig.axes == [ax] and list(ax.lines) == lines
    assert np.array_equal(lines[0].get_ydata(), new["log10_cbar"], equal_nan=True)
    assert "b_f = -2" in ax.get_title()
    finite_values = np.concatenate([new[k] for k in ("log10_cbar", "log10_hbar",
                                                     "log10_hbar_rnn")])
    low = np.nanmin(finite_values)
    assert ax.get_ylim()[0] < low


def test_chart_and_explorer_table_budget():
    data = lstm.error_signals(4.0, -4.0, -4.0, steps=25)
    rows = [{k: [float(v) for v in data[k]] for k in data}]
    source = alt.Chart(alt.Data(values=rows)).transform_flatten(list(data))
    spec = lstm.chart_error_signals(source, {}).to_dict()
    assert spec["mark"]["type"] == "line"
    assert spec["encoding"]["color"]["field"] == "signal"
    ex = lstm.explorer()
    total = sum(sum(len(r[k]) for k in data) for r in ex.table())
    assert total == 125 * 4 * 50 <= 40_000  # 5^3 offsets x 4 columns x 50 points


# ---------------------------------------------------------------- input checks
@pytest.mark.parametrize("call,message", [
    (lambda: lstm.forward({"w_ix": 1.0}, [1.0]), "missing weight"),
    (lambda: lstm.forward({**{k: 0.0 for k in lstm.WEIGHTS}, "w_zz": 1.0}, [1.0]),
     "unknown parameter"),
    (lambda: lstm.forward({k: 0.0 for k in lstm.WEIGHTS}, []), "must not be empty"),
    (lambda: lstm.forward([1.0], [1.0]), "mapping"),
    (lambda: lstm.forward({k: 2e6 for k in lstm.WEIGHTS}, [1.0]), "<= 1000000"),
    (lambda: lstm.backprop({k: 0.0 for k in lstm.WEIGHTS}, [1.0, 2.0], [1.0]), "dL_dh"),
    (lambda: lstm.bptt(_ZERO, [1.0, 2.0], [0.1, np.nan]), "dL_dh"),
    (lambda: lstm.loss_and_grad(_ZERO, [1.0, 2.0], [1.0]), "y"),
    (lambda: lstm.fd_gradient_mp(_ZERO, [1.0], [1.0], digits=10), "digits"),
    (lambda: lstm.random_params(np.random.default_rng(0), 0.0), "scale"),
    (lambda: lstm.random_params(0), "Generator"),
    (lambda: lstm.symbolic_model(0), "T"),
    (lambda: lstm.symbolic_model(2.0), "T"),
    (lambda: lstm.generic_step("middle"), "kind"),
    (lambda: lstm.state_jacobian(_ZERO, {"h": np.zeros((3, 2))}), "forward"),
    (lambda: lstm.rnn_forward(1.0, np.inf, [1.0]), "w_h"),
    (lambda: lstm.rnn_bptt(1.0, {"z": np.zeros(3)}, [1.0]), "e"),
    (lambda: lstm.gradient_check(0, 0), "T"),
    (lambda: lstm.error_signals(steps=0), "steps"),
    (lambda: lstm.error_signals(steps=10.5), "steps"),
    (lambda: lstm.error_signals(forget=np.nan), "forget"),
    (lambda: lstm.readable(1, {}), "expr"),
])
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_relative_error_is_the_shared_one():
    assert lstm.relative_error is checks.relative_error


_W = {**{k: 0.3 for k in lstm.WEIGHTS}, "b_f": 1.0}
_X = np.array([0.5, -1.0, 0.2])
_Y = np.array([0.1, 0.2, -0.3])
_E = np.array([0.0, 0.5, 1.0])
_NODES = lstm.forward(_W, _X)
_RNN = lstm.rnn_forward(1.0, 1.5, _X)
_MODEL = lstm.symbolic_model(1)
_STEP = lstm.generic_step("last")
_ZS = sp.Symbol("z_s", real=True)
_SOURCE = alt.Chart(alt.Data(values=[{"t": 1.0, "log10_hbar": 0.0, "log10_cbar": -1.0,
                                      "log10_hbar_rnn": 0.0}]))

PUBLIC_CALLS = [
    Call(model.sigmoid, {"z": np.array([0.5, -1.0])}, exempt={"z": {"extra-axis"}}),
    Call(model.random_params, {"rng": np.random.default_rng(0), "scale": 1.0,
                               "offsets": True}),
    Call(model.forward, {"weights": _W, "xs": _X, "h0": 0.1, "c0": -0.2}),
    Call(model.backprop, {"weights": _W, "xs": _X, "dL_dh": _E, "h0": 0.1, "c0": -0.2}),
    Call(model.bptt, {"weights": _W, "xs": _X, "dL_dh": _E, "h0": 0.1, "c0": -0.2}),
    Call(model.squared_loss, {"h": _NODES["h"], "y": _Y}),
    Call(model.loss_and_grad, {"params": _W, "x": _X, "y": _Y, "h0": 0.1, "c0": -0.2}),
    Call(model.fd_gradient, {"params": _W, "x": _X, "y": _Y, "h0": 0.1, "c0": -0.2}),
    Call(model.fd_gradient_mp, {"params": _W, "x": _X, "y": _Y, "h0": 0.1, "c0": -0.2,
                                "digits": 20}),
    Call(model.gradient_check, {"seed": 0, "T": 2}),
    Call(model.rnn_forward, {"w_x": 1.0, "w_h": 1.5, "x": _X, "h0": 0.1}),
    Call(model.rnn_bptt, {"w_h": 1.5, "nodes": _RNN, "e": _E}),
    Call(bptt_proof.generic_step, {"kind": "last"}),
    Call(bptt_proof.step_identities, {"kind": "last"}),
    Call(bptt_proof.prove_generic_step, {}),
    Call(bptt_proof.readable, {"expr": _STEP["bar"]["c"], "model": _STEP}),
    Call(symbolic.atoms_to_symbols, {"expr": lstm.Sigmoid(_ZS) + 1}),
    Call(symbolic.is_zero, {"expr": lstm.Sigmoid(_ZS) - lstm.Sigmoid(_ZS)}),
    Call(symbolic.prove_zero_difference, {"lhs": lstm.Tanh(_ZS),
                                          "rhs": lstm.Tanh(_ZS)}),
    Call(symbolic.symbolic_model, {"T": 1}),
    Call(symbolic.graph_error_signals, {"model": _MODEL}),
    Call(symbolic.recursion_error_signals, {"model": _MODEL, "loss_first": True}),
    Call(symbolic.recursion_w_ix, {"model": _MODEL,
                                   "bar": lstm.recursion_error_signals(_MODEL)}),
    Call(symbolic.verify_unrolled, {"T_max": 1}),
    Call(jacobian.state_jacobian_symbolic, {}),
    Call(jacobian.state_jacobian, {"params": _W, "nodes": _NODES}),
    Call(jacobian.kappa, {"params": _W, "nodes": _NODES}),
    Call(jacobian.jacobian_bound, {"params": _W, "nodes": _NODES}),
    Call(jacobian.zero_state_rate, {"b_f": 1.0, "b_i": -1.0, "b_o": 0.5, "w_gh": 2.0}),
    Call(jacobian.output_gate_counterexample, {"w_oh": 20.0, "c0": 1.5, "b_f": 8.0,
                                               "steps": 5}),
    Call(figure.figure_inputs, {}),
    Call(figure.error_signals, {"forget": 4.0, "ingate": -4.0, "outgate": -4.0,
                                "steps": 10, "every": 1}),
    Call(figure.plot_error_signals, {"fig": Figure(),
                                     "data": lstm.error_signals(steps=10)}),
    Call(figure.chart_error_signals, {"source": _SOURCE, "params": {}}),
    Call(figure.explorer, {}),
]
