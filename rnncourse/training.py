"""A small training toolkit: a train loop, gradient clipping, teacher forcing,
scheduled sampling and autoregressive sampling.

Shapes are batch-first. ``B`` is the batch size, ``T`` the number of time steps, ``D``
the size of an input or output vector and ``V`` the vocabulary size of a token model.

Models that feed their own outputs back are written here as a *step function*
``step_fn(input_t, state) -> (output_t, state)``: ``input_t`` is one time step,
``(B,)`` token ids or ``(B, D)`` vectors, ``output_t`` is ``(B, V)`` logits or ``(B, D)``
vectors, and ``state`` is whatever the model carries (``None`` on the first call).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from matplotlib.figure import Figure
from tqdm.auto import tqdm

from rnncourse._validation import check_choice, check_float, check_int, check_tensor

__all__ = [
    "NonFiniteLossError",
    "History",
    "train",
    "global_grad_norm",
    "clip_grad_norm",
    "clip_grad_value",
    "teacher_forced_inputs",
    "free_running",
    "LinearSchedule",
    "ExponentialSchedule",
    "InverseSigmoidSchedule",
    "scheduled_sampling_step",
    "scheduled_sampling",
    "sample_sequence",
    "sample_independently",
]


# ----------------------------------------------------------------------------- clipping


def _grads(parameters) -> list[torch.Tensor]:
    """The gradients of ``parameters`` (a tensor or an iterable), skipping ``None``."""
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    grads = []
    for p in parameters:
        if not isinstance(p, torch.Tensor):
            raise TypeError(
                f"parameters must be tensors (e.g. model.parameters()), got {type(p).__name__}."
            )
        if p.grad is not None:
            grads.append(p.grad)
    return grads


def _norm(grads: list[torch.Tensor]) -> torch.Tensor:
    if not grads:
        return torch.tensor(0.0)
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))


@torch.no_grad()
def global_grad_norm(parameters) -> torch.Tensor:
    """The Euclidean norm of all gradients together, as if concatenated into one vector.

    ``||g|| = sqrt(sum_p ||grad_p||^2)``, computed as the norm of the per-tensor norms.
    Parameters without a gradient are skipped; with none at all the result is 0.

    Args:
        parameters: a tensor or an iterable of tensors, e.g. ``model.parameters()``.

    Returns:
        A scalar tensor.
    """
    return _norm(_grads(parameters))


@torch.no_grad()
def clip_grad_norm(parameters, max_norm: float) -> torch.Tensor:
    """Rescale all gradients together so that their global norm is at most ``max_norm``.

    Pascanu et al. (2013): when ``||g|| > max_norm``, ``g <- max_norm * g / ||g||``. The
    direction of the whole update is kept; only its length shrinks. Like
    ``torch.nn.utils.clip_grad_norm_``, the factor is ``max_norm / (||g|| + 1e-6)``,
    clamped at 1, and gradients are changed in place.

    Args:
        parameters: a tensor or an iterable of tensors, e.g. ``model.parameters()``.
        max_norm: the threshold, > 0.

    Returns:
        The global norm before clipping, a scalar tensor.
    """
    max_norm = check_float(max_norm, "max_norm", min_value=0.0, strict_min=True)
    grads = _grads(parameters)
    total = _norm(grads)
    scale = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.mul_(scale)
    return total


@torch.no_grad()
def clip_grad_value(parameters, clip_value: float) -> None:
    """Clamp every gradient entry to ``[-clip_value, clip_value]`` in place.

    Same as ``torch.nn.utils.clip_grad_value_``. Unlike norm clipping this can change
    the direction of the update.

    Args:
        parameters: a tensor or an iterable of tensors, e.g. ``model.parameters()``.
        clip_value: the largest allowed magnitude, > 0.
    """
    clip_value = check_float(clip_value, "clip_value", min_value=0.0, strict_min=True)
    for g in _grads(parameters):
        g.clamp_(min=-clip_value, max=clip_value)


# ----------------------------------------------------------------------------- training


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite during :func:`train`."""


@dataclass
class History:
    """What :func:`train` recorded.

    Attributes:
        loss: training loss of every update, ``loss[i]`` for update ``i + 1``.
        grad_norm: global gradient norm of every update, measured before clipping.
        wall_time: seconds since the start of training, after every update.
        eval_steps: number of updates done when each evaluation ran.
        eval_metrics: metric name -> values, one per entry of ``eval_steps``.
        stopped_early: True when ``stop_when`` ended training before ``steps``.
    """

    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    wall_time: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    eval_metrics: dict[str, list[float]] = field(default_factory=dict)
    stopped_early: bool = False

    @property
    def steps(self) -> int:
        """Number of updates done."""
        return len(self.loss)

    @property
    def seconds(self) -> float:
        """Total training time in seconds."""
        return self.wall_time[-1] if self.wall_time else 0.0

    def best(self, metric: str | None = None, mode: str = "min") -> tuple[int, float]:
        """The best value of a metric and the update count at which it was reached.

        Args:
            metric: ``"loss"``, ``"grad_norm"`` or an evaluation metric's name. ``None``
                means the first evaluation metric if there is one, else ``"loss"``.
            mode: ``"min"`` or ``"max"``.

        Returns:
            ``(step, value)``.
        """
        check_choice(mode, "mode", ("min", "max"))
        if metric is None:
            metric = next(iter(self.eval_metrics), "loss")
        if metric in ("loss", "grad_norm"):
            values, steps = getattr(self, metric), range(1, self.steps + 1)
        elif metric in self.eval_metrics:
            values, steps = self.eval_metrics[metric], self.eval_steps
        else:
            check_choice(metric, "metric", ("loss", "grad_norm", *self.eval_metrics))
        if not values:
            raise ValueError(f"No values of {metric!r} were recorded yet; train first.")
        pick = min if mode == "min" else max
        i = pick(range(len(values)), key=values.__getitem__)
        return steps[i], values[i]

    def to_dict(self) -> dict:
        """A plain dictionary of lists (JSON-friendly)."""
        return {
            "loss": list(self.loss),
            "grad_norm": list(self.grad_norm),
            "wall_time": list(self.wall_time),
            "eval_steps": list(self.eval_steps),
            "eval_metrics": {k: list(v) for k, v in self.eval_metrics.items()},
            "stopped_early": self.stopped_early,
        }

    def plot(self, *, log_loss: bool = True) -> Figure:
        """Loss per update (left axis) and gradient norm before clipping (right axis).

        Evaluation metrics are drawn as markers on the loss axis.

        Returns:
            A matplotlib ``Figure``.
        """
        fig = Figure(figsize=(7, 3.5), layout="constrained")
        ax = fig.add_subplot()
        steps = range(1, self.steps + 1)
        ax.plot(steps, self.loss, color="C0", label="train loss")
        for j, (name, values) in enumerate(self.eval_metrics.items()):
            ax.plot(self.eval_steps, values, "o-", ms=3, color=f"C{j + 2}", label=name)
        if log_loss and self.loss and min(self.loss) > 0:
            ax.set_yscale("log")
        ax.set_xlabel("update")
        ax.set_ylabel("loss")
        ax2 = ax.twinx()
        ax2.plot(steps, self.grad_norm, color="C1", alpha=0.5, lw=0.8, label="grad norm")
        ax2.set_ylabel("gradient norm (before clipping)", color="C1")
        lines = ax.get_lines() + ax2.get_lines()
        ax.legend(lines, [line.get_label() for line in lines], loc="upper right")
        return fig


def _pairs(batches) -> Callable[[int], tuple]:
    """Turn ``batches`` (a callable of the step or an iterable) into a step -> pair function."""
    if callable(batches):
        return batches
    if isinstance(batches, Iterable):
        iterator = iter(batches)

        def next_pair(step: int) -> tuple:
            try:
                return next(iterator)
            except StopIteration:
                raise ValueError(
                    f"batches ran out after {step} pairs; pass fewer steps or a callable "
                    f"step -> (inputs, targets) that makes a fresh batch every step."
                ) from None

        return next_pair
    raise TypeError(
        f"batches must be a callable step -> (inputs, targets) or an iterable of such pairs, "
        f"got {type(batches).__name__}."
    )


def train(
    model: torch.nn.Module,
    batches,
    loss_fn: Callable,
    *,
    steps: int,
    optimizer: str | torch.optim.Optimizer = "adam",
    lr: float = 1e-3,
    clip_norm: float | None = None,
    clip_value: float | None = None,
    progress: bool = True,
    eval_fn: Callable | None = None,
    eval_every: int = 100,
    stop_when: Callable[[History], bool] | None = None,
    seed: int | None = None,
) -> History:
    """Train ``model`` for ``steps`` updates and record what happened.

    Every update: get a pair ``(inputs, targets)``, compute
    ``loss_fn(model(inputs), targets)``, backpropagate, log the loss and the global
    gradient norm (before clipping), clip if asked, and take an optimizer step.

    Args:
        model: a module; ``model(inputs)`` returns the predictions. When ``inputs`` is a
            tuple, it is unpacked: ``model(*inputs)`` (e.g. ``(x, y_prev)`` for a
            teacher-forced output-feedback model).
        batches: a callable ``step -> (inputs, targets)`` called with ``step = 0, 1, ...``
            (e.g. a fresh random batch each time), or an iterable of such pairs.
        loss_fn: ``loss_fn(predictions, targets)`` returns a scalar tensor.
        steps: the largest number of updates.
        optimizer: ``"adam"``, ``"sgd"`` or a ready ``torch.optim.Optimizer``.
        lr: learning rate, used when ``optimizer`` is a name.
        clip_norm: if given, rescale the gradients so that their global norm is at most
            this (:func:`clip_grad_norm`).
        clip_value: if given, clamp every gradient entry to ``[-clip_value, clip_value]``.
        progress: show a progress bar (works in Jupyter and in a terminal).
        eval_fn: ``eval_fn(model)`` returns a number or a dict of named numbers, e.g. the
            test MSE; it runs every ``eval_every`` updates and after the last one, in
            eval mode and without gradients.
        eval_every: how often to evaluate, in updates.
        stop_when: ``stop_when(history)`` is asked after every update; True stops early,
            e.g. ``lambda h: h.eval_metrics and h.eval_metrics["mse"][-1] < 0.01``.
        seed: if given, seeds torch's global generator before the first update (for
            dropout or batches drawn from it).

    Returns:
        A :class:`History`.

    Raises:
        NonFiniteLossError: the loss became NaN or infinite; the message names the update.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    if not callable(loss_fn):
        raise TypeError(
            f"loss_fn must be callable (predictions, targets) -> loss, e.g. "
            f"torch.nn.functional.mse_loss; got {type(loss_fn).__name__}."
        )
    steps = check_int(steps, "steps", min_value=1)
    eval_every = check_int(eval_every, "eval_every", min_value=1)
    if clip_norm is not None:
        clip_norm = check_float(clip_norm, "clip_norm", min_value=0.0, strict_min=True)
    if clip_value is not None:
        clip_value = check_float(clip_value, "clip_value", min_value=0.0, strict_min=True)
    if isinstance(optimizer, str):
        check_choice(optimizer, "optimizer", ("adam", "sgd"))
        lr = check_float(lr, "lr", min_value=0.0, strict_min=True)
        make = torch.optim.Adam if optimizer == "adam" else torch.optim.SGD
        optimizer = make(model.parameters(), lr=lr)
    elif not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f'optimizer must be "adam", "sgd" or a torch.optim.Optimizer, '
            f"got {type(optimizer).__name__}."
        )
    if seed is not None:
        torch.manual_seed(check_int(seed, "seed", min_value=0))
    get_pair = _pairs(batches)
    params = [p for p in model.parameters() if p.requires_grad]

    history = History()
    start = time.perf_counter()
    postfix_every = max(1, steps // 100)
    with tqdm(total=steps, disable=not progress, desc="training") as bar:
        for step in range(steps):
            inputs, targets = get_pair(step)
            model.train()
            optimizer.zero_grad()
            predictions = model(*inputs) if isinstance(inputs, tuple) else model(inputs)
            loss = loss_fn(predictions, targets)
            value = loss.item()
            if not math.isfinite(value):
                raise NonFiniteLossError(
                    f"The loss became {value} at update {step + 1} (step={step}). Training "
                    f"diverged: clip the gradients (e.g. clip_norm=1.0) or lower the "
                    f"learning rate."
                )
            loss.backward()
            norm = global_grad_norm(params)
            if clip_norm is not None:
                clip_grad_norm(params, clip_norm)
            if clip_value is not None:
                clip_grad_value(params, clip_value)
            optimizer.step()

            history.loss.append(value)
            history.grad_norm.append(norm.item())
            history.wall_time.append(time.perf_counter() - start)
            if eval_fn is not None and ((step + 1) % eval_every == 0 or step + 1 == steps):
                _evaluate(model, eval_fn, history)
            if step % postfix_every == 0 or step + 1 == steps:
                bar.set_postfix(loss=f"{value:.4g}", refresh=False)
            bar.update()
            if stop_when is not None and stop_when(history):
                history.stopped_early = step + 1 < steps
                break
    return history


def _evaluate(model: torch.nn.Module, eval_fn: Callable, history: History) -> None:
    model.eval()
    with torch.no_grad():
        result = eval_fn(model)
    if not isinstance(result, dict):
        result = {"eval": result}
    history.eval_steps.append(len(history.loss))
    for name, value in result.items():
        history.eval_metrics.setdefault(name, []).append(float(value))


# ------------------------------------------------------- teacher forcing and free running


def teacher_forced_inputs(targets: torch.Tensor, start) -> torch.Tensor:
    """The inputs of teacher forcing: the targets shifted right by one step.

    At step t the model gets the *true* output of step t - 1; at step 0 it gets
    ``start`` (a start token or start vector). The last target is never an input.

    Args:
        targets: token ids ``(B, T)`` (an integer dtype) or vectors ``(B, T, D)``.
        start: for tokens an int or ``(B,)`` ids; for vectors a number, a ``(D,)`` or a
            ``(B, D)`` tensor.

    Returns:
        Inputs of the same shape and dtype as ``targets``: ``inputs[:, 0] = start`` and
        ``inputs[:, t] = targets[:, t - 1]``.
    """
    check_tensor(targets, "targets", floating=False)
    if targets.dim() not in (2, 3):
        raise ValueError(
            f"targets must be token ids (B, T) or vectors (B, T, D), got shape "
            f"{tuple(targets.shape)}."
        )
    if targets.dim() == 3 and not targets.is_floating_point():
        raise TypeError(f"vector targets (B, T, D) must be floating point, got {targets.dtype}.")
    if targets.dim() == 2 and targets.is_floating_point():
        raise TypeError(
            f"token targets (B, T) must have an integer dtype, got {targets.dtype}; "
            f"for one number per step use shape (B, T, 1)."
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
    return torch.cat([first.unsqueeze(1), targets[:, :-1]], dim=1)


def free_running(
    step_fn: Callable,
    first_input: torch.Tensor,
    steps: int,
    *,
    state=None,
    to_input: Callable | None = None,
) -> tuple[torch.Tensor, object]:
    """Run an autoregressive model on its own outputs, as at test time.

    ``output_t, state = step_fn(input_t, state)`` and then ``input_{t+1} =
    to_input(output_t)``.

    Args:
        step_fn: ``(input_t, state) -> (output_t, state)``; see the module docstring.
        first_input: the input of step 0, ``(B,)`` token ids or ``(B, D)`` vectors.
        steps: number of steps, >= 1.
        state: the initial state, ``None`` for the model's default.
        to_input: turns an output into the next input, e.g.
            ``lambda logits: logits.argmax(-1)`` for tokens; default: the output itself.

    Returns:
        ``(outputs, state)``: outputs stacked over time, ``(B, steps, ...)``, and the
        final state.
    """
    check_tensor(first_input, "first_input", floating=False)
    steps = check_int(steps, "steps", min_value=1)
    inputs, outputs = first_input, []
    for _ in range(steps):
        output, state = step_fn(inputs, state)
        outputs.append(output)
        inputs = output if to_input is None else to_input(output)
    return torch.stack(outputs, dim=1), state


# ------------------------------------------------------------------ scheduled sampling
#
# Bengio et al. (2015), "Scheduled sampling for sequence prediction with recurrent neural
# networks". At training update i, each input is the TRUE previous token with probability
# eps_i and the model's own previous sample otherwise. eps_i starts near 1 (teacher
# forcing) and decays, so the model gradually learns from its own mistakes.


@dataclass(frozen=True)
class LinearSchedule:
    """``eps_i = max(eps_min, k - c * i)``, the probability of feeding the TRUE token.

    Careful: several libraries define the scheduled-sampling probability the other way
    round, as the chance of feeding the model's own token (``1 - eps``). Here ``eps``
    follows Bengio et al. (2015): 1 means pure teacher forcing, 0 pure free running.

    Args:
        k: the starting probability, in [0, 1].
        c: the decrease per update, >= 0.
        eps_min: the floor, in [0, k].
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
    """``eps_i = k ** i``, the probability of feeding the TRUE token.

    Careful: several libraries define the scheduled-sampling probability the other way
    round, as the chance of feeding the model's own token (``1 - eps``). Here ``eps``
    follows Bengio et al. (2015): 1 means pure teacher forcing, 0 pure free running.

    Args:
        k: the decay factor per update, 0 < k < 1 (e.g. 0.999).
    """

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

    Stays near 1 for roughly ``k * ln(k)`` updates and then falls off smoothly.

    Careful: several libraries define the scheduled-sampling probability the other way
    round, as the chance of feeding the model's own token (``1 - eps``). Here ``eps``
    follows Bengio et al. (2015): 1 means pure teacher forcing, 0 pure free running.

    Args:
        k: the time scale, >= 1.
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


def _generator(seed) -> torch.Generator | None:
    """A ``torch.Generator`` from an int seed; a generator is used as is; None -> None."""
    if seed is None or isinstance(seed, torch.Generator):
        return seed
    return torch.Generator().manual_seed(check_int(seed, "seed", min_value=0))


def scheduled_sampling_step(
    true_input: torch.Tensor,
    model_input: torch.Tensor,
    eps: float,
    *,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Choose, for every sequence separately, the true input or the model's own sample.

    A coin is flipped for each of the ``B`` sequences: with probability ``eps`` the true
    input is fed, otherwise the model's sample. The sample is DETACHED, so no gradient
    flows back through it (the model does not learn through its own feedback).

    Args:
        true_input: ``(B,)`` token ids or ``(B, D)`` vectors.
        model_input: the model's sample from the previous step, same shape and dtype.
        eps: probability of the TRUE input, in [0, 1] (Bengio et al. 2015; some libraries
            use the opposite convention).
        generator: a ``torch.Generator`` for reproducible coins.

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
    used_true = (torch.rand(batch, generator=generator) < eps).to(true_input.device)
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

    Step 0 gets ``start``. At every later step t, each sequence independently gets the
    true previous target ``targets[:, t - 1]`` with probability ``eps``, or else the
    model's own sample ``to_input(output_{t-1})``, detached. ``eps = 1`` is teacher
    forcing, ``eps = 0`` free running.

    Args:
        step_fn: ``(input_t, state) -> (output_t, state)``; see the module docstring.
        targets: token ids ``(B, T)`` or vectors ``(B, T, D)``.
        start: start token or vector, as in :func:`teacher_forced_inputs`.
        eps: probability of feeding the TRUE token, in [0, 1], e.g. ``schedule(i)``.
        to_input: turns an output into an input, e.g. ``lambda logits: logits.argmax(-1)``
            or a sampler; default: the output itself.
        state: the initial state, ``None`` for the model's default.
        seed: an int or a ``torch.Generator`` for reproducible coins.

    Returns:
        ``(outputs, state, used_true)``: outputs ``(B, T, ...)`` for the loss against
        ``targets``, the final state, and ``(B, T)`` bool, True where the true input was
        fed (always True at step 0).
    """
    true_inputs = teacher_forced_inputs(targets, start)
    eps = check_float(eps, "eps", min_value=0.0, max_value=1.0)
    generator = _generator(seed)
    inputs = true_inputs[:, 0]
    used = [torch.ones(targets.shape[0], dtype=torch.bool, device=targets.device)]
    outputs = []
    for t in range(targets.shape[1]):
        if t > 0:
            sample = outputs[-1] if to_input is None else to_input(outputs[-1])
            inputs, used_true = scheduled_sampling_step(
                true_inputs[:, t], sample, eps, generator=generator
            )
            used.append(used_true)
        output, state = step_fn(inputs, state)
        outputs.append(output)
    return torch.stack(outputs, dim=1), state, torch.stack(used, dim=1)


# -------------------------------------------------------------- autoregressive sampling


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

    Args:
        step_fn: ``(tokens (B,), state) -> (logits (B, V), state)``.
        start: the first input, an int (one sequence) or ``(B,)`` token ids.
        steps: the largest number of tokens to generate.
        strategy: ``"greedy"`` (most likely token), ``"temperature"`` (sample from
            ``softmax(logits / temperature)``) or ``"top_k"`` (the same, restricted to
            the ``k`` most likely tokens).
        temperature: > 0; below 1 sharpens the distribution, above 1 flattens it.
        k: for ``"top_k"``, 1 <= k <= V.
        seed: an int or a ``torch.Generator``; ``None`` uses torch's global generator.
        stop_token: once a sequence emits it, the rest of that sequence is filled with
            it; generation ends early when every sequence has stopped.
        state: the initial state, ``None`` for the model's default.

    Returns:
        The generated token ids ``(B, n)``, ``n <= steps``, without the start token.
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
    generator = _generator(seed)
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
                pick = torch.multinomial(scaled.softmax(-1), 1, generator=generator)
                tokens = (pick if index is None else index.gather(-1, pick)).squeeze(-1)
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
    is right, the draws do not agree with each other. With next-word probabilities
    learned from "I think therefore I am", "I like machine learning" and "I am not just
    a neural network", it can produce "I like just ...". :func:`sample_sequence` avoids
    this by feeding each sample back.

    Args:
        probs: ``(T, V)`` probabilities, each row summing to 1.
        seed: an int or a ``torch.Generator`` for reproducible draws.

    Returns:
        Token ids ``(T,)``.
    """
    check_tensor(probs, "probs", ("T", "V"))
    if bool((probs < 0).any()) or not torch.allclose(
        probs.sum(-1), torch.ones((), dtype=probs.dtype), atol=1e-4
    ):
        raise ValueError(
            "every row of probs must be non-negative and sum to 1; turn logits into "
            "probabilities with logits.softmax(-1)."
        )
    return torch.multinomial(probs, 1, generator=_generator(seed)).squeeze(-1)
