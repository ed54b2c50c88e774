"""Notebook 03: right and wrong answers for the BPTT exercises (format in __init__.py).

The answers are written as a student would, apart from the checkers' own code. ``RIGHT``
holds more right answers, written in other styles, that must pass too.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from rnncourse import bptt

# --- rnn_backward -----------------------------------------------------------------------


def rnn_backward_np(dh_out, xs, hs, W, U, bug=""):
    """A student's BPTT loop; ``bug`` names a typical mistake."""
    B, T, H = hs.shape
    dW, dU = np.zeros_like(W), np.zeros_like(U.T if bug == "dU_transposed" else U)
    db = np.zeros(H) if bug == "float64" else np.zeros(H, dtype=hs.dtype)
    if bug == "float32":
        dW, dU, db = (g.astype(np.float32) for g in (dW, dU, db))
    dh_prev = np.zeros_like(hs[:, 0])
    stop = 0 if bug == "skip_first" else -1  # the last step the loop visits
    for t in range(T - 1, stop, -1):
        h_prev = hs[:, t - 1] if t or bug == "wrap" else np.zeros_like(hs[:, 0])
        if bug == "state_in_dW":
            h_prev = hs[:, t]
        if bug == "in_place":
            dh_out[:, t] += dh_prev
            dh = dh_out[:, t]
        else:
            dh = dh_out[:, t] if bug == "branch" else dh_out[:, t] + dh_prev
        if bug == "tanh":
            da = dh
        elif bug == "slope_of_previous":
            da = dh * (1 - (hs[:, t - 1] if t else 0 * hs[:, 0]) ** 2)
        else:
            da = dh * (1 - hs[:, t] ** 2)
        if bug == "overwrite":
            dW, dU, db = da.T @ h_prev, da.T @ xs[:, t], da.sum(0)
        else:
            dW += da.T @ h_prev
            dU += xs[:, t].T @ da if bug == "dU_transposed" else da.T @ xs[:, t]
            db += da.sum(0)
        dh_prev = da @ (W.T if bug == "transpose" else W)
    if bug == "per_example":
        return dW / B, dU / B, db / B
    return dW, dU, db


def backward_vectorised(dh_out, xs, hs, W, U):
    """The deltas in a loop, then every share at once with einsum."""
    B, T, H = hs.shape
    das = np.zeros_like(hs)
    carry = np.zeros_like(hs[:, 0])
    for t in reversed(range(T)):
        das[:, t] = (dh_out[:, t] + carry) * (1 - hs[:, t] ** 2)
        carry = das[:, t] @ W
    prev = np.concatenate([np.zeros_like(hs[:, :1]), hs[:, :-1]], axis=1)
    return (
        np.einsum("bti,btj->ij", das, prev),
        np.einsum("bti,btj->ij", das, xs),
        das.sum(axis=(0, 1)),
    )


def backward_per_example(dh_out, xs, hs, W, U):
    """One example at a time, column vectors and outer products, as on paper."""
    B, T, H = hs.shape
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(hs[0, 0])
    for n in range(B):
        delta_next = np.zeros(H, dtype=hs.dtype)
        for t in range(T - 1, -1, -1):
            h_prev = hs[n, t - 1] if t > 0 else np.zeros(H, dtype=hs.dtype)
            delta = (dh_out[n, t] + W.T @ delta_next) * (1 - hs[n, t] ** 2)
            dW = dW + np.outer(delta, h_prev)
            dU = dU + np.outer(delta, xs[n, t])
            db = db + delta
            delta_next = delta
    return dW, dU, db


def backward_with_the_course_s_step(dh_out, xs, hs, W, U):
    """Uses bptt.rnn_step_backward, which already does the step's maths."""
    B, T, H = hs.shape
    dW, dU, db, carry = np.zeros_like(W), np.zeros_like(U), np.zeros(H), np.zeros((B, H))
    for t in reversed(range(T)):
        h_prev = hs[:, t - 1] if t else np.zeros((B, H))
        cache = (xs[:, t], h_prev, None, hs[:, t], U, W, "tanh")
        _, carry, dU_t, dW_t, db_t = bptt.rnn_step_backward(dh_out[:, t] + carry, cache)
        dW, dU, db = dW + dW_t, dU + dU_t, db + db_t
    return dW, dU, db


def _bw(bug):
    return lambda *a: rnn_backward_np(*a, bug=bug)


# --- numerical_gradient -----------------------------------------------------------------


def num_grad(f, x, eps=1e-6, bug=""):
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


def num_grad_flat(f, x, eps=1e-6):
    """Through a flat view of x (it writes into x itself, and restores each entry)."""
    flat, grad = x.reshape(-1), np.empty(x.size)
    for i in range(x.size):
        old = flat[i]
        flat[i] = old + eps
        up = f(x)
        flat[i] = old - eps
        grad[i] = (up - f(x)) / (2 * eps)
        flat[i] = old
    return grad.reshape(x.shape)


def num_grad_copies(f, x, eps=1e-6):
    """Two fresh copies of x per entry: right for an f that reads its argument only."""
    grad = np.zeros_like(x)
    for _ in (it := np.nditer(x, flags=["multi_index"])):
        i = it.multi_index
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        grad[i] = (f(up) - f(down)) / (2 * eps)
    return grad


def num_grad_nditer(f, x, eps=1e-5):
    """With np.nditer's multi-index, in place."""
    grad = np.zeros_like(x)
    for _ in (it := np.nditer(x, flags=["multi_index"])):
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        up = f(x)
        x[i] = old - eps
        grad[i] = (up - f(x)) / (2 * eps)
        x[i] = old
    return grad


def num_grad_coarse_default(f, x, eps=0.1):
    return num_grad(f, x, eps)


def num_grad_without_default(f, x, eps):
    return num_grad(f, x, eps)


def num_grad_at_once(f, x, eps=1e-6):
    return np.full_like(x, (f(x + eps) - f(x - eps)) / (2 * eps))


# --- rnn_loss_and_grads -----------------------------------------------------------------


def loss_and_grads(params, x, y, mode="right"):
    """A student's full BPTT with readout; ``mode`` names a typical mistake."""
    U, W, b, V, b_o = (params[k] for k in ("U", "W", "b", "V", "b_o"))
    B, T, _ = x.shape
    h, hs = np.zeros((B, W.shape[0])), []
    for t in range(T):
        h = np.tanh(x[:, t] @ U.T + h @ W.T + b)
        hs.append(h)
    if mode == "store_states":
        params["hs"] = hs
    o = np.stack(hs, 1) @ V.T + b_o
    half = 1.0 if mode == "no_half" else 0.5
    per = {"no_batch_mean": 1, "mean_of_all": B * T * o.shape[2], "per_T": T}.get(mode, B)
    loss = half * np.sum((o - y) ** 2) / per
    if mode == "in_place":
        y -= o
        y *= -2 * half / per
        do = y
    else:
        do = 2 * half * (o - y) / per
    grads = {k: np.zeros(v.shape) if mode == "float64" else np.zeros_like(v)
             for k, v in params.items()}  # fmt: skip
    dh_next = np.zeros((B, W.shape[0]))
    for t in range(T - 1, -1, -1):
        h_prev = hs[t - 1] if (t > 0 or mode == "wrap") else np.zeros_like(hs[0])
        if mode == "state_in_dW":
            h_prev = hs[t]
        if mode == "overwrite_readout":
            grads["V"], grads["b_o"] = do[:, t].T @ hs[t], do[:, t].sum(0)
        else:
            grads["V"] += do[:, t].T @ hs[t]
            grads["b_o"] += do[:, t].sum(0)
        dh = do[:, t] @ V + (0 if mode == "branch" else dh_next)
        if mode == "tanh":
            da = dh
        elif mode == "slope_of_previous":
            da = dh * (1 - (hs[t - 1] if t else 0 * hs[0]) ** 2)
        else:
            da = dh * (1 - hs[t] ** 2)
        if mode == "overwrite":
            grads["W"], grads["U"], grads["b"] = da.T @ h_prev, da.T @ x[:, t], da.sum(0)
        else:
            grads["W"] += da.T @ h_prev
            grads["U"] += da.T @ x[:, t]
            grads["b"] += da.sum(0)
        dh_next = da @ W
    return loss, grads


def loss_and_grads_vectorised(params, x, y):
    """States in one array, the readout's gradients at once, the deltas in a loop."""
    U, W, b, V, b_o = (params[k] for k in ("U", "W", "b", "V", "b_o"))
    B, T, _ = x.shape
    hs = np.zeros((B, T + 1, W.shape[0]), dtype=x.dtype)
    for t in range(T):
        hs[:, t + 1] = np.tanh(x[:, t] @ U.T + hs[:, t] @ W.T + b)
    o = hs[:, 1:] @ V.T + b_o
    do = (o - y) / B
    das = np.zeros_like(hs[:, 1:])
    carry = np.zeros_like(hs[:, 0])
    for t in reversed(range(T)):
        das[:, t] = (do[:, t] @ V + carry) * (1 - hs[:, t + 1] ** 2)
        carry = das[:, t] @ W
    grads = {
        "U": np.einsum("bti,btj->ij", das, x),
        "W": np.einsum("bti,btj->ij", das, hs[:, :-1]),
        "b": das.sum((0, 1)),
        "V": np.einsum("bto,bth->oh", do, hs[:, 1:]),
        "b_o": do.sum((0, 1)),
    }
    return float(0.5 * ((o - y) ** 2).sum() / B), {k: g.astype(x.dtype) for k, g in grads.items()}


def loss_and_grads_with_the_course_s_forward(params, x, y):
    bptt.rnn_forward(params, x, y, loss="mse")  # the forward pass, then one's own backward
    return loss_and_grads(params, x, y)


def transposed_dV(params, x, y):
    loss, grads = loss_and_grads(params, x, y)
    return loss, {**grads, "V": grads["V"].T}


def _full(mode):
    return lambda *a: loss_and_grads(*a, mode=mode)


# --- tbptt_chunks -----------------------------------------------------------------------


def chunks(cell, readout, x, y, k, opt, mode="right"):
    """A student's chunked truncated BPTT; ``mode`` names a typical mistake."""
    dtype = torch.float32 if mode == "float32_state" else x.dtype
    h = torch.zeros(x.shape[0], cell.hidden_size, dtype=dtype)
    if mode == "in_place":
        x.clamp_(-10, 10)
    losses = []
    end = x.shape[1] - k + 1 if mode == "whole_chunks" else x.shape[1]
    for start in range(0, end, k):
        if mode == "reset":
            h = torch.zeros(x.shape[0], cell.hidden_size, dtype=dtype)
        elif mode != "no_detach":
            h = h.detach()
        outputs = []
        for t in range(start, min(start + k, x.shape[1])):
            h = cell(x[:, t], h.detach() if mode == "every_step" else h)
            outputs.append(readout(h))
        reduction = "sum" if mode == "sum" else "mean"
        loss = F.mse_loss(torch.stack(outputs, dim=1), y[:, start : start + k], reduction=reduction)
        if mode != "no_zero_grad":
            opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def chunks_split(cell, readout, x, y, k, opt):
    """Chunks from torch.split, the state detached in place."""
    h = x.new_zeros(x.shape[0], cell.hidden_size)
    losses = []
    for x_chunk, y_chunk in zip(x.split(k, dim=1), y.split(k, dim=1), strict=True):
        h.detach_()
        outputs = []
        for x_t in x_chunk.unbind(1):
            h = cell(x_t, h)
            outputs.append(readout(h))
        loss = ((torch.stack(outputs, 1) - y_chunk) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def _tb(mode):
    return lambda *a: chunks(*a, mode=mode)


CASES = {
    "rnn_backward": (
        rnn_backward_np,
        [
            (_bw("overwrite"), "overwritten instead of accumulated"),
            (_bw("branch"), "not added at a branch"),
            (_bw("transpose"), "transposed weights"),
            (_bw("tanh"), "tanh derivative is missing"),
            (_bw("slope_of_previous"), "taken at h(t-1)"),
            (_bw("state_in_dW"), "the state the step writes"),
            (_bw("wrap"), "counts from the end"),
            (_bw("per_example"), "divided by the batch size"),
            (_bw("skip_first"), "dU agrees for steps 5..2 and first differs at step 1"),
            (_bw("dU_transposed"), "dU is transposed"),
            (_bw("in_place"), "changed its input `dh_out` in place"),
            (_bw("float64"), "as float64 for float32 inputs"),
            (_bw("float32"), "as float32 for float64 inputs"),
            (backward_with_the_course_s_step, "calls rnncourse.bptt.rnn_step_backward"),
        ],
    ),
    "numerical_gradient": (
        num_grad,
        [
            (lambda *a: num_grad(*a, bug="forward"), "forward difference"),
            (lambda *a: num_grad(*a, bug="one_eps"), "divided by 2 * eps"),
            (lambda *a: num_grad(*a, bug="no_restore"), "changed in place"),
            (num_grad_at_once, "perturb one entry at a time"),
            (num_grad_copies, "f was evaluated at a copy of x"),
            (num_grad_coarse_default, "the default step eps is far from"),
            (num_grad_without_default, "eps has no default"),
            (lambda f, x, eps: bptt.numerical_gradient(f, x, eps), "calls the course's"),
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
    "rnn_loss_and_grads": (
        loss_and_grads,
        [
            (_full("overwrite"), "only the step the loop visits last"),
            (_full("overwrite_readout"), "readout's dV or db_o is overwritten"),
            (_full("branch"), "only one of the two deltas"),
            (_full("tanh"), "tanh derivative is missing"),
            (_full("slope_of_previous"), "taken at h(t-1)"),
            (_full("state_in_dW"), "the state the step writes"),
            (_full("wrap"), "counts from the end"),
            (_full("no_half"), "1/2 of the squared error"),
            (_full("no_batch_mean"), "division by the batch size B is missing"),
            (_full("mean_of_all"), "a mean over every entry"),
            (_full("per_T"), "L = (1/B) * sum of 0.5"),
            (transposed_dV, "V's transpose's shape"),
            (_full("in_place"), "changed its input `y` in place"),
            (_full("store_states"), "`params` (a key added, removed or replaced)"),
            (_full("float64"), "as float64 for float32 inputs"),
            (loss_and_grads_with_the_course_s_forward, "calls rnncourse.bptt.rnn_forward"),
        ],
    ),
    "tbptt_chunks": (
        chunks,
        [
            (_tb("no_detach"), "still attached to the previous chunk's graph"),
            (_tb("reset"), "reset to zero"),
            (_tb("every_step"), "detached at every step"),
            (_tb("no_zero_grad"), "not zeroed"),
            (_tb("sum"), "summed, not averaged"),
            (_tb("float32_state"), "another dtype than the model"),
            (_tb("whole_chunks"), "expected shape (3,), got (2,)"),
            (_tb("in_place"), "changed its input `x` in place"),
        ],
    ),
}

RIGHT = {
    "rnn_backward": [backward_vectorised, backward_per_example],
    "numerical_gradient": [num_grad_flat, num_grad_nditer],
    "rnn_loss_and_grads": [loss_and_grads_vectorised],
    "tbptt_chunks": [chunks_split],
}
