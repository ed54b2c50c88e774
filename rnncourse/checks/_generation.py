"""Checkers for notebook 07: next-token targets, sampling, schedules, scheduled sampling."""

from __future__ import annotations

import math

import torch

from .._random import generator
from ._contract import call
from ._framework import compare, exercise, randn

NO_SHIFT = "the targets were not shifted: the model would be fed the very token it predicts."


def _token_model(g: torch.Generator, V: int):
    """A peaked token model: (token (B,), h) -> (logits (B, V), h); sampling ~ argmax."""
    emb = randn(g, V, 4)
    W, U = randn(g, 4, 4, scale=0.6), randn(g, V, 4)

    def step(token, h=None):
        h = torch.tanh(emb[token] + (0 if h is None else h @ W.T))
        logits = h @ U.T
        peak = logits.argmax(-1)
        return 60.0 * torch.nn.functional.one_hot(peak, V).double() - 30.0, h

    return step


# The same loop shape as notebook 04's free_running reference (checks/_sequential.py), on
# purpose: each reference is written the way its exercise asks for it (tokens here, vectors there).
def _sample(step, start, steps, bug=""):
    token, h, out = start, None, []
    for _ in range(steps):
        logits, h_new = step(start if bug == "no_feedback" else token, h)
        h = None if bug == "reset" else h_new
        token = logits.argmax(-1)
        out.append(token)
    out = torch.stack(out, 1)
    if bug == "with_start":
        out = torch.cat([start[:, None], out[:, :-1]], 1)
    return out


def _sampling_loop(step_fn, start, steps):
    """The course's answer to ``sampling_loop``: draw each token, feed it back."""
    token, h, out = start, None, []
    for _ in range(steps):
        logits, h = step_fn(token, h)
        token = torch.distributions.Categorical(logits=logits).sample()
        out.append(token)
    return torch.stack(out, dim=1)


# A flat Markov model for the sampling test: the logits depend on the last token only.
FLAT = torch.tensor(
    [[0.6, 0.0, -0.4, 0.2], [0.0, 0.5, 0.3, -0.3], [-0.2, 0.4, 0.0, 0.3], [0.3, -0.3, 0.5, 0.0]]
)
SAMPLES = 4000  # rows drawn at once; counts are compared with 5 standard deviations


def _flat_step(token, h=None):
    return FLAT[token].clone(), h


def _counts_agree(tokens: torch.Tensor, probs: torch.Tensor) -> bool:
    """Whether the token counts are within 5 standard deviations of ``len * probs`` (V,)."""
    n = tokens.numel()
    counts = torch.bincount(tokens.reshape(-1), minlength=probs.numel()).double()
    spread = 5 * (n * probs * (1 - probs)).sqrt() + 1
    return counts.numel() == probs.numel() and bool(((counts - n * probs).abs() <= spread).all())


def _check_draws(student_fn) -> None:
    """Sampling, not argmax: on a flat model the tokens follow softmax(logits) at each step."""
    start = torch.zeros(SAMPLES, dtype=torch.long)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(2024)  # the student may draw from torch's global generator
        got = call("sampling_loop", student_fn, _flat_step, start.clone(), 2)
    case = f"a flat model, {SAMPLES} sequences of 2 steps"
    got = torch.as_tensor(got).long()
    probs = FLAT.double().softmax(-1)
    first, second = got[:, 0], got[:, 1]
    if bool((first == FLAT[0].argmax()).all()) and bool((second == FLAT[first].argmax(-1)).all()):
        raise AssertionError(
            f"sampling_loop, {case}: every token is the most likely one. Likely mistake: "
            "argmax picks the top token; draw a sample from the distribution instead, "
            "torch.distributions.Categorical(logits=logits).sample()."
        )
    if not _counts_agree(first, probs[0]):
        raise AssertionError(
            f"sampling_loop, {case}: the first tokens are not distributed as "
            "softmax(logits). Likely mistake: sample from the logits (Categorical(logits=...)) "
            "or from logits.softmax(-1), without changing them."
        )
    for token in range(FLAT.shape[0]):
        after = second[first == token]
        if after.numel() > 50 and not _counts_agree(after, probs[token]):
            raise AssertionError(
                f"sampling_loop, {case}: the second tokens do not follow the first. Likely "
                "mistake: the token fed back is not the one you sampled (feed back and "
                "return the same draw)."
            )


@exercise("07", reference=_sampling_loop)
def sampling_loop(student_fn) -> int:
    """Check ``sampling_loop(step_fn, start, steps) -> tokens``.

    ``step_fn(token, h) -> (logits, h)`` takes tokens (B,) int64 and a state (``None`` at
    the start) and returns logits (B, V). Each step samples a token from the logits
    (e.g. ``torch.distributions.Categorical(logits=logits).sample()``) and feeds it back.
    start (B,) int64. Returns the sampled tokens (B, steps) int64, without ``start``.
    A confident model makes sampling and argmax agree, so the tokens are compared exactly;
    a flat one then checks that the tokens are drawn from softmax(logits), not the argmax.
    """
    cases = [(2, 5, 6), (3, 4, 8), (1, 7, 5)]
    for seed, (B, V, steps) in enumerate(cases):
        g = generator(100 + seed)
        step = _token_model(g, V)
        start = torch.randint(0, V, (B,), generator=g)
        got = call("sampling_loop", student_fn, step, start.clone(), steps)
        compare(
            "sampling_loop",
            f"case {seed + 1} (B={B}, V={V}, steps={steps})",
            got,
            _sample(step, start, steps),
            mistakes={
                "the sampled token is not fed back: every step got `start`.": _sample(
                    step, start, steps, "no_feedback"
                ),
                "the state is not carried: pass the h returned by the last step.": _sample(
                    step, start, steps, "reset"
                ),
                "`start` was returned as the first token; return only sampled tokens.": (
                    _sample(step, start, steps, "with_start")
                ),
            },
            shape_hints={
                (B, steps, V): "the logits were returned; sample a token from each.",
                (B, steps + 1): "`start` was included; return the `steps` sampled tokens.",
                (steps, B): "the result is time-first; stack along dim=1.",
            },
        )
    _check_draws(student_fn)
    return len(cases) + 1


def _next_token_targets(tokens):
    """The course's answer to ``next_token_targets``."""
    return tokens[:, :-1], tokens[:, 1:]


@exercise("07", reference=_next_token_targets)
def next_token_targets(student_fn) -> int:
    """Check ``next_token_targets(tokens) -> (inputs, targets)`` for next-token training.

    tokens (B, T) int64. Returns inputs = tokens[:, :-1] and targets = tokens[:, 1:],
    both (B, T - 1): at each step the model reads a token and predicts the next one.
    """
    for seed, (B, T) in enumerate([(2, 6), (3, 4), (1, 8)]):
        tokens = torch.randint(0, 20, (B, T), generator=generator(110 + seed))
        got = call("next_token_targets", student_fn, tokens.clone())
        if not (isinstance(got, tuple | list) and len(got) == 2):
            raise AssertionError(
                f"next_token_targets: expected a pair (inputs, targets), got {type(got).__name__}."
            )
        inputs, targets = (torch.as_tensor(v) for v in got)
        if inputs.shape != targets.shape:
            raise AssertionError(
                f"next_token_targets, case {seed + 1}: inputs {tuple(inputs.shape)} and "
                f"targets {tuple(targets.shape)} must have the same shape (B, T - 1)."
            )
        pair = torch.stack([tokens[:, :-1], tokens[:, 1:]])
        compare(
            "next_token_targets",
            f"case {seed + 1} (B={B}, T={T})",
            torch.stack([inputs, targets]),
            pair,
            mistakes={
                "the shift goes the wrong way: inputs are the earlier tokens "
                "tokens[:, :-1], targets the later ones tokens[:, 1:].": pair.flip(0),
                NO_SHIFT: torch.stack([tokens, tokens]),
                "torch.roll wraps the first token around to the end; slice instead: "
                "tokens[:, :-1] and tokens[:, 1:].": torch.stack([tokens, tokens.roll(-1, 1)]),
            },
            shape_hints={
                (2, B, T): "inputs and targets have T - 1 steps: drop the last token from "
                "inputs and the first from targets."
            },
        )
    return 3


def _schedule(kind: str, i: int, k: float, c: float, eps_min: float, bug: str = "") -> float:
    if kind == "linear":
        floor = min if bug == "min" else max
        eps = k - c * i if bug == "no_floor" else floor(eps_min, k - c * i)
    elif kind == "exponential":
        eps = math.exp(-k * i) if bug == "exp" else k**i
    else:
        exponent = i if bug == "no_scale" else (-i if bug == "sign" else i) / k
        eps = k / (k + math.exp(exponent))
    return 1 - eps if bug == "model_prob" else eps


def _sampling_schedule(kind, i, k, c=0.0, eps_min=0.0):
    """The course's answer to ``sampling_schedule``."""
    return _schedule(kind, i, k, c, eps_min)


@exercise("07", reference=_sampling_schedule)
def sampling_schedule(student_fn) -> int:
    """Check ``sampling_schedule(kind, i, k, c=0.0, eps_min=0.0) -> eps``.

    eps is the probability of feeding the TRUE previous token at training step i
    (Bengio et al., 2015): "linear" eps = max(eps_min, k - c i); "exponential" eps = k**i
    with k < 1; "inverse_sigmoid" eps = k / (k + exp(i / k)) with k >= 1.
    """
    cases = (
        [("linear", i, 1.0, 0.01, 0.1) for i in (0, 30, 95, 200)]
        + [("exponential", i, 0.97, 0.0, 0.0) for i in (0, 10, 50)]
        + [("inverse_sigmoid", i, 20.0, 0.0, 0.0) for i in (0, 40, 100)]
    )
    for kind, i, k, c, eps_min in cases:
        got = call("sampling_schedule", student_fn, kind, i, k, c=c, eps_min=eps_min)
        mistakes = {
            "this is the probability of using the MODEL's token; eps is the probability "
            "of the TRUE token, starting near 1 and falling.": _schedule(
                kind, i, k, c, eps_min, "model_prob"
            ),
            "the linear schedule needs its floor: max(eps_min, k - c * i).": _schedule(
                kind, i, k, c, eps_min, "no_floor"
            ),
            "the exponential schedule is k**i (k < 1), not exp(-k i).": _schedule(
                kind, i, k, c, eps_min, "exp"
            ),
            "the inverse sigmoid has exp(+i / k) in the denominator, so eps falls "
            "with i.": _schedule(kind, i, k, c, eps_min, "sign"),
            "the inverse sigmoid divides i by k: exp(i / k), not exp(i).": _schedule(
                kind, i, k, c, eps_min, "no_scale"
            ),
            "eps_min is the lowest eps allowed: max(eps_min, k - c * i), not min.": _schedule(
                kind, i, k, c, eps_min, "min"
            ),
        }
        compare(
            "sampling_schedule",
            f"kind={kind!r}, i={i}, k={k}, c={c}, eps_min={eps_min}",
            float(got) if isinstance(got, int | float) else got,
            _schedule(kind, i, k, c, eps_min),
            mistakes=mistakes,
        )
    return len(cases)


def _coin_flip_inputs(true_inputs, model_outputs, eps, generator):
    """The course's answer to ``coin_flip_inputs``."""
    coins = torch.rand(true_inputs.shape[:2], generator=generator) < eps
    return torch.where(coins[..., None], true_inputs, model_outputs.detach())


@exercise("07", reference=_coin_flip_inputs)
def coin_flip_inputs(student_fn) -> int:
    """Check ``coin_flip_inputs(true_inputs, model_outputs, eps, generator) -> inputs``.

    true_inputs, model_outputs (B, T, D); eps, the probability of the TRUE input;
    generator, a torch.Generator. Draw the coins as
    ``torch.rand(B, T, generator=generator) < eps`` (True: use the true input) and return
    the mix (B, T, D). The model's outputs must be detached: no gradient may flow back
    through a fed-back sample.
    """
    cases = [(2, 4, 3, 0.5), (3, 5, 2, 0.8), (2, 6, 1, 0.3)]
    for seed, (B, T, D, eps) in enumerate(cases):
        g = generator(120 + seed)
        true, model = randn(g, B, T, D), randn(g, B, T, D).requires_grad_()

        def mix(coins, true=true, model=model):
            return torch.where(coins[..., None], true, model.detach())

        got = call("coin_flip_inputs", student_fn, true, model, eps, generator(7 + seed))
        case = f"case {seed + 1} (B={B}, T={T}, eps={eps})"
        compare(
            "coin_flip_inputs",
            case,
            got,
            mix(torch.rand(B, T, generator=generator(7 + seed)) < eps),
            mistakes={
                "the coins are reversed: eps is the probability of the TRUE input "
                "(coin < eps means true).": mix(
                    torch.rand(B, T, generator=generator(7 + seed)) >= eps
                ),
                "one coin per sequence was drawn; draw one per step, torch.rand(B, T).": mix(
                    (torch.rand(B, 1, generator=generator(7 + seed)) < eps).expand(B, T)
                ),
                "one coin per number was drawn; one coin per (sequence, step) decides all "
                "D features together: torch.rand(B, T), then coins[..., None].": torch.where(
                    torch.rand(B, T, D, generator=generator(7 + seed)) < eps, true, model.detach()
                ),
            },
        )
        if isinstance(got, torch.Tensor) and got.requires_grad:
            got.sum().backward()
            if model.grad is not None and model.grad.abs().sum() > 0:
                raise AssertionError(
                    f"coin_flip_inputs, {case}: gradient flows into model_outputs. Likely "
                    "mistake: the sampled outputs are fed back without detaching; use "
                    "model_outputs.detach()."
                )
    return len(cases)
