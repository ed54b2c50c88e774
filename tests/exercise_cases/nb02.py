"""Right and wrong answers for notebook 02's new exercise: a stacked RNN, step by step."""

from __future__ import annotations

import torch


def stacked(x, layers, mode="right"):
    hs = [x.new_zeros(x.shape[0], W.shape[0]) for W, _, _ in layers]
    if mode == "shared":
        layers = [layers[0]] * len(layers)
    outputs = []
    for t in range(x.shape[1]):
        below = x[:, t]
        for k, (W, U, b) in enumerate(layers):
            hs[k] = torch.tanh(hs[k] @ W.T + below @ U.T + b)
            below = x[:, t] if mode == "x_everywhere" else hs[k]
        outputs.append(hs[0] if mode == "first_layer" else hs[-1])
    h_n = torch.stack(hs)
    if mode == "top_only":
        h_n = hs[-1]
    return torch.stack(outputs, dim=1), h_n


CASES = {
    "stacked_forward": (
        stacked,
        [
            (lambda *a: stacked(*a, mode="x_everywhere"), "every layer was fed x"),
            (lambda *a: stacked(*a, mode="first_layer"), "first layer's states"),
            (lambda *a: stacked(*a, mode="shared"), "weights of layer 1"),
            (lambda *a: stacked(*a, mode="top_only"), "only the top layer's last state"),
        ],
    ),
}
