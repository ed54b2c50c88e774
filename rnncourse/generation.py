"""Autoregressive generation: teacher forcing, free running, scheduled sampling, sampling.

A *step function* ``step_fn(input_t, state) -> (output_t, state)`` maps ``(B,)`` ids or
``(B, D)`` vectors to ``(B, V)`` logits or ``(B, D)``; ``state`` starts as ``None``.
``eps`` is the probability of feeding the TRUE token (Bengio et al. 2015). A ``seed`` is
an int, a ``torch.Generator`` or ``None``; the global RNG is never used.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from rnncourse import _random, sequences
from rnncourse._validation import check_choice, check_float, check_int, check_tensor

__all__ = [
    "teacher_forced_inputs", "free_running", "free_running_error", "LinearSchedule",
    "ExponentialSchedule", "InverseSigmoidSchedule", "scheduled_sampling_step",
    "scheduled_sampling", "sample_categorical", "sample_sequence", "sample_independently"
]  # fmt: skip


def teacher_forced_inputs(targets: torch.Tensor, start) -> torch.Tensor:
    """Teacher forcing's inputs, shaped like ``targets`` (ids ``(B, T)`` or ``(B, T, D)``):
    ``inputs[:, 0] = start`` (broadcast to one step), ``inputs[:, t] = targets[:, t - 1]``."""
    check_tensor(targets, "targets", floating=False)
    if targets.dim() not in (2, 3):
        raise ValueError(
            f"targets must be token ids (B, T) or vectors (B, T, D), got shape "
            f"{tuple(targets.shape)}."
        )
    step_shape = (targets.shape[0], *targets.shape[2:])
    first = torch.as_tensor(start, dtype=targets.dtype, device=targets.device)
    try:
        first = first.expand(step_shape)
    except RuntimeError:
        raise ValueError(
            f"start must broadcast to one step of targets {tuple(step_shape)}, got shape "
            f"{tuple(first.shape)}."
        ) from None
    return sequences.shift_right(targets, first)


def free_running(
    step_fn: Callable,
    first_input: torch.Tensor,
    steps: int,
    *,
    state=None,
    to_input: Callable | None = None,
) -> tuple[torch.Tensor, object]:
    """Run ``step_fn`` from ``first_input`` (``(B,)`` ids or ``(B, D)``) on ``to_input(output)``
    (default: the output itself); returns ``(outputs (B, steps, ...), state)``."""
    check_tensor(first_input, "first_input", floating=False)
    steps = check_int(steps, "steps", min_value=1)
    inputs, outputs = first_input, []
    for _ in range(steps):
        output, state = step_fn(inputs, state)
        outputs.append(output)
        inputs = output if to_input is None else to_input(output)
    return torch.stack(outputs, dim=1), state


def free_running_error(
    step_fn: Callable, series: torch.Tensor, warmup: int, *, steps: int | None = None, state=None
) -> torch.Tensor:
    """Squared error ``(B, steps)``, averaged over ``D``, of predictions ``k`` steps ahead
    (column ``k - 1``) when ``step_fn`` runs on its own predictions after reading the true
    ``series[:, :warmup]`` (``(B, T, D)``, ``1 <= warmup < T``); no gradients. ``steps``
    is at most, and by default, ``T - warmup``."""
    series = check_tensor(series, "series", ("B", "T", "D"))
    T = series.shape[1]
    if T < 2:
        raise ValueError(f"series needs T >= 2 steps (a warm-up and a target), got T = {T}.")
    warmup = check_int(warmup, "warmup", min_value=1, max_value=T - 1)
    steps = T - warmup if steps is None else check_int(steps, "steps", min_value=1)
    if steps > T - warmup:
        raise ValueError(
            f"steps must be <= T - warmup = {T - warmup} (there are no true values beyond "
            f"the series), got {steps}."
        )
    with torch.no_grad():
        for t in range(warmup):
            prediction, state = step_fn(series[:, t], state)
        check_tensor(prediction, "output of step_fn", tuple(series[:, 0].shape))
        predictions = [prediction[:, None]]
        if steps > 1:
            predictions.append(free_running(step_fn, prediction, steps - 1, state=state)[0])
        truth = series[:, warmup : warmup + steps]
        return (torch.cat(predictions, dim=1) - truth).pow(2).mean(-1)


@dataclass(frozen=True)
class LinearSchedule:
    """``eps_i = max(eps_min, k - c * i)``, from ``k`` in [0, 1] down by ``c >= 0`` per
    update to the floor ``eps_min`` in [0, k]."""

    k: float = 1.0
    c: float = 1e-3
    eps_min: float = 0.0

    def __post_init__(self):
        check_float(self.k, "k", min_value=0.0, max_value=1.0)
        check_float(self.c, "c", min_value=0.0)
        check_float(self.eps_min, "eps_min", min_value=0.0, max_value=self.k)

    def __call__(self, i: int) -> float:
        return max(self.eps_min, self.k - self.c * check_int(i, "i", min_value=0))


@dataclass(frozen=True)
class ExponentialSchedule:
    """``eps_i = k ** i``, ``0 < k < 1``."""

    k: float = 0.999

    def __post_init__(self):
        k = check_float(self.k, "k", min_value=0.0, strict_min=True)
        if k >= 1:
            raise ValueError(f"k must be < 1 so that eps decays, got {k}; try k=0.999.")

    def __call__(self, i: int) -> float:
        return self.k ** check_int(i, "i", min_value=0)


@dataclass(frozen=True)
class InverseSigmoidSchedule:
    """``eps_i = k / (k + exp(i / k))``, ``k >= 1``: near 1 for about ``k ln k`` updates,
    then falling smoothly."""

    k: float = 100.0

    def __post_init__(self):
        check_float(self.k, "k", min_value=1.0)

    def __call__(self, i: int) -> float:
        i = check_int(i, "i", min_value=0)
        if i / self.k > 700:  # exp would overflow; eps is 0 in double precision
            return 0.0
        return self.k / (self.k + math.exp(i / self.k))


def scheduled_sampling_step(
    true_input: torch.Tensor,
    model_input: torch.Tensor,
    eps: float,
    *,
    seed: int | torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per sequence, ``true_input`` (``(B,)`` ids or ``(B, D)``) with probability ``eps``,
    else ``model_input`` (same shape and dtype) DETACHED: ``(inputs, used_true (B,) bool)``."""
    check_tensor(true_input, "true_input", floating=False)
    check_tensor(model_input, "model_input", tuple(true_input.shape), floating=False)
    if model_input.dtype != true_input.dtype:
        raise TypeError(
            f"model_input must have the dtype of the true inputs ({true_input.dtype}), got "
            f"{model_input.dtype}. For tokens, turn logits into ids, e.g. "
            f"to_input=lambda logits: logits.argmax(-1)."
        )
    eps = check_float(eps, "eps", min_value=0.0, max_value=1.0)
    coins = torch.rand(true_input.shape[0], generator=_random.generator(seed))
    used_true = (coins < eps).to(true_input.device)
    mask = used_true.view(-1, *([1] * (true_input.dim() - 1)))
    return torch.where(mask, true_input, model_input.detach()), used_true


def scheduled_sampling(
    step_fn: Callable,
    targets: torch.Tensor,
    start,
    eps: float,
    *,
    to_input: Callable | None = None,
    state=None,
    seed: int | torch.Generator | None = None,
) -> tuple[torch.Tensor, object, torch.Tensor]:
    """Run ``step_fn`` over ``targets`` (ids ``(B, T)`` or ``(B, T, D)``) with scheduled
    sampling: after ``start``, each sequence gets ``targets[:, t - 1]`` with probability
    ``eps``, else ``to_input(output_{t-1})`` detached (default: the output). Returns
    ``(outputs (B, T, ...), state, used_true (B, T) bool)``."""
    true_inputs = teacher_forced_inputs(targets, start)
    eps = check_float(eps, "eps", min_value=0.0, max_value=1.0)
    generator = _random.generator(seed)
    output, state = step_fn(true_inputs[:, 0], state)
    outputs = [output]
    used = [torch.ones(targets.shape[0], dtype=torch.bool, device=targets.device)]
    for t in range(1, targets.shape[1]):
        sample = output if to_input is None else to_input(output)
        inputs, coins = scheduled_sampling_step(true_inputs[:, t], sample, eps, seed=generator)
        output, state = step_fn(inputs, state)
        outputs.append(output)
        used.append(coins)
    return torch.stack(outputs, dim=1), state, torch.stack(used, dim=1)


def sample_categorical(probs: torch.Tensor, *, seed: int | torch.Generator | None = None):
    """One draw ``(B,)`` per row of ``probs`` ``(B, V)`` (non-negative, positive sum); unlike
    ``torch.multinomial``, a seed gives the same tokens on every torch version."""
    probs = check_tensor(probs, "probs", ("B", "V"))
    if bool((probs < 0).any()) or not bool((probs.sum(-1) > 0).all()):
        raise ValueError(
            "every row of probs must be non-negative with a positive sum; turn logits into "
            "probabilities with logits.softmax(-1)."
        )
    cdf = probs.cumsum(-1)
    u = torch.rand(probs.shape[0], 1, generator=_random.generator(seed), dtype=cdf.dtype)
    return (cdf < u * cdf[:, -1:]).sum(-1).clamp(max=probs.shape[1] - 1)


def sample_sequence(
    step_fn: Callable,
    start,
    steps: int,
    *,
    strategy: str = "greedy",
    temperature: float = 1.0,
    k: int | None = None,
    seed: int | torch.Generator | None = None,
    stop_token: int | None = None,
    state=None,
) -> torch.Tensor:
    """Generate ids ``(B, n)``, ``n <= steps`` (start excluded), feeding each token back.

    ``step_fn(tokens (B,), state) -> (logits (B, V), state)`` starts from ``start`` (an
    int or ``(B,)`` ids); ``strategy``: ``"greedy"``, ``"temperature"`` or ``"top_k"``.
    A sequence that drew ``stop_token`` repeats it; when all have, generation ends.
    """
    check_choice(strategy, "strategy", ("greedy", "temperature", "top_k"))
    steps = check_int(steps, "steps", min_value=1)
    temperature = check_float(temperature, "temperature", min_value=0.0, strict_min=True)
    if strategy == "top_k" and k is None:
        raise ValueError('strategy="top_k" needs k, the number of tokens to keep, e.g. k=5.')
    k = None if k is None else check_int(k, "k", min_value=1)
    stop_token = None if stop_token is None else check_int(stop_token, "stop_token", min_value=0)
    if isinstance(start, int) and not isinstance(start, bool):
        start = torch.tensor([start])
    tokens = check_tensor(start, "start", (None,), floating=False)
    if tokens.is_floating_point():
        raise TypeError(f"start must be token ids (an int or a long tensor), got {tokens.dtype}.")
    generator = _random.generator(seed)
    done = torch.zeros(tokens.shape[0], dtype=torch.bool)
    out = []
    with torch.no_grad():
        for _ in range(steps):
            logits, state = step_fn(tokens, state)
            check_tensor(logits, "logits from step_fn", (tokens.shape[0], None))
            if k is not None and k > logits.shape[1]:
                raise ValueError(f"k must be <= the vocabulary size {logits.shape[1]}, got {k}.")
            if strategy == "greedy":
                tokens = logits.argmax(-1)
            elif strategy == "temperature":
                tokens = sample_categorical((logits / temperature).softmax(-1), seed=generator)
            else:
                top, index = (logits / temperature).topk(k, dim=-1)
                pick = sample_categorical(top.softmax(-1), seed=generator)
                tokens = index.gather(-1, pick[:, None]).squeeze(-1)
            if stop_token is not None:
                tokens = torch.where(done, stop_token, tokens)
                done |= tokens == stop_token
            out.append(tokens)
            if stop_token is not None and bool(done.all()):
                break
    return torch.stack(out, dim=1)


def sample_independently(
    probs: torch.Tensor, *, seed: int | torch.Generator | None = None
) -> torch.Tensor:
    """One draw ``(T,)`` from each row of ``probs`` ``(T, V)`` (rows sum to 1), ignoring
    earlier draws: the wrong way to generate, which :func:`sample_sequence` fixes."""
    check_tensor(probs, "probs", ("T", "V"))
    sums_to_one = torch.allclose(probs.sum(-1), torch.ones((), dtype=probs.dtype), atol=1e-4)
    if bool((probs < 0).any()) or not sums_to_one:
        raise ValueError(
            "every row of probs must be non-negative and sum to 1; turn logits into "
            "probabilities with logits.softmax(-1)."
        )
    return sample_categorical(probs, seed=seed)
