"""The train loop (:func:`train`), gradient clipping as ``torch.nn.utils`` does it, and a
learning-rate schedule (:func:`cosine_decay`)."""

import copy
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from rnncourse._random import generator
from rnncourse._validation import check_choice, check_float, check_int

__all__ = [
    "NonFiniteLossError", "History", "train", "cosine_decay", "global_grad_norm",
    "clip_grad_norm", "clip_grad_value"
]  # fmt: skip


def _grads(parameters) -> list[torch.Tensor]:
    """The gradients of ``parameters`` (a tensor or an iterable), skipping ``None``."""
    params = [parameters] if isinstance(parameters, torch.Tensor) else list(parameters)
    for p in params:
        if not isinstance(p, torch.Tensor):
            raise TypeError(
                f"parameters must be tensors (e.g. model.parameters()), got {type(p).__name__}."
            )
    return [p.grad for p in params if p.grad is not None]


def _norm(grads: list[torch.Tensor]) -> torch.Tensor:
    if not grads:
        return torch.tensor(0.0)
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))


@torch.no_grad()
def global_grad_norm(parameters) -> torch.Tensor:
    """``||g|| = sqrt(sum_p ||grad_p||^2)``, a scalar tensor, for ``parameters`` (a tensor or
    an iterable of tensors); those without a gradient are skipped (none at all: 0)."""
    return _norm(_grads(parameters))


@torch.no_grad()
def clip_grad_norm(parameters, max_norm: float) -> torch.Tensor:
    """Scale all gradients in place by ``min(1, max_norm / (||g|| + 1e-6))``, as
    ``torch.nn.utils.clip_grad_norm_`` does; returns ``||g||`` before clipping."""
    max_norm = check_float(max_norm, "max_norm", min_value=0.0, strict_min=True)
    grads = _grads(parameters)
    total = _norm(grads)
    scale = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.mul_(scale)
    return total


@torch.no_grad()
def clip_grad_value(parameters, clip_value: float) -> None:
    """Clamp every gradient entry to ``[-clip_value, clip_value]`` in place, as
    ``torch.nn.utils.clip_grad_value_`` does (this can turn the update)."""
    clip_value = check_float(clip_value, "clip_value", min_value=0.0, strict_min=True)
    for g in _grads(parameters):
        g.clamp_(min=-clip_value, max=clip_value)


def cosine_decay(steps: int, floor: float = 0.01) -> Callable[[int], float]:
    """``u -> floor + (1 - floor) (1 + cos(pi u / steps)) / 2`` (``floor`` after ``steps``),
    a learning-rate factor for ``train(..., lr_schedule=cosine_decay(steps))``."""
    steps = check_int(steps, "steps", min_value=1)
    floor = check_float(floor, "floor", min_value=0.0, max_value=1.0)

    def factor(u: int) -> float:
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(u, steps) / steps))

    return factor


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite during :func:`train`."""


@dataclass
class History:
    """What :func:`train` recorded: per update ``loss``, ``grad_norm`` (before clipping),
    ``wall_time`` (seconds, evaluations not counted), ``logged`` (other numbers ``update``
    returned); ``eval_metrics`` at updates ``eval_steps``; and the ``reason`` it stopped:
    ``"steps"`` (all done), ``"target"``, ``"seconds"``, ``"patience"`` or ``"stop_when"``."""

    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    wall_time: list[float] = field(default_factory=list)
    logged: dict[str, list[float]] = field(default_factory=dict)
    eval_steps: list[int] = field(default_factory=list)
    eval_metrics: dict[str, list[float]] = field(default_factory=dict)
    reason: str = "steps"

    @property
    def steps(self) -> int:
        """Number of updates done."""
        return len(self.loss)

    @property
    def seconds(self) -> float:
        """Seconds of training, evaluations not counted."""
        return self.wall_time[-1] if self.wall_time else 0.0

    @property
    def stopped_early(self) -> bool:
        """True when a stop rule ended training before ``steps`` updates."""
        return self.reason != "steps"

    def best(self, metric: str | None = None, mode: str = "min") -> tuple[int, float]:
        """``(step, value)``: the best value of ``metric`` (``"loss"``, ``"grad_norm"`` or
        an evaluation metric; ``None``: the first evaluation metric, else ``"loss"``) by
        ``mode`` (``"min"`` or ``"max"``) and the update count where it was reached."""
        check_choice(mode, "mode", ("min", "max"))
        if metric is None:
            metric = next(iter(self.eval_metrics), "loss")
        check_choice(metric, "metric", ("loss", "grad_norm", *self.eval_metrics))
        if metric in ("loss", "grad_norm"):
            values, steps = getattr(self, metric), range(1, self.steps + 1)
        else:
            values, steps = self.eval_metrics[metric], self.eval_steps
        if not values:
            raise ValueError(f"No values of {metric!r} were recorded yet; train first.")
        i = (min if mode == "min" else max)(range(len(values)), key=values.__getitem__)
        return steps[i], values[i]


def _batch_source(batches, seed) -> Callable[[int], tuple]:
    """``batches`` as a function of the update number (see :func:`train`)."""
    if callable(batches):
        if seed is None:
            return batches
        g = generator(seed)
        return lambda step: batches(g)
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


def _optimizer(optimizer, model, lr) -> torch.optim.Optimizer:
    if isinstance(optimizer, str):
        check_choice(optimizer, "optimizer", ("adam", "sgd"))
        lr = check_float(lr, "lr", min_value=0.0, strict_min=True)
        make = torch.optim.Adam if optimizer == "adam" else torch.optim.SGD
        return make(model.parameters(), lr=lr)
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f'optimizer must be "adam", "sgd" or a torch.optim.Optimizer, '
            f"got {type(optimizer).__name__}."
        )
    return optimizer


def _check_hooks(loss_fn, update, clip, clip_norm, clip_value) -> None:
    for name, fn in (("loss_fn", loss_fn), ("update", update), ("clip", clip)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{name} must be callable or None, got {type(fn).__name__}.")
    if (loss_fn is None) == (update is None):
        raise TypeError(
            "give loss_fn (predictions, targets) -> loss, e.g. torch.nn.functional.mse_loss, "
            "or update (model, inputs, targets, optimizer) -> loss, not both or neither."
        )
    if update is not None and (clip or clip_norm or clip_value):
        raise TypeError("update performs the whole update: clip inside it, not with train.")
    if clip is not None and clip_norm is None:
        raise TypeError("clip needs clip_norm, the max_norm it is called with.")


def train(
    model: torch.nn.Module,
    batches,
    loss_fn: Callable | None = None,
    *,
    steps: int,
    optimizer: str | torch.optim.Optimizer = "adam",
    lr: float = 1e-3,
    lr_schedule: Callable[[int], float] | None = None,
    clip_norm: float | None = None,
    clip_value: float | None = None,
    clip: Callable | None = None,
    update: Callable | None = None,
    eval_fn: Callable | None = None,
    eval_every: int = 100,
    keep_best: bool = False,
    target: float | None = None,
    seconds: float | None = None,
    patience: int | None = None,
    stop_when: Callable[[History], bool] | None = None,
    report: Callable[[History], None] | None = None,
    seed: int | torch.Generator | None = None,
    progress: bool = True,
) -> History:
    """Train ``model`` for at most ``steps`` updates; returns a :class:`History`.

    Each update backpropagates ``loss_fn(model(inputs), targets)`` (``model(*inputs)`` for
    a tuple), logs the loss and the gradient norm before clipping, clips if asked, steps
    and sets the learning rate to ``lr * lr_schedule(updates done)``. A NaN or infinite
    loss raises :class:`NonFiniteLossError`. The model ends in eval mode.

    Args:
        batches: a callable ``step -> (inputs, targets)`` or an iterable of pairs. With
            ``seed`` (an int or a ``torch.Generator``) the callable gets one private
            generator instead of ``step``; the global RNG is never used.
        optimizer: ``"adam"``, ``"sgd"`` (at ``lr``) or a ``torch.optim.Optimizer``.
        lr_schedule: the learning rate's factor after ``u`` updates, e.g. :func:`cosine_decay`.
        clip_norm, clip_value: :func:`clip_grad_norm` or :func:`clip_grad_value` each update.
        clip: ``clip(grads, clip_norm) -> list of clipped grads``, not :func:`clip_grad_norm`.
        update: ``update(model, inputs, targets, optimizer)`` does a whole update instead of
            ``loss_fn``; returns the loss or a dict with ``"loss"`` (maybe ``"grad_norm"``).
        eval_fn: ``eval_fn(model)`` -> a score (lower is better) or a dict led by it, run
            without gradients in eval mode every ``eval_every`` updates and after the last.
        keep_best: end with the weights that scored best (needs ``eval_fn``).
        target, patience: stop once the score is <= ``target``, or after ``patience``
            evaluations without a new best.
        seconds: stop after this much training time (checked at evaluations, or after
            every update without ``eval_fn``).
        stop_when: ``stop_when(history) -> bool``, asked after every update.
        report: ``report(history)``, called after every evaluation.
        progress: show a progress bar.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    _check_hooks(loss_fn, update, clip, clip_norm, clip_value)
    steps = check_int(steps, "steps", min_value=1)
    eval_every = check_int(eval_every, "eval_every", min_value=1)
    clip_norm, clip_value = (
        None if v is None else check_float(v, name, min_value=0.0, strict_min=True)
        for name, v in (("clip_norm", clip_norm), ("clip_value", clip_value))
    )
    patience = None if patience is None else check_int(patience, "patience", min_value=1)
    if keep_best and eval_fn is None:
        raise TypeError("keep_best needs eval_fn, the score that picks the best weights.")
    optimizer = _optimizer(optimizer, model, lr)
    schedule = lr_schedule and torch.optim.lr_scheduler.LambdaLR(optimizer, lr_schedule)
    get_pair = _batch_source(batches, seed)
    params = [p for p in model.parameters() if p.requires_grad]

    history = History()
    best, best_state, waited, spent = math.inf, None, 0, 0.0
    with tqdm(total=steps, disable=not progress, desc="training") as bar:
        for step in range(steps):
            start = time.perf_counter()
            inputs, targets = get_pair(step)
            model.train()
            if update is None:
                logged = _update(model, inputs, targets, loss_fn, optimizer, params, clip,
                                 clip_norm, clip_value)  # fmt: skip
            else:
                logged = update(model, inputs, targets, optimizer)
                logged = dict(logged) if isinstance(logged, dict) else {"loss": logged}
                if "loss" not in logged:
                    raise TypeError("update must return the loss, or a dict with a 'loss'.")
            logged = {k: float(torch.as_tensor(v).detach()) for k, v in logged.items()}
            value = logged.pop("loss")
            if not math.isfinite(value):
                raise NonFiniteLossError(
                    f"The loss became {value} at update {step + 1} (step={step}). Training "
                    f"diverged: clip the gradients (e.g. clip_norm=1.0) or lower the "
                    f"learning rate."
                )
            if schedule:
                schedule.step()
            spent += time.perf_counter() - start
            history.loss.append(value)
            history.wall_time.append(spent)
            if "grad_norm" in logged:
                history.grad_norm.append(logged.pop("grad_norm"))
            for name, number in logged.items():
                history.logged.setdefault(name, []).append(number)
            bar.set_postfix(loss=f"{value:.4g}", refresh=False)
            bar.update()
            at_eval = eval_fn is not None and ((step + 1) % eval_every == 0 or step + 1 == steps)
            if at_eval:
                score = _evaluate(model, eval_fn, history)
                if report is not None:
                    report(history)
                if score < best:
                    best, waited = score, 0
                    best_state = copy.deepcopy(model.state_dict()) if keep_best else None
                else:
                    waited += 1
            if at_eval and target is not None and score <= target:
                history.reason = "target"
            elif (at_eval or eval_fn is None) and seconds is not None and spent >= seconds:
                history.reason = "seconds"
            elif at_eval and patience is not None and waited >= patience:
                history.reason = "patience"
            elif stop_when is not None and stop_when(history) and step + 1 < steps:
                history.reason = "stop_when"
            if history.reason != "steps":
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return history


def _update(model, inputs, targets, loss_fn, optimizer, params, clip, clip_norm, clip_value):
    """The built-in update; returns ``{"loss": tensor, "grad_norm": tensor}``."""
    optimizer.zero_grad()
    predictions = model(*inputs) if isinstance(inputs, tuple) else model(inputs)
    loss = loss_fn(predictions, targets)
    if not torch.isfinite(loss):
        return {"loss": loss}
    loss.backward()
    norm = global_grad_norm(params)
    if clip is not None:
        with_grad = [p for p in params if p.grad is not None]
        clipped = clip([p.grad.clone() for p in with_grad], clip_norm)
        if not isinstance(clipped, (list, tuple)) or len(clipped) != len(with_grad):
            raise TypeError(f"clip must return a list of {len(with_grad)} gradient tensors.")
        with torch.no_grad():
            for p, g in zip(with_grad, clipped, strict=True):
                p.grad.copy_(g)
    elif clip_norm is not None:
        clip_grad_norm(params, clip_norm)
    if clip_value is not None:
        clip_grad_value(params, clip_value)
    optimizer.step()
    return {"loss": loss, "grad_norm": norm}


def _evaluate(model: torch.nn.Module, eval_fn: Callable, history: History) -> float:
    """Run ``eval_fn`` in eval mode without gradients, record it and return the score."""
    model.eval()
    with torch.no_grad():
        result = eval_fn(model)
    result = result if isinstance(result, dict) else {"eval": result}
    history.eval_steps.append(len(history.loss))
    for name, value in result.items():
        history.eval_metrics.setdefault(name, []).append(float(value))
    return float(next(iter(result.values())))
