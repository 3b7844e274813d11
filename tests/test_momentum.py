"""Tests of derivations.momentum: the step and its inverse, the Jacobian, finite
precision, exact reversal and the two explorers.

Where possible a quantity is computed two independent ways (SymPy vs NumPy, a closed
form vs central differences of the step itself or LAPACK's eigenvalues, the float
reversal's error vs the product of reverse Jacobians, the buffer's size vs -log2(beta))
and compared with ``checks.check_close`` at a tolerance about 100x the error measured
(stated beside each; fitted slopes of noisy curves get a tolerance argued from their
noise). Bounds are checked both ways (``check_bound`` with ``attained``).
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

from derivations import checks
from derivations import momentum as m

from .hostile import Call

EPS = checks.EPS
alpha_s, beta_s = m.alpha_s, m.beta_s


def smooth_grad(t):
    """Gradient of sum(3 log cosh t + t^2 / 4): non-quadratic, Lipschitz 3.5."""
    return 3.0 * np.tanh(t) + 0.5 * t


LIP = 3.5
STATE = np.array([0.5, -1.0])
H2 = np.array([[1.0, 0.3], [0.3, 0.5]])
LAMS = np.array([1.0, 0.01])


def _buffer():
    buf = m.InformationBuffer(2, 9, 10)
    buf.push(np.array([3, 7]), 10)
    return buf


def _exact(steps=0):
    ex = m.ExactMomentum(STATE, np.zeros(2), smooth_grad, 0.1, 0.9)
    ex.run(steps)
    return ex


_FIG_DATA = m.figure_data(0.8, 0.1, 30)
_AREA_DATA = m.area_data(0.7, 0.5, 4)

PUBLIC_CALLS = [
    Call(m.step, {"theta": STATE, "p": STATE, "grad": smooth_grad, "alpha": 0.1,
                  "beta": 0.9}),
    Call(m.reverse_step, {"theta": STATE, "p": STATE, "grad": smooth_grad, "alpha": 0.1,
                          "beta": 0.9}),
    Call(m.trajectory, {"theta0": STATE, "p0": STATE, "grad": smooth_grad, "alpha": 0.1,
                        "beta": 0.9, "steps": 5}),
    # A float reversal may overflow, silently: that is what it measures (see its
    # docstring).
    Call(m.reverse_trajectory, {"theta_end": STATE, "p_end": STATE, "grad": smooth_grad,
                                "alpha": 0.1, "beta": 0.9, "steps": 5},
         {"alpha": {"huge"}}),
    Call(m.reversal_errors, {"theta0": STATE, "p0": STATE, "grad": smooth_grad,
                             "alpha": 0.1, "beta": 0.9, "steps": 5}),
    Call(m.symbolic_step, {"D": 2}),
    Call(m.symbolic_jacobian, {"D": 2}),
    Call(m.symmetric_hessian, {"D": 2}),
    Call(m.block_jacobian, {"H": sp.Matrix([[1, 2], [2, 3]])}),
    Call(m.polynomial_det, {"M": sp.Matrix([[1, 2], [2, 3]])}),
    Call(m.jacobian, {"H": H2, "alpha": 0.1, "beta": 0.9}),
    Call(m.reverse_jacobian, {"H": H2, "alpha": 0.1, "beta": 0.9}),
    Call(m.jacobian_fd, {"theta": STATE, "p": STATE, "grad": smooth_grad, "alpha": 0.1,
                         "beta": 0.9}),
    Call(m.determinant, {"beta": 0.9, "D": 3}),
    Call(m.bits_lost_per_step, {"beta": 0.9}),
    Call(m.growth_band, {"beta": 0.9}),
    Call(m.steps_to_lose, {"beta": 0.9, "bits": 52}),
    Call(m.critical_curvatures, {"alpha": 0.1, "beta": 0.9}),
    Call(m.underdamped, {"eigenvalues": LAMS, "alpha": 0.1, "beta": 0.9}),
    Call(m.reverse_eigenvalue_moduli, {"eigenvalues": LAMS, "alpha": 0.1, "beta": 0.9}),
    Call(m.reverse_spectral_radius, {"eigenvalues": LAMS, "alpha": 0.1, "beta": 0.9}),
    Call(m.eigenvalue_band_proof, {}),
    Call(m.reverse_amplification, {"thetas": np.array([[0.1, 0.2], [0.3, 0.1]]),
                                   "hessian": lambda t: H2, "alpha": 0.1, "beta": 0.9}),
    # +inf in errors marks a reconstruction that overflowed; it lies outside the fit
    # window.
    Call(m.fit_growth_rate, {"errors": 1e-16 * 10 ** (0.05 * np.arange(400.0)),
                             "lo": 1e-12, "hi": 1e-3}, {"errors": {"inf"}}),
    Call(m.exact_multiply, {"x": -17, "buffer": 5, "nu": 9, "kappa": 10}),
    Call(m.exact_divide, {"x": -17, "buffer": 5, "nu": 9, "kappa": 10}),
    Call(m.InformationBuffer, {"size": 3, "nu": 9, "kappa": 10, "word_bits": 32,
                               "head_bits": 64}),
    Call(_buffer().push, {"r": np.array([1, 2]), "m": 10}),
    Call(_buffer().pop, {"m": 9}),
    Call(m.verify_buffer_exhaustively, {"word_bits": 2, "head_bits": 5}),
    Call(m.buffer_bound_proof, {}),
    Call(m.ExactMomentum, {"theta": STATE, "p": STATE, "grad": smooth_grad,
                           "alpha": 0.1, "beta": 0.9, "frac_bits": 40,
                           "max_denominator": 1000}),
    Call(_exact().run, {"steps": 3}),
    Call(_exact(50).unrun, {"steps": 2}),
    Call(m.quadratic, {"H": H2, "theta_star": STATE}),
    Call(m.log_cosh, {"c": 2.0}),
    Call(m.logistic_regression, {"n_samples": 20, "n_features": 2, "seed": 0}),
    Call(m.mapped_circle, {"beta": 0.7, "alpha": 0.5, "k": 4, "points": 40}),
    Call(m.area_ratio, {"beta": 0.7, "alpha": 0.5, "k": 4, "points": 40}),
    Call(m.area_data, {"beta": 0.7, "alpha": 0.5, "k": 4}),
    Call(m.plot_area, {"fig": Figure(), "data": _AREA_DATA, "beta": 0.7, "alpha": 0.5,
                       "k": 4}),
    Call(m.area_explorer, {}),
    Call(m.figure_problem, {}),
    Call(m.figure_data, {"beta": 0.8, "alpha": 0.1, "steps": 30}),
    Call(m.plot_figure, {"fig": Figure(), "data": _FIG_DATA, "beta": 0.8,
                         "alpha": 0.1}),
    Call(m.explorer, {}),
]
CALLBACK = "Vega-Lite callback: its arguments are the Explorer's own table and params"
HOSTILE_EXEMPT = {
    "derivations.momentum.area.chart_area": CALLBACK,
    "derivations.momentum.figure.chart_figure": CALLBACK,
}

vec = st.lists(st.floats(-10, 10, allow_nan=False), min_size=3,
               max_size=3).map(np.array)
alphas = st.floats(0.0, 1.0)
betas = st.floats(0.05, 1.0)


# --- the step and its inverse
# ---------------------------------------------------------------

def test_step_uses_the_new_momentum_for_theta():
    # With p = 0 and a constant gradient g the new theta is theta - alpha g; had the
    # step used the old p, theta would not move. Exact equality: every number here is a
    # small dyadic.
    t1, p1 = m.step(np.array([1.0, -2.0]), np.zeros(2), lambda t: np.array([4.0, 8.0]),
                    0.25, 0.5)
    assert np.array_equal(p1, [-1.0, -2.0]) and np.array_equal(t1, [0.0, -4.0])


@given(vec, vec, alphas, betas)
def test_step_is_the_definition_bit_for_bit(theta, p, alpha, beta):
    t1, p1 = m.step(theta, p, smooth_grad, alpha, beta)
    p_ref = beta * p - alpha * smooth_grad(theta)
    assert np.array_equal(p1, p_ref) and np.array_equal(t1, theta + p_ref)


@given(vec, vec, alphas, betas)
def test_reverse_step_undoes_step_up_to_rounding(theta, p, alpha, beta):
    # Each of the 4 operations rounds by at most eps/2 relative to the largest magnitude
    # S involved; theta's error passes through grad (Lipschitz LIP) times alpha, and p's
    # error is divided by beta: bounds 2 eps S on theta and 4 eps S (1 + alpha LIP) /
    # beta on p, with a factor 2 margin.
    t1, p1 = m.step(theta, p, smooth_grad, alpha, beta)
    t0, p0 = m.reverse_step(t1, p1, smooth_grad, alpha, beta)
    S = max(np.abs(theta).max(), np.abs(p).max(), np.abs(t1).max(), np.abs(p1).max(),
            alpha * np.abs(smooth_grad(theta)).max(), 1e-300)
    assert np.abs(t0 - theta).max() <= 4 * EPS * S
    assert np.abs(p0 - p).max() <= 8 * EPS * S * (1 + alpha * LIP) / beta


@given(vec, vec, alphas, betas)
def test_step_undoes_reverse_step_up_to_rounding(theta, p, alpha, beta):
    t0, p0 = m.reverse_step(theta, p, smooth_grad, alpha, beta)
    t1, p1 = m.step(t0, p0, smooth_grad, alpha, beta)
    S = max(np.abs(theta).max(), np.abs(p).max(), np.abs(t0).max(), np.abs(p0).max(),
            alpha * np.abs(smooth_grad(t0)).max(), 1e-300)
    assert np.abs(p1 - p).max() <= 8 * EPS * S
    assert np.abs(t1 - theta).max() <= 12 * EPS * S


def test_symbolic_forward_then_reverse_is_the_identity_for_any_gradient():
    # Matrix symbols (any D) and an arbitrary gradient G: both compositions are
    # identities.
    n = sp.Symbol("n", integer=True, positive=True)
    th, p, G = (sp.MatrixSymbol(s, n, 1) for s in ("t", "q", "G"))
    p1 = beta_s * p - alpha_s * G
    proofs = [m.prove_matrix_identity(th + p1 - p1, th),
              m.prove_matrix_identity((p1 + alpha_s * G) / beta_s, p)]
    p0 = (p + alpha_s * G) / beta_s  # reverse first; G: gradient at recovered theta
    proofs.append(m.prove_matrix_identity(beta_s * p0 - alpha_s * G, p))
    assert all(isinstance(proof.check, checks.Proved) for proof in proofs)
    with pytest.raises(AssertionError, match="not an identity"):
        m.prove_matrix_identity(th + p, th)  # a wrong identity is refused


def test_trajectory_and_reverse_trajectory_are_repeated_steps():
    prob = m.logistic_regression()
    thetas, ps = m.trajectory(np.zeros(3), np.zeros(3), prob.grad, 0.5, 0.9, 5)
    t, p = np.zeros(3), np.zeros(3)
    for k in range(1, 6):  # bit for bit: the same operations in the same order
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
    t1, p1 = m.step(np.ones(2), np.ones(2), smooth_grad, 0.1, 0.0)
    assert np.array_equal(p1, -0.1 * smooth_grad(np.ones(2)))
    with pytest.raises(ValueError, match=r"<= 1"):
        m.step(np.ones(2), np.ones(2), smooth_grad, 0.1, 1.01)


@pytest.mark.parametrize("theta, p, grad, alpha, message", [
    (np.zeros(2), np.zeros(3), smooth_grad, 0.1, "axis 0 must have length 2"),
    (np.zeros((2, 2)), np.zeros((2, 2)), smooth_grad, 0.1, "1-D"),
    (np.array([1.0, np.nan]), np.zeros(2), smooth_grad, 0.1, "finite"),
    (np.array(["a", "b"]), np.zeros(2), smooth_grad, 0.1, "real numbers"),
    (np.zeros(2), np.zeros(2), "not callable", 0.1, "callable"),
    (np.zeros(2), np.zeros(2), lambda t: np.zeros(3), 0.1, "grad"),
    (np.zeros(2), np.zeros(2), smooth_grad, -0.1, "alpha"),
    (np.zeros(2), np.zeros(2), smooth_grad, True, "alpha"),
])
def test_bad_input_is_rejected_by_both_maps(theta, p, grad, alpha, message):
    for fn in (m.step, m.reverse_step):
        with pytest.raises(ValueError, match=message):
            fn(theta, p, grad, alpha, 0.9)


def test_overflow_is_refused_not_returned():
    with pytest.raises(ValueError, match="overflowed"):
        m.step(np.full(2, 1e308), np.full(2, 1e308), smooth_grad, 0.1, 0.9)
    with pytest.raises(ValueError, match="overflowed"):
        m.reverse_step(np.full(2, 1e308), np.full(2, -1e308), smooth_grad, 0.1, 0.9)
    with pytest.raises(ValueError, match="overflowed"):
        m.trajectory(np.ones(2), np.zeros(2), lambda t: np.exp(np.abs(t)), 100.0, 0.9,
                     20)


# --- the Jacobian and its determinant
# ---------------------------------------------------------

@pytest.mark.parametrize("D", [1, 2, 3, 4])
def test_symbolic_jacobian_is_the_block_matrix_with_determinant_beta_to_the_D(D):
    jac, H = m.symbolic_jacobian(D)
    assert (jac - m.block_jacobian(H)).is_zero_matrix
    Hs = m.symmetric_hessian(D)
    Js = jac.subs({H[i, j]: Hs[i, j] for i in range(D) for j in range(D)})
    assert Js.free_symbols == {alpha_s, beta_s} | Hs.free_symbols  # no derivative left
    assert sp.expand(m.polynomial_det(Js) - beta_s**D) == 0


def test_polynomial_det_agrees_with_sympy_det():
    x, y = sp.symbols("x y")
    M = sp.Matrix([[x, 1, y], [2, x * y, 0], [y, 3, x**2]])
    assert sp.expand(m.polynomial_det(M) - M.det()) == 0
    B = m.block_jacobian(m.symmetric_hessian(2))
    assert sp.expand(m.polynomial_det(B) - B.det(method="berkowitz")) == 0


def test_general_dimension_determinant_and_rank_from_the_factorisation():
    n = sp.Symbol("n", integer=True, positive=True)
    H = sp.MatrixSymbol("H", n, n)
    I, Z = sp.Identity(n), sp.ZeroMatrix(n, n)
    shear = sp.BlockMatrix([[I, I], [Z, I]])
    scale = sp.BlockMatrix([[I, Z], [-alpha_s * H, beta_s * I]])
    jac = sp.BlockMatrix([[I - alpha_s * H, beta_s * I], [-alpha_s * H, beta_s * I]])
    proofs = [m.prove_matrix_identity(sp.block_collapse(shear * scale), jac),
              checks.prove_identity(sp.det(shear).doit(), 1),
              checks.prove_identity(sp.det(scale).doit(), beta_s**n)]
    assert all(isinstance(proof.check, checks.Proved) for proof in proofs)
    assert sp.simplify(sp.det(jac).doit() - beta_s**n) == 0  # Schur complement agrees
    # The reverse Jacobian is the inverse for every H (symbolic dimension).
    R = sp.BlockMatrix([[I, -I], [alpha_s * H / beta_s, (I - alpha_s * H) / beta_s]])
    m.prove_matrix_identity(sp.block_collapse(R * jac),
                            sp.BlockMatrix([[I, Z], [Z, I]]))


@pytest.mark.parametrize("beta", [0.3, 0.9, 1.0])
def test_finite_difference_jacobian_matches_formula_and_determinant(beta):
    # Central differences of the step itself, entries O(1): measured error about 1e-11
    # (truncation ~ h^2, rounding ~ eps / h with h ~ 6e-6): tolerance 1e-9.
    prob = m.logistic_regression()
    rng = np.random.default_rng(1)
    theta, p = rng.standard_normal(3), rng.standard_normal(3)
    fd = m.jacobian_fd(theta, p, prob.grad, 0.5, beta)
    checks.check_close(fd, m.jacobian(prob.hessian(theta), 0.5, beta), 1e-9, tiny=1.0)
    checks.check_close(np.linalg.det(fd), beta**3, 1e-9)
    assert m.determinant(beta, 3) == beta**3


def test_plain_sgd_has_rank_d_and_momentum_full_rank():
    assert np.linalg.matrix_rank(m.jacobian(H2, 0.1, 0.0)) == 2
    assert np.linalg.matrix_rank(m.jacobian(H2, 0.1, 0.5)) == 4
    J = m.jacobian(H2, 0.1, 0.5)  # the two block rows differ by [I, 0] (not identical)
    assert np.array_equal(J[:2] - J[2:], np.hstack([np.eye(2), np.zeros((2, 2))]))


def test_reverse_jacobian_is_the_inverse_and_the_derivative_of_reverse_step():
    prob = m.logistic_regression()
    rng = np.random.default_rng(2)
    theta, p = rng.standard_normal(3), rng.standard_normal(3)
    H = prob.hessian(theta)
    # A 6 x 6 product of O(1) entries: measured about 1e-16; tolerance 1e-14.
    product = m.reverse_jacobian(H, 0.5, 0.8) @ m.jacobian(H, 0.5, 0.8)
    checks.check_close(product, np.eye(6), 1e-14, tiny=1.0)
    # Central differences of reverse_step at the state whose predecessor is theta (as
    # above).
    t1, p1 = m.step(theta, p, prob.grad, 0.5, 0.8)
    fd = checks.central_difference(
        lambda z: np.concatenate(m.reverse_step(z[:3], z[3:], prob.grad, 0.5, 0.8)),
        np.concatenate([t1, p1]))
    checks.check_close(fd, m.reverse_jacobian(H, 0.5, 0.8), 1e-9, tiny=1.0)


def test_bits_lost_per_step_and_steps_to_lose():
    assert m.bits_lost_per_step(0.5) == 1.0 and m.bits_lost_per_step(1.0) == 0.0
    assert math.isclose(m.bits_lost_per_step(0.9), math.log2(10 / 9), rel_tol=1e-15)
    lo, hi = m.steps_to_lose(0.5)
    assert (lo, hi) == (52.0, 104.0)
    with pytest.raises(ValueError, match="< 1"):
        m.steps_to_lose(1.0)


# --- the reverse step's eigenvalues (theorem 'Error growth of the reversal', part 2)
# ----------

def test_eigenvalue_band_proof_is_a_proof_at_every_step():
    steps = m.eigenvalue_band_proof()
    assert set(steps) >= {"charpoly", "vieta", "complex_modulus",
                          "complex_modulus_beta", "mirror", "gap", "gap_sign",
                          "room_sign", "flat_end", "edge_end"}
    for record in steps.values():
        check = record.check if isinstance(record, checks.Identity) else record
        assert isinstance(check, checks.Proved)


@settings(max_examples=200)
@given(st.floats(0.05, 1.0), st.floats(0.0, 1.0))
def test_every_reverse_eigenvalue_lies_in_one_to_one_over_beta(beta, frac):
    # The theorem's statement for every eigenvalue, against LAPACK's eigenvalues of the
    # matrix (an independent algorithm). Near a double root eigenvalues move by
    # O(sqrt(eps)) ~ 1e-8 (measured 2e-8 in the chapter's grid): tolerance 1e-6.
    t = frac * 2 * (1 + beta)
    closed = m.reverse_eigenvalue_moduli([t], 1.0, beta)[0]
    R = m.reverse_jacobian(np.array([[t]]), 1.0, beta)
    lapack = np.sort(np.abs(np.linalg.eigvals(R)))
    checks.check_close(closed, lapack, 1e-6)
    # Each modulus in [1, 1/beta], the largest >= beta^-1/2 (up to rounding, 1e-12).
    assert 1.0 - 1e-12 <= closed[0] <= closed[1] <= (1 / beta) * (1 + 1e-12)
    assert closed[1] >= beta**-0.5 * (1 - 1e-12)


def test_every_eigenvalue_bound_is_attained_and_the_old_claim_fails():
    # Ends of [1, 1/beta] are reached at alpha lambda = 0 and at the stability edge.
    for t in (0.0, 2 * 1.9):
        moduli = m.reverse_eigenvalue_moduli([t], 1.0, 0.9)[0]
        checks.check_close(moduli, [1.0, 1 / 0.9], 1e-14)
    # The earlier statement 'every eigenvalue in [beta^-1/2, 1/beta]' fails when
    # overdamped (the review's counterexample: beta = 0.9, alpha lambda = 0.001 -> 1.011
    # and 1.099).
    small, large = m.reverse_eigenvalue_moduli([0.001], 1.0, 0.9)[0]
    assert abs(small - 1.011) < 5e-4 and abs(large - 1.099) < 5e-4  # as reviewed
    assert small < 0.9**-0.5 < large
    # The radius in the band, both ends attained: underdamped -> beta^-1/2, flat ->
    # 1/beta.
    radii = [m.reverse_spectral_radius([t], 1.0, 0.9) for t in np.linspace(0, 3.8, 381)]
    checks.check_bound(radii, 1 / 0.9, attained=1 - 1e-12)
    checks.check_bound(0.9**-0.5, np.array(radii), attained=1 - 1e-12)


def test_spectral_radius_and_damping_agree_on_a_multi_direction_hessian():
    # D = 3 with one overdamped direction: radius above beta^-1/2, from that direction
    # only.
    lam = np.array([1.0, 0.3, 0.001])
    assert list(m.underdamped(lam, 1.0, 0.9)) == [True, True, False]
    rho = m.reverse_spectral_radius(lam, 1.0, 0.9)
    H = np.diag(lam)
    lapack = np.abs(np.linalg.eigvals(m.reverse_jacobian(H, 1.0, 0.9)))
    checks.check_close(np.sort(m.reverse_eigenvalue_moduli(lam, 1.0, 0.9).ravel()),
                       np.sort(lapack), 1e-12)  # no double root here: measured ~1e-16
    assert rho > 0.9**-0.5
    lo, hi = m.critical_curvatures(1.0, 0.9)
    assert math.isclose(lo, (1 - math.sqrt(0.9)) ** 2)
    assert math.isclose(hi, (1 + math.sqrt(0.9)) ** 2)


def test_unstable_eigenvalues_are_refused():
    with pytest.raises(ValueError, match="stable"):
        m.reverse_eigenvalue_moduli([5.0], 1.0, 0.9)
    with pytest.raises(ValueError, match="stable"):
        m.reverse_eigenvalue_moduli([-0.1], 1.0, 0.9)


# --- float reversal: how fast the error grows
# -------------------------------------------------

def test_float_reversal_error_grows_at_the_reverse_spectral_radius_on_a_quadratic():
    # The fitted slope over the window [1e-12, 1e-3] and log10 of the spectral radius:
    # measured 2.7e-5 apart; the fit carries the rounding noise of a few tenths of a
    # decade over ~170 points: tolerance 1e-3.
    prob = m.figure_problem()
    theta0 = np.array(m.FIGURE_THETA0)
    err = m.reversal_errors(theta0, np.zeros(2), prob.grad, 0.1, 0.8, 1000)
    assert err[0] == 0.0
    rho = m.reverse_spectral_radius(np.array(m.FIGURE_EIGENVALUES), 0.1, 0.8)
    checks.check_close(m.fit_growth_rate(err), math.log10(rho), 1e-3)
    lo, hi = m.growth_band(0.8)
    assert lo < rho < hi


@pytest.mark.parametrize("alpha, beta, K", [(0.1, 0.9, 2000), (1.0, 0.9, 2500)])
def test_float_reversal_loses_the_trajectory_in_52_over_log2_rho_steps(alpha, beta, K):
    # Steps from the error's reaching eps S to its reaching S (growth by 2^52): measured
    # within 1.3% of 52 / log2(rho); each crossing is an integer step of a curve
    # wandering a few tenths of a decade around its trend (about 2% of the span):
    # tolerance 5%. And the prediction lies in the theorem's range [52, 104] /
    # -log2(beta).
    prob = m.figure_problem()
    theta0 = np.array(m.FIGURE_THETA0)
    thetas, ps = m.trajectory(theta0, np.zeros(2), prob.grad, alpha, beta, K)
    err = m.reversal_errors(theta0, np.zeros(2), prob.grad, alpha, beta, K)
    S = max(np.abs(thetas).max(), np.abs(ps).max())
    span = np.flatnonzero(err >= S)[0] - np.flatnonzero(err >= EPS * S)[0]
    rho = m.reverse_spectral_radius(np.array(m.FIGURE_EIGENVALUES), alpha, beta)
    predicted = 52 / math.log2(rho)
    checks.check_close(span, predicted, 5e-2)
    lo, hi = m.steps_to_lose(beta)
    assert lo <= predicted <= hi * (1 + 1e-12)


def test_float_reversal_follows_the_reverse_jacobian_product_on_logistic_regression():
    # Non-quadratic loss, in its transient: over the fit window the smallest Hessian
    # eigenvalue changes by a factor > 10. The prediction is the slope of log10
    # sigma_max of the product of reverse Jacobians along the same run; measured 0.6%
    # apart (3.8% for beta = 0.9 in the chapter), tolerance 5%: the error sums roundings
    # made at every step.
    prob = m.logistic_regression()
    K, alpha, beta, theta0 = 400, 1.0, 0.8, np.array([-4.0, 4.0, 3.0])
    thetas, _ = m.trajectory(theta0, np.zeros(3), prob.grad, alpha, beta, K)
    err = m.reversal_errors(theta0, np.zeros(3), prob.grad, alpha, beta, K)
    amp = m.reverse_amplification(thetas, prob.hessian, alpha, beta)
    keep = np.flatnonzero((err >= 1e-12) & (err <= 1e-3))
    lam = np.array([np.linalg.eigvalsh(prob.hessian(thetas[K - j])) for j in keep])
    assert lam[:, 0].max() > 10 * lam[:, 0].min()  # the window really is non-quadratic
    checks.check_close(m.fit_growth_rate(err), np.polyfit(keep, amp[keep], 1)[0], 5e-2)
    # Most of the window is underdamped in every direction (the chapter's explanation).
    assert np.mean([m.underdamped(row, alpha, beta).all() for row in lam]) > 0.9
    # Part 1, both ways: sigma_max of j reverse steps >= beta^(-j/2), and nearly
    # attained.
    j = np.arange(1, K + 1)
    checks.check_bound(j * math.log10(beta**-0.5), amp[1:], slack=1e-9, attained=0.99)


def test_reverse_amplification_of_a_quadratic_is_the_matrix_power():
    A = np.array([[1.0, 0.2], [0.2, 0.3]])
    amp = m.reverse_amplification(np.zeros((31, 2)), lambda t: A, 0.1, 0.7)
    R = m.reverse_jacobian(A, 0.1, 0.7)
    direct = [math.log10(np.linalg.norm(np.linalg.matrix_power(R, j), 2))
              for j in range(31)]
    # log10 of norms of products of O(1) matrices: measured ~1e-15 absolute; tolerance
    # 1e-13.
    checks.check_close(amp, direct, 1e-13, tiny=1.0)


def test_fit_growth_rate_recovers_a_known_slope_and_refuses_thin_windows():
    err = 1e-16 * 10 ** (0.05 * np.arange(400))
    checks.check_close(m.fit_growth_rate(err), 0.05, 1e-9)  # an exact line: lstsq only
    with pytest.raises(ValueError, match="fewer than 10"):
        m.fit_growth_rate(err[:50])
    err_inf = err.copy()
    err_inf[-1] = np.inf  # an overflowed reconstruction: outside the window, accepted
    assert math.isclose(m.fit_growth_rate(err_inf), m.fit_growth_rate(err))
    with pytest.raises(ValueError):
        m.fit_growth_rate(np.where(np.arange(400) == 3, np.nan, err))


def test_logistic_regression_derivatives_match_finite_differences():
    prob = m.logistic_regression()
    t = np.random.default_rng(3).standard_normal(3)
    # Central differences of the loss and of the gradient: measured ~1e-11; tolerance
    # 1e-9.
    for problem in (prob, m.log_cosh(2.0)):
        fd_grad = checks.central_difference(problem.loss, t)
        fd_hessian = checks.central_difference(problem.grad, t)
        checks.check_close(fd_grad, problem.grad(t), 1e-9, tiny=1.0)
        checks.check_close(fd_hessian, problem.hessian(t), 1e-9, tiny=1.0)


def test_quadratic_validates_its_matrix():
    with pytest.raises(ValueError, match="symmetric"):
        m.quadratic(np.array([[1.0, 1.0], [0.0, 1.0]]), np.zeros(2))
    with pytest.raises(ValueError, match="semi-definite"):
        m.quadratic(np.array([[-1.0, 0.0], [0.0, 1.0]]), np.zeros(2))
    with pytest.raises(ValueError, match="theta_star"):
        m.quadratic(np.eye(2), np.zeros(1))


# --- exact reversal
# -----------------------------------------------------------------------------

def test_exact_multiply_and_divide_are_inverse_on_a_block_of_integers():
    for kappa in range(1, 6):
        for nu in range(1, kappa + 1):
            for x in range(-30, 31):
                for B in range(0, 40):
                    up = m.exact_multiply(x, B, nu, kappa)
                    down = m.exact_divide(x, B, nu, kappa)
                    assert m.exact_divide(*up, nu, kappa) == (x, B)
                    assert m.exact_multiply(*down, nu, kappa) == (x, B)


@given(st.integers(-2**80, 2**80), st.integers(0, 2**200), st.integers(1, 1000),
       st.integers(1, 1000))
def test_exact_multiply_is_multiplication_by_nu_over_kappa_up_to_one_digit(x, B, a, b):
    nu, kappa = min(a, b), max(a, b)
    x1, B1 = m.exact_multiply(x, B, nu, kappa)
    assert abs(Fraction(x1) - Fraction(x * nu, kappa)) < nu
    assert m.exact_divide(x1, B1, nu, kappa) == (x, B)


@pytest.mark.parametrize("w, head", [(2, 5), (2, 6), (3, 9)])
def test_buffer_push_and_pop_are_inverse_on_every_small_state(w, head):
    record = m.verify_buffer_exhaustively(w, head)
    assert isinstance(record, checks.Verified) and "states" in record.sizes


def test_buffer_floor_is_a_multiple_of_both_radices_and_fills_the_head():
    for nu, kappa in ((9, 10), (1, 2), (99, 100), (1, 1), (7, 1000)):
        buf = m.InformationBuffer(2, nu, kappa)
        assert buf.floor % nu == 0 and buf.floor % kappa == 0
        assert 2**31 < buf.floor <= 2**32  # the largest such multiple below 2^32
    with pytest.raises(ValueError, match="empty"):
        m.InformationBuffer(2, 9, 10).pop(10)  # nothing stored: a pop would need a word


def test_buffer_push_pop_round_trip_with_spills_on_many_lanes():
    # Random digits pushed 500 times on 1000 lanes (many spills), then popped: same
    # digits back, in reverse order, and the buffer is empty again.
    rng = np.random.default_rng(4)
    buf = m.InformationBuffer(1000, 9, 10)
    digits = [rng.integers(0, 10, 1000) for _ in range(500)]
    for d in digits:
        buf.push(d, 10)
    assert buf.height.max() > 0
    for d in reversed(digits):
        assert np.array_equal(buf.pop(10), d)
    assert buf.is_empty()


def test_exact_reversal_of_ten_thousand_steps_and_buffer_size():
    prob = m.logistic_regression()
    ex = m.ExactMomentum(np.zeros(3), np.zeros(3), prob.grad, 0.5, 0.9)
    start = ex.state()
    ex.run(10_000)
    assert ex.state() != start  # the run moved (else the round trip proves nothing)
    assert (ex.nu, ex.kappa) == (9, 10)
    # Theorem 'Size of the information buffer', both ways: |I - k log2(10/9)| <= k
    # delta.
    k, floor = 10_000, ex.buffer.floor
    delta = math.log2(1 + 10 / floor) + math.log2(1 + 9 / floor)
    per_param = ex.buffer_bits() / 3
    checks.check_bound(abs(per_param - k * math.log2(10 / 9)), k * delta)
    checks.check_close(ex.buffer_rate(), m.bits_lost_per_step(0.9), 1e-7)  # meas. 2e-11
    # Memory: between I + 32 and I + 64 bits per parameter; within 5% of I after 10^4
    # steps.
    memory = ex.memory_bits() / 3
    checks.check_bound(np.array([per_param + 32, memory]),
                       np.array([memory, per_param + 64]))
    checks.check_close(memory, per_param, 5e-2)
    ex.unrun(10_000)
    assert ex.state() == start and ex.buffer.is_empty() and ex.steps == 0  # bit for bit


def test_exact_reversal_of_ten_thousand_parameters():
    lc = m.log_cosh(2.0)
    ex = m.ExactMomentum(np.linspace(-3, 3, 10_000), np.zeros(10_000), lc.grad, 0.1,
                         0.9)
    start = ex.state()
    ex.run(300)
    assert ex.buffer.height.max() >= 1  # words were spilled
    checks.check_close(ex.buffer_rate(), m.bits_lost_per_step(0.9), 1e-7)
    ex.unrun(300)
    assert ex.state() == start


@settings(max_examples=25)
@given(st.integers(1, 12), st.integers(1, 12), vec, vec, st.floats(0.0, 1.0),
       st.integers(0, 300))
def test_exact_reverse_undoes_exact_step_for_any_rational_beta(a, b, theta, p, alpha,
                                                               steps):
    nu, kappa = min(a, b), max(a, b)
    ex = m.ExactMomentum(theta, p, smooth_grad, alpha, Fraction(nu, kappa),
                         frac_bits=30)
    start = ex.state()
    ex.run(steps)
    ex.unrun(steps)
    assert ex.state() == start


def test_exact_momentum_with_beta_one_needs_no_buffer():
    ex = m.ExactMomentum(np.ones(2), np.zeros(2), smooth_grad, 0.1, 1.0)
    ex.run(200)
    assert ex.buffer_bits() == 0 and ex.buffer.is_empty()  # det = 1: nothing is lost


def test_exact_momentum_tracks_the_float_trajectory():
    # The integer step differs from the float step by < nu + 1 units of 2^-F in p per
    # step (the popped digit, the dropped fraction, the rounded gradient term); on a
    # quadratic the deviation obeys e_{k+1} = M e_k + d_k, so |e_K| <= K max_j ||M^j||
    # (nu + 2) 2^-F sqrt(2D).
    prob = m.figure_problem()
    K, alpha, beta = 400, 0.1, 0.9
    theta0 = np.array(m.FIGURE_THETA0)
    ft, fp = m.trajectory(theta0, np.zeros(2), prob.grad, alpha, beta, K)
    ex = m.ExactMomentum(theta0, np.zeros(2), prob.grad, alpha, beta, frac_bits=40)
    ex.run(K)
    M = m.jacobian(prob.hessian(None), alpha, beta)
    worst_power = max(np.linalg.norm(np.linalg.matrix_power(M, j), 2)
                      for j in range(K + 1))
    bound = K * worst_power * 11 * 2.0**-40 * 2
    dev = max(np.abs(ex.theta_float() - ft[-1]).max(),
              np.abs(ex.p_float() - fp[-1]).max())
    checks.check_bound(dev, bound)
    assert dev > 0  # the two runs are different computations (the bound is not vacuous)


def test_exact_momentum_refuses_overflow_and_leaves_its_state_intact():
    ex = m.ExactMomentum(np.zeros(1), np.zeros(1), lambda t: np.full(1, -1e4), 1.0, 0.5,
                         frac_bits=40)  # |theta| grows ~2e4 per step; limit 2^21
    before = None
    with pytest.raises(ValueError, match="fixed-point range"):
        for _ in range(10_000):
            before = ex.state()
            ex.step()
    assert ex.state() == before  # the refused step was undone, buffer included
    ex.unrun(ex.steps)
    assert ex.buffer.is_empty()


@pytest.mark.parametrize("kwargs, message", [
    (dict(beta=0.0), r"> 0"),
    (dict(beta=1.2), r"<= 1"),
    (dict(frac_bits=0), "frac_bits"),
    (dict(max_denominator=0), "max_denominator"),
    (dict(grad=lambda t: np.full(2, np.inf)), "grad"),
    (dict(theta=np.full(2, 1e7)), "too large"),
])
def test_exact_momentum_rejects_bad_input(kwargs, message):
    args = dict(theta=np.ones(2), p=np.zeros(2), grad=smooth_grad, alpha=0.1, beta=0.9)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        m.ExactMomentum(**args)


def test_exact_momentum_cannot_reverse_past_its_start():
    ex = _exact(3)
    with pytest.raises(ValueError, match="only 3"):
        ex.unrun(4)
    ex.unrun(3)
    with pytest.raises(ValueError, match="initial state"):
        ex.reverse()
    with pytest.raises(ValueError, match="positive number of net"):
        ex.buffer_rate()


def test_buffer_bound_proof_is_proved():
    for identity in m.buffer_bound_proof().values():
        assert isinstance(identity.check, checks.Proved)


# --- the explorers
# -------------------------------------------------------------------------------

def test_figure_data_columns_are_the_documented_quantities():
    data = m.figure_data(0.9, 0.1, 400)
    assert {v.shape for v in data.values()} == {(m.FIGURE_ROWS,)}
    prob = m.figure_problem()
    ft, _ = m.trajectory(np.array(m.FIGURE_THETA0), np.zeros(2), prob.grad, 0.1, 0.9,
                         400)
    k = (400 - data["j"]).astype(int)
    assert np.array_equal(data["theta1_fwd"], ft[k, 0])  # the float run, sampled
    assert np.all(data["log10_err_exact"] == m.FIGURE_LOG10_ZERO)  # exact: error 0
    # The exact reversal's theta is within fixed-point rounding of the float run (bound
    # above).
    assert np.abs(data["theta1_exact"] - data["theta1_fwd"]).max() <= 1e-8
    ok = np.isfinite(data["log10_band_lo"])
    dj = np.diff(data["j"][ok])
    rho = m.reverse_spectral_radius(np.array(m.FIGURE_EIGENVALUES), 0.1, 0.9)
    for column, rate in (("log10_band_lo", 0.9**-0.5), ("log10_band_hi", 1 / 0.9),
                         ("log10_pred", rho)):
        slopes = np.diff(data[column][ok]) / dj
        checks.check_close(slopes, np.full_like(slopes, math.log10(rate)), 1e-9)
    assert data["log10_err_naive"][0] > -3  # the float reversal lost the start


def test_plot_functions_update_in_place_and_chart_draws_the_same_columns():
    for make, plot, chart, params in (
            (lambda **p: m.figure_data(**p, steps=200), m.plot_figure, m.chart_figure,
             [dict(beta=0.8, alpha=0.05), dict(beta=0.6, alpha=0.15)]),
            (m.area_data, m.plot_area, m.chart_area,
             [dict(beta=0.7, alpha=0.5, k=4), dict(beta=0.5, alpha=0.9, k=10)])):
        fig = Figure()
        plot(fig, make(**params[0]), **params[0])
        artists = [a for ax in fig.axes for a in ax.get_children()]

        def drawn():
            lines = [np.array(a.get_xydata()) for ax in fig.axes for a in ax.lines]
            return lines + [np.array(a.get_xy()) for ax in fig.axes for a in ax.patches]

        first = drawn()
        data = make(**params[1])
        plot(fig, data, **params[1])
        assert [a for ax in fig.axes for a in ax.get_children()] == artists  # the same
        after = drawn()
        assert any(a.shape != b.shape or not np.allclose(a, b, equal_nan=True)
                   for a, b in zip(first, after))  # ...with new data
        rows = [{k: (float(v[i]) if np.isfinite(v[i]) else None)
                 for k, v in data.items()}
                for i in range(len(next(iter(data.values()))))]
        alt_params = {k: alt.param(name=k, value=v) for k, v in params[1].items()}
        spec = chart(alt.Chart(alt.Data(values=rows)), alt_params).to_dict()
        json.dumps(spec)

        def fields(node):
            if isinstance(node, dict):
                own = {node["field"]} if isinstance(node.get("field"), str) else set()
                return own.union(*[fields(v) for v in node.values()])
            if isinstance(node, list):
                return set().union(*[fields(v) for v in node])
            return set()

        assert set(data) <= fields(spec)  # every column drawn is in the chart too


def test_area_ratio_is_beta_to_the_k_for_every_alpha():
    # 4000-vertex polygons: measured up to 4e-7 in the chapter; tolerance 4e-5.
    for b, a, k in ((0.5, 0.1, 1), (0.8, 0.9, 10), (1.0, 0.5, 7)):
        checks.check_close(m.area_ratio(b, a, k, points=4000), b**k, 4e-5)


def test_explorer_tables_fit_the_budget():
    for make in (m.explorer, m.area_explorer):
        rows = make().table()
        total = sum(len(v) for r in rows for v in r.values() if isinstance(v, list))
        assert total <= 40_000  # the book's budget for one explorer's static table


def test_figure_rejects_bad_controls():
    with pytest.raises(ValueError, match="beta"):
        m.figure_data(0.0, 0.1, 200)
    with pytest.raises(ValueError, match="steps"):
        m.figure_data(0.9, 0.1, 0)
