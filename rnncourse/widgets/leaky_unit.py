"""The leaky unit explorer: a gate between 0 and 1 sets how long a unit remembers."""

import math

import ipywidgets
import numpy as np
import torch

from rnncourse import dynamics, plots
from rnncourse._random import generator
from rnncourse._validation import check_int
from rnncourse.widgets.explorer import OPAQUE, Explorer, nice_limits, slider

__all__ = ["leaky_unit_explorer"]

_C = plots.PALETTE
_PATTERNS = {"impulse": [5], "pulses": [5, 20, 35, 50], "noise": []}  # steps where x = 1
_USES = [17, 32, 47]  # context mode: the stored value is used (then cleared) at these steps
_FORGET_GATE = 0.05


def leaky_unit_explorer(T: int = 60, *, seed: int = 0) -> Explorer:
    """The gated leaky unit s(t) = sigmoid(theta) s(t-1) + x(t) and its time constant.

    Controls: ``gate`` sigmoid(theta) in [0.01, 0.99]; ``pattern`` of x ("impulse" at
    t = 5, "pulses" every 15 steps, "noise"); ``mode``: "constant", or "context", where
    theta(t) = V z(t) + b_theta with z(t) = 0 right after each use of the stored value
    (gate 0.05: the unit is cleared) and 1 elsewhere (gate = the slider). ``data()`` keys:
    t, x, s, gate (T,), influence (T,) (of the first input on s), tau, half_life, theta.
    """
    T = check_int(T, "T", min_value=10, max_value=500)
    noise = (0.3 * torch.randn(T, generator=generator(seed), dtype=torch.float64)).numpy()
    t = np.arange(1, T + 1)

    fig, axes = plots.figure(2, 1, figsize=(7.0, 4.2), sharex=True)
    ax_s, ax_g = axes[:, 0]
    (line_x,) = ax_s.step(t, np.zeros(T), where="mid", color="0.5", lw=1, label="input $x^{(t)}$")
    (line_s,) = ax_s.plot(t, np.zeros(T), color=_C["blue"], label="state $s^{(t)}$")
    ax_s.set_ylabel("value (unitless)")
    ax_s.legend(loc="upper right", ncol=2, **OPAQUE)
    (line_g,) = ax_g.step(
        t, np.zeros(T), where="mid", color=_C["orange"], label=r"gate $\sigma(\theta^{(t)})$"
    )
    (line_i,) = ax_g.plot(t, np.zeros(T), color=_C["green"], label="influence of the first input")
    half = ax_g.axvline(0, color=_C["green"], ls=":", lw=1.2, label="half-life")
    ax_g.axhline(0.5, color="0.6", lw=0.8, zorder=1.5)  # under the curves
    ax_g.set(ylim=(-0.03, 1.03), xlim=(1, T), xlabel="time step t", ylabel="gate / influence")
    ax_g.legend(loc="center right", **OPAQUE)
    title = fig.suptitle("")

    def draw(gate, pattern, mode):
        x = noise.copy() if pattern == "noise" else np.zeros(T)
        x[[p - 1 for p in _PATTERNS[pattern] if p <= T]] = 1.0
        theta = math.log(gate / (1 - gate))
        gates = np.full(T, gate)
        if mode == "context":
            z = np.ones(T)
            z[[u for u in _USES if u < T]] = 0.0  # the step after a use clears the unit
            b_theta = math.log(_FORGET_GATE / (1 - _FORGET_GATE))
            gates = 1 / (1 + np.exp(-((theta - b_theta) * z + b_theta)))
        s = np.zeros(T)
        prev = 0.0
        for k in range(T):
            prev = s[k] = gates[k] * prev + x[k]
        first = _PATTERNS["impulse"][0] - 1
        influence = np.zeros(T)
        influence[first:] = np.cumprod(np.concatenate([[1.0], gates[first + 1 :]]))
        tau, half_life = dynamics.time_constant(gate), dynamics.half_life(gate)
        for line, y in ((line_x, x), (line_s, s), (line_g, gates), (line_i, influence)):
            line.set_ydata(y)
        crossed = np.nonzero(influence[first:] < 0.5)[0]
        half.set_xdata([first + 1 + (crossed[0] if crossed.size else T)] * 2)
        lo, hi = min(s.min(), x.min(), 0.0), max(s.max(), x.max(), 1.0)
        ax_s.set_ylim(nice_limits(lo, hi, 0.05, 0.15))
        what = "\ncontext clears the unit after each use" if mode == "context" else ""
        if title.get_text() and ("\n" in title.get_text()) != bool(what):
            fig.set_layout_engine("constrained")  # the title changed its height: lay out again
        title.set_text(
            f"gate {gate:.2f} (θ = {theta:+.2f}): time constant {tau:.1f} steps, "
            f"half-life {half_life:.1f} steps{what}"
        )
        return dict(t=t, x=x, s=s, gate=gates, influence=influence, tau=tau,
                    half_life=half_life, theta=theta)  # fmt: skip

    controls = {
        "gate": slider(ipywidgets.FloatSlider, 0.9, 0.01, 0.99, 0.01, "gate σ(θ)"),
        "pattern": ipywidgets.Dropdown(
            options=["impulse", "pulses", "noise"], value="pulses", description="input"
        ),
        "mode": ipywidgets.ToggleButtons(options=["constant", "context"], value="constant"),
    }
    return Explorer(controls, fig, draw, dynamic=[line_x, line_s, line_g, line_i, half, title])
