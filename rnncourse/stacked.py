"""Stacked and bidirectional recurrences, and ``torch.nn.RNN``/``LSTM``/``GRU`` rebuilt.

Every layer runs with :func:`rnncourse.sequences.run` (batch-first, ``lengths`` for a
padded batch).
"""

from functools import partial

import torch
from torch import nn

from rnncourse import torch_interop
from rnncourse._validation import check_tensor
from rnncourse.cells import GRUCell, LSTMCell, RNNCell
from rnncourse.sequences import check_cell, run

__all__ = ["Bidirectional", "Stacked", "TorchEquivalent", "from_torch"]


def _reverse_within(x, lengths):
    """Reverse each sequence of ``x (B, T, F)`` within its ``lengths`` (None: all T)."""
    if lengths is None:
        return x.flip(1)
    lengths = torch.as_tensor(lengths, device=x.device)[:, None]
    time = torch.arange(x.shape[1], device=x.device)
    index = torch.where(time < lengths, lengths - 1 - time, time)  # padding stays put
    return x.gather(1, index[..., None].expand_as(x))


class Bidirectional(nn.Module):
    """A forward and a backward pass over the same sequence: ``hs[:, t] = [h_fwd(t),
    h_bwd(t)]``, where ``h_bwd`` runs from each sequence's last
    valid step back to its first, so padding never changes a result. ``forward(x (B, T,
    I), state=None, lengths=None) -> (hs (B, T, H_f + H_b), (final_fwd, final_bwd))``;
    ``state`` is a pair of initial states or None."""

    def __init__(self, forward_cell, backward_cell):
        super().__init__()
        self.forward_cell = check_cell(forward_cell, "forward_cell")
        self.backward_cell = check_cell(backward_cell, "backward_cell")
        if forward_cell.input_size != backward_cell.input_size:
            raise ValueError(
                f"both directions read the same input, so forward_cell.input_size "
                f"({forward_cell.input_size}) must equal backward_cell.input_size "
                f"({backward_cell.input_size})."
            )
        self.input_size = forward_cell.input_size
        self.hidden_size = forward_cell.hidden_size + backward_cell.hidden_size

    def forward(self, x, state=None, lengths=None):
        if state is None:
            state = (None, None)
        elif not isinstance(state, (tuple, list)) or len(state) != 2:
            raise TypeError("state must be a pair (forward_state, backward_state) or None.")
        hs_f, final_f = run(self.forward_cell, x, state[0], lengths)  # checks x and lengths
        hs_b, final_b = run(self.backward_cell, _reverse_within(x, lengths), state[1], lengths)
        return torch.cat([hs_f, _reverse_within(hs_b, lengths)], dim=2), (final_f, final_b)


class Stacked(nn.Module):
    """Layers on top of each other: layer ``l``'s states ``hs`` are layer ``l+1``'s inputs.
    ``cells`` is a list of cells (or :class:`Bidirectional` layers) whose sizes chain.
    ``forward(x (B, T, I), state=None, lengths=None) -> (hs (B, T, H_top), finals)``;
    ``state`` and ``finals`` are lists with one state per layer."""

    def __init__(self, cells):
        super().__init__()
        if isinstance(cells, nn.Module) or not isinstance(cells, (list, tuple)) or not cells:
            raise TypeError("cells must be a non-empty list of cells, e.g. [cell1, cell2].")
        for i, cell in enumerate(cells):
            if not isinstance(cell, Bidirectional):
                check_cell(cell, f"cells[{i}]")
            if i > 0 and cell.input_size != cells[i - 1].hidden_size:
                raise ValueError(
                    f"cells[{i}].input_size is {cell.input_size} but cells[{i - 1}] outputs "
                    f"{cells[i - 1].hidden_size} features; the sizes must chain."
                )
        self.layers = nn.ModuleList(cells)
        self.input_size = cells[0].input_size
        self.hidden_size = cells[-1].hidden_size

    def forward(self, x, state=None, lengths=None):
        if state is None:
            state = [None] * len(self.layers)
        elif not isinstance(state, (list, tuple)) or len(state) != len(self.layers):
            raise TypeError(f"state must be None or a list of {len(self.layers)} layer states.")
        finals = []
        for layer, layer_state in zip(self.layers, state, strict=True):
            run_layer = layer if isinstance(layer, Bidirectional) else partial(run, layer)
            x, final = run_layer(x, layer_state, lengths)
            finals.append(final)
        return x, finals


class TorchEquivalent(nn.Module):
    """rnncourse cells arranged like a ``torch.nn.RNN``/``LSTM``/``GRU``, with its formats:
    ``forward(x (B, T, I), state=None, lengths=None)`` returns ``(output, h_n)`` or, for
    an LSTM, ``(output, (h_n, c_n))``: ``output (B, T, D*H)`` and ``h_n, c_n
    (L*D, B, H)`` for ``L`` layers and ``D`` directions, row ``l*D + d`` for layer ``l``,
    direction ``d``. ``state`` is ``h_0`` or ``(h_0, c_0)`` in that same layout. Input is
    always batch-first, whatever the original module's ``batch_first``."""

    def __init__(self, stack: Stacked, num_directions: int, is_lstm: bool):
        super().__init__()
        self.stack, self.num_directions, self.is_lstm = stack, num_directions, is_lstm
        self.num_layers, self.hidden_size = len(stack.layers), stack.hidden_size // num_directions

    def forward(self, x, state=None, lengths=None):
        x = check_tensor(x, "x", ("B", "T", self.stack.input_size), hint="Inputs are batch-first.")
        if state is not None:  # torch's (L*D, B, H) layout -> one state per layer
            sizes = (self.num_layers, self.num_directions, x.shape[0], self.hidden_size)
            state = torch_interop.split_torch_state(state, *sizes, self.is_lstm)
        output, finals = self.stack(x, state, lengths)
        return output, torch_interop.join_torch_state(finals, self.num_directions)


def from_torch(module) -> TorchEquivalent:
    """The :class:`TorchEquivalent` of a ``torch.nn.RNN``, ``LSTM`` or ``GRU``: every layer
    and direction a cell loaded with ``Cell.from_torch(module, layer, direction)``. It
    computes the same function, without the dropout torch applies between layers in
    training mode."""
    multi_layer = {c: torch_interop.torch_types(c)[1] for c in (RNNCell, LSTMCell, GRUCell)}
    cell_class = next((c for c, t in multi_layer.items() if isinstance(module, t)), None)
    if cell_class is None:
        raise TypeError(
            f"module must be a torch.nn.RNN, torch.nn.LSTM or torch.nn.GRU, got "
            f"{type(module).__name__}. For a single cell use RNNCell/LSTMCell/GRUCell.from_torch."
        )
    directions = 2 if module.bidirectional else 1
    layers = []
    for layer in range(module.num_layers):
        cells = [cell_class.from_torch(module, layer, d) for d in range(directions)]
        layers.append(Bidirectional(*cells) if directions == 2 else cells[0])
    return TorchEquivalent(Stacked(layers), directions, cell_class is LSTMCell)
