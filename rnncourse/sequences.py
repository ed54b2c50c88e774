"""Running a recurrent cell over time, and the output topologies built on that loop.

:func:`run` unrolls a cell (:mod:`rnncourse.cells`) over a batch of sequences, padded
ones too (``lengths``, :func:`length_mask`); the lecture's topologies arrange inputs and
outputs around that loop. Every tensor is batch-first, ``(B, T, features)``; a state is
``h`` ``(B, H)`` (LSTM: the pair ``(h, c)``), zero unless one is given.
"""

import math

import torch
from torch import nn

from rnncourse._validation import check_choice, check_int, check_tensor
from rnncourse.cells import RecurrentCell

__all__ = [
    "run", "length_mask", "shift_right", "ManyToMany", "ManyToOne", "EncoderDecoder",
    "OneToMany", "OutputFeedback", "check_cell"
]  # fmt: skip


def run(cell, x, state=None, lengths=None):
    """Run ``cell`` over a batch of sequences: ``h(t) = f(h(t-1), x(t))``.
    ``cell`` is a cell from :mod:`rnncourse.cells` with ``cell.input_size == I``, ``x``
    ``(B, T, I)``, ``state`` ``(B, H)`` (LSTM: a pair ``(h, c)``) or zeros if None, and
    ``lengths`` optional ``(B,)`` integer lengths, each in ``1..T``, for a padded batch.
    Returns ``(hs, final_state)``: ``hs`` ``(B, T, H)`` with ``hs[:, t] = h(t)``, and the
    state after the last step. A padded step carries the state over unchanged and has a
    zero ``hs`` row, so ``final_state`` is each sequence's state at its last valid step."""
    cell = check_cell(cell)
    x = _check_input(x, cell.input_size)
    return _unroll(cell, x, state, _valid(lengths, x))


def _unroll(cell, x, state, valid):
    """The loop of :func:`run` on a checked ``x`` and ``valid`` mask ``(B, T)`` (or None):
    the state is checked once, then every step is the cell's bare ``step``."""
    state = cell.check_state(state, x)
    hs = []
    # unbind, not x[:, t]: each slice's backward would write a full (B, T, I) gradient,
    # making backward grow with T squared.
    for t, x_t in enumerate(x.unbind(1)):
        new_state = cell.step(x_t, state)
        if valid is None:
            state = new_state
            hs.append(cell.output(state))
        else:  # a padded step keeps the old state and outputs zeros
            keep = valid[:, t, None]
            state = _where(keep, new_state, state)
            hs.append(torch.where(keep, cell.output(state), 0.0))
    return torch.stack(hs, dim=1), state


def _where(keep, new, old):
    """``new`` where ``keep`` is True, else ``old``: for a state ``h`` or a pair ``(h, c)``."""
    if isinstance(new, tuple):
        return tuple(torch.where(keep, n, o) for n, o in zip(new, old, strict=True))
    return torch.where(keep, new, old)


def length_mask(lengths, steps: int, *, min_length: int = 1, batch_size: int | None = None):
    """Which steps of a padded batch are real: ``mask[b, t] = t < lengths[b]``.
    ``lengths``: ``(B,)`` integers (a tensor or a list), ``B = batch_size`` if given, each
    from ``min_length`` (default 1: an RNN cannot summarise an empty sequence) to
    ``steps``, the padded time size ``T``. Returns a ``(B, T)`` bool tensor on the device
    of ``lengths``, False at the padding."""
    steps = check_int(steps, "steps", min_value=0)
    min_length = check_int(min_length, "min_length", min_value=0)
    lengths = torch.tensor(lengths) if isinstance(lengths, (list, tuple)) else lengths
    shape = ("B" if batch_size is None else batch_size,)
    lengths = check_tensor(lengths, "lengths", shape, floating=False)
    if lengths.dtype == torch.bool or lengths.is_floating_point() or lengths.is_complex():
        raise TypeError(f"lengths must hold integers (e.g. torch.long), got dtype {lengths.dtype}.")
    if lengths.min() < min_length or lengths.max() > steps:
        raise ValueError(
            f"every length must be between {min_length} and T={steps} (the padded time size), "
            f"got lengths {lengths.tolist()}."
            + (" Pad x to the longest sequence and drop empty sequences." if min_length else "")
        )
    return torch.arange(steps, device=lengths.device) < lengths[:, None]


def _valid(lengths, x):
    """The :func:`length_mask` ``(B, T)`` of ``lengths`` for ``x``, on its device, or None."""
    if lengths is not None:
        return length_mask(lengths, x.shape[1], batch_size=x.shape[0]).to(x.device)


class _ReadOut(nn.Module):
    """A cell and a readout ``o = V h + b_o``, ``V = readout.weight`` ``(O, H)``, ``b_o =
    readout.bias`` ``(O,)``."""

    def __init__(self, cell, output_size: int):
        super().__init__()
        self.cell = check_cell(cell)
        output_size = check_int(output_size, "output_size", min_value=1)
        self.readout = nn.Linear(cell.hidden_size, output_size)


class ManyToMany(_ReadOut):
    """An output at every step through a shared linear readout, ``o(t) = V h(t) + b_o``.
    ``forward(x (B, T, I), state=None, lengths=None) -> (o (B, T, O), final_state)``;
    outputs at padded steps are zero."""

    def forward(self, x, state=None, lengths=None):
        x = _check_input(x, self.cell.input_size)
        valid = _valid(lengths, x)
        hs, final = _unroll(self.cell, x, state, valid)
        o = self.readout(hs)
        if valid is not None:  # hs is zero at padded steps, but the readout adds its bias
            o = torch.where(valid[..., None], o, 0.0)
        return o, final


class ManyToOne(_ReadOut):
    """One summary output per sequence, read from the state at its last valid step.
    ``o = V h(tau) + b_o``: the whole sequence is compressed into ``h(tau)``.
    ``forward(x (B, T, I), lengths=None) -> o (B, O)``."""

    def forward(self, x, lengths=None):
        _, final = run(self.cell, x, lengths=lengths)
        return self.readout(self.cell.output(final))


class EncoderDecoder(nn.Module):
    """An encoder summarises one sequence into a context ``C``; a decoder unrolls another.

    ``C = h_enc(tau_in)`` ``(B, H_enc)`` reaches the decoder as (``context``) ``"state"``,
    its initial state ``h_dec(0) = C`` (an LSTM's cell state starts at zero; needs
    ``decoder_cell.hidden_size == H_enc``), ``"input"``, a constant input ``[y_in(t), C]``
    at every step (needs ``decoder_cell.input_size == D + H_enc``), or ``"both"``. ``y_in``
    (zeros if None) are the decoder's own inputs of width ``D``, e.g. the previous target
    under teacher forcing. ``forward(x (B, T_in, I), steps=T_out, y_in=None (B, T_out,
    D), lengths=None) -> o (B, T_out, O)``, ``o(t) = V h_dec(t) + b_o``.
    """

    def __init__(self, encoder_cell, decoder_cell, output_size: int, context: str = "state"):
        super().__init__()
        self.encoder = check_cell(encoder_cell, "encoder_cell")
        self.decoder = check_cell(decoder_cell, "decoder_cell")
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
        output_size = check_int(output_size, "output_size", min_value=1)
        self.readout = nn.Linear(decoder_cell.hidden_size, output_size)

    def forward(self, x, steps=None, y_in=None, lengths=None):
        _, enc_final = run(self.encoder, x, lengths=lengths)
        C = self.encoder.output(enc_final)
        batch, d = x.shape[0], self.decoder_input_size
        if y_in is None:
            steps = check_int(steps, "steps", min_value=1)
            y_in = x.new_zeros(batch, steps, d)  # (B, steps, 0) when C is the only input
        else:
            hint = f"The decoder of this model reads {d} features per step besides C."
            y_in = check_tensor(y_in, "y_in", (batch, steps, d), hint=hint)
        state = None
        if self.context in ("state", "both"):  # an LSTM's cell state starts at zero
            state = (C, torch.zeros_like(C)) if self.decoder.pair_state else C
        if self.context in ("input", "both"):
            y_in = torch.cat([y_in, C[:, None].expand(-1, y_in.shape[1], -1)], dim=2)
        hs, _ = run(self.decoder, y_in, state)
        return self.readout(hs)


class OneToMany(_ReadOut):
    """One input vector, a sequence of outputs ``o(t) = V h(t) + b_o``.
    With ``feed_back_output=True`` the network reads ``x0`` at the first step and its own
    previous output after that, ``x(t) = o(t-1)`` (so ``output_size`` must equal
    ``cell.input_size``); otherwise ``x0`` at every step.
    ``forward(x0 (B, I), steps) -> o (B, steps, O)``."""

    def __init__(self, cell, output_size: int, feed_back_output: bool = True):
        super().__init__(cell, output_size)
        if feed_back_output and output_size != cell.input_size:
            raise ValueError(
                f"feed_back_output=True feeds each output back in as the next input, so "
                f"output_size must equal cell.input_size={cell.input_size}, got "
                f"{output_size}. Use feed_back_output=False to repeat x0 instead."
            )
        self.feed_back_output = bool(feed_back_output)

    def forward(self, x0, steps):
        x0 = check_tensor(x0, "x0", ("B", self.cell.input_size), hint="Give one vector per row.")
        steps = check_int(steps, "steps", min_value=1)
        if not self.feed_back_output:
            hs, _ = run(self.cell, x0[:, None].expand(-1, steps, -1))
            return self.readout(hs)
        state, x, outputs = self.cell.check_state(None, x0), x0, []
        for _ in range(steps):
            state = self.cell.step(x, state)
            x = self.readout(self.cell.output(state))
            outputs.append(x)
        return torch.stack(outputs, dim=1)


def shift_right(y, y0=None):
    """Previous outputs for teacher forcing: ``y_prev[:, t] = y[:, t-1]``.
    ``y``: float vectors ``(B, T, O)`` or integer token ids ``(B, T)``; ``y0``: what
    stands before the first target, ``(B, O)`` or ``(B,)``, zeros if None. Returns
    ``y_prev``, of the shape and dtype of ``y``: ``y0`` then ``y[:, :-1]``."""
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
    y0 = y.new_zeros(step) if y0 is None else y0
    y0 = check_tensor(y0, "y0", step, floating=False, hint="One start value per row.")
    return torch.cat([y0[:, None].to(y.dtype), y[:, :-1]], dim=1)


class OutputFeedback(nn.Module):
    """A network whose only recurrence goes through its output (no state-to-state link).

    ``h(t) = tanh(U x(t) + R y(t-1) + b)``, ``o(t) = V h(t) + b_o``, with ``U (H, I)``,
    ``R (H, O)``, ``b (H,)``, ``V (O, H)``, ``b_o (O,)``. :meth:`teacher_forced` ``(x
    (B, T, I), y_prev (B, T, O)) -> o (B, T, O)`` is given the true previous outputs, so
    all steps run in one batched pass; :meth:`generate` ``(x, y0=None (B, O)) -> o``
    feeds back its own outputs, ``y(t-1) = o(t-1)``, step by step. ``forward(x,
    y_prev=None)`` is ``teacher_forced`` with ``y_prev``, else ``generate``.
    """

    def __init__(self, input_size: int, output_size: int, hidden_size: int):
        super().__init__()
        self.input_size = check_int(input_size, "input_size", min_value=1)
        self.output_size = check_int(output_size, "output_size", min_value=1)
        self.hidden_size = check_int(hidden_size, "hidden_size", min_value=1)
        bound = 1 / math.sqrt(hidden_size)
        H, I, O = hidden_size, input_size, output_size
        shapes = dict(U=(H, I), R=(H, O), b=(H,), V=(O, H), b_o=(O,))
        for name, shape in shapes.items():
            setattr(self, name, nn.Parameter(torch.empty(shape).uniform_(-bound, bound)))

    def _step(self, x, y_prev):
        h = torch.tanh(x @ self.U.T + y_prev @ self.R.T + self.b)
        return h @ self.V.T + self.b_o

    def teacher_forced(self, x, y_prev):
        """All steps at once from the true previous outputs (see :func:`shift_right`)."""
        x = _check_input(x, self.input_size)
        hint = "Build it from the targets with shift_right(y)."
        y_prev = check_tensor(y_prev, "y_prev", (*x.shape[:2], self.output_size), hint=hint)
        return self._step(x, y_prev)  # matmuls broadcast over the time axis

    def generate(self, x, y0=None):
        """Step by step, each output fed back as the next step's ``y(t-1)``."""
        x = _check_input(x, self.input_size)
        y = x.new_zeros(x.shape[0], self.output_size) if y0 is None else y0
        y = check_tensor(y, "y0", (x.shape[0], self.output_size), hint="One vector per row.")
        outputs = []
        for x_t in x.unbind(1):  # unbind, not x[:, t]: see run
            y = self._step(x_t, y)
            outputs.append(y)
        return torch.stack(outputs, dim=1)

    def forward(self, x, y_prev=None):
        return self.generate(x) if y_prev is None else self.teacher_forced(x, y_prev)


def check_cell(cell, name: str = "cell") -> RecurrentCell:
    """``cell`` if it is a cell from :mod:`rnncourse.cells`, else a TypeError naming ``name``."""
    if not isinstance(cell, RecurrentCell):
        raise TypeError(
            f"{name} must be a recurrent cell from rnncourse.cells (e.g. RNNCell(3, 8)), "
            f"got {type(cell).__name__}. To use a torch.nn.RNNCell, convert it with "
            f"RNNCell.from_torch(module)."
        )
    return cell


def _check_input(x, input_size: int) -> torch.Tensor:
    hint = f"Pass a batch-first tensor (batch, time, {input_size})."
    return check_tensor(x, "x", ("B", "T", input_size), hint=hint)
