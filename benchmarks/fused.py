"""A fast whole-sequence LSTM and GRU with a hand-written backward, for speed comparisons.

This is not the teaching code: the lecture's cells are ``rnncourse.cells``, run over time
by ``rnncourse.sequences.run``, which calls the cell once per step and lets autograd
record every small operation. That is easy to read but slow to train, because the
backward pass replays hundreds of tiny operations. ``bench_cells.py`` beside this file
uses it to show how much of torch's speed a hand-written pass recovers. The two functions
here compute exactly the same thing as the step-by-step loop (same outputs, same
gradients) faster, with three tricks:

1. The input projection ``U x(t) + b`` of every step is one big matrix product
   before the loop: only ``W h(t-1)`` depends on the previous step.
2. Forward and backward are written by hand inside a ``torch.autograd.Function``.
   The forward loop stores the gate values; the backward loop walks back in time with
   a handful of tensor operations per step (the deltas of the lecture, which add up
   where a state feeds both the next step and the loss).
3. The weight gradients are accumulated over time (the ``+=`` of shared weights) with
   one matrix product over all steps at the end, instead of one per step.

The functions check their inputs once, not at every step. They support first
derivatives only (no ``create_graph=True``).

Both functions use the cell's own parameters, so gradients land on ``cell.U``,
``cell.W``, ``cell.b_x`` and ``cell.b_h`` as with the step-by-step loop.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from rnncourse._validation import check_tensor
from rnncourse.cells import GRUCell, LSTMCell

__all__ = ["lstm_sequence", "gru_sequence"]


def _check_inputs(function: str, cell, cell_type: type, x, state, n_state: int):
    """Checked ``x`` ``(B, T, I)`` and initial state parts (zeros for ``state=None``).

    Returns ``(x, parts)`` with ``parts`` a list of ``n_state`` tensors ``(B, H)``: ``[h]``
    for a GRU, ``[h, c]`` for an LSTM.
    """
    if not isinstance(cell, cell_type):
        raise TypeError(
            f"{function} needs an rnncourse.cells.{cell_type.__name__}, got {type(cell).__name__}."
        )
    hint = f"Pass a batch-first sequence (batch, time, {cell.input_size})."
    x = check_tensor(x, "x", ("B", "T", cell.input_size), hint=hint)
    if x.dtype != cell.W.dtype:
        raise TypeError(
            f"x has dtype {x.dtype} but the cell's parameters have dtype {cell.W.dtype}; "
            f"use x.to({cell.W.dtype}) or cell.to(x.dtype)."
        )
    shape = (x.shape[0], cell.hidden_size)
    if state is None:
        return x, [x.new_zeros(shape) for _ in range(n_state)]
    names = ["state"] if n_state == 1 else ["h", "c"]
    if n_state > 1 and (not isinstance(state, (tuple, list)) or len(state) != n_state):
        raise TypeError(
            f"{function}'s state must be a pair (h, c) of {shape} tensors or None, "
            f"got {type(state).__name__}."
        )
    parts = list(state) if n_state > 1 else [state]
    hint = f"The state is (batch, hidden_size) = {shape}; pass None for zeros."
    for name, part in zip(names, parts, strict=True):
        check_tensor(part, name, shape, hint=hint)
        if part.dtype != x.dtype:
            raise TypeError(f"{name} has dtype {part.dtype} but x has dtype {x.dtype}.")
    return x, parts


def _swap_go(t: torch.Tensor, H: int) -> torch.Tensor:
    """Swap the ``g`` and ``o`` blocks of the first dimension: ``i, f, g, o`` <-> ``i, f, o, g``.

    Inside the fused LSTM the three sigmoid gates come first, so one call computes them.
    The swap is its own inverse.
    """
    return torch.cat([t[: 2 * H], t[3 * H :], t[2 * H : 3 * H]])


def _input_projection(x, U, b):
    """``U x(t) + b`` for every step at once: x ``(B, T, I)`` -> ``(T, B, G)``, time first."""
    B, T, I = x.shape
    return F.linear(x.transpose(0, 1).reshape(T * B, I), U, b).view(T, B, -1)


def _input_gradients(da, x, U, need_x: bool, need_U: bool):
    """Gradients of ``a = U x + b`` from ``da`` of shape ``(T, B, G)``.

    Returns ``dx`` ``(B, T, I)`` and ``dU`` ``(G, I)`` (``None`` where not needed). The
    products are arranged so that the small input dimension ``I`` is not the last one of
    a matrix product; for ``I = 2`` this runs several times faster than ``da @ U``.
    """
    T, B, G = da.shape
    da2 = da.reshape(T * B, G)
    dx = dU = None
    if need_x:
        dx = F.linear(da2, U.t().contiguous()).reshape(T, B, -1).transpose(0, 1)
    if need_U:
        dU = (x.transpose(0, 1).reshape(T * B, -1).t() @ da2).t().contiguous()
    return dx, dU


class _LSTMSequence(torch.autograd.Function):
    """LSTM over a sequence. Inputs: x (B, T, I), h0, c0 (B, H), U, W, b_x, b_h.

    Outputs: hs (B, T, H) and c_T (B, H).
    """

    @staticmethod
    def forward(ctx, x, h0, c0, U, W, b_x, b_h):
        B, T, _ = x.shape
        H = W.shape[1]
        # tanh(v) = 2 sigmoid(2 v) - 1, and sigmoid is several times cheaper than tanh on
        # the CPU: with the g rows doubled, one sigmoid call gives i, f, o and s_g, and
        # g = 2 s_g - 1 goes straight into the cell update.
        U2, W2 = _swap_go(U, H), _swap_go(W, H)
        b2 = None if b_x is None else _swap_go(b_x + b_h, H)
        for p in (U2, W2, b2):
            if p is not None:
                p[3 * H :] *= 2
        # a holds, per step, U x + b, then a + W h, then the sigmoids i, f, o, s_g.
        a = _input_projection(x, U2, b2)  # (T, B, 4H)
        hs = x.new_empty(T + 1, B, H)  # hs[t] is h(t-1): hs[0] = h0
        cs = x.new_empty(T + 1, B, H)
        tanh_c = x.new_empty(T, B, H)
        hs[0], cs[0] = h0, c0
        a_t = a.unbind(0)
        i_t, f_t, o_t, s_t = (a[..., k * H : (k + 1) * H].unbind(0) for k in range(4))
        h_t, c_t, tc_t, WT = hs.unbind(0), cs.unbind(0), tanh_c.unbind(0), W2.t()
        for t in range(T):
            a_t[t].addmm_(h_t[t], WT).sigmoid_()
            # c(t) = f c(t-1) + i g = f c(t-1) + 2 i s_g - i
            torch.mul(f_t[t], c_t[t], out=c_t[t + 1]).addcmul_(i_t[t], s_t[t], value=2)
            c_t[t + 1].sub_(i_t[t])
            torch.tanh(c_t[t + 1], out=tc_t[t])
            torch.mul(o_t[t], tc_t[t], out=h_t[t + 1])
        ctx.save_for_backward(x, U, W, a, hs, cs, tanh_c)
        ctx.has_bias = b_x is not None
        return hs[1:].transpose(0, 1).clone(memory_format=torch.contiguous_format), cs[T].clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_hs, grad_cT):
        x, U, W, a, hs, cs, tanh_c = ctx.saved_tensors
        T, B, H = tanh_c.shape
        U_, W_ = _swap_go(U, H), _swap_go(W, H)
        i, f, o, s_g = a.split(H, dim=2)
        g = s_g * 2 - 1
        # Local derivatives of the pre-activations, for all steps at once:
        # d a_i = dc * P_i, d a_f = dc * P_f, d a_o = dh * P_o, d a_g = dc * P_g.
        # (Written in place: fresh memory is slow to touch, so temporaries are avoided.)
        P = torch.empty_like(a)
        sig, P_sig = a[..., : 3 * H], P[..., : 3 * H]
        torch.mul(sig, sig, out=P_sig)
        torch.sub(sig, P_sig, out=P_sig)  # s - s^2 is the derivative of a sigmoid s
        P_i, P_f, P_o, P_g = P.split(H, dim=2)
        P_i.mul_(g)
        P_f.mul_(cs[:-1])
        P_o.mul_(tanh_c)
        torch.mul(g, g, out=P_g).neg_().add_(1).mul_(i)  # i * (1 - g^2)
        A = torch.mul(tanh_c, tanh_c).neg_().add_(1).mul_(o)  # dh(t) reaches c(t) via o tanh(c)
        # Walking back in time, P(t) is overwritten with the gradient of a(t).
        da_t, A_t, f_t, gh_t = P.unbind(0), A.unbind(0), f.unbind(0), grad_hs.unbind(1)
        dh, dc = gh_t[T - 1], grad_cT
        for t in range(T - 1, -1, -1):
            dc = torch.addcmul(dc, dh, A_t[t])  # all paths into c(t)
            da_t[t].mul_(torch.cat([dc, dc, dh, dc], 1))
            dc = dc * f_t[t]  # into c(t-1)
            dh = torch.addmm(gh_t[t - 1], da_t[t], W_) if t > 0 else da_t[0] @ W_
        da = P
        da2 = da.reshape(T * B, 4 * H)
        dx, dU = _input_gradients(da, x, U_, *ctx.needs_input_grad[0:4:3])
        dW = db = None
        if dU is not None:
            dU = _swap_go(dU, H)
        if ctx.needs_input_grad[4]:
            dW = _swap_go(da2.t() @ hs[:-1].reshape(T * B, H), H)
        if ctx.has_bias:
            db = _swap_go(da2.sum(0), H)
        return dx, dh, dc, dU, dW, db, db


class _GRUSequence(torch.autograd.Function):
    """GRU over a sequence. Inputs: x (B, T, I), h0 (B, H), U, W, b_x, b_h.

    Output: hs (B, T, H).
    """

    @staticmethod
    def forward(ctx, x, h0, U, W, b_x, b_h):
        B, T, _ = x.shape
        H = W.shape[1]
        a = _input_projection(x, U, b_x)  # U x + b_x, then the activations r, z, n
        wh = x.new_empty(T, B, 3 * H)  # W h(t-1) + b_h
        hs = x.new_empty(T + 1, B, H)
        hs[0] = h0
        rz_t, n_t = a[..., : 2 * H].unbind(0), a[..., 2 * H :].unbind(0)
        r_t, z_t = a[..., :H].unbind(0), a[..., H : 2 * H].unbind(0)
        wh_t, whrz_t, whn_t = wh.unbind(0), wh[..., : 2 * H].unbind(0), wh[..., 2 * H :].unbind(0)
        h_t, WT = hs.unbind(0), W.t()
        for t in range(T):
            if b_h is None:
                torch.mm(h_t[t], WT, out=wh_t[t])
            else:
                torch.addmm(b_h, h_t[t], WT, out=wh_t[t])
            rz_t[t].add_(whrz_t[t]).sigmoid_()
            n_t[t].addcmul_(r_t[t], whn_t[t]).tanh_()
            torch.lerp(n_t[t], h_t[t], z_t[t], out=h_t[t + 1])  # n + z (h - n)
        ctx.save_for_backward(x, U, W, a, wh, hs)
        ctx.has_bias = b_x is not None
        return hs[1:].transpose(0, 1).clone(memory_format=torch.contiguous_format)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_hs):
        x, U, W, a, wh, hs = ctx.saved_tensors
        T, B, H = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
        r, z, n = a.split(H, dim=2)
        # d(U_n x + b_xn) = dh * Pn; the gradient of W h + b_h is dh * Q, all steps at once.
        Pn = (1 - z) * (1 - n * n)
        Q = torch.cat([Pn * wh[..., 2 * H :] * r * (1 - r), (hs[:-1] - n) * z * (1 - z), Pn * r], 2)
        dwh = torch.empty_like(wh)
        # dhs, (T, B, H), starts as the loss's own gradient and becomes the total dL/dh(t).
        dhs = grad_hs.transpose(0, 1).clone(memory_format=torch.contiguous_format)
        dwh_t, Q_t, z_t, dh_t = dwh.unbind(0), Q.unbind(0), z.unbind(0), dhs.unbind(0)
        for t in range(T - 1, -1, -1):
            dh = dh_t[t]
            torch.mul(torch.cat([dh, dh, dh], 1), Q_t[t], out=dwh_t[t])
            dh_prev = dh * z_t[t] + dwh_t[t] @ W
            if t > 0:
                dh_t[t - 1].add_(dh_prev)
        da = torch.cat([dwh[..., : 2 * H], dhs * Pn], 2)  # gradient of U x + b_x
        da2, dwh2 = da.reshape(T * B, 3 * H), dwh.reshape(T * B, 3 * H)
        dx, dU = _input_gradients(da, x, U, *ctx.needs_input_grad[0:3:2])
        dW = db_x = db_h = None
        if ctx.needs_input_grad[3]:
            dW = dwh2.t() @ hs[:-1].reshape(T * B, H)
        if ctx.has_bias:
            db_x, db_h = da2.sum(0), dwh2.sum(0)
        return dx, dh_prev, dU, dW, db_x, db_h


def lstm_sequence(cell: LSTMCell, x: torch.Tensor, state=None):
    """Run an LSTM cell over a whole sequence, fast; same result as a step-by-step loop.

    Args:
        cell: an ``rnncourse.cells.LSTMCell``; its parameters receive the gradients.
        x: input sequence of shape ``(B, T, I)``.
        state: initial ``(h, c)``, each ``(B, H)``, or ``None`` for zeros.

    Returns:
        ``(hs, (h_T, c_T))``: ``hs`` of shape ``(B, T, H)`` holds ``h(1) ... h(T)``;
        ``h_T`` and ``c_T`` of shape ``(B, H)`` are the final state.
    """
    x, (h0, c0) = _check_inputs("lstm_sequence", cell, LSTMCell, x, state, n_state=2)
    hs, c_T = _LSTMSequence.apply(x, h0, c0, cell.U, cell.W, cell.b_x, cell.b_h)
    return hs, (hs[:, -1], c_T)


def gru_sequence(cell: GRUCell, x: torch.Tensor, state=None):
    """Run a GRU cell over a whole sequence, fast; same result as a step-by-step loop.

    Args:
        cell: an ``rnncourse.cells.GRUCell``; its parameters receive the gradients.
        x: input sequence of shape ``(B, T, I)``.
        state: initial ``h`` of shape ``(B, H)``, or ``None`` for zeros.

    Returns:
        ``(hs, h_T)``: ``hs`` of shape ``(B, T, H)`` holds ``h(1) ... h(T)``; ``h_T`` of
        shape ``(B, H)`` is the final state.
    """
    x, (h0,) = _check_inputs("gru_sequence", cell, GRUCell, x, state, n_state=1)
    hs = _GRUSequence.apply(x, h0, cell.U, cell.W, cell.b_x, cell.b_h)
    return hs, hs[:, -1]
