"""The interactive figure of the chapter "Residual connections" (section "Explore").

For one fixed random stack of width 16 (seed ``FIGURE_SEED``; A_l = scale * G_l / sqrt(16),
zero biases) it draws log10 sigma_max(d h_L / d h_l) against the layer l: how large the
gradient is that reaches each layer from the output of a stack of depth L. A depth-L stack
is the first L layers of the same 100-layer stack, so moving the depth adds layers on top.
"""

from __future__ import annotations

import functools

import numpy as np

from .. import checks
from .network import ACTIVATIONS, ARCHS, log10_layer_norms, random_stack

__all__ = ["figure_data", "plot_figure", "chart_figure", "explorer", "plot_measurement",
           "FIGURE_SCALES", "FIGURE_WIDTH", "FIGURE_SEED", "FIGURE_MAX_DEPTH"]

FIGURE_WIDTH = 16
FIGURE_SEED = 2016
FIGURE_MAX_DEPTH = 100
#: The weight scales the figure offers (the static page precomputes each).
FIGURE_SCALES = (0.5, 1.0, 2.0, 4.0)
_COLORS = {"plain": "#7f7f7f", "residual": "#1f77b4", "post-activation": "#d62728"}


@functools.lru_cache(maxsize=None)
def _stack(scale: float):
    return random_stack(FIGURE_MAX_DEPTH, FIGURE_WIDTH, scale, seed=FIGURE_SEED)


@functools.lru_cache(maxsize=512)
def _data(depth: int, scale: float, activation: str, arch: str) -> dict:
    As, bs, x = _stack(scale)
    return log10_layer_norms(As[:depth], bs[:depth], x, arch, activation)


def figure_data(depth: int, scale: float, activation: str, arch: str) -> dict:
    """``layer`` l = 0..L and ``log10_norm`` = log10 sigma_max(d h_L / d h_l) for the figure's
    stack (:func:`derivations.residual.log10_layer_norms`)."""
    depth = checks.integer(depth, "depth", minimum=1, maximum=FIGURE_MAX_DEPTH)
    scale = checks.real(scale, "scale", minimum=0.0, maximum=1e3, open_min=True)
    activation = checks.choice(activation, "activation", ACTIVATIONS)
    arch = checks.choice(arch, "arch", ARCHS)
    return {k: v.copy() for k, v in _data(depth, scale, activation, arch).items()}


def _limits(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    lo = min(-1.0, float(finite.min()) - 1.0) if finite.size else -1.0
    hi = max(1.0, float(finite.max()) + 1.0) if finite.size else 1.0
    return lo, hi


def plot_figure(fig, data, depth, scale, activation, arch):
    """Matplotlib view, updated in place: one curve, log10 of the gradient norm per layer."""
    if not fig.axes:
        ax = fig.subplots()
        # The y label sits at a fixed distance, wide enough for tick labels like "-100":
        # the figure is laid out once and redrawn in place with other limits.
        ax.yaxis.set_label_coords(-0.085, 0.5)
        ax.axhline(0.0, color="black", lw=0.8, ls=":")
        ax.plot([], [], marker=".", ms=4, lw=1.5)
        ax.set_xlabel("layer l (gradient of h_L with respect to h_l)")
        ax.set_ylabel("log10 σ_max(∂h_L/∂h_l)")
    ax = fig.axes[0]
    line = ax.lines[-1]
    line.set_data(data["layer"], data["log10_norm"])
    line.set_color(_COLORS[arch])
    ax.set_xlim(0, max(int(depth), 1))
    ax.set_ylim(*_limits(np.asarray(data["log10_norm"])))
    ax.set_title(f"{arch}, {activation}, depth {depth}, weight scale {scale}")


def chart_figure(source, params):
    """Vega-Lite view: the same curve and the level log10 = 0 (gradient norm 1)."""
    import altair as alt

    curve = source.mark_line(point=alt.OverlayMarkDef(size=12)).encode(
        x=alt.X("layer:Q", title="layer l"),
        y=alt.Y("log10_norm:Q", title="log10 σ_max(∂h_L/∂h_l)"),
        color=alt.Color("arch:N", legend=None,
                        scale=alt.Scale(domain=list(_COLORS), range=list(_COLORS.values()))))
    level = alt.Chart(alt.sequence(0, 1, as_="one")).transform_calculate(zero="0").mark_rule(
        color="black", strokeDash=[2, 2]).encode(y="zero:Q")
    return alt.layer(curve, level).properties(width=440, height=250)


def explorer():
    """Depth, weight scale, activation and architecture; per-layer gradient norms, log scale."""
    from ..explore import Choice, Explorer, Slider

    controls = [Slider("depth", 10, FIGURE_MAX_DEPTH, 10, value=50, label="depth L"),
                Choice("scale", [str(s) for s in FIGURE_SCALES], value="1.0", label="weight scale"),
                Choice("activation", list(ACTIVATIONS), value="tanh", label="activation"),
                Choice("arch", list(ARCHS), value="residual", label="architecture")]
    return Explorer(name="residual-gradients", controls=controls, compute=_compute,
                    plot=plot_figure, chart=chart_figure, width=8.0, height=3.6)


def _compute(depth, scale, activation, arch):
    return figure_data(depth, float(scale), activation, arch)


def plot_measurement(fig, panels: dict) -> None:
    """The static figure of section "Measured": one panel per title in ``panels``, each
    mapping an architecture to (depths, samples) with samples of shape (seeds, depths);
    the median as a line and the 10-90 % range over seeds as a band (each panel its own
    vertical scale)."""
    if not isinstance(panels, dict) or not panels:
        raise ValueError("panels must be a non-empty dict: title -> {arch: (depths, samples)}")
    axes = fig.subplots(1, len(panels))
    for ax, (title, curves) in zip(np.atleast_1d(axes), panels.items()):
        for arch, (depths, samples) in curves.items():
            low, mid, high = np.percentile(samples, [10, 50, 90], axis=0)
            ax.fill_between(depths, low, high, color=_COLORS[arch], alpha=0.25, lw=0)
            ax.plot(depths, mid, color=_COLORS[arch], lw=1.5, label=arch)
        ax.axhline(0.0, color="black", lw=0.8, ls=":")
        ax.set_title(title, fontsize="medium")
        ax.set_xlabel("depth L")
    np.atleast_1d(axes)[0].set_ylabel("log10 σ_max(∂h_L/∂x)")
    np.atleast_1d(axes)[0].legend(fontsize="small", loc="lower left")
