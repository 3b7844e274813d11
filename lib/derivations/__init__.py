"""Helpers for the book: each module holds one chapter's derivations, models and figures.

- ``activations``: activation derivatives and the depth-n scalar chain (chapter "Activations and depth").
- ``explore``: interactive figures that work in Jupyter (ipywidgets) and in the static site (Vega-Lite).
- ``lstm``: the univariate LSTM and backprop through time (chapter "Backprop through time in the LSTM").
- ``momentum``: SGD with momentum, its reversal and the Jacobian of one step (chapter "Reversing momentum").
"""
