"""Autoregressive generation: teacher forcing, free running, scheduled sampling, sampling.

Shapes are batch-first: ``B`` sequences, ``T`` time steps, vectors of size ``D``, ``V``
tokens. A model that feeds its own outputs back is a *step function*
``step_fn(input_t, state) -> (output_t, state)``: ``input_t`` is one time step, ``(B,)``
token ids or ``(B, D)`` vectors, ``output_t`` is ``(B, V)`` logits or ``(B, D)`` vectors,
and ``state`` is whatever the model carries (``None`` on the first call).

Scheduled sampling (Bengio et al. 2015): at training update i, each input is the TRUE
previous token with probability ``eps_i`` and the model's own previous sample otherwise;
``eps_i`` starts near 1 and decays, so the model gradually learns from its own mistakes.
Every function and schedule here takes ``eps`` as Bengio et al. do, the probability of
the TRUE token (1: teacher forcing, 0: free running); several libraries use ``1 - eps``.

Every ``seed`` is an int (the same draws every time), a ``torch.Generator`` (used as it
is) or ``None`` (fresh draws); torch's global generator is never used.
"""

from __future__ import annotations

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
    """The inputs of teacher forcing: the targets shifted right by one step.

    At step t the model gets the *true* output of step t - 1; at step 0 it gets
    ``start``: for token ids ``targets (B, T)`` an int or ``(B,)`` ids, for vectors
    ``(B, T, D)`` a number, ``(D,)`` or ``(B, D)``. This is
    :func:`rnncourse.sequences.shift_right` with a start value that broadcasts.

    Returns:
        Inputs of the same shape and dtype as ``targets``: ``inputs[:, 0] = start`` and
        ``inputs[:, t] = targets[:, t - 1]``; the last target is never an input.
    """
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
    return sequences.shift_right(targets, first)  # the package's one shift (and dtype checks)


def free_running(
    step_fn: Callable,
    first_input: torch.Tensor,
    steps: int,
    *,
    state=None,
    to_input: Callable | None = None,
) -> tuple[torch.Tensor, object]:
    """Run an autoregressive model on its own outputs, as at test time.

    ``output_t, state = step_fn(input_t, state)``, then ``input_{t+1} =
    to_input(output_t)`` (e.g. ``lambda logits: logits.argmax(-1)``; default: the output
    itself), from ``first_input`` (``(B,)`` ids or ``(B, D)``) and ``state`` (``None``:
    the model's default).

    Returns ``(outputs (B, steps, ...), final state)``.
    """
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
    """Squared error against steps ahead when a model runs on its own predictions.

    The model first reads the true values ``series[:, :warmup]``, so that its state knows
    the sequence; its output after the last one predicts ``series[:, warmup]``. From then
    on each prediction is fed back as the next input (:func:`free_running`), and the one
    ``k`` steps ahead is compared with ``series[:, warmup + k - 1]``: errors made early
    are fed back and can compound, which is what this measures (without gradients).

    ``step_fn(input_t (B, D), state) -> (output_t (B, D), state)`` predicts the value
    after ``input_t``; ``series`` is float ``(B, T, D)``, ``1 <= warmup < T``, and
    ``steps`` (default ``T - warmup``) at most ``T - warmup``.

    Returns:
        ``(B, steps)``: squared error averaged over ``D``; column ``k - 1`` is the error
        ``k`` steps ahead. ``.mean(0)`` gives the MSE per step ahead.
    """
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
        if steps > 1:
            rest, _ = free_running(step_fn, prediction, steps - 1, state=state)
            predictions = torch.cat([prediction[:, None], rest], dim=1)
        else:
            predictions = prediction[:, None]
        truth = series[:, warmup : warmup + steps]
        return (predictions - truth).pow(2).mean(-1)


@dataclass(frozen=True)
class LinearSchedule:
    """``eps_i = max(eps_min, k - c * i)``, the probability of feeding the TRUE token.

    ``k`` in [0, 1] is where it starts, ``c >= 0`` the decrease per update, ``eps_min``
    in [0, k] the floor.
    """

    k: float = 1.0
    c: float = 1e-3
    eps_min: float = 0.0

    def __post_init__(self):
        check_float(self.k, "k", min_value=0.0, max_value=1.0)
        check_float(self.c, "c", min_value=0.0)
        check_float(self.eps_min, "eps_min", min_value=0.0, max_value=self.k)

    def __call__(self, i: int) -> float:
        """eps at training update ``i >= 0``."""
        return max(self.eps_min, self.k - self.c * check_int(i, "i", min_value=0))


@dataclass(frozen=True)
class ExponentialSchedule:
    """``eps_i = k ** i``, the probability of feeding the TRUE token; ``0 < k < 1``."""

    k: float = 0.999

    def __post_init__(self):
        k = check_float(self.k, "k", min_value=0.0, strict_min=True)
        if k >= 1:
            raise ValueError(f"k must be < 1 so that eps decays, got {k}; try k=0.999.")

    def __call__(self, i: int) -> float:
        """eps at training update ``i >= 0``."""
        return self.k ** check_int(i, "i", min_value=0)


@dataclass(frozen=True)
class InverseSigmoidSchedule:
    """``eps_i = k / (k + exp(i / k))``, the probability of feeding the TRUE token.

    With the time scale ``k >= 1`` it stays near 1 for roughly ``k * ln(k)`` updates and
    then falls off smoothly.
    """

    k: float = 100.0

    def __post_init__(self):
        check_float(self.k, "k", min_value=1.0)

    def __call__(self, i: int) -> float:
        """eps at training update ``i >= 0``."""
        i = check_int(i, "i", min_value=0)
        if i / self.k > 700:  # exp would overflow; eps is 0 to double precision anyway
            return 0.0
        return self.k / (self.k + math.exp(i / self.k))


def scheduled_sampling_step(
    true_input: torch.Tensor,
    model_input: torch.Tensor,
    eps: float,
    *,
    seed: int | torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Choose, for every sequence separately, the true input or the model's own sample.

    A coin (drawn from ``seed``) is flipped for each of the ``B`` sequences: with
    probability ``eps`` the true input (``(B,)`` ids or ``(B, D)``) is fed, otherwise the
    model's sample from the previous step (the same shape and dtype). The sample is
    DETACHED, so no gradient flows back through it (the model does not learn through its
    own feedback).

    Returns:
        ``(inputs, used_true)``: the chosen inputs, like ``true_input``, and the coins,
        ``(B,)`` bool, True where the true input was fed.
    """
    check_tensor(true_input, "true_input", floating=False)
    check_tensor(model_input, "model_input", tuple(true_input.shape), floating=False)
    if model_input.dtype != true_input.dtype:
        raise TypeError(
            f"model_input must have the dtype of the true inputs ({true_input.dtype}), got "
            f"{model_input.dtype}. For tokens, turn logits into ids, e.g. "
            f"to_input=lambda logits: logits.argmax(-1)."
        )
    eps = check_float(eps, "eps", min_value=0.0, max_value=1.0)
    batch = true_input.shape[0]
    coins = torch.rand(batch, generator=_random.generator(seed))
    used_true = (coins < eps).to(true_input.device)
    mask = used_true.view(batch, *([1] * (true_input.dim() - 1)))
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
    """Run a model over a training sequence with scheduled sampling.

    Step 0 gets ``start`` (as in :func:`teacher_forced_inputs`). At every later step t,
    each sequence independently gets the true previous target ``targets[:, t - 1]``
    (``targets``: ids ``(B, T)`` or vectors ``(B, T, D)``) with probability ``eps`` (e.g.
    ``schedule(i)``), or else the model's own sample ``to_input(output_{t-1})``, detached;
    ``to_input`` is e.g. ``lambda logits: logits.argmax(-1)`` or a sampler (default: the
    output itself). The coins are drawn from ``seed``.

    Returns:
        ``(outputs, state, used_true)``: outputs ``(B, T, ...)`` for the loss against
        ``targets``, the final state, and ``(B, T)`` bool, True where the true input was
        fed (always True at step 0).
    """
    true_inputs = teacher_forced_inputs(targets, start)
    eps = check_float(eps, "eps", min_value=0.0, max_value=1.0)
    generator = _random.generator(seed)
    inputs = true_inputs[:, 0]
    used = [torch.ones(targets.shape[0], dtype=torch.bool, device=targets.device)]
    outputs = []
    for t in range(targets.shape[1]):
        if t > 0:
            sample = outputs[-1] if to_input is None else to_input(outputs[-1])
            inputs, used_true = scheduled_sampling_step(
                true_inputs[:, t], sample, eps, seed=generator
            )
            used.append(used_true)
        output, state = step_fn(inputs, state)
        outputs.append(output)
    return torch.stack(outputs, dim=1), state, torch.stack(used, dim=1)


def sample_categorical(probs: torch.Tensor, *, seed: int | torch.Generator | None = None):
    """One draw from each row of ``probs``, by inverting its cumulative distribution.

    ``probs``: ``(B, V)`` non-negative weights per row (they need not sum to 1). A
    uniform number ``u`` per row picks the first token whose cumulative probability
    exceeds ``u``. Unlike ``torch.multinomial``, whose algorithm has changed between torch
    releases, the same seed gives the same tokens on every version. Returns ids ``(B,)``.
    """
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
    """Generate tokens one at a time, feeding every sampled token back as the next input.

    Because each token is fed back, later tokens depend on what was actually sampled
    earlier (compare :func:`sample_independently`).

    ``step_fn(tokens (B,), state) -> (logits (B, V), state)`` starts from ``start``, an
    int (one sequence) or ``(B,)`` ids. ``strategy``: ``"greedy"`` (most likely token),
    ``"temperature"`` (sample from ``softmax(logits / temperature)``: below 1 sharpens,
    above 1 flattens) or ``"top_k"`` (the same among the ``k`` likeliest). Once a sequence
    emits ``stop_token`` the rest of it is filled with it; all stopped ends generation.

    Returns the generated token ids ``(B, n)``, ``n <= steps``, without the start token.
    """
    check_choice(strategy, "strategy", ("greedy", "temperature", "top_k"))
    steps = check_int(steps, "steps", min_value=1)
    temperature = check_float(temperature, "temperature", min_value=0.0, strict_min=True)
    if strategy == "top_k" and k is None:
        raise ValueError('strategy="top_k" needs k, the number of tokens to keep, e.g. k=5.')
    if k is not None:
        k = check_int(k, "k", min_value=1)
    if stop_token is not None:
        stop_token = check_int(stop_token, "stop_token", min_value=0)
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
            else:
                scaled = logits / temperature
                index = None
                if strategy == "top_k":
                    scaled, index = scaled.topk(k, dim=-1)
                pick = sample_categorical(scaled.softmax(-1), seed=generator)
                tokens = pick if index is None else index.gather(-1, pick[:, None]).squeeze(-1)
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
    """Sample each step from its own distribution, ignoring what was sampled before.

    This is the wrong way to generate a sequence: even when every per-step distribution
    (a row of ``probs (T, V)``) is right, the draws do not agree with each other. With
    next-word probabilities learned from "I think therefore I am", "I like machine
    learning" and "I am not just a neural network", it can produce "I like just ...".
    :func:`sample_sequence` avoids this by feeding each sample back. Returns ids ``(T,)``.
    """
    check_tensor(probs, "probs", ("T", "V"))
    if bool((probs < 0).any()) or not torch.allclose(
        probs.sum(-1), torch.ones((), dtype=probs.dtype), atol=1e-4
    ):
        raise ValueError(
            "every row of probs must be non-negative and sum to 1; turn logits into "
            "probabilities with logits.softmax(-1)."
        )
    return sample_categorical(probs, seed=seed)
