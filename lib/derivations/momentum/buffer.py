"""The information buffer of exact reversal: a stack of fixed-width words per parameter.

Chapter 'Momentum in finite precision' (``book/momentum_precision.md``), section 'A
buffer that scales'. Each parameter's buffer is a 64-bit head word that spills whole
32-bit words onto its own stack (the renormalisation of range coding), so pushing and
popping digits costs a fixed number of NumPy operations on arrays of length D, however
much is stored.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from .. import checks

__all__ = ["InformationBuffer", "verify_buffer_exhaustively", "buffer_bound_proof"]


class InformationBuffer:
    """One stack of digits per parameter, in fixed-width words ('A buffer that scales').

    Parameter i's buffer is a head word ``head[i]`` kept in [B_min, 2^w B_min) plus a
    stack of w-bit words. ``push(r, m)`` stores digits r in [0, m): where the head would
    leave its range it first spills its low w bits onto the stack, then ``head <- head m
    + r``. ``pop(m)`` is the exact inverse of a push: ``r = head mod m``, ``head <- head
    // m``, and a head that fell below B_min takes back its top stack word. B_min is a
    multiple of every radix used (nu and kappa), which makes each push a bijection onto
    the states a pop accepts (the renormalisation of range coding / asymmetric numeral
    systems). All operations act on every parameter at once, in NumPy; words are uint32
    for w = 32.
    """

    def __init__(self, size: int, nu: int, kappa: int, word_bits: int = 32,
                 head_bits: int = 64):
        size = checks.integer(size, "size", minimum=1, maximum=10**8)
        self.word_bits = checks.integer(word_bits, "word_bits", minimum=1, maximum=32)
        head_bits = checks.integer(head_bits, "head_bits", minimum=2, maximum=64)
        nu = checks.integer(nu, "nu (the numerator of beta)", minimum=1)
        kappa = checks.integer(kappa, "kappa (the denominator of beta)", minimum=nu)
        if kappa > 1 << self.word_bits:
            raise ValueError(f"kappa = {kappa} must be at most 2^word_bits = "
                             f"{1 << self.word_bits}")
        lcm = nu * kappa // math.gcd(nu, kappa)
        room = head_bits - self.word_bits  # B_min <= 2^room: 2^w B_min <= 2^head_bits
        if room < 1 or lcm > 1 << room:
            raise ValueError(f"lcm(nu, kappa) = {lcm} does not fit below "
                             "2^(head_bits - word_bits)")
        #: The head's lower end B_min: lcm(nu, kappa) times the largest power of 2 that
        #: fits.
        self.floor = lcm
        while self.floor * 2 <= 1 << room:
            self.floor *= 2
        self.radices = (nu, kappa)
        self._mask = np.uint64((1 << self.word_bits) - 1)
        self._shift = np.uint64(self.word_bits)
        self._spill = {m: (self.floor // m) << self.word_bits for m in {nu, kappa}}
        self.head = np.full(size, self.floor, dtype=np.uint64)
        self.height = np.zeros(size, dtype=np.int64)
        self.words = np.zeros((8, size), dtype=np.uint32)
        self._lanes = np.arange(size)

    def _radix(self, m) -> int:
        is_int = isinstance(m, (int, np.integer)) and not isinstance(m, np.bool_ | bool)
        if not is_int or m not in self._spill:
            raise ValueError(f"the radix must be one of {sorted(self._spill)}, "
                             f"got {m!r}")
        return m

    def push(self, r, m: int) -> None:
        """Store one digit r[i] in [0, m) on each parameter's buffer."""
        m = self._radix(m)
        digits = checks.array(r, "r", shape=self.head.shape)
        if np.any(digits != np.floor(digits)) or digits.min() < 0 or digits.max() >= m:
            raise ValueError(f"r must hold integers in [0, {m}), got values in "
                             f"[{digits.min():g}, {digits.max():g}]")
        self._push(digits.astype(np.uint64), m)

    def _push(self, r: np.ndarray, m: int) -> None:
        limit = self._spill[m]
        if limit < 1 << 64 and int(self.head.max()) >= limit:
            lanes = np.flatnonzero(self.head >= np.uint64(limit))
            top = self.height[lanes]
            if int(top.max()) >= self.words.shape[0]:
                self.words = np.concatenate([self.words, np.zeros_like(self.words)])
            self.words[top, lanes] = self.head[lanes] & self._mask
            self.height[lanes] = top + 1
            self.head[lanes] >>= self._shift
        self.head *= np.uint64(m)
        self.head += r

    def pop(self, m: int) -> np.ndarray:
        """Take one digit in [0, m) from each parameter's buffer (undoes :meth:`push`).

        Returns them as a uint64 array. Raises ValueError, leaving the buffer unchanged,
        if a stack it needs is empty.
        """
        return self._pop(self._radix(m))

    def _pop(self, m: int) -> np.ndarray:
        q = self.head // np.uint64(m)
        r = self.head - q * np.uint64(m)
        if int(q.min()) < self.floor:
            lanes = np.flatnonzero(q < np.uint64(self.floor))
            top = self.height[lanes] - 1
            if int(top.min()) < 0:
                raise ValueError("the buffer is empty: nothing was stored to pop")
            word = self.words[top, lanes].astype(np.uint64)
            q[lanes] = (q[lanes] << self._shift) | word
            self.height[lanes] = top
        self.head = q
        return r

    def bits(self) -> float:
        """The information held, in bits: the sum of w height + log2(head / B_min)."""
        return float(self.word_bits * self.height.sum()
                     + np.log2(self.head.astype(np.float64) / self.floor).sum())

    def memory_bits(self) -> int:
        """The memory the stored numbers occupy: every stacked word and the heads."""
        return int(self.word_bits * self.height.sum()) + 64 * self.head.size

    def is_empty(self) -> bool:
        """Whether the buffer is in its initial state (no digit stored)."""
        return bool(np.all(self.height == 0)
                    and np.all(self.head == np.uint64(self.floor)))

    def state(self) -> tuple[bytes, bytes, bytes]:
        """(head, height, stacked words) as bytes: equal states are equal bitwise."""
        used = [self.words[:h, i].tobytes() for i, h in enumerate(self.height.tolist())]
        return self.head.tobytes(), self.height.tobytes(), b"|".join(used)


def verify_buffer_exhaustively(word_bits: int = 3,
                               head_bits: int = 9) -> checks.Verified:
    """Check push/pop of :class:`InformationBuffer` on every small state, exactly.

    For every radix pair 1 <= nu <= kappa <= 2^word_bits whose lcm fits, every head
    value in [B_min, 2^w B_min), every top stack word and every digit: ``pop(push(r))``
    returns r and the state, and ``push(pop())`` returns the state. Raises
    AssertionError on the first failure; returns the ``checks.Verified`` record. Section
    'A buffer that scales'.
    """
    w = checks.integer(word_bits, "word_bits", minimum=1, maximum=4)
    hb = checks.integer(head_bits, "head_bits", minimum=2 * w + 1, maximum=3 * w + 3)
    cases = 0
    for kappa in range(1, (1 << w) + 1):
        for nu in range(1, kappa + 1):
            if nu * kappa // math.gcd(nu, kappa) > 1 << (hb - w):
                continue
            probe = InformationBuffer(1, nu, kappa, w, hb)
            heads = np.arange(probe.floor, probe.floor << w, dtype=np.uint64)
            words = np.arange(1 << w, dtype=np.uint32)
            head, word = (a.ravel() for a in np.meshgrid(heads, words, indexing="ij"))
            for m in sorted({nu, kappa}):
                for r in range(m):
                    buf = InformationBuffer(head.size, nu, kappa, w, hb)
                    buf.head, buf.height[:], buf.words[0] = head.copy(), 1, word
                    start = buf.state()
                    buf._push(np.full(head.size, r, dtype=np.uint64), m)
                    got = buf._pop(m)
                    assert np.all(got == r) and buf.state() == start, (nu, kappa, m, r)
                    cases += head.size
                buf = InformationBuffer(head.size, nu, kappa, w, hb)
                buf.head, buf.height[:], buf.words[0] = head.copy(), 1, word
                start = buf.state()
                buf._push(buf._pop(m), m)
                assert buf.state() == start, (nu, kappa, m, "pop then push")
                cases += head.size
    return checks.Verified(f"word_bits = {w}, head_bits = {hb}: {cases} states, digits",
                           "derivations.momentum.exact.verify_buffer_exhaustively")


def buffer_bound_proof() -> dict:
    """The inequalities behind the theorem 'Size of the information buffer' (SymPy).

    A push of digit r in [0, m) onto a head of value B (B >= B_min) changes the
    information held, log2 of (head / B_min) plus w bits per stacked word, by log2 of a
    ratio; these identities bound the ratio between m / (1 + m / B_min) and m (1 + 1 /
    B_min) (a pop undoes a push, so it changes it by minus that). Each entry is a
    ``checks.Identity``:

    - ``no_spill``: (B m + r) / B - m = r / B, in [0, m / B_min);
    - ``spill_upper``: with B1 = the head after spilling (B1 >= B_min / m), the ratio is
      at most (B1 m + r) / B1, and m (1 + 1/B1) - (B1 m + r) / B1 = (m - r) / B1 >= 0;
    - ``spill_lower``: it is at least (B1 m + r) / (B1 + 1), and
      (B1 m + r) / (B1 + 1) - m / (1 + 1/B1) = r / (B1 + 1) >= 0.
    """
    h, h1, m, r = sp.symbols("B B_1 m r", positive=True)  # head before, after a spill
    return {
        "no_spill": checks.prove_identity((h * m + r) / h - m, r / h),
        "spill_upper": checks.prove_identity(m * (1 + 1 / h1) - (h1 * m + r) / h1,
                                             (m - r) / h1),
        "spill_lower": checks.prove_identity((h1 * m + r) / (h1 + 1) - m / (1 + 1 / h1),
                                             r / (h1 + 1)),
    }
