"""The PixelCNN: a stack of masked convolutions (chapter "Autoregressive grids").

Pixels are (p, q), row p from the top and column q from the left, generated in raster
order (row by row, left to right). A k x k filter (k odd, r = (k - 1)/2) reads the
input at offsets (dy, dx) with |dy|, |dx| <= r; the mask keeps the offsets of earlier
pixels, dy < 0 or (dy = 0 and dx < 0), and type B also keeps the centre (van den Oord
et al. 2016). Layer 1 has mask A, every later layer mask B. Channel convention: the
image has d channels, every layer outputs n; no colour (sub-pixel) masking. The
problem calls the number of layers d and the image W x H; the chapter calls them L and
P x Q.
"""

from __future__ import annotations

import numpy as np

from .. import checks
from .counting import ACTIVATIONS, Tally, critical_path_levels

__all__ = [
    "MAX_KERNEL", "MAX_RADIUS", "MASK_KINDS", "MODES", "mask", "pixelcnn_forward",
    "pixelcnn_forward_counted", "pixelcnn_connection_count", "masked_receptive_field",
    "pixelcnn_dependencies", "pixelcnn_depth",
]

#: Largest filter side accepted.
MAX_KERNEL = 31
#: Largest receptive-field radius L (k // 2) accepted (the field array is (2R+1)^2).
MAX_RADIUS = 200
#: Mask types: A excludes the centre tap, B includes it.
MASK_KINDS = ("A", "B")
#: What a depth is measured for: the image given (training) or generated pixel by pixel.
MODES = ("training", "generation")


def _kernel(kernel) -> int:
    kernel = checks.integer(kernel, "kernel", minimum=1, maximum=MAX_KERNEL)
    if kernel % 2 == 0:
        raise ValueError("kernel must be an odd integer (a centred k x k filter), "
                         f"got {kernel}")
    return kernel


def _layers_kernel(layers, kernel) -> tuple[int, int]:
    kernel = _kernel(kernel)
    layers = checks.integer(layers, "layers", minimum=1)
    if layers * (kernel // 2) > MAX_RADIUS:
        raise ValueError(f"layers * (kernel // 2) must be at most {MAX_RADIUS}, "
                         f"got {layers} * {kernel // 2}")
    return layers, kernel


def _offsets(kernel: int, kind: str) -> list[tuple[int, int]]:
    r = kernel // 2
    return [(dy, dx) for dy in range(-r, r + 1) for dx in range(-r, r + 1)
            if dy < 0 or (dy == 0 and (dx < 0 or (dx == 0 and kind == "B")))]


def mask(kernel, kind) -> np.ndarray:
    """The k x k mask of type "A" or "B": True at [r + dy, r + dx] for the taps kept."""
    kernel = _kernel(kernel)
    kind = checks.choice(kind, "kind", MASK_KINDS)
    out = np.zeros((kernel, kernel), dtype=bool)
    r = kernel // 2
    for dy, dx in _offsets(kernel, kind):
        out[r + dy, r + dx] = True
    return out


def _check_model(x, W_first, W_rest, activation):
    dims: dict = {}
    x = checks.array(x, "x", shape=("P", "Q", "d"), dims=dims)
    W_first = checks.array(W_first, "W_first", shape=("k", "k", "d", "n"), dims=dims)
    W_rest = checks.array(W_rest, "W_rest", shape=(None, "k", "k", "n", "n"),
                          dims=dims, allow_empty=True)
    _kernel(dims["k"])
    checks.choice(activation, "activation", tuple(ACTIVATIONS))
    return x, W_first, W_rest


def _conv(h, W, kind, activation, tally: Tally) -> np.ndarray:
    """One masked layer: zero padding, a (PQ x n_in) @ (n_in x n) product per tap."""
    P, Q, n_in = h.shape
    k, n = W.shape[0], W.shape[-1]
    r = k // 2
    pad = np.zeros((P + 2 * r, Q + 2 * r, n_in))
    pad[r:r + P, r:r + Q] = h
    z = np.zeros((P * Q, n))
    for t, (dy, dx) in enumerate(_offsets(k, kind)):
        tap = pad[r + dy:r + dy + P, r + dx:r + dx + Q].reshape(P * Q, n_in)
        product = tally.matmul(tap, W[r + dy, r + dx])
        z = product if t == 0 else tally.add(z, product)
    return tally.phi(z, activation).reshape(P, Q, n)


def _run(x, W_first, W_rest, activation, tally):
    h = _conv(x, W_first, "A", activation, tally)
    for W in W_rest:
        h = _conv(h, W, "B", activation, tally)
    return h


def pixelcnn_forward(x, W_first, W_rest, activation="tanh") -> np.ndarray:
    """Output of the PixelCNN for a whole image x (shape (P, Q, d)), shape (P, Q, n).

    W_first (k, k, d, n) is layer 1 (mask A), W_rest (L - 1, k, k, n, n) the later
    layers (mask B; shape (0, k, k, n, n) for L = 1). W[r + dy, r + dx] multiplies the
    input at offset (dy, dx); weights at masked taps are never read.
    """
    x, W_first, W_rest = _check_model(x, W_first, W_rest, activation)
    return _run(x, W_first, W_rest, activation, Tally())


def pixelcnn_forward_counted(x, W_first, W_rest, activation="tanh") -> tuple:
    """:func:`pixelcnn_forward` and the operations it performed, counted from the
    operands: (out, {"mults", "adds", "activations"})."""
    x, W_first, W_rest = _check_model(x, W_first, W_rest, activation)
    tally = Tally()
    out = _run(x, W_first, W_rest, activation, tally)
    return out, tally.as_dict()


def pixelcnn_connection_count(P, Q, layers, kernel, d=1, n=1) -> int:
    """Connections between units that exist, by enumeration: for each layer and each
    kept tap, the output pixels whose input pixel lies inside the image, times the
    channels (section "Counting the PixelCNN")."""
    P = checks.integer(P, "P", maximum=4096)
    Q = checks.integer(Q, "Q", maximum=4096)
    layers, kernel = _layers_kernel(layers, kernel)
    d = checks.integer(d, "d")
    n = checks.integer(n, "n")
    p, q = np.meshgrid(np.arange(P), np.arange(Q), indexing="ij")
    total = 0
    for layer in range(1, layers + 1):
        kind, n_in = ("A", d) if layer == 1 else ("B", n)
        for dy, dx in _offsets(kernel, kind):
            inside = (p + dy >= 0) & (p + dy < P) & (q + dx >= 0) & (q + dx < Q)
            total += int(np.count_nonzero(inside)) * n_in * n
    return total


def masked_receptive_field(layers, kernel) -> np.ndarray:
    """Boolean array (2R + 1, 2R + 1), R = layers * (kernel // 2), centred on the
    output pixel: True at [R + dy, R + dx] when the input pixel dy rows below and dx
    columns right of it can influence the output (dy < 0 is above) (section "Context").

    Computed by propagating dependencies down the stack: the set of offsets read starts
    as the centre; each layer, from the top, replaces it by its sum with the layer's
    taps (mask B for layers L .. 2, mask A for layer 1).
    """
    layers, kernel = _layers_kernel(layers, kernel)
    R = layers * (kernel // 2)
    reach = np.zeros((2 * R + 1, 2 * R + 1), dtype=bool)
    reach[R, R] = True
    for layer in range(layers, 0, -1):
        spread = np.zeros_like(reach)
        for dy, dx in _offsets(kernel, "A" if layer == 1 else "B"):
            # a unit at offset o reads the layer below at o + (dy, dx)
            w = 2 * R + 1
            src = reach[max(0, -dy):w - max(0, dy), max(0, -dx):w - max(0, dx)]
            spread[max(0, dy):w - max(0, -dy), max(0, dx):w - max(0, -dx)] |= src
        reach = spread
    return reach


def pixelcnn_dependencies(P, Q, layers, kernel, mode="training") -> tuple[dict, dict]:
    """The dependency graph of a PixelCNN and the steps each node takes.

    Nodes (l, p, q): l = 0 the pixel, l >= 1 the output of layer l there (all
    channels). Layer l reads layer l - 1 at the kept taps inside the image. In
    "training" the pixels are given; in "generation" pixel (p, q) is sampled from the
    top layer's output at (p, q). Layer nodes take 1 step, pixels 0 (sampling is part
    of the last layer's step). Returns (predecessors, cost) for
    :func:`critical_path_levels` (section "Sequential steps of the PixelCNN").
    """
    P = checks.integer(P, "P", maximum=64)
    Q = checks.integer(Q, "Q", maximum=64)
    layers, kernel = _layers_kernel(layers, kernel)
    if layers > 64:
        raise ValueError("layers must be at most 64 for a dependency graph, "
                         f"got {layers}")
    mode = checks.choice(mode, "mode", MODES)
    preds, cost = {}, {}
    taps_a, taps_b = _offsets(kernel, "A"), _offsets(kernel, "B")
    for p in range(P):
        for q in range(Q):
            preds[(0, p, q)] = [(layers, p, q)] if mode == "generation" else []
            cost[(0, p, q)] = 0
            for layer in range(1, layers + 1):
                taps = taps_a if layer == 1 else taps_b
                preds[(layer, p, q)] = [(layer - 1, p + dy, q + dx)
                                        for dy, dx in taps
                                        if 0 <= p + dy < P and 0 <= q + dx < Q]
                cost[(layer, p, q)] = 1
    return preds, cost


def pixelcnn_depth(P, Q, layers, kernel, mode="training") -> int:
    """Least number of sequential layer steps to compute every output (training) or
    to generate every pixel (generation): the longest path of
    :func:`pixelcnn_dependencies`."""
    preds, cost = pixelcnn_dependencies(P, Q, layers, kernel, mode)
    return max(critical_path_levels(preds, cost).values())
