"""Checker for notebook 07's capstone: a training loop with scheduled sampling.

The student's loop and the reference run the same small models from the same weights and
draw from the same ``torch.Generator`` in the same order, so every loss and every trained
weight must agree. A typical mistake changes the draws or the gradients, which is how
each one is recognised.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
import torch.nn.functional as F

from rnncourse import generation

from .._random import generator
from ._contract import call
from ._framework import close, compare, exercise, torch_module

# The schedule the checker passes: eps_i = 0.85, 0.6, 0.35, 0.1 at updates 0..3, so both
# kinds of input occur and a reversed or shifted schedule shows.
UPDATES = 4


def _schedule(i: int) -> float:
    return 0.85 - 0.25 * i


def _train(step, optimizer, batches, schedule, loss_fn, draws, tokens=False, bug=""):
    """The reference loop; ``bug`` names a mistake (or a valid variant) to reproduce.

    Per step t, after the model's output o: (tokens only) a sample from softmax(o), then
    the coins ``torch.rand(B) < eps``; the next input is the true ``targets[:, t]`` where a
    coin is True and the model's own (detached) value elsewhere.
    """
    losses = []
    for i, (first, targets) in enumerate(batches):
        eps = schedule(i + 1 if bug == "from_one" else i)
        B, T = targets.shape[:2]
        once = None
        if bug in ("per_sequence", "per_batch"):
            once = torch.rand(B if bug == "per_sequence" else 1, generator=draws)
        x, h, outputs = first, None, []
        for t in range(T):
            o, h = step(x, h)
            outputs.append(o)
            if bug == "skip_last" and t == T - 1:
                break
            u = torch.rand(B, generator=draws) if bug == "coin_first" else None
            if not tokens:
                own = o if bug == "no_detach" else o.detach()
            elif bug == "argmax":
                own = o.argmax(-1)
            elif bug == "multinomial":
                own = torch.multinomial(o.detach().softmax(-1), 1, generator=draws)[:, 0]
            else:
                own = generation.sample_categorical(o.detach().softmax(-1), seed=draws)
            if once is not None:
                u = once.expand(B)
            elif u is None:
                u = torch.rand(B, generator=draws)
            if bug == "reversed":
                coins = u >= eps
            elif bug == "one_minus":
                coins = u < 1 - eps
            else:
                coins = u < eps
            x = torch.where(coins.view(B, *[1] * (own.dim() - 1)), targets[:, t], own)
        loss = loss_fn(torch.stack(outputs, dim=1), targets)
        if bug != "no_zero_grad":
            optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def _reference(step, optimizer, batches, schedule, loss_fn, generator, tokens=False):
    """The course's answer to ``train_scheduled_sampling`` (see the checker's docstring)."""
    return _train(step, optimizer, batches, schedule, loss_fn, generator, tokens)


class _Net(torch.nn.Module):
    """A tiny float32 model: (x_t (B, D) or tokens (B,), h) -> (o_t (B, D or V), h)."""

    def __init__(self, seed: int, D: int, H: int, V: int | None):
        super().__init__()
        g = generator(seed)
        self.emb = None if V is None else torch_module(g, torch.nn.Embedding, V, D, scale=1.0)
        self.cell = torch_module(g, torch.nn.RNNCell, D, H, scale=0.7)
        self.out = torch_module(g, torch.nn.Linear, H, D if V is None else V, scale=0.7)
        self.float()

    def step(self, x, h=None):
        h = self.cell(x if self.emb is None else self.emb(x), h)
        return self.out(h), h


def _token_loss(logits, targets):
    return F.cross_entropy(logits.transpose(1, 2), targets)


def _case(seed: int, B: int, T: int, D: int, V: int | None):
    """(fresh model factory, batches, loss_fn) for one case; every call builds equal models."""
    g = generator(seed)
    batches = []
    for _ in range(UPDATES):
        if V is None:
            series = torch.randn(B, T + 1, D, generator=g)
            batches.append((series[:, 0], series[:, 1:]))
        else:
            tokens = torch.randint(0, V, (B, T + 1), generator=g)
            batches.append((tokens[:, 0], tokens[:, 1:]))
    return (lambda: _Net(1000 + seed, D, 4, V)), batches, (F.mse_loss if V is None else _token_loss)


def _run(fn: Callable, make, batches, loss_fn, draws_seed: int, tokens: bool, bug=None):
    """Train a fresh model with ``fn`` (or the reference with ``bug``): (losses, weights)."""
    net = make()
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    draws = generator(draws_seed)
    batches = copy.deepcopy(batches)
    if bug is None:
        name = "train_scheduled_sampling"
        losses = call(name, fn, net.step, opt, batches, _schedule, loss_fn, draws, tokens=tokens)
    else:
        losses = _train(net.step, opt, batches, _schedule, loss_fn, draws, tokens, bug)
    weights = torch.cat([p.detach().reshape(-1) for p in net.parameters()])
    return losses, weights


MISTAKES = {
    "no_detach": "gradient flows back through the fed-back prediction: feed "
    "o.detach(), so the model is not trained through its own inputs.",
    "per_sequence": "one coin per sequence was drawn for the whole sequence; flip a new coin "
    "at every step, torch.rand(B, generator=generator) < eps.",
    "per_batch": "a single coin was drawn for the whole batch; every sequence needs its own "
    "coin at every step, torch.rand(B, generator=generator) < eps.",
    "reversed": "the coins are reversed: eps is the probability of the TRUE input, so "
    "feed targets[:, t] where torch.rand(B) < eps.",
    "one_minus": "the coins are reversed: eps is the probability of the TRUE input, so "
    "feed targets[:, t] where torch.rand(B) < eps (not 1 - eps).",
    "from_one": "the schedule is called with the update number counted from 1; the first "
    "update is i = 0: eps = schedule(i).",
    "argmax": "the most likely token (argmax) is fed back; draw a sample instead, "
    "generation.sample_categorical(o.softmax(-1), seed=generator), as at generation time.",
    "no_zero_grad": "the gradients accumulate over updates: call optimizer.zero_grad() "
    "before loss.backward().",
}
# Valid orders of the draws, also accepted.
VARIANTS = ("coin_first", "skip_last", "multinomial")


@exercise("07", reference=_reference)
def train_scheduled_sampling(student_fn) -> int:
    """Check ``train_scheduled_sampling(step, optimizer, batches, schedule, loss_fn,
    generator, tokens=False) -> losses``.

    ``step(x_t, h) -> (o_t, h)`` is the model's step (``h`` is ``None`` at the start);
    ``batches`` a list of ``(first, targets)`` with ``first`` the first input, ``(B, D)``
    values or ``(B,)`` tokens, and ``targets`` ``(B, T, D)`` or ``(B, T)``; ``o_t`` is
    ``(B, D)`` or logits ``(B, V)``. Update ``i`` runs the model over ``targets`` with
    ``eps = schedule(i)``: after each step, the next input is ``targets[:, t]`` where
    ``torch.rand(B, generator=generator) < eps`` and otherwise the model's own output,
    detached (values), or a token drawn from ``softmax(o_t)`` with
    ``generation.sample_categorical(..., seed=generator)`` first (tokens). Then
    ``loss_fn(outputs (B, T, ...), targets)``, zero_grad, backward, step. Returns the
    losses, one float per update.
    """
    cases = [(0, 3, 4, 2, None), (1, 4, 3, 1, None), (2, 5, 4, 3, 6), (3, 4, 5, 2, 5)]
    for seed, B, T, D, V in cases:
        tokens = V is not None
        make, batches, loss_fn = _case(130 + seed, B, T, D, V)
        kind = f"tokens, V={V}" if tokens else f"values, D={D}"
        label = f"case {seed + 1} ({kind}, B={B}, T={T}, {UPDATES} updates)"
        got, weights = _run(student_fn, make, batches, loss_fn, 7 + seed, tokens)
        if isinstance(got, list | tuple) and all(isinstance(v, torch.Tensor) for v in got):
            got = [float(v.detach()) for v in got]
        for valid in ("", *VARIANTS):
            losses, right = _run(None, make, batches, loss_fn, 7 + seed, tokens, valid)
            if close(got, losses) and close(weights, right):
                break
        else:
            losses, right = _run(None, make, batches, loss_fn, 7 + seed, tokens, "")
            runs = {b: _run(None, make, batches, loss_fn, 7 + seed, tokens, b) for b in MISTAKES}
            mistakes = [(MISTAKES[bug], run[0]) for bug, run in runs.items()]
            compare(
                "train_scheduled_sampling",
                label,
                got,
                losses,
                mistakes=mistakes,
                shape_hints={
                    (): "return the list of losses, one per update, not only the last.",
                },
                hint="follow the order of the draws: per step, the sample (tokens only), "
                "then the coins torch.rand(B, generator=generator) < eps.",
                what="losses",
            )
            compare(
                "train_scheduled_sampling",
                label,
                weights,
                right,
                mistakes=[(MISTAKES[bug], run[1]) for bug, run in runs.items()],
                hint="the losses agree but the trained weights do not: zero the gradients, "
                "then loss.backward() and optimizer.step() once per update.",
                what="trained weights",
            )
    return len(cases)
