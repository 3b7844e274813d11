"""The univariate LSTM, backprop through time, and when its gradient cannot explode.

Chapter "Backprop through time in the univariate LSTM" (``book/lstm.md``, problems
C1a-C1c).
The package is split at its seams; every public name is re-exported here, so
``derivations.lstm.forward`` and friends work as before:

- :mod:`.model`: the numeric model (forward pass, BPTT, squared loss, finite-difference
  gradient checks) and the vanilla RNN of the comparison;
- :mod:`.bptt_proof`: the proof of the BPTT recursions at a generic step t, for every T;
- :mod:`.symbolic`: SymPy's Sigmoid/Tanh, the network unrolled over small T and the
  exact
  comparison of its total derivatives with the recursions;
- :mod:`.jacobian`: the one-step Jacobian of the state, its bound (problem C1c), the
  zero
  state and the output-gate counterexample;
- :mod:`.figure`: the interactive figure of the error signals.
"""

from ..checks import relative_error
from .figure import (FIGURE_EVERY, FIGURE_PARAMS, FIGURE_RNN, FIGURE_SEED, FIGURE_T,
                     chart_error_signals, error_signals, explorer, figure_inputs,
                     plot_error_signals)
from .bptt_proof import (KINDS, generic_step, prove_generic_step, readable,
                         step_identities)
from .jacobian import (jacobian_bound, kappa, output_gate_counterexample,
                       state_jacobian, state_jacobian_symbolic, zero_state_rate)
from .model import (GATES, LIMIT, PARAMS, VARIABLES, WEIGHTS, backprop, bptt,
                    fd_gradient, fd_gradient_mp, forward, gradient_check, loss_and_grad,
                    random_params, rnn_bptt, rnn_forward, sigmoid, squared_loss)
from .symbolic import (Sigmoid, Tanh, atoms_to_symbols, graph_error_signals, is_zero,
                       prove_zero_difference, recursion_error_signals, recursion_w_ix,
                       symbolic_model, verify_unrolled)

__all__ = [
    # model
    "GATES", "WEIGHTS", "PARAMS", "VARIABLES", "LIMIT", "sigmoid", "random_params",
    "forward", "backprop", "bptt", "squared_loss", "loss_and_grad", "fd_gradient",
    "fd_gradient_mp", "gradient_check", "rnn_forward", "rnn_bptt", "relative_error",
    # generic step
    "KINDS", "generic_step", "step_identities", "prove_generic_step", "readable",
    # unrolled network
    "Sigmoid", "Tanh", "atoms_to_symbols", "is_zero", "prove_zero_difference",
    "symbolic_model", "graph_error_signals", "recursion_error_signals",
    "recursion_w_ix", "verify_unrolled",
    # Jacobian and bound
    "state_jacobian_symbolic", "state_jacobian", "kappa", "jacobian_bound",
    "zero_state_rate", "output_gate_counterexample",
    # figure
    "FIGURE_T", "FIGURE_EVERY", "FIGURE_PARAMS", "FIGURE_RNN", "FIGURE_SEED",
    "figure_inputs", "error_signals", "plot_error_signals", "chart_error_signals",
    "explorer",
]
