"""Right and wrong answers for notebook 02's new exercise: a stacked RNN, step by step."""

from __future__ import annotations

import torch

from .nb01 import rnn_forward


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


def many_to_one(hs, lengths, V, c, mode="right"):
    rows = torch.arange(hs.shape[0])
    if mode == "last":
        h = hs[:, -1]
    elif mode == "mean":
        h = hs.mean(1)
    else:
        h = hs[rows, lengths - 1]
    return h @ V.T + (0 if mode == "nobias" else c)


def enc_dec(x, W_e, U_e, b_e, W_d, U_d, b_d, steps, mode="right"):
    hs = rnn_forward(x, W_e, U_e, b_e)
    ctx = hs[:, 0] if mode == "first" else hs[:, -1]
    s, out = (ctx if mode == "start" else x.new_zeros(x.shape[0], W_d.shape[0])), []
    for k in range(steps):
        inp = ctx if (k == 0 or mode != "once") else torch.zeros_like(ctx)
        s = torch.tanh(s @ (W_d if mode == "transpose" else W_d.T) + inp @ U_d.T + b_d)
        out.append(s)
    return torch.stack(out, 1)


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
    "many_to_one_head": (
        many_to_one,
        [
            (lambda *a: many_to_one(*a, mode="last"), "hs[:, -1]"),
            (lambda *a: many_to_one(*a, mode="mean"), "averaged"),
            (lambda *a: many_to_one(*a, mode="nobias"), "bias b_o is missing"),
        ],
    ),
    "encoder_decoder_forward": (
        enc_dec,
        [
            (lambda *a: enc_dec(*a, mode="first"), "FIRST state"),
            (lambda *a: enc_dec(*a, mode="once"), "only at the first decoder step"),
            (lambda *a: enc_dec(*a, mode="transpose"), "transposed"),
            (lambda *a: enc_dec(*a, mode="start"), "started from the context"),
        ],
    ),
    "bidirectional_concat": (
        lambda f, b: torch.cat([f, b.flip(1)], -1),
        [
            (lambda f, b: torch.cat([f, b], -1), "not reversed"),
            (lambda f, b: torch.cat([b.flip(1), f], -1), "wrong order"),
            (lambda f, b: torch.cat([f, b.flip(1)], 1), "along time"),
        ],
    ),
}
