"""Right and wrong answers for notebook 07: next-token targets, sampling, schedules, the coin
flip and the scheduled-sampling training loop."""

from __future__ import annotations

import math

import torch

from rnncourse import generation

# --- next_token_targets -------------------------------------------------------------------


def shift(tokens):
    return tokens[:, :-1], tokens[:, 1:]


def shift_narrow(tokens):
    T = tokens.shape[1]
    return tokens.narrow(1, 0, T - 1), tokens.narrow(1, 1, T - 1)


def shift_by_loop(tokens):
    pairs = [(tokens[:, t], tokens[:, t + 1]) for t in range(tokens.shape[1] - 1)]
    return torch.stack([a for a, _ in pairs], 1), torch.stack([b for _, b in pairs], 1)


# --- sampling_loop --------------------------------------------------------------------------


def sample_loop(step_fn, start, steps):
    token, h, out = start, None, []
    for _ in range(steps):
        logits, h = step_fn(token, h)
        token = torch.distributions.Categorical(logits=logits).sample()
        out.append(token)
    return torch.stack(out, 1)


def sample_multinomial(step_fn, start, steps):
    token, h, out = start, None, []
    for _ in range(steps):
        logits, h = step_fn(token, h)
        token = torch.multinomial(logits.softmax(-1), 1)[:, 0]
        out.append(token)
    return torch.stack(out, 1)


def sample_gumbel(step_fn, start, steps):
    """The Gumbel-max trick: argmax of logits plus Gumbel noise is a softmax sample."""
    tokens, h = [start], None
    for _ in range(steps):
        logits, h = step_fn(tokens[-1], h)
        noise = -torch.log(-torch.log(torch.rand(logits.shape, dtype=logits.dtype)))
        tokens.append((logits + noise).argmax(-1))
    return torch.stack(tokens[1:], 1)


def sample_wrong(step_fn, start, steps, mode):
    token, h, out = start, None, []
    for _ in range(steps):
        logits, h2 = step_fn(start if mode == "nofeed" else token, h)
        h = None if mode == "reset" else h2
        token = torch.distributions.Categorical(logits=logits).sample()
        token = logits.argmax(-1) if mode == "argmax" else token
        out.append(logits if mode == "logits" else token)
    if mode == "with_start":
        out = [start, *out[:-1]]
    return torch.stack(out, 0 if mode == "time_first" else 1)


# --- sampling_schedule ----------------------------------------------------------------------


def schedule(kind, i, k, c=0.0, eps_min=0.0):
    if kind == "linear":
        return max(eps_min, k - c * i)
    if kind == "exponential":
        return k**i
    if kind == "inverse_sigmoid":
        return k / (k + math.exp(i / k))
    raise ValueError(f"unknown kind {kind!r}")


def schedule_by_table(kind, i, k, c=0.0, eps_min=0.0):
    formulas = {
        "linear": lambda: max(eps_min, k - c * i),
        "exponential": lambda: math.exp(i * math.log(k)),
        "inverse_sigmoid": lambda: 1 / (1 + math.exp(i / k) / k),
    }
    if kind not in formulas:
        raise ValueError(f"kind must be one of {list(formulas)}")
    return formulas[kind]()


def schedule_wrong(kind, i, k, c=0.0, eps_min=0.0, mode="right"):
    if kind == "linear":
        eps = k - c * i if mode == "nofloor" else max(eps_min, k - c * i)
        eps = min(eps_min, k - c * i) if mode == "min" else eps
        eps = max(eps_min, k * (1 - c * i)) if mode == "k_times" else eps
    elif kind == "exponential":
        eps = math.exp(-k * i) if mode == "exp" else k**i
    elif kind == "inverse_sigmoid" or mode == "fall_through":
        eps = k / (k + math.exp((-i if mode == "sign" else i) / (1 if mode == "no_scale" else k)))
    else:
        raise (KeyError if mode == "key_error" else ValueError)(kind)
    return 1 - eps if mode == "model" else eps


# --- coin_flip_inputs -----------------------------------------------------------------------


def coin_flip(true_input, model_output, eps, generator):
    coins = torch.rand(true_input.shape[0], generator=generator) < eps
    if true_input.dim() == 2:
        coins = coins[:, None]
    return torch.where(coins, true_input, model_output.detach())


def coin_flip_arithmetic(true_input, model_output, eps, generator):
    """A mask product; the detached output is only ever a value."""
    u = torch.rand(len(true_input), generator=generator)
    keep = (u < eps).reshape(-1, *[1] * (true_input.dim() - 1)).to(true_input.dtype)
    return keep * true_input + (1 - keep) * model_output.detach()


def coin_flip_wrong(true_input, model_output, eps, generator, mode):
    B = true_input.shape[0]
    if mode == "global":
        u = torch.rand(B)
    elif mode == "per_number":
        u = torch.rand(true_input.shape, generator=generator)
    elif mode == "skip_draw" and eps in (0.0, 1.0):
        u = torch.full((B,), 0.5)
    else:
        u = torch.rand(B, generator=generator)
    coins = {"reversed": u >= eps, "one_minus": u < 1 - eps}.get(mode, u < eps)
    if mode != "lined_up" and coins.dim() < true_input.dim():
        coins = coins[:, None]
    fed = model_output if mode == "no_detach" else model_output.detach()
    return torch.where(coins, true_input, fed)


# --- train_scheduled_sampling ---------------------------------------------------------------


def train_loop(step, optimizer, batches, schedule, loss_fn, generator, tokens=False):
    losses = []
    for i, (first, targets) in enumerate(batches):
        eps = schedule(i)
        x, h, outputs = first, None, []
        for t in range(targets.shape[1]):
            o, h = step(x, h)
            outputs.append(o)
            if tokens:
                own = generation.sample_categorical(o.detach().softmax(-1), seed=generator)
            else:
                own = o.detach()
            x = coin_flip(targets[:, t], own, eps, generator)
        loss = loss_fn(torch.stack(outputs, dim=1), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def train_loop_skipping_the_last(
    step, optimizer, batches, schedule, loss_fn, generator, tokens=False
):
    """Chooses each input just before the step that reads it: nothing drawn after the last."""
    losses = []
    for i, (first, targets) in enumerate(batches):
        x, h, outputs = first, None, []
        for t in range(targets.shape[1]):
            if t > 0:
                o = outputs[-1].detach()
                own = generation.sample_categorical(o.softmax(-1), seed=generator) if tokens else o
                use_true = torch.rand(len(own), generator=generator) < schedule(i)
                x = torch.where(use_true.view(-1, *[1] * (own.dim() - 1)), targets[:, t - 1], own)
            o, h = step(x, h)
            outputs.append(o)
        optimizer.zero_grad()
        loss = loss_fn(torch.stack(outputs, 1), targets)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return losses


def train_wrong(step, optimizer, batches, schedule, loss_fn, generator, tokens=False, mode=""):
    """A student's loop; ``mode`` plants one typical mistake."""
    losses = []
    for i, (first, targets) in enumerate(batches):
        eps = schedule(i + 1 if mode == "from_one" else i)
        eps = 1 - eps if mode == "one_minus" else eps
        B = targets.shape[0]
        x = targets[:, 0] if mode == "first_target" else first
        h, outputs = None, []
        for t in range(targets.shape[1]):
            o, h = step(x, h)
            outputs.append(o)
            if tokens and mode == "argmax":
                own = o.argmax(-1)
            elif tokens:
                own = generation.sample_categorical(o.softmax(-1), seed=generator)
            else:
                own = o if mode == "no_detach" else o.detach()
            u = torch.rand(1 if mode == "per_batch" else B, generator=generator)
            true = u >= eps if mode == "reversed" else u < eps
            x = torch.where(true if tokens else true[:, None], targets[:, t], own)
        loss = loss_fn(torch.stack(outputs, 1), targets)
        if mode != "no_zero_grad":
            optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def _wrong(check, mode):
    return lambda *a, **k: check(*a, **k, mode=mode)


CASES = {
    "next_token_targets": (
        shift,
        [
            (lambda t: (t[:, 1:], t[:, :-1]), "wrong way"),
            (lambda t: (t, t), "not shifted"),
            (lambda t: (t, t.roll(-1, 1)), "a roll wraps"),
        ],
    ),
    "sampling_loop": (
        sample_loop,
        [
            (lambda *a: sample_wrong(*a, mode="nofeed"), "not fed back"),
            (lambda *a: sample_wrong(*a, mode="reset"), "state is not carried"),
            (lambda *a: sample_wrong(*a, mode="logits"), "logits were returned"),
            (lambda *a: sample_wrong(*a, mode="argmax"), "most likely one"),
            (lambda *a: sample_wrong(*a, mode="with_start"), "returned as the first token"),
            (lambda *a: sample_wrong(*a, mode="time_first"), "time-first"),
        ],
    ),
    "sampling_schedule": (
        schedule,
        [
            (_wrong(schedule_wrong, "model"), "MODEL's token"),
            (_wrong(schedule_wrong, "nofloor"), "no floor"),
            (_wrong(schedule_wrong, "min"), "not the smaller"),
            (_wrong(schedule_wrong, "k_times"), "scaled by k"),
            (_wrong(schedule_wrong, "exp"), "power i"),
            (_wrong(schedule_wrong, "sign"), "wrong sign"),
            (_wrong(schedule_wrong, "no_scale"), "divided by k"),
            (_wrong(schedule_wrong, "fall_through"), "instead of raising ValueError"),
            (_wrong(schedule_wrong, "key_error"), "raised KeyError"),
        ],
    ),
    "coin_flip_inputs": (
        coin_flip,
        [
            (_wrong(coin_flip_wrong, "no_detach"), "without detaching"),
            (_wrong(coin_flip_wrong, "reversed"), "coins are reversed"),
            (_wrong(coin_flip_wrong, "one_minus"), "not 1 - eps"),
            (_wrong(coin_flip_wrong, "per_number"), "one coin per number"),
            (_wrong(coin_flip_wrong, "lined_up"), "lined up with the features"),
            (_wrong(coin_flip_wrong, "global"), "global generator"),
            (_wrong(coin_flip_wrong, "skip_draw"), "also when eps is 0 or 1"),
        ],
    ),
    "train_scheduled_sampling": (
        train_loop,
        [
            (_wrong(train_wrong, "no_detach"), "gradient flows back"),
            (_wrong(train_wrong, "reversed"), "coins are reversed"),
            (_wrong(train_wrong, "one_minus"), "not 1 - eps"),
            (_wrong(train_wrong, "per_batch"), "single coin"),
            (_wrong(train_wrong, "argmax"), "argmax"),
            (_wrong(train_wrong, "no_zero_grad"), "accumulate"),
            (_wrong(train_wrong, "from_one"), "counted from 1"),
            (_wrong(train_wrong, "first_target"), "first input is the first target"),
        ],
    ),
}

# Right answers written in other styles: each must pass its checker too.
RIGHT = {
    "next_token_targets": [shift_narrow, shift_by_loop],
    "sampling_loop": [sample_multinomial, sample_gumbel],
    "sampling_schedule": [schedule_by_table],
    "coin_flip_inputs": [coin_flip_arithmetic],
    "train_scheduled_sampling": [train_loop_skipping_the_last],
}
