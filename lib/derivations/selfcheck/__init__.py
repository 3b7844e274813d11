"""Self-check answer boxes: the reader types a formula and the book says whether it is right.

Every chapter has at least one box (the first: sigma'(z) in "Activations and depth",
``book/activations.md``). It works in both places the book is read:

- in Jupyter, :func:`box` shows an ipywidgets text field; pressing Enter runs :func:`check`;
- on the static site (no kernel), the same box is plain HTML: the build embeds the
  expected values at fixed sample points (:func:`static_payload`), and ``assets/selfcheck.js``
  parses the reader's text with mathjs, evaluates it at those points and judges it.

**The reader's text is never executed.** It is read by a small recursive-descent parser
(numbers, the box's variables, ``pi``, ``e``, the functions in :data:`FUNCTIONS`,
``+ - * / ^ **``, unary signs, parentheses and commas between function arguments) that
builds an unevaluated SymPy expression for display and a tree that is evaluated in float64.
Anything else raises a ``ValueError`` that says what was not understood. The work is
bounded: at most :data:`MAX_LENGTH` characters, :data:`MAX_NODES` operations, nesting
:data:`MAX_DEPTH` deep, and a power whose exponent is a constant must have
``|exponent| <= MAX_EXPONENT`` (so ``9**9**9**9`` is refused); simplification, when asked
for, runs in a separate process that is killed after a time limit.

**The verdict rule** (the same in Python and in the browser, which read it from the payload):
the answer and the expected expression are compared at ``count`` fixed sample points
(:func:`sample_points`: each real variable uniform on [-2, 2], a positive one on
[0.1, 2], a negative one on [-2, -0.1], rounded to 3 decimals; integer variables get
integers; points where the expected value is not a finite real number are skipped). The
expected values come from SymPy at 30 digits; the answer is evaluated in float64, and
every intermediate value must be a finite real number (else the answer is "undefined" at
that point). They agree at a point when ``|a - b| / max(|a|, |b|, FLOOR) <= RTOL``
(:func:`derivations.checks.relative_error` with ``tiny=FLOOR``); the answer is correct when
they agree at every point, and otherwise the message names the first point that differs.
"""

from .grammar import CONSTANTS, FLOOR, FUNCTIONS, MAX_DEPTH, MAX_EXPONENT, MAX_LENGTH, MAX_NODES, RTOL, _evaluate, _read, _sympy  # noqa: F401
from .verdict import Verdict, _judge, _symbols, check, sample_points, static_payload  # noqa: F401
from .box import SelfCheck, _math_spans, box  # noqa: F401

__all__ = [
    "check",
    "sample_points",
    "static_payload",
    "box",
    "Verdict",
    "SelfCheck",
    "FUNCTIONS",
    "CONSTANTS",
    "RTOL",
    "FLOOR",
    "MAX_LENGTH",
    "MAX_NODES",
    "MAX_DEPTH",
    "MAX_EXPONENT",
]
