"""Checkers for notebook 06: the gated leaky unit, time constants, the LSTM and the GRU."""

import math

import torch
import torch.nn.functional as F

from .. import cells, dynamics
from .._random import generator
from ..lstm_bptt import lstm_step_forward
from ._contract import call, check_gradients
from ._framework import CheckFailed, StudentCodeError, compare, exercise, randn, torch_module
from ._sequential import case_name

F32, F64 = torch.float32, torch.float64


def _gated_leaky_step(s, x, theta):
    """s, x (B, H); theta (B, H) or (H,) -> sigmoid(theta) * s + x, (B, H)."""
    return cells._gated_leaky_step(x, s, torch.sigmoid(theta))


def _time_constant(gate):
    """gate: values in (0, 1), any shape -> tau = -1 / ln(gate), same shape and dtype."""
    return dynamics.time_constant(gate).to(gate.dtype)


def _lstm_step(x, h, c, U, W, b):
    """x (B, I), h, c (B, H), U (4H, I), W (4H, H), b (4H,) -> (h_new, c_new), each (B, H)."""
    return cells._lstm_step(x, h, c, U, W, b, None)


def _cell_state_gradient(f):
    """f (B, T, H) forget gates -> (B, T, H), entry k = f[:, k+1:].prod(1)."""
    later = torch.cat([f[:, 1:], torch.ones_like(f[:, :1])], dim=1)
    return later.flip(1).cumprod(1).flip(1)


def _gru_step(x, h, U, W, b_x, b_h):
    """x (B, I), h (B, H), U (3H, I), W (3H, H), b_x, b_h (3H,) -> h_new (B, H)."""
    return cells._gru_step(x, h, U, W, b_x, b_h)


def _blocks_message(blocks: int, gates: str) -> str:
    return (
        f"the split gave the wrong number of blocks. The pre-activations have {blocks}H "
        f"columns, one block of H per gate ({gates}); split them along the feature axis "
        f"(dim 1: the rows are the batch) into {blocks} blocks."
    )


def _call_split(name: str, case: str, fn, blocks: int, gates: str, *args, dtype=torch.float32):
    """``call`` that names a split into the wrong number of gate blocks."""
    try:
        return call(name, fn, *args, dtype=dtype)
    except StudentCodeError as err:
        if isinstance(err.__cause__, ValueError) and "values to unpack" in str(err.__cause__):
            raise CheckFailed(
                f"{name}, {case}: {err}. Likely mistake: {_blocks_message(blocks, gates)}"
            ) from err
        raise


def _torch_own(kind: str) -> tuple:
    """``forbidden`` entries for torch's own ``kind`` ("LSTM" or "GRU"): modules, kernels."""
    kernels = (f"{kind.lower()}_cell", kind.lower())
    return (
        *((getattr(torch.nn, m), f"torch.nn.{m}") for m in (f"{kind}Cell", kind)),
        *((getattr(torch, k), f"torch's {kind} kernel torch.{k} (torch._VF.{k})") for k in kernels),
    )


# input scale, weight scale, dtype per case of lstm_step and gru_step: case 4 has notebook
# 09's sizes, case 5 pre-activations up to +-100 (a sigmoid or tanh by hand must not overflow)
CELL_CASES = [(1, 0.8, F32), (1, 0.8, F32), (1, 0.8, F64), (1, 0.1, F32), (40, 0.8, F32)]


def _cell_cases(cls, first_seed: int, sizes):
    """Per case, for ``sizes`` [(B, H, I)]: (k, description, dtype, generator, torch's ``cls``
    cell in float64, x (B, I), h (B, H)), drawn from ``generator(first_seed + k)``."""
    for k, ((B, H, I), (x_scale, w_scale, dtype)) in enumerate(zip(sizes, CELL_CASES, strict=True)):
        g = generator(first_seed + k)
        ref = torch_module(g, cls, I, H, scale=w_scale)
        x, h = randn(g, B, I, scale=x_scale), randn(g, B, H)
        note = ", pre-activations up to +-100" if x_scale > 1 else ""
        yield k, case_name(k + 1, f"B={B}, H={H}, I={I}", dtype, note), dtype, g, ref, x, h


@exercise(
    "06",
    reference=_gated_leaky_step,
    forbidden=(cells._gated_leaky_step, cells.GatedLeakyCell.step),
    gradients=True,
)
def gated_leaky_step(student_fn) -> int:
    """Check ``gated_leaky_step(s, x, theta) -> sigmoid(theta) * s + x`` (B, H): s, x (B, H),
    theta (B, H) or (H,), by position; logits up to +-100. Gradients reach s, x and theta."""
    cases = [  # B, H, theta per example, logits of +-100, dtype
        (3, 4, True, False, F32),
        (5, 3, False, False, F32),
        (1, 6, True, False, F64),
        (4, 1, True, False, F32),
        (6, 5, True, True, F32),
    ]
    for seed, (B, H, batched, extreme, dtype) in enumerate(cases):
        g = generator(150 + seed)
        s, x = randn(g, B, H), randn(g, B, H)
        theta = randn(g, B, H, scale=2) if batched else randn(g, H, scale=2)
        if extreme:  # saturated gates: exp(100) overflows float32
            theta[:, 0], theta[:, 1] = 100.0, -100.0
        a = torch.sigmoid(theta)
        sizes = f"B={B}, H={H}, theta of shape {tuple(theta.shape)}"
        case = case_name(seed + 1, sizes, dtype, ", logits of +-100" if extreme else "")
        got = call("gated_leaky_step", student_fn, s, x, theta, dtype=dtype)
        mistakes = {
            "the sigmoid is missing: the gate is sigmoid(theta), a number in (0, 1).": (
                theta * s + x
            ),
            "the gate multiplies the input; it multiplies the old state s.": s + a * x,
            "(1 - sigmoid(theta)) was used; the state keeps sigmoid(theta) of itself.": (
                (1 - a) * s + x
            ),
            "the gate multiplies s + x; the input x is added ungated.": a * (s + x),
            "the input x is missing: the step adds it to the kept state.": a * s,
        }
        hints = {
            (1, B, H): "the gate got a batch axis of its own. theta may already be "
            "(B, H); broadcasting lines a (H,) theta up with the rows by itself."
        }
        compare("gated_leaky_step", case, got, a * s + x, mistakes=mistakes, shape_hints=hints)
        if seed in (0, 1):
            wrt = ("s", "x", "theta")
            check_gradients("gated_leaky_step", case, student_fn, (s, x, theta), wrt=wrt)
    return len(cases)


@exercise("06", reference=_time_constant, forbidden=(dynamics.time_constant, dynamics.half_life))
def time_constant(student_fn) -> int:
    """Check ``time_constant(gate) -> tau = -1 / log(gate)``, in steps: gate in (0, 1), any
    shape (0-d too), down to 1e-6 and up to 1 - 2**-20; tau has gate's shape and dtype."""
    cases = [
        (torch.tensor([0.5, 0.9, 0.99]), F32),
        (torch.tensor([[0.1, 0.7], [0.95, 0.999]]), F32),
        (torch.rand(4, generator=generator(160), dtype=F64) * 0.9 + 0.05, F32),
        (torch.tensor([1e-6, 0.02, 0.9999, 1 - 2**-20]), F32),
        (torch.sigmoid(torch.tensor(6.0, dtype=F64)), F64),
        (torch.tensor([[0.3, 0.6, 0.8], [0.97, 0.995, 0.9995]]), F64),
    ]
    for k, (gate, dtype) in enumerate(cases):
        gate = gate.to(dtype).double()  # the values the student's function receives
        shown = [round(v, 7) for v in gate.reshape(-1).tolist()]
        case = case_name(k + 1, f"gate = {shown if gate.ndim else shown[0]}", dtype)
        got = call("time_constant", student_fn, gate, dtype=dtype)
        if got is not None and not isinstance(got, torch.Tensor):
            raise CheckFailed(
                f"time_constant, {case}: returned {type(got).__name__}, not a tensor. Likely "
                f"mistake: the computation left torch (math, NumPy, a Python float); keep it "
                f"in torch operations on gate, since later cells use the result as a tensor."
            )
        log = torch.log(gate)
        mistakes = {
            "wrong sign: the log of a gate in (0, 1) is negative, and a time constant is "
            "a positive number of steps.": 1 / log,
            "1 / (1 - gate) only approximates tau for gates close to 1; the exact value "
            "comes from solving gate**k = exp(-k / tau) with the natural log.": 1 / (1 - gate),
            "this is the decay rate -log(gate); the time constant is its inverse.": -log,
            "log10 was used; the time constant needs the natural log, torch.log.": (
                -1 / torch.log10(gate)
            ),
            "the log of 1 - gate was taken; the state keeps the fraction gate of itself "
            "each step, so the decay is set by log(gate) itself.": -1 / torch.log1p(-gate),
            "this is the half-life tau * ln 2 (what a base-2 log gives), the steps until "
            "half is left; the time constant counts the steps until 1/e is left, with the "
            "natural log.": -math.log(2) / log,
        }
        compare("time_constant", case, got, -1 / log, mistakes=mistakes)
    return len(cases)


def _lstm_pair(h, c) -> torch.Tensor:
    return torch.cat([h, c], -1)


@exercise(
    "06",
    reference=_lstm_step,
    forbidden=(*_torch_own("LSTM"), cells._lstm_step, cells._lstm_gates, lstm_step_forward),
    gradients=True,
)
def lstm_step(student_fn) -> int:
    """Check ``lstm_step(x, h, c, U, W, b) -> (h_new, c_new)`` against torch.nn.LSTMCell: x (B, I),
    h, c (B, H), U (4H, I), W (4H, H), b (4H,), rows in torch's gate order i, f, g, o; h_new,
    c_new (B, H). H >= 5, so that a split into 5 pieces shows. Gradients reach every input."""
    sizes = [(3, 5, 2), (1, 6, 3), (4, 7, 5), (5, 128, 32), (2, 5, 3)]  # B, H, I
    for seed, case, dtype, g, ref, x, h in _cell_cases(torch.nn.LSTMCell, 170, sizes):
        B, H = h.shape
        c = randn(g, B, H)
        with torch.no_grad():
            ref.bias_hh.zero_()
            expected = _lstm_pair(*ref(x, (h, c)))
        U, W, b = ref.weight_ih.detach(), ref.weight_hh.detach(), ref.bias_ih.detach()
        args = (x, h, c, U, W, b)
        got = _call_split("lstm_step", case, student_fn, 4, "i, f, g, o", *args, dtype=dtype)
        if not (isinstance(got, tuple | list) and len(got) == 2):
            raise CheckFailed(
                f"lstm_step, {case}: expected a pair (h_new, c_new), got {type(got).__name__}."
            )
        got_shapes = [tuple(torch.as_tensor(v).shape) for v in got]
        if got_shapes != [(B, H), (B, H)]:
            split = got_shapes[0] in ((B, -(-4 * H // 5)), (-(-B // 4), 4 * H))
            raise CheckFailed(
                f"lstm_step, {case}: h_new and c_new must both have shape {(B, H)}, got "
                f"{got_shapes[0]} and {got_shapes[1]}."
                + (f" Likely mistake: {_blocks_message(4, 'i, f, g, o')}" if split else "")
            )
        a_i, a_f, a_g, a_o = (x @ U.T + h @ W.T + b).chunk(4, dim=1)  # torch's order
        i, f, gg, o = torch.sigmoid(a_i), torch.sigmoid(a_f), torch.tanh(a_g), torch.sigmoid(a_o)
        c_new = f * c + i * gg

        def pair(cell, out=o):  # [h_new, c_new] from a new cell state and an output gate
            return _lstm_pair(out * torch.tanh(cell), cell)

        mistakes = {
            "wrong gate order: torch stores the rows as i, f, g, o (input, forget, "
            "candidate, output), not i, f, o, g.": pair(
                f * c + i * torch.tanh(a_o), out=torch.sigmoid(a_g)
            ),
            "wrong gate order: input gate first, then forget gate (i, f, g, o), not "
            "f, i, g, o.": pair(i * c + f * gg),
            "the tanh on the cell state is missing: the output gate scales the squashed "
            "new cell state.": _lstm_pair(o * c_new, c_new),
            "h_new and c_new are swapped; return (h_new, c_new).": _lstm_pair(
                c_new, o * torch.tanh(c_new)
            ),
            "the output reads the old cell state c; it reads the new one, after the "
            "update.": _lstm_pair(o * torch.tanh(c), c_new),
            "the candidate g got a sigmoid; it is the one block squashed by tanh, so "
            "that the cell can also be written down.": pair(f * c + i * torch.sigmoid(a_g)),
            "the forget gate is missing: the old cell state is scaled by f before the "
            "new candidate is added.": pair(c + i * gg),
        }
        got = _lstm_pair(*(torch.as_tensor(v) for v in got))
        label = case + ", [h_new, c_new] side by side"
        compare("lstm_step", label, got, expected, mistakes=mistakes)
        if seed in (0, 2):
            check_gradients("lstm_step", case, student_fn, args, wrt=("x", "h", "c", "U", "W", "b"))
    return len(sizes)


def _autograd_cell_gradient(f: torch.Tensor) -> torch.Tensor:
    """dc_T/dc_t for c_t = f_t * c_{t-1} + u_t, by autograd through the recurrence (B, T, H)."""
    B, T, H = f.shape
    c, cs = torch.zeros(B, H, dtype=f.dtype, requires_grad=True), []
    for t in range(T):
        c = f[:, t] * c  # + u_t, which does not change the gradient
        c.retain_grad()
        cs.append(c)
    c.sum().backward()
    return torch.stack([ct.grad for ct in cs], 1)


@exercise("06", reference=_cell_state_gradient)
def cell_state_gradient(student_fn) -> int:
    """Check ``cell_state_gradient(f) -> grads`` for c_t = f_t * c_{t-1} + i_t * g_t: f (B, T, H)
    forget gates; entry t of grads (B, T, H) is dc_T/dc_t = f_{t+1} * ... * f_T (the last 1).
    Up to T = 1024, also where a running product of small gates underflows."""
    cases = [  # B, T, H, lowest gate, dtype
        (3, 4, 2, 0.0, F32),
        (1, 6, 2, 0.0, F32),
        (4, 3, 5, 0.0, F64),
        (2, 1, 3, 0.0, F32),
        (3, 1024, 2, 0.99, F32),
        (2, 300, 3, 0.0, F32),
    ]
    for seed, (B, T, H, low, dtype) in enumerate(cases):
        g = generator(180 + seed)
        f = (low + (1 - low) * torch.rand(B, T, H, generator=g, dtype=F64)).to(dtype).double()
        expected = _autograd_cell_gradient(f)
        got = call("cell_state_gradient", student_fn, f, dtype=dtype)
        ones = f.new_ones(B, 1, H)
        earlier = torch.cat([ones, f[:, :-1]], 1)  # f_0 = 1, f_1 ... f_(T-1)
        units = torch.cat([f[:, :, 1:], f.new_ones(B, T, 1)], 2)  # shifted along the units
        mistakes = {
            "one factor too many: dc_T/dc_t starts at f_{t+1}; the entry for T is 1.": (
                f.flip(1).cumprod(1).flip(1)
            ),
            "the product runs the wrong way: f_1 * ... * f_t belongs to the past, "
            "dc_T/dc_t multiplies the LATER gates f_{t+1} ... f_T.": f.cumprod(1),
            "the product runs over the earlier gates f_1 ... f_(t-1); dc_T/dc_t "
            "multiplies the LATER gates f_{t+1} ... f_T.": earlier.cumprod(1),
            "the gates were added; the gradient is their product.": torch.cat(
                [f.flip(1).cumsum(1).flip(1)[:, 1:], ones], 1
            ),
            "the product runs along the wrong axis: time is dim 1 of (B, T, H).": (
                units.flip(2).cumprod(2).flip(2)
            ),
        }
        case = case_name(seed + 1, f"B={B}, T={T}, H={H}, gates in [{low:g}, 1)", dtype)
        hints = {(B, T - 1, H): "the last entry (dc_T/dc_T = 1) is missing."}
        compare("cell_state_gradient", case, got, expected, mistakes=mistakes, shape_hints=hints)
    return len(cases)


@exercise(
    "06", reference=_gru_step, forbidden=(*_torch_own("GRU"), cells._gru_step), gradients=True
)
def gru_step(student_fn) -> int:
    """Check ``gru_step(x, h, U, W, b_x, b_h) -> h_new`` (B, H) against torch.nn.GRUCell: x (B, I),
    h (B, H), U (3H, I), W (3H, H), b_x, b_h (3H,), rows in torch's gate order r, z, n:
    n = tanh(U_n x + b_xn + r * (W_n h + b_hn)), h_new = (1 - z) * n + z * h. H is no
    multiple of B or I, so a wrong split shows. Gradients reach every input and weight."""
    sizes = [(3, 4, 5), (5, 3, 2), (1, 6, 4), (7, 128, 32), (2, 5, 3)]  # B, H, I
    for seed, case, dtype, _, ref, x, h in _cell_cases(torch.nn.GRUCell, 190, sizes):
        B, H = h.shape
        with torch.no_grad():
            expected = ref(x, h)
        U, W = ref.weight_ih.detach(), ref.weight_hh.detach()
        b_x, b_h = ref.bias_ih.detach(), ref.bias_hh.detach()
        args = (x, h, U, W, b_x, b_h)
        got = _call_split("gru_step", case, student_fn, 3, "r, z, n", *args, dtype=dtype)
        if isinstance(got, tuple | list):
            raise CheckFailed(
                f"gru_step, {case}: got a {type(got).__name__}; the GRU's state is h alone, "
                "so return h_new, one tensor (B, H)."
            )
        # the two sides' blocks in torch's order, and the right gates, for the typical mistakes
        x_r, x_z, x_n = F.linear(x, U, b_x).chunk(3, dim=1)
        h_r, h_z, h_n = F.linear(h, W, b_h).chunk(3, dim=1)
        r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
        n, b_hn = torch.tanh(x_n + r * h_n), b_h[2 * H :]

        def update(candidate, keep=z, old=h):  # the new state: a share keep of the old one
            return (1 - keep) * candidate + keep * old

        mistakes = {
            "z and 1 - z are swapped: the update gate z is the share of the old state that is kept "
            "(z near 1 copies h), 1 - z the share of the candidate.": z * n + (1 - z) * h,
            "wrong gate order: torch stores the rows as r, z, n (reset, update, "
            "candidate), not z, r, n.": update(torch.tanh(x_n + z * h_n), keep=r),
            "the reset gate must scale the whole state side of the candidate, its bias "
            "b_hn included, not W_n h alone.": update(torch.tanh(x_n + r * (h_n - b_hn) + b_hn)),
            "the reset gate was applied to h before W_n (Cho et al.'s form); torch "
            "applies it to the state side after the product, bias included.": update(
                torch.tanh(x_n + F.linear(r * h, W[2 * H :], b_hn))
            ),
            "the reset gate is missing: it scales the state side of the candidate.": (
                update(torch.tanh(x_n + h_n))
            ),
            "the candidate got a sigmoid; it is squashed by tanh, like a plain RNN's state.": (
                update(torch.sigmoid(x_n + r * h_n))
            ),
            "the bias b_h is missing: torch adds both biases, b_x on the input side and "
            "b_h on the state side.": _gru_step(x, h, U, W, b_x, torch.zeros_like(b_h)),
        }
        hints = {(-(-B // 3), 3 * H): _blocks_message(3, "r, z, n")}
        compare("gru_step", case, got, expected, mistakes=mistakes, shape_hints=hints)
        if seed in (0, 2):
            wrt = ("x", "h", "U", "W", "b_x", "b_h")
            check_gradients("gru_step", case, student_fn, args, wrt=wrt)
    return len(sizes)
