"""Residual connections and what they do to the gradient.

Chapter "Residual connections" (``book/residual.md``), problems A1.2.2, A1.2.3, A1.3 and B3.
The public API the chapter and its tests use:

- :mod:`.network`: the stacks ``"plain"``, ``"residual"`` and ``"post-activation"`` with
  ``forward``, ``block_jacobians``, ``input_jacobian``, ``parameter_jacobians``, random
  stacks and log-space gradient norms through depth;
- :mod:`.weyl`: both sides of Weyl's inequalities, and matrices that make them equalities;
- :mod:`.batchnorm`: batch normalisation in training mode, its Jacobian, and blocks with it;
- :mod:`.symbolic`: the SymPy derivations (general width, general batch size, 2 x 2 Weyl);
- :mod:`.figure`: the interactive figure.
"""

from . import batchnorm, figure, network, symbolic, weyl
from .network import (ACTIVATIONS, ARCHS, block_jacobians, forward, input_jacobian,
                      input_norm_samples, log10_input_norms, log10_layer_norms,
                      parameter_jacobians, path_expansion, random_stack,
                      reference_jacobians)

__all__ = [
    "ARCHS", "ACTIVATIONS", "forward", "block_jacobians", "input_jacobian",
    "parameter_jacobians", "random_stack", "log10_layer_norms", "log10_input_norms",
    "path_expansion", "input_norm_samples", "reference_jacobians",
    "batchnorm", "figure", "network", "symbolic", "weyl",
]
