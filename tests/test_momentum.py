"""Tests of derivations.momentum: the step and its inverse, the Jacobian, float and exact reversal.

Where possible a quantity is computed two independent ways (SymPy vs NumPy, a closed form
vs central differences, the float reversal's measured error vs the product of reverse
Jacobians, the buffer's size vs -log2(beta)) and compared within a stated tolerance.
"""

import json
import math
from fractions import Fraction

import altair as alt
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from derivations import momentum as m

EPS = np.finfo(float).eps
alpha_s, beta_s = m.alpha_s, m.beta_s


def smooth_grad(t):
    """Gradient of sum(3 log cosh t + t^2 / 4): non-quadratic, Lipschitz constant 3.5."""
    return 3.0 * np.tanh(t) + 0.5 * t


LIP = 3.5

vec = st.lists(st.floats(-10, 10, allow_nan=False), min_size=3, max_size=3).map(np.array)
alphas = st.floats(0.0, 1.0)
betas = st.floats(0.05, 1.0)


# --- the step and its inverse ---------------------------------------------------------------

def test_step_uses_the_new_momentum_for_theta():
    # With p = 0 and a constant gradient g the new theta is theta - alpha g; had the step used
    # the old p, theta would not move. Exact equality: every number here is a small dyadic.
    theta, p = np.array([1.0, -2.0]), np.zeros(2)
    t1, p1 = m.step(theta, p, lambda t: np.array([4.0, 8.0]), 0.25, 0.5)
    assert np.array_equal(p1, [-1.0, -2.0]) and np.array_equal(t1, [0.0, -4.0])


@given(vec, vec, alphas, betas)
def test_step_is_the_definition_bit_for_bit(theta, p, alpha, beta):
    # The public step performs exactly p' = beta p - alpha g(theta), theta' = theta + p'.
    t1, p1 = m.step(theta, p, smooth_grad, alpha, beta)
    p_ref = beta * p - alpha * smooth_grad(theta)
    assert np.array_equal(p1, p_ref) and np.array_equal(t1, theta + p_ref)


@given(vec, vec, alphas, betas)
def test_reverse_step_undoes_step_up_to_rounding(theta, p, alpha, beta):
    # In exact arithmetic reverse_step(step(s)) = s. In float64 each of the 4 operations
    # rounds by at most eps/2 relative to the largest magnitude S involved, theta's error
    # passes through grad (Lipschitz LIP) times alpha, and p's error is divided by beta:
    # bounds 2 eps S on theta and 4 eps S (1 + alpha LIP) / beta on p, with a factor 2 margin.
    t1, p1 = m.step(theta, p, smooth_grad, alpha, beta)
    t0, p0 = m.reverse_step(t1, p1, smooth_grad, alpha, beta)
    S = max(np.abs(theta).max(), np.abs(p).max(), np.abs(t1).max(), np.abs(p1).max(),
            alpha * np.abs(smooth_grad(theta)).max(), 1e-300)
    assert np.abs(t0 - theta).max() <= 4 * EPS * S
    assert np.abs(p0 - p).max() <= 8 * EPS * S * (1 + alpha * LIP) / beta


@given(vec, vec, alphas, betas)
def test_step_undoes_reverse_step_up_to_rounding(theta, p, alpha, beta):
    # The other composition: the reverse map is a two-sided inverse. Same rounding budget as
    # above, with the roles of the two states swapped (p is divided by beta first, then
    # multiplied by it, so its error is not amplified here).
    t0, p0 = m.reverse_step(theta, p, smooth_grad, alpha, beta)
    t1, p1 = m.step(t0, p0, smooth_grad, alpha, beta)
    S = max(np.abs(theta).max(), np.abs(p).max(), np.abs(t0).max(), np.abs(p0).max(),
            alpha * np.abs(smooth_grad(t0)).max(), 1e-300)
    assert np.abs(p1 - p).max() <= 8 * EPS * S
    assert np.abs(t1 - theta).max() <= 12 * EPS * S


def test_symbolic_forward_then_reverse_is_the_identity_for_any_gradient():
    # For D = 1..3 and an arbitrary vector field g (undefined functions), composing the two
    # maps symbolically gives back the symbols exactly, in both orders.
    a, b = alpha_s, beta_s
    for D in range(1, 4):
        th = sp.symbols(f"t1:{D + 1}")
        p = sp.symbols(f"q1:{D + 1}")
        g = [sp.Function(f"g{i}") for i in range(D)]

        def fwd(th, p):
            p1 = [b * p[i] - a * g[i](*th) for i in range(D)]
            return [th[i] + p1[i] for i in range(D)], p1

        def rev(th, p):
            t0 = [th[i] - p[i] for i in range(D)]
            return t0, [(p[i] + a * g[i](*t0)) / b for i in range(D)]

        for first, second in ((fwd, rev), (rev, fwd)):
            t2, p2 = second(*first(th, p))
            assert all(sp.simplify(x - y) == 0 for x, y in zip(t2 + p2, list(th) + list(p)))


def test_trajectory_and_reverse_trajectory_are_repeated_steps():
    prob = m.logistic_regression()
    thetas, ps = m.trajectory(np.zeros(3), np.zeros(3), prob.grad, 0.5, 0.9, 5)
    t, p = np.zeros(3), np.zeros(3)
    for k in range(1, 6):  # bit-for-bit: the same operations in the same order
        t, p = m.step(t, p, prob.grad, 0.5, 0.9)
        assert np.array_equal(thetas[k], t) and np.array_equal(ps[k], p)
    rt, rp = m.reverse_trajectory(thetas[-1], ps[-1], prob.grad, 0.5, 0.9, 5)
    t, p = thetas[-1], ps[-1]
    for k in range(4, -1, -1):
        t, p = m.reverse_step(t, p, prob.grad, 0.5, 0.9)
        assert np.array_equal(rt[k], t) and np.array_equal(rp[k], p)


@pytest.mark.parametrize("beta", [0.0, -0.1, 1.5, math.nan, math.inf])
def test_reverse_step_rejects_beta_outside_zero_one(beta):
    with pytest.raises(ValueError, match=r"beta"):
        m.reverse_step(np.zeros(2), np.zeros(2), smooth_grad, 0.1, beta)


def test_forward_step_allows_plain_sgd_but_not_beta_above_one():
    # beta = 0 is plain SGD: a valid (if irreversible) step.
    t1, p1 = m.step(np.ones(2), np.ones(2), smooth_grad, 0.1, 0.0)
    assert np.array_equal(p1, -0.1 * smooth_grad(np.ones(2)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        m.step(np.ones(2), np.ones(2), smooth_grad, 0.1, 1.01)


@pytest.mark.parametrize("theta, p, grad, alpha, message", [
    (np.zeros(2), np.zeros(3), smooth_grad, 0.1, "same length"),
    (np.zeros((2, 2)), np.zeros((2, 2)), smooth_grad, 0.1, "1-D"),
    (np.array([1.0, np.nan]), np.zeros(2), smooth_grad, 0.1, "finite"),
    (np.array(["a", "b"]), np.zeros(2), smooth_grad, 0.1, "real floats"),
    (np.zeros(2), np.zeros(2), "not callable", 0.1, "callable"),
    (np.zeros(2), np.zeros(2), lambda t: np.zeros(3), 0.1, "shape"),
    (np.zeros(2), np.zeros(2), smooth_grad, -0.1, "alpha"),
    (np.zeros(2), np.zeros(2), smooth_grad, True, "alpha"),
])
def test_bad_input_is_rejected_by_both_maps(theta, p, grad, alpha, message):
    for fn in (m.step, m.reverse_step):
        with pytest.raises(ValueError, match=message):
            fn(theta, p, grad, alpha, 0.9)


# --- the Jacobian and its determinant ---------------------------------------------------------

@pytest.mark.parametrize("D", [1, 2, 3, 4])
def test_symbolic_jacobian_is_the_block_matrix_with_determinant_beta_to_the_D(D):
    # The Jacobian of the step for an arbitrary J equals [[I - aH, bI], [-aH, bI]] with H
    # the Hessian of J; with H replaced by independent symmetric symbols its determinant is
    # exactly beta**D (no alpha, no h_ij).
    jac, H = m.symbolic_jacobian(D)
    assert (jac - m.block_jacobian(H)).is_zero_matrix
    Hs = m.symmetric_hessian(D)
    Js = jac.subs({H[i, j]: Hs[i, j] for i in range(D) for j in range(D)})
    assert Js.free_symbols == {alpha_s, beta_s} | Hs.free_symbols  # no derivative of J is left
    assert sp.expand(m.polynomial_det(Js) - beta_s**D) == 0


def test_polynomial_det_agrees_with_sympy_det():
    # Independent check of the fast determinant on matrices SymPy's own det handles quickly.
    x, y = sp.symbols("x y")
    M = sp.Matrix([[x, 1, y], [2, x * y, 0], [y, 3, x**2]])
    assert sp.expand(m.polynomial_det(M) - M.det()) == 0
    assert sp.expand(m.polynomial_det(m.block_jacobian(m.symmetric_hessian(2)))
                     - m.block_jacobian(m.symmetric_hessian(2)).det(method="berkowitz")) == 0


def test_general_dimension_determinant_from_the_factorisation():
    # For symbolic n: J = [[I, I], [0, I]] [[I, 0], [-aH, bI]], both block triangular, so
    # det J = 1 * beta**n; SymPy's block determinant (Schur complement) agrees.
    n = sp.Symbol("n", integer=True, positive=True)
    H = sp.MatrixSymbol("H", n, n)
    I, Z = sp.Identity(n), sp.ZeroMatrix(n, n)
    shear = sp.BlockMatrix([[I, I], [Z, I]])
    scale = sp.BlockMatrix([[I, Z], [-alpha_s * H, beta_s * I]])
    jac = sp.BlockMatrix([[I - alpha_s * H, beta_s * I], [-alpha_s * H, beta_s * I]])
    assert sp.block_collapse(shear * scale).equals(jac)
    assert sp.det(shear).doit() == 1
    assert sp.simplify(sp.det(scale).doit() - beta_s**n) == 0
    assert sp.simplify(sp.det(jac).doit() - beta_s**n) == 0


@pytest.mark.parametrize("beta", [0.3, 0.9, 1.0])
def test_finite_difference_jacobian_matches_formula_and_determinant(beta):
    # Central differences with h ~ 6e-6 have truncation error ~h^2 |J'''| ~ 1e-10 and rounding
    # error ~eps/h ~ 4e-11 per entry (entries are O(1)); 1e-7 leaves a margin of 1000.
    prob = m.logistic_regression()
    rng = np.random.default_rng(1)
    theta, p = rng.standard_normal(3), rng.standard_normal(3)
    fd = m.jacobian_fd(theta, p, prob.grad, 0.5, beta)
    exact = m.jacobian(prob.hessian(theta), 0.5, beta)
    assert np.abs(fd - exact).max() <= 1e-7
    assert abs(np.linalg.det(fd) - beta**3) <= 1e-7 * beta**3
    assert math.isclose(m.determinant(beta, 3), beta**3, rel_tol=1e-15)


def test_plain_sgd_has_determinant_zero_and_momentum_does_not():
    # beta = 0 (plain SGD) is the only case where the source's "determinant 0" is right.
    H = np.array([[2.0, 0.5], [0.5, 1.0]])
    assert np.linalg.matrix_rank(m.jacobian(H, 0.1, 0.0)) == 2
    assert np.linalg.matrix_rank(m.jacobian(H, 0.1, 0.5)) == 4
    # The two block rows differ by [I, 0]: they are not identical (the source's claim).
    J = m.jacobian(H, 0.1, 0.5)
    assert np.array_equal(J[:2] - J[2:], np.hstack([np.eye(2), np.zeros((2, 2))]))


def test_reverse_jacobian_is_the_inverse_and_the_derivative_of_reverse_step():
    prob = m.logistic_regression()
    rng = np.random.default_rng(2)
    theta, p = rng.standard_normal(3), rng.standard_normal(3)
    H = prob.hessian(theta)
    # Products of O(1) entries: 1e-13 is a few hundred eps.
    assert np.abs(m.reverse_jacobian(H, 0.5, 0.8) @ m.jacobian(H, 0.5, 0.8) - np.eye(6)).max() <= 1e-13
    # Central differences of the reverse step at the state whose predecessor is theta.
    t1, p1 = m.step(theta, p, prob.grad, 0.5, 0.8)
    x, h, cols = np.concatenate([t1, p1]), 6e-6, []
    for i in range(6):
        e = np.zeros(6)
        e[i] = h
        up = np.concatenate(m.reverse_step((x + e)[:3], (x + e)[3:], prob.grad, 0.5, 0.8))
        dn = np.concatenate(m.reverse_step((x - e)[:3], (x - e)[3:], prob.grad, 0.5, 0.8))
        cols.append((up - dn) / (2 * h))
    assert np.abs(np.array(cols).T - m.reverse_jacobian(H, 0.5, 0.8)).max() <= 1e-7  # as above


def test_bits_lost_per_step():
    assert m.bits_lost_per_step(0.5) == 1.0 and m.bits_lost_per_step(1.0) == 0.0
    assert math.isclose(m.bits_lost_per_step(0.9), math.log2(10 / 9), rel_tol=1e-15)


# --- float reversal: how fast the error grows -------------------------------------------------

@given(st.floats(0.05, 1.0), st.floats(0.0, 0.999))
def test_reverse_spectral_radius_lies_in_the_growth_band(beta, frac):
    # Stable quadratic: 0 <= alpha lam < 2 (1 + beta). np.roots is accurate only to ~sqrt(eps)
    # ~ 1.5e-8 near a double root, hence the relative tolerance 1e-7.
    lam = frac * 2 * (1 + beta)
    rho = m.reverse_spectral_radius([lam], 1.0, beta)
    lo, hi = m.growth_band(beta)
    assert lo * (1 - 1e-7) <= rho <= hi * (1 + 1e-7)


def test_spectral_radius_hits_both_ends_of_the_band():
    # Underdamped (complex mu): |mu| = sqrt(beta) exactly; flat direction: mu = {1, beta}.
    assert math.isclose(m.reverse_spectral_radius([1.0], 0.1, 0.9), 0.9**-0.5, rel_tol=1e-12)
    assert math.isclose(m.reverse_spectral_radius([0.0], 0.1, 0.9), 1 / 0.9, rel_tol=1e-12)


def test_float_reversal_error_grows_at_the_reverse_spectral_radius_on_a_quadratic():
    # The fitted slope of log10(error) over the window [1e-12, 1e-3] (~100 steps) and log10 of
    # the spectral radius agree to 0.1% in practice; 2% allows for the rounding noise of a few
    # tenths of a decade around the trend.
    prob = m.figure_problem()
    err = m.reversal_errors(np.array(m.FIGURE_THETA0), np.zeros(2), prob.grad, 0.1, 0.8, 600)
    assert err[0] == 0.0
    slope = m.fit_growth_rate(err)
    predicted = math.log10(m.reverse_spectral_radius(m.FIGURE_EIGENVALUES, 0.1, 0.8))
    assert abs(slope - predicted) <= 0.02 * predicted
    lo, hi = m.growth_band(0.8)
    assert math.log10(lo) < slope < math.log10(hi) * 1.02  # inside the band (2% as above)


def test_float_reversal_error_follows_the_reverse_jacobian_product_on_logistic_regression():
    # Non-quadratic loss, started far from the minimum so that the fit window (errors in
    # [1e-12, 1e-3]) covers the transient, where the Hessian's smallest eigenvalue changes
    # 25-fold. The prediction is the slope of log10 of the largest singular value of the
    # product of reverse Jacobians along the same trajectory, fitted over the same steps;
    # they agree to about 1%; 5% allows for the rounding noise over a ~160-step window.
    prob = m.logistic_regression()
    K, alpha, beta, theta0 = 400, 1.0, 0.8, np.array([-4.0, 4.0, 3.0])
    thetas, _ = m.trajectory(theta0, np.zeros(3), prob.grad, alpha, beta, K)
    err = m.reversal_errors(theta0, np.zeros(3), prob.grad, alpha, beta, K)
    amp = m.reverse_amplification(thetas, prob.hessian, alpha, beta)
    keep = (err >= 1e-12) & (err <= 1e-3)
    lam_min = [np.linalg.eigvalsh(prob.hessian(thetas[K - j]))[0] for j in np.flatnonzero(keep)]
    assert max(lam_min) > 10 * min(lam_min)  # the window really is non-quadratic
    predicted = np.polyfit(np.flatnonzero(keep), amp[keep], 1)[0]
    slope = m.fit_growth_rate(err)
    assert abs(slope - predicted) <= 0.05 * predicted
    # Theorem part (a), for this non-quadratic loss: sigma_max of j reverse steps is at least
    # beta^(-j/2). 1e-9 absorbs the rounding of 400 renormalised 6x6 products.
    j = np.arange(K + 1)
    assert np.all(amp >= j * math.log10(m.growth_band(beta)[0]) - 1e-9)


def test_reverse_amplification_of_a_quadratic_is_the_matrix_power():
    # On a quadratic every reverse Jacobian is the same matrix R, so the product is R^j.
    A = np.array([[1.0, 0.2], [0.2, 0.3]])
    thetas = np.zeros((31, 2))
    amp = m.reverse_amplification(thetas, lambda t: A, 0.1, 0.7)
    R = m.reverse_jacobian(A, 0.1, 0.7)
    direct = [math.log10(np.linalg.norm(np.linalg.matrix_power(R, j), 2)) for j in range(31)]
    assert np.allclose(amp, direct, rtol=0, atol=1e-12)  # 30 renormalised products, O(1) entries


def test_fit_growth_rate_recovers_a_known_slope_and_refuses_thin_windows():
    j = np.arange(400)
    err = 1e-16 * 10 ** (0.05 * j)
    assert math.isclose(m.fit_growth_rate(err), 0.05, rel_tol=1e-9)  # exact line, lstsq rounding
    with pytest.raises(ValueError, match="fewer than 10"):
        m.fit_growth_rate(err[:50])


def test_logistic_regression_derivatives_match_finite_differences():
    # Central differences of the loss and of the gradient; O(h^2 + eps/h) ~ 1e-10, tolerance 1e-7.
    prob = m.logistic_regression()
    rng = np.random.default_rng(3)
    t, h = rng.standard_normal(3), 6e-6
    E = np.eye(3) * h
    g_fd = np.array([(prob.loss(t + e) - prob.loss(t - e)) / (2 * h) for e in E])
    H_fd = np.array([(prob.grad(t + e) - prob.grad(t - e)) / (2 * h) for e in E])
    assert np.abs(g_fd - prob.grad(t)).max() <= 1e-7
    assert np.abs(H_fd - prob.hessian(t)).max() <= 1e-7


def test_quadratic_validates_its_matrix():
    with pytest.raises(ValueError, match="symmetric"):
        m.quadratic([[1.0, 1.0], [0.0, 1.0]], [0.0, 0.0])
    with pytest.raises(ValueError, match="semi-definite"):
        m.quadratic([[-1.0, 0.0], [0.0, 1.0]], [0.0, 0.0])
    with pytest.raises(ValueError, match="theta_star"):
        m.quadratic(np.eye(2), [0.0])


# --- exact reversal -----------------------------------------------------------------------------

def test_exact_multiply_and_divide_are_inverse_on_a_block_of_integers():
    # Exhaustive on small numbers (every remainder and every pop value occurs), both orders.
    for d in range(1, 6):
        for n in range(1, d + 1):
            for x in range(-30, 31):
                for B in range(0, 40):
                    assert m.exact_divide(*m.exact_multiply(x, B, n, d), n, d) == (x, B)
                    assert m.exact_multiply(*m.exact_divide(x, B, n, d), n, d) == (x, B)


@given(st.integers(-2**80, 2**80), st.integers(0, 2**200), st.integers(1, 1000), st.integers(1, 1000))
def test_exact_multiply_is_multiplication_by_n_over_d_up_to_one_digit(x, B, a, b):
    # x' differs from x n / d by less than n (the popped digit plus the dropped fraction), and
    # the round trip is exact for arbitrarily large integers.
    n, d = min(a, b), max(a, b)
    x1, B1 = m.exact_multiply(x, B, n, d)
    assert abs(Fraction(x1) - Fraction(x * n, d)) < n
    assert m.exact_divide(x1, B1, n, d) == (x, B)


@pytest.mark.parametrize("args", [(1, -1, 9, 10), (1, 0, 0, 10), (1, 0, 9, 0), (1, 0, True, 10)])
def test_exact_multiply_rejects_bad_input(args):
    with pytest.raises(ValueError, match="positive integer|non-negative integer"):
        m.exact_multiply(*args)


def test_exact_reversal_of_ten_thousand_steps_is_bit_for_bit_and_buffer_matches_the_determinant():
    prob = m.logistic_regression()
    ex = m.ExactMomentum(np.zeros(3), np.zeros(3), prob.grad, 0.5, 0.9)
    start = ex.state()
    ex.run(10_000)
    assert ex.state() != start  # the run moved (otherwise the round trip proves nothing)
    bits = ex.buffer_bits()
    n, d = ex.beta.numerator, ex.beta.denominator
    assert (n, d) == (9, 10)
    mults = 3 * 10_000
    # Proved bound (chapter, section 'Exact reversal'): buffer + c <= c (d/n)^mults with
    # c = (d-1)/(d-n), so bits <= mults log2(d/n) + log2(c) + 1.
    assert bits <= mults * math.log2(d / n) + math.log2((d - 1) / (d - n)) + 1
    # ...and it is essentially attained: the remainders carry information (>= 99.5% here).
    assert bits >= 0.995 * mults * m.bits_lost_per_step(0.9)
    ex.unrun(10_000)
    assert ex.state() == start and ex.buffer == 0 and ex.steps == 0  # bit for bit


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12), vec, vec, st.floats(0.0, 1.0), st.integers(0, 40))
def test_exact_reverse_undoes_exact_step_for_any_rational_beta(a, b, theta, p, alpha, steps):
    n, d = min(a, b), max(a, b)
    ex = m.ExactMomentum(theta, p, smooth_grad, alpha, Fraction(n, d), frac_bits=30)
    start = ex.state()
    ex.run(steps)
    ex.unrun(steps)
    assert ex.state() == start


def test_exact_momentum_with_beta_one_needs_no_buffer():
    ex = m.ExactMomentum(np.ones(2), np.zeros(2), smooth_grad, 0.1, 1.0)
    ex.run(200)
    assert ex.buffer == 0  # det = 1: the step loses no information


def test_exact_momentum_tracks_the_float_trajectory():
    # The integer step differs from the float step by < (n + 1) units of 2^-F in p per step
    # (pushing/popping digits) plus half a unit from rounding alpha g; on a quadratic the
    # deviation obeys e_{k+1} = M e_k + delta_k, so |e_K| <= K max_j ||M^j|| (n + 2) 2^-F sqrt(2D).
    prob = m.figure_problem()
    K, alpha, beta = 400, 0.1, 0.9
    ft, fp = m.trajectory(np.array(m.FIGURE_THETA0), np.zeros(2), prob.grad, alpha, beta, K)
    ex = m.ExactMomentum(np.array(m.FIGURE_THETA0), np.zeros(2), prob.grad, alpha, beta, frac_bits=40)
    ex.run(K)
    M = m.jacobian(prob.hessian(None), alpha, beta)
    worst_power = max(np.linalg.norm(np.linalg.matrix_power(M, j), 2) for j in range(K + 1))
    bound = K * worst_power * 11 * 2.0**-40 * 2
    dev = max(np.abs(ex.theta_float() - ft[-1]).max(), np.abs(ex.p_float() - fp[-1]).max())
    assert dev <= bound
    assert dev > 0  # the two runs are different computations (the bound is not vacuous)


@pytest.mark.parametrize("kwargs, message", [
    (dict(beta=0.0), r"\(0, 1\]"),
    (dict(beta=1.2), r"\(0, 1\]"),
    (dict(frac_bits=0), "frac_bits"),
    (dict(max_denominator=0), "max_denominator"),
    (dict(grad=lambda t: np.full(2, np.inf)), "not finite"),
])
def test_exact_momentum_rejects_bad_input(kwargs, message):
    args = dict(theta=np.zeros(2), p=np.zeros(2), grad=smooth_grad, alpha=0.1, beta=0.9)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        ex = m.ExactMomentum(**args)
        ex.step()
    with pytest.raises(ValueError, match="positive number of net"):
        m.ExactMomentum(np.zeros(2), np.zeros(2), smooth_grad, 0.1, 0.9).buffer_rate()


# --- the interactive figure --------------------------------------------------------------------

def test_figure_data_columns_are_the_documented_quantities():
    data = m.figure_data(0.9, 0.1, 400)
    lengths = {v.shape for v in data.values()}
    assert lengths == {(m.FIGURE_ROWS,)}
    prob = m.figure_problem()
    ft, _ = m.trajectory(np.array(m.FIGURE_THETA0), np.zeros(2), prob.grad, 0.1, 0.9, 400)
    k = (400 - data["j"]).astype(int)
    assert np.array_equal(data["theta1_fwd"], ft[k, 0])  # the float forward run, sampled
    assert np.all(data["log10_err_exact"] == m.FIGURE_LOG10_ZERO)  # exact reversal: error 0
    # The exact reversal's theta is within fixed-point rounding of the float run (see above).
    assert np.abs(data["theta1_exact"] - data["theta1_fwd"]).max() <= 1e-8
    # The band opens with the slopes of growth_band: check the difference per step.
    ok = np.isfinite(data["log10_band_lo"])
    dj = np.diff(data["j"][ok])
    assert np.allclose(np.diff(data["log10_band_lo"][ok]) / dj, math.log10(0.9**-0.5), rtol=1e-9)
    assert np.allclose(np.diff(data["log10_band_hi"][ok]) / dj, math.log10(1 / 0.9), rtol=1e-9)
    # The float reversal's error ends far above rounding: it lost the start.
    assert data["log10_err_naive"][0] > -3


def test_plot_and_chart_draw_the_same_columns():
    data = m.figure_data(0.8, 0.05, 200)
    fig = Figure()
    m.plot_figure(fig, data, beta=0.8, alpha=0.05, steps=200)
    assert len(fig.axes) == 2
    rows = [{k: (None if not np.isfinite(v[i]) else float(v[i])) for k, v in data.items()}
            for i in range(len(data["j"]))]
    params = {name: alt.param(name=name, value=v) for name, v in (("beta", 0.8), ("alpha", 0.05), ("steps", 200))}
    spec = m.chart_figure(alt.Chart(alt.Data(values=rows)), params).to_dict()
    json.dumps(spec)  # serialisable as the static site needs

    def fields(node):
        if isinstance(node, dict):
            return ({node["field"]} if isinstance(node.get("field"), str) else set()).union(
                *[fields(v) for v in node.values()])
        if isinstance(node, list):
            return set().union(*[fields(v) for v in node])
        return set()

    # Every column the matplotlib view draws is encoded in the Vega-Lite view too.
    assert fields(spec) - {"series"} == set(data)  # "series" is the computed colour key


def test_explorer_table_fits_the_budget():
    from derivations.explore import MAX_TABLE_VALUES

    fig = m.explorer()
    rows = fig.table()  # raises if over budget
    assert len(rows) == 5 * 3 * 4
    assert sum(len(v) for r in rows for v in r.values() if isinstance(v, list)) <= MAX_TABLE_VALUES


def test_figure_rejects_bad_controls():
    with pytest.raises(ValueError, match="beta"):
        m.figure_data(0.0, 0.1, 200)
    with pytest.raises(ValueError, match="at least one step"):
        m.figure_data(0.9, 0.1, 0)
