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
}
