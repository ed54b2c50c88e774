"""Checkers for notebook 02: a summary head, an encoder-decoder, bidirectional and stacked RNNs.

Each exercise has a reference answer (for :func:`rnncourse.checks.use`), and each case is
checked against torch itself (``torch.nn.RNN``) or the plain loop of notebook 01.
"""

from __future__ import annotations

import torch

from .._random import generator
from ._basics import TRANSPOSED_W, _loop
from ._contract import call
from ._framework import compare, exercise, randn, torch_module


def _many_to_one_head(hs, lengths, V, b_o):
    """The reference head: V h_last + b_o (B, K), h_last = hs[b, lengths[b] - 1]."""
    return hs[torch.arange(hs.shape[0]), lengths - 1] @ V.T + b_o


def _encoder_decoder_forward(x, W_e, U_e, b_e, W_d, U_d, b_d, steps):
    """The reference encoder-decoder: decoder states (B, steps, D), C = h(T) fed every step."""
    context = _loop(x, W_e, U_e, b_e)[:, -1]
    return _loop(context[:, None].expand(-1, steps, -1), W_d, U_d, b_d)


def _bidirectional_concat(h_fwd, h_bwd):
    """The reference join: (B, T, 2H), the backward states put back in forward time order."""
    return torch.cat([h_fwd, h_bwd.flip(1)], dim=-1)


@exercise("02", reference=_many_to_one_head)
def many_to_one_head(student_fn) -> int:
    """Check ``many_to_one_head(hs, lengths, V, b_o) -> logits``.

    Shapes: hs (B, T, H) states, zero past each sequence's end; lengths (B,) int64, the
    number of valid steps; V (K, H), b_o (K,). Returns logits (B, K) = V h_last + b_o, with
    h_last = hs[b, lengths[b] - 1], the last valid state of each sequence.
    """
    cases = [(3, 5, 4, 2), (4, 6, 3, 3), (2, 4, 5, 1)]
    for seed, (B, T, H, K) in enumerate(cases):
        g = generator(30 + seed)
        lengths = torch.randint(1, T, (B,), generator=g)
        lengths[0] = T
        hs = randn(g, B, T, H)
        hs[torch.arange(T)[None, :] >= lengths[:, None]] = 0.0
        V, b_o = randn(g, K, H), randn(g, K)
        rows = torch.arange(B)
        last = hs[rows, lengths - 1]
        got = call("many_to_one_head", student_fn, hs.clone(), lengths.clone(), V.clone(), b_o)
        compare(
            "many_to_one_head",
            f"case {seed + 1} (B={B}, T={T}, lengths={lengths.tolist()})",
            got,
            last @ V.T + b_o,
            mistakes={
                "the last time step hs[:, -1] was used, but shorter sequences are zero "
                "there; take hs[b, lengths[b] - 1].": hs[:, -1] @ V.T + b_o,
                "off by one: the last valid state is at index lengths - 1, not lengths.": (
                    hs[rows, lengths.clamp(max=T - 1)] @ V.T + b_o
                ),
                "the states were averaged over time; a many-to-one head reads the last "
                "valid state.": hs.mean(1) @ V.T + b_o,
                "the bias b_o is missing.": last @ V.T,
            },
        )
    return len(cases)


@exercise("02", reference=_encoder_decoder_forward)
def encoder_decoder_forward(student_fn) -> int:
    """Check ``encoder_decoder_forward(x, W_e, U_e, b_e, W_d, U_d, b_d, steps) -> outputs``.

    The encoder runs h(t) = tanh(W_e h(t-1) + U_e x(t) + b_e) from h(0) = 0; its last state
    h(T) is the context C. The decoder runs s(k) = tanh(W_d s(k-1) + U_d C + b_d) from
    s(0) = 0 for ``steps`` steps, with C as a constant input at every step.
    Shapes: x (B, T, I), W_e (H, H), U_e (H, I), b_e (H,), W_d (D, D), U_d (D, H),
    b_d (D,); returns the decoder states (B, steps, D).
    """
    cases = [(2, 4, 3, 2, 3, 3), (1, 3, 4, 3, 2, 5), (3, 5, 2, 2, 3, 4)]  # case 1: D = H
    for seed, (B, T, H, I, D, steps) in enumerate(cases):
        g = generator(40 + seed)
        x = randn(g, B, T, I)
        enc = (randn(g, H, H, scale=0.8), randn(g, H, I), randn(g, H, scale=0.5))
        dec = (randn(g, D, D, scale=0.8), randn(g, D, H), randn(g, D, scale=0.5))
        hs = _loop(x, *enc)

        def decode(ctx, W_d, first_only=False, steps=steps, dec=dec, s0=None):
            inputs = ctx[:, None].repeat(1, steps, 1)
            if first_only:
                inputs[:, 1:] = 0
            return _loop(inputs, W_d, dec[1], dec[2], h0=s0)

        starts_from_context = {}
        if D == H:  # only then can s(0) = C run at all
            starts_from_context[
                'the decoder started from the context, s(0) = C (the "both" row); in the '
                '"input" row it starts from s(0) = 0 and gets C only as an input.'
            ] = decode(hs[:, -1], dec[0], s0=hs[:, -1])
        got = call(
            "encoder_decoder_forward",
            student_fn,
            x.clone(),
            *(p.clone() for p in enc),
            *(p.clone() for p in dec),
            steps,
        )
        compare(
            "encoder_decoder_forward",
            f"case {seed + 1} (B={B}, T={T}, steps={steps})",
            got,
            decode(hs[:, -1], dec[0]),
            mistakes={
                "the context is the encoder's FIRST state; use its last state h(T), "
                "which has seen the whole input.": decode(hs[:, 0], dec[0]),
                "the context was fed only at the first decoder step; it is a constant "
                "input at every step.": decode(hs[:, -1], dec[0], first_only=True),
                TRANSPOSED_W: decode(hs[:, -1], dec[0].T),
            }
            | starts_from_context,
            shape_hints={(B, steps + 1, D): "the zero initial state s(0) was included."},
        )
    return len(cases)


@exercise("02", reference=_bidirectional_concat)
def bidirectional_concat(student_fn) -> int:
    """Check ``bidirectional_concat(h_fwd, h_bwd) -> out``.

    h_fwd (B, T, H): states of an RNN run forwards over x. h_bwd (B, T, H): states of a
    second RNN run over the time-reversed input x.flip(1), in the order it produced them.
    Returns (B, T, 2H): at each time t the forward state then the backward state that
    belongs to the same t, exactly like ``torch.nn.RNN(bidirectional=True)``.
    """
    cases = [(2, 4, 3, 2), (1, 5, 2, 3), (3, 3, 4, 1)]
    for seed, (B, T, H, I) in enumerate(cases):
        g = generator(50 + seed)
        x = randn(g, B, T, I)
        bi = torch_module(g, torch.nn.RNN, I, H, batch_first=True, bidirectional=True)
        one = torch_module(g, torch.nn.RNN, I, H, batch_first=True)
        with torch.no_grad():
            expected = bi(x)[0]
            for suffix, inputs in (("", x), ("_reverse", x.flip(1))):
                for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(one, f"{kind}_l0").copy_(getattr(bi, f"{kind}_l0{suffix}"))
                if suffix:
                    h_bwd = one(inputs)[0]
                else:
                    h_fwd = one(inputs)[0]
        got = call("bidirectional_concat", student_fn, h_fwd.clone(), h_bwd.clone())
        compare(
            "bidirectional_concat",
            f"case {seed + 1} (B={B}, T={T}, H={H})",
            got,
            expected,
            mistakes={
                "h_bwd was not reversed in time: its first entry belongs to the LAST "
                "time step; use h_bwd.flip(1).": torch.cat([h_fwd, h_bwd], -1),
                "the halves are in the wrong order: forward first, then backward.": (
                    torch.cat([h_bwd.flip(1), h_fwd], -1)
                ),
                "h_fwd was reversed instead of h_bwd.": torch.cat([h_fwd.flip(1), h_bwd], -1),
            },
            shape_hints={
                (B, 2 * T, H): "the states were joined along time (dim=1); concatenate "
                "the features, dim=-1.",
                (2, B, T, H): "the states were stacked; concatenate them along dim=-1.",
            },
        )
    return len(cases)


def _stacked_forward(x, layers):
    """The reference stack: top-layer states (B, T, H) and every layer's last state (L, B, H)."""
    finals = []
    for W, U, b in layers:
        x = _loop(x, W, U, b)
        finals.append(x[:, -1])
    return x, torch.stack(finals)


def _torch_layers(rnn, L):
    """[(W, U, b)] per layer of a ``torch.nn.RNN``: weight_hh, weight_ih, bias_ih + bias_hh."""
    return [
        (
            getattr(rnn, f"weight_hh_l{k}").detach(),
            getattr(rnn, f"weight_ih_l{k}").detach(),
            (getattr(rnn, f"bias_ih_l{k}") + getattr(rnn, f"bias_hh_l{k}")).detach(),
        )
        for k in range(L)
    ]


@exercise("02", reference=_stacked_forward)
def stacked_forward(student_fn) -> int:
    """Check ``stacked_forward(x, layers) -> (hs, h_n)``, a stack of tanh RNN layers.

    ``layers`` is a list of L triples ``(W, U, b)``: layer 1 reads x (B, T, I), so its U is
    (H, I); every later layer reads the states of the layer below, so its U is (H, H); W is
    (H, H) and b (H,) everywhere. Every layer starts from zeros. Returns hs (B, T, H), the
    top layer's states at every step, and h_n (L, B, H), each layer's last state: exactly
    the ``(output, h_n)`` of ``torch.nn.RNN(I, H, num_layers=L, batch_first=True)`` with
    those weights (b = bias_ih + bias_hh), which is what the cases are checked against.
    """
    cases = [(2, 4, 3, 3, 2), (1, 5, 4, 4, 3), (3, 3, 2, 5, 2)]
    for seed, (B, T, I, H, L) in enumerate(cases):
        g = generator(70 + seed)
        x = randn(g, B, T, I)
        rnn = torch_module(g, torch.nn.RNN, I, H, num_layers=L, batch_first=True)
        with torch.no_grad():
            out, h_n = rnn(x)
        layers = _torch_layers(rnn, L)
        copies = [tuple(p.clone() for p in layer) for layer in layers]
        answer = call("stacked_forward", student_fn, x.clone(), copies)
        case = f"case {seed + 1} (B={B}, T={T}, I={I}, H={H}, L={L})"
        if not (isinstance(answer, tuple | list) and len(answer) == 2):
            raise AssertionError(
                f"stacked_forward, {case}: expected a pair (hs, h_n), got "
                f"{type(answer).__name__}. Return the top layer's states and the stacked "
                "last states of all layers."
            )
        hs, finals = answer
        per_layer, below = [], x
        for layer in layers:
            below = _loop(below, *layer)
            per_layer.append(below)
        mistakes = {
            "the first layer's states were returned; hs is the TOP layer's, after all L "
            "layers.": per_layer[0],
            TRANSPOSED_W: _stacked_forward(x, [(W.T, U, b) for W, U, b in layers])[0],
        }
        if I == H:  # these wrong answers only run when the input is as wide as a state
            mistakes["every layer was fed x; layer l > 1 reads the states of layer l - 1."] = _loop(
                x, *layers[-1]
            )
            mistakes[
                "the weights of layer 1 were used in every layer; each layer has its own (W, U, b)."
            ] = _stacked_forward(x, [layers[0]] * L)[0]
        compare("stacked_forward", case, hs, out, what="hs", mistakes=mistakes)
        compare(
            "stacked_forward",
            case,
            finals,
            h_n,
            what="h_n",
            mistakes={
                "h_n holds each layer's FIRST state; it is the state after the last step.": (
                    torch.stack([states[:, 0] for states in per_layer])
                ),
            },
            shape_hints={
                (B, H): "only the top layer's last state was returned; h_n stacks the last "
                "state of every layer: (L, B, H).",
                (B, L, H): "h_n is layer-first, (L, B, H), as torch.nn.RNN returns it.",
            },
        )
    return len(cases)
