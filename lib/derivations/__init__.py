"""Helpers for the book: each module holds one chapter's derivations, models and figures.

Chapters:

- ``activations``: activation derivatives and the depth-L scalar chain ("Activations and depth").
- ``rnn_jacobian``: Jacobians of h_{t+1} = tanh(W h_t) and their singular-value bound
  ("Gradients through recurrent steps").
- ``residual``: residual stacks, Weyl's inequalities, block Jacobians and parameter gradients
  ("Residual connections").
- ``lstm``: the univariate LSTM and backprop through time ("Backprop through time in the
  univariate LSTM").
- ``grids``: PixelCNN and the multidimensional RNN: counts, schedules, receptive fields
  ("Autoregressive grids").
- ``dropout``, ``initialisation``, ``grouped_conv``, ``ridge``: the "Building blocks" chapters.
- ``momentum``: SGD with momentum, its reversal, the Jacobian of one step, finite precision and
  exact reversal (the two optimisation chapters).

Shared:

- ``checks``: input validation, numeric comparisons, identity proofs and the claims ledger.
- ``explore``: interactive figures that work in Jupyter (ipywidgets) and in the static site (Vega-Lite).
- ``selfcheck``: answer boxes that judge a reader's formula without running it.
- ``prose``: computed numbers shown in a chapter's text, on the website and in JupyterLab.
"""
