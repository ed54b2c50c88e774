"""Right and wrong answers for notebook 01's new exercise: a state-space model as a linear RNN."""

from __future__ import annotations

import torch


def zoh(A, B, dt, mode="right"):
    n, m = B.shape
    if mode == "euler":
        return torch.eye(n) + A * dt, B * dt, torch.zeros(n)
    scale = 1.0 if mode == "no_dt" else dt
    M = torch.zeros(n + m, n + m, dtype=A.dtype)
    M[:n, :n], M[:n, n:] = A * scale, B * scale
    E = torch.linalg.matrix_exp(M)
    W, U = E[:n, :n], E[:n, n:]
    if mode == "transpose":
        W = W.T
    if mode == "euler_input":
        U = B * dt
    return W, U, torch.zeros(n)


def rnn_forward(x, W, U, b, h0=None, *, transpose=False, carry=True, shift=False, last=False):
    h, hs = (x.new_zeros(x.shape[0], W.shape[0]) if h0 is None else h0), []
    Wm = W if transpose else W.T
    for t in range(x.shape[1]):
        if shift:
            hs.append(h)
        h = torch.tanh((h @ Wm if carry else 0) + x[:, t] @ U.T + b)
        if not shift:
            hs.append(h)
    return h if last else torch.stack(hs, 1)


CASES = {
    "state_space_to_rnn": (
        zoh,
        [
            (lambda *a: zoh(*a, mode="euler"), "Euler's W"),
            (lambda *a: zoh(*a, mode="euler_input"), "Euler's input matrix"),
            (lambda *a: zoh(*a, mode="transpose"), "W is transposed"),
            (lambda *a: zoh(*a, mode="no_dt"), "exponent is A dt"),
        ],
    ),
    "rnn_forward": (
        rnn_forward,
        [
            (lambda *a: rnn_forward(*a, transpose=True), "transposed"),
            (lambda *a: rnn_forward(*a, carry=False), "state is not carried"),
            (lambda *a: rnn_forward(*a, shift=True), "shifted by one"),
            (lambda *a: rnn_forward(*a, last=True), "only the last state"),
            (lambda x, W, U, b, h0=None: rnn_forward(x, W, U, b), "h0 was ignored"),
        ],
    ),
    "running_sum_weights": (
        lambda: (torch.ones(1, 1), torch.ones(1, 1)),
        [
            (lambda: (torch.zeros(1, 1), torch.ones(1, 1)), "forgets everything"),
            (lambda: (2 * torch.ones(1, 1), torch.ones(1, 1)), "W must be 1"),
            (lambda: (torch.ones(1, 1), 0.5 * torch.ones(1, 1)), "U = 0.5 scales"),
        ],
    ),
}
