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
}
