"""Checkers for notebook 06: the gated leaky unit, time constants and the LSTM."""

from __future__ import annotations

import torch

from ._framework import call, compare, exercise, generator, randn, torch_module


@exercise("06")
def gated_leaky_step(student_fn) -> int:
    """Check ``gated_leaky_step(s, x, theta) -> sigmoid(theta) * s + x``.

    Shapes: s (B, H) state, x (B, H) input, theta (B, H) or (H,) gate logit (the lecture's
    c); returns the new state (B, H). The arguments are passed by position.
    """
    cases = [(2, 3, True), (3, 4, False), (1, 5, True)]
    for seed, (B, H, batched) in enumerate(cases):
        g = generator(150 + seed)
        s, x = randn(g, B, H), randn(g, B, H)
        theta = randn(g, B, H, scale=2) if batched else randn(g, H, scale=2)
        a = torch.sigmoid(theta)
        got = call("gated_leaky_step", student_fn, s.clone(), x.clone(), theta.clone())
        compare(
            "gated_leaky_step",
            f"case {seed + 1} (B={B}, H={H}, theta of shape {tuple(theta.shape)})",
            got,
            a * s + x,
            mistakes={
                "the sigmoid is missing: the gate is sigmoid(theta), a number in (0, 1).": (
                    theta * s + x
                ),
                "the gate multiplies the input; it multiplies the old state s.": s + a * x,
                "(1 - sigmoid(theta)) was used; the state keeps sigmoid(theta) of itself.": (
                    (1 - a) * s + x
                ),
                "the gate multiplies s + x; the input x is added ungated.": a * (s + x),
            },
        )
    return len(cases)


@exercise("06")
def time_constant(student_fn) -> int:
    """Check ``time_constant(gate) -> tau``.

    gate: a tensor of any shape with values in (0, 1), the factor sigmoid(theta) that the
    state keeps each step. A memory decays as gate**t = exp(-t / tau), so
    tau = -1 / log(gate), in steps (positive). Returns a tensor of gate's shape.
    """
    cases = [torch.tensor([0.5, 0.9, 0.99]), torch.tensor([[0.1, 0.7], [0.95, 0.999]])]
    cases.append(torch.rand(4, generator=generator(160), dtype=torch.float64) * 0.9 + 0.05)
    for k, gate in enumerate(cases):
        gate = gate.double()
        got = call("time_constant", student_fn, gate.clone())
        compare(
            "time_constant",
            f"case {k + 1} (gate = {[round(v, 3) for v in gate.reshape(-1).tolist()]})",
            got,
            -1 / torch.log(gate),
            mistakes={
                "wrong sign: log(gate) < 0, so tau = -1 / log(gate) is positive.": (
                    1 / torch.log(gate)
                ),
                "1 / (1 - gate) only approximates tau for gates close to 1; use the exact "
                "-1 / log(gate).": 1 / (1 - gate),
                "this is the decay rate -log(gate); the time constant is its inverse.": (
                    -torch.log(gate)
                ),
                "log10 was used; the time constant needs the natural log, torch.log.": (
                    -1 / torch.log10(gate)
                ),
            },
        )
    return len(cases)


def _lstm(x, h, c, U, W, b, order="ifgo", cell_tanh=True, swap=False):
    chunks = dict(zip(order, (x @ U.T + h @ W.T + b).chunk(4, -1), strict=True))
    i, f, o = (torch.sigmoid(chunks[k]) for k in "ifo")
    c_new = f * c + i * torch.tanh(chunks["g"])
    h_new = o * (torch.tanh(c_new) if cell_tanh else c_new)
    return torch.cat([c_new, h_new] if swap else [h_new, c_new], -1)


@exercise("06")
def lstm_step(student_fn) -> int:
    """Check ``lstm_step(x, h, c, U, W, b) -> (h_new, c_new)`` against torch.nn.LSTMCell.

    Shapes: x (B, I), h (B, H), c (B, H), U (4H, I), W (4H, H), b (4H,), with the rows
    of U, W, b in torch's gate order i, f, g, o:
    i, f, o = sigmoid(.), g = tanh(.); c_new = f * c + i * g; h_new = o * tanh(c_new).
    """
    cases = [(2, 3, 2), (1, 4, 3), (3, 2, 5)]
    for seed, (B, H, I) in enumerate(cases):
        g = generator(170 + seed)
        ref = torch_module(g, torch.nn.LSTMCell, I, H, scale=0.8)
        with torch.no_grad():
            ref.bias_hh.zero_()
        U, W, b = ref.weight_ih.detach(), ref.weight_hh.detach(), ref.bias_ih.detach()
        x, h, c = randn(g, B, I), randn(g, B, H), randn(g, B, H)
        with torch.no_grad():
            expected = torch.cat(ref(x, (h, c)), -1)
        got = call("lstm_step", student_fn, x.clone(), h.clone(), c.clone(), U, W, b)
        if not (isinstance(got, tuple | list) and len(got) == 2):
            raise AssertionError(
                f"lstm_step: expected a pair (h_new, c_new), got {type(got).__name__}."
            )
        got_shapes = [tuple(torch.as_tensor(v).shape) for v in got]
        if got_shapes != [(B, H), (B, H)]:
            raise AssertionError(
                f"lstm_step, case {seed + 1}: h_new and c_new must both have shape "
                f"{(B, H)}, got {got_shapes[0]} and {got_shapes[1]}."
            )
        args = (x, h, c, U, W, b)
        compare(
            "lstm_step",
            f"case {seed + 1} (B={B}, H={H}, I={I}; [h_new, c_new] side by side)",
            torch.cat([torch.as_tensor(v) for v in got], -1),
            expected,
            mistakes={
                "wrong gate order: torch stores the rows as i, f, g, o (input, forget, "
                "candidate, output), not i, f, o, g.": _lstm(*args, order="ifog"),
                "wrong gate order: input gate first, then forget gate (i, f, g, o), not "
                "f, i, g, o.": _lstm(*args, order="figo"),
                "the tanh on the cell state is missing: h_new = o * tanh(c_new).": _lstm(
                    *args, cell_tanh=False
                ),
                "h_new and c_new are swapped; return (h_new, c_new).": _lstm(*args, swap=True),
            },
        )
    return len(cases)


@exercise("06")
def cell_state_gradient(student_fn) -> int:
    """Check ``cell_state_gradient(f) -> grads`` for c_t = f_t * c_{t-1} + i_t * g_t.

    f: (B, T, H) forget-gate values f_1 ... f_T. Returns (B, T, H) whose entry t is
    dc_T/dc_t along the cell path (gates held fixed) = f_{t+1} * ... * f_T, so the last
    entry is 1. Compared with torch autograd.
    """
    cases = [(2, 4, 3), (1, 6, 2), (3, 3, 4)]
    for seed, (B, T, H) in enumerate(cases):
        g = generator(180 + seed)
        f = torch.rand(B, T, H, generator=g, dtype=torch.float64)
        ig = randn(g, B, T, H).requires_grad_()
        c, cs = torch.zeros(B, H, dtype=torch.float64), []
        for t in range(T):
            c = f[:, t] * c + ig[:, t]
            c.retain_grad()
            cs.append(c)
        c.sum().backward()
        expected = torch.stack([ct.grad for ct in cs], 1)
        flipped = f.flip(1).cumprod(1).flip(1)  # f_t * ... * f_T
        got = call("cell_state_gradient", student_fn, f.clone())
        compare(
            "cell_state_gradient",
            f"case {seed + 1} (B={B}, T={T}, H={H})",
            got,
            expected,
            mistakes={
                "one factor too many: dc_T/dc_t starts at f_{t+1}; the entry for T is 1.": (
                    flipped
                ),
                "the product runs the wrong way: f_1 * ... * f_t belongs to the past, "
                "dc_T/dc_t multiplies the LATER gates f_{t+1} ... f_T.": f.cumprod(1),
                "the gates were added; the gradient is their product.": torch.cat(
                    [f.flip(1).cumsum(1).flip(1)[:, 1:], f.new_ones(B, 1, H)], 1
                ),
            },
            shape_hints={(B, T - 1, H): "the last entry (dc_T/dc_T = 1) is missing."},
        )
    return len(cases)
