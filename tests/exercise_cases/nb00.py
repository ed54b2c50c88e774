"""Notebook 00: right and wrong answers for rnn_step (format in __init__.py)."""

from __future__ import annotations

import torch


def rnn_step(h, x, W, U, b):
    return torch.tanh(h @ W.T + x @ U.T + b)


CASES = {
    "rnn_step": (
        rnn_step,
        [
            (lambda h, x, W, U, b: torch.tanh(h @ W + x @ U.T + b), "transposed"),
            (lambda h, x, W, U, b: h @ W.T + x @ U.T + b, "tanh is missing"),
            (lambda h, x, W, U, b: torch.tanh(h @ W.T + x @ U.T), "bias b is missing"),
        ],
    ),
}
