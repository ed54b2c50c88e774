"""Checkers for notebook 02's stacked and bidirectional layers, against ``torch.nn.RNN``
(``num_layers=L``, ``bidirectional=True``) with the same weights; gradients are compared too."""

import torch

from rnncourse import stacked

from .._random import generator
from ._basics import TRANSPOSED_W, _loop, _rnn_forward
from ._contract import call, check_gradients
from ._framework import CheckFailed, compare, randn, torch_module
from ._topologies import _tensor_result, layer_exercise


def _stacked_forward(x, layers):
    """The reference stack: top-layer states (B, T, H) and every layer's last state (L, B, H)."""
    finals = []
    for W, U, b in layers:
        x = _rnn_forward(x, W, U, b)
        finals.append(x[:, -1])
    return x, torch.stack(finals)


def _torch_layers(rnn, L):
    """[(W, U, b)] per layer of a ``torch.nn.RNN``: weight_hh, weight_ih, bias_ih + bias_hh."""
    p = {name: t.detach() for name, t in rnn.named_parameters()}
    return [
        (p[f"weight_hh_l{k}"], p[f"weight_ih_l{k}"], p[f"bias_ih_l{k}"] + p[f"bias_hh_l{k}"])
        for k in range(L)
    ]


@layer_exercise(_stacked_forward, stacked.Stacked, stacked.TorchEquivalent)
def stacked_forward(student_fn) -> int:
    """Check ``stacked_forward(x, layers) -> (hs, h_n)``, tanh RNN layers each from zeros.

    ``layers``: L triples ``(W, U, b)``, W (H, H), b (H,), U (H, I) in layer 1, which reads
    x (B, T, I), and (H, H) above, where each reads the states of the layer below. Returns
    hs (B, T, H), the top layer's states, and h_n (L, B, H), each layer's last state (also
    for L = 1): the ``(output, h_n)`` of ``torch.nn.RNN(I, H, num_layers=L,
    batch_first=True)`` with those weights (b = bias_ih + bias_hh).
    """
    name = "stacked_forward"
    # (B, T, I, H, L): one layer, one step, I != H and I == H; case 4 in float64
    cases = [(2, 4, 3, 3, 2), (1, 5, 4, 4, 3), (3, 3, 2, 5, 1), (4, 1, 3, 2, 2), (3, 6, 2, 3, 4)]
    for seed, (B, T, I, H, L) in enumerate(cases):
        g = generator(70 + seed)
        dtype = torch.float64 if seed == 3 else torch.float32
        x = randn(g, B, T, I)
        rnn = torch_module(g, torch.nn.RNN, I, H, num_layers=L, batch_first=True)
        with torch.no_grad():
            out, h_n = rnn(x)
        layers = _torch_layers(rnn, L)
        copies = [tuple(p.clone() for p in layer) for layer in layers]
        answer = call(name, student_fn, x.clone(), copies, dtype=dtype)
        case = f"case {seed + 1} (B={B}, T={T}, I={I}, H={H}, L={L})"
        if not (isinstance(answer, tuple | list) and len(answer) == 2):
            raise CheckFailed(
                f"{name}, {case}: expected a pair (hs, h_n), got "
                f"{type(answer).__name__}. Return the top layer's states and the stacked "
                "last states of all layers."
            )
        _tensor_result(name, case, answer)
        hs, finals = answer
        per_layer, below, no_carry = [], x, x
        for W, U, b in layers:
            below = _loop(below, W, U, b)
            per_layer.append(below)
            no_carry = torch.tanh(no_carry @ U.T + b)
        mistakes = {
            "the first layer's states were returned; hs is the TOP layer's, after all L "
            "layers.": per_layer[0],
            TRANSPOSED_W: _stacked_forward(x, [(W.T, U, b) for W, U, b in layers])[0],
            "the states are not carried from step to step: each layer starts every step "
            "from its own previous state, h_l(t-1).": no_carry,
        }
        if I == H:  # these wrong answers only run when the input is as wide as a state
            fed_x = "every layer was fed x; layer l > 1 reads the states of layer l - 1."
            mistakes[fed_x] = _loop(x, *layers[-1])
            mistakes[
                "the weights of layer 1 were used in every layer; each layer has its own (W, U, b)."
            ] = _stacked_forward(x, [layers[0]] * L)[0]
        compare(name, case, hs, out, what="hs", mistakes=mistakes)
        firsts = torch.stack([states[:, 0] for states in per_layer])
        mistakes = {
            "h_n holds each layer's FIRST state; it is the state after the last step.": firsts
        }
        hints = {
            (B, H): (
                "h_n lost its layer dimension: with one layer it is still (L, B, H) = "
                "(1, B, H), as torch.nn.RNN returns it."
                if L == 1
                else "only the top layer's last state was returned; h_n stacks the last "
                "state of every layer, (L, B, H)."
            ),
            (B, L, H): "h_n is layer-first, (L, B, H), as torch.nn.RNN returns it.",
        }
        compare(name, case, finals, h_n, what="h_n", mistakes=mistakes, shape_hints=hints)
        if seed in (0, 1):
            wrt = ("x",) + tuple(f"layers[{k}][{j}]" for k in range(L) for j in range(3))
            check_gradients(name, f"case {seed + 1}", student_fn, (x, copies), wrt=wrt)
    return len(cases)


def _bidirectional_concat(h_fwd, h_bwd):
    """The reference join: (B, T, 2H), the backward states put back in forward time order."""
    return torch.cat([h_fwd, h_bwd.flip(1)], dim=-1)


@layer_exercise(_bidirectional_concat, stacked.Bidirectional)
def bidirectional_concat(student_fn) -> int:
    """Check ``bidirectional_concat(h_fwd, h_bwd) -> out`` (B, T, 2H): at each t the forward
    state, then the backward state of the same t, as ``torch.nn.RNN(bidirectional=True)``.
    h_fwd (B, T, H): states of an RNN run over x; h_bwd (B, T, H): states of a second RNN
    run over x.flip(1), in the order it produced them."""
    cases = [(2, 4, 3, 2), (1, 5, 2, 3), (3, 3, 4, 1), (4, 1, 3, 2), (5, 6, 2, 2)]
    for seed, (B, T, H, I) in enumerate(cases):
        g = generator(50 + seed)
        x = randn(g, B, T, I)
        bi = torch_module(g, torch.nn.RNN, I, H, batch_first=True, bidirectional=True)
        one = torch_module(g, torch.nn.RNN, I, H, batch_first=True)
        states = []  # each direction of bi run alone: forwards, then over x.flip(1)
        with torch.no_grad():
            for suffix, inputs in (("", x), ("_reverse", x.flip(1))):
                for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(one, f"{kind}_l0").copy_(getattr(bi, f"{kind}_l0{suffix}"))
                states.append(one(inputs)[0])
            expected = bi(x)[0]
        h_fwd, h_bwd = states
        case = f"case {seed + 1} (B={B}, T={T}, H={H})"
        args = (h_fwd.clone(), h_bwd.clone())
        dtype = torch.float64 if seed == 4 else torch.float32
        got = call("bidirectional_concat", student_fn, *args, dtype=dtype)
        _tensor_result("bidirectional_concat", case, got)
        mistakes = {
            "h_bwd was not reversed in time: its first entry belongs to the LAST "
            "time step; put it back in forward order.": torch.cat([h_fwd, h_bwd], -1),
            "the halves are in the wrong order: forward first, then backward.": (
                torch.cat([h_bwd.flip(1), h_fwd], -1)
            ),
            "h_fwd was reversed instead of h_bwd.": torch.cat([h_fwd.flip(1), h_bwd], -1),
            "both halves were reversed; only h_bwd runs backwards in time.": (
                torch.cat([h_fwd.flip(1), h_bwd.flip(1)], -1)
            ),
        }
        hints = {
            (B, 2 * T, H): "the states were joined along time (dim=1); concatenate "
            "the features, the last dimension.",
            (2, B, T, H): "the states were stacked; concatenate them along the last dimension.",
        }
        compare("bidirectional_concat", case, got, expected, mistakes=mistakes, shape_hints=hints)
        if seed == 0:
            wrt = ("h_fwd", "h_bwd")
            check_gradients("bidirectional_concat", "case 1", student_fn, args, wrt=wrt)
    return len(cases)
