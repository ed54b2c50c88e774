"""Notebook 03: right and wrong answers for rnn_loss_and_grads and tbptt_chunks (format in
__init__.py). The answers are written as a student would, apart from the checkers' own code."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def loss_and_grads(params, x, y, mode="right"):
    """A student's full BPTT with readout; ``mode`` names a typical mistake."""
    U, W, b, V, b_o = (params[k] for k in ("U", "W", "b", "V", "b_o"))
    B, T, _ = x.shape
    h, hs = np.zeros((B, W.shape[0])), []
    for t in range(T):
        h = np.tanh(x[:, t] @ U.T + h @ W.T + b)
        hs.append(h)
    o = np.stack(hs, 1) @ V.T + b_o
    loss = 0.5 * np.sum((o - y) ** 2) / B
    do = (o - y) / B
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    dh_next = np.zeros((B, W.shape[0]))
    for t in range(T - 1, -1, -1):
        h_prev = hs[t - 1] if t > 0 else np.zeros_like(hs[0])
        grads["V"] += do[:, t].T @ hs[t]
        grads["b_o"] += do[:, t].sum(0)
        dh = do[:, t] @ V + (0 if mode == "branch" else dh_next)
        da = dh if mode == "tanh" else dh * (1 - hs[t] ** 2)
        if mode == "overwrite":
            grads["W"], grads["U"], grads["b"] = da.T @ h_prev, da.T @ x[:, t], da.sum(0)
        else:
            grads["W"] += da.T @ h_prev
            grads["U"] += da.T @ x[:, t]
            grads["b"] += da.sum(0)
        dh_next = da @ W
    return loss, grads


def transposed_dV(params, x, y):
    loss, grads = loss_and_grads(params, x, y)
    return loss, {**grads, "V": grads["V"].T}


def chunks(cell, readout, x, y, k, opt, mode="right"):
    """A student's chunked truncated BPTT; ``mode`` names a typical mistake."""
    h = torch.zeros(x.shape[0], cell.hidden_size)
    losses = []
    for start in range(0, x.shape[1], k):
        if mode == "reset":
            h = torch.zeros(x.shape[0], cell.hidden_size)
        elif mode != "no_detach":
            h = h.detach()
        outputs = []
        for t in range(start, min(start + k, x.shape[1])):
            h = cell(x[:, t], h.detach() if mode == "every_step" else h)
            outputs.append(readout(h))
        loss = F.mse_loss(torch.stack(outputs, dim=1), y[:, start : start + k])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


# The same shape as every exercise_cases module: the format all_cases() gathers.
def rnn_backward_np(dh_out, xs, hs, W, U, bug=""):
    B, T, H = hs.shape
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros(H)
    dh_prev = np.zeros((B, H))
    for t in range(T - 1, -1, -1):
        h_prev = hs[:, t - 1] if t else np.zeros((B, H))
        dh = dh_out[:, t] if bug == "branch" else dh_out[:, t] + dh_prev
        da = dh * (1 - hs[:, t] ** 2)
        if bug == "overwrite":
            dW, dU, db = da.T @ h_prev, da.T @ xs[:, t], da.sum(0)
        else:
            dW += da.T @ h_prev
            dU += da.T @ xs[:, t]
            db += da.sum(0)
        dh_prev = da @ (W.T if bug == "transpose" else W)
    return dW, dU, db


def num_grad(f, x, eps, bug=""):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = f(x)
        x[i] = old - eps
        down = f(x)
        if bug != "no_restore":
            x[i] = old
        if bug == "forward":
            x[i] = old
            grad[i] = (up - f(x)) / eps
        else:
            grad[i] = (up - down) / (eps if bug == "one_eps" else 2 * eps)
    return grad


CASES = {
    "rnn_loss_and_grads": (
        loss_and_grads,
        [
            (lambda *a: loss_and_grads(*a, mode="overwrite"), "overwritten instead"),
            (lambda *a: loss_and_grads(*a, mode="branch"), "only one of the two deltas"),
            (lambda *a: loss_and_grads(*a, mode="tanh"), "tanh derivative is missing"),
            (transposed_dV, "V's transpose's shape"),
        ],
    ),
    "tbptt_chunks": (
        chunks,
        [
            (lambda *a: chunks(*a, mode="no_detach"), "without .detach()"),
            (lambda *a: chunks(*a, mode="reset"), "reset to zero"),
            (lambda *a: chunks(*a, mode="every_step"), "detached at every step"),
        ],
    ),
    "rnn_backward": (
        rnn_backward_np,
        [
            (lambda *a: rnn_backward_np(*a, bug="overwrite"), "overwritten"),
            (lambda *a: rnn_backward_np(*a, bug="branch"), "not added at a branch"),
            (lambda *a: rnn_backward_np(*a, bug="transpose"), "transposed weights"),
        ],
    ),
    "numerical_gradient": (
        num_grad,
        [
            (lambda *a: num_grad(*a, bug="forward"), "forward difference"),
            (lambda *a: num_grad(*a, bug="one_eps"), "divided by 2 * eps"),
            (lambda *a: num_grad(*a, bug="no_restore"), "changed in place"),
        ],
    ),
    "find_the_bug": (
        lambda: {"A": "transpose", "B": "overwrite", "C": "branch"},
        [
            (lambda: {"A": "transpose", "B": "overwrite"}, "no label for backward_C"),
            (lambda: {"A": "bogus", "B": "overwrite", "C": "branch"}, "is not a label"),
            (lambda: {"A": "overwrite", "B": "transpose", "C": "branch"}, "backward_A does"),
            (lambda: ["transpose"], "expected a dict"),
        ],
    ),
}
