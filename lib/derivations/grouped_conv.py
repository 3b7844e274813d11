"""Grouped convolutions and the 32-path bottleneck block of ResNeXt.

Chapter "Grouped convolutions" (``book/grouped_conv.md``). Images are arrays of shape
``(N, C, P, Q)``: N samples, C channels, P rows, Q columns, in PyTorch's order. A
convolution is PyTorch's (a cross-correlation, stride 1, zero padding); its weight has
shape ``(C_out, C_in / g, k, k)`` for g groups.

The block has g paths (``paths``), each ``C -> w -> w -> C`` (``channels``,
``width``): a 1x1 convolution and ReLU, a k x k convolution and ReLU, a 1x1
convolution; the paths' outputs are summed. Its weights are stacked over paths:
``A1`` (g, w, C, 1, 1), ``b1`` (g, w), ``A2`` (g, w, w, k, k), ``b2`` (g, w),
``A3`` (g, C, w, 1, 1), ``b3`` (g, C). :func:`to_grouped` maps them to the weights of
1x1 -> grouped k x k (g groups) -> 1x1, which computes the same function (section
"Paths are a grouped convolution").
"""

from __future__ import annotations

import numpy as np

from . import checks

__all__ = [
    "parameter_count", "block_parameter_counts", "conv2d", "random_paths",
    "paths_block", "to_grouped", "grouped_block", "source_block", "count_figure_data",
    "plot_count_figure", "chart_count_figure", "explorer",
]

#: Largest number of weights :func:`random_paths` draws (a guard against huge sizes).
MAX_WEIGHTS = 10**7


def _relu(z):
    return np.maximum(z, 0.0)


def _bias_flag(bias) -> bool:
    if not isinstance(bias, (bool, np.bool_)):
        raise ValueError(f"bias must be True or False, got {bias!r}")
    return bool(bias)


def _divides(groups: int, channels: int, name: str) -> None:
    if channels % groups:
        raise ValueError(f"groups = {groups} must divide {name} = {channels}")


# --------------------------------------------------------------------------------------
# Counting parameters (section "How many parameters").
# --------------------------------------------------------------------------------------

def parameter_count(c_in, c_out, kernel, groups=1, bias=True) -> int:
    """Weights and biases of a k x k convolution C_in -> C_out in g groups.

    Each output channel sees the C_in / g input channels of its group through a k x k
    filter: (C_in k^2 / g + 1) C_out with a bias, C_in k^2 C_out / g without (the
    chapter's theorem, proved by counting the weight tensor).
    """
    c_in = checks.integer(c_in, "c_in")
    c_out = checks.integer(c_out, "c_out")
    kernel = checks.integer(kernel, "kernel")
    groups = checks.integer(groups, "groups")
    _divides(groups, c_in, "c_in")
    _divides(groups, c_out, "c_out")
    weights = (c_in // groups) * kernel * kernel * c_out
    return weights + (c_out if _bias_flag(bias) else 0)


def block_parameter_counts(paths=32, width=4, channels=256, kernel=3,
                           bias=True) -> dict:
    """Parameters of the block as g separate paths and as 1x1 -> grouped -> 1x1.

    With biases the path form has (g - 1) C more: its g last-layer biases only ever act
    through their sum, which the grouped form stores once (section "Counting both
    forms").
    """
    paths = checks.integer(paths, "paths")
    width = checks.integer(width, "width")
    channels = checks.integer(channels, "channels")
    kernel = checks.integer(kernel, "kernel")
    bias = _bias_flag(bias)
    middle = paths * width
    one_path = (parameter_count(channels, width, 1, bias=bias)
                + parameter_count(width, width, kernel, bias=bias)
                + parameter_count(width, channels, 1, bias=bias))
    grouped = (parameter_count(channels, middle, 1, bias=bias)
               + parameter_count(middle, middle, kernel, groups=paths, bias=bias)
               + parameter_count(middle, channels, 1, bias=bias))
    return {"paths": paths * one_path, "grouped": grouped}


# --------------------------------------------------------------------------------------
# The convolution (section "The layer").
# --------------------------------------------------------------------------------------

def conv2d(x, weight, bias=None, groups=1, padding=0):
    """PyTorch's ``Conv2d`` forward pass in float64: stride 1, zero padding, g groups.

    ``y[n, o] = bias[o] + sum over the C_in / g channels c of o's group of
    weight[o, c] (cross-correlated with) x[n, c]``. ``x`` is (N, C_in, P, Q),
    ``weight`` (C_out, C_in / g, k, k), ``bias`` (C_out,) or None; ``padding`` is at
    most k - 1 (more only adds borders that see no input).
    """
    dims: dict = {}
    x = checks.array(x, "x", shape=("N", "C_in", None, None), dims=dims)
    weight = checks.array(weight, "weight", shape=("C_out", None, "k", "k"), dims=dims)
    groups = checks.integer(groups, "groups")
    c_out, c_in_g, k, _ = weight.shape
    n, c_in, rows, cols = x.shape
    _divides(groups, c_in, "C_in (x.shape[1])")
    _divides(groups, c_out, "C_out (weight.shape[0])")
    if c_in_g != c_in // groups:
        raise ValueError(f"weight has shape {weight.shape}, but axis 1 must be "
                         f"C_in / groups = {c_in} / {groups} = {c_in // groups}")
    padding = checks.integer(padding, "padding", minimum=0, maximum=k - 1)
    if bias is not None:
        bias = checks.array(bias, "bias", shape=("C_out",), dims=dims)
    out_rows, out_cols = rows + 2 * padding - k + 1, cols + 2 * padding - k + 1
    if out_rows < 1 or out_cols < 1:
        raise ValueError(f"x has {rows} x {cols} pixels: too small for a {k} x {k} "
                         f"filter with padding {padding}")
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    xg = padded.reshape(n, groups, c_in_g, rows + 2 * padding, cols + 2 * padding)
    wg = weight.reshape(groups, c_out // groups, c_in_g, k, k)
    out = np.zeros((n, groups, c_out // groups, out_rows, out_cols))
    for a in range(k):
        for b in range(k):
            window = xg[:, :, :, a:a + out_rows, b:b + out_cols]
            out += np.einsum("ngcpq,goc->ngopq", window, wg[:, :, :, a, b])
    out = out.reshape(n, c_out, out_rows, out_cols)
    return out if bias is None else out + bias[None, :, None, None]


# --------------------------------------------------------------------------------------
# The block, three ways (sections "The block as g paths", "Paths are a grouped
# convolution", "Where the source goes wrong").
# --------------------------------------------------------------------------------------

def random_paths(paths=32, width=4, channels=256, kernel=3, seed=0) -> dict:
    """Seeded weights for g paths, drawn as PyTorch's default init draws them.

    Every weight and bias of a layer is uniform on +-1/sqrt(fan_in), fan_in = C_in k^2
    of that layer (chapter "Default initialisation"). Returns A1, b1, A2, b2, A3, b3
    stacked over paths (shapes in the module docstring).
    """
    paths = checks.integer(paths, "paths")
    width = checks.integer(width, "width")
    channels = checks.integer(channels, "channels")
    kernel = checks.integer(kernel, "kernel")
    seed = checks.integer(seed, "seed", minimum=0)
    total = block_parameter_counts(paths, width, channels, kernel, bias=True)["paths"]
    if total > MAX_WEIGHTS:
        raise ValueError(f"paths, width, channels, kernel ask for {total} weights; at "
                         f"most {MAX_WEIGHTS} are drawn")
    rng = np.random.default_rng(seed)

    def layer(c_out, c_in, k):
        bound = 1.0 / np.sqrt(c_in * k * k)
        return (rng.uniform(-bound, bound, size=(paths, c_out, c_in, k, k)),
                rng.uniform(-bound, bound, size=(paths, c_out)))

    A1, b1 = layer(width, channels, 1)
    A2, b2 = layer(width, width, kernel)
    A3, b3 = layer(channels, width, 1)
    return {"A1": A1, "b1": b1, "A2": A2, "b2": b2, "A3": A3, "b3": b3}


def _check_paths(x, A1, b1, A2, b2, A3, b3):
    """Validate stacked path weights against each other and against x."""
    d: dict = {}
    A1 = checks.array(A1, "A1", shape=("g", "w", "C", 1, 1), dims=d)
    b1 = checks.array(b1, "b1", shape=("g", "w"), dims=d)
    A2 = checks.array(A2, "A2", shape=("g", "w", "w", "k", "k"), dims=d)
    b2 = checks.array(b2, "b2", shape=("g", "w"), dims=d)
    A3 = checks.array(A3, "A3", shape=("g", "C", "w", 1, 1), dims=d)
    b3 = checks.array(b3, "b3", shape=("g", "C"), dims=d)
    if d["k"] % 2 == 0:
        raise ValueError(f"the middle filter must have odd size k (so that padding "
                         f"keeps the image size), got k = {d['k']}")
    if x is not None:
        x = checks.array(x, "x", shape=(None, "C", None, None), dims=d)
    return x, A1, b1, A2, b2, A3, b3


def paths_block(x, A1, b1, A2, b2, A3, b3):
    """The aggregated transform T(x): the sum over the g paths i of
    A3_i * ReLU(A2_i * ReLU(A1_i * x + b1_i) + b2_i) + b3_i (``*`` a convolution).

    No ReLU after a path's last layer: in ResNeXt the ReLU comes after the sum (and the
    shortcut). The k x k layer pads by k // 2, so the image keeps its size.
    """
    x, A1, b1, A2, b2, A3, b3 = _check_paths(x, A1, b1, A2, b2, A3, b3)
    pad = A2.shape[-1] // 2
    out = np.zeros_like(x)
    for i in range(A1.shape[0]):
        h = _relu(conv2d(x, A1[i], b1[i]))
        h = _relu(conv2d(h, A2[i], b2[i], padding=pad))
        out += conv2d(h, A3[i], b3[i])
    return out


def to_grouped(A1, b1, A2, b2, A3, b3) -> dict:
    """The weights of 1x1 -> grouped k x k -> 1x1 that compute the same as the g paths.

    The first layers of the paths stack into one C -> g w layer (G1, c1); the middle
    ones become the g groups of one g w -> g w layer (G2, c2); the last ones sit side by
    side in one g w -> C layer (G3), whose bias c3 is the sum of the paths' last biases.
    """
    _, A1, b1, A2, b2, A3, b3 = _check_paths(None, A1, b1, A2, b2, A3, b3)
    g, w, C, k = A1.shape[0], A1.shape[1], A1.shape[2], A2.shape[-1]
    return {"G1": A1.reshape(g * w, C, 1, 1), "c1": b1.reshape(g * w),
            "G2": A2.reshape(g * w, w, k, k), "c2": b2.reshape(g * w),
            "G3": A3.transpose(1, 0, 2, 3, 4).reshape(C, g * w, 1, 1),
            "c3": b3.sum(axis=0), "groups": g}


def grouped_block(x, G1, c1, G2, c2, G3, c3, groups):
    """1x1 conv + ReLU, grouped k x k conv (``groups`` groups) + ReLU, 1x1 conv."""
    d: dict = {}
    x = checks.array(x, "x", shape=(None, "C", None, None), dims=d)
    G1 = checks.array(G1, "G1", shape=("gw", "C", 1, 1), dims=d)
    G3 = checks.array(G3, "G3", shape=("C", "gw", 1, 1), dims=d)
    G2 = checks.array(G2, "G2", shape=("gw", None, "k", "k"), dims=d)
    c1 = checks.array(c1, "c1", shape=("gw",), dims=d)
    c2 = checks.array(c2, "c2", shape=("gw",), dims=d)
    c3 = checks.array(c3, "c3", shape=("C",), dims=d)
    k = G2.shape[-1]
    if k % 2 == 0:
        raise ValueError(f"the middle filter must have odd size k, got k = {k}")
    h = _relu(conv2d(x, G1, c1))
    h = _relu(conv2d(h, G2, c2, groups=groups, padding=k // 2))
    return conv2d(h, G3, c3)


def source_block(x, A1, b1, A2, b2, A3, b3, paths=32):
    """The source's module, line by line: ONE set of layers, run ``paths`` times.

    ``conv1``, ``conv2``, ``conv3`` are built once, so every pass of its loop applies
    the same weights, with a ReLU after all three layers, and adds the result to
    ``out`` (section "Where the source goes wrong"). Weights of one path:
    A1 (w, C, 1, 1), b1 (w,), A2 (w, w, 3, 3), b2 (w,), A3 (C, w, 1, 1), b3 (C,).
    """
    d: dict = {}
    x = checks.array(x, "x", shape=(None, "C", None, None), dims=d)
    A1 = checks.array(A1, "A1", shape=("w", "C", 1, 1), dims=d)
    b1 = checks.array(b1, "b1", shape=("w",), dims=d)
    A2 = checks.array(A2, "A2", shape=("w", "w", 3, 3), dims=d)
    b2 = checks.array(b2, "b2", shape=("w",), dims=d)
    A3 = checks.array(A3, "A3", shape=("C", "w", 1, 1), dims=d)
    b3 = checks.array(b3, "b3", shape=("C",), dims=d)
    paths = checks.integer(paths, "paths", maximum=10**4)
    # The source's lines, in order: out = torch.zeros(x.shape); for path_ in range(32):
    # relu(self.conv1(x)); relu(self.conv2(path_out)); relu(self.conv3(path_out));
    # out += path_out.
    out = np.zeros(x.shape)
    for _ in range(paths):
        path_out = _relu(conv2d(x, A1, b1))
        path_out = _relu(conv2d(path_out, A2, b2, padding=1))
        path_out = _relu(conv2d(path_out, A3, b3))
        out += path_out
    return out


# --------------------------------------------------------------------------------------
# The interactive figure: parameters against the number of paths (section "Explore").
# --------------------------------------------------------------------------------------

FIGURE_CHANNELS = 256
FIGURE_KERNEL = 3
FIGURE_PATHS = np.arange(1, 65)
#: ResNet's bottleneck 256 -> 64 -> 64 -> 256 without biases: the budget ResNeXt keeps.
RESNET_BOTTLENECK = (parameter_count(256, 64, 1, bias=False)
                     + parameter_count(64, 64, 3, bias=False)
                     + parameter_count(64, 256, 1, bias=False))


def count_figure_data(width, bias) -> dict:
    """Parameters (thousands) of both forms for g = 1..64 paths, C = 256, k = 3."""
    width = checks.integer(width, "width", maximum=64)
    bias = checks.choice(bias, "bias", ("with biases", "without biases"))
    counts = [block_parameter_counts(int(g), width, FIGURE_CHANNELS, FIGURE_KERNEL,
                                     bias == "with biases")
              for g in FIGURE_PATHS]
    return {"paths": FIGURE_PATHS.astype(float),
            "path_form": np.array([c["paths"] for c in counts], dtype=float) / 1e3,
            "grouped_form": np.array([c["grouped"] for c in counts], dtype=float) / 1e3,
            "budget": np.full(FIGURE_PATHS.size, RESNET_BOTTLENECK / 1e3)}


def plot_count_figure(fig, data, width, bias):
    """Matplotlib view, updated in place: thousands of parameters against g."""
    if not fig.axes:
        ax = fig.subplots()
        ax.plot([], [], color="C0", marker=".", label="g separate paths")
        ax.plot([], [], color="C3", ls="--", label="1x1 → grouped 3x3 → 1x1")
        ax.plot([], [], color="0.5", ls=":", label="ResNet bottleneck 256-64-64-256")
        ax.plot([], [], "o", color="k", mfc="none", label="ResNeXt: g = 32")
        ax.set_xlabel("number of paths g (groups)")
        ax.set_ylabel("parameters (thousands)")
        ax.set_yscale("log")
        ax.legend(loc="upper left", fontsize="small")
    ax = fig.axes[0]
    paths_line, grouped_line, budget_line, marker = ax.lines
    paths_line.set_data(data["paths"], data["path_form"])
    grouped_line.set_data(data["paths"], data["grouped_form"])
    budget_line.set_data(data["paths"], data["budget"])
    marker.set_data([32], [data["grouped_form"][31]])
    ax.set_xlim(0, 65)
    low = min(np.min(data["grouped_form"]), np.min(data["budget"]))
    ax.set_ylim(low / 2, 2 * max(np.max(data["path_form"]), np.max(data["budget"])))
    ax.set_title(f"paths of width w = {width}, C = 256, k = 3, {bias}")


def chart_count_figure(source, params):
    """Vega-Lite view of the same curves (folded into one long table for the legend)."""
    import altair as alt

    names = {"path_form": "g separate paths", "grouped_form": "1x1 → grouped 3x3 → 1x1",
             "budget": "ResNet bottleneck"}
    items = list(names.items())
    label = " : ".join([f"datum.form == '{k}' ? '{v}'" for k, v in items[:-1]]
                       + [f"'{items[-1][1]}'"])
    colors = alt.Scale(domain=list(names.values()),
                       range=["#1f77b4", "#d62728", "#7f7f7f"])
    return (source.transform_fold(list(names), as_=["form", "thousands"])
            .transform_calculate(form=label)
            .mark_line()
            .encode(x=alt.X("paths:Q", title="number of paths g (groups)"),
                    y=alt.Y("thousands:Q", title="parameters (thousands)",
                            scale=alt.Scale(type="log")),
                    color=alt.Color("form:N", scale=colors),
                    strokeDash=alt.StrokeDash("form:N", legend=None))
            .properties(width=420, height=250))


def explorer():
    """The chapter's figure: path width and whether biases count."""
    from .explore import Choice, Explorer, Slider

    return Explorer(
        name="grouped-conv-parameters",
        controls=[Slider("width", 1, 64, 1, value=4, label="path width w"),
                  Choice("bias", ["with biases", "without biases"], value="with biases",
                         label="count")],
        compute=count_figure_data, plot=plot_count_figure, chart=chart_count_figure,
        width=7.0, height=3.6,
        description="Parameters (thousands, log scale) of the bottleneck block against "
        "the number of paths g, for g separate paths and for the equivalent grouped "
        "convolution, with ResNet's bottleneck as a reference line",
    )
