"""Checker for notebook 03's backpropagation through time by hand, in NumPy, with what it
shares with :mod:`._full_bptt`: the NumPy contract, and localising a wrong gradient (the
answer runs again on probes in which only the last steps contribute, and the message names
the step, counting back from the last, where it first leaves the reference)."""

import contextlib
import io

import numpy as np
import torch

from .. import bptt
from .._random import generator
from ._basics import _loop
from ._contract import _labels, call
from ._framework import CheckFailed, close, compare, exercise, randn

_COURSE_BPTT = (  # they already do what these exercises ask
    bptt.rnn_backward,
    bptt.rnn_step_backward,
    bptt.truncated_rnn_backward,
    torch.autograd.grad,
    torch.autograd.backward,
)

OVERWRITE = (
    "the gradient is overwritten instead of accumulated, so only one step's share is left. "
    "W, U and b are the same arrays at every step: each step adds its share to a running total."
)
BRANCH = (
    "deltas are not added at a branch. h(t) feeds both the loss at step t and the next "
    "step, so its delta is the sum of what its readout sends and what step t + 1 sends back."
)
TRANSPOSE = (
    "transposed weights in the backward pass. The delta for h(t-1) goes back through the "
    "product with W that made a(t), the other way round: the forward pass multiplies h(t-1) by "
    "W's transpose (rows), so the backward pass multiplies the delta by W itself; dW is "
    "oriented like W."
)
TANH = (
    "the tanh derivative is missing: between the delta of h(t) and the delta of a(t) lies "
    "tanh's slope, 1 - h(t)**2, entry by entry."
)
SLOPE_OF_PREVIOUS = (
    "the tanh derivative is taken at h(t-1). Step t's tanh produced h(t), so its slope is "
    "1 - h(t)**2, from the same step's state."
)
STATE_IN_DW = (
    "dW pairs each step's delta with h(t), the state the step writes. W multiplies h(t-1), "
    "the state the step reads: that is dW's factor at step t."
)
WRAPPED = (
    "at the first step h(t-1) is h(0) = 0, which the stored states do not hold; another state "
    "was used there (an index t - 1 = -1 counts from the end of an array)."
)
PER_EXAMPLE = (
    "the gradients are divided by the batch size B. dh_out already holds each example's own "
    "delta (any 1/B of a loss is inside it): a gradient sums every example's share."
)
U_TRANSPOSED = "dU is transposed: it has U's shape (H, I), a row per hidden unit."


def _previous(hs: np.ndarray) -> np.ndarray:
    """h(t-1) for every step of hs (B, T, H): h(0) = 0, h(1), ..., h(T-1)."""
    return np.concatenate([np.zeros_like(hs[:, :1]), hs[:, :-1]], axis=1)


def _bptt(dh_out, xs, h_prev, h_t, W, U):
    """``bptt.rnn_backward`` on the exercise's arrays: (dW, dU, db, dh), in float64.

    ``dh_out`` (B, T, H) is what a readout V = I with dL/do(t) = dh_out[:, t] sends back.
    ``h_prev`` (B, T, H) holds each step's h(t-1), dW's factor; ``h_t`` the states whose
    tanh slope is taken. ``dh`` (B, T, H) is the total dL/dh(t) at every step.
    """
    dh_out, xs, h_prev, h_t, W, U = (
        np.asarray(a, np.float64) for a in (dh_out, xs, h_prev, h_t, W, U)
    )
    B, T, H = h_t.shape
    params = {"U": U, "W": W, "b": np.zeros(H), "V": np.eye(H), "b_o": np.zeros(H)}
    steps = [(xs[:, t], h_prev[:, t], None, h_t[:, t], U, W, "tanh") for t in range(T)]
    cache = {"params": params, "h": h_t, "do": dh_out, "loss_steps": list(range(T)), "steps": steps}
    grads, dh = bptt.rnn_backward(cache)
    return grads["W"], grads["U"], grads["b"], dh


def _rnn_backward(dh_out, xs, hs, W, U):
    """The course's answer to ``rnn_backward``: bptt's backward pass, in the inputs' dtype."""
    dtype = np.result_type(dh_out, xs, hs, W, U)
    return tuple(g.astype(dtype) for g in _bptt(dh_out, xs, _previous(hs), hs, W, U)[:3])


# --- the contract for NumPy answers -----------------------------------------------------
def _arrays(label: str, value):
    """``(label, array)`` for every NumPy array in ``value`` (an array, tuple, list or dict)."""
    if isinstance(value, np.ndarray):
        yield label, value
    elif isinstance(value, tuple | list):
        for i, v in enumerate(value):
            yield from _arrays(f"{label}[{i}]", v)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _arrays(f"{label}[{k!r}]", v)


def _call_numpy(name: str, fn, *args, returns: tuple[str, ...] = ()):
    """:func:`call` for NumPy arguments, which its checks do not see: the arrays (and a dict
    of them) must come back unchanged, and the float arrays of the result keep the inputs'
    dtype. ``returns`` names the items of a tuple result, for the messages."""
    labelled = _labels(name, fn, args, {})
    before = [(lab, a, a.copy()) for label, v in labelled for lab, a in _arrays(label, v)]
    dicts = [(label, v, dict(v)) for label, v in labelled if isinstance(v, dict)]
    got = call(name, fn, *args, dtype=None)
    changed = [f"`{lab}`" for lab, a, old in before if not np.array_equal(a, old, equal_nan=True)]
    for label, d, old in dicts:
        if d.keys() != old.keys() or any(d[k] is not v for k, v in old.items()):
            changed.append(f"`{label}` (a key added, removed or replaced)")
    if changed:
        raise CheckFailed(
            f"{name} changed its input {changed[0]} in place. Later cells use these arrays "
            f"again (the states, the parameters): compute new arrays instead of writing into "
            f"the given ones (+= or item assignment on an argument, or on a slice of it such "
            f"as one step's rows, writes into the caller's array)."
        )
    floats = {a.dtype for _, a, _ in before if np.issubdtype(a.dtype, np.floating)}
    if len(floats) != 1:
        return got
    want = floats.pop()
    named = isinstance(got, tuple | list) and len(got) == len(returns)
    for label, value in zip(returns, got, strict=True) if named else [("its result", got)]:
        for lab, a in _arrays(label, value):
            if np.issubdtype(a.dtype, np.floating) and a.dtype != want and a.ndim:
                raise CheckFailed(
                    f"{name} returned {lab} as {a.dtype} for {want} inputs. Likely mistake: "
                    f"an array made inside the function in another dtype (np.zeros and "
                    f"np.ones make float64 unless given one); a result keeps its inputs' "
                    f"dtype, since later cells mix it with their own arrays."
                )
    return got


# --- localising a wrong gradient ----------------------------------------------------------
def _quietly(fn, *args):
    """``fn(*args)`` with its printing swallowed, or None when it raises."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return fn(*args)
    except Exception:  # noqa: BLE001 (a probe the answer cannot run says nothing)
        return None


def _first_step_off(what: str, T: int, probe, atol: float, rtol: float) -> str:
    """Where ``what`` first differs, counting back from the last step; "" when unknown.

    ``probe(s)`` returns (the answer's, the reference's) ``what`` when only steps s..T-1
    (0-based) contribute, or None. The full problem (s = 0) is known to differ.
    """
    if T == 1:
        return ""
    first = 0
    for s in range(T - 1, 0, -1):
        pair = probe(s)
        if pair is None or pair[0] is None:
            return ""
        if not close(*pair, atol=atol, rtol=rtol):
            first = s
            break
    lead = f"Step by step, counting back from step {T} as the backward pass does: {what}"
    if first == T - 1:
        return f"{lead} differs already when step {T} alone contributes."
    agree = f"step {T}" if first == T - 2 else f"steps {T}..{first + 2}"
    return (
        f"{lead} agrees for {agree} and first differs at step {first + 1} (index {first} of "
        f"the time axis): what changes at t = {first + 1}?"
    )


def _compare_located(name, case, got, expected, *, what, T, probe, dtype, **kwargs) -> None:
    """:func:`compare` at ``dtype``'s tolerance; to wrong values it adds where they first
    differ, by :func:`_first_step_off` with ``probe``."""
    tolerance = _tolerance(dtype)
    try:
        compare(name, case, got, expected, what=what, **tolerance, **kwargs)
    except CheckFailed as err:
        where = _first_step_off(what, T, probe, **tolerance) if "wrong values" in str(err) else ""
        raise CheckFailed(f"{err}\n  {where}" if where else str(err)) from None


def _tolerance(dtype) -> dict:
    return {"atol": 1e-8, "rtol": 1e-6} if dtype == np.float64 else {"atol": 1e-5, "rtol": 1e-4}


# --- exercise 1: rnn_backward -------------------------------------------------------------
def _problem(seed: int, B: int, T: int, H: int, I: int):
    """A random forward pass in torch (float64): NumPy inputs and autograd's gradients."""
    g = generator(seed)
    xs, dh_out = randn(g, B, T, I), randn(g, B, T, H)
    W = randn(g, H, H, scale=0.7).requires_grad_()
    U = randn(g, H, I, scale=0.7).requires_grad_()
    b = randn(g, H, scale=0.3).requires_grad_()
    hs = _loop(xs, W, U, b)
    grads = torch.autograd.grad((hs * dh_out).sum(), (W, U, b))
    arrays = [v.detach().numpy() for v in (dh_out, xs, hs, W, U)]
    return arrays, [gr.numpy() for gr in grads]


def _last_steps(arrays, s: int):
    """The exercise's arrays with only steps s..T-1 (0-based) contributing: no readout delta
    before step s, and h(s-1) = 1, whose tanh slope 0 stops every delta there."""
    dh_out, xs, hs, W, U = (a.copy() for a in arrays)
    dh_out[:, :s] = 0
    hs[:, s - 1] = 1
    return dh_out, xs, hs, W, U


_BACKWARD_CASES = [  # B, T, H, I, dtype: B = 1 and T = 1 once, float32 once, I above and below H
    (3, 5, 4, 2, np.float64),
    (1, 1, 3, 3, np.float64),
    (2, 8, 3, 5, np.float32),
    (4, 12, 5, 1, np.float64),
]


def _backward_case(student_fn, n: int, B: int, T: int, H: int, I: int, dtype) -> None:
    """Case ``n`` of ``rnn_backward``: values, the named mistakes, where a wrong one starts."""
    arrays, expected = _problem(60 + n, B, T, H, I)
    given = [a.astype(dtype) for a in arrays]
    case = f"case {n + 1} (B={B}, T={T}, H={H}, I={I}, {np.dtype(dtype).name})"
    name = "rnn_backward"
    got = _call_numpy(name, student_fn, *(a.copy() for a in given), returns=("dW", "dU", "db"))
    if not (isinstance(got, tuple | list) and len(got) == 3):
        raise AssertionError(
            f"{name}, {case}: expected a tuple (dW, dU, db), got {type(got).__name__}."
        )
    dh_out, xs, hs, W, U = (a.astype(np.float64) for a in given)
    prev = _previous(hs)
    right = _bptt(dh_out, xs, prev, hs, W, U)
    da = right[3] * (1 - hs**2)  # each step's delta of a(t)

    def share(t):  # step t's share alone: what an overwritten total keeps
        return da[:, t].T @ prev[:, t], da[:, t].T @ xs[:, t], da[:, t].sum(0)

    last_only = np.where(np.arange(T)[:, None] == T - 1, dh_out, 0)
    wrong = [
        (OVERWRITE, share(0)),
        (OVERWRITE, share(T - 1)),  # a loop run forwards in time
        (BRANCH, _bptt(dh_out, xs, prev, hs, 0 * W, U)),  # nothing from step t + 1
        (BRANCH, _bptt(last_only, xs, prev, hs, W, U)),  # no readout delta but the last
        (TRANSPOSE, _bptt(dh_out, xs, prev, hs, W.T, U)),
        (TRANSPOSE, (right[0].T, *right[1:])),
        (TANH, _bptt(dh_out, xs, prev, 0 * hs, W, U)),
        (SLOPE_OF_PREVIOUS, _bptt(dh_out, xs, prev, prev, W, U)),
        (STATE_IN_DW, _bptt(dh_out, xs, hs, hs, W, U)),
        (WRAPPED, _bptt(dh_out, xs, np.roll(hs, 1, axis=1), hs, W, U)),
        (PER_EXAMPLE, tuple(g / B for g in right)),
    ]

    def probe(s, k):
        arrays_s = _last_steps(given, s)
        mine = _quietly(student_fn, *(a.copy() for a in arrays_s))
        mine = mine[k] if isinstance(mine, tuple | list) and len(mine) == 3 else None
        return mine, _rnn_backward(*arrays_s)[k]

    for k, what in enumerate(("dW", "dU", "db")):
        _compare_located(
            name,
            case,
            got[k],
            expected[k],
            what=what,
            T=T,
            probe=lambda s, k=k: probe(s, k),
            dtype=dtype,
            mistakes=[(message, variant[k]) for message, variant in wrong],
            shape_hints={(I, H): U_TRANSPOSED} if k == 1 else None,
        )


@exercise("03", reference=_rnn_backward, forbidden=_COURSE_BPTT)
def rnn_backward(student_fn) -> int:
    """Check ``rnn_backward(dh_out, xs, hs, W, U) -> (dW, dU, db)`` (NumPy arrays).

    Forward pass: h(t) = tanh(W h(t-1) + U x(t) + b), h(0) = 0. Shapes: dh_out (B, T, H),
    the part of dL/dh(t) that comes from the outputs at step t; xs (B, T, I); hs (B, T, H),
    the states h(1) ... h(T); W (H, H); U (H, I), passed by position. Returns dW (H, H),
    dU (H, I), db (H,) in the inputs' dtype; the inputs must be left unchanged.
    """
    for n, sizes in enumerate(_BACKWARD_CASES):
        _backward_case(student_fn, n, *sizes)
    return len(_BACKWARD_CASES)
