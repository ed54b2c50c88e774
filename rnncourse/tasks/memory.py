"""Memory tasks: the adding problem, delayed copy and running parity, with baselines."""

import math

import torch

from rnncourse._random import generator
from rnncourse._validation import check_int

__all__ = [
    "ADDING_BASELINE_MSE", "adding_problem", "copy_task", "copy_baseline",
    "PARITY_BASELINE_ACCURACY", "parity"
]  # fmt: skip


ADDING_BASELINE_MSE = 1.0 / 6.0
"""MSE of always answering 1.0 (the mean target): the variance of a sum of two U(0, 1)."""


def adding_problem(batch_size: int, T: int, *, seed=None) -> tuple[torch.Tensor, torch.Tensor]:
    """The adding problem: add the two marked numbers of a long sequence.

    Channel 0 holds numbers uniform in [0, 1]; channel 1 marks two steps with 1, one in
    ``[0, T // 2)`` and one in ``[T // 2, T)``. Returns x: float32 ``(B, T, 2)`` and the
    sum y: float32 ``(B, 1)``; answering 1.0 scores ``ADDING_BASELINE_MSE = 1/6``.
    """
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    T = check_int(T, "T")
    if T < 2:
        raise ValueError(f"T must be >= 2 (one marker in each half of the sequence), got {T}.")
    g = generator(seed)
    values = torch.rand(batch_size, T, generator=g)
    first = torch.randint(0, T // 2, (batch_size,), generator=g)
    second = torch.randint(T // 2, T, (batch_size,), generator=g)
    marker = torch.zeros(batch_size, T)
    marker[torch.arange(batch_size)[:, None], torch.stack([first, second], 1)] = 1.0
    return torch.stack([values, marker], dim=-1), (values * marker).sum(dim=1, keepdim=True)


def _copy_args(T, k, alphabet) -> tuple[int, int, int]:
    nothing = "with one symbol there is nothing to remember"
    rules = [
        ("T", T, 1, "T (the delay) must be >= 1: the delimiter comes T steps after the symbols"),
        ("k", k, 1, "k (the number of symbols to copy) must be >= 1"),
        ("alphabet", alphabet, 2, f"alphabet must be >= 2 symbols ({nothing})"),
    ]
    checked = []
    for name, value, low, message in rules:
        value = check_int(value, name)
        if value < low:
            raise ValueError(f"{message}, got {value}.")
        checked.append(value)
    return tuple(checked)


def copy_task(
    batch_size: int, T: int = 100, *, k: int = 10, alphabet: int = 8, seed=None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Copy (delayed recall): reproduce ``k`` symbols after a delay of ``T`` steps.

    Tokens: 0 blank, ``1..alphabet`` symbols, ``alphabet + 1`` the delimiter (feed
    ``one_hot(x, alphabet + 2)``). x: ``k`` symbols, ``T - 1`` blanks, the delimiter, ``k``
    blanks; y: ``T + k`` blanks, the ``k`` symbols. Returns x, y: int64 ``(B, T + 2k)``.
    """
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    T, k, alphabet = _copy_args(T, k, alphabet)
    symbols = torch.randint(1, alphabet + 1, (batch_size, k), generator=generator(seed))
    x = torch.zeros(batch_size, T + 2 * k, dtype=torch.long)
    y = torch.zeros_like(x)
    x[:, :k] = symbols
    x[:, T + k - 1] = alphabet + 1
    y[:, T + k :] = symbols
    return x, y


def copy_baseline(T: int, k: int = 10, alphabet: int = 8) -> float:
    """Cross-entropy (nats per step) of the best memoryless ``copy_task`` strategy (blanks,
    then uniform guesses): ``k ln(alphabet) / (T + 2k)``, about 0.173 at ``T = 100``."""
    T, k, alphabet = _copy_args(T, k, alphabet)
    return k * math.log(alphabet) / (T + 2 * k)


PARITY_BASELINE_ACCURACY = 0.5
"""Accuracy of a constant guess: the running parity is 0 or 1 with equal probability."""


def parity(batch_size: int, T: int, *, seed=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Running parity: random bits x and y_t = XOR of x_1 .. x_t, float32 ``(B, T, 1)`` each."""
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    T = check_int(T, "T", min_value=1)
    x = torch.randint(0, 2, (batch_size, T, 1), generator=generator(seed))
    return x.float(), (x.cumsum(dim=1) % 2).float()
