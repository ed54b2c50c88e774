"""Notebook 06: right and wrong answers for gru_step (format in __init__.py)."""

from __future__ import annotations

import torch


def gru(x, h, U, W, b_x, b_h, mode="right"):
    """A student's GRU step; ``mode`` names a typical mistake."""
    H = h.shape[1]
    x_r, x_z, x_n = (x @ U.T + b_x).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ W.T + b_h).chunk(3, dim=1)
    if mode == "order":
        x_r, x_z, h_r, h_z = x_z, x_r, h_z, h_r
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    if mode == "bias_outside":
        n = torch.tanh(x_n + r * (h @ W[2 * H :].T) + b_h[2 * H :])
    elif mode == "reset_first":
        n = torch.tanh(x_n + (r * h) @ W[2 * H :].T + b_h[2 * H :])
    else:
        n = torch.tanh(x_n + r * h_n)
    if mode == "swap_z":
        return z * n + (1 - z) * h
    return (1 - z) * n + z * h


def gru_chunk_rows(x, h, U, W, b_x, b_h):
    x_r, x_z, x_n = (x @ U.T + b_x).chunk(3)  # dim 0: splits the batch, not the gates
    return x_r


# The same layout as every exercise_cases module and test_checks.py's CASES (one format).
CASES = {
    "gru_step": (
        gru,
        [
            (lambda *a: gru(*a, mode="swap_z"), "z and 1 - z are swapped"),
            (lambda *a: gru(*a, mode="order"), "not z, r, n"),
            (lambda *a: gru(*a, mode="bias_outside"), "bias included"),
            (lambda *a: gru(*a, mode="reset_first"), "applied to h before W_n"),
            (gru_chunk_rows, "wrong number of blocks"),
        ],
    ),
}
