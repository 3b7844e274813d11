"""Interactive figures that work both in Jupyter and in the static website.

An :class:`Explorer` is one figure with a few controls (sliders and choices). It has a
single source for its numbers, a plain ``compute(**params)`` function, and two views:

- in Jupyter, ipywidgets controls redraw a matplotlib figure from ``compute`` at once
  (``jupyter``: the widget; ``render``: the figure kept between moves, as PNG;
  ``redraw``: repainting only what a move changed);
- in the static site, where no kernel runs, a Vega-Lite chart with bound controls
  redraws in the browser from a table that the Explorer precomputes by calling
  ``compute`` at every combination of control values (``vega``: SymPy expressions for
  its charts).

Displaying an Explorer returns one MIME bundle holding both views: Jupyter front ends
pick the widget view, and the book's build is configured
(``nb_mime_priority_overrides``) to pick the HTML of the chart. See the intro page,
section "How the figures work".
"""

from .controls import Choice, Slider
from .explorer import MAX_TABLE_VALUES, Explorer
from .vega import vega_expr

__all__ = ["Slider", "Choice", "Explorer", "vega_expr", "MAX_TABLE_VALUES"]
