"""The Explorer: one figure, its controls, one ``compute`` and the two views of it."""

from __future__ import annotations

import html
import itertools
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .controls import Choice, Slider

#: The largest precomputed table (number of values) an Explorer accepts: ~1 MB of JSON.
MAX_TABLE_VALUES = 150_000

_TABLE = "explorer_table"
_FIGURE_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def _finite_or_none(v: float, digits: int) -> float | None:
    if not math.isfinite(v):
        return None
    return float(f"{v:.{digits}g}")


@dataclass
class Explorer:
    """One interactive figure: controls, a compute function, a matplotlib plot and a
    Vega-Lite chart.

    ``compute(**params)`` returns a dict of equal-length 1-D arrays (the figure's
    numbers). ``plot(fig, data, **params)`` draws them with matplotlib (the Jupyter
    view); called again on the same figure, it updates it in place through the artists'
    setters (the Jupyter view repaints what those mark as changed).
    ``chart(source, params)`` returns an Altair chart over ``source``, the precomputed
    table already filtered to the current control values (the static view).
    ``description`` says in a sentence what the figure shows: it is the chart's
    accessible description (screen readers read it) and the image's alt text in Jupyter.
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
    # compute's columns at each grid point, kept by table() for data() (both views)
    _computed: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _FIGURE_NAME.match(self.name):
            raise ValueError("figure name must be lower-case words joined by '-', "
                             f"got {self.name!r}")
        names = [c.name for c in self.controls]
        if not names:
            raise ValueError("an Explorer needs at least one control")
        if len(set(names)) != len(names):
            raise ValueError(f"control names must be distinct, got {names}")

    # -- the single source of numbers --------------------------------------------------
    def defaults(self) -> dict:
        return {c.name: c.value for c in self.controls}

    def _grid_key(self, values: dict) -> tuple | None:
        """Where ``values`` sit on the controls' grids (None when off the grid)."""
        key = []
        for c in self.controls:
            v = values[c.name]
            if isinstance(c, Choice):
                options = list(c.options)
                k = options.index(v) if isinstance(v, str) and v in options else None
            elif (isinstance(v, (int, float)) and not isinstance(v, bool)
                  and math.isfinite(v)):
                k = c.index(v)
            else:
                k = None
            if k is None:
                return None
            key.append(k)
        return tuple(key)

    def data(self, **params) -> dict[str, np.ndarray]:
        """``compute`` at the given control values (defaults for the rest), checked.

        Once the static view's table is made (displaying the Explorer makes it), the
        columns computed for it are reused: a control move in Jupyter then computes
        nothing. Each call returns fresh copies.
        """
        unknown = set(params) - {c.name for c in self.controls}
        if unknown:
            raise ValueError(
                f"unknown control(s) {sorted(unknown)} for figure {self.name!r}")
        values = {**self.defaults(), **params}
        known = self._computed.get(self._grid_key(values)) if self._computed else None
        if known is not None:
            return {k: v.copy() for k, v in known.items()}
        out = self.compute(**values)
        cols = {k: np.asarray(v, dtype=float) for k, v in out.items()}
        if not cols:
            raise ValueError(f"figure {self.name!r}: compute returned no columns")
        lengths = {k: v.shape for k, v in cols.items()}
        if (any(len(s) != 1 for s in lengths.values())
                or len({s[0] for s in lengths.values()}) != 1):
            raise ValueError(f"figure {self.name!r}: compute must return equal-length "
                             f"1-D arrays, got {lengths}")
        return cols

    def table(self) -> list[dict]:
        """One record per combination of control values, holding compute's columns.

        Numbers are rounded to ``digits`` significant digits (they are only drawn) and
        non-finite values become None, which both renderers leave out of a line.
        """
        if self._table is not None:
            return self._table
        combos = list(itertools.product(*[c.values() for c in self.controls]))
        records, total, computed = [], 0, {}
        for combo in combos:
            params = dict(zip((c.name for c in self.controls), combo))
            cols = self.data(**params)
            computed[self._grid_key(params)] = cols
            total += sum(v.size for v in cols.values())
            if total > MAX_TABLE_VALUES:
                raise ValueError(
                    f"figure {self.name!r}: the precomputed table exceeds "
                    f"{MAX_TABLE_VALUES} values ({len(combos)} combinations); use "
                    "coarser control grids or fewer points")
            rec = {}
            for c, v in zip(self.controls, combo):
                if isinstance(c, Choice):
                    rec[c.name] = v
                else:
                    rec[f"_k_{c.name}"] = c.index(v)
            for k, v in cols.items():
                rec[k] = [_finite_or_none(float(x), self.digits) for x in v]
            records.append(rec)
        self._table, self._computed = records, computed
        return records

    # -- the static view ---------------------------------------------------------------
    def params(self) -> dict:
        import altair as alt

        return {c.name: alt.param(name=c.name, value=c.value, bind=c.binding())
                for c in self.controls}

    def vega_spec(self) -> dict:
        """The Vega-Lite specification of the static view (JSON-ready dict)."""
        import altair as alt

        params = self.params()
        rows = self.table()
        columns = [k for k in rows[0] if not k.startswith("_k_") and k not in params]
        # The table is a top-level named dataset: layers sharing `source` share a copy.
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
        """HTML that draws the chart with vega-embed (which the book's pages load)."""
        spec = json.dumps(self.vega_spec(), separators=(",", ":"), sort_keys=True)
        # A "</" inside a script would end it early; JSON allows the escaped form.
        spec = spec.replace("</", "<\\/")
        div = f"explorer-{self.name}"
        return (
            f'<div class="explorer" id="{div}" '
            f'data-explorer="{html.escape(self.name)}" role="figure" '
            f'aria-label="{html.escape(self.alt_text())}"></div>\n'
            '<script type="text/javascript">\n'
            f'vegaEmbed("#{div}", {spec}, {{"actions": false, "renderer": "svg"}})'
            '.catch(function (err) { console.error(err); });\n'
            "</script>"
        )

    # -- the Jupyter view --------------------------------------------------------------
    def renderer(self, partial: bool = True):
        """One reusable figure for this Explorer (see :class:`.render.Renderer`);
        ``partial=False`` repaints the whole figure on every move (the reference)."""
        from .render import Renderer

        return Renderer(self, partial=partial)

    def render_png(self, **params) -> bytes:
        """The matplotlib view at the given control values, as PNG (a fresh figure)."""
        return self.renderer(partial=False).png(**params)

    def widget(self, threaded: bool | None = None):
        """ipywidgets controls above an image that redraws whenever a control moves.

        One figure is drawn once and then updated in place, repainting only what
        changed. In a running kernel the redraws happen on a worker thread that always
        draws the latest control values, so a fast drag skips the intermediate positions
        instead of queueing a redraw for each (``threaded=False`` draws synchronously,
        as in tests).
        """
        from .jupyter import widget

        return widget(self, threaded)

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = dict(self.widget()._repr_mimebundle_())
        bundle["text/html"] = self.html()
        bundle["text/plain"] = (f"Explorer {self.name!r} with controls "
                                + ", ".join(c.name for c in self.controls))
        return bundle

