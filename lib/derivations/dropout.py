"""Dropout and activations: when the order of the two does not matter.

Chapter "Dropout and activations" (``book/dropout.md``). Dropout with drop probability
q (PyTorch's ``p``) maps a vector v to ``m * v / (1 - q)``, with a mask m of independent
Bernoulli(1 - q) entries (the 1/(1 - q) "rescaling" keeps the mean). It commutes with
an entrywise activation phi, for every mask, exactly when ``phi(c z) = c phi(z)`` for
every z, with ``c = 1/(1 - q)`` (section "The exact criterion"); for every rate q at
once, exactly when phi is positively homogeneous. Without the rescaling, c = 1 and the
criterion is only ``phi(0) = 0`` (section "Without the rescaling").

:func:`commutation` decides the criterion with SymPy: a proof on each half-line when it
holds, an exact counterexample (a mask value, an input and a rate) when it does not.
The numeric half (:func:`phi`, :func:`both_orders`) applies both orders to the same
masks in float64, independently of the symbolic code.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

from . import checks
from .activations import phi as _shared_phi

__all__ = [
    "ACTIVATIONS", "LEAKY_SLOPE", "z", "t", "c", "alpha", "expression", "commutation",
    "commutation_of", "commutes_with_dropout", "Commutation", "phi", "dropout",
    "both_orders", "expected_outputs", "figure_data", "plot_dropout_figure",
    "chart_dropout_figure", "explorer",
]

#: The activations the chapter decides, by name (the first four commute with dropout).
ACTIVATIONS = ("relu", "leaky_relu", "identity", "abs", "sigmoid", "tanh", "gelu",
               "softplus", "elu", "silu")

#: The negative slope of leaky ReLU in the numeric code (PyTorch's default); the
#: symbolic code keeps it as the positive symbol ``alpha``.
LEAKY_SLOPE = 0.01

#: The pre-activation symbol of :func:`expression`.
z = sp.Symbol("z", real=True)
#: |z| on a half-line: every z != 0 is t or -t with t > 0.
t = sp.Symbol("t", positive=True)
#: The dropout scale 1/(1 - q) (c > 1 for 0 < q < 1; the proofs take any c > 0).
c = sp.Symbol("c", positive=True)
#: Leaky ReLU's negative slope, symbolic.
alpha = sp.Symbol("alpha", positive=True)

_SCALINGS = ("1/(1-q)", "none")


def _check_name(name) -> str:
    return checks.choice(name, "name", ACTIVATIONS)


def _check_q(q, *, allow_none: bool = True):
    if q is None and allow_none:
        return None
    return checks.real(q, "q", minimum=0.0, maximum=1.0, open_min=True, open_max=True)


def _check_rescale(rescale) -> bool:
    if not isinstance(rescale, (bool, np.bool_)):
        raise ValueError(f"rescale must be True or False, got {rescale!r}")
    return bool(rescale)


# -------------------------------------------------------------------------------------
# Symbolic: the activations, and the decision (section "Which activations commute").
# -------------------------------------------------------------------------------------

def expression(name: str, var: sp.Symbol = z) -> sp.Expr:
    """The activation as a SymPy expression in ``var`` (leaky ReLU: slope alpha).

    GELU is the exact one, z Phi(z) with Phi the standard normal distribution function;
    ELU has scale 1; SiLU is z sigma(z).
    """
    name = _check_name(name)
    if not isinstance(var, sp.Symbol):
        raise ValueError(f"var must be a SymPy Symbol, got {var!r}")
    forms = {
        "relu": lambda v: sp.Max(v, 0),
        "leaky_relu": lambda v: sp.Piecewise((v, v >= 0), (alpha * v, True)),
        "identity": lambda v: v,
        "abs": lambda v: sp.Abs(v),
        "sigmoid": lambda v: 1 / (1 + sp.exp(-v)),
        "tanh": lambda v: sp.tanh(v),
        "gelu": lambda v: v / 2 * (1 + sp.erf(v / sp.sqrt(2))),
        "softplus": lambda v: sp.log(1 + sp.exp(v)),
        "elu": lambda v: sp.Piecewise((v, v >= 0), (sp.exp(v) - 1, True)),
        "silu": lambda v: v / (1 + sp.exp(-v)),
    }
    return forms[name](var)


@dataclass(frozen=True)
class Commutation:
    """The decision for one activation: does dropout commute with it for every mask?

    ``value_at_zero`` is phi(0) (the condition from a dropped unit, m = 0);
    ``residuals[s]`` is phi(c s t) - c phi(s t) simplified, for s = +1 and -1 (the
    condition from a kept unit, m = 1, on each half-line); ``witness`` is an exact
    counterexample when the answer is no: the mask value m, the input z, the rate q, and
    the two orders' values.
    """

    name: str
    expression: sp.Expr
    q: sp.Expr | None
    rescale: bool
    value_at_zero: sp.Expr
    residuals: dict
    commutes: bool
    witness: dict | None
    proof: checks.Proved

    def summary(self) -> str:
        """One line: the verdict and why (used by the chapter's table)."""
        if self.commutes:
            return (f"{self.name}: commutes (phi(0) = 0, phi(c z) = c phi(z) on both "
                    "half-lines)")
        w = self.witness
        return (f"{self.name}: does not commute; m = {w['m']}, z = {w['z']}, "
                f"q = {w['q']}: phi(D z) = {w['dropout_then_phi']} but "
                f"D phi(z) = {w['phi_then_dropout']}")


def _scale(q, rescale: bool):
    """The factor on a kept unit: 1/(1-q), the symbol c when q is None, or 1."""
    if not rescale:
        return sp.Integer(1)
    if q is None:
        return c
    return 1 / (1 - _rational(q))


def _rational(q: float) -> sp.Rational:
    """The rate as the decimal it was written as (0.1 -> 1/10, not the binary float)."""
    return sp.Rational(repr(float(q)))


def commutation_of(phi_expr, q=None, rescale: bool = True, var: sp.Symbol = z,
                   name: str = "phi") -> Commutation:
    """Decide whether dropout commutes with ``phi_expr``, a SymPy expression in ``var``.

    With ``q=None`` the question is "for every rate 0 < q < 1": the scale is the symbol
    c (any c > 0), and a counterexample is looked for at a few rates. With a float q it
    is that rate only. With ``rescale=False`` a kept unit is not scaled (c = 1), so only
    phi(0) = 0 matters. Raises ``ArithmeticError`` if SymPy can neither prove the
    identity nor find a point where it fails (never a silent guess).
    """
    if not isinstance(var, sp.Symbol):
        raise ValueError(f"var must be a SymPy Symbol, got {var!r}")
    if not isinstance(phi_expr, sp.Expr) or phi_expr.free_symbols - {var, alpha}:
        raise ValueError(f"phi_expr must be a SymPy expression in {var} only, "
                         f"got {phi_expr!r}")
    q = _check_q(q)
    rescale = _check_rescale(rescale)
    scale = _scale(q, rescale)
    at_zero = sp.simplify(phi_expr.subs(var, 0))
    residuals = {
        s: sp.simplify(phi_expr.subs(var, scale * s * t)
                       - scale * phi_expr.subs(var, s * t))
        for s in (1, -1)
    }
    where = "derivations.dropout.commutation_of"
    q_out = None if q is None else _rational(q)
    if at_zero.is_zero and all(r == 0 for r in residuals.values()):
        how = ("phi(0) = 0, and phi(c z) - c phi(z) simplifies to 0 at z = t and "
               "z = -t, t > 0" if rescale
               else "phi(0) = 0 (with c = 1 a kept unit is unchanged)")
        return Commutation(name, phi_expr, q_out, rescale, at_zero, residuals, True,
                           None, checks.Proved(how, where))
    witness = _witness(phi_expr, var, q, rescale, at_zero, residuals)
    how = (f"exact counterexample m = {witness['m']}, z = {witness['z']}, "
           f"q = {witness['q']}")
    return Commutation(name, phi_expr, q_out, rescale, at_zero, residuals, False,
                       witness, checks.Proved(how, where))


#: The rates tried for a counterexample when the question is "every rate".
_WITNESS_RATES = tuple(sp.Rational(v) for v in ("1/2", "1/4", "1/3", "2/3", "1/10"))
#: Where a kept-unit counterexample is looked for: |z| from 1/100 to 1000, small first.
_WITNESS_POINTS = tuple(sp.Rational(v) for v in (
    "1", "2", "1/2", "3", "1/3", "10", "1/10", "100", "1/100", "1000"))


def _witness(phi_expr, var, q, rescale, at_zero, residuals) -> dict:
    """A mask value, input and rate at which the orders differ, the gap shown nonzero.

    With ``q=None`` the rates 1/2, 1/4, 1/3, 2/3, 1/10 are tried in turn (a function can
    commute at some rates and not at others). SymPy's ``is_zero`` is False only when it
    can show the number is not 0 (for these closed-form numbers, by evaluating it to
    enough precision that its sign is certain).
    """
    rates = _WITNESS_RATES if q is None else (_rational(q),)
    if at_zero.is_zero is False:
        # A dropped unit (m = 0): dropout first gives phi(0), activation first gives 0.
        return {"m": 0, "z": sp.Integer(1), "q": rates[0], "dropout_then_phi": at_zero,
                "phi_then_dropout": sp.Integer(0), "gap": at_zero}
    if at_zero.is_zero is None:
        raise ArithmeticError(f"SymPy cannot decide whether phi(0) = {at_zero} is 0")
    for q_w in rates:
        scale = 1 / (1 - q_w) if rescale else sp.Integer(1)
        for s in (1, -1):
            for t0 in _WITNESS_POINTS:
                gap = sp.simplify(residuals[s].subs({c: scale, t: t0}))
                if gap.is_zero is False:
                    z0 = s * t0
                    return {"m": 1, "z": z0, "q": q_w,
                            "dropout_then_phi": phi_expr.subs(var, scale * z0),
                            "phi_then_dropout": scale * phi_expr.subs(var, z0),
                            "gap": gap}
    raise ArithmeticError("SymPy could neither prove phi(c z) = c phi(z) nor find a "
                          "point where it fails")


@functools.lru_cache(maxsize=None)
def _commutation_cached(name: str, q, rescale: bool) -> Commutation:
    return commutation_of(expression(name), q=q, rescale=rescale, name=name)


def commutation(name: str, q=None, rescale: bool = True) -> Commutation:
    """The decision, with its proof or counterexample, for a named activation.

    Section "Which activations commute". ``q=None`` asks about every rate 0 < q < 1.
    """
    name = _check_name(name)
    q = _check_q(q)
    rescale = _check_rescale(rescale)
    return _commutation_cached(name, q, rescale)


def commutes_with_dropout(name: str, q=None, rescale: bool = True) -> bool:
    """True when dropout and the activation ``name`` commute for every mask (and every
    rate 0 < q < 1 when ``q`` is None), as decided by the SymPy proof of
    :func:`commutation`."""
    return commutation(name, q, rescale).commutes


# -------------------------------------------------------------------------------------
# Numeric: the activations and dropout in float64 (section "Both orders, same masks").
# -------------------------------------------------------------------------------------

_ERFC = np.vectorize(math.erfc, otypes=[float])


def phi(name: str, x) -> np.ndarray:
    """The activation in float64, written independently of :func:`expression`.

    GELU as (x/2) erfc(-x/sqrt 2), accurate for very negative x where 1 + erf cancels;
    softplus as logaddexp(0, x); the sigmoid is the shared overflow-free one.
    """
    name = _check_name(name)
    x = checks.array(x, "x")
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "leaky_relu":
        return np.where(x >= 0, x, LEAKY_SLOPE * x)
    if name == "identity":
        return x.copy()
    if name == "abs":
        return np.abs(x)
    if name == "sigmoid":
        return _shared_phi("sigmoid", x)
    if name == "tanh":
        return np.tanh(x)
    if name == "gelu":
        return 0.5 * x * _ERFC(-x / math.sqrt(2.0))
    if name == "softplus":
        return np.logaddexp(0.0, x)
    if name == "elu":
        return np.where(x >= 0, x, np.expm1(np.minimum(x, 0.0)))
    return x * _shared_phi("sigmoid", x)  # silu


def _check_mask(mask, shape) -> np.ndarray:
    m = checks.array(mask, "mask")
    if m.shape != shape:
        raise ValueError(f"mask has shape {m.shape}, but it must have the shape of z, "
                         f"{shape}")
    if not np.all((m == 0) | (m == 1)):
        raise ValueError("mask entries must be 0 (dropped) or 1 (kept)")
    return m


def dropout(v, mask, q: float, rescale: bool = True) -> np.ndarray:
    """Dropout with a given mask: m * v / (1 - q), or m * v without the rescaling."""
    v = checks.array(v, "v")
    m = _check_mask(mask, v.shape)
    q = _check_q(q, allow_none=False)
    rescale = _check_rescale(rescale)
    return m * v / (1.0 - q) if rescale else m * v


def both_orders(name: str, z, mask, q: float, rescale: bool = True) -> dict:
    """Both orders on the same mask: ``phi_then_dropout`` = D(phi(z)) and
    ``dropout_then_phi`` = phi(D(z))."""
    z = checks.array(z, "z")
    m = _check_mask(mask, z.shape)
    return {"phi_then_dropout": dropout(phi(name, z), m, q, rescale),
            "dropout_then_phi": phi(name, dropout(z, m, q, rescale))}


def expected_outputs(name: str, z, q: float, rescale: bool = True) -> dict:
    """The mean over the mask of each order, exactly (a unit is kept with prob. 1 - q).

    E D(phi(z)) = (1 - q) c phi(z) and E phi(D z) = q phi(0) + (1 - q) phi(c z), with
    c = 1/(1 - q) (rescaled) or 1.
    """
    z = checks.array(z, "z")
    q = _check_q(q, allow_none=False)
    rescale = _check_rescale(rescale)
    scale = 1.0 / (1.0 - q) if rescale else 1.0
    at_zero = float(phi(name, np.zeros(1))[0])
    return {"phi_then_dropout": (1.0 - q) * scale * phi(name, z),
            "dropout_then_phi": q * at_zero + (1.0 - q) * phi(name, scale * z)}


# -------------------------------------------------------------------------------------
# The interactive figure (section "Explore: rate, activation and rescaling").
# -------------------------------------------------------------------------------------

FIGURE_Z = np.linspace(-4.0, 4.0, 33)


def figure_data(activation: str, q: float, scaling: str) -> dict:
    """A kept unit's value (m = 1) and the mean over masks, both orders, on a z grid."""
    activation = _check_name(activation)
    q = _check_q(q, allow_none=False)
    scaling = checks.choice(scaling, "scaling", _SCALINGS)
    rescale = scaling == _SCALINGS[0]
    ones = np.ones_like(FIGURE_Z)
    kept = both_orders(activation, FIGURE_Z, ones, q, rescale)
    mean = expected_outputs(activation, FIGURE_Z, q, rescale)
    return {"z": FIGURE_Z, "kept_phi_then_dropout": kept["phi_then_dropout"],
            "kept_dropout_then_phi": kept["dropout_then_phi"],
            "mean_phi_then_dropout": mean["phi_then_dropout"],
            "mean_dropout_then_phi": mean["dropout_then_phi"]}


_PANELS = (("kept", "a kept unit (m = 1)"), ("mean", "mean over masks"))
_ORDERS = (("phi_then_dropout", "activation, then dropout", "C0", "-"),
           ("dropout_then_phi", "dropout, then activation", "C3", "--"))


def plot_dropout_figure(fig, data, activation, q, scaling):
    """Matplotlib view: both orders for a kept unit (left) and on average (right).

    Draws the axes and lines on the first call and only updates them afterwards.
    """
    if not fig.axes:
        axes = fig.subplots(1, 2, sharex=True)
        for ax, (_key, title) in zip(axes, _PANELS):
            for _col, label, color, style in _ORDERS:
                ax.plot([], [], color=color, ls=style, lw=2, label=label)
            ax.set_xlabel("pre-activation z")
            ax.set_title(title)
        axes[0].set_ylabel("output")
        axes[0].legend(loc="upper left", fontsize="small")
    for ax, (key, title) in zip(fig.axes, _PANELS):
        values = [data[f"{key}_{col}"] for col, *_ in _ORDERS]
        for line, v in zip(ax.lines, values):
            line.set_data(data["z"], v)
        low, high = min(v.min() for v in values), max(v.max() for v in values)
        pad = 0.05 * max(high - low, 1e-9)
        ax.set_xlim(data["z"][0], data["z"][-1])
        ax.set_ylim(low - pad, high + pad)
        ax.set_title(f"{title}: {activation}, q = {q:g}, scale {scaling}",
                     fontsize="small")


def chart_dropout_figure(source, params):
    """Vega-Lite view of the same two panels (four lines from the precomputed table)."""
    import altair as alt

    panels = []
    for key, title in _PANELS:
        cols = {f"{key}_{col}": label for col, label, *_ in _ORDERS}
        names = " : ".join(f"datum.order == '{k}' ? '{v}'" for k, v in cols.items())
        base = (source.transform_fold(list(cols), as_=["order", "value"])
                .transform_calculate(order=names + " : ''"))
        line = base.mark_line().encode(
            x=alt.X("z:Q", title="pre-activation z"),
            y=alt.Y("value:Q", title="output"),
            color=alt.Color("order:N", scale=alt.Scale(range=["#1f77b4", "#d62728"]),
                            legend=alt.Legend(orient="bottom", title=None)),
            strokeDash=alt.StrokeDash("order:N", legend=None))
        panels.append(line.properties(width=260, height=200, title=title))
    return alt.hconcat(*panels)


def explorer():
    """The chapter's interactive figure: activation, rate q and rescaling."""
    from .explore import Choice, Explorer, Slider

    return Explorer(
        name="dropout-orders",
        controls=[Choice("activation", list(ACTIVATIONS), value="tanh",
                         label="activation"),
                  Slider("q", 0.1, 0.9, 0.1, value=0.5, label="drop probability q"),
                  Choice("scaling", list(_SCALINGS), value=_SCALINGS[0],
                         label="kept units scaled by")],
        compute=figure_data, plot=plot_dropout_figure, chart=chart_dropout_figure,
        width=8.5, height=3.4,
    )
