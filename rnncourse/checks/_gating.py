"""Checkers for notebook 06: the gated leaky unit, time constants, the LSTM and the GRU.

Each exercise registers the course's answer (the ``_reference`` functions below), which
later cells run through ``checks.use`` until the student's own answer passes.
"""

from __future__ import annotations

import torch

from .._random import generator
from ._contract import call
from ._framework import StudentCodeError, compare, exercise, randn, torch_module


def _gated_leaky_step(s, x, theta):
    """s, x (B, H); theta (B, H) or (H,) -> sigmoid(theta) * s + x, (B, H)."""
    return torch.sigmoid(theta) * s + x


def _time_constant(gate):
    """gate: values in (0, 1), any shape -> tau = -1 / ln(gate), same shape."""
    return -1.0 / torch.log(gate)


def _lstm_step(x, h, c, U, W, b):
    """x (B, I), h, c (B, H), U (4H, I), W (4H, H), b (4H,) -> (h_new, c_new), each (B, H)."""
    a_i, a_f, a_g, a_o = (x @ U.T + h @ W.T + b).chunk(4, dim=1)
    c_new = torch.sigmoid(a_f) * c + torch.sigmoid(a_i) * torch.tanh(a_g)
    return torch.sigmoid(a_o) * torch.tanh(c_new), c_new


def _cell_state_gradient(f):
    """f (B, T, H) forget gates -> (B, T, H), entry k = f[:, k+1:].prod(1)."""
    later = torch.cat([f[:, 1:], torch.ones_like(f[:, :1])], dim=1)
    return later.flip(1).cumprod(1).flip(1)


def _gru_step(x, h, U, W, b_x, b_h):
    """x (B, I), h (B, H), U (3H, I), W (3H, H), b_x, b_h (3H,) -> h_new (B, H)."""
    x_r, x_z, x_n = (x @ U.T + b_x).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ W.T + b_h).chunk(3, dim=1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    return (1 - z) * torch.tanh(x_n + r * h_n) + z * h


def _call_split(name: str, case: str, fn, blocks: int, *args):
    """``call`` that names a split into the wrong number of gate blocks."""
    try:
        return call(name, fn, *args)
    except StudentCodeError as err:
        if isinstance(err.__cause__, ValueError) and "values to unpack" in str(err.__cause__):
            raise AssertionError(
                f"{name}, {case}: {err}. Likely mistake: the split gave the wrong number of "
                f"blocks (check the count, and dim=1: the rows are the batch). The "
                f"pre-activations have {blocks}H columns: .chunk({blocks}, dim=1) gives the "
                f"{blocks} gate blocks of H columns each."
            ) from err
        raise


@exercise("06", reference=_gated_leaky_step)
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


@exercise("06", reference=_time_constant)
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


CHUNK = (
    "the 4H columns were cut into 5 pieces (chunk(5)); chunk(4, dim=1) gives the four "
    "blocks i, f, g, o of H columns each."
)


def _lstm(x, h, c, U, W, b, order="ifgo", cell_tanh=True, swap=False):
    chunks = dict(zip(order, (x @ U.T + h @ W.T + b).chunk(4, -1), strict=True))
    i, f, o = (torch.sigmoid(chunks[k]) for k in "ifo")
    c_new = f * c + i * torch.tanh(chunks["g"])
    h_new = o * (torch.tanh(c_new) if cell_tanh else c_new)
    return torch.cat([c_new, h_new] if swap else [h_new, c_new], -1)


@exercise("06", reference=_lstm_step)
def lstm_step(student_fn) -> int:
    """Check ``lstm_step(x, h, c, U, W, b) -> (h_new, c_new)`` against torch.nn.LSTMCell.

    Shapes: x (B, I), h (B, H), c (B, H), U (4H, I), W (4H, H), b (4H,), with the rows
    of U, W, b in torch's gate order i, f, g, o:
    i, f, o = sigmoid(.), g = tanh(.); c_new = f * c + i * g; h_new = o * tanh(c_new).
    Every case has H >= 5, where a split of the 4H columns into 5 pieces (``chunk(5)``)
    no longer returns four blocks of H (for H <= 4 it does, by chance).
    """
    cases = [(2, 5, 2), (1, 6, 3), (3, 7, 5)]
    for seed, (B, H, I) in enumerate(cases):
        g = generator(170 + seed)
        ref = torch_module(g, torch.nn.LSTMCell, I, H, scale=0.8)
        with torch.no_grad():
            ref.bias_hh.zero_()
        U, W, b = ref.weight_ih.detach(), ref.weight_hh.detach(), ref.bias_ih.detach()
        x, h, c = randn(g, B, I), randn(g, B, H), randn(g, B, H)
        with torch.no_grad():
            expected = torch.cat(ref(x, (h, c)), -1)
        case = f"case {seed + 1} (B={B}, H={H}, I={I}"
        got = _call_split(
            "lstm_step", case + ")", student_fn, 4, x.clone(), h.clone(), c.clone(), U, W, b
        )
        if not (isinstance(got, tuple | list) and len(got) == 2):
            raise AssertionError(
                f"lstm_step: expected a pair (h_new, c_new), got {type(got).__name__}."
            )
        got_shapes = [tuple(torch.as_tensor(v).shape) for v in got]
        if got_shapes != [(B, H), (B, H)]:
            raise AssertionError(
                f"lstm_step, case {seed + 1}: h_new and c_new must both have shape "
                f"{(B, H)}, got {got_shapes[0]} and {got_shapes[1]}."
                + (f" Likely mistake: {CHUNK}" if got_shapes[0][-1:] == (-(-4 * H // 5),) else "")
            )
        args = (x, h, c, U, W, b)
        compare(
            "lstm_step",
            case + "; [h_new, c_new] side by side)",
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


@exercise("06", reference=_cell_state_gradient)
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


def _gru(x, h, U, W, b_x, b_h, order="rzn", reset="inside", swap_z=False):
    """GRU step variants for the checker's typical mistakes (torch's is the default)."""
    ux = dict(zip(order, (x @ U.T + b_x).chunk(3, -1), strict=True))
    wh = dict(zip(order, (h @ W.T + b_h).chunk(3, -1), strict=True))
    r = torch.sigmoid(ux["r"] + wh["r"])
    z = torch.sigmoid(ux["z"] + wh["z"])
    H = h.shape[1]
    if reset == "inside":  # torch: r * (W_n h + b_hn)
        n = torch.tanh(ux["n"] + r * wh["n"])
    elif reset == "no_bias":  # r * (W_n h) + b_hn
        n = torch.tanh(ux["n"] + r * (wh["n"] - b_h[2 * H :]) + b_h[2 * H :])
    else:  # W_n (r * h) + b_hn, as in Cho et al.
        n = torch.tanh(ux["n"] + (r * h) @ W[2 * H :].T + b_h[2 * H :])
    if swap_z:
        return z * n + (1 - z) * h
    return (1 - z) * n + z * h


@exercise("06", reference=_gru_step)
def gru_step(student_fn) -> int:
    """Check ``gru_step(x, h, U, W, b_x, b_h) -> h_new`` against torch.nn.GRUCell.

    Shapes: x (B, I), h (B, H), U (3H, I), W (3H, H), b_x (3H,), b_h (3H,): torch's
    weight_ih, weight_hh, bias_ih, bias_hh, rows in the gate order r, z, n.
    r = sigmoid(U_r x + b_xr + W_r h + b_hr), z likewise, n = tanh(U_n x + b_xn +
    r * (W_n h + b_hn)), h_new = (1 - z) * n + z * h, (B, H). The hidden sizes differ from
    the batch and input sizes, and are not multiples of each other's blocks, so a split
    along the wrong axis or into the wrong number of blocks shows.
    """
    cases = [(2, 3, 4), (3, 5, 2), (1, 4, 3)]
    for seed, (B, H, I) in enumerate(cases):
        g = generator(190 + seed)
        ref = torch_module(g, torch.nn.GRUCell, I, H, scale=0.8)
        U, W = ref.weight_ih.detach(), ref.weight_hh.detach()
        b_x, b_h = ref.bias_ih.detach(), ref.bias_hh.detach()
        x, h = randn(g, B, I), randn(g, B, H)
        with torch.no_grad():
            expected = ref(x, h)
        case = f"case {seed + 1} (B={B}, H={H}, I={I})"
        got = _call_split("gru_step", case, student_fn, 3, x.clone(), h.clone(), U, W, b_x, b_h)
        if isinstance(got, tuple | list):
            raise AssertionError(
                f"gru_step, {case}: got a {type(got).__name__}; the GRU's state is h alone, "
                "so return h_new, one tensor (B, H)."
            )
        args = (x, h, U, W, b_x, b_h)
        compare(
            "gru_step",
            case,
            got,
            expected,
            mistakes={
                "z and 1 - z are swapped: h_new = (1 - z) * n + z * h, so z near 1 keeps "
                "the old state.": _gru(*args, swap_z=True),
                "wrong gate order: torch stores the rows as r, z, n (reset, update, "
                "candidate), not z, r, n.": _gru(*args, order="zrn"),
                "the reset gate must multiply (W_n h + b_hn) as a whole, bias included: "
                "n = tanh(U_n x + b_xn + r * (W_n h + b_hn)).": _gru(*args, reset="no_bias"),
                "the reset gate was applied to h before W_n (Cho et al.'s form); torch "
                "applies it after: r * (W_n h + b_hn).": _gru(*args, reset="before"),
            },
        )
    return len(cases)
