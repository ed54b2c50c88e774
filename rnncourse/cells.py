"""One recurrent step, ``h(t) = f(h(t-1), x(t))``, from plain torch tensor operations.

``U`` multiplies the input, ``W`` the previous state; the biases ``b_x``, ``b_h`` are
torch's ``bias_ih``, ``bias_hh``, kept apart so that weights load from torch one to one
(they only appear summed, ``b = b_x + b_h``). The step functions are the bare maths; the
cells hold the parameters, check the inputs and call them. ``RNNCell``, ``LSTMCell`` and
``GRUCell`` equal torch's cells.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from rnncourse import torch_interop
from rnncourse._validation import check_choice, check_float, check_int, check_tensor

__all__ = ["RecurrentCell", "RNNCell", "LSTMCell", "GRUCell", "GatedLeakyCell", "StepCell"]


# The steps: x (B, I), h and c (B, H); U (G*H, I), W (G*H, H), b_x and b_h (G*H,) or None
# for G gate blocks. F.linear(x, U, b_x) is U x + b_x for every row of the batch.


def _rnn_step(x, h, U, W, b_x, b_h, nonlinearity: str = "tanh"):
    """``h(t) = tanh(W h(t-1) + U x(t) + b)`` (or ReLU instead of tanh): ``(B, H)``."""
    a = F.linear(x, U, b_x) + F.linear(h, W, b_h)
    return torch.tanh(a) if nonlinearity == "tanh" else torch.relu(a)


def _gated_leaky_step(x, s, retention):
    """``s(t) = sigmoid(theta) * s(t-1) + x(t)``, ``retention = sigmoid(theta)``: ``(B, H)``."""
    return retention * s + x


def _lstm_gates(x, h, U, W, b_x, b_h):
    """The four gate blocks of an LSTM step in torch's order: ``(i, f, g, o)``, each ``(B, H)``."""
    a_i, a_f, a_g, a_o = (F.linear(x, U, b_x) + F.linear(h, W, b_h)).chunk(4, dim=1)
    return torch.sigmoid(a_i), torch.sigmoid(a_f), torch.tanh(a_g), torch.sigmoid(a_o)


def _lstm_step(x, h, c, U, W, b_x, b_h):
    """One LSTM step from its gates (:func:`_lstm_gates`): ``(h, c)``."""
    i, f, g, o = _lstm_gates(x, h, U, W, b_x, b_h)
    c = f * c + i * g  # the cell state, updated additively
    return o * torch.tanh(c), c


def _gru_step(x, h, U, W, b_x, b_h):
    """One GRU step; the three gate blocks in torch's order ``r, z, n``: ``h(t)`` ``(B, H)``."""
    ux_r, ux_z, ux_n = F.linear(x, U, b_x).chunk(3, dim=1)
    wh_r, wh_z, wh_n = F.linear(h, W, b_h).chunk(3, dim=1)
    r = torch.sigmoid(ux_r + wh_r)  # reset gate: how much of W_n h reaches n
    z = torch.sigmoid(ux_z + wh_z)  # update gate: how much of h(t-1) is kept
    n = torch.tanh(ux_n + r * wh_n)  # candidate state
    return (1 - z) * n + z * h


class RecurrentCell(nn.Module):
    """Base class of all cells: one step ``state(t) = f(state(t-1), x(t))``.
    ``input_size`` I, ``hidden_size`` H: the features of ``x`` ``(B, I)`` and ``h`` ``(B,
    H)``; ``pair_state``: the state is a pair ``(h, c)`` (LSTM). ``forward(x, state=None)``
    checks its inputs (None: a zero state) and calls ``step``, the bare maths."""

    pair_state = False

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size = check_int(input_size, "input_size", min_value=1)
        self.hidden_size = check_int(hidden_size, "hidden_size", min_value=1)

    def forward(self, x: torch.Tensor, state=None):
        hint = f"A cell takes one step, (batch, {self.input_size}); use sequences.run for more."
        x = check_tensor(x, "x", ("B", self.input_size), hint=hint)
        return self.step(x, self.check_state(state, x))

    def step(self, x: torch.Tensor, state):
        """One step without input checks: ``x`` ``(B, I)``, a state -> the new state."""
        raise NotImplementedError

    def zero_state(self, batch_size: int, *, dtype=None, device=None):
        """An all-zero state ``(B, H)`` (or a pair), by default of the parameters' dtype."""
        batch_size = check_int(batch_size, "batch_size", min_value=1)
        param = next(self.parameters())
        h = param.new_zeros(batch_size, self.hidden_size, dtype=dtype, device=device)
        return (h, h.clone()) if self.pair_state else h

    def output(self, state) -> torch.Tensor:
        """The hidden vector ``h`` of shape ``(B, H)`` contained in ``state``."""
        return state[0] if self.pair_state else state

    def check_state(self, state, x: torch.Tensor):
        """``state`` ``(B, H)`` (or its pair) checked for ``x`` ``(B, ..., I)``, both of the
        parameters' dtype; ``None`` gives zeros."""
        dtype = next(self.parameters()).dtype
        if x.dtype != dtype:
            raise TypeError(
                f"x has dtype {x.dtype} but the cell's parameters have dtype {dtype}. "
                f"Convert one of them, e.g. x.to({dtype}) or cell.to(x.dtype)."
            )
        if state is None:
            return self.zero_state(x.shape[0], dtype=x.dtype, device=x.device)
        if self.pair_state and (not isinstance(state, (tuple, list)) or len(state) != 2):
            raise TypeError(
                "The LSTM state must be a pair (h, c) of (batch, hidden_size) tensors, got "
                f"{type(state).__name__}. Pass None for a zero state."
            )
        shape = (x.shape[0], self.hidden_size)
        hint = f"It must be (batch, hidden_size) = {shape} to match x; pass None for zeros."
        parts = {"h": state[0], "c": state[1]} if self.pair_state else {"state": state}
        for name, h in parts.items():
            check_tensor(h, name, shape, hint=hint)
            if h.dtype != x.dtype:
                raise TypeError(f"{name} has dtype {h.dtype} but x has dtype {x.dtype}; use .to().")
        return tuple(parts.values()) if self.pair_state else state

    def extra_repr(self) -> str:
        return f"input_size={self.input_size}, hidden_size={self.hidden_size}"


class _TorchLikeCell(RecurrentCell):
    """The RNN, LSTM and GRU cells' parameters, ``G = n_gates`` blocks of rows: ``U``
    ``(G*H, I)``, ``W`` ``(G*H, H)``, ``b_x``, ``b_h`` ``(G*H,)`` (None with ``bias=False``)."""

    n_gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__(input_size, hidden_size)
        if not isinstance(bias, bool):
            raise TypeError(f"bias must be True or False, got {type(bias).__name__}.")
        rows = self.n_gates * self.hidden_size
        self.U = nn.Parameter(torch.empty(rows, self.input_size))
        self.W = nn.Parameter(torch.empty(rows, self.hidden_size))
        for name in ("b_x", "b_h"):  # without bias, still a (None) parameter slot
            self.register_parameter(name, nn.Parameter(torch.empty(rows)) if bias else None)
        self.reset_parameters()

    @property
    def bias(self) -> bool:
        return self.b_x is not None

    def reset_parameters(self) -> None:
        """Draw every parameter from ``uniform(-1/sqrt(H), 1/sqrt(H))``, as torch does."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    @classmethod
    def from_torch(cls, module: nn.Module, layer: int = 0, direction: int = 0):
        """A new cell holding a copy of the weights of the matching torch cell, or of one
        ``layer`` and ``direction`` of a multi-layer module."""
        return torch_interop.cell_from_torch(cls, module, layer, direction)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", bias={self.bias}"


class RNNCell(_TorchLikeCell):
    """The plain (Elman) recurrent step, ``h(t) = act(W h(t-1) + U x(t) + b_x + b_h)``.
    ``act``: ``nonlinearity``, ``"tanh"`` or ``"relu"``. ``U`` ``(H, I)`` (torch's weight_ih),
    ``W`` ``(H, H)`` (weight_hh), ``b_x``, ``b_h`` ``(H,)`` (bias_ih, bias_hh; None with
    ``bias=False``). ``forward(x (B, I), state=None)`` returns the new ``h`` ``(B, H)``."""

    def __init__(self, input_size, hidden_size, nonlinearity="tanh", bias=True):
        check_choice(nonlinearity, "nonlinearity", ("tanh", "relu"))
        super().__init__(input_size, hidden_size, bias)
        self.nonlinearity = nonlinearity

    def step(self, x: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        return _rnn_step(x, state, self.U, self.W, self.b_x, self.b_h, self.nonlinearity)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", nonlinearity={self.nonlinearity!r}"


class LSTMCell(_TorchLikeCell):
    """The long short-term memory step; the state is the pair ``(h, c)``, each ``(B, H)``.

    ``a = U x(t) + b_x + W h(t-1) + b_h`` is split into four blocks of ``H`` rows
    (``k*H:(k+1)*H`` for gate ``k``; parameters as :class:`RNNCell`'s with ``4H`` rows) in
    torch's order ``i, f, g, o``::

        i = sigmoid(a_i)   input gate        f = sigmoid(a_f)   forget gate
        g = tanh(a_g)      candidate         o = sigmoid(a_o)   output gate
        c(t) = f * c(t-1) + i * g  (the lecture's a(t))     h(t) = o * tanh(c(t))
    """

    n_gates = 4
    pair_state = True

    def step(self, x: torch.Tensor, state) -> tuple[torch.Tensor, torch.Tensor]:
        return _lstm_step(x, *state, self.U, self.W, self.b_x, self.b_h)

    def gates(self, x: torch.Tensor, state=None) -> tuple[torch.Tensor, ...]:
        """The gates ``(i, f, g, o)``, each ``(B, H)``, of the step ``forward(x, state)``."""
        x = check_tensor(x, "x", ("B", self.input_size))
        h, _ = self.check_state(state, x)
        return _lstm_gates(x, h, self.U, self.W, self.b_x, self.b_h)


class GRUCell(_TorchLikeCell):
    """The gated recurrent unit step: ``forward(x (B, I), state=None)`` -> ``h`` ``(B, H)``.

    ``U x(t) + b_x`` and ``W h(t-1) + b_h`` are split into three blocks of ``H`` rows in
    torch's order ``r, z, n`` (parameters as :class:`RNNCell`'s with ``3H`` rows)::

        r = sigmoid(U_r x + b_xr + W_r h + b_hr)          reset gate
        z = sigmoid(U_z x + b_xz + W_z h + b_hz)          update gate: near 1 keeps h(t-1)
        n = tanh(U_n x + b_xn + r * (W_n h + b_hn))       candidate state
        h(t) = (1 - z) * n + z * h(t-1)
    """

    n_gates = 3

    def step(self, x: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        return _gru_step(x, state, self.U, self.W, self.b_x, self.b_h)


class StepCell(_TorchLikeCell):
    """A tanh RNN, LSTM or GRU cell whose step is a function you wrote.

    The cell holds the parameters in torch's shapes, gate order and initialisation and
    calls ``step_fn`` with them as they are, so your step trains like a built-in cell (the
    state it returns is checked at every step). ``forget_bias`` is added to the LSTM's
    forget-gate rows ``H:2H`` of ``b_x`` at initialisation (0: torch's). ``kind`` picks
    the exercises' signature, with ``x (B, I)``, ``h``, ``c`` ``(B, H)``, ``b = b_x + b_h``:

    - ``"rnn"``: ``step_fn(h, x, W, U, b) -> h_new``; ``U (H, I)``, ``W (H, H)``, ``b (H,)``;
    - ``"lstm"``: ``step_fn(x, h, c, U, W, b) -> (h_new, c_new)``; ``U (4H, I)``,
      ``W (4H, H)``, ``b (4H,)``, rows ``i, f, g, o``;
    - ``"gru"``: ``step_fn(x, h, U, W, b_x, b_h) -> h_new``; ``U (3H, I)``, ``W (3H, H)``,
      ``b_x``, ``b_h`` ``(3H,)``, rows ``r, z, n``.
    """

    def __init__(self, step_fn, kind, input_size, hidden_size, *, forget_bias=0.0):
        if not callable(step_fn) or isinstance(step_fn, nn.Module):
            raise TypeError(f"step_fn must be a function such as gru_step, got {step_fn!r}.")
        kinds = {"rnn": 1, "lstm": 4, "gru": 3}
        self.n_gates = kinds[check_choice(kind, "kind", tuple(kinds))]
        self.pair_state, self.kind, self.step_fn = kind == "lstm", kind, step_fn
        self.forget_bias = check_float(forget_bias, "forget_bias")
        super().__init__(input_size, hidden_size)

    def reset_parameters(self) -> None:
        """torch's initialisation, plus ``forget_bias`` on the LSTM's forget-gate rows."""
        super().reset_parameters()
        if self.kind == "lstm":
            with torch.no_grad():
                self.b_x[self.hidden_size : 2 * self.hidden_size] += self.forget_bias

    def step(self, x: torch.Tensor, state):
        U, W, b_x, b_h = self.U, self.W, self.b_x, self.b_h
        if self.kind == "gru":
            new = self.step_fn(x, state, U, W, b_x, b_h)
        elif self.kind == "lstm":
            new = self.step_fn(x, *state, U, W, b_x + b_h)
        else:
            new = self.step_fn(state, x, W, U, b_x + b_h)
        name = f"the new state from {getattr(self.step_fn, '__name__', 'step_fn')}"
        shape = (x.shape[0], self.hidden_size)
        if not self.pair_state:
            return check_tensor(new, name, shape)
        if not isinstance(new, (tuple, list)) or len(new) != 2:
            raise TypeError(f"{name} must be a pair (h_new, c_new), got {type(new).__name__}.")
        return tuple(check_tensor(part, name, shape) for part in new)

    def extra_repr(self) -> str:
        name = getattr(self.step_fn, "__name__", "?")
        return f"{self.kind!r}, step_fn={name}, " + super().extra_repr()


class GatedLeakyCell(RecurrentCell):
    """The lecture's gated leaky unit: ``s(t) = sigmoid(theta) * s(t-1) + x(t)``.

    (The lecture's ``sigmoid(c)``; ``c`` is the LSTM's cell state here.) Each of the ``H``
    units keeps a fraction ``sigmoid(theta)`` of its state, so it remembers for about ``1 /
    (1 - sigmoid(theta))`` steps. An input has ``H + C`` features, ``x(t)`` then the context
    ``z(t)`` (``C = context_size``). ``theta`` ``(H,)`` is a parameter if ``C == 0``, else
    ``theta(t) = V z(t) + b_theta``, ``V`` ``(H, C)``, ``b_theta`` ``(H,)``. The retentions
    start spread from 0.5 to 0.95 (time constants 2 to 20 steps), ``V`` uniform(+-1/sqrt(C)).
    ``forward(x (B, H + C), state=None)`` returns the new ``s`` ``(B, H)``.
    """

    def __init__(self, hidden_size: int, context_size: int = 0):
        hidden_size = check_int(hidden_size, "hidden_size", min_value=1)
        context_size = check_int(context_size, "context_size", min_value=0)
        super().__init__(hidden_size + context_size, hidden_size)
        self.context_size = context_size
        own = context_size == 0  # theta of its own, else theta(t) = V z(t) + b_theta
        self.register_parameter("theta", nn.Parameter(torch.empty(hidden_size)) if own else None)
        V = None if own else nn.Parameter(torch.empty(hidden_size, context_size))
        self.register_parameter("V", V)
        b_theta = None if own else nn.Parameter(torch.empty(hidden_size))
        self.register_parameter("b_theta", b_theta)
        self.reset_parameters()

    def step(self, x: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        return _gated_leaky_step(x[:, : self.hidden_size], state, self._gate(x))

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The retention ``sigmoid(theta)`` for input ``x`` ``(B, H + C)``: shape ``(B, H)``."""
        return self._gate(check_tensor(x, "x", ("B", self.input_size)))

    def _gate(self, x: torch.Tensor) -> torch.Tensor:
        if self.context_size == 0:
            return torch.sigmoid(self.theta).expand(x.shape[0], -1)
        z = x[:, self.hidden_size :]  # the context z(t)
        return torch.sigmoid(F.linear(z, self.V, self.b_theta))

    def reset_parameters(self) -> None:
        """Retention ``sigmoid(theta)`` spread over 0.5 ... 0.95; ``V`` uniform(+-1/sqrt(C))."""
        retention = torch.linspace(0.5, 0.95, self.hidden_size)
        with torch.no_grad():
            if self.context_size == 0:
                self.theta.copy_(torch.logit(retention))
            else:
                self.b_theta.copy_(torch.logit(retention))
                bound = 1.0 / math.sqrt(self.context_size)
                nn.init.uniform_(self.V, -bound, bound)

    def extra_repr(self) -> str:
        return f"hidden_size={self.hidden_size}, context_size={self.context_size}"
