"""Every public function refuses bad input with a clear ValueError (see tests/hostile.py).

The calls come from each test module's ``PUBLIC_CALLS``; a module that forgets to list a
public function is caught by ``test_every_public_function_is_listed``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import warnings
from pathlib import Path

import numpy as np
import pytest

import derivations

from .hostile import HUGE, Call, kinds

HERE = Path(__file__).resolve().parent


def _calls() -> list[Call]:
    found = []
    for path in sorted(HERE.glob("test_*.py")):
        module = importlib.import_module(f"tests.{path.stem}")
        found += getattr(module, "PUBLIC_CALLS", [])
    return found


CALLS = _calls()
CASES = [(call, arg, kind) for call in CALLS for arg, value in call.kwargs.items()
         for kind in kinds(value) if kind not in call.exempt.get(arg, set())]


@pytest.mark.parametrize("call", CALLS, ids=lambda c: c.name)
def test_valid_call_succeeds(call):
    call.func(**call.kwargs)


@pytest.mark.parametrize("call,arg,kind", CASES, ids=lambda v: v.name if isinstance(v, Call) else str(v))
def test_hostile_value_is_refused(call, arg, kind):
    bad = kinds(call.kwargs[arg])[kind](call.kwargs[arg])
    with pytest.raises(ValueError):
        call.func(**{**call.kwargs, arg: bad})


HUGE_CASES = [(call, arg) for call in CALLS for arg, value in call.kwargs.items()
              if isinstance(value, (int, float, np.floating)) and not isinstance(value, bool)
              and "huge" not in call.exempt.get(arg, set())]


@pytest.mark.parametrize("call,arg", HUGE_CASES, ids=lambda v: v.name if isinstance(v, Call) else str(v))
def test_huge_value_is_refused_or_answered_finitely(call, arg):
    """1e308 is finite: a function may take it, but then must answer in finite numbers, silently."""
    huge = HUGE if isinstance(call.kwargs[arg], float) else 10**308
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            out = call.func(**{**call.kwargs, arg: huge})
        except (ValueError, OverflowError) as err:
            assert isinstance(err, ValueError), f"{call.name}({arg}=huge) raised {err!r}, not a ValueError"
            return
    for leaf in _leaves(out):
        assert np.all(np.isfinite(leaf)), f"{call.name}({arg}={huge!r}) returned non-finite numbers"


def _leaves(out):
    if isinstance(out, dict):
        for v in out.values():
            yield from _leaves(v)
    elif isinstance(out, (list, tuple)):
        for v in out:
            yield from _leaves(v)
    elif isinstance(out, (int, float, np.ndarray, np.floating, np.integer)) and not isinstance(out, bool):
        arr = np.asarray(out)
        if arr.dtype.kind in "fiuc":
            yield arr


def _public_functions():
    names = []
    for info in pkgutil.walk_packages(derivations.__path__, "derivations."):
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.isfunction(obj) and obj.__module__ == module.__name__:
                names.append(f"{obj.__module__}.{obj.__qualname__}")
    return sorted(set(names))


def test_every_public_function_is_listed():
    """Each public function is in some PUBLIC_CALLS, or in EXEMPT with a reason."""
    listed = {c.name for c in CALLS}
    exempt = set()
    for path in sorted(HERE.glob("test_*.py")):
        exempt |= set(getattr(importlib.import_module(f"tests.{path.stem}"), "HOSTILE_EXEMPT", {}))
    missing = [n for n in _public_functions() if n not in listed and n not in exempt]
    assert not missing, f"public functions with no hostile-input case (add to PUBLIC_CALLS or HOSTILE_EXEMPT): {missing}"
