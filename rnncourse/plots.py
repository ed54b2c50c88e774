"""Figures in one house style (Okabe-Ito colours), each a ``matplotlib.figure.Figure``
built without pyplot; single-panel functions take ``ax=`` to draw into an Axes."""

import contextlib
from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rnncourse import dynamics
from rnncourse._validation import check_int
from rnncourse.training import History

__all__ = [
    "PALETTE", "RC", "style", "use_style", "figure", "plot_states", "plot_gradient_norms",
    "plot_eigenvalues", "plot_gates", "plot_history"
]  # fmt: skip

PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}
"""Okabe-Ito colours, in the order the house style cycles through them."""

RC = {
    "axes.prop_cycle": matplotlib.cycler(color=list(PALETTE.values())),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 9,  # nothing under 9 pt: readable at 100 % zoom on a laptop
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
    "figure.dpi": 100,
    "savefig.dpi": 100,
}
"""The house style as matplotlib rcParams."""

GATE_COLORS = {"i": PALETTE["blue"], "f": PALETTE["orange"], "g": PALETTE["green"]}
GATE_COLORS["o"] = PALETTE["vermillion"]


@contextlib.contextmanager
def style():
    """Context manager: figures made inside it use the house style."""
    with matplotlib.rc_context(RC):
        yield


def use_style() -> None:
    """Apply the house style to every later figure of this session."""
    matplotlib.rcParams.update(RC)


def figure(
    nrows: int = 1, ncols: int = 1, *, figsize=(6.0, 3.2), sharex=False, sharey=False, **subplot_kw
):
    """A new house-style Figure (not registered with pyplot) and its Axes (nrows, ncols);
    other keywords (e.g. ``projection``) go to each subplot."""
    nrows = check_int(nrows, "nrows", min_value=1)
    ncols = check_int(ncols, "ncols", min_value=1)
    with style():
        fig = Figure(figsize=figsize, layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(
            nrows, ncols, sharex=sharex, sharey=sharey, squeeze=False, subplot_kw=subplot_kw or None
        )
    return fig, axes


def _array(x, name: str, ndims: Sequence[int], what: str) -> np.ndarray:
    """``x`` (tensor, array or nested list) as a float NumPy array with one of ``ndims``."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().resolve_conj().numpy()
    elif not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name} must be a tensor, array or list of numbers; {err}") from None
    if not np.issubdtype(x.dtype, np.number):
        raise TypeError(f"{name} must hold numbers, got dtype {x.dtype}.")
    if x.ndim not in ndims:
        raise ValueError(f"{name} must be {what}, got shape {x.shape} ({x.ndim} dimensions).")
    if x.size == 0:
        raise ValueError(f"{name} is empty (shape {x.shape}).")
    return x


def _one_axes(ax, figsize):
    if ax is None:
        ax = figure(figsize=figsize)[1][0, 0]
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}.")
    return ax.figure, ax


def plot_states(hs, *, units: int = 8, title: str | None = None) -> Figure:
    """Plot the first ``units`` units of the states ``hs`` (T, H) over time, or one panel
    per sequence of (B, T, H) (at most 4)."""
    hs = _array(hs, "hs", (2, 3), "states of shape (T, H) or (B, T, H)")
    units = check_int(units, "units", min_value=1)
    hs = hs[None] if hs.ndim == 2 else hs[:4]
    fig, axes = figure(1, hs.shape[0], figsize=(min(3.2 * hs.shape[0], 12), 3.0), sharey=True)
    with style():
        for k, (ax, h) in enumerate(zip(axes[0], hs, strict=True)):
            for j in range(min(units, h.shape[1])):
                ax.plot(np.arange(1, h.shape[0] + 1), h[:, j], label=f"$h_{{{j + 1}}}$")
            ax.set_xlabel("time step t")
            if hs.shape[0] > 1:
                ax.set_title(f"sequence {k + 1}")
        axes[0, 0].set_ylabel("state $h^{(t)}$ (unitless)")
        if h.shape[1] <= 8:  # beside the last panel, never over the traces
            axes[0, -1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        fig.suptitle(title or "State trajectories: does the state settle, grow or oscillate?")
    return fig


def plot_gradient_norms(norms, *, labels=None, ax=None, title: str | None = None) -> Figure:
    """Plot ``norms`` ||dh(T)/dh(t)|| (L,), (K, L) with K ``labels``, or {label: (L,)},
    against the lag T - t on a log axis, with the fitted growth rate."""
    if isinstance(norms, Mapping):
        if labels is not None:
            raise ValueError("labels must be None when norms is a dict (its keys are the labels).")
        labels = list(norms)
        curves = [_array(v, f"norms[{k!r}]", (1,), "(L,)") for k, v in norms.items()]
    else:
        arr = _array(norms, "norms", (1, 2), "norms per lag (L,) or several curves (K, L)")
        curves = [arr] if arr.ndim == 1 else list(arr)
        labels = list(labels) if labels is not None else [None] * len(curves)
        if len(labels) != len(curves):
            raise ValueError(f"got {len(labels)} labels for {len(curves)} curves.")
    fig, ax = _one_axes(ax, (5.0, 3.2))
    with style():
        for label, y in zip(labels, curves, strict=True):
            y = np.abs(y.astype(float))
            rate = dynamics.log_growth_rate(torch.as_tensor(y)) if len(y) > 2 else float("nan")
            text = f"rate {rate:+.2f}/step" if np.isfinite(rate) else "vanishes"
            ax.plot(np.arange(len(y)), np.where(y > 0, y, np.nan), label=f"{label or ''} ({text})")
        ax.set_yscale("log")
        ax.set(xlabel="lag $T - t$ (steps)", ylabel=r"$\|\partial h^{(T)} / \partial h^{(t)}\|$")
        ax.legend(loc="best")
        ax.set_title(title or "Gradient reach: a straight falling line means vanishing")
    return fig


def plot_eigenvalues(
    W, *, ax=None, title: str | None = None, legend: str | None = "upper right"
) -> Figure:
    """Plot the eigenvalues of ``W`` (H, H), or eigenvalues (H,), with the unit circle;
    ``legend``: a matplotlib location, "outside" (right of the plot) or None."""
    if legend is not None and not isinstance(legend, str):
        raise TypeError(f"legend must be a location string, 'outside' or None, got {legend!r}.")
    eig = _array(W, "W", (1, 2), "a square matrix (H, H) or complex eigenvalues (H,)")
    if eig.ndim == 2:
        eig = dynamics.eigenvalues(torch.as_tensor(eig)).numpy()
    fig, ax = _one_axes(ax, (3.6, 3.6))
    rho = float(np.abs(eig).max())
    with style():
        theta = np.linspace(0, 2 * np.pi, 200)
        ax.plot(np.cos(theta), np.sin(theta), "--", color="0.4", lw=1, label="unit circle")
        ax.scatter(eig.real, eig.imag, s=12, color=PALETTE["blue"], label="eigenvalues of W")
        lim = max(1.1, 1.1 * rho)
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal")
        ax.set(xlabel=r"Re $\lambda$", ylabel=r"Im $\lambda$")
        if legend == "outside":
            ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1))
        elif legend is not None:
            ax.legend(loc=legend)
        where = "inside" if rho < 1 else "outside"
        ax.set_title(title or f"spectral radius {rho:.2f}: {where} the unit circle")
    return fig


def plot_gates(gates, *, markers=None, ax=None, title: str | None = None) -> Figure:
    """Plot ``gates`` {name: values (T,) or (T, H)} over time ((T, H): units thin, mean
    thick; "i", "f", "g", "o" in fixed colours), with vertical lines at ``markers``."""
    if not isinstance(gates, Mapping) or not gates:
        raise TypeError("gates must be a non-empty dict {name: values (T,) or (T, H)}.")
    fig, ax = _one_axes(ax, (6.0, 3.0))
    with style():
        for k, (name, values) in enumerate(gates.items()):
            v = _array(values, f"gates[{name!r}]", (1, 2), "(T,) or (T, H)")
            color = GATE_COLORS.get(name, list(PALETTE.values())[k % len(PALETTE)])
            t = np.arange(1, v.shape[0] + 1)
            label = name
            if v.ndim == 2:
                ax.plot(t, v, color=color, lw=0.5, alpha=0.35)
                v, label = v.mean(axis=1), f"{name} (mean)"
            ax.plot(t, v, color=color, label=label)
        for m in markers if markers is not None else []:
            ax.axvline(float(m), color="0.2", ls=":", lw=1.2)
        ax.set_ylim(-0.03, 1.03)
        ax.set(xlabel="time step t", ylabel="gate value (0 = closed, 1 = open)")
        ax.legend(loc="best", ncol=len(gates))
        ax.set_title(title or "Gate values over time: which gates move at the marked steps?")
    return fig


def _history(history) -> tuple[dict[str, np.ndarray], dict[str, tuple]]:
    """A history as ``({name: per-step values}, {metric: (steps, values)})``."""
    evals = {}
    if isinstance(history, History):
        if not history.steps:
            raise ValueError("history has no recorded updates yet; train first.")
        out = {"loss": history.loss}
        if history.grad_norm:  # none with a custom update that does not log it
            out["grad_norm"] = history.grad_norm
        evals = {k: (history.eval_steps, v) for k, v in history.eval_metrics.items()}
    elif isinstance(history, Mapping):
        out = dict(history)
    elif isinstance(history, Sequence) and history and isinstance(history[0], Mapping):
        out = {k: [step.get(k, np.nan) for step in history] for k in history[0]}
    else:
        out = {"loss": history}
    if "loss" not in out:
        raise ValueError(
            f"history must contain per-step 'loss' values, got keys {sorted(out)}. Pass a "
            f"list of losses, a dict {{'loss': [...], 'grad_norm': [...]}} or a list of dicts."
        )
    series = {
        k: _array(v, f"history[{k!r}]", (1,), "a list of per-step numbers")
        for k, v in out.items()
        if k == "grad_norm" or "loss" in k
    }
    return series, evals


def plot_history(history, *, log_loss: bool = True, title: str | None = None) -> Figure:
    """Plot the loss per step, and the gradient norm on a second (log) axis.

    ``history``: a :class:`~rnncourse.training.History`, a list of losses, a dict of
    per-step lists (``"loss"``, ``"grad_norm"``, other ``"*loss*"``) or a list of dicts.
    ``log_loss``: a log loss axis, if all values are positive.
    """
    hist, evals = _history(history)
    fig, ax = _one_axes(None, (6.0, 3.2))
    # the loss axis cycles through the palette without the gradient norm's vermillion
    colors = [c for name, c in PALETTE.items() if name != "vermillion"]
    with style():
        curves = [(k, v) for k, v in hist.items() if k != "grad_norm"]
        for k, (name, values) in enumerate(curves):
            ax.plot(np.arange(1, len(values) + 1), values, color=colors[k], label=name)
        for k, (name, (steps, values)) in enumerate(evals.items(), start=len(curves)):
            ax.plot(steps, values, "o-", ms=3, color=colors[k % len(colors)], label=name)
        ax.set(xlabel="training step", ylabel="loss")
        shown = np.concatenate([np.asarray(line.get_ydata(), float) for line in ax.lines])
        if log_loss and np.nanmin(shown) > 0:
            ax.set_yscale("log")
        lines = list(ax.lines)
        if "grad_norm" in hist:
            ax2 = ax.twinx()
            g, red = hist["grad_norm"], PALETTE["vermillion"]
            ax2.plot(
                np.arange(1, len(g) + 1), g, color=red, lw=0.8, alpha=0.8, label="gradient norm"
            )
            log_norm = bool((g > 0).any())  # no log axis for all-zero norms (no gradients)
            if log_norm:
                ax2.set_yscale("log")
            ax2.set_ylabel("gradient norm (log)" if log_norm else "gradient norm", color=red)
            ax2.grid(False)
            ax2.spines["right"].set_visible(True)
            lines += ax2.lines
        ax.legend(handles=lines, loc="upper right")
        ax.set_title(title or "Training: the loss should fall; gradient-norm spikes are cliffs")
    return fig
