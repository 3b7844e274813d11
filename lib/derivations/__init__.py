"""Helpers for the book: each module holds one chapter's derivations, models and figures.

- ``activations``: activation derivatives and the depth-n scalar chain (chapter "Activations and depth").
- ``rnn_jacobian``: Jacobians of x_{t+1} = tanh(W x_t) and their singular-value bound
  (chapter "Gradients through recurrent steps").
- ``lstm``: the univariate LSTM and backprop through time (chapter "Backprop through time in the
  univariate LSTM").
- ``momentum``: SGD with momentum, its reversal and the Jacobian of one step (chapter "Reversing
  SGD with momentum").
- ``explore``: interactive figures that work in Jupyter (ipywidgets) and in the static site (Vega-Lite).
"""
