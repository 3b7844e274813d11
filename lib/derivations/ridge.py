"""Ridge regression on random ReLU features.

Chapter "Random-features ridge regression" (``book/ridge.md``). The N samples are the
rows of X (N x d); M random directions are the rows of W (M x d); the features are
F = ReLU(X W^T) (N x M). Ridge regression minimises
1/2 ||F theta - Y||^2 + lambda/2 ||theta||^2, whose minimiser has two closed forms:

- primal: theta = (F^T F + lambda I_M)^{-1} F^T Y, an M x M system;
- dual:   theta = F^T (F F^T + lambda I_N)^{-1} Y, an N x N system.

:func:`ridge_solution` solves the smaller one, and switches to the SVD of F when the
Gram matrix would be too ill-conditioned for float64 (section "Solving it in float64").
"""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp

from . import checks

__all__ = [
    "FORMS", "prove_matrix_identity", "random_relu_features", "cheaper_form",
    "ridge_solution", "synthetic_data", "prediction_error", "figure_data",
    "plot_figure", "chart_figure", "explorer",
]

#: The ways :func:`ridge_solution` can solve: "auto" picks one of the other three.
FORMS = ("auto", "primal", "dual", "svd")

#: "auto" leaves the Gram matrices for the SVD when 1 + ||F||_F^2 / lambda, a bound on
#: the condition number of F^T F + lambda I (and of F F^T + lambda I), exceeds this: the
#: Gram solve could then lose more than about 1e6 eps ~ 2e-10 of relative accuracy.
GRAM_CONDITION_LIMIT = 1e6


#: Matrix identities are proved by the shared ``checks.prove_identity`` (block by block).
prove_matrix_identity = checks.prove_identity


def random_relu_features(X, W):
    """F = ReLU(X W^T): row i holds ReLU(w_j . x_i) for the rows w_j of W."""
    dims: dict = {}
    X = checks.array(X, "X", shape=("N", "d"), dims=dims)
    W = checks.array(W, "W", shape=("M", "d"), dims=dims)
    with np.errstate(over="ignore", invalid="ignore"):
        F = np.maximum(X @ W.T, 0.0)
    if not np.all(np.isfinite(F)):
        raise ValueError("X W^T overflows float64: scale X or W down")
    return F


def cheaper_form(N, M) -> str:
    """"primal" (an M x M system) when M <= N, else "dual" (N x N): the cheaper one.

    The chapter's cost theorem: the primal minus the dual count has the sign of M - N.
    """
    N = checks.integer(N, "N")
    M = checks.integer(M, "M")
    return "primal" if M <= N else "dual"


def _check_targets(Y, N: int) -> np.ndarray:
    arr = checks.array(Y, "Y")
    if arr.ndim == 1:
        return checks.array(arr, "Y", shape=(N,))
    if arr.ndim == 2:
        return checks.array(arr, "Y", shape=(N, None))
    raise ValueError(f"Y must be a vector of N = {N} targets or an N x K array, got "
                     f"shape {arr.shape}")


def _svd_solution(F, Y, lam):
    """theta = V diag(s / (s^2 + lam)) U^T Y; at lam = 0 the pseudo-inverse F^+ Y.

    At lam = 0, singular values below max(N, M) eps s_1 count as zero (NumPy's pinv
    rule).
    """
    U, s, Vt = np.linalg.svd(F, full_matrices=False)
    if lam == 0.0:
        cutoff = max(F.shape) * checks.EPS * (s[0] if s.size else 0.0)
        keep = s > cutoff
        filt = np.zeros_like(s)
        filt[keep] = 1.0 / s[keep]
    else:
        filt = s / (s * s + lam)
    coef = U.T @ Y
    coef = filt * coef if coef.ndim == 1 else filt[:, None] * coef
    return Vt.T @ coef


def ridge_solution(F, Y, lam, form="auto"):
    """The minimiser theta of 1/2 ||F theta - Y||^2 + lam/2 ||theta||^2 (lam >= 0).

    ``form``: "primal" solves (F^T F + lam I_M) theta = F^T Y; "dual" solves
    (F F^T + lam I_N) alpha = Y and returns F^T alpha; "svd" uses F = U S V^T; "auto"
    takes the cheaper Gram form (:func:`cheaper_form`) unless its condition-number
    bound 1 + ||F||_F^2 / lam exceeds ``GRAM_CONDITION_LIMIT``, then "svd".

    lam = 0 is the limit lam -> 0+: the minimum-norm least-squares solution F^+ Y,
    computed by the SVD ("auto" or "svd"); "primal" and "dual" refuse it, because their
    Gram matrix is singular whenever rank F < M (resp. < N). Y may be a vector of N
    targets or an N x K array (K problems at once).
    """
    F = checks.array(F, "F", ndim=2)
    N, M = F.shape
    Y = _check_targets(Y, N)
    lam = checks.real(lam, "lam", minimum=0.0)
    form = checks.choice(form, "form", FORMS)
    if lam == 0.0:
        if form in ("primal", "dual"):
            raise ValueError(f"lam = 0 has no {form} solution in general (its Gram "
                             "matrix is singular when rank F is deficient); use "
                             "form='auto' or 'svd' for the minimum-norm least-squares "
                             "solution")
        return _svd_solution(F, Y, 0.0)
    if form == "auto":
        form = cheaper_form(N, M)
        with np.errstate(over="ignore"):
            bound = 1.0 + float(np.sum(F * F)) / lam
        if not bound <= GRAM_CONDITION_LIMIT:
            form = "svd"
    if form == "primal":
        gram = F.T @ F
        gram[np.diag_indices(M)] += lam
        return np.linalg.solve(gram, F.T @ Y)
    if form == "dual":
        gram = F @ F.T
        gram[np.diag_indices(N)] += lam
        return F.T @ np.linalg.solve(gram, Y)
    return _svd_solution(F, Y, lam)


# --------------------------------------------------------------------------------------
# The experiment (section "Explore: lambda and the number of features").
# --------------------------------------------------------------------------------------

FIGURE_N = 32          # training samples
FIGURE_D = 16          # input dimension
FIGURE_NOISE = 0.2     # standard deviation of the label noise
FIGURE_TEST = 500      # test samples
FIGURE_DRAWS = 8       # independent draws of W averaged in the test error
FIGURE_SEED = 2024
#: The numbers of features on the curves: round(2^(2 + j/4)), 4 ... 256 (25 values).
FIGURE_FEATURES = np.array(sorted({int(round(2 ** (2 + j / 4))) for j in range(25)}))
FIGURE_LENGTH = 36     # every column of the figure's table has this length


def synthetic_data(N=FIGURE_N, d=FIGURE_D, noise=FIGURE_NOISE, n_test=FIGURE_TEST,
                   seed=FIGURE_SEED) -> dict:
    """Seeded inputs on the sphere of radius sqrt(d); targets tanh(u . x) plus noise,
    for a seeded unit vector u.

    Returns X (N x d), Y (N,), X_test (n_test x d) and the noise-free Y_test.
    """
    N = checks.integer(N, "N", maximum=10**5)
    d = checks.integer(d, "d", maximum=10**3)
    noise = checks.real(noise, "noise", minimum=0.0, maximum=1e3)
    n_test = checks.integer(n_test, "n_test", maximum=10**5)
    seed = checks.integer(seed, "seed", minimum=0)
    rng = np.random.default_rng(seed)

    def sphere(n):
        Z = rng.normal(size=(n, d))
        return Z / np.linalg.norm(Z, axis=1, keepdims=True) * np.sqrt(d)

    u = rng.normal(size=d)
    u /= np.linalg.norm(u)
    X, X_test = sphere(N), sphere(n_test)
    Y = np.tanh(X @ u) + noise * rng.normal(size=N)
    return {"X": X, "Y": Y, "X_test": X_test, "Y_test": np.tanh(X_test @ u)}


@functools.lru_cache(maxsize=1)
def _figure_problem():
    """The data and, for each draw r of W (256 x d, entries N(0, 1/d)), the features of
    the training and test inputs. The first M columns are the features of the first M
    rows of W: the feature sets are nested as M grows."""
    data = synthetic_data()
    features = []
    for r in range(FIGURE_DRAWS):
        rng = np.random.default_rng(FIGURE_SEED + 1 + r)
        W = rng.normal(size=(int(FIGURE_FEATURES[-1]), FIGURE_D)) / np.sqrt(FIGURE_D)
        features.append((random_relu_features(data["X"], W),
                         random_relu_features(data["X_test"], W)))
    return data, features


def _fit(lam, M, draw):
    data, features = _figure_problem()
    F, F_test = features[draw]
    return F_test[:, :M] @ ridge_solution(F[:, :M], data["Y"], lam)


def prediction_error(lam, M) -> float:
    """Mean squared error against the noise-free target on the test inputs, averaged
    over the ``FIGURE_DRAWS`` seeded draws of W, for the chapter's synthetic problem."""
    lam = checks.real(lam, "lam", minimum=0.0)
    M = checks.integer(M, "M", maximum=int(FIGURE_FEATURES[-1]))
    y_test = _figure_problem()[0]["Y_test"]
    return float(np.mean([np.mean((_fit(lam, M, r) - y_test) ** 2)
                          for r in range(FIGURE_DRAWS)]))


@functools.lru_cache(maxsize=None)
def _error_curve(lam: float) -> np.ndarray:
    return np.array([prediction_error(lam, int(M)) for M in FIGURE_FEATURES])


def _padded(values) -> np.ndarray:
    out = np.full(FIGURE_LENGTH, np.nan)
    out[:len(values)] = values
    return out


def figure_data(log10_lam, log2_features) -> dict:
    """The figure's numbers: test error against M at lambda = 10^log10_lam and at
    lambda = 0 (NaN-padded to ``FIGURE_LENGTH``), and predictions against truth on the
    first ``FIGURE_LENGTH`` test inputs for M = round(2^log2_features), first draw of
    W."""
    lam = 10.0 ** checks.real(log10_lam, "log10_lam", minimum=-12.0, maximum=6.0)
    log2_features = checks.real(log2_features, "log2_features", minimum=2.0,
                                maximum=8.0)
    M = int(round(2.0 ** log2_features))
    y_test = _figure_problem()[0]["Y_test"]
    return {"features": _padded(FIGURE_FEATURES.astype(float)),
            "test_error": _padded(_error_curve(lam)),
            "test_error_min_norm": _padded(_error_curve(0.0)),
            "true": y_test[:FIGURE_LENGTH].copy(),
            "predicted": _fit(lam, M, 0)[:FIGURE_LENGTH]}


def plot_figure(fig, data, log10_lam, log2_features):
    """Matplotlib view, updated in place: test error against M; predictions vs truth."""
    M = int(round(2.0 ** log2_features))
    if not fig.axes:
        left, right = fig.subplots(1, 2, width_ratios=[3, 2])
        left.plot([], [], color="C0", marker=".", label="test error, λ")
        left.plot([], [], color="0.4", ls="--", label="λ → 0 (minimum norm)")
        left.plot([], [], "o", color="C3", label="current M")
        left.axvline(FIGURE_N, color="0.7", lw=1)
        left.set_xscale("log", base=2)
        left.set_yscale("log")
        left.set_xlabel("number of features M (vertical line: M = N)")
        left.set_ylabel("test mean squared error")
        left.legend(loc="upper right", fontsize="small")
        right.plot([-1.5, 1.5], [-1.5, 1.5], color="0.7", lw=1)
        right.plot([], [], ".", color="C0")
        right.set_xlabel("true value")
        right.set_ylabel("prediction")
    left, right = fig.axes
    curve, floor, marker = left.lines[:3]  # lines[3] is the line M = N
    curve.set_data(data["features"], data["test_error"])
    floor.set_data(data["features"], data["test_error_min_norm"])
    k = int(np.nanargmin(np.abs(data["features"] - M)))  # M is on the curve's grid
    marker.set_data([data["features"][k]], [data["test_error"][k]])
    finite = np.concatenate([data["test_error"], data["test_error_min_norm"]])
    finite = finite[np.isfinite(finite)]
    left.set_xlim(3, 300)
    left.set_ylim(finite.min() / 2, finite.max() * 2)
    left.set_title(f"λ = 1e{log10_lam:g}, N = {FIGURE_N} samples")
    right.lines[1].set_data(data["true"], data["predicted"])
    spread = max(1.5, float(np.max(np.abs(data["predicted"]))) * 1.1)
    right.set_xlim(-1.5, 1.5)
    right.set_ylim(-spread, spread)
    right.set_title(f"M = {M}: first draw of W")


def chart_figure(source, params):
    """Vega-Lite view of the same two panels."""
    import altair as alt

    M = "round(pow(2, log2_features))"
    colors = alt.Scale(domain=["λ", "λ → 0"], range=["#1f77b4", "#666666"])
    curves = (source.transform_fold(["test_error", "test_error_min_norm"],
                                    as_=["curve", "error"])
              .transform_filter("isValid(datum.error)")
              .transform_calculate(curve="datum.curve == 'test_error' ? 'λ' : 'λ → 0'")
              .mark_line(point=True)
              .encode(x=alt.X("features:Q", title="number of features M",
                              scale=alt.Scale(type="log", base=2)),
                      y=alt.Y("error:Q", title="test mean squared error",
                              scale=alt.Scale(type="log")),
                      color=alt.Color("curve:N", scale=colors),
                      strokeDash=alt.StrokeDash("curve:N", legend=None)))
    here = (source.transform_filter(f"datum.features == {M}")
            .mark_point(color="#d62728", filled=True, size=70)
            .encode(x="features:Q", y="test_error:Q"))
    left = alt.layer(curves, here).properties(width=330, height=230,
                                              title="test error against M (N = 32)")
    right = (source.mark_point(filled=True, size=25, color="#1f77b4")
             .encode(x=alt.X("true:Q", title="true value"),
                     y=alt.Y("predicted:Q", title="prediction"))
             .properties(width=200, height=230, title="predictions, first draw of W"))
    return alt.hconcat(left, right)


def explorer():
    """The chapter's figure: log10 lambda and log2 M."""
    from .explore import Explorer, Slider

    return Explorer(
        name="ridge-features",
        controls=[Slider("log10_lam", -6.0, 1.0, 0.5, value=-6.0, label="log10 λ"),
                  Slider("log2_features", 2.0, 8.0, 0.5, value=5.0, label="log2 M")],
        compute=figure_data, plot=plot_figure, chart=chart_figure, width=8.5,
        height=3.6,
        description="Left: test error of random-features ridge regression against "
        "the number of features M, at the chosen lambda and in the limit lambda -> 0, "
        "which peaks at M = N = 32. Right: predictions against true values on test "
        "inputs for the chosen M and lambda",
    )
