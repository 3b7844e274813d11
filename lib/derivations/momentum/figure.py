"""The finite-precision chapter's explorer: forward run, float64 and exact reversal.

Chapter 'Momentum in finite precision' (``book/momentum_precision.md``), section
'Explore: momentum and learning rate'. A 2-D quadratic with one stiff and one nearly
flat direction is run forward in float64, then reversed in float64 and exactly
(:class:`~derivations.momentum.exact.ExactMomentum`); the figure shows the paths and the
reversal errors against the growth band of the theorem 'Error growth of the reversal'.
"""

from __future__ import annotations

import math

import numpy as np

from .. import checks
from . import _args
from .exact import ExactMomentum
from .precision import growth_band, reverse_spectral_radius
from .problems import Problem, quadratic
from .step import _reverse_trajectory, _trajectory

__all__ = [
    "FIGURE_EIGENVALUES", "FIGURE_THETA0", "FIGURE_THETA_STAR", "FIGURE_STEPS",
    "FIGURE_ROWS", "FIGURE_LOG10_ZERO", "figure_problem", "figure_data", "plot_figure",
    "chart_figure", "explorer",
]

#: Hessian eigenvalues of the figure's quadratic: one stiff direction, one nearly flat.
FIGURE_EIGENVALUES = (1.0, 0.01)
FIGURE_THETA0 = (-1.5, 1.0)
FIGURE_THETA_STAR = (1.0, -0.5)
FIGURE_STEPS = 600
FIGURE_ROWS = 101                         # points per curve
FIGURE_BOX = (-2.0, 4.0, -4.0, 3.0)       # theta_1 min, max, theta_2 min, max (left)
FIGURE_LOG10_RANGE = (-18.0, 4.0)         # y range of the error panel
FIGURE_LOG10_ZERO = -18.0                 # where an error of exactly 0 is drawn


def figure_problem() -> Problem:
    """The figure's quadratic: eigenvalues FIGURE_EIGENVALUES, axes turned by 30°."""
    c, s = math.cos(math.pi / 6), math.sin(math.pi / 6)
    R = np.array([[c, -s], [s, c]])
    H = R @ np.diag(FIGURE_EIGENVALUES) @ R.T
    return quadratic(0.5 * (H + H.T), FIGURE_THETA_STAR)


def _log10_or_floor(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = np.log10(x)
    return np.where(x == 0, FIGURE_LOG10_ZERO, out)


def _exact_errors(theta0, grad, alpha, beta, steps, rows):
    """Exact run and reversal: the reversal's error and theta at the sampled steps."""
    exact = ExactMomentum(theta0, np.zeros(2), grad, alpha, beta)
    forward = {0: (exact.theta.copy(), exact.p.copy())}
    for k in range(1, steps + 1):
        exact.step()
        if k in rows:
            forward[k] = (exact.theta.copy(), exact.p.copy())
    theta = np.full((steps + 1, 2), np.nan)
    err = np.zeros(steps + 1)
    theta[steps] = exact.theta_float()
    for k in range(steps, 0, -1):
        exact.reverse()
        if k - 1 in rows:
            t, p = forward[k - 1]
            theta[k - 1] = exact.theta_float()
            gap = max(np.abs(exact.theta - t).max(), np.abs(exact.p - p).max())
            err[k - 1] = math.ldexp(float(gap), -exact.frac_bits)
    return theta, err


def figure_data(beta: float, alpha: float, steps: int = FIGURE_STEPS) -> dict:
    """The figure's numbers at one setting of the controls, at FIGURE_ROWS steps k.

    Columns: ``j`` (reverse steps taken, steps - k); ``theta1_fwd, theta2_fwd`` (float64
    forward run); ``theta1_naive, theta2_naive`` (float64 reversal; points beyond 4x the
    plotting box are NaN); ``theta1_exact, theta2_exact`` (exact reversal, decoded);
    ``log10_err_naive, log10_err_exact`` (largest coordinate error of each reversal
    against its own forward run; an error of exactly 0 is drawn at -18);
    ``log10_band_lo, log10_band_hi, log10_pred`` (lines of slope log10 beta^-1/2, log10
    1/beta and log10 of the spectral radius, from the first float error above 100
    machine epsilons; NaN before).
    """
    alpha, beta = _args.alpha(alpha), _args.beta(beta, reversible=True)
    steps = _args.steps(steps, minimum=1)
    prob = figure_problem()
    theta0 = np.array(FIGURE_THETA0)
    with np.errstate(over="ignore", invalid="ignore"):
        ft, fp = _trajectory(theta0, np.zeros(2), prob.grad, alpha, beta, steps)
    if not (np.all(np.isfinite(ft)) and np.all(np.isfinite(fp))):
        raise ValueError("the forward run overflowed (alpha too large)")
    rt, rp = _reverse_trajectory(ft[-1], fp[-1], prob.grad, alpha, beta, steps)
    with np.errstate(over="ignore", invalid="ignore"):
        err_naive = np.maximum(np.abs(rt - ft).max(axis=1), np.abs(rp - fp).max(axis=1))
    err_naive = np.where(np.isfinite(err_naive), err_naive, np.inf)

    k = np.unique(np.round(np.linspace(0, steps, FIGURE_ROWS)).astype(int))
    exact_theta, err_exact = _exact_errors(theta0, prob.grad, alpha, beta, steps,
                                           set(k.tolist()))
    j = steps - k
    limit = 4.0 * max(abs(v) for v in FIGURE_BOX)
    with np.errstate(invalid="ignore"):
        naive = np.where(np.abs(rt[k]) <= limit, rt[k], np.nan)
    # The lines start where the float error first exceeds 100 eps (before that it is a
    # few roundings, often exactly 0), with the slopes of the band and of the spectral
    # radius.
    lo, hi = growth_band(beta)
    rho = reverse_spectral_radius(np.array(FIGURE_EIGENVALUES), alpha, beta)
    above = np.flatnonzero(err_naive[::-1] >= 100 * checks.EPS)
    j0 = int(above[0]) if above.size else steps + 1
    anchor = math.log10(err_naive[steps - j0]) if above.size else 0.0

    def line(rate):
        with np.errstate(invalid="ignore"):
            return np.where(j >= j0, anchor + (j - j0) * math.log10(rate), np.nan)

    return {
        "j": j.astype(float),
        "theta1_fwd": ft[k, 0], "theta2_fwd": ft[k, 1],
        "theta1_naive": naive[:, 0], "theta2_naive": naive[:, 1],
        "theta1_exact": exact_theta[k, 0], "theta2_exact": exact_theta[k, 1],
        "log10_err_naive": _log10_or_floor(err_naive[k]),
        "log10_err_exact": _log10_or_floor(err_exact[k]),
        "log10_band_lo": line(lo), "log10_band_hi": line(hi), "log10_pred": line(rho),
    }


_SERIES = (("forward (float64)", "fwd", "#1f77b4"),
           ("float64 reversal", "naive", "#d62728"),
           ("exact reversal", "exact", "#2ca02c"))


def plot_figure(fig, data, beta, alpha):
    """Matplotlib view: left, the paths in the theta plane; right, log10 error vs j.

    Draws on the first call and only updates the artists' data and titles afterwards.
    """
    alpha, beta = _args.alpha(alpha), _args.beta(beta, reversible=True)
    if not fig.axes:
        left, right = fig.subplots(1, 2)
        for label, key, color in _SERIES:
            exact = key == "exact"
            left.plot([], [], ":" if exact else "-", color=color,
                      lw=2.5 if exact else 1.2, label=label, gid=key)
        left.plot(*FIGURE_THETA0, "ko", ms=4)
        left.plot(*FIGURE_THETA_STAR, "k*", ms=7)
        left.set_xlim(FIGURE_BOX[0], FIGURE_BOX[1])
        left.set_ylim(FIGURE_BOX[2], FIGURE_BOX[3])
        left.set_xlabel("θ₁")
        left.set_ylabel("θ₂")
        left.legend(loc="upper right", fontsize="small")
        right.fill_between([0, 1], [0, 0], [0, 0], color="0.85",
                           label="band β^(-j/2) … β^(-j)", gid="band")
        right.plot([], [], "k--", lw=1, zorder=3, label="spectral radius ρ^j",
                   gid="pred")
        right.plot([], [], color=_SERIES[1][2], label="float64 reversal", gid="naive")
        right.plot([], [], color=_SERIES[2][2], ls=":", lw=2.5,
                   label="exact reversal (0, drawn at -18)", gid="exact")
        right.set_ylim(*FIGURE_LOG10_RANGE)
        right.set_xlabel("reverse steps taken j")
        right.set_ylabel("log10 reconstruction error")
        right.legend(loc="upper left", fontsize="x-small")
    left, right = fig.axes
    for line in left.lines:
        key = line.get_gid()
        if key:
            line.set_data(data[f"theta1_{key}"], data[f"theta2_{key}"])
    left.set_title(f"β = {beta:g}, α = {alpha:g}", fontsize="medium")
    band = next(c for c in right.collections if c.get_gid() == "band")
    band.set_data(data["j"], data["log10_band_lo"], data["log10_band_hi"])
    for line in right.lines:
        key = line.get_gid()
        column = "log10_pred" if key == "pred" else f"log10_err_{key}"
        line.set_data(data["j"], data[column])
    right.set_xlim(0, float(np.nanmax(data["j"])))


def chart_figure(source, params):
    """Vega-Lite view of the same figure, drawn from the same columns."""
    import altair as alt

    bx = FIGURE_BOX
    xs, ys = alt.Scale(domain=[bx[0], bx[1]]), alt.Scale(domain=[bx[2], bx[3]])
    colors = alt.Scale(domain=[s[0] for s in _SERIES], range=[s[2] for s in _SERIES])
    paths = [
        source.transform_calculate(series=f"'{label}'")
        .mark_line(clip=True, strokeWidth=2.5 if key == "exact" else 1.2,
                   strokeDash=[2, 3] if key == "exact" else [1, 0])
        .encode(x=alt.X(f"theta1_{key}:Q", title="θ₁", scale=xs),
                y=alt.Y(f"theta2_{key}:Q", title="θ₂", scale=ys),
                order=alt.Order("j:Q", sort="descending"),
                color=alt.Color("series:N", scale=colors, title=None,
                                legend=alt.Legend(orient="bottom",
                                                  direction="vertical")))
        for label, key, _ in _SERIES]
    left = alt.layer(*paths).properties(width=230, height=210,
                                        title="paths in the θ plane")
    ly = alt.Scale(domain=list(FIGURE_LOG10_RANGE))
    x = alt.X("j:Q", title="reverse steps taken j")
    band = source.mark_area(color="#d9d9d9", clip=True).encode(
        x=x, y=alt.Y("log10_band_lo:Q", scale=ly, title="log10 reconstruction error"),
        y2="log10_band_hi:Q")
    pred = source.mark_line(color="black", strokeDash=[4, 3], strokeWidth=1,
                            clip=True).encode(x="j:Q",
                                              y=alt.Y("log10_pred:Q", scale=ly))
    naive = source.mark_line(color=_SERIES[1][2], clip=True).encode(
        x="j:Q", y=alt.Y("log10_err_naive:Q", scale=ly))
    exact = source.mark_line(color=_SERIES[2][2], strokeDash=[2, 3], strokeWidth=2.5,
                             clip=True).encode(x="j:Q",
                                               y=alt.Y("log10_err_exact:Q", scale=ly))
    right = alt.layer(band, pred, naive, exact).properties(
        width=230, height=210,
        title=["float64 (red), exact (green, 0 at -18),",
               "band (grey), spectral radius (dashed)"])
    return alt.hconcat(left, right)


def explorer():
    """The chapter's interactive figure: beta and alpha (FIGURE_STEPS steps)."""
    from ..explore import Explorer, Slider

    return Explorer(
        name="momentum-reversal",
        controls=[Slider("beta", 0.6, 1.0, 0.05, value=0.9, label="momentum β"),
                  Slider("alpha", 0.05, 0.15, 0.05, value=0.1,
                         label="learning rate α")],
        compute=figure_data, plot=plot_figure, chart=chart_figure,
        width=8.4, height=3.5,
    )
