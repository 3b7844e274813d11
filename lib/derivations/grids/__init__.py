"""Autoregressive grids: the multidimensional RNN and the PixelCNN.

Chapter ``book/grids.md``. Modules:

- :mod:`.formulas`: the exact counts (weights, operations, connections, sequential
  steps, receptive field) as SymPy expressions;
- :mod:`.counting`: :class:`Tally`, which performs and counts every arithmetic
  operation, and :func:`critical_path_levels`, the as-soon-as-possible schedule of a
  dependency graph;
- :mod:`.mdrnn`: the MDRNN h(i, j) = phi(W_in x(i, j) + W_W h(i-1, j) + W_N h(i, j-1)),
  its wavefront schedule, counts and context;
- :mod:`.pixelcnn`: masked convolutions, the PixelCNN, its counts, depths and
  receptive field;
- :mod:`.figure`: the chapter's pictures and its interactive figure.
"""

from .counting import ACTIVATIONS, Tally, critical_path_levels
from .figure import (CONTEXT_LABELS, WAVE_LABELS, chart_figure, context_box,
                     context_map, explorer, figure_data, plot_context_box, plot_figure)
from .formulas import mdrnn_formulas, pixelcnn_formulas, receptive_field_formulas
from .mdrnn import (mdrnn_connection_count, mdrnn_context, mdrnn_dependencies,
                    mdrnn_exact_forward, mdrnn_forward, mdrnn_forward_counted,
                    mdrnn_weight_count, wavefront)
from .pixelcnn import (mask, masked_receptive_field, pixelcnn_connection_count,
                       pixelcnn_dependencies, pixelcnn_depth, pixelcnn_forward,
                       pixelcnn_forward_counted)

__all__ = [
    "ACTIVATIONS", "Tally", "critical_path_levels", "mdrnn_formulas",
    "pixelcnn_formulas", "receptive_field_formulas", "wavefront", "mdrnn_forward",
    "mdrnn_forward_counted", "mdrnn_exact_forward", "mdrnn_weight_count",
    "mdrnn_connection_count", "mdrnn_dependencies", "mdrnn_context", "mask",
    "pixelcnn_forward", "pixelcnn_forward_counted", "pixelcnn_connection_count",
    "masked_receptive_field", "pixelcnn_dependencies", "pixelcnn_depth",
    "CONTEXT_LABELS", "WAVE_LABELS", "context_map", "context_box", "figure_data",
    "plot_figure", "chart_figure", "plot_context_box", "explorer",
]
