"""Interactive figures that work both in Jupyter and in the static website.

An :class:`Explorer` is one figure with a few controls (sliders and choices). It has a
single source for its numbers, a plain ``compute(**params)`` function, and two views:

- in Jupyter, ipywidgets controls redraw a matplotlib figure from ``compute`` at once;
- in the static site, where no kernel runs, a Vega-Lite chart with bound controls redraws
  in the browser from a table that the Explorer precomputes by calling ``compute`` at
  every combination of control values.

Displaying an Explorer returns one MIME bundle holding both views: Jupyter front ends pick
the widget view, and the book's build is configured (``nb_mime_priority_overrides``) to
pick the HTML of the chart. See the intro page, section "How the figures work".
"""

from __future__ import annotations

import html
import io
import itertools
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import sympy as sp
from sympy.printing.codeprinter import CodePrinter

__all__ = ["Slider", "Choice", "Explorer", "vega_expr", "MAX_TABLE_VALUES"]

#: The largest precomputed table (number of values) an Explorer accepts: about 1 MB of JSON.
MAX_TABLE_VALUES = 150_000

_TABLE = "explorer_table"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FIGURE_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"control name must be an identifier (letters, digits, _), got {name!r}")


@dataclass(frozen=True)
class Slider:
    """A numeric control on the grid ``min, min + step, ..., max`` (both ends included)."""

    name: str
    min: float
    max: float
    step: float
    value: float
    label: str | None = None

    def __post_init__(self) -> None:
        _check_name(self.name)
        for what in ("min", "max", "step", "value"):
            v = getattr(self, what)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"slider {self.name!r}: {what} must be a finite number, got {v!r}")
        if self.step <= 0:
            raise ValueError(f"slider {self.name!r}: step must be positive, got {self.step}")
        if self.max < self.min:
            raise ValueError(f"slider {self.name!r}: max {self.max} is below min {self.min}")
        n = (self.max - self.min) / self.step
        if abs(n - round(n)) > 1e-9 * max(1.0, abs(n)):
            raise ValueError(f"slider {self.name!r}: (max - min) must be a whole number of steps")
        if self.index(self.value) is None:
            raise ValueError(f"slider {self.name!r}: value {self.value} is not on the grid {self.min}:{self.step}:{self.max}")

    @property
    def integer(self) -> bool:
        """Whether every grid value is an integer (then the widget is an IntSlider)."""
        return all(float(v).is_integer() for v in (self.min, self.step, self.value))

    def values(self) -> list:
        """The grid of values, as ints for an integer slider."""
        n = int(round((self.max - self.min) / self.step))
        vals = [self.min + k * self.step for k in range(n + 1)]
        if self.integer:
            return [int(round(v)) for v in vals]
        # Round away the binary noise of min + k * step (the grid is decimal by construction).
        return [float(f"{v:.12g}") for v in vals]

    def index(self, value: float) -> int | None:
        """Position of ``value`` on the grid, or None when it is not a grid value."""
        k = (value - self.min) / self.step
        n = round((self.max - self.min) / self.step)
        if abs(k - round(k)) > 1e-9 or not 0 <= round(k) <= n:
            return None
        return int(round(k))

    def widget(self):
        import ipywidgets as w

        cls = w.IntSlider if self.integer else w.FloatSlider
        kind = int if self.integer else float
        return cls(
            value=kind(self.value), min=kind(self.min), max=kind(self.max), step=kind(self.step),
            description=self.label or self.name, continuous_update=True,
            style={"description_width": "initial"}, layout=w.Layout(width="420px"),
        )

    def binding(self):
        import altair as alt

        return alt.binding_range(min=self.min, max=self.max, step=self.step, name=(self.label or self.name) + " ")

    def filter_expr(self) -> str:
        """Vega expression true for table rows that belong to the current slider value."""
        return f"datum._k_{self.name} == round(({self.name} - {self.min!r}) / {self.step!r})"


@dataclass(frozen=True)
class Choice:
    """A control that picks one of a few named options (strings)."""

    name: str
    options: Sequence[str]
    value: str
    label: str | None = None

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not self.options or not all(isinstance(o, str) for o in self.options):
            raise ValueError(f"choice {self.name!r}: options must be a non-empty list of strings")
        if len(set(self.options)) != len(self.options):
            raise ValueError(f"choice {self.name!r}: options must be distinct")
        if self.value not in self.options:
            raise ValueError(f"choice {self.name!r}: value {self.value!r} is not one of {list(self.options)}")

    def values(self) -> list:
        return list(self.options)

    def widget(self):
        import ipywidgets as w

        return w.ToggleButtons(options=list(self.options), value=self.value, description=self.label or self.name,
                               style={"description_width": "initial"})

    def binding(self):
        import altair as alt

        return alt.binding_radio(options=list(self.options), name=(self.label or self.name) + " ")

    def filter_expr(self) -> str:
        return f"datum.{self.name} == {self.name}"


def _finite_or_none(v: float, digits: int) -> float | None:
    if not math.isfinite(v):
        return None
    return float(f"{v:.{digits}g}")


@dataclass
class Explorer:
    """One interactive figure: controls, a compute function, a matplotlib plot and a Vega-Lite chart.

    ``compute(**params)`` returns a dict of equal-length 1-D arrays (the figure's numbers);
    ``plot(fig, data, **params)`` draws them with matplotlib (the Jupyter view);
    ``chart(source, params)`` returns an Altair chart over ``source``, the precomputed table
    already filtered to the current control values (the static view).
    ``description`` says in a sentence what the figure shows: it is the chart's accessible
    description (screen readers read it) and the image's alt text in Jupyter.
    """

    name: str
    controls: Sequence[Slider | Choice]
    compute: Callable[..., Mapping[str, Any]]
    plot: Callable[..., None]
    chart: Callable[..., Any]
    width: float = 7.0
    height: float = 3.6
    digits: int = 5
    description: str = ""
    _table: list | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _FIGURE_NAME.match(self.name):
            raise ValueError(f"figure name must be lower-case words joined by '-', got {self.name!r}")
        names = [c.name for c in self.controls]
        if not names:
            raise ValueError("an Explorer needs at least one control")
        if len(set(names)) != len(names):
            raise ValueError(f"control names must be distinct, got {names}")

    # -- the single source of numbers ------------------------------------------------------
    def defaults(self) -> dict:
        return {c.name: c.value for c in self.controls}

    def data(self, **params) -> dict[str, np.ndarray]:
        """``compute`` at the given control values (defaults for the rest), checked for shape."""
        unknown = set(params) - {c.name for c in self.controls}
        if unknown:
            raise ValueError(f"unknown control(s) {sorted(unknown)} for figure {self.name!r}")
        out = self.compute(**{**self.defaults(), **params})
        cols = {k: np.asarray(v, dtype=float) for k, v in out.items()}
        if not cols:
            raise ValueError(f"figure {self.name!r}: compute returned no columns")
        lengths = {k: v.shape for k, v in cols.items()}
        if any(len(s) != 1 for s in lengths.values()) or len({s[0] for s in lengths.values()}) != 1:
            raise ValueError(f"figure {self.name!r}: compute must return equal-length 1-D arrays, got {lengths}")
        return cols

    def table(self) -> list[dict]:
        """One record per combination of control values, holding compute's columns as arrays.

        Numbers are rounded to ``digits`` significant digits (they are only drawn) and
        non-finite values become None, which both renderers leave out of a line.
        """
        if self._table is not None:
            return self._table
        combos = list(itertools.product(*[c.values() for c in self.controls]))
        records, total = [], 0
        for combo in combos:
            params = dict(zip((c.name for c in self.controls), combo))
            cols = self.data(**params)
            total += sum(v.size for v in cols.values())
            if total > MAX_TABLE_VALUES:
                raise ValueError(
                    f"figure {self.name!r}: the precomputed table exceeds {MAX_TABLE_VALUES} values "
                    f"({len(combos)} combinations); use coarser control grids or fewer points")
            rec = {}
            for c, v in zip(self.controls, combo):
                rec[c.name if isinstance(c, Choice) else f"_k_{c.name}"] = v if isinstance(c, Choice) else c.index(v)
            for k, v in cols.items():
                rec[k] = [_finite_or_none(float(x), self.digits) for x in v]
            records.append(rec)
        self._table = records
        return records

    # -- the static view ------------------------------------------------------------------
    def params(self) -> dict:
        import altair as alt

        return {c.name: alt.param(name=c.name, value=c.value, bind=c.binding()) for c in self.controls}

    def vega_spec(self) -> dict:
        """The Vega-Lite specification of the static view (JSON-ready dict)."""
        import altair as alt

        params = self.params()
        rows = self.table()
        columns = [k for k in rows[0] if not k.startswith("_k_") and k not in params]
        # The table is a top-level named dataset, so layers that share `source` share one copy.
        source = (
            alt.Chart(alt.NamedData(name=_TABLE))
            .transform_filter(" && ".join(c.filter_expr() for c in self.controls))
            .transform_flatten(columns)
        )
        chart = self.chart(source, params).add_params(*params.values())
        spec = chart.to_dict()
        spec.setdefault("datasets", {})[_TABLE] = rows
        spec.setdefault("usermeta", {})["explorer"] = self.name
        spec["description"] = self.alt_text()
        return spec

    def alt_text(self) -> str:
        """What the figure shows, for readers who cannot see it."""
        controls = ", ".join(c.label or c.name for c in self.controls)
        what = self.description or f"Interactive figure {self.name.replace('-', ' ')}"
        return f"{what.rstrip('.')}. Controls: {controls}."

    def html(self) -> str:
        """HTML that draws the chart with vega-embed (which the book's pages load locally)."""
        spec = json.dumps(self.vega_spec(), separators=(",", ":"), sort_keys=True)
        # A "</" inside a script would end it early; JSON allows the escaped form.
        spec = spec.replace("</", "<\\/")
        div = f"explorer-{self.name}"
        return (
            f'<div class="explorer" id="{div}" data-explorer="{html.escape(self.name)}" role="figure" '
            f'aria-label="{html.escape(self.alt_text())}"></div>\n'
            '<script type="text/javascript">\n'
            f'vegaEmbed("#{div}", {spec}, {{"actions": false, "renderer": "svg"}})'
            '.catch(function (err) { console.error(err); });\n'
            "</script>"
        )

    # -- the Jupyter view -----------------------------------------------------------------
    def renderer(self) -> "_Renderer":
        """One reusable figure for this Explorer (see :class:`_Renderer`)."""
        return _Renderer(self)

    def render_png(self, **params) -> bytes:
        """The matplotlib view at the given control values, as PNG bytes (a fresh figure)."""
        return self.renderer().png(**params)

    def widget(self, threaded: bool | None = None):
        """ipywidgets controls above an image that redraws whenever a control moves.

        One figure is drawn once and then updated in place. In a running kernel the redraws
        happen on a worker thread that always draws the latest control values, so a fast
        drag skips the intermediate positions instead of queueing a redraw for each
        (``threaded=False`` draws synchronously, as in tests).
        """
        import ipywidgets as w

        controls = {c.name: c.widget() for c in self.controls}
        renderer = self.renderer()
        image = w.Image(value=renderer.png(), format="png",
                        layout=w.Layout(width="100%", max_width=f"{int(self.width * _DPI)}px", height="auto"))
        if threaded is None:
            threaded = _in_kernel()
        latest = _Latest(lambda params: setattr(image, "value", renderer.png(**params)), threaded)

        def redraw(_change=None):
            latest.submit({k: v.value for k, v in controls.items()})

        for ctl in controls.values():
            ctl.observe(redraw, names="value")
        box = w.VBox([*controls.values(), image], layout=w.Layout(max_width="100%"))
        box.explorer_controls = controls  # for tests and for readers who want to drive it from code
        box.explorer_image = image
        box.explorer_wait = latest.wait
        return box

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = dict(self.widget()._repr_mimebundle_())
        bundle["text/html"] = self.html()
        bundle["text/plain"] = f"Explorer {self.name!r} with controls " + ", ".join(c.name for c in self.controls)
        return bundle


_DPI = 90


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


class _Renderer:
    """A matplotlib figure drawn once and then updated in place, rendered to PNG by Agg.

    The first draw lays the figure out (constrained layout); later draws keep that layout
    fixed and only change what the plot function updates (artists' data, titles, limits),
    which is several times cheaper than building a new figure. A plot function that adds
    axes on every call (not in-place) is detected, and the figure is rebuilt each time.
    """

    def __init__(self, explorer: "Explorer"):
        self.explorer = explorer
        self.fig = None

    def _new_figure(self):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=(self.explorer.width, self.explorer.height), layout="constrained")
        FigureCanvasAgg(fig)
        return fig

    def png(self, **params) -> bytes:
        values = {**self.explorer.defaults(), **params}
        data = self.explorer.data(**values)
        first = self.fig is None
        if first:
            self.fig = self._new_figure()
        n_axes = len(self.fig.axes)
        self.explorer.plot(self.fig, data, **values)
        if not first and len(self.fig.axes) != n_axes:
            # Not an in-place plot function: draw it on a fresh figure instead.
            self.fig = self._new_figure()
            self.explorer.plot(self.fig, data, **values)
            first = True
        if first:
            self.fig.canvas.draw()  # lay out once...
            self.fig.set_layout_engine("none")  # ...then keep that layout
        buf = io.BytesIO()
        self.fig.savefig(buf, format="png", dpi=_DPI)
        return buf.getvalue()


class _Latest:
    """Run ``job`` on the most recent submitted value; values submitted while it runs are
    replaced by newer ones, so only the last of a burst is drawn after the current one."""

    def __init__(self, job: Callable[[Any], None], threaded: bool):
        import threading

        self.job, self.threaded = job, threaded
        self._pending = None
        self._has_pending = False
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        if threaded:
            threading.Thread(target=self._loop, daemon=True, name="explorer-redraw").start()

    def submit(self, value) -> None:
        if not self.threaded:
            self.job(value)
            return
        with self._lock:
            self._pending, self._has_pending = value, True
            self._idle.clear()
        self._wake.set()

    def _loop(self) -> None:
        while True:
            self._wake.wait()
            with self._lock:
                value, has = self._pending, self._has_pending
                self._has_pending = False
                self._wake.clear()
            if has:
                try:
                    self.job(value)
                except Exception:  # keep the worker alive; show the error in the log
                    import traceback

                    traceback.print_exc()
            with self._lock:
                if not self._has_pending:
                    self._idle.set()

    def wait(self, timeout: float | None = 10.0) -> bool:
        """Block until every submitted value has been drawn (True) or the timeout passes."""
        return self._idle.wait(timeout)


class _VegaPrinter(CodePrinter):
    """Prints a SymPy expression in Vega's expression language (a subset of JavaScript)."""

    printmethod = "_vega"
    language = "Vega"
    _default_settings = {**CodePrinter._default_settings, "strict": True, "contract": False}
    _functions = {"exp": "exp", "log": "log", "Abs": "abs", "sqrt": "sqrt", "floor": "floor",
                  "ceiling": "ceil", "sin": "sin", "cos": "cos", "tan": "tan", "atan": "atan"}

    def __init__(self, names: Mapping[sp.Symbol, str]):
        super().__init__()
        self.names = names
        self.known_functions = dict(self._functions)

    # CodePrinter's hooks for statements; a Vega expression is a single line.
    def _format_code(self, lines):
        return lines

    def _get_statement(self, codestring):
        return codestring

    def _get_comment(self, text):
        return f"/* {text} */"

    def _declare_number_const(self, name, value):
        raise ValueError("Vega expressions cannot declare constants")

    def _print_Symbol(self, expr):
        if expr not in self.names:
            raise ValueError(f"symbol {expr} has no Vega name; pass it in `names`")
        return self.names[expr]

    def _print_Pow(self, expr):
        base, e = expr.as_base_exp()
        if e == sp.Rational(1, 2):
            return f"sqrt({self._print(base)})"
        return f"pow({self._print(base)}, {self._print(e)})"

    def _print_Rational(self, expr):
        return f"({expr.p}/{expr.q})"

    def _print_Integer(self, expr):
        return str(expr.p)

    def _print_Float(self, expr):
        return repr(float(expr))

    def _print_Exp1(self, expr):
        return "E"

    def _print_Pi(self, expr):
        return "PI"

    def _print_Max(self, expr):
        return "max(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Min(self, expr):
        return "min(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Piecewise(self, expr):
        if expr.args[-1].cond != True:  # noqa: E712 (SymPy's true)
            raise ValueError("a Piecewise needs a final (expr, True) branch to print for Vega")
        out = self._print(expr.args[-1].expr)
        for e, c in reversed(expr.args[:-1]):
            out = f"(({self._print(c)}) ? ({self._print(e)}) : ({out}))"
        return out

    def _print_Relational(self, expr):
        op = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}[expr.rel_op]
        return f"({self._print(expr.lhs)} {op} {self._print(expr.rhs)})"

    def _print_log(self, expr):
        if len(expr.args) != 1:
            raise ValueError("only the natural log prints for Vega")
        return f"log({self._print(expr.args[0])})"


def vega_expr(expr: sp.Expr, names: Mapping[sp.Symbol, str]) -> str:
    """Print ``expr`` in Vega's expression language, with each symbol renamed by ``names``.

    Vega has ``exp``, ``log`` and ``pow`` but no hyperbolic functions, so those are
    rewritten as exponentials first. Unsupported functions raise ``ValueError``.
    """
    expr = sp.sympify(expr).rewrite([sp.tanh, sp.sinh, sp.cosh, sp.coth], sp.exp)
    try:
        return _VegaPrinter(names).doprint(expr)
    except ValueError:
        raise
    except Exception as err:  # the printer's "not supported" errors, as one clear type
        raise ValueError(f"cannot print {expr} for Vega: {err}") from err
