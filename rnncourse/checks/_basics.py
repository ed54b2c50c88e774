"""Checkers for notebooks 00-02: one step, a forward pass, output topologies."""

from __future__ import annotations

import torch

from ._framework import call, compare, exercise, generator, randn, torch_module

TRANSPOSED_W = (
    "the recurrent weights are transposed. With batch-first rows, W h is written "
    "h @ W.T (and U x is x @ U.T)."
)


def _rnn_step(h, x, W, U, b):
    """The reference one step: tanh(W h + U x + b), rows batch-first."""
    return torch.tanh(h @ W.T + x @ U.T + b)


@exercise("00", reference=_rnn_step)
def rnn_step(student_fn) -> int:
    """Check ``rnn_step(h, x, W, U, b) -> tanh(W h + U x + b)``.

    Shapes: h (B, H), x (B, I), W (H, H), U (H, I), b (H,); returns the new h (B, H).
    """
    cases = [(2, 3, 4), (1, 5, 2), (3, 4, 4), (4, 2, 3), (2, 6, 1)]
    for seed, (B, H, I) in enumerate(cases):
        g = generator(seed)
        h, x = randn(g, B, H), randn(g, B, I)
        W, U, b = randn(g, H, H, scale=0.7), randn(g, H, I, scale=0.7), randn(g, H)
        a = h @ W.T + x @ U.T + b
        got = call("rnn_step", student_fn, h.clone(), x.clone(), W.clone(), U.clone(), b)
        compare(
            "rnn_step",
            f"case {seed + 1} (B={B}, H={H}, I={I})",
            got,
            torch.tanh(a),
            mistakes={
                TRANSPOSED_W: torch.tanh(h @ W + x @ U.T + b),
                "the tanh is missing: the new state is tanh(W h + U x + b).": a,
                "the bias b is missing.": torch.tanh(a - b),
                "U x is missing: the step must see the input.": torch.tanh(h @ W.T + b),
            },
            hint="compute tanh(h @ W.T + x @ U.T + b).",
        )
    return len(cases)


def _loop(x, W, U, b, act=torch.tanh):
    h = x.new_zeros(x.shape[0], W.shape[0])
    hs = []
    for t in range(x.shape[1]):
        h = act(h @ W.T + x[:, t] @ U.T + b)
        hs.append(h)
    return torch.stack(hs, 1)


@exercise("01", reference=_loop)
def rnn_forward(student_fn) -> int:
    """Check ``rnn_forward(x, W, U, b) -> hs``: h_t = tanh(W h_{t-1} + U x_t + b), h_0 = 0.

    Shapes: x (B, T, I), W (H, H), U (H, I), b (H,); returns all states hs (B, T, H)
    (h_1 ... h_T, not h_0). The same weights are used at every step; any T works.
    """
    cases = [(2, 3, 3, 2), (1, 4, 4, 3), (3, 5, 2, 4)]
    for seed, (B, T, H, I) in enumerate(cases):
        g = generator(10 + seed)
        x = randn(g, B, T, I)
        W, U, b = randn(g, H, H, scale=0.8), randn(g, H, I, scale=0.8), randn(g, H, scale=0.5)
        expected = _loop(x, W, U, b)
        got = call("rnn_forward", student_fn, x.clone(), W.clone(), U.clone(), b.clone())
        no_state = torch.tanh(x @ U.T + b)
        shifted = torch.cat([torch.zeros(B, 1, H, dtype=x.dtype), expected[:, :-1]], 1)
        compare(
            "rnn_forward",
            f"case {seed + 1} (B={B}, T={T}, H={H}, I={I})",
            got,
            expected,
            mistakes={
                TRANSPOSED_W: _loop(x, W.T, U, b),
                "the state is not carried: each step must use the previous h, "
                "h = tanh(h @ W.T + x[:, t] @ U.T + b).": no_state,
                "the states are shifted by one step: store h after updating it, so "
                "hs[:, 0] is h_1, not h_0.": shifted,
            },
            shape_hints={
                (B, H): "only the last state was returned; stack all T states "
                "with torch.stack(hs, dim=1).",
                (B, T + 1, H): "the zero initial state h_0 was included; return h_1 ... h_T.",
                (T, B, H): "the result is time-first; stack along dim=1 for (B, T, H).",
            },
        )
    return len(cases)


@exercise("01")
def running_sum_weights(student_fn) -> int:
    """Check ``running_sum_weights() -> (W, U)``, each a (1, 1) tensor.

    With them the ReLU RNN h_t = relu(W h_{t-1} + U x_t), h_0 = 0, must output the running
    sum h_t = x_1 + ... + x_t of non-negative inputs x of shape (B, T, 1).
    """
    answer = call("running_sum_weights", student_fn)
    if not (isinstance(answer, tuple | list) and len(answer) == 2):
        raise AssertionError(
            f"running_sum_weights: expected a pair (W, U), got {type(answer).__name__}."
        )
    W, U = (torch.as_tensor(v, dtype=torch.float64).reshape(-1) for v in answer)
    if W.numel() != 1 or U.numel() != 1:
        raise AssertionError(
            f"running_sum_weights: W and U must each hold one number (shape (1, 1)), got "
            f"{W.numel()} and {U.numel()} numbers."
        )
    W, U = W.reshape(1, 1), U.reshape(1, 1)
    for seed, T in enumerate([3, 6, 10]):
        x = torch.rand(2, T, 1, generator=generator(20 + seed), dtype=torch.float64)
        got = _loop(x, W, U, torch.zeros(1, dtype=x.dtype), act=torch.relu)
        w, u = W.item(), U.item()
        if w == 0:
            hint = (
                "W = 0 wipes the state at every step, so h_t forgets everything but the "
                "last input; keep the sum with W = 1."
            )
        elif abs(w - 1) > 1e-9:
            hint = f"W = {w:g} multiplies the stored sum at every step; W must be 1 to keep it."
        elif abs(u - 1) > 1e-9:
            hint = f"U = {u:g} scales each input before it is added; the sum needs U = 1."
        else:
            hint = ""
        compare("running_sum_weights", f"T={T}", got, x.cumsum(1), hint=hint)
    return 3


@exercise("02")
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


@exercise("02")
def encoder_decoder_forward(student_fn) -> int:
    """Check ``encoder_decoder_forward(x, W_e, U_e, b_e, W_d, U_d, b_d, steps) -> outputs``.

    The encoder runs h_t = tanh(W_e h_{t-1} + U_e x_t + b_e) from h_0 = 0; its last state
    h_T is the context. The decoder runs s_k = tanh(W_d s_{k-1} + U_d context + b_d) from
    s_0 = 0 for ``steps`` steps, with the context as a constant input at every step.
    Shapes: x (B, T, I), W_e (H, H), U_e (H, I), b_e (H,), W_d (D, D), U_d (D, H),
    b_d (D,); returns the decoder states (B, steps, D).
    """
    cases = [(2, 4, 3, 2, 4, 3), (1, 3, 4, 3, 2, 5), (3, 5, 2, 2, 3, 4)]
    for seed, (B, T, H, I, D, steps) in enumerate(cases):
        g = generator(40 + seed)
        x = randn(g, B, T, I)
        enc = (randn(g, H, H, scale=0.8), randn(g, H, I), randn(g, H, scale=0.5))
        dec = (randn(g, D, D, scale=0.8), randn(g, D, H), randn(g, D, scale=0.5))
        hs = _loop(x, *enc)

        def decode(ctx, W_d, first_only=False, steps=steps, dec=dec):
            inputs = ctx[:, None].repeat(1, steps, 1)
            if first_only:
                inputs[:, 1:] = 0
            return _loop(inputs, W_d, dec[1], dec[2])

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
                "the context is the encoder's FIRST state; use its last state h_T, "
                "which has seen the whole input.": decode(hs[:, 0], dec[0]),
                "the context was fed only at the first decoder step; it is a constant "
                "input at every step.": decode(hs[:, -1], dec[0], first_only=True),
                TRANSPOSED_W: decode(hs[:, -1], dec[0].T),
            },
            shape_hints={(B, steps + 1, D): "the zero initial state s_0 was included."},
        )
    return len(cases)


@exercise("02")
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
