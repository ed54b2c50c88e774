"""Checker for notebook 03's whole gradient, ``rnn_loss_and_grads`` in NumPy, localised as in
:mod:`._backprop`: here the probes saturate the state before the last steps through a large
input, and give the earlier steps targets equal to their outputs."""

import numpy as np
import torch

from .. import bptt
from .._random import generator
from ._backprop import (
    _COURSE_BPTT,
    SLOPE_OF_PREVIOUS,
    STATE_IN_DW,
    TRANSPOSE,
    WRAPPED,
    _bptt,
    _call_numpy,
    _compare_located,
    _previous,
    _quietly,
    _tolerance,
)
from ._basics import _loop
from ._framework import compare, exercise, randn

PARAM_NAMES = bptt.RNN_PARAMS  # U, W, b, V, b_o
FULL_OVERWRITE = (
    "dW, dU or db is overwritten instead of accumulated, so only the step the loop visits "
    "last counts. They are the same arrays at every step: each step adds its share to a "
    "running total."
)
READOUT_OVERWRITE = (
    "the readout's dV or db_o is overwritten: V and b_o are used at every step too, so "
    "they also collect a share from every step."
)
FULL_BRANCH = (
    "only one of the two deltas reaches h(t). It feeds o(t) and h(t+1), so its delta is the "
    "sum of what the readout sends back through V and what step t + 1 sends back."
)
FULL_TANH = (
    "the tanh derivative is missing: the delta of h(t) passes through tanh's slope, "
    "1 - h(t)**2, before it gives dW, dU, db and the delta for step t - 1."
)
V_TRANSPOSED = (
    "dV has V's transpose's shape (H, O). V is (O, H): the row of each output collects that "
    "output's delta times h(t)."
)
NO_HALF = (
    "the 1/2 of the squared error is missing: L = (1/B) sum of 0.5 * ||o(t) - y(t)||^2, and "
    "its 1/2 cancels the 2 of the square's derivative, so the deltas carry no factor 2."
)
NO_BATCH_MEAN = (
    "the division by the batch size B is missing: L = (1/B) times the sum over the batch and "
    "the steps, and every delta that starts from L carries the same 1/B."
)
MEAN_OF_ALL = (
    "the loss is a mean over every entry (the steps and the outputs too, as np.mean or "
    "F.mse_loss give): L sums over the steps and the outputs and averages over the batch only."
)


def _rnn_loss_and_grads(params, x, y):
    """The course's answer to ``rnn_loss_and_grads``: bptt's forward and backward passes."""
    loss, cache = bptt.rnn_forward(params, x, y, loss="mse")
    grads, _ = bptt.rnn_backward(cache)
    dtype = np.result_type(*(params[k] for k in PARAM_NAMES), x, y)
    return loss, {k: grads[k].astype(dtype) for k in PARAM_NAMES}


def _full_wrong(params, x, y):
    """[(message, loss or None, grads)] of the known mistakes, in float64."""
    loss, cache = bptt.rnn_forward(params, x, y, loss="mse")
    grads, dh = bptt.rnn_backward(cache)
    (B, T, O), h, do = y.shape, cache["h"], cache["do"]
    W, U = (np.asarray(params[k], np.float64) for k in "WU")
    prev, dh_out = _previous(h), do @ np.asarray(params["V"], np.float64)
    last_only = np.where(np.arange(T)[:, None] == T - 1, dh_out, 0)

    def recurrent(dh_out, h_prev, h_t, W):
        return {**grads, **dict(zip("WUb", _bptt(dh_out, x, h_prev, h_t, W, U)[:3], strict=True))}

    def scaled(c):
        return c * loss, {k: c * g for k, g in grads.items()}

    _, _, dU, dW, db = bptt.rnn_step_backward(dh[:, 0], cache["steps"][0])  # step 1 alone
    return [
        (NO_HALF, *scaled(2.0)),
        (NO_BATCH_MEAN, *scaled(B)),
        (MEAN_OF_ALL, *scaled(1 / (T * O))),
        (MEAN_OF_ALL, *scaled(2 / (T * O))),  # the mean of the squares, without the 1/2
        (FULL_OVERWRITE, None, {**grads, "W": dW, "U": dU, "b": db}),
        (READOUT_OVERWRITE, None, {**grads, "V": do[:, 0].T @ h[:, 0], "b_o": do[:, 0].sum(0)}),
        (FULL_BRANCH, None, recurrent(dh_out, prev, h, 0 * W)),
        (FULL_BRANCH, None, recurrent(last_only, prev, h, W)),
        (FULL_TANH, None, recurrent(dh_out, prev, 0 * h, W)),
        (TRANSPOSE, None, recurrent(dh_out, prev, h, W.T)),
        (TRANSPOSE, None, {**grads, "W": grads["W"].T}),
        (SLOPE_OF_PREVIOUS, None, recurrent(dh_out, prev, prev, W)),
        (STATE_IN_DW, None, recurrent(dh_out, h, h, W)),
        (WRAPPED, None, recurrent(dh_out, np.roll(h, 1, axis=1), h, W)),
    ]


def _full_problem(seed: int, B: int, T: int, I: int, H: int, O: int):
    """Seeded parameters and data (NumPy) and autograd's loss and gradients (float64)."""
    g = generator(seed)
    shapes = {"U": (H, I), "W": (H, H), "b": (H,), "V": (O, H), "b_o": (O,)}
    p = {k: randn(g, *s, scale=0.6).requires_grad_() for k, s in shapes.items()}
    x, y = randn(g, B, T, I), randn(g, B, T, O)
    hs = _loop(x, p["W"], p["U"], p["b"])
    loss = 0.5 * ((hs @ p["V"].T + p["b_o"] - y) ** 2).sum() / B
    grads = torch.autograd.grad(loss, [p[k] for k in PARAM_NAMES])
    arrays = {k: v.detach().numpy() for k, v in p.items()}
    expected = {k: gr.numpy() for k, gr in zip(PARAM_NAMES, grads, strict=True)}
    return arrays, x.numpy(), y.numpy(), loss.item(), expected


def _from_step(params, x, y, s: int):
    """(x, y) in which only steps s..T-1 (0-based) shape the gradient, or None.

    x(s-1) is made so large that every unit's tanh saturates at step s - 1 (slope exactly 0:
    no delta passes further back), and y equals the outputs before step s (no loss there).
    """
    U, W, b = (np.asarray(params[k], np.float64) for k in "UWb")
    directions = np.random.default_rng(s).normal(size=(16, U.shape[1]))
    reach = np.abs(directions @ U.T)  # |U v| per unit, for 16 input directions v
    best = int(np.argmax(reach.min(1) / reach.max(1)))
    scale = (25 + np.abs(W).sum(1).max() + np.abs(b).max()) / max(reach[best].min(), 1e-300)
    if scale * reach[best].max() > 300:  # some unit too weakly driven to saturate
        return None
    x = x.copy()
    x[:, s - 1] = scale * directions[best]
    _, cache = bptt.rnn_forward(params, x, y, loss="mse")
    y = y.copy()
    y[:, :s] = cache["o"][:, :s]
    return x, y


_FULL_CASES = [  # B, T, I, H, O, dtype: B never 2 (where 1/B and 1/2 are the same factor)
    (3, 4, 3, 5, 2, np.float64),
    (4, 5, 2, 4, 3, np.float64),
    (1, 1, 2, 3, 1, np.float64),
    (4, 30, 3, 16, 2, np.float64),  # the sizes section 8 runs
    (5, 6, 2, 4, 2, np.float32),
]


def _full_case(student_fn, n: int, B: int, T: int, I: int, H: int, O: int, dtype) -> None:
    """Case ``n`` of ``rnn_loss_and_grads``: values, named mistakes, where a wrong one starts."""
    name = "rnn_loss_and_grads"
    params, x, y, loss, expected = _full_problem(80 + n, B, T, I, H, O)
    params = {k: v.astype(dtype) for k, v in params.items()}
    x, y = x.astype(dtype), y.astype(dtype)
    case = f"case {n + 1} (B={B}, T={T}, I={I}, H={H}, O={O}, {np.dtype(dtype).name})"
    copies = ({k: v.copy() for k, v in params.items()}, x.copy(), y.copy())
    got = _call_numpy(name, student_fn, *copies, returns=("L", "grads"))
    if not (isinstance(got, tuple | list) and len(got) == 2 and isinstance(got[1], dict)):
        raise AssertionError(
            f"{name}, {case}: expected a pair (loss, grads) with grads a dict, "
            f"got {type(got).__name__}."
        )
    missing = [k for k in PARAM_NAMES if k not in got[1]]
    if missing:
        raise AssertionError(
            f"{name}, {case}: grads has no {', '.join(map(repr, missing))}; "
            f"it needs one gradient per parameter: {', '.join(map(repr, PARAM_NAMES))}."
        )
    wrong = _full_wrong(params, x.astype(np.float64), y.astype(np.float64))
    mistakes = [(message, w_loss) for message, w_loss, _ in wrong if w_loss is not None]
    hint = "L = (1/B) * sum of 0.5 * (o - y)**2 over the batch, the steps and the outputs."
    compare(
        name, case, got[0], loss, mistakes=mistakes, hint=hint, what="loss", **_tolerance(dtype)
    )

    def probe(s, key):
        data = _from_step(params, x, y, s)
        if data is None:
            return None
        mine = _quietly(student_fn, {k: v.copy() for k, v in params.items()}, *data)
        ok = isinstance(mine, tuple | list) and len(mine) == 2 and isinstance(mine[1], dict)
        return (mine[1].get(key) if ok else None), _rnn_loss_and_grads(params, *data)[1][key]

    for key in ("V", "b_o", "W", "U", "b"):
        _compare_located(
            name,
            case,
            got[1][key],
            expected[key],
            what=f"d{key}",
            T=T,
            probe=lambda s, key=key: probe(s, key),
            dtype=dtype,
            mistakes=[(message, grads[key]) for message, _, grads in wrong],
            shape_hints={(H, O): V_TRANSPOSED} if key == "V" else None,
        )


@exercise("03", reference=_rnn_loss_and_grads, forbidden=(*_COURSE_BPTT, bptt.rnn_forward))
def rnn_loss_and_grads(student_fn) -> int:
    """Check ``rnn_loss_and_grads(params, x, y) -> (L, grads)`` (NumPy).

    The model: h(t) = tanh(U x(t) + W h(t-1) + b), h(0) = 0, o(t) = V h(t) + b_o, and
    L = (1/B) sum over the batch and t = 1..T of 0.5 * ||o(t) - y(t)||^2. Shapes: params a
    dict with U (H, I), W (H, H), b (H,), V (O, H), b_o (O,); x (B, T, I); y (B, T, O).
    Returns the float L and a dict of gradients with the parameters' names, shapes and
    dtype (float32 or float64); the inputs (and the dict) must be left unchanged.
    """
    for n, sizes in enumerate(_FULL_CASES):
        _full_case(student_fn, n, *sizes)
    return len(_FULL_CASES)
