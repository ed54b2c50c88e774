"""Right and wrong answers for notebook 07's scheduled-sampling training loop."""

from __future__ import annotations

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
}
