"""One BLAS thread for a block of code.

On a machine whose cores are shared by many processes, multithreaded OpenBLAS calls on
mid-sized matrices (SVD or eigenvalues of 128 x 128) wait for every thread to be
scheduled and run 10 to 100 times slower than one thread. The batch-normalisation stacks
of the chapter use :func:`single_thread` around their loop. It finds NumPy's bundled
OpenBLAS with ctypes (as threadpoolctl does) and does nothing when there is none.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os

import numpy as np

_NAMES = (("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
          ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
          ("openblas_get_num_threads", "openblas_set_num_threads"))


def _openblas():
    folder = os.path.dirname(np.__file__) + ".libs"
    for path in sorted(glob.glob(os.path.join(folder, "*openblas*"))):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for get, put in _NAMES:
            if hasattr(lib, get) and hasattr(lib, put):
                return getattr(lib, get), getattr(lib, put)
    return None


@contextlib.contextmanager
def single_thread():
    """Run the block with one OpenBLAS thread, then restore the previous count."""
    found = _openblas()
    if found is None:
        yield
        return
    get, put = found
    before = int(get())
    put(1)
    try:
        yield
    finally:
        put(before)
