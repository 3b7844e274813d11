"""What every chapter's code repeats: input validation, numeric comparisons, and claims.

Three parts, used by every other module of the package:

- **Validators** (:func:`real`, :func:`integer`, :func:`choice`, :func:`array`,
  :func:`function`): each returns the cleaned value or raises one ``ValueError`` whose
  message names the argument, says what is allowed and shows what was given.
- **Numeric comparisons**: :func:`relative_error`, :func:`central_difference` (float64, step
  near the cube root of machine epsilon), :func:`mp_central_difference` (mpmath, for when
  float64 cannot resolve the quantity) and :func:`check_close` / :func:`check_bound`, which
  assert, and return a record that prints the measured error beside its tolerance.
- **Claims**: :func:`prove_identity` proves ``lhs == rhs`` symbolically (or, when SymPy's
  simplification cannot decide, verifies it exactly at random rational points and says so);
  :func:`claim` gathers the checks of one stated result into its status (``proved``,
  ``verified exactly for ...``, ``checked numerically (...)``, ``argued``), records it in
  :data:`LEDGER` and displays as the badge the book prints beside the result. The book's
  build collects the badges into the Claims page (``tools/claims_ledger.py``).
"""

from .validate import EPS, _show, array, choice, function, integer, real  # noqa: F401
from .numeric import Argued, BoundCheck, Numeric, Proved, Verified, _where, central_difference, check_bound, check_close, mp_central_difference, relative_error  # noqa: F401
from .claims import Claim, Identity, LEDGER, claim, prove_identity  # noqa: F401

__all__ = [
    "real",
    "integer",
    "choice",
    "array",
    "function",
    "relative_error",
    "central_difference",
    "mp_central_difference",
    "check_close",
    "check_bound",
    "prove_identity",
    "Proved",
    "Verified",
    "Numeric",
    "Argued",
    "BoundCheck",
    "claim",
    "Claim",
    "LEDGER",
    "EPS",
    "Identity",
]
