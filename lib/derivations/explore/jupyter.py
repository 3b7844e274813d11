"""The Jupyter view of an Explorer: ipywidgets controls above an image that keeps up.

Each control move asks for a new image; :class:`Latest` draws on a worker thread and
keeps only the newest request, so after a fast drag the last position is on screen one
redraw after the hand stops (at most the redraw in progress, then the last one). Images
already drawn are kept (a small LRU of PNGs per widget), so returning to a position
costs nothing; a first visit is drawn by :class:`.render.Renderer`, which repaints only
what changed.
"""

from __future__ import annotations

import threading
import traceback
from collections import OrderedDict
from typing import Any, Callable

from .render import DPI

#: PNGs kept per widget (about 40 kB each): enough to sweep a slider back and forth.
PNG_CACHE = 64


def in_kernel() -> bool:
    """Whether we run inside a Jupyter kernel (then redraws go to a worker thread)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


class Latest:
    """Run ``job`` on the most recent submitted value; values submitted while it runs
    are replaced by newer ones, so only the last of a burst is drawn after the current
    one."""

    def __init__(self, job: Callable[[Any], None], threaded: bool):
        self.job, self.threaded = job, threaded
        self._pending = None
        self._has_pending = False
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        if threaded:
            threading.Thread(target=self._loop, daemon=True,
                             name="explorer-redraw").start()

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
                    traceback.print_exc()
            with self._lock:
                if not self._has_pending:
                    self._idle.set()

    def wait(self, timeout: float | None = 10.0) -> bool:
        """Block until every submitted value is drawn (True) or the timeout passes."""
        return self._idle.wait(timeout)


def widget(explorer, threaded: bool | None = None):
    """The controls and the image of ``explorer``, in a VBox (``Explorer.widget``)."""
    import ipywidgets as w

    controls = {c.name: c.widget() for c in explorer.controls}
    renderer = explorer.renderer()
    pngs: OrderedDict = OrderedDict()

    def draw(params: dict) -> None:
        key = tuple(params[name] for name in controls)
        png = pngs.get(key)
        if png is None:
            png = pngs[key] = renderer.png(**params)
            if len(pngs) > PNG_CACHE:
                pngs.popitem(last=False)
        else:
            pngs.move_to_end(key)
        image.value = png

    width = f"{int(explorer.width * DPI)}px"
    image = w.Image(format="png",
                    layout=w.Layout(width="100%", max_width=width, height="auto"))
    draw({k: v.value for k, v in controls.items()})
    latest = Latest(draw, in_kernel() if threaded is None else threaded)

    def redraw(_change=None):
        latest.submit({k: v.value for k, v in controls.items()})

    for ctl in controls.values():
        ctl.observe(redraw, names="value")
    box = w.VBox([*controls.values(), image], layout=w.Layout(max_width="100%"))
    box.explorer_controls = controls  # for tests and for readers who drive it from code
    box.explorer_image = image
    box.explorer_wait = latest.wait
    return box
