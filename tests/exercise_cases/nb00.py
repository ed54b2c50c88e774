"""Notebook 00: right and wrong answers for rnn_step (format in __init__.py)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rnncourse import cells


def rnn_step(h, x, W, U, b):
    return torch.tanh(h @ W.T + x @ U.T + b)


# --- right answers written in other styles -------------------------------------------------


def step_linear(h, x, W, U, b):
    return torch.tanh(F.linear(h, W) + F.linear(x, U, b))


def step_einsum(h, x, W, U, b):
    return torch.tanh(torch.einsum("ij,bj->bi", W, h) + torch.einsum("ij,bj->bi", U, x) + b)


def step_columns(h, x, W, U, b):  # column form, each example a column, transposed back
    return torch.tanh(W @ h.T + U @ x.T + b[:, None]).T


def step_concatenated(h, x, W, U, b):  # one product with [W U] on [h x]
    return torch.tanh(torch.cat([h, x], dim=1) @ torch.cat([W, U], dim=1).T + b)


def step_addmm(h, x, W, U, b):
    return torch.addmm(torch.addmm(b, h, W.T), x, U.T).tanh()


# --- wrong answers -------------------------------------------------------------------------


def writes_into_x(h, x, W, U, b):
    x.mul_(1.0)  # an in-place operation on an input, even one that keeps its values
    return rnn_step(h, x, W, U, b)


def assigns_into_h(h, x, W, U, b):
    h[h.abs() < 0] = 0.0  # item assignment writes into the caller's tensor
    return rnn_step(h, x, W, U, b)


def adds_into_b(h, x, W, U, b):
    b += 0.0
    return rnn_step(h, x, W, U, b)


def torch_cell(h, x, W, U, b):
    cell = torch.nn.RNNCell(U.shape[1], W.shape[0]).to(h.dtype)
    with torch.no_grad():
        cell.weight_ih.copy_(U), cell.weight_hh.copy_(W), cell.bias_ih.copy_(b)
        cell.bias_hh.zero_()
    return cell(x, h)


CASES = {
    "rnn_step": (
        rnn_step,
        [
            (lambda h, x, W, U, b: torch.tanh(h @ W + x @ U.T + b), "recurrent weights are"),
            (lambda h, x, W, U, b: h @ W.T + x @ U.T + b, "tanh is missing"),
            (lambda h, x, W, U, b: torch.tanh(h @ W.T + x @ U.T), "bias b is missing"),
            (lambda h, x, W, U, b: torch.tanh(h @ W.T + x @ U.T + 2 * b), "added twice"),
            (lambda h, x, W, U, b: torch.tanh(h @ W.T + x @ U.T) + b, "after the tanh"),
            (lambda h, x, W, U, b: torch.tanh(h @ W.T + b), "U x is missing"),
            (lambda h, x, W, U, b: torch.tanh(x @ U.T + b), "W h is missing"),
            (lambda h, x, W, U, b: torch.sigmoid(h @ W.T + x @ U.T + b), "logistic sigmoid"),
            (lambda h, x, W, U, b: torch.relu(h @ W.T + x @ U.T + b), "is a ReLU"),
            # right only for the batch size of two: the bias repeated for two rows
            (
                lambda h, x, W, U, b: torch.tanh(h @ W.T + x @ U.T + b.repeat(2, 1)),
                "expected shape (1, 5), got (2, 5)",
            ),
            (lambda h, x, W, U, b: rnn_step(h, x, W, U, b).detach(), "reaches any input"),
            (lambda h, x, W, U, b: rnn_step(h.detach(), x, W, U, b), "no gradient reaches h."),
            (lambda h, x, W, U, b: rnn_step(h, x, W.detach(), U, b), "no gradient reaches W."),
            (
                lambda h, x, W, U, b: torch.tanh(h @ W.T + x @ U.T + b.data),
                "no gradient reaches b.",
            ),
            (writes_into_x, "input `x` in place"),
            (assigns_into_h, "input `h` in place"),
            (adds_into_b, "input `b` in place"),
            (lambda *a: rnn_step(*a).double(), "as torch.float64 for torch.float32 inputs"),
            (lambda *a: rnn_step(*a).float(), "as torch.float32 for torch.float64 inputs"),
            (torch_cell, "torch.nn.RNNCell, torch's own"),
            (
                lambda h, x, W, U, b: torch.rnn_tanh_cell(x, h, U, W, b, None),
                "torch.rnn_tanh_cell",
            ),
            (lambda h, x, W, U, b: cells._rnn_step(x, h, U, W, b, None), "the course's RNN step"),
        ],
    ),
}

RIGHT = {"rnn_step": [step_linear, step_einsum, step_columns, step_concatenated, step_addmm]}
