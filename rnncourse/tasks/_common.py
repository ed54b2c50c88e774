"""Argument checks and random ranges shared by the task generators."""

from __future__ import annotations

import torch

from rnncourse._validation import check_float, check_int


def batch_size_arg(batch_size) -> int:
    """Check a generator's ``batch_size``: an int >= 1."""
    batch_size = check_int(batch_size, "batch_size")
    if batch_size < 1:
        raise ValueError(
            f"batch_size must be >= 1 (a batch needs at least one sequence), got {batch_size}."
        )
    return batch_size


def steps_arg(T) -> int:
    """Check a sequence length ``T``: an int >= 1."""
    T = check_int(T, "T")
    if T < 1:
        raise ValueError(f"T must be >= 1 time step, got {T}.")
    return T


def range_arg(value, name: str, *, min_value: float, max_value: float | None = None):
    """Read a number or a ``(low, high)`` pair; return ``(low, high)``."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be a number or a (low, high) pair, got {value!r}.")
        low = check_float(value[0], f"{name}[0]", min_value=min_value, max_value=max_value)
        high = check_float(value[1], f"{name}[1]", min_value=min_value, max_value=max_value)
        if low > high:
            raise ValueError(
                f"{name} must be (low, high) with low <= high, got {value!r}; swap the two."
            )
        return low, high
    value = check_float(value, name, min_value=min_value, max_value=max_value)
    return value, value


def uniform(low: float, high: float, size: tuple, g: torch.Generator) -> torch.Tensor:
    """float32 draws, uniform on ``[low, high]``, of shape ``size``."""
    return low + (high - low) * torch.rand(size, generator=g)
