"""Operation counting and critical paths for the grid models.

Chapter "Autoregressive grids". :class:`Tally` performs each arithmetic operation of a
model and counts it from the shapes of the operands it was actually given, so the
counts the chapter compares with the formulas are measured, not predicted.
:func:`critical_path_levels` schedules a dependency graph as early as possible: its
number of levels is the length of the longest path, the least number of sequential
steps any schedule can take.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from .. import checks

__all__ = ["ACTIVATIONS", "Tally", "critical_path_levels"]

#: The activations the grid models accept (identity and relu keep integers exact).
ACTIVATIONS = {
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0),
    "identity": lambda z: z,
}


@dataclass
class Tally:
    """Counts of multiplications, additions and activation evaluations performed."""

    mults: int = 0
    adds: int = 0
    activations: int = 0

    def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """a @ b for a of shape (m, K) and b of shape (K,) or (K, N): m K N products and
        m (K - 1) N additions (each output entry is a dot product of length K)."""
        m, inner = a.shape
        cols = 1 if b.ndim == 1 else b.shape[1]
        self.mults += m * inner * cols
        self.adds += m * (inner - 1) * cols
        return a @ b

    def add(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """a + b (same shape): one addition per entry."""
        self.adds += int(np.size(a))
        return a + b

    def phi(self, z: np.ndarray, activation: str) -> np.ndarray:
        """The activation, entrywise: one evaluation per entry."""
        self.activations += int(np.size(z))
        return ACTIVATIONS[activation](z)

    def as_dict(self) -> dict:
        return {"mults": self.mults, "adds": self.adds, "activations": self.activations}


def critical_path_levels(predecessors: Mapping, cost: Mapping | None = None) -> dict:
    """The earliest step of every node of a dependency graph when each step computes
    every node whose inputs are ready (section "Sequential steps of the MDRNN").

    ``predecessors`` maps each node to the nodes it reads; ``cost`` (default 1 per node)
    is the number of steps a node takes (0: done in the step of its last input).
    level(v) = cost(v) + max(level(u) for u in predecessors[v]), 0 for an empty max;
    the largest level is the length of the longest path. Nodes are taken in Kahn's
    topological order, so the result does not depend on the order of the mapping. A
    cycle or an unknown predecessor raises ValueError.
    """
    if not isinstance(predecessors, Mapping) or not predecessors:
        raise ValueError("predecessors must be a non-empty mapping node -> "
                         f"predecessors, got {type(predecessors).__name__}")
    if cost is not None and not isinstance(cost, Mapping):
        raise ValueError(f"cost must be a mapping or None, got {type(cost).__name__}")
    users: dict = {v: [] for v in predecessors}
    waiting = {}
    for v, preds in predecessors.items():
        preds = list(preds)
        for u in preds:
            if u not in users:
                raise ValueError(f"node {v!r} reads {u!r}, which is not in the graph")
            users[u].append(v)
        waiting[v] = len(preds)
    steps = {v: 1 for v in predecessors}
    if cost is not None:
        for v, c in cost.items():
            if v not in steps:
                raise ValueError(f"cost names {v!r}, which is not in the graph")
            steps[v] = checks.integer(c, f"cost of {v!r}", minimum=0)
    level = {}
    ready = deque(v for v, w in waiting.items() if w == 0)
    while ready:
        v = ready.popleft()
        level[v] = steps[v] + max((level[u] for u in predecessors[v]), default=0)
        for w in users[v]:
            waiting[w] -= 1
            if waiting[w] == 0:
                ready.append(w)
    if len(level) != len(predecessors):
        raise ValueError("the dependency graph has a cycle: no schedule exists")
    return level
