"""Checkers for notebook 03: backpropagation through time by hand, gradient checks.

``rnn_backward`` (the recurrent part), ``numerical_gradient``, ``find_the_bug`` and
``rnn_loss_and_grads`` (the whole gradient of a tanh RNN with a linear readout and a squared
error). Chunked truncated BPTT is checked in :mod:`rnncourse.checks._truncation`.
"""

from __future__ import annotations

import numpy as np
import torch

from .._random import generator
from ..bptt import numerical_gradient as _numerical_gradient
from ._contract import call
from ._framework import compare, exercise, randn

OVERWRITE = (
    "the gradient is overwritten instead of accumulated, so only one step counts. "
    "W, U and b are shared by all steps: add each step's share with +=."
)
BRANCH = (
    "deltas are not added at a branch. h(t) feeds both the loss at step t and the next "
    "step, so its delta is dh = dh_out[:, t] + dh_prev, dh_prev being what step t + 1 "
    "sent back."
)
TRANSPOSE = (
    "transposed weights in the backward pass: with a(t) = h(t-1) @ W.T + ..., the delta "
    "sent back to h(t-1) is dh_prev = da @ W (not da @ W.T), and dW = da.T @ h(t-1)."
)
TANH = "the tanh derivative (1 - h(t)**2) is missing from the delta."


def _backward(dh_out, xs, hs, W, U, bug: str = ""):
    """BPTT for h(t) = tanh(W h(t-1) + U x(t) + b), with an optional known bug."""
    B, T, H = hs.shape
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros(H)
    dh_prev = np.zeros((B, H))
    order = range(T) if bug == "overwrite_forward" else reversed(range(T))
    for t in order:
        h_prev = hs[:, t - 1] if t > 0 else np.zeros((B, H))
        dh = dh_out[:, t] + dh_prev
        if bug == "branch":
            dh = dh_out[:, t]
        elif bug == "branch_out" and t < T - 1:
            dh = dh_prev
        da = dh if bug == "tanh" else dh * (1 - hs[:, t] ** 2)
        parts = (da.T @ h_prev, da.T @ xs[:, t], da.sum(0))
        if bug.startswith("overwrite"):
            dW, dU, db = parts
        else:
            dW, dU, db = dW + parts[0], dU + parts[1], db + parts[2]
        dh_prev = da @ (W.T if bug == "transpose" else W)
    if bug == "transpose_dW":
        dW = dW.T
    return dW, dU, db


def _rnn_backward(dh_out, xs, hs, W, U):
    """The course's answer to ``rnn_backward``: BPTT with ``+=`` and deltas added at h(t)."""
    return _backward(dh_out, xs, hs, W, U)


def _problem(seed: int, B: int, T: int, H: int, I: int):
    """A random forward pass in torch; returns NumPy inputs and autograd's gradients."""
    g = generator(seed)
    xs, dh_out = randn(g, B, T, I), randn(g, B, T, H)
    W = randn(g, H, H, scale=0.7).requires_grad_()
    U = randn(g, H, I, scale=0.7).requires_grad_()
    b = randn(g, H, scale=0.3).requires_grad_()
    h, hs = torch.zeros(B, H, dtype=torch.float64), []
    for t in range(T):
        h = torch.tanh(h @ W.T + xs[:, t] @ U.T + b)
        hs.append(h)
    hs = torch.stack(hs, 1)
    grads = torch.autograd.grad((hs * dh_out).sum(), (W, U, b))
    arrays = [v.detach().numpy() for v in (dh_out, xs, hs, W, U)]
    return arrays, [gr.numpy() for gr in grads]


@exercise("03", reference=_rnn_backward)
def rnn_backward(student_fn) -> int:
    """Check ``rnn_backward(dh_out, xs, hs, W, U) -> (dW, dU, db)`` (NumPy arrays).

    Forward pass: h(t) = tanh(W h(t-1) + U x(t) + b), h(0) = 0. Shapes: dh_out (B, T, H),
    the part of dL/dh(t) that comes from the outputs at step t; xs (B, T, I); hs (B, T, H),
    the states h(1) ... h(T); W (H, H); U (H, I). Returns dW (H, H), dU (H, I), db (H,),
    compared with torch autograd. The arguments are passed by position.
    """
    cases = [(2, 3, 3, 2), (1, 4, 2, 3), (3, 5, 4, 2)]
    for seed, (B, T, H, I) in enumerate(cases):
        arrays, expected = _problem(60 + seed, B, T, H, I)
        got = call("rnn_backward", student_fn, *(a.copy() for a in arrays))
        if not (isinstance(got, tuple | list) and len(got) == 3):
            raise AssertionError(
                f"rnn_backward: expected a tuple (dW, dU, db), got {type(got).__name__}."
            )
        bugs = {
            OVERWRITE: ("overwrite", "overwrite_forward"),
            BRANCH: ("branch", "branch_out"),
            TRANSPOSE: ("transpose", "transpose_dW"),
            TANH: ("tanh",),
        }
        for k, what in enumerate(("dW", "dU", "db")):
            mistakes = [
                (message, _backward(*arrays, bug=bug)[k])
                for message, names in bugs.items()
                for bug in names
            ]
            compare(
                "rnn_backward",
                f"case {seed + 1} (B={B}, T={T}, H={H}, I={I})",
                got[k],
                expected[k],
                mistakes=mistakes,
                what=what,
                atol=1e-8,
            )
    return len(cases)


def _f_sin(x):
    return float(np.sum(np.sin(x) * x**2))


def _df_sin(x):
    return np.cos(x) * x**2 + 2 * x * np.sin(x)


_A = np.array([[0.5, -1.0, 0.3], [0.2, 0.8, -0.6]])


def _f_tanh(x):
    return float(np.sum(np.tanh(x @ _A)))


def _df_tanh(x):
    return (1 - np.tanh(x @ _A) ** 2) @ _A.T


def _wrong_gradient(f, x, eps, bug):
    x = x.copy()
    if bug == "all_at_once":
        return np.full_like(x, (f(x + eps) - f(x - eps)) / (2 * eps))
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = f(x)
        x[i] = old - eps if bug != "forward" else old
        down = f(x)
        x[i] = old
        grad[i] = (up - down) / (eps if bug == "forward" or bug == "one_eps" else 2 * eps)
    return grad


@exercise("03", reference=_numerical_gradient)
def numerical_gradient(student_fn) -> int:
    """Check ``numerical_gradient(f, x, eps) -> grad`` by central differences.

    ``f`` maps a float64 NumPy array x (any shape) to a float; ``grad`` has x's shape and
    grad[i] = (f(x + eps e_i) - f(x - eps e_i)) / (2 eps). x must be left unchanged.
    Compared with the exact (analytical) gradient.
    """
    rng = np.random.default_rng(70)
    cases = [
        ("sum(sin(x) * x**2), x of shape (4,)", _f_sin, _df_sin, rng.normal(size=4)),
        ("sum(sin(x) * x**2), x of shape (2, 3)", _f_sin, _df_sin, rng.normal(size=(2, 3))),
        ("sum(tanh(x @ A)), x of shape (3, 2)", _f_tanh, _df_tanh, rng.normal(size=(3, 2))),
    ]
    eps = 1e-5
    for k, (desc, f, df, x) in enumerate(cases):
        before = x.copy()
        got = call("numerical_gradient", student_fn, f, x, eps)
        if not np.allclose(x, before, atol=1e-12, rtol=0):
            raise AssertionError(
                f"numerical_gradient, case {k + 1} ({desc}): x was changed in place. "
                "Likely mistake: restore each entry after perturbing it (x[i] = old)."
            )
        compare(
            "numerical_gradient",
            f"case {k + 1} ({desc}, eps={eps})",
            got,
            df(before),
            mistakes={
                "a forward difference (f(x + eps) - f(x)) / eps was used; its error is "
                "about eps, the central difference's about eps**2.": _wrong_gradient(
                    f, before, eps, "forward"
                ),
                "the central difference must be divided by 2 * eps, not eps.": (
                    _wrong_gradient(f, before, eps, "one_eps")
                ),
                "all entries were perturbed at once; perturb one entry at a time.": (
                    _wrong_gradient(f, before, eps, "all_at_once")
                ),
            },
            atol=1e-7,
            rtol=1e-6,
        )
    return len(cases)


# --- find the bug: three backward passes, each with one mistake ----------------------
# The three functions are deliberately near-copies of one correct backward pass: the
# exercise is to spot the one line in which each differs.


def backward_A(dh_out, xs, hs, W, U):
    """A backward pass for h(t) = tanh(W h(t-1) + U x(t) + b) with one bug."""
    B, T, H = hs.shape
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros(H)
    dh_prev = np.zeros((B, H))
    for t in reversed(range(T)):
        h_prev = hs[:, t - 1] if t > 0 else np.zeros((B, H))
        dh = dh_out[:, t] + dh_prev
        da = dh * (1 - hs[:, t] ** 2)
        dW += da.T @ h_prev
        dU += da.T @ xs[:, t]
        db += da.sum(0)
        dh_prev = da @ W.T
    return dW, dU, db


def backward_B(dh_out, xs, hs, W, U):
    """A backward pass for h(t) = tanh(W h(t-1) + U x(t) + b) with one bug."""
    B, T, H = hs.shape
    dh_prev = np.zeros((B, H))
    for t in reversed(range(T)):
        h_prev = hs[:, t - 1] if t > 0 else np.zeros((B, H))
        dh = dh_out[:, t] + dh_prev
        da = dh * (1 - hs[:, t] ** 2)
        dW = da.T @ h_prev
        dU = da.T @ xs[:, t]
        db = da.sum(0)
        dh_prev = da @ W
    return dW, dU, db


def backward_C(dh_out, xs, hs, W, U):
    """A backward pass for h(t) = tanh(W h(t-1) + U x(t) + b) with one bug."""
    B, T, H = hs.shape
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros(H)
    dh_prev = np.zeros((B, H))
    for t in reversed(range(T)):
        h_prev = hs[:, t - 1] if t > 0 else np.zeros((B, H))
        dh = dh_prev if t < T - 1 else dh_out[:, t]
        da = dh * (1 - hs[:, t] ** 2)
        dW += da.T @ h_prev
        dU += da.T @ xs[:, t]
        db += da.sum(0)
        dh_prev = da @ W
    return dW, dU, db


BUG_LABELS = ("overwrite", "branch", "transpose", "tanh_derivative")
_BUGS = {"A": "transpose", "B": "overwrite", "C": "branch"}
_BUG_HINTS = {
    "transpose": "look at how dh_prev is passed back to h(t-1): which way round is W?",
    "overwrite": "look at how dW, dU and db collect the contributions of the steps.",
    "branch": "look at which deltas reach h(t): it feeds the loss AND the next step.",
}


@exercise("03")
def find_the_bug(student_fn) -> int:
    """Check ``find_the_bug() -> {"A": label, "B": label, "C": label}``.

    ``backward_A``, ``backward_B`` and ``backward_C`` (in ``rnncourse.checks``) each
    contain one bug. Label each with one of ``BUG_LABELS``: "overwrite" (gradient
    overwritten, not accumulated), "branch" (deltas not added at a branch), "transpose"
    (transposed weights), "tanh_derivative" (missing tanh derivative).
    """
    answer = call("find_the_bug", student_fn)
    if not isinstance(answer, dict):
        raise AssertionError(
            "find_the_bug: expected a dict such as {'A': 'overwrite', 'B': ..., 'C': ...}, "
            f"got {type(answer).__name__}."
        )
    for key, bug in _BUGS.items():
        if key not in answer:
            raise AssertionError(f"find_the_bug: no label for backward_{key}; add key {key!r}.")
        label = answer[key]
        if label not in BUG_LABELS:
            raise AssertionError(
                f"find_the_bug: {label!r} for backward_{key} is not a label; use one of "
                + ", ".join(repr(b) for b in BUG_LABELS)
                + "."
            )
        if label != bug:
            raise AssertionError(
                f"find_the_bug: backward_{key} does not have the {label!r} bug. Hint: "
                f"{_BUG_HINTS[bug]} Compare its gradients with numerical_gradient."
            )
    return len(_BUGS)


# --- the whole gradient: a tanh RNN with a linear readout and a squared error -----------

PARAM_NAMES = ("U", "W", "b", "V", "b_o")
FULL_OVERWRITE = (
    "dW, dU or db is overwritten instead of accumulated, so only the step the loop visits "
    "last counts. They are shared by all steps: add each step's share with +=."
)
READOUT_OVERWRITE = (
    "the readout's dV or db_o is overwritten: V and b_o are used at every step too, so "
    "they also collect a share from every step (+=)."
)
FULL_BRANCH = (
    "only one of the two deltas reaches h(t). It feeds o(t) and h(t+1), so "
    "dh = do(t) @ V + (what step t + 1 sent back): both terms, added."
)
FULL_TANH = (
    "the tanh derivative is missing: da = dh * (1 - h(t)**2) before dW, dU, db and the "
    "delta for step t - 1."
)
V_TRANSPOSED = (
    "dV has V's transpose's shape (H, O): with o(t) = h(t) @ V.T + b_o, "
    "dV = do(t).T @ h(t), of shape (O, H) like V."
)
NO_BATCH_MEAN = (
    "the loss is not divided by the batch size B: L = (1/B) sum over the batch and the "
    "steps of 0.5 * ||o(t) - y(t)||^2, so dL/do(t) = (o(t) - y(t)) / B."
)


def _full_bptt(params, x, y, bug: str = ""):
    """(L, grads) for the tanh RNN with readout, as the exercise asks; ``bug`` names a mistake."""
    U, W, b, V, b_o = (np.asarray(params[k], dtype=np.float64) for k in PARAM_NAMES)
    B, T, _ = x.shape
    hs = np.zeros((B, T + 1, W.shape[0]))  # hs[:, t + 1] = h(t + 1); hs[:, 0] = h(0) = 0
    for t in range(T):
        hs[:, t + 1] = np.tanh(x[:, t] @ U.T + hs[:, t] @ W.T + b)
    o = hs[:, 1:] @ V.T + b_o
    scale = 1.0 if bug == "no_batch_mean" else 1.0 / B
    loss = 0.5 * float(((o - y) ** 2).sum()) * scale
    do = (o - y) * scale
    g = {k: np.zeros_like(v) for k, v in zip(PARAM_NAMES, (U, W, b, V, b_o), strict=True)}
    dh_next = np.zeros_like(hs[:, 0])
    for t in reversed(range(T)):
        readout = (do[:, t].T @ hs[:, t + 1], do[:, t].sum(0))
        if bug == "overwrite_readout":
            g["V"], g["b_o"] = readout
        else:
            g["V"], g["b_o"] = g["V"] + readout[0], g["b_o"] + readout[1]
        from_readout = do[:, t] @ V
        dh = from_readout if bug == "branch" else from_readout + dh_next
        da = dh if bug == "tanh" else dh * (1 - hs[:, t + 1] ** 2)
        shares = (da.T @ hs[:, t], da.T @ x[:, t], da.sum(0))
        if bug == "overwrite":
            g["W"], g["U"], g["b"] = shares
        else:
            g["W"], g["U"], g["b"] = (g[k] + s for k, s in zip("WUb", shares, strict=True))
        dh_next = da @ W
    if bug == "transpose_V":
        g["V"] = g["V"].T
    return loss, g


def _rnn_loss_and_grads(params, x, y):
    """The course's answer to ``rnn_loss_and_grads``."""
    return _full_bptt(params, x, y)


_FULL_BUGS = {
    "overwrite": FULL_OVERWRITE,
    "overwrite_readout": READOUT_OVERWRITE,
    "branch": FULL_BRANCH,
    "tanh": FULL_TANH,
    "transpose_V": V_TRANSPOSED,
    "no_batch_mean": NO_BATCH_MEAN,
}


def _full_problem(seed: int, B: int, T: int, I: int, H: int, O: int):
    """Seeded parameters and data (NumPy) and autograd's loss and gradients (float64)."""
    g = generator(seed)
    shapes = {"U": (H, I), "W": (H, H), "b": (H,), "V": (O, H), "b_o": (O,)}
    p = {k: randn(g, *s, scale=0.6).requires_grad_() for k, s in shapes.items()}
    x, y = randn(g, B, T, I), randn(g, B, T, O)
    h, loss = torch.zeros(B, H, dtype=torch.float64), 0.0
    for t in range(T):
        h = torch.tanh(x[:, t] @ p["U"].T + h @ p["W"].T + p["b"])
        loss = loss + 0.5 * ((h @ p["V"].T + p["b_o"] - y[:, t]) ** 2).sum() / B
    grads = torch.autograd.grad(loss, [p[k] for k in PARAM_NAMES])
    arrays = {k: v.detach().numpy() for k, v in p.items()}
    expected = {k: gr.numpy() for k, gr in zip(PARAM_NAMES, grads, strict=True)}
    return arrays, x.numpy(), y.numpy(), loss.item(), expected


@exercise("03", reference=_rnn_loss_and_grads)
def rnn_loss_and_grads(student_fn) -> int:
    """Check ``rnn_loss_and_grads(params, x, y) -> (L, grads)`` (NumPy, float64).

    The model: h(t) = tanh(U x(t) + W h(t-1) + b), h(0) = 0, o(t) = V h(t) + b_o, and
    L = (1/B) sum over the batch and t = 1..T of 0.5 * ||o(t) - y(t)||^2. Shapes: params a
    dict with U (H, I), W (H, H), b (H,), V (O, H), b_o (O,); x (B, T, I); y (B, T, O).
    Returns the float L and a dict of gradients with the parameters' names and shapes,
    compared with torch autograd.
    """
    cases = [(2, 4, 3, 5, 2), (3, 5, 2, 4, 3), (1, 6, 2, 3, 1)]
    for seed, (B, T, I, H, O) in enumerate(cases):
        params, x, y, loss, expected = _full_problem(80 + seed, B, T, I, H, O)
        case = f"case {seed + 1} (B={B}, T={T}, I={I}, H={H}, O={O})"
        got = call(
            "rnn_loss_and_grads",
            student_fn,
            {k: v.copy() for k, v in params.items()},
            x.copy(),
            y.copy(),
        )
        if not (isinstance(got, tuple | list) and len(got) == 2 and isinstance(got[1], dict)):
            raise AssertionError(
                f"rnn_loss_and_grads, {case}: expected a pair (loss, grads) with grads a dict, "
                f"got {type(got).__name__}."
            )
        missing = [k for k in PARAM_NAMES if k not in got[1]]
        if missing:
            raise AssertionError(
                f"rnn_loss_and_grads, {case}: grads has no {', '.join(map(repr, missing))}; "
                f"it needs one gradient per parameter: {', '.join(map(repr, PARAM_NAMES))}."
            )
        wrong = {bug: _full_bptt(params, x, y, bug) for bug in _FULL_BUGS}
        compare(
            "rnn_loss_and_grads",
            case,
            got[0],
            loss,
            mistakes=[(NO_BATCH_MEAN, wrong["no_batch_mean"][0])],
            hint="L = (1/B) * sum of 0.5 * (o - y)**2 over the batch, the steps and the outputs.",
            what="loss",
            atol=1e-8,
        )
        for name in ("V", "b_o", "W", "U", "b"):
            compare(
                "rnn_loss_and_grads",
                case,
                got[1][name],
                expected[name],
                mistakes=[(message, wrong[bug][1][name]) for bug, message in _FULL_BUGS.items()],
                what=f"d{name}",
                atol=1e-8,
            )
    return len(cases)
