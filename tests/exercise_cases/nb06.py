"""Notebook 06: right and wrong answers for its five exercises (format in __init__.py).

``RIGHT`` holds right answers written in other styles (slices instead of chunk, F.linear,
einsum, loops, log space); ``GRU_WITH_HELPER`` is a ``gru_step`` that calls a helper of its
own cell, as a notebook defines it (tests/test_use.py carries it to notebook 09).
"""

from __future__ import annotations

import linecache

import numpy as np
import torch
import torch.nn.functional as F

from rnncourse import cells, dynamics

# --- gated_leaky_step --------------------------------------------------------------------


def leaky(s, x, theta):
    return torch.sigmoid(theta) * s + x


def leaky_in_place_s(s, x, theta):
    return s.mul_(torch.sigmoid(theta)).add_(x)


def leaky_in_place_x(s, x, theta):
    x += torch.sigmoid(theta) * s
    return x


def leaky_in_place_theta(s, x, theta):
    theta[...] = torch.sigmoid(theta)
    return theta * s + x


def leaky_by_hand(s, x, theta):  # exp(theta) overflows at theta = 100
    return torch.exp(theta) / (1 + torch.exp(theta)) * s + x


# --- time_constant -----------------------------------------------------------------------


def tau_in_place(gate):
    return -1 / gate.log_()


# --- lstm_step ---------------------------------------------------------------------------


def lstm(x, h, c, U, W, b, mode="right"):
    z = x @ U.T + h @ W.T + b
    names = {"right": "ifgo", "ifog": "ifog", "figo": "figo"}.get(mode, "ifgo")
    if mode == "chunk5":  # 4H columns in five pieces: for H >= 5 there are five of them
        a_i, a_f, a_g, a_o = z.chunk(5, -1)
    gates = dict(zip(names, z.chunk(4, -1), strict=True))
    i, f, o = (torch.sigmoid(gates[k]) for k in "ifo")
    g = torch.sigmoid(gates["g"]) if mode == "sigmoid_g" else torch.tanh(gates["g"])
    if mode == "detach_f":
        f = f.detach()
    c2 = (c if mode == "no_forget" else f * c) + i * g
    h2 = o * (c2 if mode == "no_tanh" else torch.tanh(c if mode == "old_c" else c2))
    return (c2, h2) if mode == "swap" else (h2, c2)


def lstm_sliced(x, h, c, U, W, b):
    H = h.shape[1]
    a = F.linear(x, U) + F.linear(h, W) + b
    i = torch.sigmoid(a[:, :H])
    f = torch.sigmoid(a[:, H : 2 * H])
    g = torch.tanh(a[:, 2 * H : 3 * H])
    o = torch.sigmoid(a[:, 3 * H :])
    c_new = f * c + i * g
    return o * torch.tanh(c_new), c_new


def lstm_columns(x, h, c, U, W, b):  # column vectors, as in the lecture's notation
    a = U @ x.T + W @ h.T + b[:, None]  # (4H, B)
    a_i, a_f, a_g, a_o = torch.split(a, h.shape[1], dim=0)
    c_new = torch.sigmoid(a_f) * c.T + torch.sigmoid(a_i) * torch.tanh(a_g)
    return (torch.sigmoid(a_o) * torch.tanh(c_new)).T, c_new.T


def lstm_in_place_c(x, h, c, U, W, b):
    a_i, a_f, a_g, a_o = (x @ U.T + h @ W.T + b).chunk(4, dim=1)
    c.mul_(torch.sigmoid(a_f)).add_(torch.sigmoid(a_i) * torch.tanh(a_g))
    return torch.sigmoid(a_o) * torch.tanh(c), c


def lstm_by_hand(x, h, c, U, W, b):  # exp(2a) overflows for |a| > 44
    def tanh(a):
        return (torch.exp(2 * a) - 1) / (torch.exp(2 * a) + 1)

    a_i, a_f, a_g, a_o = (x @ U.T + h @ W.T + b).chunk(4, dim=1)
    c_new = torch.sigmoid(a_f) * c + torch.sigmoid(a_i) * tanh(a_g)
    return torch.sigmoid(a_o) * tanh(c_new), c_new


def lstm_module(x, h, c, U, W, b, kind=torch.nn.LSTMCell):
    cell = kind(U.shape[1], h.shape[1]).to(x.dtype)
    with torch.no_grad():
        for p, value in zip(cell.parameters(), (U, W, b, torch.zeros_like(b)), strict=True):
            p.copy_(value)
    if kind is torch.nn.LSTM:
        _, (h_n, c_n) = cell(x[:, None], (h[None], c[None]))
        return h_n[0], c_n[0]
    return cell(x, (h, c))


# --- cell_state_gradient -----------------------------------------------------------------


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
    if mode == "sum":
        return torch.cat([f.flip(1).cumsum(1).flip(1)[:, 1:], torch.ones_like(f[:, :1])], 1)
    if mode == "earlier":
        return torch.cat([torch.ones_like(f[:, :1]), f[:, :-1]], 1).cumprod(1)
    return out


def cell_grad_loop(f):
    T = f.shape[1]
    return torch.stack([f[:, k + 1 :].prod(dim=1) for k in range(T)], dim=1)


def cell_grad_log_space(f):
    later = torch.cat([f[:, 1:], torch.ones_like(f[:, :1])], dim=1)
    return torch.exp(torch.log(later).flip(1).cumsum(1).flip(1))


def cell_grad_divided(f):  # the total product over a running product: 0 / 0 once both underflow
    return f.prod(dim=1, keepdim=True) / f.cumprod(dim=1)


def cell_grad_in_place(f):
    last = f[:, -1:].clone()
    f[:, :-1] = f[:, 1:].flip(1).cumprod(1).flip(1)
    f[:, -1:] = last / last
    return f


def cell_grad_wrong_axis(f):
    later = torch.cat([f[:, :, 1:], torch.ones_like(f[:, :, :1])], dim=2)
    return later.flip(2).cumprod(2).flip(2)


# --- gru_step ----------------------------------------------------------------------------


def gru(x, h, U, W, b_x, b_h, mode="right"):
    """A student's GRU step; ``mode`` names a typical mistake."""
    H = h.shape[1]
    if mode == "no_b_h":
        b_h = torch.zeros_like(b_h)
    x_r, x_z, x_n = (x @ U.T + b_x).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ W.T + b_h).chunk(3, dim=1)
    if mode == "order":
        x_r, x_z, h_r, h_z = x_z, x_r, h_z, h_r
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    if mode == "detach_z":
        z = z.detach()
    if mode == "bias_outside":
        n = torch.tanh(x_n + r * (h @ W[2 * H :].T) + b_h[2 * H :])
    elif mode == "reset_first":
        n = torch.tanh(x_n + (r * h) @ W[2 * H :].T + b_h[2 * H :])
    elif mode == "no_reset":
        n = torch.tanh(x_n + h_n)
    elif mode == "sigmoid_n":
        n = torch.sigmoid(x_n + r * h_n)
    else:
        n = torch.tanh(x_n + r * h_n)
    if mode == "swap_z":
        return z * n + (1 - z) * h
    return (1 - z) * n + z * h


def gru_sliced(x, h, U, W, b_x, b_h):
    H = h.shape[1]
    gx, gh = F.linear(x, U, b_x), F.linear(h, W, b_h)
    r = torch.sigmoid(gx[:, :H] + gh[:, :H])
    z = torch.sigmoid(gx[:, H : 2 * H] + gh[:, H : 2 * H])
    n = torch.tanh(gx[:, 2 * H :] + r * gh[:, 2 * H :])
    return z * h + (1 - z) * n


def gru_einsum(x, h, U, W, b_x, b_h):
    H = h.shape[1]
    gx = torch.einsum("gi,bi->bg", U, x) + b_x
    gh = torch.einsum("gh,bh->bg", W, h) + b_h
    (x_r, x_z, x_n), (h_r, h_z, h_n) = gx.split(H, dim=1), gh.split(H, dim=1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return torch.lerp(n, h, z)


def gru_chunk_rows(x, h, U, W, b_x, b_h):
    x_r, x_z, x_n = (x @ U.T + b_x).chunk(3)  # dim 0: splits the batch, not the gates
    return x_r


def gru_in_place_h(x, h, U, W, b_x, b_h):
    x_r, x_z, x_n = (x @ U.T + b_x).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ W.T + b_h).chunk(3, dim=1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return h.mul_(z).add_((1 - z) * n)


def gru_by_hand(x, h, U, W, b_x, b_h):  # exp(2a) overflows for |a| > 44
    x_r, x_z, x_n = (x @ U.T + b_x).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ W.T + b_h).chunk(3, dim=1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    a = x_n + r * h_n
    n = (torch.exp(2 * a) - 1) / (torch.exp(2 * a) + 1)
    return (1 - z) * n + z * h


def gru_module(x, h, U, W, b_x, b_h, kind=torch.nn.GRUCell):
    cell = kind(U.shape[1], h.shape[1]).to(x.dtype)
    with torch.no_grad():
        for p, value in zip(cell.parameters(), (U, W, b_x, b_h), strict=True):
            p.copy_(value)
    if kind is torch.nn.GRU:
        return cell(x[:, None], h[None])[1][0]
    return cell(x, h)


GRU_WITH_HELPER = '''
def affine_blocks(v, M, bias):
    """One side's pre-activations v @ M.T + bias, (B, 3H), cut into its r, z, n blocks."""
    return (v @ M.T + bias).chunk(3, dim=1)

def gru_step(x, h, U, W, b_x, b_h):
    x_r, x_z, x_n = affine_blocks(x, U, b_x)
    h_r, h_z, h_n = affine_blocks(h, W, b_h)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    return (1 - z) * torch.tanh(x_n + r * h_n) + z * h
'''


def notebook_cell(source: str, name: str, cell: str):
    """The function ``name`` of ``source``, defined as a notebook cell defines it."""
    linecache.cache[cell] = (len(source), None, source.splitlines(True), cell)
    namespace = {"torch": torch}
    exec(compile(source, cell, "exec"), namespace)  # noqa: S102
    return namespace[name]


gru_with_helper = notebook_cell(GRU_WITH_HELPER, "gru_step", "<notebook 06, cell 47>")


# --- the contract's generic mistakes, as a student writes them ------------------------------


def detached(fn):
    def answer(*args):
        out = fn(*args)
        return tuple(v.detach() for v in out) if isinstance(out, tuple) else out.detach()

    return answer


def as_float64(fn):
    def answer(*args):
        out = fn(*(a.double() if torch.is_tensor(a) else a for a in args))
        return out

    return answer


def as_float32(fn):
    def answer(*args):
        out = fn(*args)
        return tuple(v.float() for v in out) if isinstance(out, tuple) else out.float()

    return answer


CASES = {
    "gated_leaky_step": (
        leaky,
        [
            (lambda s, x, theta: theta * s + x, "sigmoid is missing"),
            (lambda s, x, theta: s + torch.sigmoid(theta) * x, "multiplies the input"),
            (lambda s, x, theta: (1 - torch.sigmoid(theta)) * s + x, "(1 - sigmoid(theta))"),
            (lambda s, x, theta: torch.sigmoid(theta) * (s + x), "multiplies s + x"),
            (lambda s, x, theta: torch.sigmoid(theta) * s, "input x is missing"),
            (lambda s, x, theta: torch.sigmoid(theta)[None] * s + x, "batch axis of its own"),
            (leaky_by_hand, "nan or inf"),
            (detached(leaky), "no gradient reaches any input"),
            (lambda s, x, theta: torch.sigmoid(theta).detach() * s + x, "reaches theta"),
            (leaky_in_place_s, "input `s` in place"),
            (leaky_in_place_x, "input `x` in place"),
            (leaky_in_place_theta, "input `theta` in place"),
            (as_float64(leaky), "as torch.float64 for torch.float32"),
            (as_float32(leaky), "as torch.float32 for torch.float64"),
            (
                lambda s, x, theta: cells._gated_leaky_step(x, s, torch.sigmoid(theta)),
                "calls rnncourse.cells._gated_leaky_step",
            ),
        ],
    ),
    "time_constant": (
        lambda a: -1 / torch.log(a),
        [
            (lambda a: 1 / torch.log(a), "wrong sign"),
            (lambda a: 1 / (1 - a), "only approximates"),
            (lambda a: -torch.log(a), "decay rate"),
            (lambda a: -1 / torch.log10(a), "log10 was used"),
            (lambda a: -1 / torch.log2(a), "half-life"),
            (lambda a: -1 / torch.log(1 - a), "log of 1 - gate"),
            (lambda a: -np.log(2) / torch.log(a), "half-life"),
            (lambda a: -1 / np.log(a.numpy()), "not a tensor"),
            (tau_in_place, "in place"),
            (as_float64(lambda a: -1 / torch.log(a)), "as torch.float64 for torch.float32"),
            (as_float32(lambda a: -1 / torch.log(a)), "as torch.float32 for torch.float64"),
            (lambda a: dynamics.time_constant(a).to(a.dtype), "rnncourse.dynamics.time_constant"),
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
            (lambda *a: lstm(*a, mode="old_c"), "reads the old cell state"),
            (lambda *a: lstm(*a, mode="sigmoid_g"), "candidate g got a sigmoid"),
            (lambda *a: lstm(*a, mode="no_forget"), "forget gate is missing"),
            (lstm_by_hand, "nan or inf"),
            (detached(lstm), "no gradient reaches any input"),
            (lambda *a: lstm(*a, mode="detach_f"), "differs from autograd's"),
            (lstm_in_place_c, "input `c` in place"),
            (as_float64(lstm), "as torch.float64 for torch.float32"),
            (as_float32(lstm), "as torch.float32 for torch.float64"),
            (lstm_module, "torch.nn.LSTMCell"),
            (lambda *a: lstm_module(*a, kind=torch.nn.LSTM), "torch.nn.LSTM,"),
            (
                lambda x, h, c, U, W, b: torch._VF.lstm_cell(x, (h, c), U, W, b, None),
                "torch.lstm_cell",
            ),
            (
                lambda x, h, c, U, W, b: cells._lstm_step(x, h, c, U, W, b, None),
                "rnncourse.cells._lstm_step",
            ),
        ],
    ),
    "cell_state_gradient": (
        cell_grad,
        [
            (lambda f: cell_grad(f, "inclusive"), "one factor too many"),
            (lambda f: cell_grad(f, "forward"), "wrong way"),
            (lambda f: cell_grad(f, "short"), "last entry"),
            (lambda f: cell_grad(f, "sum"), "gates were added"),
            (lambda f: cell_grad(f, "earlier"), "over the earlier gates"),
            (cell_grad_wrong_axis, "wrong axis"),
            (cell_grad_divided, "nan or inf"),
            (cell_grad_in_place, "in place"),
            (as_float64(cell_grad), "as torch.float64 for torch.float32"),
            (as_float32(cell_grad), "as torch.float32 for torch.float64"),
        ],
    ),
    "gru_step": (
        gru,
        [
            (lambda *a: gru(*a, mode="swap_z"), "z and 1 - z are swapped"),
            (lambda *a: gru(*a, mode="order"), "not z, r, n"),
            (lambda *a: gru(*a, mode="bias_outside"), "not W_n h alone"),
            (lambda *a: gru(*a, mode="reset_first"), "applied to h before W_n"),
            (lambda *a: gru(*a, mode="no_reset"), "reset gate is missing"),
            (lambda *a: gru(*a, mode="sigmoid_n"), "candidate got a sigmoid"),
            (lambda *a: gru(*a, mode="no_b_h"), "bias b_h is missing"),
            (gru_chunk_rows, "wrong number of blocks"),
            (gru_by_hand, "nan or inf"),
            (detached(gru), "no gradient reaches any input"),
            (lambda *a: gru(*a, mode="detach_z"), "differs from autograd's"),
            (gru_in_place_h, "input `h` in place"),
            (as_float64(gru), "as torch.float64 for torch.float32"),
            (as_float32(gru), "as torch.float32 for torch.float64"),
            (gru_module, "torch.nn.GRUCell"),
            (lambda *a: gru_module(*a, kind=torch.nn.GRU), "torch.nn.GRU,"),
            (lambda *a: torch._VF.gru_cell(*a), "torch.gru_cell"),
            (lambda *a: torch.gru_cell(*a), "torch.gru_cell"),
            (lambda *a: cells._gru_step(*a), "rnncourse.cells._gru_step"),
        ],
    ),
}

RIGHT = {
    "gated_leaky_step": [
        lambda s, x, theta: s * theta.sigmoid() + x,
        lambda s, x, theta: torch.addcmul(x, torch.sigmoid(theta), s),
        lambda s, x, theta: s / (1 + torch.exp(-theta)) + x,
    ],
    "time_constant": [
        lambda a: -torch.reciprocal(torch.log(a)),
        lambda a: torch.log(a).reciprocal().neg(),
        lambda a: 1 / -a.log(),
    ],
    "lstm_step": [lstm_sliced, lstm_columns],
    "cell_state_gradient": [cell_grad_loop, cell_grad_log_space],
    "gru_step": [gru_sliced, gru_einsum, gru_with_helper],
}
