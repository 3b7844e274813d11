"""Activation derivatives and the depth-L scalar chain (chapter "Activations, depth").

The chain: h_0 = x, h_ell = phi(w h_{ell-1} + b) for ell = 1..L (w = 1, b = 0 in the
chapter). Its derivative prod_ell w phi'(w h_{ell-1} + b) is computed in float64 and,
to reach depth 10**6, as a sum of logarithms. SymPy gives phi, phi', gamma = sup phi'
and the chapter's proofs; the reference for numeric checks,
:func:`mp_reference_derivative`, is an mpmath finite difference that never calls the
code it checks.
"""

from __future__ import annotations

import functools
import math

import mpmath
import numpy as np
import sympy as sp
from sympy.simplify.simplify import product_simplify

from . import checks

__all__ = [
    "ACTIVATIONS", "MAX_DEPTH", "z", "expression", "derivative", "critical_points",
    "max_derivative", "chain_bound", "prove_chain_product", "prove_slope_bound", "phi",
    "phi_prime", "log10_phi_prime", "chain_output", "chain_derivative",
    "log10_chain_derivative", "mp_reference_derivative", "finite_difference_derivative",
    "chain_figure_data", "plot_chain_figure", "chart_chain_figure", "explorer",
]

#: The activations the chapter studies, by name.
ACTIVATIONS = ("sigmoid", "tanh", "relu")
#: The deepest chain the numeric functions accept.
MAX_DEPTH = 10**7
#: The pre-activation symbol of the symbolic functions.
z = sp.Symbol("z", real=True)

_LOG10 = math.log(10.0)


def _name(name) -> str:
    return checks.choice(name, "activation", ACTIVATIONS)


def _depth(depth, maximum=MAX_DEPTH) -> int:
    return checks.integer(depth, "depth L (number of layers)", minimum=1,
                          maximum=maximum)


def _values(x) -> np.ndarray:
    """Real numbers of any shape for the elementwise phi, phi', log10 phi'. NaN, inf and
    empty arrays pass, as in NumPy's ufuncs: the LSTM module applies phi' to arrays
    holding NaN at t = 0."""
    return checks.array(x, "x", allow_empty=True, finite=False)


# --- Symbolic: the activations, their derivatives, gamma = sup phi', and the proofs.

def expression(name: str, var: sp.Symbol = z) -> sp.Expr:
    """The activation in ``var``. ReLU is a Piecewise whose ``z <= 0`` branch is 0, so
    relu'(0) = 0, the convention of PyTorch and most libraries."""
    _name(name)
    if not isinstance(var, sp.Symbol):
        raise ValueError(f"var must be a SymPy Symbol, got {var!r:.60}")
    if name == "sigmoid":
        return 1 / (1 + sp.exp(-var))
    if name == "tanh":
        return sp.tanh(var)
    return sp.Piecewise((0, var <= 0), (var, True))


def derivative(name: str, var: sp.Symbol = z) -> sp.Expr:
    """d phi / d var, as SymPy computes it (section "The three derivatives")."""
    return sp.diff(expression(name, var), var)


def critical_points(name: str) -> list[sp.Expr]:
    """Real solutions of phi'' = 0, the candidates for the maximum of phi' (none for
    ReLU, whose derivative is piecewise constant)."""
    if _name(name) == "relu":
        return []
    second = sp.diff(derivative(name), z)
    return sorted(sp.solveset(sp.simplify(second), z, domain=sp.S.Reals), key=float)


@functools.lru_cache(maxsize=None)
def _max_derivative(name: str) -> sp.Expr:
    d = derivative(name)
    if name == "relu":
        return sp.Max(*[piece for piece, _cond in d.args])
    third = sp.diff(d, z, 2)
    maxima = [c for c in critical_points(name) if sp.simplify(third.subs(z, c)) < 0]
    best = max((sp.simplify(d.subs(z, c)) for c in maxima), key=float)
    if any(sp.limit(d, z, end) > best for end in (sp.oo, -sp.oo)):
        raise ArithmeticError(f"{name}' grows without bound")  # not for ACTIVATIONS
    return best


def max_derivative(name: str) -> sp.Expr:
    """gamma = max of phi' over the real line, exact: critical points of phi' through
    the second-derivative test, against the limits at +-oo (ReLU: the largest piece).
    Section "Where the derivative is largest"; :func:`prove_slope_bound` proves it."""
    return _max_derivative(_name(name))


def chain_bound(name: str, depth: int) -> sp.Expr:
    """gamma**L, the bound on |f'(x)| for the unit-weight chain of depth L."""
    return max_derivative(name) ** _depth(depth)


def prove_chain_product() -> dict[str, checks.Identity]:
    """f_L'(x) = prod_{ell=1}^{L} phi'(h_{ell-1}) for every L, by induction (section
    "The derivative of the chain is a product").

    phi is a generic differentiable function and the layers an undefined h(ell, x).
    ``"base"``: L = 1. ``"step"``: the chain rule on h(L+1, x) = phi(h(L, x)), with the
    hypothesis for L substituted, equals the product up to L + 1 (the last factor split
    off by ``product_simplify``). Raises unless both are proved symbolically.
    """
    x = sp.Symbol("x", real=True)
    L, ell = sp.symbols("L ell", integer=True, positive=True)
    phi, h = sp.Function("varphi"), sp.Function("h")

    def factor(k):  # phi'(h_{k-1}(x))
        return sp.Derivative(phi(h(k - 1, x)), h(k - 1, x))

    def product(lo, hi):
        return sp.Product(factor(ell), (ell, lo, hi))

    def peel(difference):  # the last factor as a one-term product, then merge
        difference = sp.expand(difference.subs(factor(L + 1), product(L + 1, L + 1)))
        return sp.simplify(sp.Add(*map(product_simplify, sp.Add.make_args(difference))))

    base = product(1, 1).doit().replace(h(0, x), x)
    step = sp.diff(phi(h(L, x)), x).subs(sp.Derivative(h(L, x), x), product(1, L))
    result = {"base": checks.prove_identity(sp.diff(phi(x), x), base),
              "step": checks.prove_identity(step, product(1, L + 1), simplify=peel)}
    for part, identity in result.items():
        if not isinstance(identity.check, checks.Proved):
            raise AssertionError(f"the {part} of the induction was not proved")
    return result


def prove_slope_bound(name: str) -> checks.Identity:
    """gamma - phi'(z) written as a square, so phi' <= gamma at every z, with equality
    only where the square is 0 (section "Where the derivative is largest"). Sigmoid:
    (sigma - 1/2)^2; tanh: tanh^2; ReLU: Piecewise 1 (z <= 0), 0 (z > 0), squared."""
    phi_z, gamma = expression(name), max_derivative(name)
    square = {"sigmoid": (phi_z - sp.Rational(1, 2)) ** 2, "tanh": phi_z**2,
              "relu": sp.Piecewise((1, z <= 0), (0, True)) ** 2}[name]
    gap = sp.Add(gamma, -derivative(name), evaluate=False)
    identity = checks.prove_identity(gap, square, rewrite=[sp.exp])
    if not isinstance(identity.check, checks.Proved):
        raise AssertionError(f"{name}: gamma - phi' = square was not proved")
    return identity


# --- Numeric: phi, phi' and log10 phi' in float64, stable for every finite input.

def phi(name: str, x):
    """The activation in float64. The sigmoid is 1 / (1 + e^-|x|) for x >= 0 and
    e^-|x| / (1 + e^-|x|) for x < 0: no overflow, no cancellation."""
    _name(name)
    x = _values(x)
    if name == "sigmoid":
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1.0, e) / (1.0 + e)
    if name == "tanh":
        return np.tanh(x)
    return np.maximum(x, 0.0)


def log10_phi_prime(name: str, x):
    """log10 phi'(x), exact to rounding where phi' underflows (-inf where phi' = 0),
    from sigma' = e^-|x| / (1 + e^-|x|)^2 and tanh' = 4 e^-2|x| / (1 + e^-2|x|)^2
    (proved in section "The three derivatives")."""
    _name(name)
    a = np.abs(x := _values(x))
    if name == "sigmoid":
        return (-a - 2.0 * np.log1p(np.exp(-a))) / _LOG10
    if name == "tanh":
        return (math.log(4.0) - 2.0 * a - 2.0 * np.log1p(np.exp(-2.0 * a))) / _LOG10
    with np.errstate(divide="ignore"):
        return np.log10((x > 0).astype(float))


def phi_prime(name: str, x):
    """phi'(x) in float64, from the same closed forms as :func:`log10_phi_prime`."""
    _name(name)
    a = np.abs(x := _values(x))
    if name == "sigmoid":
        e = np.exp(-a)
        return e / (1.0 + e) ** 2
    if name == "tanh":
        e = np.exp(-2.0 * a)
        return 4.0 * e / (1.0 + e) ** 2
    return (x > 0).astype(float)


# --- The chain.

def _chain_args(name, x, depth, weight, bias, scalar=False, max_depth=MAX_DEPTH):
    _name(name)
    if scalar:
        x = checks.real(x, "x", minimum=-1e3, maximum=1e3)
    else:
        x = checks.array(x, "x")
    return (x, _depth(depth, max_depth),
            checks.real(weight, "weight", minimum=-1e3, maximum=1e3),
            checks.real(bias, "bias", minimum=-1e3, maximum=1e3))


def chain_output(name: str, x, depth: int, weight: float = 1.0, bias: float = 0.0):
    """f(x) = h_L in float64 (+-inf where an expanding ReLU chain overflows)."""
    x, L, w, b = _chain_args(name, x, depth, weight, bias)
    h = x
    with np.errstate(over="ignore"):
        for _ in range(L):
            h = phi(name, w * h + b)
    return h


_SCALAR_STEPS = {
    # The closed forms of phi and log10 phi' on Python floats (about 10x faster than
    # NumPy at one input). An expanding ReLU chain may overflow h to inf: its factors
    # depend only on the sign of the pre-activation, so the sum stays exact.
    "sigmoid": (lambda t: (1.0 if t >= 0 else math.exp(t)) / (1.0 + math.exp(-abs(t))),
                lambda t: (-abs(t) - 2.0 * math.log1p(math.exp(-abs(t)))) / _LOG10),
    "tanh": (math.tanh, lambda t: (math.log(4.0) - 2.0 * abs(t) - 2.0 * math.log1p(
        math.exp(-2.0 * abs(t)))) / _LOG10),
    "relu": (lambda t: max(t, 0.0), lambda t: 0.0 if t > 0 else -math.inf),
}


def _log10_chain_scalar(name, x, L, w, b):
    """Sum over layers of log10 |w phi'(w h + b)|. Once h is a floating-point fixed
    point (phi(w h + b) == h bit for bit), every later layer adds the same term."""
    f, log_df = _SCALAR_STEPS[name]
    log_w = math.log10(abs(w)) if w != 0 else -math.inf
    h, total = float(x), 0.0
    for ell in range(1, L + 1):
        pre = w * h + b
        step = log_w + log_df(pre)
        total += step
        h_next = f(pre)
        if h_next == h and ell < L:  # fixed point: every later layer adds the same step
            return total + (L - ell) * step
        h = h_next
    return total


def log10_chain_derivative(name: str, x, depth: int, weight: float = 1.0,
                           bias: float = 0.0):
    """log10 |f'(x)| of the depth-L chain (-inf where f' = 0), at any depth up to
    :data:`MAX_DEPTH`, far past where the float64 product underflows."""
    x, L, w, b = _chain_args(name, x, depth, weight, bias)
    flat = [_log10_chain_scalar(name, v, L, w, b) for v in x.ravel()]
    return np.reshape(np.array(flat, dtype=float), x.shape)


def chain_derivative(name: str, x, depth: int, weight: float = 1.0,
                     bias: float = 0.0):
    """f'(x) in float64, the chain rule's product of layer factors. Underflows to 0 once
    |f'| < 5e-324 (near depth 500 for sigmoid); use :func:`log10_chain_derivative`."""
    x, L, w, b = _chain_args(name, x, depth, weight, bias)
    h, product = x, np.ones_like(x)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(L):
            pre = w * h + b
            product = product * (w * phi_prime(name, pre))
            h = phi(name, pre)
    return product


def mp_reference_derivative(f, x, digits: int = 30) -> np.ndarray:
    """The Jacobian of ``f`` at ``x`` by ``checks.mp_central_difference``, at a
    precision chosen from the difference itself, never from the code under test.

    Start with ``extra_digits = 0``; while the largest entry |D| is too small for the
    digits kept, raise ``extra_digits`` to ceil(-log10 |D|) + 10 and difference again. A
    difference still exactly 0 with 400 extra digits is returned as 0 (below 1e-400
    relative to f the reference cannot tell f' from zero). (Candidate for ``checks``.)
    """
    checks.function(f, "f")
    x = checks.array(x, "x", ndim=1)
    digits = checks.integer(digits, "digits", minimum=5, maximum=100)
    extra = 0
    while True:
        D = checks.mp_central_difference(f, x, digits=digits, extra_digits=extra)
        size = float(np.max(np.abs(D)))
        if size == 0.0 and extra >= 400:
            return D
        need = math.ceil(-math.log10(size)) + 10 if size > 0.0 else extra + 400
        if need <= extra or extra >= 2000:
            return D
        extra = min(max(need, extra + 10), 2000)


def finite_difference_derivative(name: str, x: float, depth: int, weight: float = 1.0,
                                 bias: float = 0.0, digits: int = 40) -> float:
    """f'(x) by :func:`mp_reference_derivative` of the chain evaluated in mpmath (ReLU
    as max(t, 0)), step 10**-digits. Independent of :func:`chain_derivative`: it
    differentiates nothing. Exactly 0 where the chain is flat (a dead ReLU)."""
    x, L, w, b = _chain_args(name, x, depth, weight, bias, scalar=True, max_depth=1000)
    f = {"sigmoid": lambda t: 1 / (1 + mpmath.exp(-t)), "tanh": mpmath.tanh,
         "relu": lambda t: t if t > 0 else mpmath.mpf(0)}[name]

    def chain(v):
        h = v[0]
        for _ in range(L):
            h = f(w * h + b)
        return h

    return float(mp_reference_derivative(chain, [x], digits=digits)[0])


# --- The interactive figure: |f'(x)| against x, and the bound against depth.

FIGURE_X = np.linspace(-6.0, 6.0, 61)
FIGURE_MAX_DEPTH = 60


def chain_figure_data(depth: int, activation: str) -> dict:
    """log10 |f'(x)| over x in [-6, 6], unit-weight chain: the figure's only numbers."""
    L = _depth(depth, FIGURE_MAX_DEPTH)
    return {"x": FIGURE_X,
            "log10_abs_derivative": log10_chain_derivative(activation, FIGURE_X, L)}


def _log10_bound_expr(name: str, L: sp.Symbol) -> sp.Expr:
    """log10 gamma**L as a SymPy expression in L."""
    return L * sp.log(max_derivative(name)) / sp.log(10)


def _bound_axis_range() -> tuple[float, float]:
    """A fixed log10 range for the right panel, the same for every activation."""
    low = min(FIGURE_MAX_DEPTH * math.log10(float(max_derivative(a)))
              for a in ACTIVATIONS)
    return (math.floor(low) - 2.0, 2.0)


def plot_chain_figure(fig, data, depth, activation):
    """Matplotlib view, updated in place: left, log10 |f'(x)| and the bound; right, the
    bound against depth and, at the current depth, the largest |f'| over x."""
    L, sym = _depth(depth, FIGURE_MAX_DEPTH), sp.Symbol("L", positive=True)
    bound = sp.lambdify(sym, _log10_bound_expr(activation, sym), "numpy")
    if not fig.axes:
        left, right = fig.subplots(1, 2, width_ratios=[3, 2])
        left.plot([], [], color="C0", label="|f'(x)|")
        left.axhline(0.0, color="C3", ls="--", label="bound γ^L")
        left.set(xlabel="input x", ylabel="log10 |f'(x)|", xlim=(-6.2, 6.2))
        left.legend(loc="best", fontsize="small")
        right.plot([], [], color="C3", label="log10 γ^L")
        right.plot([], [], "s", color="C0", label="max over x of |f'|")
        right.set(xlabel="depth L", ylabel="log10 of the bound",
                  ylim=_bound_axis_range(), xlim=(0, FIGURE_MAX_DEPTH + 1))
        right.legend(loc="lower left", fontsize="small")
    left, right = fig.axes
    y = np.asarray(data["log10_abs_derivative"], dtype=float)
    finite = y[np.isfinite(y)]
    top = finite.max() if finite.size else np.nan
    left.lines[0].set_data(data["x"], y)
    left.lines[1].set_ydata([bound(L)] * 2)
    values = np.append(finite, bound(L))
    left.set_ylim(values.min() - 1.0, values.max() + 1.0)
    left.set_title(f"{activation} chain, depth L = {L}")
    depths = np.arange(1, FIGURE_MAX_DEPTH + 1)
    right.lines[0].set_data(depths, bound(depths) + 0 * depths)
    right.lines[1].set_data([L], [top])


def chart_chain_figure(source, params):
    """Vega-Lite view of the same figure; the bound is SymPy's expression, printed."""
    import altair as alt

    from .explore import vega_expr

    sym = sp.Symbol("L", positive=True)

    def bound_of(var):
        exprs = [vega_expr(_log10_bound_expr(a, sym), {sym: var}) for a in ACTIVATIONS]
        cases = [f"activation == '{a}' ? {e}" for a, e in zip(ACTIVATIONS, exprs)]
        return " : ".join(cases[:-1] + [exprs[-1]])

    curve = source.mark_line(color="#1f77b4").encode(
        x=alt.X("x:Q", title="input x"),
        y=alt.Y("log10_abs_derivative:Q", title="log10 |f'(x)|"))
    rule = (alt.Chart(alt.sequence(0, 1, as_="one"))
            .transform_calculate(bound=bound_of("depth"))
            .mark_rule(color="#d62728", strokeDash=[6, 3]).encode(y="bound:Q"))
    left = alt.layer(curve, rule).properties(width=330, height=230,
                                             title="|f'(x)| and the bound γ^L (dashed)")
    scale = alt.Scale(domain=list(_bound_axis_range()))
    line = (alt.Chart(alt.sequence(1, FIGURE_MAX_DEPTH + 1, as_="L"))
            .transform_calculate(bound=bound_of("datum.L")).mark_line(color="#d62728")
            .encode(x=alt.X("L:Q", title="depth L"),
                    y=alt.Y("bound:Q", title="log10 of the bound", scale=scale)))
    best = (source.transform_aggregate(best="max(log10_abs_derivative)")
            .transform_calculate(L="depth")
            .mark_square(color="#1f77b4", size=60).encode(x="L:Q", y="best:Q"))
    right = alt.layer(line, best).properties(width=220, height=230,
                                             title="bound against depth")
    return alt.hconcat(left, right)


def explorer():
    """The chapter's interactive figure: a depth slider and an activation choice."""
    from .explore import Choice, Explorer, Slider

    return Explorer(
        name="chain-derivative",
        controls=[Slider("depth", 1, FIGURE_MAX_DEPTH, 1, value=10, label="depth L"),
                  Choice("activation", list(ACTIVATIONS), value="sigmoid",
                         label="activation")],
        compute=chain_figure_data, plot=plot_chain_figure, chart=chart_chain_figure,
        width=8.5, height=3.6,
    )
