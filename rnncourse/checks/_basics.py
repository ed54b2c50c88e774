"""Checkers for notebooks 00 and 01: one step, a forward pass, a state-space model as an RNN,
a running sum; the gradients of ``rnn_step`` and ``rnn_forward`` are compared too."""

import numpy as np
import torch

from .. import bptt, cells, sequences
from .._random import generator
from ..tasks.signals import discretize
from ._contract import call, check_gradients
from ._framework import CheckFailed, StudentCodeError, compare, exercise, randn

TRANSPOSED_W = (
    "the recurrent weights are transposed. With batch-first rows, W h is written "
    "h @ W.T (and U x is x @ U.T)."
)
COLUMN_FORM = (
    "a product in column form (W @ h, U @ x) or without its transpose. Rows are examples: "
    "h is (B, H), so W h for every row is h @ W.T, and U x is x @ U.T."
)
OTHER_DTYPE = (
    "a tensor made inside the function has another dtype than the inputs (factory "
    "functions default to float32, NumPy to float64); make it with the inputs' dtype."
)
DTYPE = {torch.float32: "", torch.float64: ", float64"}  # how a case names its dtype
TORCH_RNN = (
    (torch.nn.RNNCell, "torch.nn.RNNCell, torch's own RNN step"),
    (torch.rnn_tanh_cell, "torch.rnn_tanh_cell, the kernel of torch's RNN step"),
    (torch.nn.RNN, "torch.nn.RNN, torch's own recurrent layer"),
    (torch.rnn_tanh, "torch.rnn_tanh, the kernel of torch's recurrent layer"),
)
COURSE_STEP = (
    (cells._rnn_step, "the course's RNN step (rnncourse.cells)"),
    (cells.RNNCell.step, "the course's RNNCell"),
)
COURSE_LOOP = (
    (sequences.run, "sequences.run, the course's loop over time"),
    (bptt.rnn_forward, "bptt.rnn_forward, the course's NumPy forward pass"),
)


def call_hinted(name: str, known: dict[str, str], fn, *args, keep_error=False, **kwargs):
    """:func:`call`; an error whose text holds a key of ``known`` gets that likely mistake, as
    a :class:`CheckFailed` (with ``keep_error``, the :class:`StudentCodeError` it is)."""
    try:
        return call(name, fn, *args, **kwargs)
    except StudentCodeError as err:
        why = next((hint for words, hint in known.items() if words in str(err)), None)
        if why is None:
            raise
        if not keep_error:
            raise CheckFailed(f"{err}\n  Likely mistake: {why}") from None
        raised, _, detail = str(err).partition(": ")
        message = f"{raised}:\n  {detail}\n  Likely mistake: {why}"
        raise StudentCodeError(message) from err.__cause__


def raised(name: str, fn, *args, **kwargs) -> BaseException | None:
    """The error that ``fn`` raised under :func:`call`, or None when it returned."""
    try:
        call(name, fn, *args, **kwargs)
    except StudentCodeError as err:
        return err.__cause__
    return None


STEP_HINT = (
    "the new state is tanh of W h + U x + b for every row of the batch. Compare each product "
    "with the row form of notebook 00's section 2 (which weights need a transpose?), and add "
    "the bias before squashing."
)


def _rnn_step(h, x, W, U, b):
    """The reference step, the course's RNN step maths: tanh(W h + U x + b), rows batch-first."""
    return cells._rnn_step(x, h, U, W, None, b)


@exercise("00", reference=_rnn_step, gradients=True, forbidden=(*TORCH_RNN[:2], *COURSE_STEP))
def rnn_step(student_fn) -> int:
    """Check ``rnn_step(h, x, W, U, b) -> tanh(W h + U x + b)``: h (B, H), x (B, I), W (H, H),
    U (H, I), b (H,); returns the new h (B, H) in the inputs' dtype."""
    name, f32, f64 = "rnn_step", torch.float32, torch.float64
    # the case (3, 3, 3) has B = H = I, where a product in column form runs, with wrong values
    cases = [(2, 3, 4, f32), (1, 5, 2, f32), (3, 4, 4, f32), (4, 2, 3, f32), (2, 6, 1, f32),
             (3, 3, 3, f32), (5, 2, 3, f64)]  # fmt: skip
    for seed, (B, H, I, dtype) in enumerate(cases):
        g = generator(seed)
        h, x = randn(g, B, H), randn(g, B, I)
        W, U, b = randn(g, H, H, scale=0.7), randn(g, H, I, scale=0.7), randn(g, H)
        a = h @ W.T + x @ U.T + b
        case = f"case {seed + 1} (B={B}, H={H}, I={I}{DTYPE[dtype]})"
        args = (h.clone(), x.clone(), W.clone(), U.clone(), b)
        known = {"cannot be multiplied": COLUMN_FORM, "dtype": OTHER_DTYPE}
        got = call_hinted(name, known, student_fn, *args, keep_error=True, dtype=dtype)
        mistakes = {
            TRANSPOSED_W: torch.tanh(h @ W + x @ U.T + b),
            "the tanh is missing: the new state is tanh(W h + U x + b).": a,
            "the bias b is missing.": torch.tanh(a - b),
            "the bias b is added twice.": torch.tanh(a + b),
            "the bias is added after the tanh; it belongs inside, with W h and U x.": (
                torch.tanh(a - b) + b
            ),
            "U x is missing: the step must see the input.": torch.tanh(h @ W.T + b),
            "W h is missing: the step must see the previous state.": torch.tanh(x @ U.T + b),
            "the nonlinearity is the logistic sigmoid; tanh squashes the "
            "plain RNN's state.": torch.sigmoid(a),
            "the nonlinearity is a ReLU; tanh squashes the plain RNN's state.": torch.relu(a),
        }
        if H == I:  # a transposed U runs
            mistakes |= {
                "the input weights are transposed: U maps the I inputs to the H units, so for "
                "batch-first rows U x is x times U transposed.": torch.tanh(h @ W.T + x @ U + b),
                "both weight matrices, W and U, are transposed.": torch.tanh(h @ W + x @ U + b),
            }
        if B == H == I:
            mistakes[COLUMN_FORM] = torch.tanh(W @ h + U @ x + b)
        compare(name, case, got, torch.tanh(a), mistakes=mistakes, hint=STEP_HINT)
    g = generator(0)
    args = (randn(g, 2, 3), randn(g, 2, 4), randn(g, 3, 3), randn(g, 3, 4), randn(g, 3))
    case = "gradients, B=2, H=3, I=4"
    check_gradients(name, case, student_fn, args, wrt=("h", "x", "W", "U", "b"))
    return len(cases)


def _loop(x, W, U, b, act=torch.tanh, h0=None):
    """States h(1..T) (B, T, H) of h(t) = act(W h(t-1) + U x(t) + b) from h0 (zeros if None)."""
    h = x.new_zeros(x.shape[0], W.shape[0]) if h0 is None else h0
    hs = []
    for t in range(x.shape[1]):
        h = act(h @ W.T + x[:, t] @ U.T + b)
        hs.append(h)
    return torch.stack(hs, 1)


FORWARD_ERRORS = {
    "cannot be multiplied": "a state or an input of the wrong width: the state h has H columns "
    "(the size of W), the inputs at one step I columns.",
    "dtype": OTHER_DTYPE,
    "recursion": "a recursive call per time step: Python allows about 1000 nested calls, and "
    "sequences are longer; loop over the steps instead.",
}


def _rnn_forward(x, W, U, b, h0=None):
    """The reference forward pass: the reference step at every time step, from h0 or zeros."""
    h = x.new_zeros(x.shape[0], W.shape[0]) if h0 is None else h0
    hs = []
    for x_t in x.unbind(1):
        h = _rnn_step(h, x_t, W, U, b)
        hs.append(h)
    return torch.stack(hs, 1)


@exercise("01", reference=_rnn_forward, gradients=True, forbidden=(*TORCH_RNN, *COURSE_LOOP))
def rnn_forward(student_fn) -> int:
    """Check ``rnn_forward(x, W, U, b, h0=None) -> hs``: h(t) = tanh(W h(t-1) + U x(t) + b).

    x (B, T, I), W (H, H), U (H, I), b (H,), h0 (B, H) or None for h(0) = 0; returns the
    states h(1) ... h(T) (not h(0)) stacked, hs (B, T, H), in the inputs' dtype.
    """
    name = "rnn_forward"
    cases = [  # B, T, H, I, h0 given, dtype
        (3, 3, 2, 4, False, torch.float32),  # B = T: inputs read time-first give numbers
        (1, 4, 4, 3, False, torch.float32),
        (2, 5, 3, 2, True, torch.float32),
        (4, 1, 3, 2, True, torch.float32),
        (2, 6, 5, 5, True, torch.float64),
        (1, 1024, 4, 2, True, torch.float64),
    ]
    for seed, (B, T, H, I, with_h0, dtype) in enumerate(cases):
        g = generator(10 + seed)
        x = randn(g, B, T, I)
        W = randn(g, H, H, scale=0.8)
        if T > 100:  # a spectral norm of 0.9: rounding differences fade instead of growing
            W = 0.9 * W / torch.linalg.matrix_norm(W, 2)
        U, b = randn(g, H, I, scale=0.8), randn(g, H, scale=0.5)
        h0 = randn(g, B, H, scale=0.8) if with_h0 else None
        expected = _rnn_forward(x, W, U, b, h0=h0)
        args = (x.clone(), W.clone(), U.clone(), b.clone()) + ((h0.clone(),) if with_h0 else ())
        given = "h0 given" if with_h0 else "h0=None"
        case = f"case {seed + 1} (B={B}, T={T}, H={H}, I={I}, {given}{DTYPE[dtype]})"
        got = call_hinted(name, FORWARD_ERRORS, student_fn, *args, keep_error=True, dtype=dtype)
        first = x.new_zeros(B, H) if h0 is None else h0
        mistakes = {
            TRANSPOSED_W: _loop(x, W.T, U, b, h0=h0),
            "the state is not carried: each step must start from the state that the step "
            "before it produced (h0, or zeros, before the first).": torch.tanh(x @ U.T + b),
            "the states are shifted by one step: store h after updating it, so "
            "hs[:, 0] is h(1), not h(0).": torch.cat([first[:, None], expected[:, :-1]], 1),
        }
        if with_h0:
            mistakes[
                "h0 was ignored: when it is given, the first step starts from it, not from zeros."
            ] = _loop(x, W, U, b)
        time_first = "the result is time-first; stack the states along dim 1, for (B, T, H)."
        if B == T:
            mistakes |= {
                "the inputs were read time-first: x is batch-first (B, T, I), so the inputs of "
                "step t are the column t of the time axis, for every example.": (
                    _loop(x.transpose(0, 1), W, U, b, h0=h0)
                ),
                time_first: expected.transpose(0, 1),
            }
        hints = {
            (B, H): "only the last state was returned; return every state h(1) ... h(T), "
            "stacked along the time axis.",
            (B, T + 1, H): "the initial state h(0) was included; return h(1) ... h(T).",
            (T, B, H): time_first,
        }
        hint = (
            "each state is one step of rnn_step from the state before it, with the same "
            "W, U and b at every step."
        )
        compare(name, case, got, expected, mistakes=mistakes, shape_hints=hints, hint=hint)
    g = generator(19)
    args = (randn(g, 3, 4, 2), randn(g, 3, 3), randn(g, 3, 2), randn(g, 3), randn(g, 3, 3))
    case = "gradients, B=3, T=4, h0 given"
    check_gradients(name, case, student_fn, args, wrt=("x", "W", "U", "b", "h0"))
    return len(cases)


ZOH_ERRORS = {
    "singular": "A^-1 (A_d - I) B needs an invertible A, and the double integrator's A is "
    "singular. The exponential of the augmented matrix [[A, B], [0, 0]] dt gives B_d for any A.",
    "dtype": OTHER_DTYPE,
}


def _state_space_to_rnn(A, B, dt):
    """The reference: zero-order hold, W = A_d, U = B_d, b = 0 (a linear RNN without bias)."""
    A_d, B_d = discretize(A, B, dt, method="zoh")
    return A_d, B_d, A_d.new_zeros(A_d.shape[0])


def _exact_zoh(A, B, dt):
    """Zero-order hold by closed forms: exp(A dt), and A^-1 (exp(A dt) - I) B, or for a
    nilpotent A (A^2 = 0, the double integrator) (I dt + A dt^2 / 2) B."""
    A_d = torch.linalg.matrix_exp(A * dt)
    eye = torch.eye(A.shape[0], dtype=A.dtype)
    if torch.allclose(A @ A, torch.zeros_like(A)):
        return A_d, (eye * dt + A * dt**2 / 2) @ B
    return A_d, torch.linalg.solve(A, (A_d - eye) @ B)


def _taylor_zoh(A, B, dt, terms: int):
    """A_d, B_d from the first ``terms`` terms of the series of the augmented exponential."""
    n, m = B.shape
    M = torch.zeros(n + m, n + m, dtype=A.dtype)
    M[:n, :n], M[:n, n:] = A * dt, B * dt
    term, E = torch.eye(n + m, dtype=A.dtype), torch.eye(n + m, dtype=A.dtype)
    for k in range(1, terms):
        term = term @ M / k
        E = E + term
    return E[:n, :n], E[:n, n:]


def _stable_system(g, n, m):
    """A random continuous-time system (A (n, n) with eigenvalues in the left half-plane)."""
    M = randn(g, n, n)
    shift = 0.5 + torch.linalg.matrix_norm(0.3 * M, 2)
    A = (M - M.T) + 0.3 * M - shift * torch.eye(n, dtype=M.dtype)
    return A.float().double(), randn(g, n, m)


def _truncated_series(size: float) -> str:
    return (
        "a truncated series of the exponential. Its error grows with the size of A dt "
        f"(here the largest |eigenvalue of A| times dt is {size:.2g}), so it is close only "
        "for small steps; zero-order hold is exact at any step, which needs the exponential "
        "itself (torch.linalg.matrix_exp may be used)."
    )


@exercise("01", reference=_state_space_to_rnn, forbidden=((discretize, "tasks.discretize"),))
def state_space_to_rnn(student_fn) -> int:
    """Check ``state_space_to_rnn(A, B, dt) -> (W, U, b)``, zero-order hold.

    x' = A x + B u, with u held over each step of ``dt``, becomes the linear RNN
    h(t) = W h(t-1) + U x(t) + b with W = exp(A dt), U = int_0^dt exp(A s) ds B, b = 0.
    Shapes: A (n, n), B (n, m), dt a float; returns W (n, n), U (n, m), b (n,) of A's dtype.
    """
    name, g = "state_space_to_rnn", generator(60)
    integrator = torch.tensor([[0.0, 1.0], [0.0, 0.0]], dtype=torch.float64)
    systems = [  # A, B, dt, what, dtype
        (*_stable_system(g, 2, 1), 0.05, "a damped 2-state system", torch.float32),
        (*_stable_system(g, 3, 2), 0.2, "a 3-state system with 2 inputs", torch.float32),
        (integrator, integrator[:, 1:], 0.5, "the double integrator", torch.float32),
        (*_stable_system(g, 2, 3), 3.0, "a 2-state system with 3 inputs", torch.float64),
    ]
    for A, B, dt, label, dtype in systems:
        n, m = B.shape
        case = f"{label} (A {n}x{n}, B {n}x{m}, dt={dt:g}{DTYPE[dtype]})"
        args = (A.clone(), B.clone(), dt)
        answer = call_hinted(name, ZOH_ERRORS, student_fn, *args, keep_error=True, dtype=dtype)
        if not (isinstance(answer, tuple | list) and len(answer) == 3):
            raise AssertionError(
                f"{name}, {case}: expected a triple (W, U, b), "
                f"got {type(answer).__name__}"
                + (f" of length {len(answer)}." if isinstance(answer, tuple | list) else ".")
            )
        W, U, b = answer
        A_d, B_d = _exact_zoh(A, B, dt)
        eye = torch.eye(n, dtype=A.dtype)
        no_dt = _exact_zoh(A, B, 1.0)
        size = torch.linalg.eigvals(A).abs().max().item() * dt
        series = [_taylor_zoh(A, B, dt, terms) for terms in range(3, 13)]
        mistakes = {
            "this is Euler's W = I + A dt, a first-order approximation; zero-order "
            "hold is exact: W = exp(A dt).": eye + A * dt,
            "W is transposed: the state is a column, x(t) = A_d x(t-1), and the RNN "
            "writes it the same way, W h.": A_d.T,
            "dt is missing: the exponent is A dt, not A.": no_dt[0],
            "W = A: the continuous A is a rate of change per second, not the map from "
            "one step to the next.": A,
        }
        mistakes = [*mistakes.items(), *((_truncated_series(size), W_k) for W_k, _ in series)]
        hint = "W is the matrix exponential of A dt (torch.linalg.matrix_exp)."
        compare(name, case, W, A_d, what="W", mistakes=mistakes, hint=hint)
        mistakes = {
            "U = B dt is Euler's input matrix. Under zero-order hold the input acts during "
            "the whole step while the state moves; take U from the exponential of the "
            "augmented matrix [[A, B], [0, 0]] dt.": B * dt,
            "U = exp(A dt) B dt weighs the whole step by the state's map at its end; the "
            "input acts during the whole step: integrate exp(A s) B over it.": A_d @ B * dt,
            "dt is missing: the augmented matrix is [[A, B], [0, 0]] times dt.": no_dt[1],
            "U = B: the continuous B is per second; over one step it becomes B_d.": B,
            "a pseudo-inverse of a singular A: A^-1 (A_d - I) B holds only for an invertible "
            "A. The exponential of [[A, B], [0, 0]] dt gives B_d for any A.": (
                torch.linalg.pinv(A) @ (A_d - eye) @ B
            ),
        }
        mistakes = [*mistakes.items(), *((_truncated_series(size), U_k) for _, U_k in series)]
        hints = {(m, n): "U is transposed: it maps the m inputs to the n states, (n, m)."}
        compare(name, case, U, B_d, what="U", mistakes=mistakes, shape_hints=hints)
        hint = "the linear system has no constant drive, so b is zeros of shape (n,)."
        compare(name, case, b, torch.zeros(n, dtype=A.dtype), what="b", hint=hint)
    return len(systems)


SUM_STEPS = 100_000  # the long running sum: exact in float32 and float64


def _running_sum_weights():
    """The reference adder: W = U = 1, each (1, 1)."""
    return torch.ones(1, 1), torch.ones(1, 1)


@exercise("01", reference=_running_sum_weights)
def running_sum_weights(student_fn) -> int:
    """Check ``running_sum_weights() -> (W, U)``, each (1, 1), with which the ReLU RNN
    h(t) = relu(W h(t-1) + U x(t)), h(0) = 0, outputs the running sum x(1) + ... + x(t) of
    inputs x (B, T, 1) >= 0: within rounding for T = 1 to 10, exactly for 100,000 ones."""
    answer = call("running_sum_weights", student_fn)
    if not (isinstance(answer, tuple | list) and len(answer) == 2):
        raise AssertionError(
            f"running_sum_weights: expected a pair (W, U), got {type(answer).__name__}."
        )
    W, U = (torch.as_tensor(v, dtype=torch.float64).detach().reshape(-1) for v in answer)
    if W.numel() != 1 or U.numel() != 1:
        raise AssertionError(
            f"running_sum_weights: W and U must each hold one number (shape (1, 1)), got "
            f"{W.numel()} and {U.numel()} numbers."
        )
    W, U = W.reshape(1, 1), U.reshape(1, 1)
    w, u = W.item(), U.item()
    # as written: 0.99999, not the 0.9999899864 that float32 stores for it
    w_, u_ = (str(np.float32(v)) if float(np.float32(v)) == v else repr(v) for v in (w, u))
    keep = "; the stored sum must pass from step to step unchanged."
    change = "fades" if abs(w) < 1 else "grows"
    if w == 0:
        hint = "W = 0 wipes the state at every step: h(t) forgets all but the last input" + keep
    elif w != 1:
        hint = f"W = {w_} multiplies the stored sum at every step, so it {change}" + keep
    elif u != 1:
        hint = f"U = {u_} scales each input before it is added; the sum adds each input as it is."
    else:
        hint = ""
    for seed, T in enumerate([1, 3, 6, 10]):
        x = torch.rand(3, T, 1, generator=generator(20 + seed), dtype=torch.float64)
        got = _loop(x, W, U, torch.zeros(1, dtype=x.dtype), act=torch.relu)
        compare("running_sum_weights", f"T={T}", got, x.cumsum(1), hint=hint)
    total = 0.0  # the ReLU RNN over 100,000 inputs of 1, in Python floats (float64)
    for _ in range(SUM_STEPS):
        total = max(0.0, w * total + u)
    if total != SUM_STEPS:
        why = (
            f"W = {w_}: a recurrent weight a little {'below' if w < 1 else 'above'} 1 "
            f"{'forgets' if w < 1 else 'inflates'} a share of the sum at every step"
            if w != 1
            else f"U = {u_}: each input is scaled a little before it is added"
        )
        raise AssertionError(
            f"running_sum_weights, {SUM_STEPS:,} inputs of 1: the state ends at {total:,.10g}, "
            f"not {SUM_STEPS:,}. Likely mistake: {why}, which adds up over a long sequence. "
            "The sum is exact at any length only when the stored sum passes from step to step "
            "unchanged and each input is added as it is."
        )
    return 5
