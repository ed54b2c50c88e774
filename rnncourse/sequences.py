"""Running a recurrent cell over time, and the output topologies built on that loop.

A cell (see :mod:`rnncourse.cells`) computes one step, ``h(t) = f(h(t-1), x(t))``.
This module unrolls it over a sequence and arranges inputs and outputs the ways the
lecture draws them:

- :func:`run`: the core loop, with variable-length batches (``lengths`` or ``mask``).
- :class:`ManyToMany`: an output at every step, ``o(t) = V h(t) + c``.
- :class:`ManyToOne`: one summary output from the state at the last step.
- :class:`EncoderDecoder`: a context ``C`` from one sequence drives another.
- :class:`OneToMany`: one input vector, a whole output sequence.
- :class:`OutputFeedback`: feedback only through the output, trainable with teacher
  forcing in one parallel pass.
- :class:`Stacked` and :class:`Bidirectional`: deeper and two-way recurrences.
- :func:`from_torch`: rebuild a ``torch.nn.RNN``/``LSTM``/``GRU`` from these parts.

Every tensor is batch-first, ``(B, T, features)``; the initial state is zero unless
one is given. A state is a tensor ``h`` of shape ``(B, H)``, or for an LSTM the pair
``(h, c)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from rnncourse._validation import check_choice, check_int, check_tensor
from rnncourse.cells import GRUCell, LSTMCell, RecurrentCell, RNNCell

__all__ = [
    "run",
    "shift_right",
    "ManyToMany",
    "ManyToOne",
    "EncoderDecoder",
    "OneToMany",
    "OutputFeedback",
    "Stacked",
    "Bidirectional",
    "TorchEquivalent",
    "from_torch",
]


# --------------------------------------------------------------------------- helpers


def _map(fn, *states):
    """Apply ``fn`` to a state, or to each part of an ``(h, c)`` state."""
    if isinstance(states[0], tuple):
        return tuple(fn(*parts) for parts in zip(*states, strict=True))
    return fn(*states)


def _check_cell(cell, name: str = "cell") -> RecurrentCell:
    if not isinstance(cell, RecurrentCell):
        raise TypeError(
            f"{name} must be a recurrent cell from rnncourse.cells (e.g. RNNCell(3, 8)), "
            f"got {type(cell).__name__}. To use a torch.nn.RNNCell, convert it with "
            f"RNNCell.from_torch(module)."
        )
    return cell


def _check_input(x, cell: RecurrentCell, name: str = "x") -> torch.Tensor:
    return check_tensor(
        x,
        name,
        ("B", "T", cell.input_size),
        hint=f"Pass a batch-first tensor (batch, time, {cell.input_size}).",
    )


def _check_state(state, cell: RecurrentCell, like: torch.Tensor, name: str = "state"):
    """Return ``state`` checked against the cell's zero state, or that zero state."""
    batch = like.shape[0]
    zero = cell.zero_state(batch, dtype=like.dtype, device=like.device)
    if state is None:
        return zero
    if isinstance(zero, tuple):
        if not isinstance(state, (tuple, list)) or len(state) != len(zero):
            raise TypeError(
                f"{name} must be a tuple of {len(zero)} tensors (h, c) for "
                f"{type(cell).__name__}, got {type(state).__name__}."
            )
        parts = [(s, z, f"{name}[{i}]") for i, (s, z) in enumerate(zip(state, zero, strict=True))]
    else:
        parts = [(state, zero, name)]
    for s, z, part_name in parts:
        check_tensor(s, part_name, tuple(z.shape), hint="The state needs one row per sequence.")
        if s.dtype != like.dtype:
            raise TypeError(
                f"{part_name} has dtype {s.dtype} but the input has dtype {like.dtype}; "
                f"convert one of them with .to(dtype)."
            )
    return tuple(state) if isinstance(zero, tuple) else state


def _valid_steps(batch: int, steps: int, lengths, mask, device) -> torch.Tensor | None:
    """Turn ``lengths`` (B,) or a prefix ``mask`` (B, T) into a bool mask (B, T)."""
    if lengths is not None and mask is not None:
        raise ValueError("Give either lengths or mask, not both.")
    time = torch.arange(steps, device=device)
    if lengths is not None:
        if isinstance(lengths, (list, tuple)):
            lengths = torch.tensor(lengths)
        lengths = check_tensor(lengths, "lengths", (batch,), floating=False)
        if lengths.dtype == torch.bool or lengths.is_floating_point():
            raise TypeError(
                f"lengths must hold integers (e.g. torch.long), got dtype {lengths.dtype}."
            )
        if lengths.min() < 1 or lengths.max() > steps:
            raise ValueError(
                f"every length must be between 1 and T={steps} (the padded time size), "
                f"got lengths {lengths.tolist()}. Pad x to the longest sequence and drop "
                f"empty sequences from the batch."
            )
        return time < lengths.to(device)[:, None]
    if mask is not None:
        mask = check_tensor(mask, "mask", (batch, steps), dtype=torch.bool, floating=False)
        counts = mask.sum(1)
        if counts.min() < 1:
            raise ValueError("mask must mark at least one valid step in every sequence.")
        if not torch.equal(mask, time < counts[:, None]):
            raise ValueError(
                "mask must be a prefix mask: True for the first steps of each sequence "
                "and False for the padding after them (no gaps, no padding in front)."
            )
        return mask.to(device)
    return None


def _lengths_of(valid: torch.Tensor | None, batch: int, steps: int, device) -> torch.Tensor:
    if valid is None:
        return torch.full((batch,), steps, dtype=torch.long, device=device)
    return valid.sum(1)


def _check_output_size(output_size) -> int:
    return check_int(output_size, "output_size", min_value=1)


# --------------------------------------------------------------------------- the loop


def run(cell, x, state=None, lengths=None, mask=None):
    """Run ``cell`` over a batch of sequences: ``h(t) = f(h(t-1), x(t))``.

    Args:
        cell: a cell from :mod:`rnncourse.cells` with ``cell.input_size == I``.
        x: inputs, shape ``(B, T, I)``.
        state: initial state, shape ``(B, H)`` (LSTM: a pair ``(h, c)``); zeros if None.
        lengths: optional ``(B,)`` integer lengths, each in ``1..T``, for a padded batch.
        mask: optional ``(B, T)`` bool mask of valid steps (a prefix of each row);
            an alternative to ``lengths``.

    Returns:
        ``(hs, final_state)``: ``hs`` of shape ``(B, T, H)`` with ``hs[:, t] = h(t)``,
        and the state after the last step. At a padded step the state is carried over
        unchanged and its ``hs`` row is zero, so ``final_state`` is each sequence's
        state at its own last valid step.
    """
    cell = _check_cell(cell)
    x = _check_input(x, cell)
    batch, steps, _ = x.shape
    valid = _valid_steps(batch, steps, lengths, mask, x.device)
    state = _check_state(state, cell, x)
    hs = []
    # unbind, not x[:, t]: each slice's backward would write a full (B, T, I) gradient,
    # making backward grow with T squared.
    for t, x_t in enumerate(x.unbind(1)):
        new_state = cell(x_t, state)
        if valid is None:
            state = new_state
            hs.append(cell.output(state))
        else:
            keep = valid[:, t, None]
            state = _map(lambda new, old, keep=keep: torch.where(keep, new, old), new_state, state)
            h = cell.output(state)
            hs.append(torch.where(keep, h, torch.zeros_like(h)))
    return torch.stack(hs, dim=1), state


# --------------------------------------------------------------------------- topologies


class ManyToMany(nn.Module):
    """An output at every step through a shared linear readout.

    ``h(t) = f(h(t-1), x(t))``, ``o(t) = V h(t) + c``, with ``V = readout.weight``
    of shape ``(O, H)`` and ``c = readout.bias`` of shape ``(O,)``.

    ``forward(x (B, T, I), state=None, lengths=None) -> (o (B, T, O), final_state)``;
    outputs at padded steps are zero.
    """

    def __init__(self, cell, output_size: int):
        super().__init__()
        self.cell = _check_cell(cell)
        self.readout = nn.Linear(cell.hidden_size, _check_output_size(output_size))

    def forward(self, x, state=None, lengths=None):
        hs, final = run(self.cell, x, state, lengths=lengths)
        o = self.readout(hs)
        if lengths is not None:
            valid = _valid_steps(*hs.shape[:2], lengths, None, hs.device)
            o = torch.where(valid[..., None], o, torch.zeros_like(o))
        return o, final


class ManyToOne(nn.Module):
    """One summary output per sequence, read from the state at its last valid step.

    ``o = V h(tau) + c``: the whole sequence is compressed into ``h(tau)``.

    ``forward(x (B, T, I), lengths=None) -> o (B, O)``.
    """

    def __init__(self, cell, output_size: int):
        super().__init__()
        self.cell = _check_cell(cell)
        self.readout = nn.Linear(cell.hidden_size, _check_output_size(output_size))

    def forward(self, x, lengths=None):
        _, final = run(self.cell, x, lengths=lengths)
        return self.readout(self.cell.output(final))


class EncoderDecoder(nn.Module):
    """An encoder summarises one sequence into a context ``C``; a decoder unrolls another.

    ``C = h_enc(tau_in)``, the encoder's final hidden state ``(B, H_enc)``. The decoder
    gets ``C`` in one of three ways (``context``):

    - ``"state"``: as its initial state, ``h_dec(0) = C`` (an LSTM decoder starts with
      cell state zero). Needs ``decoder_cell.hidden_size == H_enc`` and
      ``decoder_cell.input_size == D``.
    - ``"input"``: as a constant input at every step, ``[y_in(t), C]``; the decoder
      starts from zero. Needs ``decoder_cell.input_size == D + H_enc``.
    - ``"both"``: both of the above.

    ``D`` is the width of the decoder's own per-step inputs ``y_in`` (e.g. the previous
    target under teacher forcing); without ``y_in`` those inputs are zeros of width D.
    The outputs are ``o(t) = V h_dec(t) + c``.

    ``forward(x (B, T_in, I), steps=T_out, y_in=None (B, T_out, D), lengths=None)
    -> o (B, T_out, O)``; ``T_in`` and ``T_out`` may differ, and ``lengths`` marks the
    valid steps of a padded ``x``.
    """

    def __init__(self, encoder_cell, decoder_cell, output_size: int, context: str = "state"):
        super().__init__()
        self.encoder = _check_cell(encoder_cell, "encoder_cell")
        self.decoder = _check_cell(decoder_cell, "decoder_cell")
        self.context = check_choice(context, "context", ("state", "input", "both"))
        h_enc = encoder_cell.hidden_size
        if context in ("state", "both") and decoder_cell.hidden_size != h_enc:
            raise ValueError(
                f"with context={context!r} the context C is the decoder's initial state, so "
                f"decoder_cell.hidden_size must equal encoder_cell.hidden_size={h_enc}, "
                f"got {decoder_cell.hidden_size}."
            )
        self.decoder_input_size = decoder_cell.input_size
        if context in ("input", "both"):
            self.decoder_input_size -= h_enc
            if self.decoder_input_size < 0:
                raise ValueError(
                    f"with context={context!r} the decoder reads [y_in(t), C] at every step, "
                    f"so decoder_cell.input_size must be D + {h_enc} (D >= 0 the width of "
                    f"y_in), got {decoder_cell.input_size}."
                )
        self.readout = nn.Linear(decoder_cell.hidden_size, _check_output_size(output_size))

    def forward(self, x, steps=None, y_in=None, lengths=None):
        _, enc_final = run(self.encoder, x, lengths=lengths)
        C = self.encoder.output(enc_final)
        batch, d = x.shape[0], self.decoder_input_size
        if y_in is None:
            steps = check_int(steps, "steps", min_value=1)
            y_in = x.new_zeros(batch, steps, d)
        else:
            y_in = check_tensor(
                y_in,
                "y_in",
                (batch, steps, d),
                hint=f"The decoder of this model reads {d} features per step besides C.",
            )
        state = None
        if self.context in ("state", "both"):
            zero = self.decoder.zero_state(batch, dtype=C.dtype, device=C.device)
            state = (C, *zero[1:]) if isinstance(zero, tuple) else C
        if self.context in ("input", "both"):
            y_in = torch.cat([y_in, C[:, None].expand(-1, y_in.shape[1], -1)], dim=2)
        hs, _ = run(self.decoder, y_in, state)
        return self.readout(hs)


class OneToMany(nn.Module):
    """One input vector, a sequence of outputs.

    ``o(t) = V h(t) + c``. With ``feed_back_output=True`` the network reads ``x0`` at the
    first step and its own previous output after that, ``x(t) = o(t-1)`` (so
    ``output_size`` must equal ``cell.input_size``); otherwise it reads ``x0`` at every
    step.

    ``forward(x0 (B, I), steps) -> o (B, steps, O)``.
    """

    def __init__(self, cell, output_size: int, feed_back_output: bool = True):
        super().__init__()
        self.cell = _check_cell(cell)
        output_size = _check_output_size(output_size)
        if feed_back_output and output_size != cell.input_size:
            raise ValueError(
                f"feed_back_output=True feeds each output back in as the next input, so "
                f"output_size must equal cell.input_size={cell.input_size}, got "
                f"{output_size}. Use feed_back_output=False to repeat x0 instead."
            )
        self.feed_back_output = bool(feed_back_output)
        self.readout = nn.Linear(cell.hidden_size, output_size)

    def forward(self, x0, steps):
        x0 = check_tensor(x0, "x0", ("B", self.cell.input_size), hint="Give one vector per row.")
        steps = check_int(steps, "steps", min_value=1)
        if not self.feed_back_output:
            hs, _ = run(self.cell, x0[:, None].expand(-1, steps, -1))
            return self.readout(hs)
        state, x, outputs = None, x0, []
        for _ in range(steps):
            state = self.cell(x, state)
            x = self.readout(self.cell.output(state))
            outputs.append(x)
        return torch.stack(outputs, dim=1)


def shift_right(y, y0=None):
    """Previous outputs for teacher forcing: ``y_prev[:, t] = y[:, t-1]``.

    The one implementation of this shift in the package: it is a sequence operation of
    the core layer (``OutputFeedback.teacher_forced`` takes its result), and the
    training layer's ``generation.teacher_forced_inputs`` (token ids, a start value that
    broadcasts) builds on it, since lower layers never import higher ones.

    Args:
        y: targets, vectors ``(B, T, O)`` (floating point) or token ids ``(B, T)`` (an
            integer dtype).
        y0: what stands before the first target, one step: ``(B, O)`` for vectors,
            ``(B,)`` for token ids; zeros if None.

    Returns:
        ``y_prev`` of the shape and dtype of ``y``: ``y0`` then ``y[:, :-1]``.
    """
    y = check_tensor(y, "y", floating=False)
    if y.dim() not in (2, 3):
        raise ValueError(
            f"y must be vectors (B, T, O) or token ids (B, T), got shape {tuple(y.shape)}."
        )
    if y.dim() == 3 and not y.is_floating_point():
        raise TypeError(f"vectors (B, T, O) must be floating point, got {y.dtype}.")
    if y.dim() == 2 and y.is_floating_point():
        raise TypeError(
            f"token ids (B, T) must have an integer dtype, got {y.dtype}; for one number "
            f"per step use shape (B, T, 1)."
        )
    step = (y.shape[0], *y.shape[2:])
    if y0 is None:
        y0 = y.new_zeros(step)
    y0 = check_tensor(y0, "y0", step, floating=False, hint="One start value per row.")
    return torch.cat([y0[:, None].to(y.dtype), y[:, :-1]], dim=1)


class OutputFeedback(nn.Module):
    """A network whose only recurrence goes through its output (no state-to-state link).

    ``h(t) = tanh(U x(t) + R y(t-1) + b)``, ``o(t) = V h(t) + c``, with ``U (H, I)``,
    ``R (H, O)``, ``b (H,)``, ``V (O, H)``, ``c (O,)``.

    - :meth:`teacher_forced` ``(x (B, T, I), y_prev (B, T, O)) -> o (B, T, O)`` is given
      the true previous outputs, so no step waits for another: all steps are computed
      in one batched pass, without a loop over time.
    - :meth:`generate` ``(x (B, T, I), y0=None (B, O)) -> o (B, T, O)`` feeds back its
      own outputs, ``y(t-1) = o(t-1)``, and must go step by step.

    ``forward(x, y_prev=None)`` is ``teacher_forced`` when ``y_prev`` is given and
    ``generate`` otherwise.
    """

    def __init__(self, input_size: int, output_size: int, hidden_size: int):
        super().__init__()
        self.input_size = check_int(input_size, "input_size", min_value=1)
        self.output_size = _check_output_size(output_size)
        self.hidden_size = check_int(hidden_size, "hidden_size", min_value=1)
        bound = 1 / math.sqrt(hidden_size)

        def param(*shape):
            return nn.Parameter(torch.empty(shape).uniform_(-bound, bound))

        self.U = param(hidden_size, input_size)
        self.R = param(hidden_size, output_size)
        self.b = param(hidden_size)
        self.V = param(output_size, hidden_size)
        self.c = param(output_size)

    def _step(self, x, y_prev):
        h = torch.tanh(x @ self.U.T + y_prev @ self.R.T + self.b)
        return h @ self.V.T + self.c

    def _check_x(self, x):
        return check_tensor(
            x, "x", ("B", "T", self.input_size), hint="Pass batch-first (batch, time, input)."
        )

    def teacher_forced(self, x, y_prev):
        """All steps at once from the true previous outputs (see :func:`shift_right`)."""
        x = self._check_x(x)
        y_prev = check_tensor(
            y_prev,
            "y_prev",
            (x.shape[0], x.shape[1], self.output_size),
            hint="Build it from the targets with shift_right(y).",
        )
        return self._step(x, y_prev)  # matmuls broadcast over the time axis

    def generate(self, x, y0=None):
        """Step by step, each output fed back as the next step's ``y(t-1)``."""
        x = self._check_x(x)
        y = x.new_zeros(x.shape[0], self.output_size) if y0 is None else y0
        y = check_tensor(y, "y0", (x.shape[0], self.output_size), hint="One vector per row.")
        outputs = []
        for t in range(x.shape[1]):
            y = self._step(x[:, t], y)
            outputs.append(y)
        return torch.stack(outputs, dim=1)

    def forward(self, x, y_prev=None):
        return self.generate(x) if y_prev is None else self.teacher_forced(x, y_prev)


# --------------------------------------------------------------------------- deeper, two-way


def _reverse_within(x, lengths):
    """Reverse each sequence of ``x (B, T, F)`` within its own length; padding stays put."""
    steps = x.shape[1]
    time = torch.arange(steps, device=x.device)
    index = torch.where(time < lengths[:, None], lengths[:, None] - 1 - time, time)
    return x.gather(1, index[..., None].expand_as(x))


class Bidirectional(nn.Module):
    """A forward pass and a backward pass over the same sequence, side by side.

    ``hs[:, t] = [h_fwd(t), h_bwd(t)]``, where ``h_bwd`` runs from each sequence's last
    valid step back to its first, so padding never changes a result.

    ``forward(x (B, T, I), state=None, lengths=None) -> (hs (B, T, H_f + H_b),
    (final_fwd, final_bwd))``; ``state`` is a pair of initial states or None.
    """

    def __init__(self, forward_cell, backward_cell):
        super().__init__()
        self.forward_cell = _check_cell(forward_cell, "forward_cell")
        self.backward_cell = _check_cell(backward_cell, "backward_cell")
        if forward_cell.input_size != backward_cell.input_size:
            raise ValueError(
                f"both directions read the same input, so forward_cell.input_size "
                f"({forward_cell.input_size}) must equal backward_cell.input_size "
                f"({backward_cell.input_size})."
            )
        self.input_size = forward_cell.input_size
        self.hidden_size = forward_cell.hidden_size + backward_cell.hidden_size

    def forward(self, x, state=None, lengths=None):
        x = _check_input(x, self.forward_cell)
        valid = _valid_steps(x.shape[0], x.shape[1], lengths, None, x.device)
        if state is None:
            state = (None, None)
        elif not isinstance(state, (tuple, list)) or len(state) != 2:
            raise TypeError("state must be a pair (forward_state, backward_state) or None.")
        hs_f, final_f = run(self.forward_cell, x, state[0], mask=valid)
        lens = _lengths_of(valid, x.shape[0], x.shape[1], x.device)
        hs_b, final_b = run(self.backward_cell, _reverse_within(x, lens), state[1], mask=valid)
        return torch.cat([hs_f, _reverse_within(hs_b, lens)], dim=2), (final_f, final_b)


def _run_layer(layer, x, state, mask):
    if isinstance(layer, Bidirectional):
        return layer(x, state, lengths=None if mask is None else mask.sum(1))
    return run(layer, x, state, mask=mask)


class Stacked(nn.Module):
    """Layers on top of each other: layer ``l``'s states ``hs`` are layer ``l+1``'s inputs.

    ``cells`` is a list of cells (or :class:`Bidirectional` layers) whose sizes chain:
    ``cells[l + 1].input_size == cells[l].hidden_size``.

    ``forward(x (B, T, I), state=None, lengths=None) -> (hs (B, T, H_top), finals)``;
    ``state`` and ``finals`` are lists with one state per layer.
    """

    def __init__(self, cells):
        super().__init__()
        if isinstance(cells, nn.Module) or not isinstance(cells, (list, tuple)) or not cells:
            raise TypeError("cells must be a non-empty list of cells, e.g. [cell1, cell2].")
        for i, cell in enumerate(cells):
            if not isinstance(cell, Bidirectional):
                _check_cell(cell, f"cells[{i}]")
            if i > 0 and cell.input_size != cells[i - 1].hidden_size:
                raise ValueError(
                    f"cells[{i}].input_size is {cell.input_size} but cells[{i - 1}] outputs "
                    f"{cells[i - 1].hidden_size} features; the sizes must chain."
                )
        self.layers = nn.ModuleList(cells)
        self.input_size = cells[0].input_size
        self.hidden_size = cells[-1].hidden_size

    def forward(self, x, state=None, lengths=None):
        x = check_tensor(x, "x", ("B", "T", self.input_size), hint="Pass (batch, time, input).")
        valid = _valid_steps(x.shape[0], x.shape[1], lengths, None, x.device)
        if state is None:
            state = [None] * len(self.layers)
        elif not isinstance(state, (list, tuple)) or len(state) != len(self.layers):
            raise TypeError(f"state must be None or a list of {len(self.layers)} layer states.")
        finals = []
        for layer, layer_state in zip(self.layers, state, strict=True):
            x, final = _run_layer(layer, x, layer_state, valid)
            finals.append(final)
        return x, finals


# --------------------------------------------------------------------------- torch.nn


class TorchEquivalent(nn.Module):
    """rnncourse cells arranged like a ``torch.nn.RNN``/``LSTM``/``GRU``, with its formats.

    ``forward(x (B, T, I), state=None, lengths=None)`` returns ``(output, h_n)`` or, for
    an LSTM, ``(output, (h_n, c_n))``: ``output (B, T, D*H)`` and ``h_n, c_n
    (L*D, B, H)`` for ``L`` layers and ``D`` directions, row ``l*D + d`` for layer ``l``,
    direction ``d``. ``state`` is ``h_0`` or ``(h_0, c_0)`` in that same layout. Input is
    always batch-first, whatever the original module's ``batch_first``.
    """

    def __init__(self, stack: Stacked, num_directions: int, is_lstm: bool):
        super().__init__()
        self.stack = stack
        self.num_directions = num_directions
        self.is_lstm = is_lstm
        first = stack.layers[0]
        self.hidden_size = (first.forward_cell if num_directions == 2 else first).hidden_size

    def _layer_states(self, state, batch: int) -> list:
        """Split torch's ``h_0 (L*D, B, H)`` (and ``c_0``) into one state per layer."""
        d, rows = self.num_directions, len(self.stack.layers) * self.num_directions
        if self.is_lstm and (not isinstance(state, (tuple, list)) or len(state) != 2):
            raise TypeError("state for an LSTM must be a pair (h_0, c_0) or None.")
        parts = tuple(state) if self.is_lstm else (state,)
        for name, part in zip(("h_0", "c_0")[: len(parts)], parts, strict=True):
            check_tensor(part, name, (rows, batch, self.hidden_size), hint="Use torch's layout.")
        per_cell = [tuple(p[i] for p in parts) if self.is_lstm else state[i] for i in range(rows)]
        return [tuple(per_cell[i : i + d]) if d == 2 else per_cell[i] for i in range(0, rows, d)]

    def forward(self, x, state=None, lengths=None):
        x = check_tensor(
            x, "x", ("B", "T", self.stack.input_size), hint="Pass batch-first (batch, time, input)."
        )
        layer_states = None if state is None else self._layer_states(state, x.shape[0])
        output, finals = self.stack(x, layer_states, lengths)
        flat = [s for f in finals for s in (f if self.num_directions == 2 else (f,))]
        if self.is_lstm:
            return output, tuple(torch.stack(part) for part in zip(*flat, strict=True))
        return output, torch.stack(flat)


def from_torch(module) -> TorchEquivalent:
    """Build the rnncourse equivalent of a ``torch.nn.RNN``, ``LSTM`` or ``GRU``.

    Every layer and direction becomes a cell loaded with ``Cell.from_torch(module,
    layer, direction)``; the result computes the same function (dropout between layers,
    which torch applies only in training mode, is not reproduced). See
    :class:`TorchEquivalent` for shapes.
    """
    kinds = {nn.LSTM: LSTMCell, nn.GRU: GRUCell, nn.RNN: RNNCell}
    cell_class = next((c for t, c in kinds.items() if isinstance(module, t)), None)
    if cell_class is None:
        raise TypeError(
            f"module must be a torch.nn.RNN, torch.nn.LSTM or torch.nn.GRU, got "
            f"{type(module).__name__}. For a single cell use RNNCell/LSTMCell/GRUCell.from_torch."
        )
    if getattr(module, "proj_size", 0):
        raise ValueError("LSTMs with proj_size > 0 are not supported; use proj_size=0.")
    directions = 2 if module.bidirectional else 1
    layers = []
    for layer in range(module.num_layers):
        cells = [cell_class.from_torch(module, layer, d) for d in range(directions)]
        layers.append(Bidirectional(*cells) if directions == 2 else cells[0])
    return TorchEquivalent(Stacked(layers), directions, cell_class is LSTMCell)
