"""Repaint only what changed in a matplotlib figure updated in place (Agg).

A full draw paints a fixed sequence of *units*: the figure's patch, then for each Axes
its patch and children (lines, collections, images, texts, the two axis objects with
their ticks, spines, titles, legend) in z-order, then the figure's own artists. A plot
function that updates the figure in place usually changes few of them: some lines' data,
a title, one axis' limits. :class:`Redraw` finds the units that changed and paints only
those; every other unit comes from cached pixels, painted at its place in the same
sequence:

- the unchanged units before the first changed one form an opaque background (copied);
- each later run of unchanged units is a transparent layer, composited "over" the image
  where a full draw would have painted it (so a legend stays above a line that moved
  under it).

Painting in the full draw's order keeps the image equal to a full draw, up to the
rounding of alpha compositing (a level or two in 255, where semi-transparent paints
overlap: a legend's frame over a line that moved under it).

A unit counts as changed when matplotlib marked it, or something inside it, stale (every
setter does) since the last draw, or when what it is drawn through moved: the limits,
the position or the scales of its Axes; an axis object counts as changed only when its
ticks, tick labels or offset text would change; a title when its position would; a
legend when its box would move (placed at "best", it follows its Axes' data). Figures
this cannot follow (sub-figures, non-rectilinear or label-aligned axes, composited
images) are always drawn in full.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.legend import Legend

#: Layer sets kept per figure, one per pattern of changed units (usually one in use).
LAYER_CACHE = 4


def _children(artist) -> list:
    """What an artist draws. An axis' ticks are read from its lists: ``get_children``
    would run the tick locator (and may add ticks)."""
    if isinstance(artist, Axis):
        return [artist.label, artist.offsetText, *artist.majorTicks, *artist.minorTicks]
    return artist.get_children()


def _touched(artist) -> bool:
    """Whether the artist or anything it draws is stale (changed since it was drawn)."""
    return artist.stale or any(_touched(c) for c in _children(artist))


def _clean(artist) -> None:
    artist.stale = False
    for child in _children(artist):
        _clean(child)


def _titles(ax) -> tuple:
    return ax.title, ax._left_title, ax._right_title


def _title_states(ax) -> tuple:
    """Where each title is, and whether it paints anything."""
    return tuple((t.get_position(), bool(t.get_text()) and t.get_visible())
                 for t in _titles(ax))


def _place_titles(ax, renderer) -> None:
    """Place an Axes' titles as a draw does (``Axes._update_title_position``), skipping
    its costly part (the y axis' tick labels, for an offset text that might overlap a
    title) when no offset text or neighbour can move a title: then each title sits at
    the top of the Axes unless it would overlap it, and only that is checked."""
    fig = ax.get_figure(root=False)
    simple = (not ax.child_axes and "outline" not in ax.spines
              and len(ax._twinned_axes.get_siblings(ax)) == 1
              and len(fig._align_label_groups["title"].get_siblings(ax)) == 1
              and ax.xaxis.get_ticks_position() not in ("top", "unknown")
              and ax.xaxis.get_label_position() != "top"
              and not (ax.yaxis.offsetText.get_visible()
                       and ax.yaxis.major.formatter.get_offset()))
    titles = [t for t in _titles(ax) if t.get_text()]
    if not titles or (ax._autotitlepos is not None and not ax._autotitlepos):
        return  # nothing to place, or placed by hand: a draw leaves them as they are
    if simple:
        top = ax.bbox.ymax
        for t in _titles(ax):
            t.set_position((t.get_position()[0], 1.0))
        if top >= 0 and all(t.get_window_extent(renderer).ymin >= top for t in titles):
            return
    ax._update_title_position(renderer)


def _geometry(ax) -> tuple:
    """What places everything an Axes draws: its limits, box on the canvas, scales."""
    return (tuple(ax.viewLim.bounds), tuple(ax.bbox.bounds),
            ax.xaxis.get_scale(), ax.yaxis.get_scale())


def _axis_signature(axis) -> tuple:
    """What an axis object paints: tick positions and labels, offset text, placement."""
    major, minor = axis.get_majorticklocs(), axis.get_minorticklocs()
    labels = axis.major.formatter.format_ticks(major)
    offset = axis.major.formatter.get_offset()
    minor_labels = axis.minor.formatter.format_ticks(minor)
    return (axis.get_visible(), tuple(axis.get_view_interval()), axis.get_scale(),
            tuple(axis.axes.bbox.bounds), tuple(major), tuple(labels), offset,
            tuple(minor), tuple(minor_labels), axis.get_label_position(),
            axis.get_ticks_position())


def _legend_signature(legend, renderer) -> tuple:
    """Where a legend goes: its location code and anchor box; at "best" (code 0), the
    box it takes, found from its Axes' data."""
    where = legend.get_window_extent(renderer).bounds if legend._loc == 0 else None
    return legend._loc, tuple(legend.get_bbox_to_anchor().bounds), where


def _structure(fig) -> tuple:
    """Which units a full draw paints and in what order (the children of the figure and
    of each Axes, their z-order and animated flags), and the canvas size."""
    parts = [tuple(fig.bbox.bounds), fig.dpi]
    for parent in (fig, *fig.axes):
        parts.append(tuple((a, a.get_zorder(), a.get_animated())
                           for a in parent.get_children()))
    for ax in fig.axes:
        parts.append((ax.axison, ax.get_frame_on(), ax.get_visible(),
                      ax.get_rasterization_zorder()))
    return tuple(parts)


#: Matplotlib internals the fast path reads (matplotlib is pinned in requirements.txt);
#: with another matplotlib that lacks one, every draw is a full one.
_AXES_INTERNALS = ("_update_title_position", "_left_title", "_right_title",
                   "_twinned_axes", "_autotitlepos")


def supported(fig) -> bool:
    """Whether :class:`Redraw` can follow this figure's draw (else: full draws)."""
    if not (hasattr(fig, "_align_label_groups") and hasattr(Legend, "_loc")):
        return False
    aligned = any(len(group) > 1 for grouper in fig._align_label_groups.values()
                  for group in grouper)
    return (not aligned and not fig.subfigs and fig.suppressComposite is not False
            and all(type(ax).name == "rectilinear"
                    and all(hasattr(ax, name) for name in _AXES_INTERNALS)
                    for ax in fig.axes))


def _settle(fig, renderer) -> None:
    """What a full draw settles before painting: pending autoscaling, aspect ratios."""
    for ax in fig.axes:
        ax.viewLim  # noqa: B018 (reading it applies a pending autoscale)
        for a in (ax, *ax.child_axes):
            locator = a.get_axes_locator()
            a.apply_aspect(locator(a, renderer) if locator else None)


def _sparse(buf: np.ndarray) -> tuple:
    """A transparent layer as its opaque pixels (copied as 32-bit words) and its partly
    transparent ones (blended)."""
    alpha = buf[..., 3].reshape(-1)
    opaque = np.flatnonzero(alpha == 255)
    part = np.flatnonzero((alpha > 0) & (alpha < 255))
    words = buf.view(np.uint32).reshape(-1)
    return opaque, words[opaque], part, buf.reshape(-1, 4)[part].astype(np.int64)


def _composite(buf: np.ndarray, layer: tuple) -> None:
    """Paint ``layer`` over ``buf`` in place, by the rule Agg blends a pixel of colour c
    and opacity a onto one of colour C and opacity A (straight alpha, 8 bits). A pixel
    painted once on a transparent layer holds c and a, so it lands as if drawn directly.
    """
    opaque, words, part, src = layer
    buf.view(np.uint32).reshape(-1)[opaque] = words
    if part.size:
        flat = buf.reshape(-1, 4)
        dst = flat[part].astype(np.int64)
        a, big_a = src[:, 3:], dst[:, 3:]
        r = dst[:, :3] * big_a
        out = ((a + big_a) << 8) - a * big_a
        flat[part, :3] = ((src[:, :3] << 8) * a + r * (256 - a)) // out
        flat[part, 3] = out[:, 0] >> 8


@dataclass
class _Scene:
    """What the last full draw painted and the state each unit was painted in."""

    plan: list  # units in draw order
    owner: list  # each unit's Axes, or None for the figure's own artists
    structure: tuple
    geometry: dict  # Axes -> _geometry
    signatures: dict  # Axis -> _axis_signature
    titles: dict  # Axes -> _title_states
    legends: dict  # Legend -> _legend_signature
    versions: list  # per unit: how many times it changed (keys the cached layers)
    renderer: object = None  # the canvas' Agg renderer, which holds the last image
    layers: OrderedDict = field(default_factory=OrderedDict)


class Redraw:
    """Draws one figure with Agg: in full (:meth:`full`), or repainting only the units
    that changed since the last draw (:meth:`update`). Both leave the image in the
    canvas."""

    def __init__(self, fig):
        self.fig = fig
        self.scene: _Scene | None = None
        #: What the last draw did: "full", "partial" or "unchanged", with unit counts;
        #: and, for each unit of ``scene.plan``, whether it was repainted.
        self.last: dict = {}
        self.changed: list[bool] = []

    def buffer(self) -> np.ndarray:
        """The canvas' RGBA pixels (a view, valid until the next draw)."""
        return np.asarray(self.fig.canvas.get_renderer().buffer_rgba())

    # -- full draw ---------------------------------------------------------------------
    def full(self) -> None:
        """Draw everything, and record which units the draw painted, in which order."""
        fig = self.fig
        plan, owner, patched = [], [], []
        axes = set(fig.axes)

        def recorder(unit, parent):
            def draw(renderer, *args, **kwargs):
                plan.append(unit)
                owner.append(parent)
                return type(unit).draw(unit, renderer, *args, **kwargs)
            return draw

        # An Axes of fig.axes is not a unit: its children are, with it as their owner.
        for parent in (fig, *fig.axes):
            for child in parent.get_children():
                if child not in axes:
                    child.draw = recorder(child, None if parent is fig else parent)
                    patched.append(child)
        self.scene = None
        try:
            fig.canvas.draw()
        finally:
            for child in patched:
                vars(child).pop("draw", None)
        renderer = fig.canvas.get_renderer()
        if supported(fig) and len({id(u) for u in plan}) == len(plan):
            self.scene = _Scene(plan, owner, _structure(fig), geometry={},
                                signatures={}, titles={}, legends={},
                                versions=[0] * len(plan), renderer=renderer)
            self._remember(range(len(plan)), set(fig.axes), renderer)
        for unit in plan:
            _clean(unit)
        for ax in fig.axes:
            ax.stale = False
        fig.stale = False
        self.last = {"mode": "full", "units": len(plan), "changed": len(plan)}
        self.changed = [True] * len(plan)

    def _remember(self, indices, axes, renderer) -> None:
        """Store the state the given units (and Axes) are painted in."""
        s = self.scene
        for ax in axes:
            s.geometry[ax] = _geometry(ax)
            s.titles[ax] = _title_states(ax)
        for i in indices:
            unit = s.plan[i]
            if isinstance(unit, Axis):
                s.signatures[unit] = _axis_signature(unit)
            elif isinstance(unit, Legend):
                s.legends[unit] = _legend_signature(unit, renderer)

    # -- partial draw ------------------------------------------------------------------
    def update(self) -> None:
        """Repaint what changed since the last draw (a full draw when that cannot be
        followed: a first draw, or units added, removed or reordered)."""
        fig, s = self.fig, self.scene
        if s is None or not supported(fig):
            return self.full()
        touched = {ax for ax in fig.axes if ax.stale}  # before _settle marks them all
        renderer = fig.canvas.get_renderer()
        _settle(fig, renderer)
        if renderer is not s.renderer or _structure(fig) != s.structure:
            return self.full()  # (a new renderer: something else drew at another size)
        changed, moved = self._changed(touched, renderer)
        n = sum(changed)
        painted_all = self._paint(changed, renderer) if n else False
        self._remember([i for i, c in enumerate(changed) if c], touched | moved,
                       renderer)
        # Drawing and placing titles leave stale marks (e.g. on ticks out of view):
        # clear them where they may be, so that the next move sees only its own changes.
        look = touched | moved
        for unit, ax, c in zip(s.plan, s.owner, changed):
            if painted_all or c or ax is None or ax in look or isinstance(unit, Axes):
                _clean(unit)
        for ax in fig.axes:
            ax.stale = False
        fig.stale = False
        self.last = {"mode": "partial" if n else "unchanged", "units": len(s.plan),
                     "changed": n}
        self.changed = changed

    def _changed(self, touched: set, renderer) -> tuple[list[bool], set]:
        """For each unit of the plan, whether it must be repainted; and the Axes whose
        limits, position or scales changed."""
        s, fig = self.scene, self.fig
        geometry = {ax: _geometry(ax) for ax in fig.axes}
        moved = {ax for ax in fig.axes if geometry[ax] != s.geometry[ax]}
        resized = {ax for ax in moved if geometry[ax][1] != s.geometry[ax][1]}
        look = touched | moved
        titles = {t: (ax, k) for ax in look for k, t in enumerate(_titles(ax))}
        stale_titles = {t for t in titles if _touched(t)}
        changed = [False] * len(s.plan)
        for i, (unit, ax) in enumerate(zip(s.plan, s.owner)):
            if ax is None:  # the figure's own artists may be placed through any Axes
                changed[i] = _touched(unit) or (bool(moved) and unit is not fig.patch)
            elif ax not in look:  # unchanged, unless drawn through an Axes that moved
                changed[i] = bool(moved) and not (
                    unit is ax.patch or isinstance(unit, (Axis, Legend))
                    or unit in _titles(ax))
            elif unit in titles:
                continue
            elif unit is ax.patch:
                changed[i] = _touched(unit) or ax in resized
            elif isinstance(unit, Axis):
                changed[i] = (any(_touched(c) for c in _children(unit))
                              or ((unit.stale or ax in moved)
                                  and _axis_signature(unit) != s.signatures[unit]))
            elif not isinstance(unit, Legend):
                changed[i] = _touched(unit) or ax in moved
        # Legends after the rest (one at "best" is placed by its Axes' data), titles
        # last (placing them reads the tick labels, which marks those stale).
        for i, (unit, ax) in enumerate(zip(s.plan, s.owner)):
            if isinstance(unit, Legend) and ax in look:
                changed[i] = (_touched(unit)
                              or _legend_signature(unit, renderer) != s.legends[unit])
        axis_changed = {ax for c, unit, ax in zip(changed, s.plan, s.owner)
                        if c and isinstance(unit, Axis)}
        for ax in look:
            if (ax in moved or ax in axis_changed
                    or any(t in stale_titles for t in _titles(ax))):
                _place_titles(ax, renderer)
        states = {ax: _title_states(ax) for ax in look}
        for i, unit in enumerate(s.plan):
            if unit in titles:
                ax, k = titles[unit]
                (old_xy, old_shown), (xy, shown) = s.titles[ax][k], states[ax][k]
                # An empty or hidden title paints nothing: it matters if it did or will.
                changed[i] = (old_shown or shown) and (
                    unit in stale_titles or ax in resized or xy != old_xy)
        return changed, moved

    def _paint(self, changed: list[bool], renderer) -> bool:
        """Paint the image; True when every unit was painted (new layers were made)."""
        s = self.scene
        for i, c in enumerate(changed):
            s.versions[i] += c
        key = tuple(-1 if c else v for c, v in zip(changed, s.versions))
        layers = s.layers.get(key)
        made = layers is None
        if made:
            layers = s.layers[key] = self._layers(changed, renderer)
            if len(s.layers) > LAYER_CACHE:
                s.layers.popitem(last=False)
        else:
            s.layers.move_to_end(key)
        background, steps = layers
        buf = self.buffer()
        if background is None:
            renderer.clear()
        else:
            np.copyto(buf, background)
        for units, layer in steps:
            for i in units:
                s.plan[i].draw(renderer)
            if layer is not None:
                _composite(buf, layer)
        return made

    def _layers(self, changed: list[bool], renderer) -> tuple:
        """The background (unchanged units before the first changed one) and, after each
        run of changed units, the layer of the unchanged units that follow it."""
        s = self.scene
        runs: list[list[int]] = [[]]  # alternating: unchanged, changed, unchanged, ...
        for i, c in enumerate(changed):
            if (len(runs) - 1) % 2 != c:  # odd runs hold changed units
                runs.append([])
            runs[-1].append(i)
        buf = self.buffer()

        def paint(indices):
            renderer.clear()
            for i in indices:
                s.plan[i].draw(renderer)

        paint(runs[0])
        background = buf.copy() if runs[0] else None
        steps = []
        for k in range(1, len(runs), 2):
            layer = None
            if k + 1 < len(runs):
                paint(runs[k + 1])
                layer = _sparse(buf)
            steps.append((runs[k], layer))
        return background, steps
