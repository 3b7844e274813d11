"""Exact counts of the two grid models as closed-form SymPy expressions.

Chapter "Autoregressive grids". The chapter derives each formula with SymPy (a ``Sum``
of per-cell or per-tap costs, evaluated) and proves it equal to the closed form kept
here; the NumPy models of :mod:`.mdrnn` and :mod:`.pixelcnn` count what they actually
perform, and the chapter and the tests assert that the counts equal these forms.

Symbols (the book's notation): ``G`` grid side, ``d`` input size (channels of a pixel),
``n`` hidden size (channels of a layer), ``n_a`` arithmetic operations per evaluation
of the activation (seed 004's name), ``P x Q`` image, ``L`` layers, ``k`` filter side,
and ``radius`` r = (k - 1)/2.
"""

from __future__ import annotations

import sympy as sp

__all__ = [
    "G", "d", "n", "n_a", "P", "Q", "L", "k", "radius",
    "mdrnn_formulas", "pixelcnn_formulas", "receptive_field_formulas",
]

G, d, n, n_a, P, Q, L, k = sp.symbols("G d n n_a P Q L k", positive=True, integer=True)

#: The per-layer radius r = (k - 1)/2 of an odd k x k filter.
radius = (k - 1) / 2


def mdrnn_formulas() -> dict:
    """Weights, operations, connections and sequential steps of one MDRNN layer
    (section "Counting the MDRNN"): input size d, hidden size n, a G x G grid.

    The operation counts are those of the recurrence as written, where the states
    outside the grid are zero vectors that are still multiplied (what the loop model
    does); ``connections`` counts only links between units that exist;
    ``arithmetic`` = mults + adds + n_a activations (seed 004's total).
    """
    out = {
        "weights": n * (d + 2 * n),
        "mults": G**2 * n * (d + 2 * n),
        "adds": G**2 * n * (d + 2 * n - 1),
        "activations": G**2 * n,
        "connections": G**2 * n * d + 2 * G * (G - 1) * n**2,
        "steps": 2 * G - 1,
    }
    out["arithmetic"] = out["mults"] + out["adds"] + n_a * out["activations"]
    return {key: sp.expand(v) for key, v in out.items()}


def _taps_in_image_b() -> sp.Expr:
    """Sum over the type-B taps (dy, dx) of (P - |dy|)(Q - |dx|), the number of output
    pixels whose input pixel lies inside the image: r rows above (sum of P - a over
    a = 1..r, times the sum of Q - |b| over |b| <= r) and the centre row (P times the
    sum of Q - b over b = 0..r). Valid when r <= min(P, Q). Type A drops the centre tap
    (subtract P Q)."""
    r = radius
    return ((r * P - r * (r + 1) / 2) * ((2 * r + 1) * Q - r * (r + 1))
            + P * ((r + 1) * Q - r * (r + 1) / 2))


def pixelcnn_formulas() -> dict:
    """Connections, operations, weights and sequential depths of an L-layer PixelCNN
    with k x k masked filters on a P x Q image (section "Counting the PixelCNN").

    Channel convention: the image has d channels, every masked layer outputs n (the
    problem's "one unit per pixel per layer" is d = n = 1); layer 1 has mask A, the
    others mask B; no colour (sub-pixel) masking. Operations are those of the
    zero-padded convolution that multiplies only kept taps; ``connections`` counts only
    links between units that exist. Requires k odd, k >= 3 (for k = 1 layer 1 has no
    tap at all) and, for the connections, (k - 1)/2 <= min(P, Q); the generation depth
    requires (k - 1)/2 <= Q - 1.
    """
    taps_a, taps_b = (k**2 - 1) / 2, (k**2 + 1) / 2
    mults = P * Q * (d * n * taps_a + (L - 1) * n**2 * taps_b)
    # each output unit sums taps * n_in products: taps * n_in - 1 additions
    adds = P * Q * n * ((taps_a * d - 1) + (L - 1) * (taps_b * n - 1))
    s_b = _taps_in_image_b()
    connections = d * n * (s_b - P * Q) + (L - 1) * n**2 * s_b
    return {
        "taps_A": taps_a, "taps_B": taps_b,
        "weights": sp.expand(d * n * taps_a + (L - 1) * n**2 * taps_b),
        "connections": sp.expand(connections),
        "mults": sp.expand(mults), "adds": sp.expand(adds),
        "activations": P * Q * n * L,
        "training_depth": L,
        "raster_generation_depth": P * Q * L,
        "generation_depth": sp.expand(L * (Q + (radius + 1) * (P - 1))),
    }


def receptive_field_formulas() -> dict:
    """Size of the receptive field of L masked layers (first A, then B) of side k >= 3,
    of its "potential" (every earlier pixel in raster order within reach R = L r), and
    of the blind spot between them (section "Context").

    The field is row 0: dx in [-R, -1]; row -m (1 <= m <= R): dx in [-R, r min(m, L)].
    """
    r = radius
    R = L * r
    potential = 2 * R * (R + 1)
    blind = r * L * (L - 1) / 2
    return {"field": sp.expand(potential - blind), "potential": sp.expand(potential),
            "blind": sp.factor(blind), "blind_fraction": sp.simplify(blind / potential)}
