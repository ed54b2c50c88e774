"""The repeated nonlinearity explorer: a few steps of tanh make a step function of x."""

import ipywidgets
import numpy as np

from rnncourse import plots
from rnncourse._validation import check_float, check_int
from rnncourse.widgets.explorer import Explorer, for_log_axis, slider

__all__ = ["repeated_nonlinearity_explorer"]

_C = plots.PALETTE


def repeated_nonlinearity_explorer(
    u: float = 1.0, b: float = 0.0, *, x_range: float = 3.0, max_T: int = 30
) -> Explorer:
    """How a repeated nonlinearity bends a function: h(T) as a function of a constant input x.

    h(t) = tanh(rho h(t-1) + u x + b), h(0) = 0, runs ``T`` steps for every x in
    [-x_range, x_range]. Controls: ``T`` in [1, max_T] and ``gain`` rho in [0, 3]. The
    slope |dh(T)/dx| is shown on a log axis up to 1e2, 1e4, 1e8 or 1e16.

    ``data()`` keys: x (N,), h (N,) = h(T) at each x, slope (N,), steps (T, N) = h(1)..h(T).
    """
    u, b = check_float(u, "u"), check_float(b, "b")
    x_range = check_float(x_range, "x_range", min_value=0.0, strict_min=True)
    max_T = check_int(max_T, "max_T", min_value=2, max_value=200)
    x = np.linspace(-x_range, x_range, 401)

    fig, axes = plots.figure(1, 2, figsize=(8.0, 3.0))
    ax_h, ax_d = axes[0]
    faint = ax_h.plot(x, np.zeros((len(x), max_T)), color=_C["sky"], lw=0.6, alpha=0.5)
    (line_h,) = ax_h.plot(x, np.zeros_like(x), color=_C["blue"], lw=2)
    ax_h.set(ylim=(-1.05, 1.05), xlabel="constant input x", ylabel="$h^{(T)}(x)$")
    ax_h.set_title("final state (faint: earlier steps)")
    (line_d,) = ax_d.plot(x, np.ones_like(x), color=_C["vermillion"])
    ax_d.set(yscale="log", xlabel="constant input x", ylabel="slope size $|dh^{(T)}/dx|$")
    ax_d.set_title("sensitivity to the input (log scale)")
    title = fig.suptitle("")

    def draw(T, gain):
        steps, h, slope = np.empty((T, len(x))), np.zeros_like(x), np.zeros_like(x)
        for k in range(T):
            h = steps[k] = np.tanh(gain * h + u * x + b)
            slope = (1 - h**2) * (gain * slope + u)  # exact dh(t)/dx, chain rule
        steepest = np.abs(slope).max()
        for k, line in enumerate(faint):
            line.set_visible(k < T - 1)
            if k < T - 1:
                line.set_ydata(steps[k])
        line_h.set_ydata(h)
        line_d.set_ydata(for_log_axis(np.abs(slope)))
        ax_d.set_ylim(1e-4, _top(steepest))
        title.set_text(
            f"h(t) = tanh({gain:.2f} h(t-1) + {u:g} x + {b:g}), T = {T}: "
            f"steepest slope {steepest:.4g}"
        )
        return dict(x=x, h=h, slope=slope, steps=steps)

    controls = {
        "T": slider(ipywidgets.IntSlider, 1, 1, max_T, 1, "steps T"),
        "gain": slider(ipywidgets.FloatSlider, 1.5, 0.0, 3.0, 0.05, "gain ρ"),
    }
    return Explorer(controls, fig, draw, dynamic=[*faint, line_h, line_d, title])


def _top(steepest: float) -> float:
    """10^k for the smallest k in 2, 4, 8, 16, ... that holds ``steepest`` with a little room."""
    k = 2
    while 10.0**k < 2 * steepest:
        k *= 2
    return 10.0**k
