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
def cell_grad(f, mode="right"):
    B, T, H = f.shape
    out = torch.ones_like(f)
    for t in range(T - 2, -1, -1):
        out[:, t] = out[:, t + 1] * f[:, t + 1]
    if mode == "inclusive":
        return out * f
    if mode == "forward":
        return f.cumprod(1)
    if mode == "short":
        return out[:, :-1]
    return out


def lstm(x, h, c, U, W, b, mode="right"):
    z = x @ U.T + h @ W.T + b
    names = {"right": "ifgo", "ifog": "ifog", "figo": "figo"}.get(mode, "ifgo")
    if mode == "chunk5":  # 4H columns in five pieces: for H >= 5 there are five of them
        a_i, a_f, a_g, a_o = z.chunk(5, -1)
    gates = dict(zip(names, z.chunk(4, -1), strict=True))
    i, f, o = (torch.sigmoid(gates[k]) for k in "ifo")
    c2 = f * c + i * torch.tanh(gates["g"])
    h2 = o * (c2 if mode == "no_tanh" else torch.tanh(c2))
    return (c2, h2) if mode == "swap" else (h2, c2)


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
    "gated_leaky_step": (
        lambda s, x, theta: torch.sigmoid(theta) * s + x,
        [
            (lambda s, x, theta: theta * s + x, "sigmoid is missing"),
            (lambda s, x, theta: s + torch.sigmoid(theta) * x, "multiplies the input"),
            (lambda s, x, theta: (1 - torch.sigmoid(theta)) * s + x, "(1 - sigmoid(theta))"),
        ],
    ),
    "time_constant": (
        lambda a: -1 / torch.log(a),
        [
            (lambda a: 1 / torch.log(a), "wrong sign"),
            (lambda a: 1 / (1 - a), "only approximates"),
            (lambda a: -torch.log(a), "decay rate"),
        ],
    ),
    "lstm_step": (
        lstm,
        [
            (lambda *a: lstm(*a, mode="ifog"), "not i, f, o, g"),
            (lambda *a: lstm(*a, mode="figo"), "not f, i, g, o"),
            (lambda *a: lstm(*a, mode="no_tanh"), "tanh on the cell state is missing"),
            (lambda *a: lstm(*a, mode="swap"), "swapped"),
            (lambda *a: lstm(*a, mode="chunk5"), "wrong number of blocks"),
        ],
    ),
    "cell_state_gradient": (
        cell_grad,
        [
            (lambda f: cell_grad(f, "inclusive"), "one factor too many"),
            (lambda f: cell_grad(f, "forward"), "wrong way"),
            (lambda f: cell_grad(f, "short"), "last entry"),
        ],
    ),
}
