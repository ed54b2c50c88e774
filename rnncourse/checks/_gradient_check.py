"""Checkers for notebook 03's gradient checks: ``numerical_gradient``, and ``find_the_bug``,
which names the bug of three backward passes with one of ``BUG_LABELS`` each."""

import numpy as np

from ..bptt import numerical_gradient as _numerical_gradient
from ._contract import call
from ._framework import StudentCodeError, compare, exercise


def _f_sin(x):
    return float(np.sum(np.sin(x) * x**2))


def _df_sin(x):
    return np.cos(x) * x**2 + 2 * x * np.sin(x)


_A = np.array([[0.5, -1.0, 0.3], [0.2, 0.8, -0.6]])


def _f_tanh(x):
    return float(np.sum(np.tanh(x @ _A)))


def _df_tanh(x):
    return (1 - np.tanh(x @ _A) ** 2) @ _A.T


def _differences(f, x, *, up: float, down: float, divide: float):
    """(f(x + up e_i) - f(x + down e_i)) / divide for every entry i (x is copied)."""
    x, grad = x.copy(), np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + up
        f_up = f(x)
        x[i] = old + down
        grad[i] = (f_up - f(x)) / divide
        x[i] = old
    return grad


TOLERANCE = {"atol": 1e-7, "rtol": 1e-6}
CLOSURE = (
    "f was evaluated at a copy of x. Later cells pass an f that reads x itself (a loss that "
    "reads the parameters through a closure and ignores its argument), so only a change of x "
    "itself, in place, one entry at a time and then undone, reaches it."
)


@exercise("03", reference=_numerical_gradient)
def numerical_gradient(student_fn) -> int:
    """Check ``numerical_gradient(f, x, eps) -> grad`` by central differences.

    ``f`` maps a float64 NumPy array x (any shape) to a float; ``grad`` has x's shape and
    grad[i] = (f(x + eps e_i) - f(x - eps e_i)) / (2 eps). x must be left unchanged; ``f``
    may read x through a closure, and eps has a default.
    """
    name, eps, rng = "numerical_gradient", 1e-5, np.random.default_rng(70)
    cases = [
        ("sum(sin(x) * x**2), x of shape (4,)", _f_sin, _df_sin, rng.normal(size=4)),
        ("sum(sin(x) * x**2), x of shape (2, 3)", _f_sin, _df_sin, rng.normal(size=(2, 3))),
        ("sum(tanh(x @ A)), x of shape (3, 2)", _f_tanh, _df_tanh, rng.normal(size=(3, 2))),
    ]
    for k, (desc, f, df, x) in enumerate(cases):
        before = x.copy()
        got = call(name, student_fn, f, x, eps)
        if not np.allclose(x, before, atol=1e-12, rtol=0):
            raise AssertionError(
                f"{name}, case {k + 1} ({desc}): x was changed in place and not "
                "restored. Likely mistake: each entry must get its old value back after "
                "f has seen it raised and lowered."
            )
        forward = _differences(f, before, up=eps, down=0.0, divide=eps)
        undivided = _differences(f, before, up=eps, down=-eps, divide=eps)
        at_once = np.full_like(before, (f(before + eps) - f(before - eps)) / (2 * eps))
        label = f"case {k + 1} ({desc}, eps={eps})"
        mistakes = {
            "a forward difference (f(x + eps) - f(x)) / eps was used; its error is about "
            "eps, the central difference's about eps**2.": forward,
            "the central difference must be divided by 2 * eps, not eps.": undivided,
            "all entries were perturbed at once; perturb one entry at a time.": at_once,
        }
        compare(name, label, got, df(before), mistakes=mistakes, **TOLERANCE)
    read = rng.normal(size=(4, 2))  # later cells pass an f that reads x itself, not its argument
    got = call(name, student_fn, lambda _: _f_tanh(read), read, eps)
    label = "case 4 (sum(tanh(x @ A)), f reading x itself, as the f of later cells does)"
    compare(name, label, got, _df_tanh(read), mistakes={CLOSURE: np.zeros_like(read)}, **TOLERANCE)
    desc, f, df, x = cases[2]  # later cells call numerical_gradient(f, x), with its default eps
    label = f"case 5 ({desc}, eps left at its default, as later cells call it)"
    try:
        got = call(name, student_fn, f, x.copy())
    except StudentCodeError as err:
        if isinstance(err.__cause__, TypeError) and "eps" in str(err.__cause__):
            raise AssertionError(
                f"{name}, {label}: eps has no default. Later cells call numerical_gradient(f, x): "
                f"keep the given default step."
            ) from None
        raise
    hint = (
        "the default step eps is far from 1e-6, where the central difference is most "
        "accurate in float64: too large a step adds truncation error, too small a step rounding "
        "error."
    )
    compare(name, label, got, df(x), hint=hint, **TOLERANCE)
    return len(cases) + 2


# --- find the bug: three backward passes, each with one mistake ----------------------
# Near-copies of one correct backward pass: the exercise is to spot where each differs.
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
                f"{', '.join(map(repr, BUG_LABELS))}."
            )
        if label != bug:
            raise AssertionError(
                f"find_the_bug: backward_{key} does not have the {label!r} bug. Hint: "
                f"{_BUG_HINTS[bug]} Compare its gradients with numerical_gradient."
            )
    return len(_BUGS)
