"""Right and wrong answers for notebook 07's scheduled-sampling training loop."""

from __future__ import annotations

import math

import torch

from rnncourse import generation


def train_loop(step, optimizer, batches, schedule, loss_fn, generator, tokens=False, mode="right"):
    """A student's loop; ``mode`` plants one typical mistake."""
    losses = []
    for i, (first, targets) in enumerate(batches):
        eps = schedule(i + 1 if mode == "from_one" else i)
        B = targets.shape[0]
        per_seq = torch.rand(B, generator=generator) if mode == "per_seq" else None
        x, h, outputs = first, None, []
        for t in range(targets.shape[1]):
            o, h = step(x, h)
            outputs.append(o)
            if tokens and mode == "argmax":
                own = o.argmax(-1)
            elif tokens:
                own = generation.sample_categorical(o.softmax(-1), seed=generator)
            else:
                own = o if mode == "no_detach" else o.detach()
            u = per_seq if per_seq is not None else torch.rand(B, generator=generator)
            true = u >= eps if mode == "reversed" else u < eps
            x = torch.where(true if tokens else true[:, None], targets[:, t], own)
        loss = loss_fn(torch.stack(outputs, 1), targets)
        if mode != "no_zero_grad":
            optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def _wrong(mode):
    return lambda *a, **k: train_loop(*a, **k, mode=mode)


def sample_loop(step_fn, start, steps, mode="right"):
    token, h, out = start, None, []
    for _ in range(steps):
        logits, h2 = step_fn(start if mode == "nofeed" else token, h)
        h = None if mode == "reset" else h2
        token = torch.distributions.Categorical(logits=logits).sample()
        token = logits.argmax(-1) if mode == "argmax" else token
        out.append(logits if mode == "logits" else token)
    return torch.stack(out, 1)


def schedule(kind, i, k, c=0.0, eps_min=0.0, mode="right"):
    if kind == "linear":
        eps = k - c * i if mode == "nofloor" else max(eps_min, k - c * i)
        eps = min(eps_min, k - c * i) if mode == "min" else eps
    elif kind == "exponential":
        eps = k**i
    else:
        eps = k / (k + math.exp((-i if mode == "sign" else i) / (1 if mode == "no_scale" else k)))
    return 1 - eps if mode == "model" else eps


def coin_flip(true, model, eps, generator, mode="right"):
    B, T, _ = true.shape
    shape = {"per_seq": (B, 1), "per_number": true.shape}.get(mode, (B, T))
    coins = torch.rand(shape, generator=generator)
    coins = coins >= eps if mode == "reversed" else coins < eps
    fed = model if mode == "no_detach" else model.detach()
    return torch.where(coins if mode == "per_number" else coins.expand(B, T)[..., None], true, fed)


CASES = {
    "train_scheduled_sampling": (
        train_loop,
        [
            (_wrong("no_detach"), "gradient flows back"),
            (_wrong("per_seq"), "one coin per sequence"),
            (_wrong("reversed"), "coins are reversed"),
            (_wrong("argmax"), "argmax"),
            (_wrong("no_zero_grad"), "accumulate"),
            (_wrong("from_one"), "counted from 1"),
        ],
    ),
    "sampling_loop": (
        sample_loop,
        [
            (lambda *a: sample_loop(*a, mode="nofeed"), "not fed back"),
            (lambda *a: sample_loop(*a, mode="reset"), "state is not carried"),
            (lambda *a: sample_loop(*a, mode="logits"), "logits were returned"),
            (lambda *a: sample_loop(*a, mode="argmax"), "most likely one"),
        ],
    ),
    "next_token_targets": (
        lambda t: (t[:, :-1], t[:, 1:]),
        [
            (lambda t: (t[:, 1:], t[:, :-1]), "wrong way"),
            (lambda t: (t, t), "not shifted"),
            (lambda t: (t, t.roll(-1, 1)), "torch.roll"),
        ],
    ),
    "sampling_schedule": (
        schedule,
        [
            (lambda *a, **k: schedule(*a, **k, mode="model"), "MODEL's token"),
            (lambda *a, **k: schedule(*a, **k, mode="nofloor"), "floor"),
            (lambda *a, **k: schedule(*a, **k, mode="sign"), "exp(+i / k)"),
            (lambda *a, **k: schedule(*a, **k, mode="no_scale"), "not exp(i)"),
            (lambda *a, **k: schedule(*a, **k, mode="min"), "not min"),
        ],
    ),
    "coin_flip_inputs": (
        coin_flip,
        [
            (lambda *a: coin_flip(*a, mode="no_detach"), "without detaching"),
            (lambda *a: coin_flip(*a, mode="reversed"), "coins are reversed"),
            (lambda *a: coin_flip(*a, mode="per_seq"), "one coin per sequence"),
            (lambda *a: coin_flip(*a, mode="per_number"), "one coin per number"),
        ],
    ),
}
