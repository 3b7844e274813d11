"""A step shrinks areas by beta: the first chapter's explorer, for one parameter.

Chapter 'Reversing SGD with momentum' (``book/momentum.md``), section 'Explore: a step
shrinks areas'. A circle of states (theta, p) is mapped through k float64 steps on the
log-cosh loss; by the theorem 'Determinant of one step' the region it bounds has area
beta^k times the circle's, whatever alpha and however the curve is bent.
"""

from __future__ import annotations

import numpy as np

from .. import checks
from . import _args
from .problems import log_cosh
from .step import _forward

__all__ = ["AREA_CENTRE", "AREA_RADIUS", "AREA_POINTS", "mapped_circle", "area_ratio",
           "area_data", "plot_area", "chart_area", "area_explorer"]

AREA_CENTRE = (1.5, 0.0)       # (theta, p) at the circle's centre
AREA_RADIUS = 0.6
AREA_POINTS = 80               # vertices drawn (plus one that closes the curve)
_LOSS = log_cosh(2.0)


def mapped_circle(beta, alpha, k: int, points: int = AREA_POINTS):
    """The circle's vertices and their images after k steps: four arrays of points + 1.

    The last vertex repeats the first, so each curve is closed. Every vertex is run as
    its own one-parameter state; the loss is 2 log cosh(theta).
    """
    alpha, beta = _args.alpha(alpha), _args.beta(beta, reversible=False)
    k = _args.steps(k)
    points = checks.integer(points, "points", minimum=3, maximum=10**6)
    angle = np.linspace(0.0, 2 * np.pi, points + 1)
    angle[-1] = 0.0
    theta0 = AREA_CENTRE[0] + AREA_RADIUS * np.cos(angle)
    p0 = AREA_CENTRE[1] + AREA_RADIUS * np.sin(angle)
    theta, p = theta0, p0
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(k):
            theta, p = _forward(theta, p, _LOSS.grad, alpha, beta)
    if not (np.all(np.isfinite(theta)) and np.all(np.isfinite(p))):
        raise ValueError("the steps overflowed float64 (alpha too large)")
    return theta0, p0, theta, p


def _shoelace(x: np.ndarray, y: np.ndarray) -> float:
    return 0.5 * float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]))


def area_ratio(beta, alpha, k: int, points: int = 4000) -> float:
    """Area of the image of the circle after k steps over the circle's area.

    Polygons with ``points`` vertices, areas by the shoelace formula. The theorem
    'Determinant of one step' predicts beta**k.
    """
    theta0, p0, theta, p = mapped_circle(beta, alpha, k, points)
    return _shoelace(theta, p) / _shoelace(theta0, p0)


def area_data(beta, alpha, k) -> dict:
    """The explorer's columns, :data:`AREA_POINTS` + 1 rows each.

    ``i`` (vertex index), ``theta_start, p_start`` (the circle), ``theta_k, p_k`` (its
    image after k steps).
    """
    theta0, p0, theta, p = mapped_circle(beta, alpha, k)
    return {"i": np.arange(theta0.size, dtype=float), "theta_start": theta0,
            "p_start": p0, "theta_k": theta, "p_k": p}


def plot_area(fig, data, beta, alpha, k):
    """Matplotlib view: the circle and its image in the (theta, p) plane, areas above.

    Draws on the first call and only updates the artists afterwards.
    """
    alpha, beta = _args.alpha(alpha), _args.beta(beta, reversible=False)
    k = _args.steps(k)
    if not fig.axes:
        ax = fig.subplots()
        ax.fill([], [], color="#9ecae1", alpha=0.5, label="start", gid="start")
        ax.fill([], [], color="#fd8d3c", alpha=0.6, label="after k steps", gid="k")
        ax.set_xlim(-1.5, 2.5)
        ax.set_ylim(-1.4, 1.0)
        ax.set_aspect("equal")
        ax.set_xlabel("θ")
        ax.set_ylabel("p")
        ax.legend(loc="lower left", fontsize="small")
    ax = fig.axes[0]
    for patch in ax.patches:
        key = "start" if patch.get_gid() == "start" else "k"
        patch.set_xy(np.column_stack([data[f"theta_{key}"], data[f"p_{key}"]]))
    ratio = (_shoelace(data["theta_k"], data["p_k"])
             / _shoelace(data["theta_start"], data["p_start"]))
    ax.set_title(f"β = {beta:g}, α = {alpha:g}, k = {k}: area ratio {ratio:.3f}, "
                 f"β^k = {beta ** k:.3f}", fontsize="medium")


def chart_area(source, params):
    """Vega-Lite view: the same two closed curves, and beta^k from the controls."""
    import altair as alt

    xs, ys = alt.Scale(domain=[-1.5, 2.5]), alt.Scale(domain=[-1.4, 1.0])
    start = source.mark_line(color="#3182bd", clip=True).encode(
        x=alt.X("theta_start:Q", title="θ", scale=xs),
        y=alt.Y("p_start:Q", title="p", scale=ys), order="i:Q")
    image = source.mark_line(color="#e6550d", strokeWidth=2, clip=True).encode(
        x="theta_k:Q", y="p_k:Q", order="i:Q")
    label = alt.Chart(alt.Data(values=[{}])).mark_text(align="left", x=5, y=10).encode(
        text="label:N").transform_calculate(
        label="'blue: start, orange: after k steps; area ratio predicted β^k = ' + "
              "format(pow(beta, k), '.3f')")
    return alt.layer(start, image, label).properties(width=380, height=230)


def area_explorer():
    """The first chapter's interactive figure: beta, alpha and the number of steps k."""
    from ..explore import Explorer, Slider

    return Explorer(
        name="momentum-area",
        controls=[Slider("beta", 0.5, 1.0, 0.1, value=0.7, label="momentum β"),
                  Slider("alpha", 0.1, 0.9, 0.4, value=0.5, label="learning rate α"),
                  Slider("k", 1, 10, 3, value=4, label="steps k")],
        compute=area_data, plot=plot_area, chart=chart_area,
        width=6.0, height=3.6,
    )
