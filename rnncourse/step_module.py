"""A trainable recurrent layer built from a step function you wrote.

:class:`StepModule` holds the parameters of a GRU or an LSTM (``U``, ``W``, ``b_x``,
``b_h``, in torch's shapes and gate order) and a linear readout, and runs *your* step
function over the time steps of a sequence. Autograd differentiates through the Python
loop, so the module trains like any ``torch.nn`` module::

    step = checks.use("gru_step", gru_step)
    model = StepModule(step, "gru", input_size=2, hidden_size=16)
    y_hat = model(x)                 # x (B, T, 2) -> y_hat (B, 1), read out after step T

The step functions have the signatures of the course's exercises:

- ``"gru"``: ``step(x, h, U, W, b_x, b_h) -> h_new``, with ``U (3H, I)``, ``W (3H, H)``,
  ``b_x``, ``b_h`` ``(3H,)`` (rows r, z, n);
- ``"lstm"``: ``step(x, h, c, U, W, b) -> (h_new, c_new)``, with ``U (4H, I)``,
  ``W (4H, H)``, ``b (4H,)`` (rows i, f, g, o); the module passes ``b = b_x + b_h``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from rnncourse._random import generator
from rnncourse._validation import check_choice, check_int, check_tensor

__all__ = ["StepModule"]

_BLOCKS = {"gru": 3, "lstm": 4}


class StepModule(nn.Module):
    """A GRU or LSTM layer that runs a given step function, read out at the last step.

    Args:
        step: the step function (signatures in the module's docstring).
        kind: ``"gru"`` or ``"lstm"``.
        input_size: I, features per time step.
        hidden_size: H, units of the recurrent layer.
        output_size: outputs of the linear readout (default 1).
        forget_bias: added to the LSTM's forget-gate bias (rows H:2H) at the start, so
            that the cell keeps its state by default (ignored for the GRU).
        seed: seeds the initial weights (int, ``torch.Generator`` or None); the global
            random state is not touched.

    Parameters, as torch names them for ``nn.GRUCell``/``nn.LSTMCell``: ``U`` (G*H, I)
    is ``weight_ih``, ``W`` (G*H, H) ``weight_hh``, ``b_x`` and ``b_h`` (G*H,) ``bias_ih``
    and ``bias_hh``, with G = 3 (GRU) or 4 (LSTM); ``readout`` is an ``nn.Linear(H,
    output_size)``. All start uniform in ``[-1/sqrt(H), 1/sqrt(H)]``, as in torch.
    """

    def __init__(
        self,
        step: Callable,
        kind: str,
        input_size: int,
        hidden_size: int,
        output_size: int = 1,
        *,
        forget_bias: float = 1.0,
        seed=0,
    ):
        super().__init__()
        if not callable(step):
            raise TypeError(f"step must be a function such as gru_step, got {type(step).__name__}.")
        self.step = step
        self.kind = check_choice(kind, "kind", tuple(_BLOCKS))
        self.input_size = check_int(input_size, "input_size", min_value=1)
        self.hidden_size = H = check_int(hidden_size, "hidden_size", min_value=1)
        output_size = check_int(output_size, "output_size", min_value=1)
        rows = _BLOCKS[self.kind] * H
        g, bound = generator(seed), 1 / math.sqrt(H)

        def uniform(*shape):
            return nn.Parameter((torch.rand(*shape, generator=g) * 2 - 1) * bound)

        self.U = uniform(rows, self.input_size)
        self.W = uniform(rows, H)
        self.b_x = uniform(rows)
        self.b_h = uniform(rows)
        with torch.random.fork_rng(devices=[]):  # its weights are set below, from g
            self.readout = nn.Linear(H, output_size)
        with torch.no_grad():
            self.readout.weight.copy_(uniform(output_size, H))
            self.readout.bias.copy_(uniform(output_size))
            if self.kind == "lstm":
                self.b_x[H : 2 * H] += forget_bias

    def states(self, x: torch.Tensor) -> torch.Tensor:
        """Run the step over the sequence from a zero state.

        Args:
            x: input (B, T, I).

        Returns:
            The hidden states h(1) ... h(T), shape (B, T, H).
        """
        x = check_tensor(x, "x", ("B", "T", self.input_size), hint="Inputs are batch-first.")
        h = x.new_zeros(x.shape[0], self.hidden_size)
        c = torch.zeros_like(h)
        hs = []
        for t in range(x.shape[1]):
            if self.kind == "gru":
                h = self.step(x[:, t], h, self.U, self.W, self.b_x, self.b_h)
            else:
                h, c = self.step(x[:, t], h, c, self.U, self.W, self.b_x + self.b_h)
            hs.append(h)
        return torch.stack(hs, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The readout of the last state: x (B, T, I) -> (B, output_size)."""
        return self.readout(self.states(x)[:, -1])

    def extra_repr(self) -> str:
        name = getattr(self.step, "__name__", type(self.step).__name__)
        return f"{self.kind}, step={name}, input_size={self.input_size}, hidden={self.hidden_size}"
