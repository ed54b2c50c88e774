"""Right and wrong answers for notebook 04's output-feedback network."""

from __future__ import annotations

import torch


def output_feedback(net, x, y_prev=None, y0=None, mode="right"):
    """h(t) = tanh(U x(t) + R y(t-1) + b), o(t) = V h(t) + b_o; ``mode`` names a mistake."""
    act = (lambda a: a) if mode == "no_tanh" else torch.tanh
    if y_prev is not None and mode != "tf_free":
        if mode == "tf_shifted":
            y_prev = torch.cat([torch.zeros_like(y_prev[:, :1]), y_prev[:, :-1]], 1)
        return act(x @ net.U.T + y_prev @ net.R.T + net.b) @ net.V.T + net.b_o
    first = x.new_zeros(x.shape[0], net.V.shape[0]) if y0 is None else y0
    y, outputs = first, []
    for t in range(x.shape[1]):
        fed = first if mode == "no_feedback" else y
        y = act(x[:, t] @ net.U.T + fed @ net.R.T + net.b) @ net.V.T + net.b_o
        outputs.append(y)
    if mode == "time_first":
        return torch.stack(outputs)
    return torch.stack(outputs, dim=1)


def _wrong(mode):
    return lambda *a, **k: output_feedback(*a, **k, mode=mode)


# The CASES table has the layout every module of this package shares (see __init__).
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
    return torch.cat([col, targets[:, :-1]], 1)


def free_run(step_fn, first, steps, mode="right"):
    x, h, ys = first, None, []
    for _ in range(steps):
        y, h2 = step_fn(first if mode == "nofeed" else x, h)
        h = None if mode == "reset" else h2
        ys.append(y)
        x = y
    if mode == "time_first":
        return torch.stack(ys)
    return torch.stack(ys, 1)


def _fresh_step(x, h=None):  # a tiny deterministic model for free_running
    return torch.tanh(x + (0 if h is None else h)), torch.tanh(x)


CASES = {
    "output_feedback": (
        output_feedback,
        [
            (_wrong("no_tanh"), "tanh is missing"),
            (_wrong("tf_free"), "TRUE previous output"),
            (_wrong("tf_shifted"), "shifted again"),
            (_wrong("no_feedback"), "not fed back"),
            (_wrong("time_first"), "time-first"),
        ],
    ),
    "teacher_forced_inputs": (
        teacher_forced,
        [
            (lambda t, s: teacher_forced(t, s, "wrong_way"), "shifted the wrong way"),
            (lambda t, s: teacher_forced(t, s, "none"), "not shifted"),
            (lambda t, s: teacher_forced(t, s, "no_start"), "start token is missing"),
        ],
    ),
    "free_running": (
        free_run,
        [
            (lambda *a: free_run(*a, mode="nofeed"), "not fed back"),
            (lambda *a: free_run(*a, mode="reset"), "state is not carried"),
            (lambda *a: free_run(*a, mode="time_first"), "time-first"),
        ],
    ),
}
