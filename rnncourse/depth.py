"""How many tensor operations of a computation must run one after another: its depth.

A loop over time is a chain as long as T; a parallel scan does more operations, but its
chain grows like log T. :func:`measure_depth` runs a function and measures that chain:
every torch operation's result is one step deeper than the deepest tensor it read::

    a, b = torch.rand(1, 512, 2), torch.randn(1, 512, 2)      # (B, T, H)
    measure_depth(scan.linear_recurrence_loop, a, b).depth    # about 2 T
    measure_depth(scan.hillis_steele_scan, a, b).depth        # about 4 log2 T

Only torch operations count (in-place writes too, also through a view); a tensor made
from NumPy or Python numbers starts a new chain.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

__all__ = ["Depth", "measure_depth"]

_OPERATORS = "add sub mul truediv floordiv mod pow matmul and or xor lshift rshift".split()
_WRITES = {f"__i{op}__" for op in _OPERATORS} | {"__setitem__"}  # +=, -=, ..., x[i] = v


def _writes_first_argument(name: str, kwargs: dict) -> bool:
    """Whether an operation named ``name`` writes into a tensor it was given."""
    in_place = name.endswith("_") and not name.endswith("__")  # add_, copy_, zero_, ...
    return in_place or name in _WRITES or "out" in kwargs


class _DepthMode(TorchFunctionMode):
    """Records, for every tensor made while it is active, its depth in the chain."""

    def __init__(self):
        super().__init__()
        # id -> (tensor, depth); holding the tensor keeps its id from being reused
        self._depth: dict[int, tuple[torch.Tensor, int]] = {}
        self.operations = 0

    def depth_of(self, t: torch.Tensor) -> int:
        entry = self._depth.get(id(t))
        return entry[1] if entry is not None and entry[0] is t else 0

    def _raise_to(self, t: torch.Tensor, d: int) -> None:
        self._depth[id(t)] = (t, max(d, self.depth_of(t)))

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        read = [x for x in tree_flatten((args, kwargs))[0] if isinstance(x, torch.Tensor)]
        made = [x for x in tree_flatten(result)[0] if isinstance(x, torch.Tensor)]
        name = getattr(func, "__name__", "")
        written = kwargs.get("out") if "out" in kwargs else (args[0] if args else None)
        writes = isinstance(written, torch.Tensor) and _writes_first_argument(name, kwargs)
        if not made and not writes:
            return result  # sizes, shapes, comparisons to Python values: no new tensor
        d = 1 + max((self.depth_of(x) for x in read), default=0)
        self.operations += 1
        if writes:  # the written tensor, and what it is a view of, now wait for this op
            self._raise_to(written, d)
            if written._base is not None:
                self._raise_to(written._base, d)
        for t in made:
            self._depth[id(t)] = (t, d)
        return result


@dataclass(frozen=True)
class Depth:
    """What :func:`measure_depth` found: the function's ``result``; its ``depth``, the
    longest chain of dependent torch operations that produced it (0 when none did); and
    ``operations``, how many torch operations ran in all (the work)."""

    result: Any
    depth: int
    operations: int


def measure_depth(fn: Callable, *args, **kwargs) -> Depth:
    """Call ``fn(*args, **kwargs)`` (any function of tensors, e.g. a scan of ``a, b``
    ``(B, T, H)``) and measure its chain of dependent torch operations, counting from the
    input tensors at depth 0. Returns a :class:`Depth`."""
    if not callable(fn):
        raise TypeError(f"fn must be a function, got {type(fn).__name__}.")
    with _DepthMode() as mode:
        result = fn(*args, **kwargs)
    made = [x for x in tree_flatten(result)[0] if isinstance(x, torch.Tensor)]
    deepest = max((mode.depth_of(t) for t in made), default=0)
    return Depth(result, deepest, mode.operations)
