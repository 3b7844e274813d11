"""SGD with momentum: step, inverse, Jacobian, finite precision, exact reversal.

Two chapters use this package: 'Reversing SGD with momentum' (``book/momentum.md``:
problems C3a and C3b) and 'Momentum in finite precision'
(``book/momentum_precision.md``). Its modules, in reading order:

- :mod:`.step`: the forward step and its exact inverse in float64, runs and reversal
  errors;
- :mod:`.jacobian`: the step's Jacobian for any loss (SymPy) and in NumPy; its
  determinant beta^D;
- :mod:`.area`: the first chapter's explorer (a step shrinks areas by beta);
- :mod:`.precision`: bits lost per step, the eigenvalue band of the reverse step, error
  growth;
- :mod:`.buffer`: the information buffer, one stack of fixed-width words per parameter;
- :mod:`.exact`: exact reversal on fixed-point integers, lost bits kept in the buffer;
- :mod:`.figure`: the second chapter's explorer;
- :mod:`.problems`: the losses (quadratic, log-cosh, logistic regression).

Every public name is re-exported here, so ``from derivations import momentum`` then
``momentum.step(...)`` works as before the package was split.
"""

from .area import *  # noqa: F401,F403
from .area import __all__ as _area
from .buffer import *  # noqa: F401,F403
from .buffer import __all__ as _buffer
from .exact import *  # noqa: F401,F403
from .exact import __all__ as _exact
from .figure import *  # noqa: F401,F403
from .figure import __all__ as _figure
from .jacobian import *  # noqa: F401,F403
from .jacobian import __all__ as _jacobian
from .precision import *  # noqa: F401,F403
from .precision import __all__ as _precision
from .problems import *  # noqa: F401,F403
from .problems import __all__ as _problems
from .step import *  # noqa: F401,F403
from .step import __all__ as _step

__all__ = [*_step, *_jacobian, *_area, *_precision, *_buffer, *_exact, *_figure,
           *_problems]
