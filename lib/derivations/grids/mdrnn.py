"""The multidimensional RNN on a G x G grid (chapter "Autoregressive grids").

h(i, j) = phi(W_in x(i, j) + W_W h(i-1, j) + W_N h(i, j-1)), no biases, states outside
the grid zero (Graves et al. 2007). Indices are 0-based, i counts west to east and j
north to south, so h(i-1, j) is the west neighbour and h(i, j-1) the north one; arrays
are indexed [i, j]. The problem (seed 004) calls the input size D and the hidden size
H; the chapter calls them d and n.
"""

from __future__ import annotations

import numpy as np

from .. import checks
from .counting import ACTIVATIONS, Tally

__all__ = [
    "MAX_GRID", "SCHEDULES", "wavefront", "mdrnn_forward", "mdrnn_forward_counted",
    "mdrnn_exact_forward", "mdrnn_weight_count", "mdrnn_connection_count",
    "mdrnn_dependencies", "mdrnn_context",
]

#: The largest grid side the functions accept (G^2 cells are listed one by one).
MAX_GRID = 512

#: The two orders in which :func:`mdrnn_forward` computes the cells.
SCHEDULES = ("loop", "wavefront")


def _grid(G) -> int:
    return checks.integer(G, "G", minimum=1, maximum=MAX_GRID)


def wavefront(G) -> list[list[tuple[int, int]]]:
    """The anti-diagonal schedule: step s (0-based) holds the cells (i, j) with
    i + j = s, in increasing i; 2G - 1 steps (section "Sequential steps of the MDRNN").

    The cells of one step read only cells of earlier steps, so each step can be
    computed in parallel.
    """
    G = _grid(G)
    return [[(i, s - i) for i in range(max(0, s - G + 1), min(s, G - 1) + 1)]
            for s in range(2 * G - 1)]


def _check_model(x, W_in, W_W, W_N, schedule, activation, activations=ACTIVATIONS):
    dims: dict = {}
    x = checks.array(x, "x", shape=("G", "G", "D"), dims=dims)
    if dims["G"] > MAX_GRID:
        raise ValueError(f"x must have at most {MAX_GRID} x {MAX_GRID} cells, "
                         f"got {x.shape[:2]}")
    W_in = checks.array(W_in, "W_in", shape=("H", "D"), dims=dims)
    W_W = checks.array(W_W, "W_W", shape=("H", "H"), dims=dims)
    W_N = checks.array(W_N, "W_N", shape=("H", "H"), dims=dims)
    checks.choice(schedule, "schedule", SCHEDULES)
    checks.choice(activation, "activation", tuple(activations))
    return x, W_in, W_W, W_N


def _run(x, W_in, W_W, W_N, schedule, activation, tally: Tally) -> np.ndarray:
    """The MDRNN, every operation through ``tally``; any dtype (floats, Python ints)."""
    G, H = x.shape[0], W_in.shape[0]
    # hp[i + 1, j + 1] = h(i, j); row 0 and column 0 hold the zero states outside
    hp = np.zeros((G + 1, G + 1, H), dtype=np.result_type(x, W_in))
    if schedule == "loop":
        for i in range(G):
            for j in range(G):
                z = tally.add(tally.add(tally.matmul(W_in, x[i, j]),
                                        tally.matmul(W_W, hp[i, j + 1])),
                              tally.matmul(W_N, hp[i + 1, j]))
                hp[i + 1, j + 1] = tally.phi(z, activation)
    else:
        for cells in wavefront(G):
            I, J = np.array(cells).T
            z = tally.add(tally.add(tally.matmul(x[I, J], W_in.T),
                                    tally.matmul(hp[I, J + 1], W_W.T)),
                          tally.matmul(hp[I + 1, J], W_N.T))
            hp[I + 1, J + 1] = tally.phi(z, activation)
    return hp[1:, 1:]


def mdrnn_forward(x, W_in, W_W, W_N, schedule="loop", activation="tanh") -> np.ndarray:
    """Hidden states of the MDRNN, shape (G, G, H), index [i, j] = h(i, j).

    x has shape (G, G, D); W_in is (H, D), W_W and W_N are (H, H). ``schedule`` "loop"
    is the plain double loop (i outer, j inner); "wavefront" computes each anti-diagonal
    of :func:`wavefront` at once (one matrix product per weight matrix and step).
    """
    x, W_in, W_W, W_N = _check_model(x, W_in, W_W, W_N, schedule, activation)
    return _run(x, W_in, W_W, W_N, schedule, activation, Tally())


def mdrnn_forward_counted(x, W_in, W_W, W_N, schedule="loop", activation="tanh"):
    """:func:`mdrnn_forward` and the operations it performed, counted from the operands:
    (h, {"mults", "adds", "activations"}) (section "Counting the MDRNN")."""
    x, W_in, W_W, W_N = _check_model(x, W_in, W_W, W_N, schedule, activation)
    tally = Tally()
    h = _run(x, W_in, W_W, W_N, schedule, activation, tally)
    return h, tally.as_dict()


def mdrnn_exact_forward(x, W_in, W_W, W_N, schedule="loop", activation="relu"):
    """The MDRNN on integer arrays in exact integer arithmetic (Python ints, no
    rounding), to compare the two schedules exactly. Activation "relu" or "identity"
    (they map integers to integers). Returns an object array of ints."""
    arrays = []
    for name, value in (("x", x), ("W_in", W_in), ("W_W", W_W), ("W_N", W_N)):
        arr = np.asarray(value)
        if arr.dtype.kind not in "iu":
            raise ValueError(f"{name} must be an array of integers, "
                             f"got dtype {arr.dtype}")
        arrays.append(arr)
    _check_model(*arrays, schedule, activation, activations=("relu", "identity"))
    x, W_in, W_W, W_N = (arr.astype(object) for arr in arrays)
    return _run(x, W_in, W_W, W_N, schedule, activation, Tally())


def mdrnn_weight_count(D, H) -> int:
    """Number of weights of the MDRNN (no biases): W_in has H D, W_W and W_N have H^2
    each, (D + 2H) H in all; it does not depend on the grid (weights are shared)."""
    D = checks.integer(D, "D")
    H = checks.integer(H, "H")
    return H * D + 2 * H * H


def mdrnn_dependencies(G) -> dict:
    """The dependency graph of the cells: (i, j) -> the in-grid cells it reads among
    (i-1, j) and (i, j-1) (section "Sequential steps of the MDRNN")."""
    G = _grid(G)
    return {(i, j): [c for c in ((i - 1, j), (i, j - 1)) if min(c) >= 0]
            for i in range(G) for j in range(G)}


def mdrnn_connection_count(G, D, H) -> int:
    """Connections of one MDRNN layer between units that exist, by walking the
    dependency graph: D H input links per cell and H^2 per neighbour inside the grid."""
    D = checks.integer(D, "D")
    H = checks.integer(H, "H")
    return sum(H * D + H * H * len(preds) for preds in mdrnn_dependencies(G).values())


def mdrnn_context(G, i, j) -> np.ndarray:
    """Boolean (G, G) array, True at [i', j'] when x(i', j') can influence h(i, j): the
    ancestors of cell (i, j) in the dependency graph, found by propagation."""
    G = _grid(G)
    i = checks.integer(i, "i", minimum=0, maximum=G - 1)
    j = checks.integer(j, "j", minimum=0, maximum=G - 1)
    graph = mdrnn_dependencies(G)
    seen = np.zeros((G, G), dtype=bool)
    stack = [(i, j)]
    while stack:
        cell = stack.pop()
        if not seen[cell]:
            seen[cell] = True
            stack.extend(graph[cell])
    return seen
