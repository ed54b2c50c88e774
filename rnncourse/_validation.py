"""Input checks shared by every public function: each raises ``TypeError`` for a wrong
type or dtype and ``ValueError`` for a wrong shape or value, saying what was expected, what
was given and, where it helps, how to fix it."""

import numbers
from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["check_tensor", "check_array", "check_int", "check_float", "check_choice"]

Shape = Sequence[int | str | None] | None


def _check_shape(actual: tuple, name: str, shape: Shape, hint: str) -> None:
    """``actual`` against ``shape``: an int fixes a dimension, None or a name accepts any."""
    if shape is None:
        return
    expected = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
    hint = f" {hint}" if hint else ""
    if len(actual) != len(shape):
        raise ValueError(
            f"{name} must have {len(shape)} dimensions {expected}, got shape "
            f"{tuple(actual)} ({len(actual)} dimensions).{hint}"
        )
    for i, (got, want) in enumerate(zip(actual, shape, strict=True)):
        if isinstance(want, int) and got != want:
            raise ValueError(
                f"{name} must have shape {expected}, got {tuple(actual)}: "
                f"dimension {i} is {got}, expected {want}.{hint}"
            )


def check_tensor(
    x, name: str, shape: Shape = None, *, floating=True, allow_empty=False, hint=""
) -> torch.Tensor:
    """Check that ``x`` is a torch tensor of ``shape`` and return it. ``name`` names the
    argument in the message; in ``shape`` an int fixes a dimension and ``None`` or a name
    such as ``"B"`` accepts any size. ``floating`` requires a floating-point dtype,
    ``allow_empty`` accepts a zero-sized dimension, and ``hint`` (how to fix the input)
    ends the message."""
    if isinstance(x, np.ndarray):
        raise TypeError(
            f"{name} must be a torch.Tensor, got a numpy array of shape {x.shape}. "
            f"Convert it with torch.as_tensor({name}, dtype=torch.float32)."
        )
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}.")
    if floating and not x.is_floating_point():
        raise TypeError(
            f"{name} must have a floating-point dtype (float32 or float64), got {x.dtype}. "
            f"Use {name}.float()."
        )
    _check_shape(tuple(x.shape), name, shape, hint)
    if not allow_empty and x.numel() == 0:
        raise ValueError(
            f"{name} is empty (shape {tuple(x.shape)}); it needs at least one batch "
            f"element and one time step."
        )
    return x


def check_array(x, name: str, shape: Shape = None, *, hint=""):
    """Check that ``x`` is a non-empty floating-point NumPy array of ``shape``; return it."""
    if isinstance(x, torch.Tensor):
        raise TypeError(
            f"{name} must be a numpy array, got a torch.Tensor. Use {name}.detach().numpy()."
        )
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(x).__name__}.")
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(
            f"{name} must have a floating-point dtype, got {x.dtype}. "
            f"Use {name}.astype(np.float64)."
        )
    _check_shape(x.shape, name, shape, hint)
    if x.size == 0:
        raise ValueError(f"{name} is empty (shape {x.shape}).")
    return x


def check_int(value, name: str, *, min_value=None, max_value=None) -> int:
    """Check that ``value`` is an integer (not a bool) within bounds; return it as int."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r}).")
    return _check_bounds(int(value), name, min_value, max_value)


def check_float(value, name: str, *, min_value=None, max_value=None, strict_min=False) -> float:
    """Check that ``value`` is a real number within bounds (``> min_value`` with
    ``strict_min``) and return it as float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} ({value!r}).")
    value = float(value)
    if value != value:
        raise ValueError(f"{name} must be a number, got NaN.")
    if strict_min and min_value is not None and value <= min_value:
        raise ValueError(f"{name} must be > {min_value}, got {value}.")
    return _check_bounds(value, name, min_value, max_value)


def _check_bounds(value, name: str, min_value, max_value):
    if min_value is not None and value < min_value:
        raise ValueError(f"{name} must be >= {min_value}, got {value}.")
    if max_value is not None and value > max_value:
        raise ValueError(f"{name} must be <= {max_value}, got {value}.")
    return value


def check_choice(value, name: str, choices: Sequence) -> object:
    """Check that ``value`` is one of ``choices`` and return it."""
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {options}; got {value!r}.")
    return value
