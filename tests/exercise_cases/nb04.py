"""Notebook 04: right and wrong answers for its four exercises (format in __init__.py).

``RIGHT`` holds right answers written in other styles (padding, writing into a new tensor,
einsum, while loops, a loop over the starts of the k-step loss).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rnncourse import generation, sequences

# --- teacher_forced_inputs ---------------------------------------------------------------


def teacher_forced(targets, start, mode="right"):
    col = torch.full_like(targets[:, :1], start)
    if mode == "wrong_way":
        return torch.cat([targets[:, 1:], col], 1)
    if mode == "none":
        return targets.clone()
    if mode == "no_start":
        return targets[:, :-1]
    if mode == "ids_only":  # a start column of shape (B, 1): right for token ids only
        first = torch.full((targets.shape[0], 1), start, dtype=targets.dtype)
        return torch.cat([first, targets[:, :-1]], 1)
    if mode == "roll":
        return targets.roll(1, dims=1)
    if mode == "zeros_first":
        return torch.cat([torch.zeros_like(col), targets[:, :-1]], 1)
    return torch.cat([col, targets[:, :-1]], 1)


def shift_in_place(targets, start):  # shifts the caller's targets
    targets[:, 1:] = targets[:, :-1].clone()
    targets[:, 0] = start
    return targets


def shift_float_start(targets, start):  # torch.full's default dtype: float ids
    first = torch.full((targets.shape[0], 1, *targets.shape[2:]), float(start))
    return torch.cat([first, targets[:, :-1].to(first.dtype)], 1)


def vectors_in_float64(targets, start):  # ids stay int64; vectors come back as float64
    inputs = teacher_forced(targets, start)
    return inputs.double() if inputs.is_floating_point() else inputs


def shift_padded(targets, start):
    pad = (0, 0) * (targets.dim() - 2) + (1, 0)
    return F.pad(targets[:, :-1], pad, value=start)


def shift_into_new(targets, start):
    inputs = targets.new_full(targets.shape, start)
    inputs[:, 1:] = targets[:, :-1]
    return inputs


def shift_rolled(targets, start):
    inputs = targets.roll(1, dims=1)
    inputs[:, 0] = start
    return inputs


# --- output_feedback ---------------------------------------------------------------------


def output_feedback(net, x, y_prev=None, y0=None, mode="right"):
    """h(t) = tanh(U x(t) + R y(t-1) + b), o(t) = V h(t) + b_o; ``mode`` names a mistake."""
    act = (lambda a: a) if mode == "no_tanh" else torch.tanh
    if y_prev is not None and mode != "tf_free":
        if mode == "tf_shifted":
            y_prev = torch.cat([torch.zeros_like(y_prev[:, :1]), y_prev[:, :-1]], 1)
        if mode == "tf_loop":  # right values, one step at a time
            steps = [
                act(x[:, t] @ net.U.T + y_prev[:, t] @ net.R.T + net.b) @ net.V.T + net.b_o
                for t in range(x.shape[1])
            ]
            return torch.stack(steps, 1)
        return act(x @ net.U.T + y_prev @ net.R.T + net.b) @ net.V.T + net.b_o
    given = y0 is not None
    first = x.new_zeros(x.shape[0], net.V.shape[0]) if y0 is None else y0
    if mode == "ignore_y0":
        first = x.new_zeros(x.shape[0], net.V.shape[0])
    y, outputs = first, []
    steps = min(x.shape[1], 64) if mode == "short" else x.shape[1]
    for t in range(steps):
        fed = first if mode == "no_feedback" else y
        new = act(x[:, t] @ net.U.T + fed @ net.R.T + net.b) @ net.V.T + net.b_o
        if mode == "y0_in_place" and given:
            y.copy_(new)
            outputs.append(new)
        else:
            y = new.detach() if mode == "detach" else new
            outputs.append(new)
    if mode == "time_first":
        return torch.stack(outputs)
    if mode == "with_first":
        outputs = [first, *outputs[:-1]]
    return torch.stack(outputs, dim=1)


def _wrong(mode):
    return lambda *a, **k: output_feedback(*a, **k, mode=mode)


def feedback_einsum(net, x, y_prev=None, y0=None):
    def step(x_t, y):
        h = torch.tanh(torch.einsum("...i,hi->...h", x_t, net.U) + F.linear(y, net.R, net.b))
        return F.linear(h, net.V, net.b_o)

    if y_prev is not None:
        return step(x, y_prev)
    y = torch.zeros_like(x[:, 0, :1]).expand(-1, net.V.shape[0]) if y0 is None else y0
    outputs = []
    for x_t in x.unbind(1):
        y = step(x_t, y)
        outputs.append(y)
    return torch.stack(outputs, 1)


def feedback_flat(net, x, y_prev=None, y0=None):  # (B * T, ...) rows, then back
    B, T, _ = x.shape
    if y_prev is not None:
        rows = x.reshape(B * T, -1) @ net.U.T + y_prev.reshape(B * T, -1) @ net.R.T
        return (torch.tanh(rows + net.b) @ net.V.T + net.b_o).reshape(B, T, -1)
    y = y0 if y0 is not None else x.new_zeros(B, len(net.b_o))
    outputs, t = [], 0
    while t < T:
        y = net.V @ torch.tanh(net.U @ x[:, t].T + net.R @ y.T + net.b[:, None])
        y = y.T + net.b_o
        outputs.append(y[:, None])
        t += 1
    return torch.cat(outputs, 1)


def feedback_calls_the_course(net, x, y_prev=None, y0=None):
    if y_prev is not None:
        return sequences.OutputFeedback._step(net, x, y_prev)
    return output_feedback(net, x, y0=y0)


# --- free_running ------------------------------------------------------------------------


def free_run(step_fn, first, steps, mode="right"):
    x, h, ys = first, None, []
    for _ in range(min(steps, 100) if mode == "short" else steps):
        y, h2 = step_fn(first if mode == "nofeed" else x, h)
        h = None if mode == "reset" else h2
        ys.append(y)
        if mode == "copy_into_first":
            x.copy_(y)
        else:
            x = y.detach() if mode == "detach" else y
    if mode == "time_first":
        return torch.stack(ys)
    if mode == "with_first":
        ys = [first, *ys[:-1]]
    return torch.stack(ys, 1)


def free_run_preallocated(step_fn, first, steps):
    ys = first.new_empty(first.shape[0], steps, first.shape[1])
    x, h = first, None
    for k in range(steps):
        x, h = step_fn(x, h)
        ys[:, k] = x
    return ys


def free_run_while(step_fn, first, steps):
    outputs, state, y = [], None, first
    while len(outputs) < steps:
        y, state = step_fn(y, state)
        outputs.append(y[:, None])
    return torch.cat(outputs, dim=1)


# --- unrolled_loss -----------------------------------------------------------------------


def unrolled(step_fn, clean, noisy, k, mode="right"):
    T = noisy.shape[1] - 1
    if mode != "unchecked" and not 1 <= k <= T:
        if mode == "type_error":
            raise TypeError(f"bad k {k}")
        raise ValueError(f"k must be from 1 to {T}, got {k}")
    n = T - k + 1
    if mode == "fewer_starts":
        n -= 1
    y = (clean if mode == "clean_start" else noisy)[:, : 1 if mode == "one_start" else n]
    m = y.shape[1]
    losses = []
    for j in range(1, k + 1):
        fed = noisy[:, j - 1 : j - 1 + m] if mode == "teacher_forced" else y
        y = step_fn(fed)
        target = (noisy if mode == "noisy_targets" else clean)[:, j : j + m]
        if mode == "too_early":
            target = clean[:, j - 1 : j - 1 + m]
        if mode == "sum_d":
            losses.append((y - target).square().sum(-1).mean())
        else:
            losses.append(F.mse_loss(y, target))
        if mode == "detach":
            y = y.detach()
        if mode == "detach_input" and j < k:  # cuts the start as well as the feedback
            y = y.detach()
    if mode == "last_only":
        return losses[-1]
    if mode == "sum_k":
        return sum(losses)
    if mode == "in_place":
        noisy.mul_(1)
    return sum(losses) / k


def _loss(mode):
    return lambda *a: unrolled(*a, mode=mode)


def unrolled_by_start(step_fn, clean, noisy, k):  # one start after another
    T = noisy.shape[1] - 1
    if not 1 <= k <= T:
        raise ValueError(f"k = {k} is not in 1..{T}")
    total = 0.0
    for t in range(T - k + 1):
        y = noisy[:, t]
        for j in range(1, k + 1):
            y = step_fn(y)
            total = total + (y - clean[:, t + j]).square().mean()
    return total / ((T - k + 1) * k)


def unrolled_stacked(step_fn, clean, noisy, k):
    T = noisy.shape[1] - 1
    if k < 1 or k > T:
        raise ValueError("k must be between 1 and T")
    n = T - k + 1
    y, outputs = noisy[:, :n], []
    for _ in range(k):
        y = step_fn(y)
        outputs.append(y)
    targets = torch.stack([clean[:, j : j + n] for j in range(1, k + 1)], 1)
    return (torch.stack(outputs, 1) - targets).pow(2).mean()


def unrolled_through_the_course(step_fn, clean, noisy, k):  # generation's loop is allowed
    T = noisy.shape[1] - 1
    if not 1 <= k <= T:
        raise ValueError(f"k must be in 1..{T}")
    n = T - k + 1
    outputs, _ = generation.free_running(lambda y, s: (step_fn(y), s), noisy[:, :n], k)
    return F.mse_loss(outputs, torch.stack([clean[:, j : j + n] for j in range(1, k + 1)], 1))


CASES = {
    "teacher_forced_inputs": (
        teacher_forced,
        [
            (lambda t, s: teacher_forced(t, s, "wrong_way"), "shifted the wrong way"),
            (lambda t, s: teacher_forced(t, s, "none"), "were not shifted"),
            (lambda t, s: teacher_forced(t, s, "no_start"), "start value is missing"),
            (lambda t, s: teacher_forced(t, s, "roll"), "torch.roll wraps"),
            (lambda t, s: teacher_forced(t, s, "zeros_first"), "start value was ignored"),
            (shift_in_place, "changed its input `targets` in place"),
            (shift_float_start, "for torch.int64 targets"),
            (vectors_in_float64, "as torch.float64 for torch.float32"),
            (lambda t, s: teacher_forced(t, s).detach(), "no gradient reaches any input"),
            (generation.teacher_forced_inputs, "calls rnncourse.generation.teacher_forced"),
            (
                lambda t, s: sequences.shift_right(t, torch.full_like(t[:, 0], s)),
                "calls rnncourse.sequences.shift_right",
            ),
        ],
    ),
    "output_feedback": (
        output_feedback,
        [
            (_wrong("no_tanh"), "tanh is missing"),
            (_wrong("tf_free"), "TRUE previous output"),
            (_wrong("tf_shifted"), "shifted again"),
            (_wrong("no_feedback"), "not fed back"),
            (_wrong("time_first"), "time-first"),
            (_wrong("with_first"), "y0 was returned as the first output"),
            (_wrong("ignore_y0"), "y0 was ignored"),
            (_wrong("tf_loop"), "the steps run one at a time"),
            (_wrong("detach"), "fed-back outputs are cut"),
            (_wrong("y0_in_place"), "changed its input `y0` in place"),
            (_wrong("short"), "expected shape (2, 512, 2)"),
            (lambda *a, **k: output_feedback(*a, **k).double(), "as torch.float64"),
            (feedback_calls_the_course, "calls rnncourse.sequences.OutputFeedback._step"),
        ],
    ),
    "free_running": (
        free_run,
        [
            (lambda *a: free_run(*a, mode="nofeed"), "not fed back"),
            (lambda *a: free_run(*a, mode="reset"), "state is not carried"),
            (lambda *a: free_run(*a, mode="time_first"), "time-first"),
            (lambda *a: free_run(*a, mode="with_first"), "returned as the first output"),
            (lambda *a: free_run(*a, mode="copy_into_first"), "changed its input `first`"),
            (lambda *a: free_run(*a, mode="detach"), "fed-back outputs are cut"),
            (lambda *a: free_run(*a, mode="short"), "expected shape (2, 1024, 2)"),
            (lambda *a: free_run(*a).double(), "as torch.float64"),
            (lambda *a: generation.free_running(*a)[0], "calls rnncourse.generation.free_running"),
        ],
    ),
    "unrolled_loss": (
        unrolled,
        [
            (_loss("teacher_forced"), "teacher forcing at every step"),
            (_loss("clean_start"), "start from the clean positions"),
            (_loss("too_early"), "one step too early"),
            (_loss("noisy_targets"), "targets are the noisy observations"),
            (_loss("sum_k"), "errors were added up"),
            (_loss("sum_d"), "coordinates' squared errors"),
            (_loss("last_only"), "only the last of the k steps"),
            (_loss("one_start"), "only noisy[:, 0] starts a run"),
            (_loss("fewer_starts"), "the last start"),
            (_loss("detach"), "fed-back outputs are cut"),
            (_loss("detach_input"), "fed-back outputs are cut"),
            (_loss("in_place"), "changed its input `noisy` in place"),
            (_loss("unchecked"), "raised ZeroDivisionError"),
            (_loss("type_error"), "raised TypeError"),
            (lambda *a: unrolled(*a).double(), "as torch.float64"),
        ],
    ),
}

RIGHT = {
    "teacher_forced_inputs": [shift_padded, shift_into_new, shift_rolled],
    "output_feedback": [feedback_einsum, feedback_flat],
    "free_running": [free_run_preallocated, free_run_while],
    "unrolled_loss": [unrolled_by_start, unrolled_stacked, unrolled_through_the_course],
}
