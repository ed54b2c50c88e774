"""Interactive explorers: move a knob, watch gains, gates and nonlinearities compound.

Each explorer is a function returning an :class:`~rnncourse.explorer.Explorer` (the
rendering engine, in :mod:`rnncourse.explorer`). Display it in a notebook to get sliders
above a figure; a change of a control recomputes the data and redraws what changed.
Without a widget frontend the same object shows its current figure as a plain image.
Tests and scripts drive it directly::

    ex = gain_explorer()
    ex.set(gain=1.2, nonlinearity="relu")
    ex.data()["jac_norm"]        # what the figure shows

The module is longer than most: four explorers of about a hundred lines each, one
section each, kept together so that every explorer of the course is in one place. The
sampling explorer (temperature and top-k on a trained character model) is in
:mod:`rnncourse.sampling_explorer`, which would have made this one too long, and is
re-exported here.
"""

from __future__ import annotations

import functools
import math

import ipywidgets as widgets
import numpy as np
import torch

from rnncourse import cells, dynamics, plots, tasks, training
from rnncourse._validation import check_float, check_int, check_tensor
from rnncourse.explorer import Explorer, nice_ceiling, nice_limits, slider
from rnncourse.sampling_explorer import sampling_explorer

__all__ = [
    "Explorer",
    "gain_explorer",
    "leaky_unit_explorer",
    "lstm_gate_explorer",
    "lstm_gates",
    "repeated_nonlinearity_explorer",
    "sampling_explorer",
]

_C = plots.PALETTE
_REGIME_COLORS = {"vanishing": _C["blue"], "stable": _C["green"], "exploding": _C["vermillion"]}


def _positive(y: np.ndarray) -> np.ndarray:
    """Values to draw on a log axis: non-positive or tiny ones become gaps."""
    return np.where(y > 1e-30, y, np.nan)


# --------------------------------------------------------------------------- gain


def gain_explorer(n: int = 64, T: int = 50, *, seed: int = 0) -> Explorer:
    """Recurrent gain: how the spectral radius rho of W decides whether gradients survive.

    An RNN ``h(t) = phi(W h(t-1) + x(t))`` with ``n`` units runs ``T`` steps from a random
    state; W is a fixed random matrix rescaled to spectral radius rho. Controls: ``gain``
    rho in [0, 2], ``nonlinearity`` phi ("linear", "tanh", "relu"), ``input`` (True:
    x(t) ~ N(0, 1), False: x(t) = 0). Panels: ||h(t)|| over time, ||dh(T)/dh(t)|| against
    the lag (log axis) and the eigenvalues of W with the unit circle. The title names the
    regime from the fitted growth rate r per step: vanishing (r < -0.02), stable or
    exploding (r > 0.02).

    The network can be rebuilt: one ``torch.Generator`` seeded with ``seed`` draws, in
    this order, ``W_1 = dynamics.random_recurrent_matrix(n, 1.0, seed=generator)`` (then
    ``W = rho W_1``), the start state ``h(0) ~ N(0, I)`` ``(n,)`` and the inputs ``(T, n)``,
    all float64.

    ``data()`` keys: t (T+1,), h_norm (T+1,), lag (T+1,), jac_norm (T+1,) (spectral
    norms), eigenvalues (n,) complex, rate, regime.
    """
    n = check_int(n, "n", min_value=2, max_value=512)
    T = check_int(T, "T", min_value=2, max_value=500)
    gen = torch.Generator().manual_seed(check_int(seed, "seed", min_value=0))
    W1 = dynamics.random_recurrent_matrix(n, 1.0, seed=gen)
    h0 = torch.randn(n, generator=gen, dtype=torch.float64)
    noise = torch.randn(T, n, generator=gen, dtype=torch.float64)
    eig1 = dynamics.eigenvalues(W1).numpy()
    # The log axes span 10^-k .. 10^k, k = 2, 4, 8, ...: the smallest window that holds
    # the curve, at most as wide as the largest gain with a linear unit (the fastest
    # growth) needs. Windows change in big steps, so dragging rarely redraws the axes.
    top = max(
        float(v.max()) for xs in (None, noise) for v in _gain_norms(2.0 * W1, h0, xs, "linear", T)
    )
    k_max = math.ceil(math.log10(top)) + 1
    limits = (10.0**-k_max, 10.0**k_max)

    fig, axes = plots.figure(1, 3, figsize=(10.0, 3.0))
    ax_h, ax_j, ax_e = axes[0]
    (line_h,) = ax_h.plot([], [], color=_C["blue"])
    ax_h.set(yscale="log", xlim=(0, T), ylim=limits, xlabel="time step t", ylabel=r"$\|h^{(t)}\|$")
    ax_h.set_title("state size over time")
    (line_j,) = ax_j.plot([], [], color=_C["vermillion"])
    ax_j.set(yscale="log", xlim=(0, T), ylim=limits, xlabel="lag $T - t$ (steps)")
    ax_j.set_ylabel(r"$\|\partial h^{(T)}/\partial h^{(t)}\|$")
    ax_j.set_title("gradient reach")
    plots.plot_eigenvalues(torch.from_numpy(eig1), ax=ax_e, title="eigenvalues of W", legend=None)
    ax_e.set(xlim=(-2.2, 2.2), ylim=(-2.2, 2.2))
    dots = ax_e.collections[0]
    title = fig.suptitle("")

    @functools.lru_cache(maxsize=512)  # a slider dragged back and forth: compute once
    def norms(gain, nonlinearity, input):
        return _gain_norms(gain * W1, h0, noise if input else None, nonlinearity, T)

    def draw(fig, gain, nonlinearity, input):
        h_norm, jac = (v.copy() for v in norms(gain, nonlinearity, input))
        rate = dynamics.log_growth_rate(torch.from_numpy(jac))
        regime = "vanishing" if rate < -0.02 else "exploding" if rate > 0.02 else "stable"
        t = np.arange(T + 1)
        line_h.set_data(t, _positive(h_norm))
        line_j.set_data(t, _positive(jac))
        ax_h.set_ylim(_log_window(h_norm, k_max))
        ax_j.set_ylim(_log_window(jac, k_max))
        eig = gain * eig1
        dots.set_offsets(np.column_stack([eig.real, eig.imag]))
        title.set_text(
            f"ρ = {gain:.2f}, {nonlinearity}{' + input' if input else ''}: {regime} "
            f"gradients (rate {rate:+.2f}/step)"
        )
        title.set_color(_REGIME_COLORS[regime])
        return dict(t=t, h_norm=h_norm, lag=t, jac_norm=jac, eigenvalues=eig, rate=rate,
                    regime=regime)  # fmt: skip

    controls = {
        "gain": slider(widgets.FloatSlider, 0.9, 0.0, 2.0, 0.05, "gain ρ"),
        "nonlinearity": widgets.Dropdown(
            options=["linear", "tanh", "relu"], value="tanh", description="nonlinearity"
        ),
        "input": widgets.Checkbox(value=False, description="input x(t) ~ N(0, 1)"),
    }
    return Explorer(controls, fig, draw, dynamic=[line_h, line_j, dots, title])


def _log_window(values: np.ndarray, k_max: int) -> tuple[float, float]:
    """Log-axis limits 10^-k .. 10^k for the smallest k in 2, 4, 8, ... (capped at k_max)
    that holds the positive values, with a little room."""
    v = values[np.isfinite(values) & (values > 0)]
    reach = float(np.abs(np.log10(v)).max()) + 0.3 if v.size else 0.0
    k = 2
    while k < min(reach, k_max):
        k *= 2
    k = min(k, k_max)
    return 10.0**-k, 10.0**k


def _gain_norms(W, h0, xs, nonlinearity, T):
    """||h(t)|| for t = 0..T and ||dh(T)/dh(t)|| against the lag T - t = 0..T (spectral)."""
    hs, jacs = dynamics.jacobian_products(
        W, h0, xs, nonlinearity, steps=None if xs is not None else T
    )
    return hs.norm(dim=1).numpy(), dynamics.spectral_norms(jacs).flip(0).numpy()


# --------------------------------------------------------------------------- leaky unit

_PATTERNS = {"impulse": [5], "pulses": [5, 20, 35, 50]}
_USES = [17, 32, 47]  # context mode: the stored value is used (then cleared) at these steps
_FORGET_GATE = 0.05


def leaky_unit_explorer(T: int = 60, *, seed: int = 0) -> Explorer:
    """The gated leaky unit s(t) = sigmoid(theta) s(t-1) + x(t) and its time constant.

    Controls: ``gate`` sigmoid(theta) in [0.01, 0.99] (the lecture writes sigmoid(c));
    ``pattern`` of the input x ("impulse" at t = 5, "pulses" every 15 steps, "noise");
    ``mode``: "constant" keeps the gate fixed, "context" drives it with a context signal
    z(t) through theta(t) = V z(t) + b_theta: z(t) = 1 holds (gate = the slider value),
    z(t) = 0 right after the stored value has been used clears the unit (gate = 0.05), so
    the next input starts from a clean state. Panels: x and s over time; the gate and the
    remaining influence of the first input on s(t) (the product of the gates since then),
    with its half-life.

    ``data()`` keys: t, x, s, gate (T,), influence (T,), tau, half_life, theta.
    """
    T = check_int(T, "T", min_value=10, max_value=500)
    gen = torch.Generator().manual_seed(check_int(seed, "seed", min_value=0))
    noise = (0.3 * torch.randn(T, generator=gen, dtype=torch.float64)).numpy()
    t = np.arange(1, T + 1)

    fig, axes = plots.figure(2, 1, figsize=(7.0, 4.2), sharex=True)
    ax_s, ax_g = axes[:, 0]
    (line_x,) = ax_s.step(t, np.zeros(T), where="mid", color="0.5", lw=1, label="input $x^{(t)}$")
    (line_s,) = ax_s.plot(t, np.zeros(T), color=_C["blue"], label="state $s^{(t)}$")
    ax_s.set_ylabel("value (unitless)")
    ax_s.legend(loc="upper right", ncol=2, framealpha=0.8, frameon=True)
    (line_g,) = ax_g.step(
        t, np.zeros(T), where="mid", color=_C["orange"], label=r"gate $\sigma(\theta^{(t)})$"
    )
    (line_i,) = ax_g.plot(t, np.zeros(T), color=_C["green"], label="influence of the first input")
    half = ax_g.axvline(0, color=_C["green"], ls=":", lw=1.2, label="half-life")
    ax_g.axhline(0.5, color="0.6", lw=0.8, zorder=1.5)  # under the curves
    ax_g.set(ylim=(-0.03, 1.03), xlim=(1, T), xlabel="time step t", ylabel="gate / influence")
    ax_g.legend(loc="center right", framealpha=0.8, frameon=True)
    title = fig.suptitle("")

    def draw(fig, gate, pattern, mode):
        x = np.zeros(T)
        if pattern == "noise":
            x = noise.copy()
        else:
            x[[p - 1 for p in _PATTERNS[pattern] if p <= T]] = 1.0
        gates = np.full(T, gate)
        if mode == "context":
            z = np.ones(T)
            z[[u for u in _USES if u < T]] = 0.0  # the step after a use clears the unit
            logit = math.log(gate / (1 - gate))
            b_theta = math.log(_FORGET_GATE / (1 - _FORGET_GATE))
            gates = 1 / (1 + np.exp(-((logit - b_theta) * z + b_theta)))
        s = np.zeros(T)
        prev = 0.0
        for k in range(T):
            prev = s[k] = gates[k] * prev + x[k]
        first = _PATTERNS["impulse"][0] - 1
        influence = np.zeros(T)
        influence[first:] = np.cumprod(np.concatenate([[1.0], gates[first + 1 :]]))
        tau, half_life = dynamics.time_constant(gate), dynamics.half_life(gate)
        line_x.set_ydata(x)
        line_s.set_ydata(s)
        line_g.set_ydata(gates)
        line_i.set_ydata(influence)
        crossed = np.nonzero(influence[first:] < 0.5)[0]
        half.set_xdata([first + 1 + (crossed[0] if crossed.size else T)] * 2)
        ax_s.set_ylim(
            *nice_limits(min(s.min(), x.min(), 0.0), max(s.max(), x.max(), 1.0), 0.05, 0.15)
        )
        theta = math.log(gate / (1 - gate))
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
        "gate": slider(widgets.FloatSlider, 0.9, 0.01, 0.99, 0.01, "gate σ(θ)"),
        "pattern": widgets.Dropdown(
            options=["impulse", "pulses", "noise"], value="pulses", description="input"
        ),
        "mode": widgets.ToggleButtons(options=["constant", "context"], value="constant"),
    }
    return Explorer(controls, fig, draw, dynamic=[line_x, line_s, line_g, line_i, half, title])


# --------------------------------------------------------------------------- LSTM gates

_PULSES = (5, 15, 25)


class _AddingLSTM(torch.nn.Module):
    """A one-layer LSTM read out at its last step: x (B, T, 2) -> prediction (B, 1)."""

    def __init__(self, hidden: int):
        super().__init__()
        self.lstm = torch.nn.LSTM(2, hidden, batch_first=True)
        self.head = torch.nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.lstm(x)[0][:, -1])


@functools.lru_cache(maxsize=4)
def _trained_adding_lstm(hidden: int, T: int, steps: int, seed: int) -> tuple:
    """A small LSTM trained on the adding problem (seeded, cached): ``(model, test MSE)``."""
    with torch.random.fork_rng(devices=[]):  # initial weights are seeded; global RNG untouched
        torch.manual_seed(seed)
        model = _AddingLSTM(hidden)
    gen = torch.Generator().manual_seed(seed + 1)
    training.train(
        model,
        lambda step: tasks.adding_problem(64, T, seed=gen),
        torch.nn.functional.mse_loss,
        steps=steps,
        lr=1e-2,
        clip_norm=1.0,
        progress=False,
    )
    x, y = tasks.adding_problem(1000, T, seed=seed + 2)
    with torch.no_grad():
        mse = float(torch.nn.functional.mse_loss(model.eval()(x), y))
    return model, mse


def lstm_gates(lstm: torch.nn.LSTM, x: torch.Tensor) -> dict:
    """Gate activations of a one-layer ``torch.nn.LSTM`` (batch_first) on one sequence.

    The module's weights are loaded into :class:`rnncourse.cells.LSTMCell`
    (``LSTMCell.from_torch``), which runs the sequence step by step from a zero state.

    Args:
        lstm: a one-layer, one-direction ``torch.nn.LSTM`` with ``I`` inputs and ``H``
            units (only its weights are used).
        x: input (T, I), in the dtype of the module's weights.

    Returns:
        dict with i, f, g, o and c, h, each a NumPy array (T, H) (torch's gate order
        i, f, g, o).
    """
    if not isinstance(lstm, torch.nn.LSTM) or lstm.num_layers != 1 or lstm.bidirectional:
        raise TypeError("lstm must be a one-layer, one-direction torch.nn.LSTM.")
    x = check_tensor(x, "x", ("T", lstm.input_size), hint="Pass one sequence, e.g. x[0].")
    cell = cells.LSTMCell.from_torch(lstm)
    out = {k: [] for k in "ifgoch"}
    state = None
    with torch.no_grad():
        for x_t in x[:, None]:  # one step of a batch of one, (1, I)
            gates = cell.gates(x_t, state)
            state = cell(x_t, state)
            for k, v in zip("ifgohc", (*gates, *state), strict=True):
                out[k].append(v[0])
    return {k: torch.stack(v).numpy() for k, v in out.items()}


def lstm_gate_explorer(T: int = 40, *, hidden: int = 12, seed: int = 0) -> Explorer:
    """LSTM gates: what the forget, input and output gates do to the cell state.

    Mode "constant": fixed gates ``f``, ``i``, ``o`` in [0, 1] and candidate ``g`` in
    [-1, 1]; input pulses x(t) = 1 at t = 5, 15, 25 let the candidate in, so
    c(t) = f c(t-1) + i g x(t) and h(t) = o tanh(c(t)). Mode "trained": a ``torch.nn.LSTM``
    with ``hidden`` units trained on the adding problem (T = 10, trained on first use,
    then cached) reads test sequence number ``sequence``; the panels show its input with
    the two marked steps, and its i, f, o gates over time (thin: units, thick: mean).

    ``data()`` keys, constant mode: t, x, c, h. Trained mode: t, x (T, 2), markers,
    i, f, o (T, hidden), prediction, target, mse.
    """
    T = check_int(T, "T", min_value=30, max_value=500)
    hidden = check_int(hidden, "hidden", min_value=1, max_value=64)
    seed = check_int(seed, "seed", min_value=0)
    T_add = 10
    t = np.arange(1, T + 1)
    x_pulse = np.zeros(T)
    x_pulse[[p - 1 for p in _PULSES]] = 1.0
    x_test, y_test = tasks.adding_problem(8, T_add, seed=seed + 1234)

    fig, axes = plots.figure(2, 1, figsize=(7.0, 4.2))
    ax_x, ax_c = axes[:, 0]
    const = [
        *ax_x.step(t, x_pulse, where="mid", color="0.4", label="input pulse $x^{(t)}$"),
        *ax_c.plot(t, np.zeros(T), color=_C["blue"], label="cell state $c^{(t)}$"),
        *ax_c.plot(t, np.zeros(T), color=_C["vermillion"], label="output $h^{(t)}$"),
    ]
    ta = np.arange(1, T_add + 1)
    trained = [
        *ax_x.plot(ta, np.zeros(T_add), "o-", ms=3, color="0.4", label="value $x^{(t)}$"),
        *ax_c.plot(ta, np.zeros((T_add, hidden * 3)), lw=0.5, alpha=0.3),
    ]
    for k, gate in enumerate("ifo"):
        for line in trained[1 + k * hidden : 1 + (k + 1) * hidden]:
            line.set_color(plots.GATE_COLORS[gate])
    means = [ax_c.plot(ta, np.zeros(T_add), color=plots.GATE_COLORS[k], label=k)[0] for k in "ifo"]
    marks = [ax.axvline(0, color="0.2", ls=":", lw=1.2) for ax in (ax_x, ax_x, ax_c, ax_c)]
    trained += means + marks
    title = fig.suptitle("")
    state = {"mode": None}

    @functools.lru_cache(maxsize=8)  # one entry per test sequence: computed once
    def trained_view(sequence):
        """Gates, prediction and test MSE of the trained LSTM on one test sequence."""
        model, mse = _trained_adding_lstm(hidden, T_add, 300, seed)
        x = x_test[sequence]
        with torch.no_grad():
            prediction = float(model(x[None])[0, 0])
        return lstm_gates(model.lstm, x), prediction, mse

    def relabel(mode):
        fig.set_layout_engine("constrained")
        const_mode = mode == "constant"
        for a in const:
            a.set_visible(const_mode)
        for a in trained:
            a.set_visible(not const_mode)
        for control in ("f", "i", "o", "g"):
            controls[control].disabled = not const_mode
        controls["sequence"].disabled = const_mode
        span = T if const_mode else T_add
        ax_x.set(xlim=(0.5, span + 0.5), ylim=(-0.05, 1.1), ylabel="input")
        ax_c.set(xlim=(0.5, span + 0.5), xlabel="time step t")
        ax_c.set_ylabel("value (unitless)" if const_mode else "gate value")
        ax_x.legend(handles=[const[0] if const_mode else trained[0]], loc="upper right")
        ax_c.legend(handles=const[1:] if const_mode else means, loc="upper right", ncol=3)

    def draw(fig, f, i, o, g, mode, sequence):
        if mode != state["mode"]:
            relabel(mode)
            state["mode"] = mode
        if mode == "constant":
            c = np.zeros(T)
            prev = 0.0
            for k in range(T):
                prev = c[k] = f * prev + i * g * x_pulse[k]
            h = o * np.tanh(c)
            const[1].set_ydata(c)
            const[2].set_ydata(h)
            top = nice_ceiling(max(1.0, np.abs(c).max()))
            ax_c.set_ylim(-1.1 * top, 1.1 * top)
            tau = (
                f"time constant {dynamics.time_constant(f):.1f} steps"
                if 0 < f < 1
                else ("never forgets" if f == 1 else "forgets at once")
            )
            title.set_text(f"f = {f:.2f}, i = {i:.2f}, o = {o:.2f}, g = {g:+.2f}: {tau}")
            return dict(t=t, x=x_pulse.copy(), c=c, h=h)
        x = x_test[sequence]
        gates, pred, mse = trained_view(sequence)
        markers = (np.nonzero(x[:, 1].numpy())[0] + 1).astype(float)
        trained[0].set_ydata(x[:, 0].numpy())
        for k, gate in enumerate("ifo"):
            for j, line in enumerate(trained[1 + k * hidden : 1 + (k + 1) * hidden]):
                line.set_ydata(gates[gate][:, j])
            means[k].set_ydata(gates[gate].mean(axis=1))
        for line, m in zip(marks, [*markers, *markers], strict=True):
            line.set_xdata([m, m])
        ax_c.set_ylim(-0.03, 1.03)
        target = float(y_test[sequence])
        title.set_text(
            f"LSTM on the adding problem (test MSE {mse:.3f}, chance "
            f"{tasks.ADDING_BASELINE_MSE:.3f})\npredicts {pred:.2f}, target {target:.2f}"
        )
        return dict(t=ta, x=x.numpy(), markers=markers, i=gates["i"], f=gates["f"],
                    o=gates["o"], prediction=pred, target=target, mse=mse)  # fmt: skip

    controls = {
        "f": slider(widgets.FloatSlider, 0.9, 0.0, 1.0, 0.01, "forget f"),
        "i": slider(widgets.FloatSlider, 1.0, 0.0, 1.0, 0.01, "input i"),
        "o": slider(widgets.FloatSlider, 1.0, 0.0, 1.0, 0.01, "output o"),
        "g": slider(widgets.FloatSlider, 0.5, -1.0, 1.0, 0.05, "candidate g"),
        "mode": widgets.ToggleButtons(options=["constant", "trained"], value="constant"),
        "sequence": slider(widgets.IntSlider, 0, 0, 7, 1, "test sequence"),
    }
    return Explorer(controls, fig, draw, dynamic=[*const, *trained, title])


# --------------------------------------------------------------------------- repeated nonlinearity


def repeated_nonlinearity_explorer(
    u: float = 1.0, b: float = 0.0, *, x_range: float = 3.0, max_T: int = 30
) -> Explorer:
    """How a repeated nonlinearity bends a function: h(T) as a function of a constant input x.

    The scalar recurrence h(t) = tanh(rho h(t-1) + u x + b), h(0) = 0, runs ``T`` steps for
    every constant input x in [-x_range, x_range]: the lecture's h(t) = g(A h(t-1) + B x + b)
    with one unit, input weight ``u`` and bias ``b``. Controls: ``T`` in [1, max_T] and
    ``gain`` rho in [0, 3]. Panels: h(T) against x (earlier steps faint) and the size of
    its slope |dh(T)/dx| on a fixed log axis, on which exponential growth with T is a
    steady climb. With rho > 1 the curve sharpens into a step as T grows: a few steps of
    a smooth nonlinearity make a very nonlinear function of the input.

    ``data()`` keys: x (N,), h (N,) = h(T) at each x, slope (N,), steps (T, N) = h(1)..h(T).
    """
    u, b = check_float(u, "u"), check_float(b, "b")
    x_range = check_float(x_range, "x_range", min_value=0.0, strict_min=True)
    max_T = check_int(max_T, "max_T", min_value=2, max_value=200)
    x = np.linspace(-x_range, x_range, 401)

    def run(T, gain):
        steps, slopes = np.empty((T, len(x))), np.empty((T, len(x)))
        h, slope = np.zeros_like(x), np.zeros_like(x)
        for k in range(T):
            h = steps[k] = np.tanh(gain * h + u * x + b)
            slope = slopes[k] = (1 - h**2) * (gain * slope + u)  # exact dh(t)/dx, chain rule
        return steps, slopes

    # fixed limits: up to the steepest slope that the largest gain reaches in max_T steps
    top = max(np.abs(run(max_T, 3.0)[1]).max(), abs(u), 1.0)
    fig, axes = plots.figure(1, 2, figsize=(8.0, 3.0))
    ax_h, ax_d = axes[0]
    faint = ax_h.plot(x, np.zeros((len(x), max_T)), color=_C["sky"], lw=0.6, alpha=0.5)
    (line_h,) = ax_h.plot(x, np.zeros_like(x), color=_C["blue"], lw=2)
    ax_h.set(ylim=(-1.05, 1.05), xlabel="constant input x", ylabel="$h^{(T)}(x)$")
    ax_h.set_title("final state (faint: earlier steps)")
    (line_d,) = ax_d.plot(x, np.ones_like(x), color=_C["vermillion"])
    ax_d.set(yscale="log", ylim=(1e-4, 10.0 ** math.ceil(math.log10(top) + 0.5)))
    ax_d.set(xlabel="constant input x", ylabel="slope size $|dh^{(T)}/dx|$")
    ax_d.set_title("sensitivity to the input (log scale)")
    title = fig.suptitle("")

    def draw(fig, T, gain):
        steps, slopes = run(T, gain)
        h, slope = steps[-1], slopes[-1]
        for k, line in enumerate(faint):
            line.set_visible(k < T - 1)
            if k < T - 1:
                line.set_ydata(steps[k])
        line_h.set_ydata(h)
        line_d.set_ydata(_positive(np.abs(slope)))
        title.set_text(
            f"h(t) = tanh({gain:.2f} h(t-1) + {u:g} x + {b:g}), T = {T}: "
            f"steepest slope {np.abs(slope).max():.4g}"
        )
        return dict(x=x, h=h, slope=slope, steps=steps)

    controls = {
        "T": slider(widgets.IntSlider, 1, 1, max_T, 1, "steps T"),
        "gain": slider(widgets.FloatSlider, 1.5, 0.0, 3.0, 0.05, "gain ρ"),
    }
    return Explorer(controls, fig, draw, dynamic=[*faint, line_h, line_d, title])
