"""Checker for notebook 07's capstone: a training loop with scheduled sampling."""

import copy
import functools
from collections.abc import Callable
from types import SimpleNamespace

import torch
import torch.nn.functional as F

from rnncourse import generation

from .._random import generator
from ._contract import call
from ._framework import close, compare, exercise, torch_module
from ._generation import course
from ._truncation import weights

UPDATES = 4  # eps = 0.85, 0.65, 0.45, 0.25 at updates 0..3: both kinds of input occur


def _schedule(i: int) -> float:
    return 0.85 - 0.2 * i


def _fit(optimizer, batches, schedule, loss_fn, outputs: Callable) -> list[float]:
    """One update per batch: ``loss_fn(outputs(first, targets, schedule(i)), targets)``,
    zero the gradients, backpropagate, step. Returns the losses."""
    losses = []
    for i, (first, targets) in enumerate(batches):
        loss = loss_fn(outputs(first, targets, schedule(i)), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def _sampler(draws: torch.Generator) -> Callable:
    """logits (B, V) -> a token (B,) drawn from their softmax, as generation samples."""
    return lambda o: generation.sample_categorical(o.detach().softmax(-1), seed=draws)


def _reference(step, optimizer, batches, schedule, loss_fn, generator, tokens=False):
    """The course's answer to ``train_scheduled_sampling``: generation.scheduled_sampling
    runs each sequence (the sample, then the coin, before every step but the first)."""
    to_input = _sampler(generator) if tokens else None

    def outputs(first, targets, eps):
        out, _, _ = generation.scheduled_sampling(
            step, targets, first, eps, to_input=to_input, seed=generator
        )
        return out

    return _fit(optimizer, batches, schedule, loss_fn, outputs)


def _mix(true, own, eps, draws):
    """The right coin flip: the true input where a uniform number lies below eps."""
    return generation.scheduled_sampling_step(true, own, eps, seed=draws)[0]


def _after_every_step(step, draws, own: Callable, mix: Callable = _mix) -> Callable:
    """outputs(first, targets, eps) of a loop that chooses the next input after every step,
    the last one too (whose draws go unused): the way most loops are written."""

    def outputs(first, targets, eps):
        x, h, out = first, None, []
        for t in range(targets.shape[1]):
            o, h = step(x, h)
            out.append(o)
            x = mix(targets[:, t], own(o), eps, draws)
        return torch.stack(out, dim=1)

    return outputs


def _rows(coins: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return coins.view(-1, *[1] * (like.dim() - 1))


def _token_loss(logits, targets):
    return F.cross_entropy(logits.transpose(1, 2), targets)


def _variants(step, opt, batches, draws, tokens: bool) -> dict[str | None, Callable]:
    """{what: a run of the loop}: the reference (None), the other valid loops and the typical
    mistakes that apply. Each run trains (changing the model and ``draws``): run one per
    fresh model and generator."""
    own = _sampler(draws) if tokens else (lambda o: o.detach())
    sched, loss = _schedule, (_token_loss if tokens else F.mse_loss)

    def fit(outputs, optimizer=opt, schedule=sched, data=batches):
        return lambda: _fit(optimizer, data, schedule, loss, outputs)

    def loop(mix=_mix, fed=own):
        return _after_every_step(step, draws, fed, mix)

    def coins(y):  # one uniform number per sequence
        return torch.rand(y.shape[0], generator=draws)

    runs = {
        None: lambda: _reference(step, opt, batches, sched, loss, draws, tokens),
        "after_last": fit(loop()),  # valid: it also draws after the last step
        "reversed": fit(loop(lambda y, o, eps, g: torch.where(_rows(coins(y) >= eps, y), y, o))),
        "one_minus": fit(loop(), schedule=lambda i: 1 - sched(i)),
        "per_batch": fit(
            loop(lambda y, o, eps, g: torch.where(torch.rand(1, generator=g) < eps, y, o))
        ),
        "from_one": fit(loop(), schedule=lambda i: sched(i + 1)),
        "first_target": fit(loop(), data=[(y[:, 0], y) for _, y in batches]),
        "no_zero_grad": fit(
            loop(), optimizer=SimpleNamespace(zero_grad=lambda: None, step=opt.step)
        ),
    }
    if tokens:
        multinomial = lambda o: torch.multinomial(o.detach().softmax(-1), 1, generator=draws)  # noqa: E731
        runs["multinomial"] = fit(loop(fed=lambda o: multinomial(o)[:, 0]))  # valid too
        runs["argmax"] = fit(loop(fed=lambda o: o.argmax(-1)))
    else:
        no_detach = lambda y, o, eps, g: torch.where(_rows(coins(y) < eps, y), y, o)  # noqa: E731
        runs["no_detach"] = fit(loop(no_detach, fed=lambda o: o))
    return runs


VALID = ("after_last", "multinomial")
MISTAKES = {
    "no_detach": "gradient flows back through the fed-back prediction: the model's own "
    "output must be detached before it becomes an input, so the model is not trained "
    "through its own inputs.",
    "reversed": "the coins are reversed: eps is the probability of the TRUE input, so the "
    "target goes where the uniform number lies below eps.",
    "one_minus": "the probability is reversed: eps itself is the chance of the TRUE input, "
    "not 1 - eps.",
    "per_batch": "a single coin was drawn for the whole batch; every sequence needs its own "
    "coin at every step.",
    "from_one": "the schedule is called with the update number counted from 1; the first "
    "update is i = 0.",
    "argmax": "the most likely token (argmax) is fed back; draw a sample from the softmax "
    "of the logits instead, as at generation time.",
    "first_target": "the first input is the first target; each sequence starts from its "
    "`first` input, and the targets are what the steps predict.",
    "no_zero_grad": "the gradients accumulate over updates: zero them before every backward pass.",
}


class _Net(torch.nn.Module):
    """A tiny model: (x_t (B, D) or tokens (B,), h) -> (o_t (B, D or V), h)."""

    def __init__(self, seed: int, D: int, H: int, V: int | None, dtype: torch.dtype):
        super().__init__()
        g = generator(seed)
        self.emb = None if V is None else torch_module(g, torch.nn.Embedding, V, D, scale=1.0)
        self.cell = torch_module(g, torch.nn.RNNCell, D, H, scale=0.7)
        self.out = torch_module(g, torch.nn.Linear, H, D if V is None else V, scale=0.7)
        self.to(dtype)

    def step(self, x, h=None):
        h = self.cell(x if self.emb is None else self.emb(x), h)
        return self.out(h), h


def _case(seed: int, B: int, T: int, D: int, V: int | None, dtype: torch.dtype):
    """(fresh model factory, batches) for one case; every call builds equal models."""
    g, batches = generator(seed), []
    for _ in range(UPDATES):
        if V is None:
            seq = torch.randn(B, T + 1, D, generator=g, dtype=torch.float64).to(dtype)
        else:
            seq = torch.randint(0, V, (B, T + 1), generator=g)
        batches.append((seq[:, 0], seq[:, 1:]))
    return (lambda: _Net(1000 + seed, D, 4, V, dtype)), batches


def _student(fn, make, batches, draws_seed: int, tokens: bool, dtype):
    """Train a fresh model with the student's ``fn``: (losses, trained weights)."""
    net = make()
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    loss_fn = _token_loss if tokens else F.mse_loss
    args = (net.step, opt, copy.deepcopy(batches), _schedule, loss_fn, generator(draws_seed))
    losses = call("train_scheduled_sampling", fn, *args, tokens=tokens, dtype=dtype)
    if isinstance(losses, list | tuple) and all(isinstance(v, torch.Tensor) for v in losses):
        losses = [float(v.detach()) for v in losses]
    return losses, weights(net)


def _course(make, batches, draws_seed: int, tokens: bool, variant: str | None = None):
    """The same with the reference (``variant`` None) or one of :func:`_variants`."""
    net = make()
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    runs = _variants(net.step, opt, copy.deepcopy(batches), generator(draws_seed), tokens)
    return runs[variant](), weights(net)


@exercise("07", reference=_reference, forbidden=course("scheduled_sampling"))
def train_scheduled_sampling(student_fn) -> int:
    """Check ``train_scheduled_sampling(step, optimizer, batches, schedule, loss_fn,
    generator, tokens=False) -> losses``, one float per update.

    ``step(x_t, h) -> (o_t, h)``, h ``None`` at the start; ``batches``: ``(first, targets)``
    pairs, ``first`` (B, D) values or (B,) tokens, ``targets`` (B, T, D) or (B, T); ``o_t``
    (B, D) or logits (B, V). Update i, with ``eps = schedule(i)``: after each step the
    detached output (with ``tokens``, ``generation.sample_categorical(softmax(o_t),
    seed=generator)``), then one coin per sequence, ``torch.rand(B, generator=generator) <
    eps``, picks the next input (``targets[:, t]`` if True); then ``loss_fn(outputs,
    targets)``, zero_grad, backward, step.
    """
    name = "train_scheduled_sampling"
    cases = [
        (0, 3, 4, 2, None, torch.float32),
        (1, 4, 3, 1, None, torch.float64),
        (2, 5, 4, 3, 6, torch.float32),
        (3, 4, 5, 2, 5, torch.float32),
    ]
    for seed, B, T, D, V, dtype in cases:
        tokens = V is not None
        make, batches = _case(130 + seed, B, T, D, V, dtype)
        kind = f"tokens, V={V}" if tokens else f"values, D={D}, {str(dtype)[6:]}"
        label = f"case {seed + 1} ({kind}, B={B}, T={T}, {UPDATES} updates)"
        got, trained = _student(student_fn, make, batches, 7 + seed, tokens, dtype)
        train = functools.partial(_course, make, batches, 7 + seed, tokens)
        valid = (train(v) for v in (None, *VALID) if v != "multinomial" or tokens)
        if any(close(got, losses) and close(trained, right) for losses, right in valid):
            continue
        losses, right = train()
        runs = {bug: train(bug) for bug in MISTAKES if bug != ("no_detach" if tokens else "argmax")}
        compare(
            name,
            label,
            got,
            losses,
            what="losses",
            mistakes=[(MISTAKES[bug], run[0]) for bug, run in runs.items()],
            shape_hints={(): "return the list of losses, one per update, not only the last."},
            hint="follow the order of the draws: per step, the sample (tokens only), "
            "then one coin per sequence, both from `generator`.",
        )
        mistakes = [(MISTAKES[bug], run[1]) for bug, run in runs.items()]
        hint = (
            "the losses agree but the trained weights do not: zero the gradients, "
            "backpropagate and take one optimizer step per update."
        )
        compare(name, label, trained, right, what="trained weights", mistakes=mistakes, hint=hint)
    return len(cases)
