"""derivations.checks: validators, numeric comparisons, identity proofs and claim statuses.

Each check is tested both ways: it accepts what is right and refuses (or fails on) what is
wrong, so that a chapter relying on it cannot pass by accident.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from derivations import checks

from .hostile import Call

# `name` is the label a validator puts in its message: any text is fine there.
_ANY_NAME = {"name": {"unknown", "number", "none", "empty"}}
PUBLIC_CALLS = [
    Call(checks.real, {"value": 1.5, "name": "w"}, exempt=_ANY_NAME),
    Call(checks.integer, {"value": 3, "name": "depth"}, exempt=_ANY_NAME),
    Call(checks.choice, {"value": "tanh", "name": "activation", "options": ("tanh", "relu")}, exempt=_ANY_NAME),
    Call(checks.array, {"value": np.ones((2, 2)), "name": "W"}, exempt={"value": {"extra-axis"}, **_ANY_NAME}),
    Call(checks.relative_error, {"a": np.ones(3), "b": np.ones(3)}, exempt={"a": {"nan", "inf", "empty"},
                                                                       "b": {"nan", "inf", "empty"}}),
    # Any shape of x is allowed (the Jacobian has shape f(x).shape + x.shape).
    Call(checks.central_difference, {"f": np.sin, "x": np.array([0.3, 0.5])}, exempt={"x": {"extra-axis"}}),
    Call(checks.mp_central_difference, {"f": lambda v: v[0] ** 2, "x": np.array([0.3]), "digits": 20}),
]
HOSTILE_EXEMPT = {
    "derivations.checks.function": "the validator of callables: takes any object and says whether it is callable",
    "derivations.checks.check_close": "an assertion: bad values fail it with AssertionError (tested below)",
    "derivations.checks.check_bound": "an assertion: bad values fail it with AssertionError (tested below)",
    "derivations.checks.prove_identity": "takes SymPy expressions; refutations raise AssertionError (tested below)",
    "derivations.checks.claim": "takes check records; bad ones raise ValueError (tested below)",
}


# --- validators ------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [[1.0], np.array([1.0]), True, np.bool_(False), math.nan, math.inf, "1", None])
def test_real_refuses_what_is_not_one_finite_number(bad):
    with pytest.raises(ValueError, match="w must be a finite real number"):
        checks.real(bad, "w")


def test_real_bounds_and_types():
    assert checks.real(np.float32(2.5), "w") == 2.5 and checks.real(3, "w") == 3.0
    assert checks.real(np.array(2.0), "w") == 2.0
    with pytest.raises(ValueError, match="must be > 0"):
        checks.real(0.0, "beta", minimum=0.0, open_min=True)
    with pytest.raises(ValueError, match="must be <= 1"):
        checks.real(1.5, "beta", maximum=1.0)
    assert checks.real(1.0, "beta", maximum=1.0) == 1.0


def test_integer_refuses_floats_and_bools():
    for bad in (1.0, True, "2", [2], None):
        with pytest.raises(ValueError, match="must be an integer"):
            checks.integer(bad, "depth")
    with pytest.raises(ValueError, match=">= 1"):
        checks.integer(0, "depth")
    assert checks.integer(np.int64(4), "depth") == 4 and checks.integer(0, "steps", minimum=0) == 0


def test_choice():
    assert checks.choice("relu", "activation", ("relu", "tanh")) == "relu"
    for bad in ("ReLU", "", None, 3):
        with pytest.raises(ValueError, match="must be one of 'relu', 'tanh'"):
            checks.choice(bad, "activation", ("relu", "tanh"))


def test_array_shapes_and_named_dimensions():
    dims = {}
    W = checks.array([[1, 2], [3, 4]], "W", shape=("n", "n"), dims=dims)
    assert W.dtype == np.float64 and dims == {"n": 2}
    with pytest.raises(ValueError, match="axis 0 must have length 2"):
        checks.array([1, 2, 3], "x", shape=("n",), dims=dims)
    with pytest.raises(ValueError, match="axis 1 must have length 2"):
        checks.array(np.ones((2, 3)), "A", shape=("n", "n"))
    for bad in ([[1, 2], [3]], [True, False], ["a"], None, [], [np.nan], [[1.0]]):
        with pytest.raises(ValueError):
            checks.array(bad, "x", ndim=1)
    with pytest.raises(ValueError, match="magnitude at most"):
        checks.array([1.0, 1e9], "x", max_abs=1e6)
    assert checks.array([], "x", ndim=1, allow_empty=True).shape == (0,)


# --- numeric comparisons ---------------------------------------------------------------

def test_relative_error_definition():
    err = checks.relative_error([1.0, -1.0, 0.0, 2.0], [1.0, 1.0, 0.0, 2.0 + 4e-16])
    assert err[0] == 0 and err[1] == 2 and err[2] == 0 and 1e-16 < err[3] < 3e-16
    with pytest.raises(ValueError, match="same shape"):
        checks.relative_error([1.0], [1.0, 2.0])


@given(st.floats(-3, 3), st.floats(-3, 3))
def test_central_difference_matches_known_gradients(a, b):
    """Truncation + rounding of the cube-root step: about 1e-10 relative on smooth functions."""
    f = lambda v: np.array([np.sin(v[0]) * v[1], np.exp(v[1])])  # noqa: E731
    J = checks.central_difference(f, [a, b])
    exact = np.array([[np.cos(a) * b, np.sin(a)], [0.0, np.exp(b)]])
    assert np.allclose(J, exact, rtol=1e-7, atol=1e-7)


def test_central_difference_fails_on_a_wrong_derivative():
    J = checks.central_difference(lambda v: v ** 3, [2.0])
    with pytest.raises(AssertionError):
        checks.check_close(J.ravel(), [3 * 2.0 ** 2 + 1e-4], tol=1e-8)  # a slightly wrong "derivative"


def test_mp_central_difference_resolves_what_float64_cannot():
    # d/dx of x**2 * 1e-40 at 0.3: float64 differences of such tiny values lose every digit
    # when added to 1; mpmath keeps them.
    f = lambda v: [1 + v[0] ** 2 * mpmath.mpf("1e-40")]  # noqa: E731
    J = checks.mp_central_difference(f, [0.3], digits=30, extra_digits=40)
    checks.check_close(J.ravel(), [0.6e-40], tol=1e-12)
    J64 = checks.central_difference(lambda v: 1 + v ** 2 * 1e-40, [0.3])
    assert J64.ravel()[0] == 0.0  # float64 sees nothing


def test_check_close_reports_and_fails():
    record = checks.check_close([1.0, 2.0], [1.0, 2.0 * (1 + 3e-15)], tol=1e-12)
    assert 1e-15 < record.error < 1e-14 and "tol 1e-12" in str(record)
    assert record.status().startswith("checked numerically (rel. err")
    with pytest.raises(AssertionError, match="exceeds the tolerance"):
        checks.check_close([1.0], [1.001], tol=1e-6)
    with pytest.raises(AssertionError, match="non-finite"):
        checks.check_close([np.nan], [1.0], tol=1.0)


def test_check_bound_both_ways():
    ok = checks.check_bound([0.5, 0.99], [1.0, 1.0], attained=0.9)
    assert ok.worst_ratio == 0.99
    with pytest.raises(AssertionError, match="bound violated"):
        checks.check_bound([1.1], [1.0])
    with pytest.raises(AssertionError, match="not attained"):
        checks.check_bound([0.5], [1.0], attained=0.9)  # a bound far too loose is caught


# --- identities ------------------------------------------------------------------------

z = sp.Symbol("z", real=True)
sigma = 1 / (1 + sp.exp(-z))


def test_prove_identity_proves_refutes_and_says_when_it_cannot():
    proof = checks.prove_identity(sp.diff(sigma, z), sigma * (1 - sigma))
    assert isinstance(proof.check, checks.Proved) and proof.check.status() == "proved"
    assert isinstance(proof.equation, sp.Eq)
    assert proof._repr_latex_().startswith(r"$\displaystyle")  # how a chapter shows it
    with pytest.raises(AssertionError, match="not an identity"):
        checks.prove_identity(sp.diff(sigma, z), sigma * (1 + sigma))
    F = sp.Function("F")
    with pytest.raises(AssertionError, match="cannot decide"):
        checks.prove_identity(2 * F(z), F(z))


def test_prove_identity_falls_back_to_exact_points_and_labels_it():
    # simplify cannot see this one (a never-simplify stand-in), the exact points can.
    lazy = lambda e: e  # noqa: E731
    result = checks.prove_identity(sp.sin(z) ** 2 + sp.cos(z) ** 2, 1, simplify=lazy, points=6)
    assert isinstance(result.check, checks.Verified)
    assert result.check.status().startswith("verified exactly for") and "random rational points" in result.check.status()
    with pytest.raises(AssertionError, match="not an identity"):
        checks.prove_identity(sp.sin(z) ** 2 + sp.cos(z) ** 2, 1 + z ** 2 / 10**6, simplify=lazy)


# --- claims ----------------------------------------------------------------------------

def test_claim_status_is_the_weakest_check():
    proof = checks.prove_identity(z + z, 2 * z)
    numeric = checks.check_close(1.0, 1.0, 1e-12)
    assert checks.claim("thm-a", "a", proof).status == "proved"
    both = checks.claim("thm-b", "b", proof, numeric)
    assert both.kind == "numeric" and both.status.startswith("checked numerically")
    assert checks.claim("thm-c", "c", proof, checks.Verified("T <= 3")).status == "verified exactly for T <= 3"
    assert checks.claim("thm-d", "d").status == "argued"
    html = both._repr_html_()
    assert 'data-claim="thm-b"' in html and 'class="claim-status claim-numeric"' in html
    assert checks.LEDGER["thm-b"] is both


def test_claim_refuses_bad_records():
    for bad in ("proved", 1.0, None):
        with pytest.raises(ValueError, match="a check must be"):
            checks.claim("thm-x", "x", bad)
    with pytest.raises(ValueError, match="label"):
        checks.claim("", "x")
