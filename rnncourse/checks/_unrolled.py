"""Checker for notebook 04's k-step loss, a model trained on k steps of its own outputs; its
gradients flow through the fed-back outputs, so they are compared and a cut feedback named."""

import torch
import torch.nn.functional as F

from rnncourse import generation

from .._random import generator
from ._basics import raised
from ._contract import call, check_gradients
from ._framework import CheckFailed, compare, exercise, randn, torch_module
from ._sequential import dtype_name, fed_back_detached


def _windows(seq: torch.Tensor, k: int, n: int, offset: int = 1) -> torch.Tensor:
    """(B, k, n, D): ``seq[:, offset + j : offset + j + n]`` for j = 0 .. k-1."""
    return torch.stack([seq[:, offset + j : offset + j + n] for j in range(k)], dim=1)


def _unrolled(step_fn, starts: torch.Tensor, k: int, **options) -> torch.Tensor:
    """k free-running steps from every start at once: starts (B, n, D) -> (B, k, n, D)."""
    return generation.free_running(lambda y, s: (step_fn(y), s), starts, k, **options)[0]


def _unrolled_loss(step_fn, clean, noisy, k):
    """The reference: the MSE of k free-running steps from every observed start."""
    T = noisy.shape[1] - 1
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= T:
        raise ValueError(f"k must be an int from 1 to T = {T}, got {k!r}.")
    n = T - k + 1
    return F.mse_loss(_unrolled(step_fn, noisy[:, :n], k), _windows(clean, k, n))


def _detached_feedback(step_fn, clean, noisy, k):
    """The reference with every fed-back output detached (right values, cut gradients)."""
    n = noisy.shape[1] - k
    outputs = _unrolled(step_fn, noisy[:, :n], k, to_input=torch.Tensor.detach)
    return F.mse_loss(outputs, _windows(clean, k, n))


def _predictor(g: torch.Generator, D: int, H: int, dtype) -> torch.nn.Module:
    """A model's one step ahead, (B, n, D) -> (B, n, D): V tanh(R y + b) + b_o."""

    def build():
        return torch.nn.Sequential(torch.nn.Linear(D, H), torch.nn.Tanh(), torch.nn.Linear(H, D))

    return torch_module(g, build, scale=0.7).to(dtype)


def _mistakes(step, clean, noisy, k) -> dict:
    """{message: loss} of typical mistakes; the right loss is ``mse(outputs, targets)``."""
    D, n = clean.shape[-1], noisy.shape[1] - k
    outputs, targets = _unrolled(step, noisy[:, :n], k), _windows(clean, k, n)
    right = F.mse_loss(outputs, targets)
    return {
        "each step was fed the observed point (teacher forcing at every step), not the "
        "model's own previous output.": F.mse_loss(step(_windows(noisy, k, n, 0)), targets),
        "the runs start from the clean positions; they start from the observations, as at "
        "inference.": F.mse_loss(_unrolled(step, clean[:, :n], k), targets),
        "the output after j steps from noisy[:, t] was compared with the position one step "
        "too early; it predicts the position at t + j.": F.mse_loss(
            outputs, _windows(clean, k, n, 0)
        ),
        "the targets are the noisy observations; compare with the clean positions.": (
            F.mse_loss(outputs, _windows(noisy, k, n))
        ),
        "the k steps' errors were added up; average them, so that k = 1 gives the "
        "teacher-forced loss.": k * right,
        "the coordinates' squared errors were added, not averaged.": D * right,
        "only the last of the k steps counts; every step's error does.": F.mse_loss(
            outputs[:, -1], targets[:, -1]
        ),
        "only noisy[:, 0] starts a run; start one from every t = 0 .. T - k, all at once.": (
            F.mse_loss(outputs[:, :, :1], targets[:, :, :1])
        ),
        "the last start, t = T - k, is missing: there are T - k + 1 starts.": F.mse_loss(
            outputs[:, :, :-1], targets[:, :, :-1]
        ),
    }


def _k_out_of_range(student_fn, step, clean, noisy) -> None:
    """A k of 0 or T + 1 must raise ValueError."""
    T = noisy.shape[1] - 1
    for k in (0, T + 1):
        err = raised("unrolled_loss", student_fn, step, clean, noisy, k, dtype=None)
        if isinstance(err, ValueError):
            continue
        if err is not None:
            raise CheckFailed(
                f"unrolled_loss with k = {k} for T = {T} raised {type(err).__name__}; a k "
                f"outside 1..T must raise ValueError with a message that gives the allowed "
                f"range, as the statement says."
            )
        raise CheckFailed(
            f"unrolled_loss with k = {k} for T = {T} returned a value; a k outside 1..T must "
            f"raise ValueError naming the allowed range (there are only T steps to predict), "
            f"as the statement says."
        )


@exercise("04", reference=_unrolled_loss, gradients=True)
def unrolled_loss(student_fn) -> int:
    """Check ``unrolled_loss(step_fn, clean, noisy, k) -> loss``.

    clean, noisy (B, T + 1, D): true and observed positions y(0..T). From every start
    ``noisy[:, t]``, t = 0..T-k, all at once, ``step_fn`` ((B, n, D) -> (B, n, D), one step
    ahead) runs k steps on its own outputs; the output after j steps is compared with
    ``clean[:, t + j]``. The loss is the mean squared error over all starts, steps and
    coordinates (k = 1: teacher forcing). A k outside 1..T raises ValueError.
    """
    cases = [  # B, T, D, H, k, dtype: k = 1, k = T, T = 1, and the notebook's T = 40, k = 10
        (3, 6, 2, 5, 3, torch.float32),
        (2, 7, 3, 4, 7, torch.float32),
        (4, 5, 2, 3, 1, torch.float32),
        (1, 1, 2, 3, 1, torch.float32),
        (3, 40, 2, 16, 10, torch.float32),
        (2, 8, 2, 4, 4, torch.float64),
    ]
    for seed, (B, T, D, H, k, dtype) in enumerate(cases):
        g = generator(240 + seed)
        step = _predictor(g, D, H, dtype)
        clean = randn(g, B, T + 1, D).to(dtype)
        noisy = (clean + randn(g, B, T + 1, D, scale=0.1)).to(dtype)
        case = f"case {seed + 1} (B={B}, T={T}, D={D}, k={k}, {dtype_name(dtype)})"
        got = call("unrolled_loss", student_fn, step, clean, noisy, k, dtype=None)
        with torch.no_grad():
            right = _unrolled_loss(step, clean, noisy, k)
            mistakes = _mistakes(step, clean, noisy, k)
        hints = {(B,): "the loss was left per sequence; average it to one number."}
        hint = "after j steps from noisy[:, t] the output is compared with clean[:, t + j]."
        compare("unrolled_loss", case, got, right, mistakes=mistakes, shape_hints=hints, hint=hint)
        if seed == 0:
            step64 = _predictor(generator(249), D, H, torch.float64)
            wrt = ("clean", "noisy", *(f"step_fn.{n}" for n, _ in step64.named_parameters()))
            args = (step64, clean.double(), noisy.double(), k)
            fed_back_detached("unrolled_loss", case, student_fn, args, wrt, _detached_feedback)
            check_gradients("unrolled_loss", "case 1", student_fn, args, wrt=wrt)
            _k_out_of_range(student_fn, step, clean, noisy)
    return len(cases)
