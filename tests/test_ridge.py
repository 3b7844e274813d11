"""Tests of derivations.ridge: random ReLU features and the ridge solution, all forms.

References are independent algorithms: ridge as ordinary least squares of the stacked
system [F; sqrt(lambda) I] (LAPACK's SVD-based gelsd), the optimality condition itself,
and, at lambda = 0, the two properties that characterise the minimum-norm least-squares
solution. Tolerances follow the conditioning of the problem.
"""

import matplotlib.figure
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from derivations import ridge as rr

from .hostile import Call

EPS = np.finfo(float).eps


def problem(N, M, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X, W = rng.normal(size=(N, d)), rng.normal(size=(M, d)) / np.sqrt(d)
    return rr.random_relu_features(X, W), rng.normal(size=N)


def stacked_least_squares(F, Y, lam):
    M = F.shape[1]
    A = np.vstack([F, np.sqrt(lam) * np.eye(M)])
    return np.linalg.lstsq(A, np.concatenate([Y, np.zeros(M)]), rcond=None)[0]


def norm_rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


# --- features -------------------------------------------------------------------------

def test_features_are_relu_of_dot_products():
    rng = np.random.default_rng(1)
    X, W = rng.normal(size=(7, 3)), rng.normal(size=(5, 3))
    F = rr.random_relu_features(X, W)
    for i in range(7):
        for j in range(5):
            # One dot product of 3 terms: a rounding or two.
            scale = np.abs(X[i]) @ np.abs(W[j])
            assert abs(F[i, j] - max(0.0, float(np.dot(W[j], X[i])))) <= 4 * EPS * scale
    with pytest.raises(ValueError, match="axis 1"):
        rr.random_relu_features(X, rng.normal(size=(5, 4)))


# --- symbolic -------------------------------------------------------------------------

def test_prove_matrix_identity_proves_and_refutes():
    N, M = sp.symbols("N M", integer=True, positive=True)
    lam = sp.Symbol("lambda", positive=True)
    F = sp.MatrixSymbol("F", N, M)
    ok = rr.prove_matrix_identity(F.T * (F * F.T + lam * sp.Identity(N)),
                                  (F.T * F + lam * sp.Identity(M)) * F.T)
    assert ok.check.status() == "proved"
    with pytest.raises(AssertionError, match="not an identity"):
        rr.prove_matrix_identity(F.T * F * F.T, F.T * F.T.T * F.T + F.T)
    with pytest.raises(ValueError, match="matrix expression"):
        rr.prove_matrix_identity(F, lam)  # a matrix against a scalar
    with pytest.raises(ValueError, match="same shape"):
        rr.prove_matrix_identity(F, F.T)


def test_cheaper_form_follows_the_cost_difference():
    N, M = sp.symbols("N M", positive=True)
    primal = N * M**2 + N * M + M**3 / 3 + 2 * M**2
    dual = N**2 * M + N**3 / 3 + 2 * N**2 + N * M
    for n in (1, 2, 9, 40, 333):
        for m in (1, 2, 9, 40, 333):
            cheaper = "primal" if (primal - dual).subs({N: n, M: m}) <= 0 else "dual"
            assert rr.cheaper_form(n, m) == cheaper


# --- the solution ---------------------------------------------------------------------

@given(st.integers(1, 30), st.integers(1, 30), st.floats(-3, 3), st.integers(0, 2**31),
       st.sampled_from(rr.FORMS))
def test_every_form_matches_stacked_least_squares(N, M, log10_lam, seed, form):
    F, Y = problem(N, M, seed=seed)
    lam = 10.0**log10_lam
    theta = rr.ridge_solution(F, Y, lam, form=form)
    reference = stacked_least_squares(F, Y, lam)
    # Gram forms lose up to ~(N + M) cond eps, cond <= 1 + ||F||_F^2 / lam (the
    # larger, "wrong" Gram matrix included); the SVD and the reference lose less. Over
    # 3000 random cases the largest error was 6 (N + M) cond eps (the reference's own,
    # at cond ~ 1), so 100 (N + M) cond eps leaves a margin of ~17; a wrong formula is
    # off by O(1).
    cond = 1.0 + np.sum(F * F) / lam
    if np.linalg.norm(reference) > 0:
        assert norm_rel(theta, reference) <= 100 * EPS * (N + M) * cond
    else:
        assert np.all(theta == 0)


@given(st.integers(1, 40), st.integers(1, 40), st.floats(-3, 3), st.integers(0, 2**31))
def test_gradient_vanishes_at_the_solution(N, M, log10_lam, seed):
    F, Y = problem(N, M, seed=seed)
    lam = 10.0**log10_lam
    theta = rr.ridge_solution(F, Y, lam)
    gradient = F.T @ (F @ theta - Y) + lam * theta
    # Relative to the size of the terms that cancel in it: the largest of 3000 random
    # cases was 23 eps; the bound is 100x that.
    scale = (np.linalg.norm(F.T @ Y) + np.linalg.norm(F) ** 2 * np.linalg.norm(theta)
             + 1e-300)
    assert np.linalg.norm(gradient) <= 2e3 * EPS * scale


def test_auto_switches_to_the_svd_when_the_gram_matrix_is_ill_conditioned():
    rng = np.random.default_rng(3)
    X, W = rng.normal(size=(20, 6)), rng.normal(size=(20, 6))
    W[1] = W[0] + 1e-7 * rng.normal(size=6)
    F, Y = rr.random_relu_features(X, W), rng.normal(size=20)
    auto = rr.ridge_solution(F, Y, 1e-12)
    assert np.array_equal(auto, rr.ridge_solution(F, Y, 1e-12, form="svd"))
    # The SVD agrees with the stacked least-squares solve far better than a Gram form.
    ref = stacked_least_squares(F, Y, 1e-12)
    primal = rr.ridge_solution(F, Y, 1e-12, form="primal")
    assert norm_rel(auto, ref) < 1e-3 * norm_rel(primal, ref)


@pytest.mark.parametrize("shape", [(30, 10), (10, 30), (12, 12)])
def test_lambda_zero_is_the_minimum_norm_least_squares_solution(shape):
    F, Y = problem(*shape, seed=4)
    theta = rr.ridge_solution(F, Y, 0.0)
    # Least squares: the residual is orthogonal to the columns of F (normal equations).
    residual = np.linalg.norm(F.T @ (F @ theta - Y))
    assert residual <= 1e-10 * np.linalg.norm(F) * np.linalg.norm(Y)
    # Minimum norm: theta has no component in the null space of F (it is in the row
    # space).
    _, s, Vt = np.linalg.svd(F)
    null = Vt[np.sum(s > 1e-10 * s[0]):]
    assert np.linalg.norm(null @ theta) <= 1e-12 * np.linalg.norm(theta)
    # And ridge tends to it: the gap shrinks 10x when lambda does.
    gaps = [np.linalg.norm(rr.ridge_solution(F, Y, lam) - theta)
            for lam in (1e-6, 1e-7)]
    assert 9 < gaps[0] / gaps[1] < 11


def test_lambda_zero_rank_deficient_and_zero_features():
    F = np.zeros((4, 3))
    assert np.array_equal(rr.ridge_solution(F, np.ones(4), 0.0), np.zeros(3))
    F = np.array([[1.0, 1.0], [2.0, 2.0], [0.0, 0.0]])  # rank 1
    theta = rr.ridge_solution(F, np.array([1.0, 2.0, 5.0]), 0.0)
    # The minimum norm point of the line t1 + t2 = 1.
    assert np.allclose(theta, [0.5, 0.5], rtol=1e-14, atol=0)


def test_lambda_zero_is_refused_by_the_gram_forms():
    F, Y = problem(5, 8)
    for form in ("primal", "dual"):
        with pytest.raises(ValueError, match="lam = 0"):
            rr.ridge_solution(F, Y, 0.0, form=form)
    with pytest.raises(ValueError, match="lam must be >= 0"):
        rr.ridge_solution(F, Y, -1.0)


def test_several_targets_are_solved_column_by_column():
    F, _ = problem(9, 14, seed=5)
    Y = np.random.default_rng(6).normal(size=(9, 3))
    for form in rr.FORMS:
        together = rr.ridge_solution(F, Y, 0.3, form=form)
        for col in range(3):
            alone = rr.ridge_solution(F, Y[:, col], 0.3, form=form)
            # Same algorithm, same numbers, up to BLAS blocking.
            assert norm_rel(together[:, col], alone) < 1e-13
    with pytest.raises(ValueError, match="Y"):
        rr.ridge_solution(F, np.ones((9, 2, 2)), 0.3)


# --- the experiment and the figure ----------------------------------------------------

def test_synthetic_data_is_seeded_and_noise_free_targets_are_bounded():
    a = rr.synthetic_data(N=10, d=4, noise=0.0, seed=3)
    b = rr.synthetic_data(N=10, d=4, noise=0.0, seed=3)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert np.all(np.abs(a["Y"]) < 1)
    assert np.allclose(np.linalg.norm(a["X"], axis=1), 2.0, rtol=1e-14, atol=0)


def test_prediction_error_peaks_at_the_interpolation_threshold():
    N = rr.FIGURE_N
    at_peak = rr.prediction_error(0.0, N)
    neighbours = rr.prediction_error(0.0, N // 2), rr.prediction_error(0.0, 4 * N)
    assert at_peak > 5 * max(neighbours)
    assert rr.prediction_error(1.0, N) < at_peak / 5


def test_figure_table_is_small_and_plot_updates_in_place():
    figure = rr.explorer()
    rows = figure.table()
    numbers = sum(len(v) for r in rows for v in r.values() if isinstance(v, list))
    assert numbers <= 40_000
    fig = matplotlib.figure.Figure()
    first = figure.data(log10_lam=-6.0, log2_features=5.0)
    rr.plot_figure(fig, first, log10_lam=-6.0, log2_features=5.0)
    axes = list(fig.axes)
    lines = [list(ax.lines) for ax in axes]
    second = figure.data(log10_lam=0.0, log2_features=7.5)
    rr.plot_figure(fig, second, log10_lam=0.0, log2_features=7.5)
    assert list(fig.axes) == axes and [list(ax.lines) for ax in fig.axes] == lines
    assert np.array_equal(lines[1][1].get_ydata(), second["predicted"])
    assert figure.vega_spec()["usermeta"]["explorer"] == "ridge-features"


# --- hostile input --------------------------------------------------------------------

_N, _M = sp.symbols("N M", integer=True, positive=True)
_F = sp.MatrixSymbol("F", _N, _M)
_rng = np.random.default_rng(0)

PUBLIC_CALLS = [
    Call(rr.random_relu_features, {"X": _rng.normal(size=(5, 3)),
                                   "W": _rng.normal(size=(4, 3))}),
    Call(rr.cheaper_form, {"N": 10, "M": 20}),
    Call(rr.ridge_solution, {"F": np.abs(_rng.normal(size=(6, 4))),
                             "Y": _rng.normal(size=6), "lam": 0.5, "form": "auto"}),
    Call(rr.synthetic_data, {"N": 8, "d": 3, "noise": 0.1, "n_test": 5, "seed": 0}),
    Call(rr.prediction_error, {"lam": 0.1, "M": 8}),
    Call(rr.figure_data, {"log10_lam": -2.0, "log2_features": 5.0}),
    Call(rr.explorer, {}),
]

HOSTILE_EXEMPT = {
    "derivations.ridge.plot_figure": "figure view: draws given data on a matplotlib "
    "Figure; its data come from figure_data, which validates",
    "derivations.ridge.chart_figure": "figure view: builds an Altair chart from the "
    "Explorer's filtered table",
}
