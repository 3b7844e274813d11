"""Activation derivatives and the depth-n scalar chain.

Chapter "Activations and depth" (``book/activations.md``). The chain has one unit per
layer: ``h_0 = x`` and ``h_k = phi(w h_{k-1} + b)`` for ``k = 1..n``; with ``w = 1, b = 0``
it is the unit-weight chain of the chapter. Its input-output derivative is the product
``f'(x) = prod_k w phi'(w h_{k-1} + b)`` (chain rule), which this module computes in
float64 and, so that depth 10**6 is in reach, as a sum of logarithms.

The symbolic half (SymPy) gives each activation, its derivative and the exact maximum of
the derivative; the numeric half uses closed forms of phi' that the chapter proves equal
to SymPy's derivative and that do not underflow before the true value does.
"""

from __future__ import annotations

import functools
import math
import numbers

import mpmath
import numpy as np
import sympy as sp

__all__ = [
    "ACTIVATIONS", "z", "expression", "derivative", "critical_points", "max_derivative",
    "chain_bound", "phi", "phi_prime", "log10_phi_prime", "chain_output", "chain_derivative",
    "log10_chain_derivative", "finite_difference_derivative",
    "chain_figure_data", "plot_chain_figure", "chart_chain_figure", "explorer",
]

#: The activations the chapter studies, by name.
ACTIVATIONS = ("sigmoid", "tanh", "relu")

#: The pre-activation symbol used by the symbolic functions.
z = sp.Symbol("z", real=True)

_LOG10 = math.log(10.0)


def _check_name(name: str) -> str:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return name


# ---------------------------------------------------------------------------------------
# Symbolic: the activations, their derivatives and the exact maxima of the derivatives.
# ---------------------------------------------------------------------------------------

def expression(name: str, var: sp.Symbol = z) -> sp.Expr:
    """The activation as a SymPy expression in ``var``.

    ReLU is written as a Piecewise whose ``z <= 0`` branch is 0, so its derivative at 0
    is taken as 0, the convention of PyTorch and most libraries.
    """
    _check_name(name)
    if name == "sigmoid":
        return 1 / (1 + sp.exp(-var))
    if name == "tanh":
        return sp.tanh(var)
    return sp.Piecewise((0, var <= 0), (var, True))


def derivative(name: str, var: sp.Symbol = z) -> sp.Expr:
    """d phi / d var, as SymPy computes it (section "The three derivatives")."""
    return sp.diff(expression(name, var), var)


def critical_points(name: str) -> list[sp.Expr]:
    """Real solutions of phi''(z) = 0, the candidates for the maximum of phi'.

    ReLU's derivative is piecewise constant: it has no isolated critical point, and its
    maximum is found piece by piece in :func:`max_derivative`.
    """
    if _check_name(name) == "relu":
        return []
    second = sp.diff(derivative(name), z)
    return sorted(sp.solveset(sp.simplify(second), z, domain=sp.S.Reals), key=float)


@functools.lru_cache(maxsize=None)
def max_derivative(name: str) -> sp.Expr:
    """The exact maximum of phi' over the real line (section "Where phi' is largest").

    For sigmoid and tanh: the critical points of phi', each passed through the
    second-derivative test (phi''' < 0), compared with phi' at -oo and +oo. For ReLU: the
    largest value taken by the pieces of phi'.
    """
    d = derivative(name)
    if name == "relu":
        return sp.Max(*[piece for piece, _cond in d.args])
    third = sp.diff(d, z, 2)
    maxima = [c for c in critical_points(name) if sp.simplify(third.subs(z, c)) < 0]
    if not maxima:
        raise ArithmeticError(f"no local maximum of {name}' found")  # cannot happen for ACTIVATIONS
    best = max((sp.simplify(d.subs(z, c)) for c in maxima), key=float)
    ends = [sp.limit(d, z, sp.oo), sp.limit(d, z, -sp.oo)]
    if any(e > best for e in ends):
        raise ArithmeticError(f"{name}' grows without bound")  # cannot happen for ACTIVATIONS
    return best


def chain_bound(name: str, depth: int) -> sp.Expr:
    """The bound (max phi')**depth on |f'(x)| for the unit-weight chain (the chapter's theorem)."""
    return max_derivative(name) ** _check_depth(depth)


# ---------------------------------------------------------------------------------------
# Numeric: phi, phi' and log10 phi' in float64, stable for every finite input.
# ---------------------------------------------------------------------------------------

def phi(name: str, x):
    """The activation in float64, accurate to rounding everywhere.

    The sigmoid is 1 / (1 + e^{-|x|}) for x >= 0 and e^{-|x|} / (1 + e^{-|x|}) for x < 0: no
    exponential of a positive number (no overflow), no cancellation for very negative x.
    """
    _check_name(name)
    x = np.asarray(x, dtype=float)
    if name == "sigmoid":
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1.0, e) / (1.0 + e)
    if name == "tanh":
        return np.tanh(x)
    return np.maximum(x, 0.0)


def log10_phi_prime(name: str, x):
    """log10 phi'(x), exact to rounding even where phi' itself underflows (-inf where phi' = 0).

    Uses sigmoid'(x) = e^{-|x|} / (1 + e^{-|x|})^2 and tanh'(x) = 4 e^{-2|x|} / (1 + e^{-2|x|})^2,
    which the chapter proves equal to SymPy's derivatives.
    """
    _check_name(name)
    x = np.asarray(x, dtype=float)
    a = np.abs(x)
    if name == "sigmoid":
        return (-a - 2.0 * np.log1p(np.exp(-a))) / _LOG10
    if name == "tanh":
        return (math.log(4.0) - 2.0 * a - 2.0 * np.log1p(np.exp(-2.0 * a))) / _LOG10
    with np.errstate(divide="ignore"):
        return np.log10((x > 0).astype(float))


def phi_prime(name: str, x):
    """phi'(x) in float64, from the same closed forms as :func:`log10_phi_prime`."""
    _check_name(name)
    x = np.asarray(x, dtype=float)
    a = np.abs(x)
    if name == "sigmoid":
        e = np.exp(-a)
        return e / (1.0 + e) ** 2
    if name == "tanh":
        e = np.exp(-2.0 * a)
        return 4.0 * e / (1.0 + e) ** 2
    return (x > 0).astype(float)


# ---------------------------------------------------------------------------------------
# The chain.
# ---------------------------------------------------------------------------------------

def _check_depth(depth) -> int:
    if isinstance(depth, bool) or not isinstance(depth, numbers.Integral):
        raise ValueError(f"depth must be a positive integer, got {depth!r}")
    if depth < 1:
        raise ValueError(f"depth must be a positive integer (at least 1 layer), got {depth}")
    return int(depth)


def _check_real(value, what: str):
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} must be finite (no NaN or infinity), got {value!r}")
    return arr


def _check_chain(name, x, depth, weight, bias):
    _check_name(name)
    depth = _check_depth(depth)
    x = _check_real(x, "x")
    weight = float(_check_real(weight, "weight"))
    bias = float(_check_real(bias, "bias"))
    return x, depth, weight, bias


def chain_output(name: str, x, depth: int, weight: float = 1.0, bias: float = 0.0):
    """f(x) = h_n: the chain's output in float64 (for finite-difference checks)."""
    x, depth, weight, bias = _check_chain(name, x, depth, weight, bias)
    h = x
    for _ in range(depth):
        h = phi(name, weight * h + bias)
    return h


_SCALAR_STEPS = {
    # The same closed forms as phi and log10_phi_prime, on Python floats: a deep chain at a
    # few inputs runs about 10x faster this way than through NumPy's per-call overhead.
    "sigmoid": (lambda t: (1.0 if t >= 0 else math.exp(t)) / (1.0 + math.exp(-abs(t))),
                lambda t: (-abs(t) - 2.0 * math.log1p(math.exp(-abs(t)))) / _LOG10),
    "tanh": (math.tanh,
             lambda t: (math.log(4.0) - 2.0 * abs(t) - 2.0 * math.log1p(math.exp(-2.0 * abs(t)))) / _LOG10),
    "relu": (lambda t: max(t, 0.0), lambda t: 0.0 if t > 0 else -math.inf),
}


def _log10_chain_scalar(name, x, depth, weight, bias):
    f, log_df = _SCALAR_STEPS[name]
    log_w = math.log10(abs(weight)) if weight != 0 else -math.inf
    h, total = float(x), 0.0
    for k in range(depth):
        pre = weight * h + bias
        step = log_w + log_df(pre)
        total += step
        h_next = f(pre)
        left = depth - k - 1
        if h_next == h and left:  # a fixed point: every later layer adds the same step
            return total + left * step
        h = h_next
    return total


def _log10_chain(name, x, depth, weight, bias):
    """Sum over layers of log10 |w phi'(w h + b)|, with an exact shortcut at fixed points.

    Once every h reaches a floating-point fixed point (phi(w h + b) == h bit for bit), each
    later layer multiplies by the same factor, so the remaining layers add
    (layers left) * (that factor's log) without changing the result.
    """
    if np.ndim(x) == 0 or (np.size(x) <= 8 and depth > 1000):
        flat = [_log10_chain_scalar(name, v, depth, weight, bias) for v in np.ravel(x)]
        return np.reshape(np.array(flat, dtype=float), np.shape(x))
    h = np.array(x, dtype=float)
    total = np.zeros_like(h)
    log_w = math.log10(abs(weight)) if weight != 0 else -math.inf
    for k in range(depth):
        # An expanding ReLU chain (|w| > 1) may overflow h to inf; its factors depend only on
        # the sign of the pre-activation, so the sum stays exact (Python floats do the same).
        with np.errstate(over="ignore"):
            pre = weight * h + bias
        step = log_w + log10_phi_prime(name, pre)
        total = total + step
        h_next = phi(name, pre)
        left = depth - k - 1
        if left and np.array_equal(h_next, h):
            total = total + left * step
            break
        h = h_next
    return total


def log10_chain_derivative(name: str, x, depth: int, weight: float = 1.0, bias: float = 0.0):
    """log10 |f'(x)| of the depth-n chain; -inf where the derivative is exactly 0.

    Works at any depth (10**6 included), far past where the float64 product underflows.
    """
    x, depth, weight, bias = _check_chain(name, x, depth, weight, bias)
    return _log10_chain(name, x, depth, weight, bias)


def chain_derivative(name: str, x, depth: int, weight: float = 1.0, bias: float = 0.0):
    """f'(x) of the depth-n chain in float64, as the chain rule's product of layer factors.

    The product underflows to 0 once |f'(x)| < about 5e-324 (near depth 500 for sigmoid);
    use :func:`log10_chain_derivative` beyond that.
    """
    x, depth, weight, bias = _check_chain(name, x, depth, weight, bias)
    h = x
    product = np.ones_like(h)
    for _ in range(depth):
        pre = weight * h + bias
        product = product * (weight * phi_prime(name, pre))
        h = phi(name, pre)
    return product


def finite_difference_derivative(name: str, x: float, depth: int, weight: float = 1.0, bias: float = 0.0,
                                 digits: int = 40) -> float:
    """A central finite difference of the chain, in arbitrary precision (mpmath).

    An independent check of the chain rule: it differentiates nothing, it only evaluates
    the composed function at x +- h. Working precision grows with the depth so that the
    difference f(x+h) - f(x-h), about 2 h |f'(x)|, keeps ``digits`` significant digits
    even when |f'(x)| is 1e-30; the step h = 10**-digits makes the truncation error
    (order h**2) negligible. ReLU is evaluated as max(z, 0).
    """
    _check_name(name)
    x = float(_check_real(x, "x"))
    depth = _check_depth(depth)
    weight = float(_check_real(weight, "weight"))
    bias = float(_check_real(bias, "bias"))
    # log10 of the size of f' (at worst (1/4)**depth for sigmoid) decides the precision.
    scale = max(0.0, -float(log10_chain_derivative(name, x, depth, weight, bias)))
    if not math.isfinite(scale):
        return 0.0
    with mpmath.workdps(int(3 * digits + scale + 20)):
        f = {
            "sigmoid": lambda t: 1 / (1 + mpmath.exp(-t)),
            "tanh": mpmath.tanh,
            "relu": lambda t: t if t > 0 else mpmath.mpf(0),
        }[name]

        def chain(t):
            for _ in range(depth):
                t = f(weight * t + bias)
            return t

        h = mpmath.mpf(10) ** (-digits)
        xm = mpmath.mpf(x)
        return float((chain(xm + h) - chain(xm - h)) / (2 * h))


# ---------------------------------------------------------------------------------------
# The interactive figure: |f'(x)| against x, and the bound against depth.
# ---------------------------------------------------------------------------------------

FIGURE_X = np.linspace(-6.0, 6.0, 97)
FIGURE_MAX_DEPTH = 100


def chain_figure_data(depth: int, activation: str) -> dict:
    """log10 |f'(x)| over x in [-6, 6] for the unit-weight chain: the figure's only numbers."""
    return {"x": FIGURE_X, "log10_abs_derivative": log10_chain_derivative(activation, FIGURE_X, depth)}


def _log10_bound_expr(name: str, n: sp.Symbol) -> sp.Expr:
    """log10 of the bound (max phi')**n, as a SymPy expression in n."""
    return n * sp.log(max_derivative(name)) / sp.log(10)


def _bound_axis_range() -> tuple[float, float]:
    """A fixed log10 range for the right panel, so that switching activation keeps the axis."""
    lowest = min(FIGURE_MAX_DEPTH * math.log10(float(max_derivative(a))) for a in ACTIVATIONS)
    return (math.floor(lowest) - 2.0, 2.0)


def plot_chain_figure(fig, data, depth, activation):
    """Matplotlib view: left, log10|f'(x)| against x with the bound; right, the bound against depth."""
    n = sp.Symbol("n", positive=True)
    bound = sp.lambdify(n, _log10_bound_expr(activation, n), "numpy")
    left, right = fig.subplots(1, 2, width_ratios=[3, 2])
    left.plot(data["x"], data["log10_abs_derivative"], color="C0", label=f"|f'(x)|, n = {depth}")
    left.axhline(bound(depth), color="C3", ls="--", label="bound (max φ')ⁿ")
    left.set_xlabel("input x")
    left.set_ylabel("log10 |f'(x)|")
    left.set_title(f"{activation} chain, depth {depth}")
    left.legend(loc="lower center", fontsize="small")
    depths = np.arange(1, FIGURE_MAX_DEPTH + 1)
    right.plot(depths, bound(depths) + 0 * depths, color="C3", label="log10 bound")
    right.plot([depth], [bound(depth)], "o", color="C3")
    observed = np.nanmax(np.where(np.isfinite(data["log10_abs_derivative"]), data["log10_abs_derivative"], np.nan))
    right.plot([depth], [observed], "s", color="C0", label="max over x of |f'|")
    right.set_ylim(*_bound_axis_range())
    right.set_xlabel("depth n")
    right.set_ylabel("log10 of the bound")
    right.legend(loc="lower left", fontsize="small")


def chart_chain_figure(source, params):
    """Vega-Lite view of the same figure; the bound is SymPy's expression printed for Vega."""
    import altair as alt

    from .explore import vega_expr

    n = sp.Symbol("n", positive=True)
    bound_of = lambda var: " : ".join(  # noqa: E731 (a small expression builder)
        [f"activation == '{a}' ? {vega_expr(_log10_bound_expr(a, n), {n: var})}" for a in ACTIVATIONS[:-1]]
        + [vega_expr(_log10_bound_expr(ACTIVATIONS[-1], n), {n: var})])
    y_title = "log10 |f'(x)|"
    curve = source.mark_line(color="#1f77b4").encode(
        x=alt.X("x:Q", title="input x"), y=alt.Y("log10_abs_derivative:Q", title=y_title))
    bound_rule = (alt.Chart(alt.sequence(0, 1, as_="one"))
                  .transform_calculate(bound=bound_of("depth"))
                  .mark_rule(color="#d62728", strokeDash=[6, 3]).encode(y="bound:Q"))
    left = alt.layer(curve, bound_rule).properties(width=330, height=230, title="|f'(x)| and the bound (dashed)")
    line = (alt.Chart(alt.sequence(1, FIGURE_MAX_DEPTH + 1, as_="n"))
            .transform_calculate(bound=bound_of("datum.n"))
            .mark_line(color="#d62728")
            .encode(x=alt.X("n:Q", title="depth n"),
                    y=alt.Y("bound:Q", title="log10 of the bound", scale=alt.Scale(domain=list(_bound_axis_range())))))
    here = (alt.Chart(alt.sequence(0, 1, as_="one"))
            .transform_calculate(n="depth", bound=bound_of("depth"))
            .mark_point(color="#d62728", filled=True, size=60).encode(x="n:Q", y="bound:Q"))
    observed = (source.transform_aggregate(best="max(log10_abs_derivative)")
                .transform_calculate(n="depth")
                .mark_square(color="#1f77b4", size=60).encode(x="n:Q", y="best:Q"))
    right = alt.layer(line, here, observed).properties(width=220, height=230, title="bound against depth")
    return alt.hconcat(left, right)


def explorer():
    """The chapter's interactive figure: a depth slider and an activation choice."""
    from .explore import Choice, Explorer, Slider

    return Explorer(
        name="chain-derivative",
        controls=[Slider("depth", 1, FIGURE_MAX_DEPTH, 1, value=10, label="depth n"),
                  Choice("activation", list(ACTIVATIONS), value="sigmoid", label="activation")],
        compute=chain_figure_data, plot=plot_chain_figure, chart=chart_chain_figure,
        width=9.0, height=3.6,
    )
