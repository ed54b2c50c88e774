"""Checkers for notebooks 00 and 01: one step, a forward pass, a state-space model as an RNN."""

from __future__ import annotations

import torch

from .._random import generator
from ..tasks.signals import discretize
from ._contract import call
from ._framework import StudentCodeError, compare, exercise, randn

TRANSPOSED_W = (
    "the recurrent weights are transposed. With batch-first rows, W h is written "
    "h @ W.T (and U x is x @ U.T)."
)
COLUMN_FORM = (
    "a product in column form (W @ h, U @ x) or without its transpose. Rows are examples: "
    "h is (B, H), so W h for every row is h @ W.T, and U x is x @ U.T."
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
        try:
            got = call("rnn_step", student_fn, h.clone(), x.clone(), W.clone(), U.clone(), b)
        except StudentCodeError as err:
            if "cannot be multiplied" not in str(err):
                raise
            raise StudentCodeError(f"{err}\n  Likely mistake: {COLUMN_FORM}") from err.__cause__
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


def _loop(x, W, U, b, act=torch.tanh, h0=None):
    """States h(1..T) (B, T, H) of h(t) = act(W h(t-1) + U x(t) + b) from h0 (zeros if None)."""
    h = x.new_zeros(x.shape[0], W.shape[0]) if h0 is None else h0
    hs = []
    for t in range(x.shape[1]):
        h = act(h @ W.T + x[:, t] @ U.T + b)
        hs.append(h)
    return torch.stack(hs, 1)


def _rnn_forward(x, W, U, b, h0=None):
    """The reference forward pass: all states (B, T, H) of the tanh RNN, from h0 or zeros."""
    return _loop(x, W, U, b, h0=h0)


@exercise("01", reference=_rnn_forward)
def rnn_forward(student_fn) -> int:
    """Check ``rnn_forward(x, W, U, b, h0=None) -> hs``: h(t) = tanh(W h(t-1) + U x(t) + b).

    Shapes: x (B, T, I), W (H, H), U (H, I), b (H,), h0 (B, H) or None for h(0) = 0;
    returns all states hs (B, T, H) (h(1) ... h(T), not h(0)). The same weights are used at
    every step; any T works. The last case passes h0.
    """
    cases = [(2, 3, 3, 2, False), (1, 4, 4, 3, False), (3, 5, 2, 4, True)]
    for seed, (B, T, H, I, with_h0) in enumerate(cases):
        g = generator(10 + seed)
        x = randn(g, B, T, I)
        W, U, b = randn(g, H, H, scale=0.8), randn(g, H, I, scale=0.8), randn(g, H, scale=0.5)
        h0 = randn(g, B, H, scale=0.8) if with_h0 else None
        expected = _loop(x, W, U, b, h0=h0)
        args = (x.clone(), W.clone(), U.clone(), b.clone()) + ((h0.clone(),) if with_h0 else ())
        got = call("rnn_forward", student_fn, *args)
        no_state = torch.tanh(x @ U.T + b)
        first = x.new_zeros(B, H) if h0 is None else h0
        shifted = torch.cat([first[:, None], expected[:, :-1]], 1)
        mistakes = {
            TRANSPOSED_W: _loop(x, W.T, U, b, h0=h0),
            "the state is not carried: each step must use the previous h, "
            "h = tanh(h @ W.T + x[:, t] @ U.T + b).": no_state,
            "the states are shifted by one step: store h after updating it, so "
            "hs[:, 0] is h(1), not h(0).": shifted,
        }
        if with_h0:
            mistakes[
                "h0 was ignored: when it is given, the first step starts from it, not from zeros."
            ] = _loop(x, W, U, b)
        compare(
            "rnn_forward",
            f"case {seed + 1} (B={B}, T={T}, H={H}, I={I}"
            + (", h0 given)" if with_h0 else ", h0=None)"),
            got,
            expected,
            mistakes=mistakes,
            shape_hints={
                (B, H): "only the last state was returned; stack all T states "
                "with torch.stack(hs, dim=1).",
                (B, T + 1, H): "the initial state h(0) was included; return h(1) ... h(T).",
                (T, B, H): "the result is time-first; stack along dim=1 for (B, T, H).",
            },
        )
    return len(cases)


def _running_sum_weights():
    """The reference adder: W = U = 1, each (1, 1)."""
    return torch.ones(1, 1), torch.ones(1, 1)


@exercise("01", reference=_running_sum_weights)
def running_sum_weights(student_fn) -> int:
    """Check ``running_sum_weights() -> (W, U)``, each a (1, 1) tensor.

    With them the ReLU RNN h(t) = relu(W h(t-1) + U x(t)), h(0) = 0, must output the
    running sum h(t) = x(1) + ... + x(t) of non-negative inputs x of shape (B, T, 1).
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
                "W = 0 wipes the state at every step, so h(t) forgets everything but the "
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


def _state_space_to_rnn(A, B, dt):
    """The reference: zero-order hold, W = A_d, U = B_d, b = 0 (a linear RNN without bias)."""
    A_d, B_d = discretize(A, B, dt, method="zoh")
    return A_d, B_d, A_d.new_zeros(A_d.shape[0])


def _exact_zoh(A, B, dt):
    """Zero-order hold by closed forms: exp(A dt), and int_0^dt exp(A s) ds B (float64).

    For invertible A the integral is A^-1 (exp(A dt) - I) B; for nilpotent A (A^2 = 0,
    the double integrator) the series stops: (I dt + A dt^2 / 2) B.
    """
    A_d = torch.linalg.matrix_exp(A * dt)
    eye = torch.eye(A.shape[0], dtype=A.dtype)
    if torch.allclose(A @ A, torch.zeros_like(A)):
        return A_d, (eye * dt + A * dt**2 / 2) @ B
    return A_d, torch.linalg.solve(A, (A_d - eye) @ B)


def _stable_system(g, n, m):
    """A random continuous-time system (A (n, n) with eigenvalues in the left half-plane)."""
    M = randn(g, n, n)
    A = (
        (M - M.T)
        + 0.3 * M
        - (0.5 + torch.linalg.matrix_norm(0.3 * M, 2)) * torch.eye(n, dtype=M.dtype)
    )
    return A.float().double(), randn(g, n, m)


@exercise("01", reference=_state_space_to_rnn)
def state_space_to_rnn(student_fn) -> int:
    """Check ``state_space_to_rnn(A, B, dt) -> (W, U, b)``, zero-order hold.

    The continuous system x' = A x + B u, with u held constant over each step of ``dt``,
    becomes x(t) = A_d x(t-1) + B_d u(t); the linear RNN h(t) = W h(t-1) + U x(t) + b must
    reproduce it: W = A_d = exp(A dt), U = B_d = int_0^dt exp(A s) ds B, b = 0.
    Shapes: A (n, n), B (n, m), dt a float; returns W (n, n), U (n, m), b (n,).
    Checked against the closed forms (matrix exponential, and A^-1 (A_d - I) B or the
    series of a nilpotent A), on random stable systems and the double integrator.
    """
    g = generator(60)
    systems = [
        (*_stable_system(g, 2, 1), 0.05),
        (*_stable_system(g, 3, 2), 0.2),
        (
            torch.tensor([[0.0, 1.0], [0.0, 0.0]], dtype=torch.float64),
            torch.tensor([[0.0], [1.0]], dtype=torch.float64),
            0.5,
        ),
    ]
    names = ["a damped 2-state system", "a 3-state system with 2 inputs", "the double integrator"]
    for (A, B, dt), label in zip(systems, names, strict=True):
        n, m = B.shape
        case = f"{label} (A {n}x{n}, B {n}x{m}, dt={dt:g})"
        answer = call("state_space_to_rnn", student_fn, A.clone(), B.clone(), dt)
        if not (isinstance(answer, tuple | list) and len(answer) == 3):
            raise AssertionError(
                f"state_space_to_rnn, {case}: expected a triple (W, U, b), "
                f"got {type(answer).__name__}"
                + (f" of length {len(answer)}." if isinstance(answer, tuple | list) else ".")
            )
        W, U, b = answer
        A_d, B_d = _exact_zoh(A, B, dt)
        eye = torch.eye(n, dtype=A.dtype)
        no_dt = _exact_zoh(A, B, 1.0)
        compare(
            "state_space_to_rnn",
            case,
            W,
            A_d,
            what="W",
            mistakes={
                "this is Euler's W = I + A dt, a first-order approximation; zero-order hold "
                "is exact: W = exp(A dt).": eye + A * dt,
                "W is transposed: the state is a column, x(t) = A_d x(t-1), and the RNN "
                "writes it the same way, W h.": A_d.T,
                "dt is missing: the exponent is A dt, not A.": no_dt[0],
                "W = A: the continuous A is a rate of change per second, not the map from "
                "one step to the next.": A,
            },
            hint="W is the matrix exponential of A dt (torch.linalg.matrix_exp).",
        )
        compare(
            "state_space_to_rnn",
            case,
            U,
            B_d,
            what="U",
            mistakes={
                "U = B dt is Euler's input matrix. Under zero-order hold the input acts "
                "during the whole step while the state moves; take U from the "
                "exponential of the augmented matrix [[A, B], [0, 0]] dt.": B * dt,
                "dt is missing: the augmented matrix is [[A, B], [0, 0]] times dt.": no_dt[1],
                "U = B: the continuous B is per second; over one step it becomes B_d.": B,
            },
            shape_hints={(m, n): "U is transposed: it maps the m inputs to the n states, (n, m)."},
        )
        compare(
            "state_space_to_rnn",
            case,
            b,
            torch.zeros(n, dtype=A.dtype),
            what="b",
            hint="the linear system has no constant drive, so b is zeros of shape (n,).",
        )
    return len(systems)
