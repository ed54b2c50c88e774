"""A small training toolkit: a train loop with a progress bar, gradient clipping, a
gradient-norm log and a stop on a non-finite loss.

Teacher forcing, free running, scheduled sampling and autoregressive sampling live in
:mod:`rnncourse.generation`; their names are importable from here too.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from rnncourse._validation import check_choice, check_float, check_int

# Re-exported so that ``training.sample_sequence`` etc. keep working; they live in generation.
from rnncourse.generation import (  # noqa: F401
    ExponentialSchedule,
    InverseSigmoidSchedule,
    LinearSchedule,
    free_running,
    free_running_error,
    sample_categorical,
    sample_independently,
    sample_sequence,
    scheduled_sampling,
    scheduled_sampling_step,
    teacher_forced_inputs,
)

__all__ = [
    "NonFiniteLossError",
    "History",
    "train",
    "global_grad_norm",
    "clip_grad_norm",
    "clip_grad_value",
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

    def plot(self, *, log_loss: bool = True, title: str | None = None):
        """Loss per update, evaluation metrics as markers, and the gradient norm before
        clipping on a second axis: :func:`rnncourse.plots.plot_history` of this history.

        Returns:
            A matplotlib ``Figure``.
        """
        # The one reference upwards, to the view layer that draws every figure: made at
        # call time, so importing training never imports plots.
        from rnncourse import plots

        return plots.plot_history(self, log_loss=log_loss, title=title)


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
