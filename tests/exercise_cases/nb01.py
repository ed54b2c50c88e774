"""Notebook 01: right and wrong answers for rnn_forward, state_space_to_rnn and
running_sum_weights (format in __init__.py)."""

from __future__ import annotations

import numpy as np
import torch

from rnncourse import sequences
from rnncourse.tasks.signals import discretize

# --- rnn_forward -----------------------------------------------------------------------------


def rnn_forward(x, W, U, b, h0=None):
    h = x.new_zeros(x.shape[0], W.shape[0]) if h0 is None else h0
    hs = []
    for t in range(x.shape[1]):
        h = torch.tanh(h @ W.T + x[:, t] @ U.T + b)
        hs.append(h)
    return torch.stack(hs, dim=1)


def forward_unbind(x, W, U, b, h0=None):  # the input side for every step at once
    drive = x @ U.T + b  # (B, T, H)
    h, hs = (drive.new_zeros(drive[:, 0].shape) if h0 is None else h0), []
    for a_t in drive.unbind(1):
        h = torch.tanh(h @ W.T + a_t)
        hs.append(h)
    return torch.stack(hs, dim=1)


def forward_filled(x, W, U, b, h0=None):  # a preallocated result of the inputs' dtype
    B, T, _ = x.shape
    hs = x.new_empty(B, T, W.shape[0])
    h = torch.zeros(B, W.shape[0], dtype=x.dtype) if h0 is None else h0
    for t in range(T):
        h = torch.tanh(h @ W.T + x[:, t] @ U.T + b)
        hs[:, t] = h
    return hs


def forward_time_first(x, W, U, b, h0=None):  # time-first inside, batch-first outside
    h = torch.zeros_like(x[:, 0, :1].expand(-1, W.shape[0])) if h0 is None else h0
    hs = []
    for x_t in x.transpose(0, 1):
        h = torch.tanh(torch.addmm(b, h, W.T) + x_t @ U.T)
        hs.append(h)
    return torch.stack(hs).transpose(0, 1)


def forward(x, W, U, b, h0=None, *, transpose=False, carry=True, shift=False, last=False):
    h, hs = (x.new_zeros(x.shape[0], W.shape[0]) if h0 is None else h0), []
    Wm = W if transpose else W.T
    for t in range(x.shape[1]):
        if shift:
            hs.append(h)
        h = torch.tanh((h @ Wm if carry else 0) + x[:, t] @ U.T + b)
        if not shift:
            hs.append(h)
    return h if last else torch.stack(hs, 1)


def forward_time_first_input(x, W, U, b, h0=None):  # x[t] instead of x[:, t]
    h, hs = (x.new_zeros(x.shape[0], W.shape[0]) if h0 is None else h0), []
    for t in range(x.shape[1]):
        h = torch.tanh(h @ W.T + x[t] @ U.T + b)
        hs.append(h)
    return torch.stack(hs, 1)


def forward_detached_state(x, W, U, b, h0=None):  # each step cut from the one before
    h, hs = (x.new_zeros(x.shape[0], W.shape[0]) if h0 is None else h0), []
    for t in range(x.shape[1]):
        h = torch.tanh(h.detach() @ W.T + x[:, t] @ U.T + b)
        hs.append(h)
    return torch.stack(hs, 1)


def forward_writes_h0(x, W, U, b, h0=None):  # the state kept in the caller's h0
    if h0 is None:
        return rnn_forward(x, W, U, b)
    hs = []
    for t in range(x.shape[1]):
        h0.copy_(torch.tanh(h0 @ W.T + x[:, t] @ U.T + b))
        hs.append(h0.clone())
    return torch.stack(hs, 1)


def forward_adds_into_h0(x, W, U, b, h0=None):
    h = x.new_zeros(x.shape[0], W.shape[0]) if h0 is None else h0
    h += 0.0  # += on an argument writes into it
    return rnn_forward(x, W, U, b, h)


def forward_float64(x, W, U, b, h0=None):  # a float64 buffer, as NumPy would make
    B, T, _ = x.shape
    hs = torch.zeros(B, T, W.shape[0], dtype=torch.float64)
    h = x.new_zeros(B, W.shape[0]) if h0 is None else h0
    for t in range(T):
        h = torch.tanh(h @ W.T + x[:, t] @ U.T + b)
        hs[:, t] = h
    return hs


def forward_float32(x, W, U, b, h0=None):  # torch.zeros' default float32 buffer
    B, T, _ = x.shape
    hs = torch.zeros(B, T, W.shape[0])
    h = x.new_zeros(B, W.shape[0]) if h0 is None else h0
    for t in range(T):
        h = torch.tanh(h @ W.T + x[:, t] @ U.T + b)
        hs[:, t] = h
    return hs


def forward_torch_rnn(x, W, U, b, h0=None):
    rnn = torch.nn.RNN(U.shape[1], W.shape[0], batch_first=True).to(x.dtype)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(U), rnn.weight_hh_l0.copy_(W), rnn.bias_ih_l0.copy_(b)
        rnn.bias_hh_l0.zero_()
    return rnn(x, None if h0 is None else h0[None])[0]


def forward_course_run(x, W, U, b, h0=None):
    from rnncourse.cells import RNNCell

    cell = RNNCell(U.shape[1], W.shape[0]).to(x.dtype)
    with torch.no_grad():
        cell.U.copy_(U), cell.W.copy_(W), cell.b_x.copy_(b), cell.b_h.zero_()
    return sequences.run(cell, x, h0)[0]


# --- state_space_to_rnn ----------------------------------------------------------------------


def zoh(A, B, dt, mode="right"):
    n, m = B.shape
    if mode == "euler":
        return torch.eye(n, dtype=A.dtype) + A * dt, B * dt, A.new_zeros(n)
    scale = 1.0 if mode == "no_dt" else dt
    M = torch.zeros(n + m, n + m, dtype=A.dtype)
    M[:n, :n], M[:n, n:] = A * scale, B * scale
    E = torch.linalg.matrix_exp(M)
    W, U = E[:n, :n], E[:n, n:]
    if mode == "transpose":
        W = W.T
    if mode == "euler_input":
        U = B * dt
    return W, U, A.new_zeros(n)


def zoh_cat(A, B, dt):  # the augmented matrix built with torch.cat
    n, m = B.shape
    top = torch.cat([A, B], dim=1)
    M = torch.cat([top, torch.zeros(m, n + m, dtype=A.dtype)]) * dt
    E = torch.linalg.matrix_exp(M)
    return E[:n, :n], E[:n, n:], torch.zeros(n, dtype=A.dtype)


def zoh_squaring(A, B, dt):  # exp(M) = exp(M / 2^k)^(2^k), a short series for the small part
    n, m = B.shape
    M = np.zeros((n + m, n + m))
    M[:n, :n], M[:n, n:] = A.numpy() * dt, B.numpy() * dt
    k = max(0, int(np.ceil(np.log2(max(np.abs(M).sum(1).max(), 1e-12)))) + 4)
    small, E, term = M / 2**k, np.eye(n + m), np.eye(n + m)
    for j in range(1, 12):
        term = term @ small / j
        E = E + term
    for _ in range(k):
        E = E @ E
    E = torch.from_numpy(E).to(A.dtype)
    return E[:n, :n], E[:n, n:], A.new_zeros(n)


def zoh_quadrature(A, B, dt, steps=2000):  # exp(A dt), and the integral by Simpson's rule
    s = torch.linspace(0, dt, 2 * steps + 1, dtype=torch.float64)
    weights = torch.ones_like(s)
    weights[1:-1:2], weights[2:-1:2] = 4.0, 2.0
    exps = torch.linalg.matrix_exp(A.double() * s[:, None, None])  # (2 steps + 1, n, n)
    integral = (weights[:, None, None] * exps).sum(0) * (s[1] - s[0]) / 3
    W = torch.linalg.matrix_exp(A.double() * dt)
    return W.to(A.dtype), (integral @ B.double()).to(A.dtype), A.new_zeros(B.shape[0])


def zoh_taylor(A, B, dt, terms=5):  # exact only while A dt is small
    n, m = B.shape
    M = torch.zeros(n + m, n + m, dtype=A.dtype)
    M[:n, :n], M[:n, n:] = A * dt, B * dt
    E = term = torch.eye(n + m, dtype=A.dtype)
    for k in range(1, terms + 1):
        term = term @ M / k
        E = E + term
    return E[:n, :n], E[:n, n:], A.new_zeros(n)


def zoh_pinv(A, B, dt):
    A_d = torch.linalg.matrix_exp(A * dt)
    eye = torch.eye(A.shape[0], dtype=A.dtype)
    return A_d, torch.linalg.pinv(A) @ (A_d - eye) @ B, A.new_zeros(A.shape[0])


def zoh_float32_bias(A, B, dt):  # torch.zeros' default dtype for b
    W, U, _ = zoh(A, B, dt)
    return W, U, torch.zeros(B.shape[0])


def zoh_writes_A(A, B, dt):
    A *= dt  # scales the caller's A
    W, U, b = zoh(A, B, 1.0)
    return W, U, b


# --- running_sum_weights ---------------------------------------------------------------------


def ones():
    return torch.ones(1, 1), torch.ones(1, 1)


def pair(w, u):
    return lambda: (torch.full((1, 1), w), torch.full((1, 1), u))


CASES = {
    "rnn_forward": (
        rnn_forward,
        [
            (lambda *a: forward(*a, transpose=True), "recurrent weights are transposed"),
            (lambda *a: forward(*a, carry=False), "state is not carried"),
            (lambda *a: forward(*a, shift=True), "shifted by one"),
            (lambda *a: forward(*a, last=True), "only the last state"),
            (lambda x, W, U, b, h0=None: forward(x, W, U, b), "h0 was ignored"),
            (forward_time_first_input, "read time-first"),
            (lambda *a: rnn_forward(*a).transpose(0, 1), "result is time-first"),
            (lambda *a: rnn_forward(*a).detach(), "reaches any input"),
            (forward_detached_state, "differs from autograd's"),
            (forward_writes_h0, "input `h0` in place"),
            (forward_adds_into_h0, "input `h0` in place"),
            (forward_float64, "as torch.float64 for torch.float32 inputs"),
            (forward_float32, "as torch.float32 for torch.float64 inputs"),
            (forward_torch_rnn, "torch.nn.RNN, torch's own recurrent layer"),
            (forward_course_run, "sequences.run"),
        ],
    ),
    "state_space_to_rnn": (
        zoh,
        [
            (lambda *a: zoh(*a, mode="euler"), "Euler's W"),
            (lambda *a: zoh(*a, mode="euler_input"), "Euler's input matrix"),
            (lambda *a: zoh(*a, mode="transpose"), "W is transposed"),
            (lambda *a: zoh(*a, mode="no_dt"), "exponent is A dt"),
            (zoh_taylor, "truncated series"),
            (lambda *a: zoh_taylor(*a, terms=8), "truncated series"),
            (zoh_pinv, "pseudo-inverse"),
            (zoh_float32_bias, "as torch.float32 for torch.float64 inputs"),
            (zoh_writes_A, "input `A` in place"),
            (lambda A, B, dt: (*discretize(A, B, dt), A.new_zeros(A.shape[0])), "discretize"),
        ],
    ),
    "running_sum_weights": (
        ones,
        [
            (pair(0.0, 1.0), "forgets all but the last"),
            (pair(2.0, 1.0), "so it grows"),
            (pair(0.5, 1.0), "so it fades"),
            (pair(1.0, 0.5), "U = 0.5 scales"),
            (pair(0.99999, 1.0), "below 1 forgets"),
            (pair(1.00001, 1.0), "above 1 inflates"),
            (pair(1.0, 1.0000001), "each input is scaled a little"),
        ],
    ),
}

RIGHT = {
    "rnn_forward": [forward_unbind, forward_filled, forward_time_first],
    "state_space_to_rnn": [zoh_cat, zoh_squaring, zoh_quadrature],
    "running_sum_weights": [
        lambda: (torch.tensor([[1.0]]), torch.tensor([[1.0]])),
        lambda: (torch.eye(1, dtype=torch.float64), torch.ones(1, 1, dtype=torch.float64)),
        lambda: (np.ones((1, 1)), np.ones((1, 1))),
    ],
}
