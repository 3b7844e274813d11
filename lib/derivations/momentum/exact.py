"""Exact reversal: SGD with momentum on fixed-point integers, with its lost bits kept.

Chapter 'Momentum in finite precision' (``book/momentum_precision.md``), section 'Exact
reversal'; the method of Maclaurin, Duvenaud & Adams (2015). Write beta = nu / kappa.
Multiplying an integer p by nu / kappa loses the remainder p mod kappa; pushed onto an
information buffer and replaced by a digit popped from it, nothing is lost
(:func:`exact_multiply`, :func:`exact_divide`: the buffer as one unbounded integer).

:class:`~.buffer.InformationBuffer` keeps one such buffer per parameter in NumPy
form: a 64-bit head word per parameter that spills whole 32-bit words onto a
per-parameter stack, so a step costs O(D) vectorised work however long the run.
:class:`ExactMomentum` runs the step on it and reverses it bit for bit.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .. import checks
from . import _args
from .buffer import InformationBuffer

__all__ = ["exact_multiply", "exact_divide", "ExactMomentum"]


def _fraction(nu, kappa, buffer) -> tuple[int, int, int]:
    return (checks.integer(nu, "nu (the numerator of beta)", minimum=1),
            checks.integer(kappa, "kappa (the denominator of beta)", minimum=1),
            checks.integer(buffer, "buffer", minimum=0))


def exact_multiply(x: int, buffer: int, nu: int, kappa: int) -> tuple[int, int]:
    """Multiply the integer x by nu/kappa, losing nothing: returns (x', buffer').

    ``buffer <- buffer kappa + (x mod kappa)`` keeps the remainder that dividing by
    kappa drops; ``x' = (x // kappa) nu + (buffer mod nu)`` and ``buffer' = buffer //
    nu`` refill x's low digit from the buffer. Each line is a bijection of the integers,
    undone by :func:`exact_divide`. Section 'Exact reversal'.
    """
    x = checks.integer(x, "x", minimum=None)
    nu, kappa, buffer = _fraction(nu, kappa, buffer)
    buffer = buffer * kappa + x % kappa
    x = (x // kappa) * nu + buffer % nu
    return x, buffer // nu


def exact_divide(x: int, buffer: int, nu: int, kappa: int) -> tuple[int, int]:
    """The inverse of :func:`exact_multiply`: x times kappa/nu, restoring the buffer."""
    x = checks.integer(x, "x", minimum=None)
    nu, kappa, buffer = _fraction(nu, kappa, buffer)
    buffer = buffer * nu + x % nu
    x = (x // nu) * kappa + buffer % kappa
    return x, buffer // kappa


#: Bound on |theta|, |p| and the gradient term in grid units: int64 never wraps.
_LIMIT = 2**61


class ExactMomentum:
    """SGD with momentum on fixed-point integers, reversible bit for bit.

    theta and p are int64 arrays in units of 2^-F (``frac_bits`` = F); beta is the
    fraction nu/kappa (the closest with kappa <= ``max_denominator``, or a ``Fraction``
    as given). A forward step multiplies p by nu/kappa exactly: the remainder ``p mod
    kappa`` is pushed onto an :class:`InformationBuffer` and the freed low digit is
    refilled by a digit popped in base nu. The gradient term alpha grad L(theta) is
    computed in float64 from the decoded theta and rounded to the grid; the reverse step
    recovers theta first and recomputes the same integers, so its rounding is undone
    too. Each step costs O(D) NumPy work, and the buffer grows by -log2(beta) bits per
    parameter per step: exactly the information the step destroys.
    """

    def __init__(self, theta, p, grad, alpha, beta, frac_bits: int = 40,
                 max_denominator: int = 1000):
        theta, p = _args.state(theta, p)
        self.grad = checks.function(grad, "grad")
        self.alpha = _args.alpha(alpha)
        self.frac_bits = checks.integer(frac_bits, "frac_bits", minimum=1, maximum=60)
        max_denominator = checks.integer(max_denominator, "max_denominator", minimum=1,
                                         maximum=2**16)
        if isinstance(beta, Fraction):
            frac = beta
            _args.beta(float(frac), reversible=True)
        else:
            frac = Fraction(_args.beta(beta, reversible=True))
            frac = frac.limit_denominator(max_denominator)
        if not 0 < frac <= 1:
            raise ValueError(f"beta must be in (0, 1] for exact reversal, got {beta!r} "
                             f"(as a fraction {frac})")
        #: beta as the exact fraction nu/kappa that the integer arithmetic uses.
        self.beta = frac
        self.nu, self.kappa = frac.numerator, frac.denominator
        self._down = 2.0 ** -self.frac_bits
        self._alpha_up = self.alpha * 2.0 ** self.frac_bits
        #: theta and p as integers in units of 2^-frac_bits.
        self.theta = self._encode(theta, "theta")
        self.p = self._encode(p, "p")
        _args.grad_at(self.grad, self._decode(self.theta))
        self._gradient_term(self.theta)  # refuse now a term that cannot be encoded
        #: The information buffer: one stack per parameter.
        self.buffer = InformationBuffer(theta.size, self.nu, self.kappa)
        #: Net number of forward steps taken (forward minus reverse).
        self.steps = 0
        self._reset_bounds()

    def _encode(self, x: np.ndarray, name: str) -> np.ndarray:
        scaled = np.ldexp(x, self.frac_bits)
        if np.abs(scaled).max() >= _LIMIT:
            raise ValueError(f"{name} is too large for {self.frac_bits} fraction bits: "
                             f"|{name}| must stay below 2^{61 - self.frac_bits}")
        return np.rint(scaled).astype(np.int64)

    def _decode(self, x: np.ndarray) -> np.ndarray:
        return x * self._down

    @property
    def D(self) -> int:
        """The number of parameters."""
        return self.theta.size

    def state(self) -> tuple:
        """The integer state (theta, p, buffer) as bytes: equal states, equal bits."""
        return (self.theta.tobytes(), self.p.tobytes()) + self.buffer.state()

    def theta_float(self) -> np.ndarray:
        """theta decoded to float64."""
        return self._decode(self.theta)

    def p_float(self) -> np.ndarray:
        """p decoded to float64."""
        return self._decode(self.p)

    def buffer_bits(self) -> float:
        """The information in the buffer, in bits (:meth:`InformationBuffer.bits`)."""
        return self.buffer.bits()

    def memory_bits(self) -> int:
        """The buffer's memory in bits: its stacked words and its head words."""
        return self.buffer.memory_bits()

    def buffer_rate(self) -> float:
        """Buffer bits per parameter per net forward step (needs a net step or more)."""
        if self.steps <= 0:
            raise ValueError("buffer_rate needs a positive number of net forward steps")
        return self.buffer_bits() / (self.D * self.steps)

    def _gradient_term(self, theta: np.ndarray) -> tuple[np.ndarray, int]:
        """alpha grad L(theta) on the grid (int64), and its largest magnitude."""
        g = np.asarray(self.grad(theta * self._down), dtype=np.float64)
        scaled = g * self._alpha_up
        try:
            with np.errstate(invalid="raise"):
                a = np.rint(scaled).astype(np.int64)  # NaN, inf, |a| >= 2^63 raise
        except FloatingPointError:
            a = None
        size = -1 if a is None else max(int(a.max()), -int(a.min()))
        if not 0 <= size < _LIMIT:
            raise ValueError("alpha * grad L(theta) is not finite or too large for the "
                             "fixed-point grid (|alpha grad| must stay below "
                             f"2^{61 - self.frac_bits})")
        return a, size

    def _scale_p(self, p: np.ndarray) -> np.ndarray:
        """p * nu / kappa exactly, keeping the remainder in the buffer."""
        if self.kappa == 1:
            return p
        q = p // self.kappa
        self.buffer._push((p - q * self.kappa).view(np.uint64), self.kappa)
        if self.nu == 1:
            return q
        return q * self.nu + self.buffer._pop(self.nu).view(np.int64)

    def _unscale_p(self, p: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`_scale_p`."""
        if self.kappa == 1:
            return p
        if self.nu == 1:
            q = p
        else:
            q = p // self.nu
            self.buffer._push((p - q * self.nu).view(np.uint64), self.nu)
        return q * self.kappa + self.buffer._pop(self.kappa).view(np.int64)

    def _forward(self) -> None:
        # Invariant: |theta|, |p| < 2^61 and |a| < 2^61, so nothing below wraps around
        # in int64. Checking it costs two reductions per step: scalar upper bounds on
        # |theta| and |p| are carried along, and the arrays are measured only when the
        # bound nears the limit. Reverse steps retrace states that passed this check and
        # need none.
        a, size = self._gradient_term(self.theta)
        p = self._scale_p(self.p)
        p -= a
        theta = self.theta + p
        p_bound = self._p_bound + size + self.nu
        theta_bound = self._theta_bound + p_bound
        if theta_bound >= _LIMIT:
            p_bound, theta_bound = int(np.abs(p).max()), int(np.abs(theta).max())
            if theta_bound >= _LIMIT or p_bound >= _LIMIT:
                self._unscale_p(p + a)  # put the buffer back as it was
                raise ValueError("the state left the fixed-point range (|theta|, |p| < "
                                 f"2^{61 - self.frac_bits}); use fewer frac_bits or "
                                 "a smaller alpha")
        self.theta, self.p = theta, p
        self._theta_bound, self._p_bound = theta_bound, p_bound
        self.steps += 1

    def _backward(self) -> None:
        theta = self.theta - self.p
        self.p = self._unscale_p(self.p + self._gradient_term(theta)[0])
        self.theta = theta
        self.steps -= 1
        if self.steps == 0:
            self._reset_bounds()

    def _reset_bounds(self) -> None:
        self._theta_bound = int(np.abs(self.theta).max())
        self._p_bound = int(np.abs(self.p).max())

    def step(self) -> None:
        """One exact step: ``p <- beta p - alpha grad L(theta)``, ``theta += p``."""
        self._forward()

    def reverse(self) -> None:
        """One reverse step, the exact inverse of :meth:`step` (undone backwards).

        Refuses to go back past the initial state: nothing was stored about what came
        before.
        """
        if self.steps <= 0:
            raise ValueError("cannot reverse past the initial state (no step to undo)")
        self._backward()

    def run(self, steps: int) -> None:
        """``steps`` forward steps."""
        for _ in range(_args.steps(steps)):
            self._forward()

    def unrun(self, steps: int) -> None:
        """``steps`` reverse steps (at most the net number of forward steps taken)."""
        steps = _args.steps(steps)
        if steps > self.steps:
            raise ValueError(f"cannot reverse {steps} steps: only {self.steps} net "
                             "forward steps were taken")
        for _ in range(steps):
            self._backward()
