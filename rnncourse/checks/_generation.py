"""Checkers for notebook 07: next-token targets, sampling, schedules, the per-step coin flip."""

import math

import torch

from .. import generation
from .._random import generator
from ._contract import call
from ._framework import CheckFailed, StudentCodeError, compare, exercise, randn


def course(*names: str) -> tuple:
    """``forbidden`` entries for the functions (or classes, by ``__call__``) of
    :mod:`rnncourse.generation` called ``names``, each named ``generation.<name>``."""
    items = [getattr(generation, name) for name in names]
    return tuple(
        (item.__call__ if isinstance(item, type) else item, f"generation.{name}")
        for item, name in zip(items, names, strict=True)
    )


def _next_token_targets(tokens):
    """The course's answer to ``next_token_targets``."""
    return tokens[:, :-1], tokens[:, 1:]


@exercise("07", reference=_next_token_targets)
def next_token_targets(student_fn) -> int:
    """Check ``next_token_targets(tokens) -> (inputs, targets)``: tokens (B, T) int64; inputs =
    tokens[:, :-1] and targets = tokens[:, 1:], both (B, T - 1)."""
    cases = [(2, 6), (3, 4), (1, 8), (4, 2)]
    for seed, (B, T) in enumerate(cases):
        tokens = torch.randint(0, 20, (B, T), generator=generator(110 + seed))
        got = call("next_token_targets", student_fn, tokens.clone())
        if not (isinstance(got, tuple | list) and len(got) == 2):
            raise CheckFailed(
                f"next_token_targets: expected a pair (inputs, targets), got {type(got).__name__}."
            )
        inputs, targets = (torch.as_tensor(v) for v in got)
        if inputs.shape != targets.shape:
            raise CheckFailed(
                f"next_token_targets, case {seed + 1}: inputs {tuple(inputs.shape)} and "
                f"targets {tuple(targets.shape)} must have the same shape (B, T - 1)."
            )
        earlier, later = _next_token_targets(tokens)
        mistakes = {
            "the shift goes the wrong way: the inputs are the earlier tokens and the "
            "targets the tokens one step later.": torch.stack([later, earlier]),
            "the targets were not shifted: the model would be fed the very token it "
            "predicts.": torch.stack([tokens, tokens]),
            "a roll wraps the first token around to the end, so the last target is the "
            "first token; cut one token off each end instead.": torch.stack(
                [tokens, tokens.roll(-1, 1)]
            ),
        }
        hints = {
            (2, B, T): "inputs and targets have T - 1 steps: the inputs lose the last "
            "token and the targets the first."
        }
        got, case = torch.stack([inputs, targets]), f"case {seed + 1} (B={B}, T={T})"
        want = torch.stack([earlier, later])
        compare("next_token_targets", case, got, want, mistakes=mistakes, shape_hints=hints)
    return len(cases)


def _token_model(g: torch.Generator, V: int):
    """A peaked token model: (token (B,), h) -> (logits (B, V), h); sampling = argmax."""
    emb = randn(g, V, 4)
    W, U = randn(g, 4, 4, scale=0.6), randn(g, V, 4)

    def step(token, h=None):
        h = torch.tanh(emb[token] + (0 if h is None else h @ W.T))
        peak = (h @ U.T).argmax(-1)
        return 60.0 * torch.nn.functional.one_hot(peak, V).double() - 30.0, h

    return step


def _sampling_loop(step_fn, start, steps):
    """The course's answer to ``sampling_loop``: a draw from softmax(logits) at every step."""
    return generation.sample_sequence(step_fn, start, steps, strategy="temperature")


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


@exercise("07", reference=_sampling_loop, forbidden=course("sample_sequence", "free_running"))
def sampling_loop(student_fn) -> int:
    """Check ``sampling_loop(step_fn, start, steps) -> tokens`` (B, steps) int64, without
    ``start`` (B,): ``step_fn(token (B,), h) -> (logits (B, V), h)``, h ``None`` at first; each
    step draws a token from softmax(logits) and feeds it back."""
    cases = [(2, 5, 6), (3, 4, 8), (1, 7, 5), (4, 3, 1)]
    for seed, (B, V, steps) in enumerate(cases):
        g = generator(100 + seed)
        step = _token_model(g, V)
        start = torch.randint(0, V, (B,), generator=g)
        got = call("sampling_loop", student_fn, step, start.clone(), steps)
        right = generation.sample_sequence(step, start, steps)  # greedy = sampling here
        mistakes = {
            "the sampled token is not fed back: every step read `start`.": (
                generation.sample_sequence(lambda _, h, s=step, x=start: s(x, h), start, steps)
            ),
            "the state is not carried: each step must get the state the previous step "
            "returned.": generation.sample_sequence(
                lambda token, h, s=step: s(token, None), start, steps
            ),
            "`start` was returned as the first token; return only sampled tokens.": (
                torch.cat([start[:, None], right[:, :-1]], 1)
            ),
        }
        hints = {
            (B, steps, V): "the logits were returned; sample a token from each.",
            (B, steps + 1): "`start` was included; return the `steps` sampled tokens.",
            (steps, B): "the result is time-first; stack the steps along dim=1.",
        }
        case = f"case {seed + 1} (B={B}, V={V}, steps={steps})"
        compare("sampling_loop", case, got, right, mistakes=mistakes, shape_hints=hints)
    # sampling, not argmax: on a flat model the tokens follow softmax(logits) at each step
    start = torch.zeros(SAMPLES, dtype=torch.long)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(2024)  # the student may draw from torch's global generator
        got = call("sampling_loop", student_fn, _flat_step, start.clone(), 2)
    case = f"a flat model, {SAMPLES} sequences of 2 steps"
    got = torch.as_tensor(got).long()
    probs = FLAT.double().softmax(-1)
    first, second = got[:, 0], got[:, 1]
    if bool((first == FLAT[0].argmax()).all()) and bool((second == FLAT[first].argmax(-1)).all()):
        raise CheckFailed(
            f"sampling_loop, {case}: every token is the most likely one. Likely mistake: the "
            "top token is picked every time; draw each token at random, with the "
            "probabilities that the softmax of the logits gives."
        )
    if not _counts_agree(first, probs[0]):
        raise CheckFailed(
            f"sampling_loop, {case}: the first tokens are not distributed as "
            "softmax(logits). Likely mistake: the distribution was built from something "
            "other than the logits as they come (probabilities passed where logits are "
            "expected, or the logits scaled)."
        )
    for token in range(FLAT.shape[0]):
        after = second[first == token]
        if after.numel() > 50 and not _counts_agree(after, probs[token]):
            raise CheckFailed(
                f"sampling_loop, {case}: the second tokens do not follow the first. Likely "
                "mistake: the token fed back is not the one returned (feed back and return "
                "the same draw)."
            )
    return len(cases) + 1


_SCHEDULES = {
    "linear": lambda i, k, c, eps_min: generation.LinearSchedule(k, c, eps_min)(i),
    "exponential": lambda i, k, c, eps_min: generation.ExponentialSchedule(k)(i),
    "inverse_sigmoid": lambda i, k, c, eps_min: generation.InverseSigmoidSchedule(k)(i),
}


def _sampling_schedule(kind, i, k, c=0.0, eps_min=0.0):
    """The course's answer to ``sampling_schedule``: generation's schedule of that kind."""
    if kind not in _SCHEDULES:
        raise ValueError(f"kind must be one of {', '.join(_SCHEDULES)}, got {kind!r}.")
    return _SCHEDULES[kind](i, k, c, eps_min)


def _schedule_mistakes(kind: str, i: int, k: float, c: float, eps_min: float) -> dict:
    """{message: value} of the typical wrong schedules of ``kind`` at update ``i``."""
    wrong = {
        "this is the probability of using the MODEL's token; eps is the probability of the "
        "TRUE token, starting near 1 and falling.": 1 - _sampling_schedule(kind, i, k, c, eps_min),
    }
    if kind == "linear":
        return wrong | {
            "the linear schedule has no floor here: eps must never fall below eps_min.": (
                k - c * i
            ),
            "eps_min is the lowest eps allowed, so the larger of the two values counts, "
            "not the smaller.": min(eps_min, k - c * i),
            "the drop was scaled by k: eps falls by c at every update, whatever its start k.": max(
                eps_min, k * (1 - c * i)
            ),
        }
    if kind == "exponential":
        return wrong | {
            "the exponential schedule raises k to the power i (k < 1); it is not an "
            "exponential function of -k i.": math.exp(-k * i),
        }
    return wrong | {
        "the exponent of the inverse sigmoid has the wrong sign: exp grows with i in the "
        "denominator, so eps falls with i.": k / (k + math.exp(-i / k)),
        "the inverse sigmoid's exponent is i divided by k, not i alone.": k / (k + math.exp(i)),
    }


@exercise(
    "07",
    reference=_sampling_schedule,
    forbidden=course("LinearSchedule", "ExponentialSchedule", "InverseSigmoidSchedule"),
)
def sampling_schedule(student_fn) -> int:
    """Check ``sampling_schedule(kind, i, k, c=0.0, eps_min=0.0) -> eps``, the probability of the
    TRUE token at update i: "linear" max(eps_min, k - c i); "exponential" k**i (k < 1);
    "inverse_sigmoid" k / (k + exp(i / k)) (k >= 1); any other kind raises ValueError."""
    exponential = [(0, 0.97), (10, 0.97), (5, 0.9), (50, 0.99)]
    inverse_sigmoid = [(0, 20.0), (40, 20.0), (12, 5.0), (300, 100.0)]
    cases = (
        [
            ("linear", 0, 1.0, 0.01, 0.1),
            ("linear", 30, 1.0, 0.01, 0.1),
            ("linear", 50, 0.8, 0.004, 0.05),
            ("linear", 250, 0.9, 0.003, 0.0),
            ("linear", 200, 1.0, 0.01, 0.1),
            ("linear", 7, 0.6, 0.05, 0.3),
        ]
        + [("exponential", i, k, 0.0, 0.0) for i, k in exponential]
        + [("inverse_sigmoid", i, k, 0.0, 0.0) for i, k in inverse_sigmoid]
    )
    for args in cases:
        kind, i, k, c, eps_min = args
        got = call("sampling_schedule", student_fn, kind, i, k, c=c, eps_min=eps_min)
        case = f"kind={kind!r}, i={i}, k={k}, c={c}, eps_min={eps_min}"
        want, mistakes = _sampling_schedule(*args), _schedule_mistakes(*args)
        compare("sampling_schedule", case, got, want, mistakes=mistakes)
    defaults = [("linear", 5, 0.9), ("linear", 3, 0.7, 0.5)]  # c = 0 and eps_min = 0 unless given
    hint = "the defaults are c = 0 and eps_min = 0, as the signature states."
    for kind, i, k, *given in defaults:
        got = call("sampling_schedule", student_fn, kind, i, k, *given)
        case = f"kind={kind!r}, i={i}, k={k}" + "".join(f", c={c}" for c in given)
        want = _sampling_schedule(kind, i, k, *given)
        compare("sampling_schedule", case + ", the rest default", got, want, hint=hint)
    case = "kind='cosine', an unknown kind, i=3, k=0.9"
    try:
        got = call("sampling_schedule", student_fn, "cosine", 3, 0.9)
    except StudentCodeError as err:
        if isinstance(err.__cause__, ValueError):
            return len(defaults) + len(cases) + 1
        raise CheckFailed(
            f"sampling_schedule, {case}: raised {type(err.__cause__).__name__}. Likely "
            "mistake: an unknown kind must raise ValueError, with a message that names the "
            "three kinds."
        ) from None
    raise CheckFailed(
        f"sampling_schedule, {case}: returned {got!r} instead of raising ValueError. Likely "
        "mistake: a last branch serves every kind not named before it, so a misspelt kind "
        "would silently train with another schedule; name all three kinds and raise "
        "ValueError for any other."
    )


LINED_UP = (
    "the B coins were lined up with the features (the last axis) instead of the rows: give "
    "them a trailing axis of size 1, so that each row's coin covers its D features."
)


def _coin_flip_inputs(true_input, model_output, eps, generator):
    """The course's answer to ``coin_flip_inputs``: generation's scheduled-sampling step."""
    return generation.scheduled_sampling_step(true_input, model_output, eps, seed=generator)[0]


@exercise(
    "07",
    reference=_coin_flip_inputs,
    forbidden=course("scheduled_sampling_step", "scheduled_sampling"),
)
def coin_flip_inputs(student_fn) -> int:
    """Check ``coin_flip_inputs(true_input, model_output, eps, generator) -> inputs`` like
    true_input: both (B, D) values or (B,) token ids of one dtype; one coin per sequence,
    ``torch.rand(B, generator=generator) < eps``, picks the true input (True) or the detached
    model output. B = D, token ids and eps of 0 and 1 are among the cases."""
    cases = [
        (4, 4, 0.3, torch.float32),
        (3, 2, 0.5, torch.float32),
        (5, 3, 0.8, torch.float64),
        (6, None, 0.6, torch.int64),
        (3, 1, 1.0, torch.float32),
        (4, 2, 0.0, torch.float64),
    ]
    for seed, (B, D, eps, dtype) in enumerate(cases):
        g = generator(120 + seed)
        if D is None:
            true, own = (torch.randint(0, 9, (B,), generator=g) for _ in range(2))
            label = f"tokens, B={B}"
        else:
            true = randn(g, B, D).to(dtype)
            own = randn(g, B, D).to(dtype).requires_grad_()
            label = f"values (B={B}, D={D}), {str(dtype)[6:]}"
        case = f"case {seed + 1} ({label}, eps={eps})"
        draws = generator(7 + seed)
        try:
            got = call("coin_flip_inputs", student_fn, true, own, eps, draws, dtype=None)
        except StudentCodeError as err:
            if "must match the size" not in str(err):
                raise
            raise StudentCodeError(f"{err}\n  Likely mistake: {LINED_UP}") from err.__cause__
        if 0 < eps < 1 and torch.equal(draws.get_state(), generator(7 + seed).get_state()):
            raise CheckFailed(
                f"coin_flip_inputs, {case}: nothing was drawn from `generator`. Likely "
                "mistake: the coins come from torch's global generator; draw them from the "
                "one given, so that a seed repeats the run."
            )
        after = generator(7 + seed)  # its state after the B coins u
        u, rows, fed = torch.rand(B, generator=after), (B,) + (1,) * (true.dim() - 1), own.detach()
        mistakes = {
            "the coins are reversed: eps is the probability of the TRUE input, so the true "
            "input goes where the uniform number lies below eps.": torch.where(
                (u >= eps).view(rows), true, fed
            ),
            "the probability is reversed: eps itself is the chance of the true input, not "
            "1 - eps.": torch.where((u < 1 - eps).view(rows), true, fed),
        }
        if D is not None:
            coins = torch.rand(B, D, generator=generator(7 + seed))
            mistakes[
                "one coin per number was drawn; one coin per sequence decides all D features "
                "of its row together."
            ] = torch.where(coins < eps, true, fed)
        if B == D:
            mistakes[LINED_UP] = torch.where(u < eps, true, fed)
        expected = _coin_flip_inputs(true, own, eps, generator(7 + seed))
        compare("coin_flip_inputs", case, got, expected, mistakes=mistakes)
        if not torch.equal(draws.get_state(), after.get_state()):
            raise CheckFailed(
                f"coin_flip_inputs, {case}: `generator` did not give exactly one number per "
                "sequence. Likely mistake: draw the B numbers every time, also when eps is 0 "
                "or 1, so that the draws after this step stay in step with a seeded run."
            )
        if isinstance(got, torch.Tensor) and got.requires_grad and own.requires_grad:
            (grad,) = torch.autograd.grad(got.sum(), own, allow_unused=True)
            if grad is not None and bool((grad != 0).any()):
                raise CheckFailed(
                    f"coin_flip_inputs, {case}: a gradient flows into model_output. Likely "
                    "mistake: the model's output is fed back without detaching it, so "
                    "training would run through the model's own feedback."
                )
    return len(cases)
