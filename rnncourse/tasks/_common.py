"""The ``(low, high)`` ranges of the task generators and uniform draws from them."""

from __future__ import annotations

import torch

from rnncourse._validation import check_float


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
