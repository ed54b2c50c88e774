"""The LSTM gate explorer: what the forget, input and output gates do to the cell state."""

import functools
import itertools

import ipywidgets
import numpy as np
import torch
import torch.nn.functional as F

from rnncourse import cells, dynamics, plots, tasks, training
from rnncourse._random import generator
from rnncourse._validation import check_int, check_tensor
from rnncourse.widgets.explorer import OPAQUE, Explorer, nice_ceiling, slider

__all__ = ["lstm_gate_explorer", "lstm_gates"]

_C = plots.PALETTE
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
    gen = generator(seed + 1)

    def batch(step):
        return tasks.adding_problem(64, T, seed=gen)

    training.train(model, batch, F.mse_loss, steps=steps, lr=1e-2, clip_norm=1.0, progress=False)
    x, y = tasks.adding_problem(1000, T, seed=seed + 2)
    with torch.no_grad():
        mse = float(F.mse_loss(model.eval()(x), y))
    return model, mse


def lstm_gates(lstm: torch.nn.LSTM, x: torch.Tensor) -> dict:
    """Gate activations of a one-layer ``torch.nn.LSTM`` (batch_first) on one sequence.

    Runs :class:`rnncourse.cells.LSTMCell` with the module's weights from a zero state.
    ``lstm``: one layer, one direction, ``I`` inputs, ``H`` units; ``x``: input (T, I), in
    the dtype of its weights. Returns a dict of NumPy arrays (T, H): the gates i, f, g, o
    (torch's order) and the states c, h.
    """
    if not isinstance(lstm, torch.nn.LSTM) or lstm.num_layers != 1 or lstm.bidirectional:
        raise TypeError("lstm must be a one-layer, one-direction torch.nn.LSTM.")
    x = check_tensor(x, "x", ("T", lstm.input_size), hint="Pass one sequence, e.g. x[0].")
    cell, state, steps = cells.LSTMCell.from_torch(lstm), None, []
    with torch.no_grad():
        for x_t in x[:, None]:  # one step of a batch of one, (1, I)
            gates = cell.gates(x_t, state)
            state = cell(x_t, state)
            steps.append(dict(zip("ifgohc", (*gates, *state), strict=True)))
    return {k: torch.cat([step[k] for step in steps]).numpy() for k in "ifgoch"}


def lstm_gate_explorer(T: int = 40, *, hidden: int = 12, seed: int = 0) -> Explorer:
    """LSTM gates: what the forget, input and output gates do to the cell state.

    Mode "constant": gates ``f``, ``o`` in [0, 1], candidate ``g`` in [-1, 1] and an input
    gate ``i`` in [0, 1] at t = 5, 15, 25 (0 elsewhere): c(t) = f c(t-1) + i(t) g, h(t) =
    o tanh(c(t)). Mode "trained": an LSTM with ``hidden`` units, trained on the adding
    problem (T = 10) on first use, reads test sequence ``sequence``. ``data()`` keys:
    t, i (i(t)), c, h; trained: t, x (T, 2), markers, i, f, o (T, hidden), prediction,
    target, mse.
    """
    T = check_int(T, "T", min_value=30, max_value=500)
    hidden = check_int(hidden, "hidden", min_value=1, max_value=64)
    seed = check_int(seed, "seed", min_value=0)
    T_add = 10
    t = np.arange(1, T + 1)
    open_steps = np.zeros(T)  # where the input gate opens
    open_steps[[p - 1 for p in _PULSES]] = 1.0
    x_test, y_test = tasks.adding_problem(8, T_add, seed=seed + 1234)

    fig, axes = plots.figure(2, 1, figsize=(7.0, 4.2))
    ax_x, ax_c = axes[:, 0]
    const = [
        *ax_x.step(t, open_steps, where="mid", color="0.4", label="input gate $i^{(t)}$"),
        *ax_c.plot(t, np.zeros(T), color=_C["blue"], label="cell state $c^{(t)}$"),
        *ax_c.plot(t, np.zeros(T), color=_C["vermillion"], label="output $h^{(t)}$"),
    ]
    ta = np.arange(1, T_add + 1)
    (value,) = ax_x.plot(ta, np.zeros(T_add), "o-", ms=3, color="0.4", label="value $x^{(t)}$")
    # for each gate a thin line per unit and a thick one for the mean
    units = {
        k: ax_c.plot(ta, np.zeros((T_add, hidden)), lw=0.5, alpha=0.3, color=plots.GATE_COLORS[k])
        for k in "ifo"
    }
    means = {
        k: ax_c.plot(ta, np.zeros(T_add), color=plots.GATE_COLORS[k], label=k)[0] for k in "ifo"
    }
    marks = [ax.axvline(0, color="0.2", ls=":", lw=1.2) for ax in (ax_x, ax_x, ax_c, ax_c)]
    trained = [value, *itertools.chain(*units.values()), *means.values(), *marks]
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
        for a in const + trained:
            a.set_visible((a in const) == const_mode)
        for control in ("f", "i", "o", "g"):
            controls[control].disabled = not const_mode
        controls["sequence"].disabled = const_mode
        xlim = (0.5, (T if const_mode else T_add) + 0.5)
        ax_x.set(xlim=xlim, ylim=(-0.05, 1.1), ylabel="input gate" if const_mode else "input")
        ax_c.set(xlim=xlim, xlabel="time step t")
        ax_c.set_ylabel("value (unitless)" if const_mode else "gate value")
        ax_x.legend(handles=[const[0] if const_mode else value], loc="upper right", **OPAQUE)
        handles = const[1:] if const_mode else list(means.values())
        ax_c.legend(handles=handles, ncol=3, loc="upper right", **OPAQUE)

    def draw(f, i, o, g, mode, sequence):
        if mode != state["mode"]:
            relabel(mode)
            state["mode"] = mode
        if mode == "constant":
            i_t = i * open_steps  # the input gate over time
            c = np.zeros(T)
            prev = 0.0
            for k in range(T):
                prev = c[k] = f * prev + i_t[k] * g
            h = o * np.tanh(c)
            for line, y in zip(const, (i_t, c, h), strict=True):
                line.set_ydata(y)
            top = nice_ceiling(max(1.0, np.abs(c).max()))
            ax_c.set_ylim(-1.1 * top, 1.1 * top)
            tau = (
                f"time constant {dynamics.time_constant(f):.1f} steps"
                if 0 < f < 1
                else ("never forgets" if f == 1 else "forgets at once")
            )
            title.set_text(f"f = {f:.2f}, i = {i:.2f}, o = {o:.2f}, g = {g:+.2f}: {tau}")
            return dict(t=t, i=i_t, c=c, h=h)
        x = x_test[sequence]
        gates, pred, mse = trained_view(sequence)
        markers = (np.nonzero(x[:, 1].numpy())[0] + 1).astype(float)
        value.set_ydata(x[:, 0].numpy())
        for k, lines in units.items():
            for j, line in enumerate(lines):
                line.set_ydata(gates[k][:, j])
            means[k].set_ydata(gates[k].mean(axis=1))
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
        "f": slider(ipywidgets.FloatSlider, 0.9, 0.0, 1.0, 0.01, "forget f"),
        "i": slider(ipywidgets.FloatSlider, 1.0, 0.0, 1.0, 0.01, "input i"),
        "o": slider(ipywidgets.FloatSlider, 1.0, 0.0, 1.0, 0.01, "output o"),
        "g": slider(ipywidgets.FloatSlider, 0.5, -1.0, 1.0, 0.05, "candidate g"),
        "mode": ipywidgets.ToggleButtons(options=["constant", "trained"], value="constant"),
        "sequence": slider(ipywidgets.IntSlider, 0, 0, 7, 1, "test sequence"),
    }
    return Explorer(controls, fig, draw, dynamic=[*const, *trained, title])
