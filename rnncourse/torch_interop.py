"""How the cells of ``rnncourse.cells`` correspond to ``torch.nn``'s recurrent modules.

Each torch-like cell computes the same function as its ``torch.nn`` counterpart, with the
lecture's parameter names (``PARAMETER_NAMES``) and the gates' row blocks ``k*H:(k+1)*H``
in torch's order (``GATE_ORDER``). A multi-layer module (``nn.RNN``, ``nn.LSTM``,
``nn.GRU``) holds one set of weights per layer ``l`` and direction ``d``, suffixed
``_l{l}`` (``_reverse`` for ``d = 1``); its states ``h_0``, ``h_n`` (``c_0``, ``c_n``)
are ``(L*D, B, H)``, row ``l*D + d``.
"""

import torch
from torch import nn

from rnncourse._validation import check_int, check_tensor

__all__ = [
    "PARAMETER_NAMES", "GATE_ORDER", "TORCH_TYPES", "torch_types", "cell_from_torch",
    "split_torch_state", "join_torch_state"
]  # fmt: skip

PARAMETER_NAMES = {"U": "weight_ih", "W": "weight_hh", "b_x": "bias_ih", "b_h": "bias_hh"}
"""rnncourse parameter name -> torch parameter name (without the ``_l0`` layer suffix)."""

GATE_ORDER = {"RNNCell": (), "LSTMCell": ("i", "f", "g", "o"), "GRUCell": ("r", "z", "n")}
"""rnncourse cell -> its gates, in the order of their row blocks in ``U``, ``W``, ``b``."""

TORCH_TYPES = {
    "RNNCell": (nn.RNNCell, nn.RNN),
    "LSTMCell": (nn.LSTMCell, nn.LSTM),
    "GRUCell": (nn.GRUCell, nn.GRU),
}
"""rnncourse cell -> (the torch cell, the torch multi-layer module) it stands for."""


def torch_types(cell_class: type) -> tuple[type, type]:
    """``(torch cell, torch multi-layer module)`` for ``cell_class`` or a subclass of one."""
    for base in cell_class.__mro__:
        if base.__name__ in TORCH_TYPES:
            return TORCH_TYPES[base.__name__]
    raise TypeError(
        f"{cell_class.__name__} has no torch.nn counterpart; only {', '.join(TORCH_TYPES)} do."
    )


def _weight_suffix(module: nn.Module, cell_type: type, layer: int, direction: int) -> str:
    """The suffix of one layer's and direction's parameter names, e.g. ``_l1_reverse``."""
    layer = check_int(layer, "layer", min_value=0)
    direction = check_int(direction, "direction", min_value=0)
    single = isinstance(module, cell_type)
    if not single and getattr(module, "proj_size", 0) > 0:
        raise ValueError(
            f"LSTMs with projections (proj_size={module.proj_size}) have no "
            "rnncourse equivalent; use proj_size=0."
        )
    layers = 1 if single else module.num_layers
    directions = 2 if not single and module.bidirectional else 1
    if layer >= layers:
        raise ValueError(f"layer must be < {layers} (the module's number of layers), got {layer}.")
    if direction >= directions:
        raise ValueError(
            f"direction must be 0{' or 1' if directions == 2 else ''} for this module "
            f"(bidirectional={directions == 2}), got {direction}."
        )
    return "" if single else f"_l{layer}" + ("_reverse" if direction == 1 else "")


def cell_from_torch(cell_class: type, module: nn.Module, layer: int = 0, direction: int = 0):
    """A new ``cell_class`` (``RNNCell``, ``LSTMCell``, ``GRUCell`` or a subclass) holding a
    copy of the weights of ``module``, the matching torch cell (``nn.LSTMCell`` for
    ``LSTMCell``) or multi-layer module (``nn.LSTM``), of which ``layer`` and ``direction``
    (``1``: reverse) pick one cell. ``U, W, b_x, b_h`` are detached clones of
    ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``; above the first layer,
    ``input_size`` is the size of the layer below's output."""
    cell_type, seq_type = torch_types(cell_class)
    if not isinstance(module, (cell_type, seq_type)):
        raise TypeError(
            f"{cell_class.__name__}.from_torch expects a torch.nn.{cell_type.__name__} or "
            f"torch.nn.{seq_type.__name__}, got {type(module).__name__}."
        )
    suffix = _weight_suffix(module, cell_type, layer, direction)
    options = {"nonlinearity": module.nonlinearity} if hasattr(module, "nonlinearity") else {}
    U, W = getattr(module, "weight_ih" + suffix), getattr(module, "weight_hh" + suffix)
    cell = cell_class(U.shape[1], W.shape[1], bias=module.bias, **options)
    for ours, theirs in PARAMETER_NAMES.items():
        if getattr(cell, ours) is not None:  # b_x, b_h are None with bias=False
            setattr(cell, ours, nn.Parameter(getattr(module, theirs + suffix).detach().clone()))
    return cell


def split_torch_state(state, num_layers, num_directions, batch, hidden_size, is_lstm) -> list:
    """torch's initial state ``h_0`` ``(L*D, B, H)`` (``is_lstm``: the pair ``(h_0, c_0)``)
    for ``L`` layers and ``D`` directions as a list of ``L`` states, ``h`` ``(B, H)`` (or
    ``(h, c)``), with two directions a pair ``(forward state, backward state)``."""
    if is_lstm and (not isinstance(state, (tuple, list)) or len(state) != 2):
        raise TypeError("state for an LSTM must be a pair (h_0, c_0) or None.")
    parts = tuple(state) if is_lstm else (state,)
    rows = num_layers * num_directions
    for name, part in zip(("h_0", "c_0"), parts, strict=False):
        check_tensor(part, name, (rows, batch, hidden_size), hint="Use torch's layout.")
    per_cell = [tuple(p[i] for p in parts) if is_lstm else state[i] for i in range(rows)]
    if num_directions == 1:
        return per_cell
    return [tuple(per_cell[i : i + 2]) for i in range(0, rows, 2)]


def join_torch_state(finals: list, num_directions: int):
    """Per-layer final states (as :func:`split_torch_state` makes them) in torch's layout:
    ``h_n`` ``(L*D, B, H)``, or ``(h_n, c_n)`` for ``(h, c)`` pairs."""
    per_cell = [s for f in finals for s in (f if num_directions == 2 else (f,))]
    if isinstance(per_cell[0], tuple):
        return tuple(torch.stack(part) for part in zip(*per_cell, strict=True))
    return torch.stack(per_cell)
