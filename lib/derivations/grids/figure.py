"""The chapter's pictures: who sees which pixel, and the MDRNN's wavefront.

:func:`context_map` labels every pixel of an image, relative to one output pixel, by
which model's prediction can depend on it: the PixelCNN (its
:func:`.masked_receptive_field`), the MDRNN (:func:`.mdrnn_context` of the states west
and north of the pixel), both, or neither, with the PixelCNN's blind spot set apart.
The interactive figure (:func:`explorer`) shows that map beside the wavefront of
:func:`.wavefront`, step by step (section "Explore" of the chapter).
"""

from __future__ import annotations

import functools

import numpy as np

from .. import checks
from .mdrnn import mdrnn_context, wavefront
from .pixelcnn import _layers_kernel, masked_receptive_field

__all__ = [
    "CONTEXT_LABELS", "CONTEXT_COLORS", "WAVE_LABELS", "WAVE_COLORS", "context_map",
    "context_box", "figure_data", "plot_figure", "chart_figure", "plot_context_box",
    "explorer",
]

CONTEXT_LABELS = ("later pixels", "output pixel", "both", "PixelCNN only",
                  "MDRNN only", "blind spot", "neither")
CONTEXT_COLORS = ("#f2f2f2", "#000000", "#8e6bb3", "#4c78a8", "#f58518", "#e45756",
                  "#bdbdbd")
WAVE_LABELS = ("computed", "this step", "not yet")
WAVE_COLORS = ("#4c78a8", "#f58518", "#f2f2f2")

#: The figure's slider ranges (min, max, step): grid side, filter side, depth, step.
#: Kept small: the static page stores every combination (2 G^2 numbers each).
FIGURE_GRIDS = (4, 8, 2)
FIGURE_KERNELS = (3, 5, 2)
FIGURE_LAYERS = (1, 4, 1)
FIGURE_STEPS = (1, 15, 1)


def context_map(rows, cols, p0, q0, layers, kernel) -> np.ndarray:
    """Integer (rows, cols) map of an image, codes indexing :data:`CONTEXT_LABELS`, for
    the prediction of pixel (p0, q0) by a PixelCNN of ``layers`` k x k masked layers
    and by the MDRNN, whose prediction reads the states west and north of the pixel."""
    rows = checks.integer(rows, "rows", maximum=512)
    cols = checks.integer(cols, "cols", maximum=512)
    p0 = checks.integer(p0, "p0", minimum=0, maximum=rows - 1)
    q0 = checks.integer(q0, "q0", minimum=0, maximum=cols - 1)
    layers, kernel = _layers_kernel(layers, kernel)
    R = layers * (kernel // 2)
    field = masked_receptive_field(layers, kernel)
    p, q = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    dy, dx = p - p0, q - q0
    in_box = (np.abs(dy) <= R) & (np.abs(dx) <= R)
    pixelcnn = np.zeros((rows, cols), dtype=bool)
    pixelcnn[in_box] = field[R + dy[in_box], R + dx[in_box]]
    # MDRNN cell (i, j) is pixel (row j, column i); the prediction of x(i, j) reads the
    # states h(i - 1, j) and h(i, j - 1).
    side = max(rows, cols)
    mdrnn = np.zeros((side, side), dtype=bool)
    for i, j in ((q0 - 1, p0), (q0, p0 - 1)):
        if i >= 0 and j >= 0:
            mdrnn |= mdrnn_context(side, i, j)
    mdrnn = mdrnn.T[:rows, :cols]
    past = (dy < 0) | ((dy == 0) & (dx < 0))
    codes = np.full((rows, cols), 6)
    codes[pixelcnn & mdrnn] = 2
    codes[pixelcnn & ~mdrnn] = 3
    codes[~pixelcnn & mdrnn] = 4
    codes[past & in_box & ~pixelcnn & ~mdrnn] = 5
    codes[~past] = 0
    codes[p0, q0] = 1
    return codes


def context_box(layers, kernel) -> np.ndarray:
    """:func:`context_map` on the (R + 1) x (2R + 1) rectangle that ends with the output
    pixel's row and is centred on its column, R = layers (kernel // 2): the PixelCNN's
    whole reach, as in a larger image."""
    layers, kernel = _layers_kernel(layers, kernel)
    R = layers * (kernel // 2)
    return context_map(R + 1, 2 * R + 1, R, R, layers, kernel)


def _wave_index(grid: int) -> np.ndarray:
    """Step number (1-based) of every pixel (row p, column q) = cell (i, j) = (q, p)."""
    index = np.zeros((grid, grid), dtype=int)
    for s, cells in enumerate(wavefront(grid), start=1):
        for i, j in cells:
            index[j, i] = s
    return index


def figure_data(grid, kernel, layers, step) -> dict:
    """The figure's numbers, row-major over a grid x grid image: the context map of the
    pixel in the last row and middle column, and the wavefront step of every pixel.
    ``step`` only selects what the views highlight."""
    grid = checks.integer(grid, "grid", minimum=2, maximum=64)
    layers, kernel = _layers_kernel(layers, kernel)
    checks.integer(step, "step")
    context, wave = _figure_columns(grid, kernel, layers)
    return {"context": context.copy(), "wave": wave.copy()}


@functools.lru_cache(maxsize=None)
def _figure_columns(grid: int, kernel: int, layers: int) -> tuple:
    """The two columns of :func:`figure_data`; cached, since the step does not change
    them and the static page asks for every step."""
    codes = context_map(grid, grid, grid - 1, grid // 2, layers, kernel)
    return codes.ravel().astype(float), _wave_index(grid).ravel().astype(float)


def _wave_state(wave: np.ndarray, grid: int, step: int) -> np.ndarray:
    s = min(step, 2 * grid - 1)
    return np.where(wave < s, 0, np.where(wave == s, 1, 2))


def _legend(ax, labels, colors):
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=c, edgecolor="0.5", label=t)
               for t, c in zip(labels, colors)]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0),
              fontsize="small", frameon=False)


def _image(ax, values, colors):
    """Draw (first call) or update (later calls) the one image of ``ax``."""
    from matplotlib.colors import ListedColormap

    extent = (-0.5, values.shape[1] - 0.5, values.shape[0] - 0.5, -0.5)
    if not ax.images:
        ax.imshow(values, cmap=ListedColormap(colors), vmin=-0.5,
                  vmax=len(colors) - 0.5, interpolation="nearest", extent=extent)
    image = ax.images[0]
    image.set_data(values)
    image.set_extent(extent)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])


def plot_figure(fig, data, grid, kernel, layers, step):
    """Matplotlib view: left, who sees which pixel; right, the wavefront at ``step``.
    The first call creates the axes and images, later calls update them in place."""
    grid = checks.integer(grid, "grid", minimum=2, maximum=64)
    layers, kernel = _layers_kernel(layers, kernel)
    step = checks.integer(step, "step")
    columns = {}
    for key in ("context", "wave"):
        if not isinstance(data, dict) or key not in data:
            raise ValueError(f"data must be a dict with figure_data's column {key!r}")
        columns[key] = checks.array(data[key], f"data[{key!r}]", shape=(grid * grid,))
    context = columns["context"].reshape(grid, grid).astype(int)
    state = _wave_state(columns["wave"].reshape(grid, grid), grid, step)
    if not fig.axes:
        left, right = fig.subplots(1, 2)
        _legend(left, CONTEXT_LABELS, CONTEXT_COLORS)
        _legend(right, WAVE_LABELS, WAVE_COLORS)
        left.set(xlabel="column", ylabel="row")
        right.set(xlabel="column i", ylabel="row j")
    left, right = fig.axes[:2]
    for ax, values, colors in ((left, context, CONTEXT_COLORS),
                               (right, state, WAVE_COLORS)):
        _image(ax, values, colors)
        ax.set_xticks(range(grid))
        ax.set_yticks(range(grid))
    left.set_title(f"context of the black pixel, L = {layers}, k = {kernel}",
                   fontsize="medium")
    last = 2 * grid - 1
    right.set_title(f"MDRNN wavefront, step {min(step, last)} of {last}",
                    fontsize="medium")


def chart_figure(source, params):
    """Vega-Lite view of the same figure, from the same two columns."""
    import altair as alt

    cells = source.transform_window(idx="row_number()").transform_calculate(
        column="(datum.idx - 1) % grid", row="floor((datum.idx - 1) / grid)")
    axes = {"x": alt.X("column:O", title="column"), "y": alt.Y("row:O", title="row")}
    names = "[" + ", ".join(f"'{t}'" for t in CONTEXT_LABELS) + "]"
    who = alt.Color("who:N", title=None, scale=alt.Scale(domain=list(CONTEXT_LABELS),
                                                         range=list(CONTEXT_COLORS)))
    left = (cells.transform_calculate(who=f"{names}[datum.context]")
            .mark_rect().encode(color=who, **axes)
            .properties(width=220, height=220, title="context of the black pixel"))
    last = "min(step, 2 * grid - 1)"
    state = (f"datum.wave < {last} ? '{WAVE_LABELS[0]}' : "
             f"(datum.wave == {last} ? '{WAVE_LABELS[1]}' : '{WAVE_LABELS[2]}')")
    wave = alt.Color("state:N", title=None, scale=alt.Scale(domain=list(WAVE_LABELS),
                                                            range=list(WAVE_COLORS)))
    right = (cells.transform_calculate(state=state)
             .mark_rect().encode(color=wave, **axes)
             .properties(width=220, height=220, title="MDRNN wavefront"))
    return alt.hconcat(left, right).resolve_scale(color="independent")


def plot_context_box(fig, layers, kernel):
    """Who sees which pixel around one output pixel, for L = 1 .. ``layers`` (one panel
    each, all on the rectangle of :func:`context_box` for the largest L) (section
    "Context").
    The first call creates the axes, later calls (same ``layers``) update them."""
    layers, kernel = _layers_kernel(layers, kernel)
    if layers > 6:
        raise ValueError(f"layers must be at most 6 for this picture, got {layers}")
    R = layers * (kernel // 2)
    if not fig.axes:
        fig.subplots(1, layers, squeeze=False)
        _legend(fig.axes[-1], CONTEXT_LABELS, CONTEXT_COLORS)
    for depth, ax in enumerate(fig.axes[:layers], start=1):
        codes = context_map(R + 1, 2 * R + 1, R, R, depth, kernel)
        _image(ax, codes, CONTEXT_COLORS)
        ax.set_title(f"L = {depth}", fontsize="medium")
        ax.set_xticks([])
        ax.set_yticks([])


def explorer():
    """The chapter's interactive figure: grid side, filter side, depth and step."""
    from ..explore import Explorer, Slider

    return Explorer(
        name="grid-context-wavefront",
        controls=[Slider("grid", *FIGURE_GRIDS, value=8, label="grid side G"),
                  Slider("kernel", *FIGURE_KERNELS, value=3, label="filter side k"),
                  Slider("layers", *FIGURE_LAYERS, value=3, label="layers L"),
                  Slider("step", *FIGURE_STEPS, value=6, label="wavefront step")],
        compute=figure_data, plot=plot_figure, chart=chart_figure,
        width=8.5, height=3.6,
    )
