"""The chapter's interactive figure: error signals of a last-step loss, back in time.

Chapter "Backprop through time in the univariate LSTM", section 'Exploring the error
signals'. The loss is L = h(T) with T = 100; the controls are the offsets b_f, b_i, b_o
of an LSTM with fixed weights; a vanilla RNN on the same inputs is drawn for comparison.
"""

from __future__ import annotations

import numpy as np

from .. import checks
from .model import _backprop, _params, _run, rnn_bptt, rnn_forward

__all__ = [
    "FIGURE_T", "FIGURE_EVERY", "FIGURE_PARAMS", "FIGURE_RNN", "FIGURE_SEED",
    "figure_inputs", "error_signals", "plot_error_signals", "chart_error_signals",
    "explorer",
]

#: Length of the figure's sequence.
FIGURE_T = 100
#: The figure draws every FIGURE_EVERY-th step (t = T, T - 2, ...): a small table.
FIGURE_EVERY = 2
#: The figure's fixed LSTM weights (the offsets b_i, b_f, b_o are its controls).
FIGURE_PARAMS = {"w_ix": 1.0, "w_ih": 2.0, "w_fx": 1.0, "w_fh": 2.0, "w_ox": 1.0,
                 "w_oh": 2.0, "w_gx": 1.0, "w_gh": 2.0, "b_g": 0.0}
#: The figure's vanilla RNN h(t) = tanh(w_x x(t) + w_h h(t-1)) on the same inputs.
FIGURE_RNN = {"w_x": 1.0, "w_h": 2.0}
#: Seed of the figure's standard-normal input sequence.
FIGURE_SEED = 421


def figure_inputs() -> np.ndarray:
    """The inputs x(1..FIGURE_T), standard normal from ``default_rng(FIGURE_SEED)``."""
    return np.random.default_rng(FIGURE_SEED).standard_normal(FIGURE_T)


def _log10_abs(v: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        out = np.log10(np.abs(v))
    out[~np.isfinite(out)] = np.nan  # an exactly-zero signal has no logarithm: a gap
    return out


def error_signals(forget: float = 4.0, ingate: float = -4.0, outgate: float = -4.0,
                  steps: int = FIGURE_T, every: int = 1) -> dict:
    """log10 |hbar(t)| and log10 |cbar(t)| of the LSTM and log10 |hbar(t)| of the
    vanilla RNN, when the loss is L = h(steps), at t = steps, steps - every, ...
    (ascending).

    ``forget``, ``ingate``, ``outgate`` are the offsets b_f, b_i, b_o; the weights are
    FIGURE_PARAMS and FIGURE_RNN, the inputs the first ``steps`` of
    :func:`figure_inputs`.
    """
    params = _params({**FIGURE_PARAMS, "b_f": checks.real(forget, "forget", minimum=-50,
                                                            maximum=50),
                      "b_i": checks.real(ingate, "ingate", minimum=-50, maximum=50),
                      "b_o": checks.real(outgate, "outgate", minimum=-50, maximum=50)})
    T = checks.integer(steps, "steps", minimum=1, maximum=FIGURE_T)
    every = checks.integer(every, "every", minimum=1, maximum=T)
    x = figure_inputs()[:T]
    e = np.zeros(T)
    e[-1] = 1.0
    b = _backprop(params, _run(params, x, 0.0, 0.0), e)
    rnn_nodes = rnn_forward(FIGURE_RNN["w_x"], FIGURE_RNN["w_h"], x)
    rnn = rnn_bptt(FIGURE_RNN["w_h"], rnn_nodes, e)
    t = np.arange(T, 0, -every)[::-1]
    return {"t": t.astype(float), "log10_hbar": _log10_abs(b["hbar"][t]),
            "log10_cbar": _log10_abs(b["cbar"][t]),
            "log10_hbar_rnn": _log10_abs(rnn[t])}


def _figure_data(forget: float, ingate: float, outgate: float) -> dict:
    return error_signals(forget, ingate, outgate, FIGURE_T, FIGURE_EVERY)


_SERIES = (("log10_cbar", "LSTM c̄(t)", "tab:blue", "-"),
           ("log10_hbar", "LSTM h̄(t)", "tab:orange", "-"),
           ("log10_hbar_rnn", "RNN h̄(t)", "tab:gray", "--"))
_KEYS = tuple(s[0] for s in _SERIES)


def plot_error_signals(fig, data: dict, **params) -> None:
    """Matplotlib view of :func:`error_signals`: the three log10 curves against t.
    Creates the axes and lines on the first call, then only updates them (the widget
    reuses ``fig``).
    """
    if not isinstance(data, dict) or any(k not in data for k in ("t", *_KEYS)):
        raise ValueError("data must be error_signals()'s output")
    if not fig.axes:
        ax = fig.add_subplot(1, 1, 1)
        for _key, label, color, style in _SERIES:
            ax.plot([], [], style, color=color, label=label)
        ax.set_xlabel("time step t")
        ax.set_ylabel("log10 |error signal|")
        ax.legend(loc="lower right")
    ax = fig.axes[0]
    for line, (key, *_rest) in zip(ax.lines, _SERIES):
        line.set_data(data["t"], data[key])
    values = np.concatenate([data[k] for k, *_ in _SERIES])
    values = values[np.isfinite(values)]
    low, high = (values.min(), values.max()) if values.size else (-1.0, 1.0)
    pad = 0.05 * max(high - low, 1.0)
    ax.set_xlim(0, data["t"].max() + 1)
    ax.set_ylim(low - pad, high + pad)
    names = {"forget": "b_f", "ingate": "b_i", "outgate": "b_o"}
    offsets = ", ".join(f"{names[k]} = {params[k]:g}" for k in names if k in params)
    ax.set_title("loss L = h(T): error signals back through time"
                 + (f" ({offsets})" if offsets else ""))


def chart_error_signals(source, params):
    """Altair view of :func:`error_signals` over the precomputed table: the same three
    curves, folded into one line layer coloured by signal."""
    import altair as alt

    keys = [k for k, *_ in _SERIES]
    names = [label for _k, label, *_ in _SERIES]
    calc = " : ".join(f"datum.key == '{k}' ? '{n}'"
                      for k, n in zip(keys[:-1], names[:-1]))
    calc += f" : '{names[-1]}'"
    return (
        source.transform_fold(keys, as_=["key", "value"])
        .transform_calculate(signal=calc)
        .mark_line()
        .encode(
            x=alt.X("t:Q", title="time step t"),
            y=alt.Y("value:Q", title="log10 |error signal|"),
            color=alt.Color("signal:N", title=None, scale=alt.Scale(
                domain=names, range=["#1f77b4", "#ff7f0e", "#7f7f7f"])),
            # Same field and title as the colour: Vega-Lite merges the two into one
            # legend.
            strokeDash=alt.StrokeDash("signal:N", title=None, scale=alt.Scale(
                domain=names, range=[[1, 0], [1, 0], [6, 4]])),
        )
        .properties(width=460, height=260,
                    title="loss L = h(T): error signals back through time")
    )


def explorer():
    """The chapter's figure, with the three gate offsets as controls.

    Table: 5^3 offset combinations x 4 columns x 50 points = 25,000 numbers.
    """
    from ..explore import Explorer, Slider

    return Explorer(
        name="lstm-error-signals",
        controls=[
            Slider("forget", -2.0, 6.0, 2.0, value=4.0, label="forget offset b_f"),
            Slider("ingate", -6.0, 2.0, 2.0, value=-4.0, label="input offset b_i"),
            Slider("outgate", -6.0, 2.0, 2.0, value=-4.0, label="output offset b_o"),
        ],
        compute=_figure_data,
        plot=plot_error_signals,
        chart=chart_error_signals,
    )
