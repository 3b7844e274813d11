"""Default initialisation: the variance of a unit after L layers, exactly and sampled.

Chapter "Default initialisation and depth" (``book/initialisation.md``). The network
has width n everywhere: ``h_0 = x`` (entries with mean 0 and second moment v_0), then
for ``l = 1..L``: ``z_l = A_l h_{l-1} + b_l`` and ``h_l = phi(z_l)``; the output is the
pre-activation ``z_L`` (the last layer is affine). Weights and biases are independent
and uniform on symmetric intervals fixed by the initialisation scheme:

- ``"pytorch-default"`` (``nn.Linear``): A and b uniform on +-1/sqrt(n);
- ``"xavier-uniform"`` (Glorot and Bengio, 2010): A uniform on +-sqrt(6/(n + n)),
  b = 0;
- ``"kaiming-uniform"`` (He et al., 2015, ReLU gain sqrt 2): A uniform on
  +-sqrt(6/n), b = 0.

The second moment obeys ``v_1 = g v_0 + s`` and ``v_l = r v_{l-1} + s`` (l >= 2), with
g = n Var(A), s = Var(b), r = g for linear layers and r = g/2 for ReLU layers (section
"ReLU layers": every pre-activation is symmetric about 0). :func:`variance_closed_form`
solves it with ``sympy.rsolve``; :func:`monte_carlo_variance` samples whole networks.
"""

from __future__ import annotations

import functools
import math
from statistics import NormalDist

import mpmath
import numpy as np
import sympy as sp

from . import checks

__all__ = [
    "SCHEMES", "ACTIVATIONS", "n", "L", "v0", "a", "uniform_variance", "weight_bound",
    "bias_bound", "layer_coefficients", "variance_closed_form", "deep_limit",
    "output_variance", "variance_recursion", "monte_carlo_variance",
    "mean_with_interval", "check_monte_carlo", "figure_data", "plot_variance_figure",
    "chart_variance_figure", "explorer",
]

#: The initialisation schemes, by name.
SCHEMES = ("pytorch-default", "xavier-uniform", "kaiming-uniform")
#: The hidden-layer activations.
ACTIVATIONS = ("linear", "relu")

#: Width (fan-in of every layer), depth, and the input's second moment E[x_k^2].
n = sp.Symbol("n", positive=True, integer=True)
L = sp.Symbol("L", positive=True, integer=True)
v0 = sp.Symbol("v_0", positive=True)
#: Half-width of a uniform distribution U(-a, a).
a = sp.Symbol("a", positive=True)

_u = sp.Symbol("u", real=True)
_k = sp.Symbol("k", integer=True, nonnegative=True)

#: Largest depth the exact functions accept (the closed form is evaluated in mpmath).
MAX_DEPTH = 10_000


def _check_scheme(scheme) -> str:
    return checks.choice(scheme, "scheme", SCHEMES)


def _check_activation(activation) -> str:
    return checks.choice(activation, "activation", ACTIVATIONS)


# -------------------------------------------------------------------------------------
# Symbolic (sections "The variance of a uniform weight" to "Three schemes").
# -------------------------------------------------------------------------------------

def uniform_variance(half_width=a) -> sp.Expr:
    """Var U(-a, a), integrating u^2 against the density 1/(2a): a^2/3 (the mean is 0).

    ``half_width`` is a positive number or a SymPy expression not known to be <= 0.
    """
    if isinstance(half_width, sp.Basic):
        if not isinstance(half_width, sp.Expr) or half_width.is_positive is False:
            raise ValueError(f"half_width must be a positive expression, "
                             f"got {half_width!r}")
    else:
        half_width = sp.Float(checks.real(half_width, "half_width", minimum=0.0,
                                          open_min=True))
    density = 1 / (2 * half_width)
    return sp.integrate(_u**2 * density, (_u, -half_width, half_width))


def weight_bound(scheme: str) -> sp.Expr:
    """The half-width of the uniform weight distribution, as a SymPy expression in n.

    PyTorch's default is kaiming_uniform_ with a = sqrt 5, i.e. gain sqrt(1/3) times
    sqrt(3/n) = 1/sqrt(n); Xavier is sqrt(6/(fan_in + fan_out)) with
    fan_in = fan_out = n; Kaiming (ReLU gain sqrt 2) is sqrt 2 * sqrt(3/n).
    """
    scheme = _check_scheme(scheme)
    if scheme == "pytorch-default":
        return sp.sqrt(sp.Rational(1, 3)) * sp.sqrt(3 / n)
    if scheme == "xavier-uniform":
        return sp.sqrt(6 / (n + n))
    return sp.sqrt(2) * sp.sqrt(3 / n)


def bias_bound(scheme: str) -> sp.Expr:
    """The half-width of the uniform bias distribution: 1/sqrt(n) for PyTorch's
    default, 0 (no bias noise) for the others."""
    scheme = _check_scheme(scheme)
    return 1 / sp.sqrt(n) if scheme == "pytorch-default" else sp.Integer(0)


@functools.lru_cache(maxsize=None)
def layer_coefficients(scheme: str, activation: str) -> dict:
    """The recursion's coefficients: v_1 = g v_0 + s, v_l = r v_{l-1} + s for l >= 2.

    g = n Var(A) (the first layer sees the input itself), s = Var(b), and r = g for
    linear layers, g/2 for ReLU layers (E relu(z)^2 = E z^2 / 2 for a symmetric z).
    """
    scheme, activation = _check_scheme(scheme), _check_activation(activation)
    g = sp.simplify(n * uniform_variance(weight_bound(scheme)))
    b = bias_bound(scheme)
    s = uniform_variance(b) if b != 0 else sp.Integer(0)
    r = g if activation == "linear" else g / 2
    return {"g": g, "r": sp.simplify(r), "s": sp.simplify(s)}


@functools.lru_cache(maxsize=None)
def variance_closed_form(scheme: str, activation: str) -> sp.Expr:
    """v_L in closed form (a SymPy expression in L, n, v_0), from ``sympy.rsolve``.

    Solves u_{k+1} = r u_k + s with u_0 = v_1 = g v_0 + s, then v_L = u_{L-1}.
    """
    co = layer_coefficients(scheme, activation)
    u = sp.Function("u")
    sol = sp.rsolve(u(_k + 1) - co["r"] * u(_k) - co["s"], u(_k),
                    {u(0): co["g"] * v0 + co["s"]})
    if sol is None:  # cannot happen for these coefficients
        raise ArithmeticError(f"rsolve found no closed form for {scheme}, {activation}")
    return sp.simplify(sol.subs(_k, L - 1))


@functools.lru_cache(maxsize=None)
def deep_limit(scheme: str, activation: str) -> sp.Expr:
    """lim v_L as L -> oo (sp.oo when it grows without bound)."""
    return sp.limit(variance_closed_form(scheme, activation), L, sp.oo)


@functools.lru_cache(maxsize=None)
def _closed_form_mpmath(scheme: str, activation: str):
    return sp.lambdify((L, n, v0), variance_closed_form(scheme, activation), "mpmath")


def _check_sizes(depth, fan_in, input_variance, max_depth=MAX_DEPTH, max_fan_in=None):
    depth = checks.integer(depth, "depth", minimum=1, maximum=max_depth)
    fan_in = checks.integer(fan_in, "fan_in", minimum=1, maximum=max_fan_in)
    input_variance = checks.real(input_variance, "input_variance", minimum=0.0)
    return depth, fan_in, input_variance


def _to_float(value, what: str) -> float:
    if not mpmath.isfinite(value) or abs(value) > np.finfo(float).max:
        raise ValueError(f"{what} = {mpmath.nstr(value, 5)} does not fit in a float64")
    return float(value)


def output_variance(depth: int, fan_in: int, input_variance: float = 1.0,
                    scheme: str = "pytorch-default",
                    activation: str = "linear") -> float:
    """The exact variance of an output unit z_L after ``depth`` layers of width
    ``fan_in``.

    The inputs have mean 0 and E[x_k^2] = ``input_variance`` (only the average over k of
    E[x_k^2] matters). The closed form of :func:`variance_closed_form` is evaluated in
    30-digit arithmetic and rounded once to float64 (``ValueError`` if it overflows).
    Sections "The closed form" and "ReLU layers".
    """
    depth, fan_in, input_variance = _check_sizes(depth, fan_in, input_variance)
    scheme, activation = _check_scheme(scheme), _check_activation(activation)
    with mpmath.workdps(30):
        value = _closed_form_mpmath(scheme, activation)(
            mpmath.mpf(depth), mpmath.mpf(fan_in), mpmath.mpf(input_variance))
        return _to_float(value, "the variance")


def variance_recursion(depth: int, fan_in: int, input_variance: float = 1.0,
                       scheme: str = "pytorch-default",
                       activation: str = "linear") -> np.ndarray:
    """v_1, ..., v_L by iterating the layer recursion in exact rational arithmetic.

    A second algorithm for the same numbers as :func:`output_variance` (no rsolve, no
    closed form), rounded to float64 at the end.
    """
    depth, fan_in, input_variance = _check_sizes(depth, fan_in, input_variance)
    co = layer_coefficients(_check_scheme(scheme), _check_activation(activation))
    g, r, s = (sp.Rational(co[key].subs(n, fan_in)) for key in ("g", "r", "s"))
    v = g * sp.Rational(input_variance) + s
    out = [v]
    for _ in range(depth - 1):
        v = r * v + s
        out.append(v)
    with mpmath.workdps(30):
        return np.array([_to_float(mpmath.mpf(x.p) / x.q, "the variance") for x in out])


# -------------------------------------------------------------------------------------
# Monte Carlo (section "Checking by sampling networks").
# -------------------------------------------------------------------------------------

#: Largest number of uniform draws one call of :func:`monte_carlo_variance` may make.
MAX_DRAWS = 2 * 10**9


def monte_carlo_variance(depth: int, fan_in: int, input_variance: float = 1.0,
                         scheme: str = "pytorch-default", activation: str = "linear",
                         networks: int = 2000, seed: int = 0,
                         confidence: float = 0.999) -> dict:
    """E z_{l,i}^2 for l = 1..depth, estimated from ``networks`` independent networks.

    Section "Checking by sampling networks". Each network gets fresh weights and biases
    (the scheme's uniform distributions) and a fresh input x ~ N(0, input_variance I).
    Its sample for layer l is the mean of z_{l,i}^2 over the n units (units of one
    network are dependent, networks are independent, so the samples are i.i.d. with
    mean v_l). Returns the per-layer ``mean``, the half-width of the two-sided
    normal-approximation confidence interval (``confidence``, from the samples' standard
    deviation), ``low``/``high`` and ``layer``.
    """
    depth, fan_in, input_variance = _check_sizes(depth, fan_in, input_variance,
                                                 max_depth=200, max_fan_in=4096)
    if input_variance > 1e30:  # keeps z^2 and its square far from float64 overflow
        raise ValueError(f"input_variance must be <= 1e30 for sampling, "
                         f"got {input_variance}")
    scheme, activation = _check_scheme(scheme), _check_activation(activation)
    networks = checks.integer(networks, "networks", minimum=30, maximum=10**7)
    seed = checks.integer(seed, "seed", minimum=0, maximum=2**63 - 1)
    confidence = checks.real(confidence, "confidence", minimum=0.5, maximum=1.0,
                             open_max=True)
    draws = networks * depth * fan_in * (fan_in + 1)
    if draws > MAX_DRAWS:
        raise ValueError(f"networks * depth * fan_in * (fan_in + 1) must stay below "
                         f"{MAX_DRAWS:.0e} draws (about a minute), got {draws:.2e}")
    wb = float(weight_bound(scheme).subs(n, fan_in))
    bb = float(bias_bound(scheme).subs(n, fan_in))
    rng = np.random.default_rng(seed)
    samples = np.empty((networks, depth))
    chunk = max(1, min(networks, 4_000_000 // (fan_in * fan_in)))
    with np.errstate(over="raise", invalid="raise"):
        for start in range(0, networks, chunk):
            k = min(chunk, networks - start)
            h = rng.standard_normal((k, fan_in)) * math.sqrt(input_variance)
            for ell in range(depth):
                A = rng.uniform(-wb, wb, size=(k, fan_in, fan_in))
                z_l = np.matmul(A, h[:, :, None])[:, :, 0]
                if bb > 0:
                    z_l += rng.uniform(-bb, bb, size=(k, fan_in))
                samples[start:start + k, ell] = np.mean(z_l * z_l, axis=1)
                h = z_l if activation == "linear" else np.maximum(z_l, 0.0)
    return {"layer": np.arange(1, depth + 1), **mean_with_interval(samples, confidence)}


def mean_with_interval(samples, confidence: float = 0.999) -> dict:
    """The mean of i.i.d. samples (along axis 0) and its two-sided confidence interval.

    Normal approximation (central limit theorem): mean +- z * s / sqrt(N), with s the
    samples' standard deviation and z the (1 + confidence)/2 quantile of N(0, 1) (3.29
    for 99.9 %). Meaningful for N in the thousands and samples with a finite variance.
    """
    samples = checks.array(samples, "samples")
    if samples.ndim > 2:
        raise ValueError(f"samples must be 1-D or 2-D (samples x quantities), "
                         f"got shape {samples.shape}")
    if samples.shape[0] < 30:
        raise ValueError(f"need at least 30 samples along axis 0 for a "
                         f"normal-approximation interval, got {samples.shape[0]}")
    confidence = checks.real(confidence, "confidence", minimum=0.5, maximum=1.0,
                             open_max=True)
    count = samples.shape[0]
    mean = samples.mean(axis=0)
    quantile = NormalDist().inv_cdf(0.5 + confidence / 2)
    half = quantile * samples.std(axis=0, ddof=1) / math.sqrt(count)
    return {"mean": mean, "half_width": half, "low": mean - half, "high": mean + half,
            "samples": count, "confidence": confidence}


def check_monte_carlo(estimate: dict, exact,
                      others: dict | None = None) -> checks.Numeric:
    """Assert that each exact value lies in its confidence interval, and that each rival
    value (``others``: label -> values of a competing formula) that differs from it lies
    outside.

    ``estimate`` comes from :func:`mean_with_interval` or :func:`monte_carlo_variance`.
    Returns the largest |mean - exact| / half-width as a Numeric record with tolerance 1
    (inside the interval). A helper for the chapter's Monte Carlo checks (a candidate
    for ``derivations.checks``).
    """
    needed = {"mean", "low", "high", "half_width", "confidence"}
    if not isinstance(estimate, dict) or not needed <= set(estimate):
        raise ValueError("estimate must be a result of mean_with_interval or "
                         "monte_carlo_variance")
    mean, low, high, half = (np.atleast_1d(np.asarray(estimate[k], dtype=float))
                             for k in ("mean", "low", "high", "half_width"))
    exact = _broadcast(checks.array(exact, "exact"), mean.shape, "exact")
    if not (np.all(np.isfinite(mean)) and np.all(half > 0)):
        raise AssertionError("the Monte Carlo estimate is not finite, or its interval "
                             "is empty")
    outside = (exact < low) | (exact > high)
    if np.any(outside):
        i = int(np.argmax(outside))
        raise AssertionError(f"entry {i}: exact {exact[i]:.6g} outside the interval "
                             f"[{low[i]:.6g}, {high[i]:.6g}]")
    for label, values in (others or {}).items():
        name = f"others[{label!r}]"
        values = _broadcast(checks.array(values, name), mean.shape, name)
        differs = ~np.isclose(values, exact, rtol=1e-12, atol=0.0)
        missed = differs & (values >= low) & (values <= high)
        if np.any(missed):
            i = int(np.argmax(missed))
            raise AssertionError(f"entry {i}: the interval cannot tell the exact value "
                                 f"{exact[i]:.6g} from {label} ({values[i]:.6g})")
    ratio = float(np.max(np.abs(mean - exact) / half))
    what = f"MC |mean - exact| / ({estimate['confidence']:.1%} CI half-width)"
    return checks.Numeric(ratio, 1.0, what,
                          "derivations.initialisation.check_monte_carlo")


def _broadcast(values: np.ndarray, shape: tuple, name: str) -> np.ndarray:
    if values.ndim > len(shape) or values.shape not in ((), (1,), shape):
        raise ValueError(f"{name} has shape {values.shape}, but the estimate has "
                         f"shape {shape}")
    return np.broadcast_to(values, shape)


# -------------------------------------------------------------------------------------
# The interactive figure (section "Explore: width, depth, scheme, activation").
# -------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _figure_functions(scheme: str, activation: str):
    closed = variance_closed_form(scheme, activation)
    input_part = v0 * sp.diff(closed, v0)  # the closed form is affine in v_0
    return (sp.lambdify((L, n, v0), closed, "numpy"),
            sp.lambdify((L, n, v0), input_part, "numpy"),
            deep_limit(scheme, activation))


def figure_data(log2_width: int, depth: int, scheme: str, activation: str) -> dict:
    """For l = 1..depth and v_0 = 1: log10 v_l, log10 of its input-driven part, the deep
    limit (NaN when it is 0 or infinite) and the input's share of v_l."""
    log2_width = checks.integer(log2_width, "log2_width", minimum=0, maximum=20)
    depth = checks.integer(depth, "depth", minimum=1, maximum=200)
    scheme, activation = _check_scheme(scheme), _check_activation(activation)
    total, input_part, limit = _figure_functions(scheme, activation)
    width = 2.0**log2_width
    layers = np.arange(1, depth + 1, dtype=float)
    v = np.asarray(total(layers, width, 1.0), dtype=float) * np.ones_like(layers)
    p = np.asarray(input_part(layers, width, 1.0), dtype=float) * np.ones_like(layers)
    lim = limit.subs({n: width, v0: 1})
    lim = float(lim) if lim.is_finite and lim > 0 else math.nan
    log10_limit = math.log10(lim) if math.isfinite(lim) else math.nan
    with np.errstate(divide="ignore"):
        return {"layer": layers, "log10_variance": np.log10(v),
                "log10_input_part": np.log10(p),
                "log10_limit": np.full_like(layers, log10_limit), "input_share": p / v}


_LEFT = (("log10_variance", "variance v_l", "C0", "-"),
         ("log10_input_part", "part from the input", "C2", "--"),
         ("log10_limit", "deep limit", "C3", ":"))


def plot_variance_figure(fig, data, log2_width, depth, scheme, activation):
    """Matplotlib view: log10 v_l against l (left) and the input's share of v_l (right).

    Creates its axes and lines on the first call and only updates them afterwards.
    """
    if not fig.axes:
        from matplotlib.ticker import MaxNLocator

        left, right = fig.subplots(1, 2, width_ratios=[3, 2])
        for _col, label, color, style in _LEFT:
            label = label.replace("v_l", r"$v_\ell$")
            left.plot([], [], color=color, ls=style, lw=2,
                      marker="o" if style == "-" else None, ms=3, label=label)
        left.set_xlabel(r"layer $\ell$")
        left.set_ylabel(r"$\log_{10} v_\ell$")
        left.legend(loc="lower left", fontsize="small")
        right.plot([], [], color="C2", lw=2, marker="o", ms=3)
        right.set_xlabel(r"layer $\ell$")
        right.set_ylabel(r"share of $v_\ell$ from the input")
        right.set_ylim(-0.03, 1.03)
        for ax in (left, right):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    left, right = fig.axes
    for line, (col, *_rest) in zip(left.lines, _LEFT):
        line.set_data(data["layer"], data[col])
    right.lines[0].set_data(data["layer"], data["input_share"])
    finite = np.concatenate([data[col][np.isfinite(data[col])] for col, *_r in _LEFT])
    low, high = float(finite.min()), float(finite.max())
    middle, span = (low + high) / 2, max(high - low, 2.0) * 1.1  # >= two decades
    left.set_ylim(middle - span / 2, middle + span / 2)
    for ax in (left, right):
        ax.set_xlim(0.5, max(depth, 2) + 0.5)
    left.set_title(f"{scheme}, {activation}, n = {2**log2_width}", fontsize="small")
    right.set_title("how much still depends on x", fontsize="small")


def chart_variance_figure(source, params):
    """Vega-Lite view of the same two panels."""
    import altair as alt

    names = {col: label for col, label, *_ in _LEFT}
    label_of = " : ".join(f"datum.curve == '{k}' ? '{v}'" for k, v in names.items())
    colors = alt.Scale(domain=list(names.values()),
                       range=["#1f77b4", "#2ca02c", "#d62728"])
    left = (source.transform_fold(list(names), as_=["curve", "log10"])
            .transform_calculate(curve=label_of + " : ''")
            .mark_line(point=True)
            .encode(x=alt.X("layer:Q", title="layer l"),
                    y=alt.Y("log10:Q", title="log10 v_l"),
                    color=alt.Color("curve:N", scale=colors,
                                    legend=alt.Legend(orient="bottom", title=None)))
            .properties(width=300, height=210, title="variance against depth"))
    right = (source.mark_line(point=True, color="#2ca02c")
             .encode(x=alt.X("layer:Q", title="layer l"),
                     y=alt.Y("input_share:Q", title="share of v_l from the input",
                             scale=alt.Scale(domain=[0, 1])))
             .properties(width=200, height=210, title="how much still depends on x"))
    return alt.hconcat(left, right)


def explorer():
    """The chapter's interactive figure: width, depth, scheme and activation."""
    from .explore import Choice, Explorer, Slider

    return Explorer(
        name="init-variance",
        controls=[Slider("log2_width", 2, 10, 2, value=6, label="log2 of the width n"),
                  Slider("depth", 1, 20, 1, value=10, label="depth L"),
                  Choice("scheme", list(SCHEMES), value="pytorch-default",
                         label="initialisation"),
                  Choice("activation", list(ACTIVATIONS), value="linear",
                         label="activation")],
        compute=figure_data, plot=plot_variance_figure, chart=chart_variance_figure,
        width=8.5, height=3.4,
    )
