"""Checkers for notebook 09's network of names: ``validation_nll``, its score on held-out
names, and ``train_step``, one update with the student's loss (02) and clipping (05). The
models are tiny character models with a ``torch.nn.GRU``."""

import copy
import inspect
import math

import torch
import torch.nn.functional as F
from torch import nn

from rnncourse import charmodel, sequences, training
from rnncourse.tasks.next_char import encode_names
from rnncourse.tasks.text import Vocab

from .._random import generator
from ._basics import call_hinted
from ._framework import CheckFailed, compare, exercise, torch_module
from ._real_text import _random_names
from ._sequential import dtype_name

CLASSES_AXIS = {
    "Expected target size": "the wrong axis for the classes: torch's cross-entropy reads the "
    "classes from dimension 1, the logits (B, L, V) hold them in the last one.",
}


def _case_data(g: torch.Generator, n: int, letters: str, longest: int, dtype):
    """A tiny names model (float ``dtype``) and ``n`` random names encoded as a CorpusBatch."""
    vocab = Vocab(sorted(letters))
    model = torch_module(g, charmodel.CharModel, len(vocab), 3, 5, "gru", scale=0.8).to(dtype)
    names = _random_names(g, n, letters, longest)
    names[0] = letters[0] * longest  # one name as long as any, and one of a single letter
    names[-1] = letters[-1]
    return model, encode_names(names, vocab)


def _number(name: str, case: str, value, what: str) -> float:
    """``value`` as a float: a Python number, or a tensor of one element without a graph."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        if value.requires_grad:
            raise CheckFailed(
                f"{name}, {case}: {what} still holds autograd's graph. Likely mistake: the "
                f"number was not taken out of the graph; return it as a float (.item()), "
                f"which lets the graph and its memory go."
            )
        return value.item()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise CheckFailed(
        f"{name}, {case}: {what} must be one number (a float), got {type(value).__name__}."
    )


# --- the score on held-out names -------------------------------------------------------------
def _validation_nll(model, data, batch_size=1024):
    """The reference: mean -ln p(target) (a float) over every real target of ``data``, in
    batches of ``batch_size`` rows."""
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(data.lengths), batch_size):
            rows = slice(start, start + batch_size)
            mask = sequences.length_mask(data.lengths[rows], data.targets.shape[1])
            logits = model(data.inputs[rows])
            total += float(F.cross_entropy(logits[mask], data.targets[rows][mask], reduction="sum"))
            count += int(mask.sum())
    return total / count


class _Recorder(nn.Module):
    """The model, noting for every call the rows it got and whether autograd recorded."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.calls: list[tuple[int, bool]] = []

    def forward(self, tokens):
        self.calls.append((int(tokens.shape[0]), torch.is_grad_enabled()))
        return self.model(tokens)


def _calls_problem(calls: list[tuple[int, bool]], n: int, batch_size: int) -> str:
    """What is wrong ("" if nothing) with the model's ``calls`` (rows, recorded) for ``n``
    rows: each row once, in batches of ``batch_size`` (the last may be shorter), no graph."""
    rows = [r for r, _ in calls]
    if not calls:
        return (
            "the model was never called. Score the names with model(inputs), which gives the "
            "logits (B, L, V)."
        )
    if any(recorded for _, recorded in calls):
        return (
            "autograd recorded the model's forward pass. Likely mistake: scoring is not "
            "training, yet every call kept a graph for a backward pass that never comes (memory "
            "and time for nothing); run the model under torch.no_grad()."
        )
    if max(rows) > batch_size and len(rows) == 1:
        return (
            f"the model ran on {max(rows)} rows at once with batch_size={batch_size}. Likely "
            f"mistake: batch_size was not used; run the model on consecutive slices of at most "
            f"batch_size rows, so a large validation set fits in memory."
        )
    if any(r != batch_size for r in rows[:-1]) or rows[-1] > batch_size:
        return (
            f"the model ran on batches of {rows} rows with batch_size={batch_size}. Likely "
            f"mistake: the slices are not batch_size rows each; step through the rows "
            f"batch_size at a time (only the last batch may be shorter)."
        )
    if sum(rows) < n:
        return (
            f"the model saw {sum(rows)} of the {n} rows (batches of {rows}). Likely mistake: a "
            f"batch was left out, often the last, shorter one; the slices must reach the last row."
        )
    if sum(rows) > n:
        return (
            f"the model saw {sum(rows)} rows for {n} names (batches of {rows}). Likely mistake: "
            f"the slices overlap, so some names are scored twice; step through the rows "
            f"batch_size at a time."
        )
    return ""


@exercise("09", reference=_validation_nll, forbidden=(charmodel.validation_nll,))
def validation_nll(student_fn) -> int:
    """Check ``validation_nll(model, data, batch_size=1024) -> float``.

    ``model(inputs)`` gives logits ``(B, L, V)`` for int64 ``inputs`` ``(B, L)``; ``data``
    is a ``CorpusBatch`` (``inputs``, ``targets`` ``(N, L)``, ``lengths`` ``(N,)``): the
    targets ``t < lengths[n]`` of row ``n`` are real (the letters, then ``<stop>``), the
    rest ``<pad>``. Returns the mean of ``-ln softmax(logits)[target]`` over every real
    target, in nats, running the model on consecutive batches of at most ``batch_size``
    rows without recording a graph.
    """
    name = "validation_nll"
    cases = [  # (names, letters, longest name, batch_size (None: the default), dtype)
        (7, "abc", 4, 3, torch.float32),
        (10, "abcdef", 6, 4, torch.float64),
        (5, "abcd", 7, 8, torch.float32),
        (1030, "ab", 3, None, torch.float32),
    ]
    for seed, (n, letters, longest, batch_size, dtype) in enumerate(cases):
        g = generator(940 + seed)
        model, data = _case_data(g, n, letters, longest, dtype)
        lengths = data.lengths
        shown = lengths.tolist() if n <= 12 else f"from {lengths.min()} to {lengths.max()}"
        given = f"batch_size={batch_size}" if batch_size else "batch_size left out (1024)"
        case = f"case {seed + 1} ({n} names, lengths {shown}, {given}, {dtype_name(dtype)} model)"
        recorder = _Recorder(model)
        args = (recorder, data) + ((batch_size,) if batch_size else ())  # None: left out, as in 09
        got = call_hinted(name, CLASSES_AXIS, student_fn, *args, dtype=None)
        batch_size = batch_size or 1024
        if problem := _calls_problem(recorder.calls, n, batch_size):
            raise CheckFailed(f"{name}, {case}: {problem}")
        got = _number(name, case, got, "the score")
        with torch.no_grad():
            log_probs = model(data.inputs).double().log_softmax(-1)
        nll = -log_probs.gather(-1, data.targets[..., None])[..., 0]  # (N, L)
        steps = torch.arange(data.targets.shape[1])
        real = steps < lengths[:, None]
        mean = float(nll[real].mean())
        chunks = [slice(s, s + batch_size) for s in range(0, n, batch_size)]
        expected = _validation_nll(copy.deepcopy(model).double(), data, batch_size)
        mistakes = {
            "padding counted: the mean runs over every position, the padded ones too; "
            "average over the real targets t < lengths[n] only.": float(nll.mean()),
            "padding counted in the divisor: the padded positions are left out of the sum "
            "but counted when dividing; divide by the number of real "
            "targets.": float(nll[real].sum()) / nll.numel(),
            "the end of each name is not scored: the last real target of a row, <stop>, "
            "counts too (lengths include it).": float(nll[steps < lengths[:, None] - 1].mean()),
            "the batches' means were averaged, so a short last batch weighs as much as a "
            "full one; add up the negative log-likelihoods and the number of real targets "
            "over all batches, and divide once at the end.": (
                sum(float(nll[c][real[c]].mean()) for c in chunks) / len(chunks)
            ),
            "the mean was taken per name, not per character: each name's mean was "
            "averaged, so a short name weighs as much as a long "
            "one.": float(((nll * real).sum(1) / lengths).mean()),
            "the negative log-likelihoods were summed; return their mean, in nats per "
            "character.": float(nll[real].sum()),
            "the result is in bits (log base 2); the course measures nats, the natural log.": (
                mean / math.log(2)
            ),
        }
        hint = (
            "add -ln p(target) over the real targets of every batch, count them, and "
            "divide the total by the count."
        )
        compare(name, case, got, expected, mistakes=mistakes, hint=hint)
    return len(cases)


# --- one update -------------------------------------------------------------------------------
def _masked_loss(model, batch, per_target=False) -> torch.Tensor:
    """The mean cross-entropy over the real targets of ``batch``; with ``per_target``, the
    cross-entropy of every target (B, L) and the mask of the real ones (B, L)."""
    logits = model(batch.inputs)
    real = sequences.length_mask(batch.lengths, logits.shape[1])
    if per_target:
        return F.cross_entropy(logits.transpose(1, 2), batch.targets, reduction="none"), real
    return F.cross_entropy(logits[real], batch.targets[real])


def _wrong_losses(model, batch) -> dict[str, float]:
    """{message: loss} of the known wrong losses of ``model`` on ``batch``."""
    nll, real = _masked_loss(model, batch, per_target=True)
    return {
        "padding counted: the loss averages every position, the padded ones too; average over "
        "the real targets t < lengths[b] only (your masked_cross_entropy from notebook 02 "
        "does).": nll.mean().item(),
        "the loss is a mean per name, so a short name weighs as much as a long one; average "
        "over every real target of the batch.": ((nll * real).sum(1) / real.sum(1)).mean().item(),
        "the losses were summed; the loop logs the mean over the real targets.": (
            nll[real].sum().item()
        ),
    }


def _train_step(model, optimizer, batch, max_norm=1.0):
    """The reference update: masked cross-entropy, backward, global-norm clipping, step;
    returns ``{"loss": float, "grad_norm": float}``, the norm measured before clipping."""
    optimizer.zero_grad()
    loss = _masked_loss(model, batch)
    loss.backward()
    norm = training.clip_grad_norm(model.parameters(), max_norm)
    optimizer.step()
    return {"loss": loss.item(), "grad_norm": norm.item()}


def _gradients(model, batch) -> list[torch.Tensor]:
    """The gradient of the loss on ``batch`` for each parameter of ``model``."""
    params = list(model.parameters())
    grads = torch.autograd.grad(_masked_loss(model, batch), params, allow_unused=True)
    return [torch.zeros_like(p) if gr is None else gr for p, gr in zip(params, grads, strict=True)]


def _clipped(grads: list[torch.Tensor], max_norm: float) -> list[torch.Tensor]:
    return [gr * min(1.0, max_norm / (_norm(grads) + 1e-6)) for gr in grads]


def _norm(grads: list[torch.Tensor]) -> float:
    return float(torch.sqrt(sum((gr**2).sum() for gr in grads)))


def _flat(tensors) -> torch.Tensor:
    return torch.cat([t.detach().double().reshape(-1) for t in tensors])


OPTIMIZERS = {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam}
MUTABLE = ("model", "optimizer")


@exercise(
    "09",
    reference=_train_step,
    # Not training.clip_grad_norm: the course's clip_global_norm, which checks.use hands out
    # until notebook 05's exercise passes, calls it.
    forbidden=(
        training.train,
        # decorated: its own code, not the decorator's wrapper that other functions share
        (inspect.unwrap(torch.nn.utils.clip_grad_norm_), "torch.nn.utils.clip_grad_norm_"),
        (charmodel.next_char_loss, "charmodel.next_char_loss, the course's own loss"),
    ),
)
def train_step(student_fn) -> int:
    """Check ``train_step(model, optimizer, batch, max_norm=1.0) -> {"loss", "grad_norm"}``.

    One update of ``model`` on ``batch`` (a ``CorpusBatch``: ``inputs``, ``targets``
    ``(B, L)``, ``lengths`` ``(B,)``): clear the old gradients, compute the mean
    cross-entropy over the real targets, backpropagate, clip all gradients together to the
    global norm ``max_norm``, put the clipped gradients back, take the optimizer's step.
    Returns the loss and the global gradient norm before clipping, as floats. Every case
    starts with stale gradients (a previous update's); any optimizer works.
    """
    name = "train_step"
    # (rows, letters, longest name, optimizer, lr, max_norm (None: the default), dtype);
    # case 2's gradient norm, 1.13, is above the default 1.0, so the default shows
    cases = [
        (3, "abc", 4, "SGD", 0.5, 0.3, torch.float32),
        (5, "abcd", 5, "SGD", 0.2, None, torch.float64),
        (4, "abcde", 4, "Adam", 0.05, 1.0, torch.float32),
    ]
    for seed, (rows, letters, longest, opt, lr, max_norm, dtype) in enumerate(cases):
        g = generator(960 + seed)
        model, batch = _case_data(g, rows, letters, longest, dtype)
        stale = [0.5 * torch.randn(p.shape, generator=g, dtype=dtype) for p in model.parameters()]
        start = copy.deepcopy(model)
        for p, s in zip(model.parameters(), stale, strict=True):
            p.grad = s.clone()
        given = f"max_norm={max_norm}" if max_norm else "max_norm left out (1.0)"
        case = (
            f"case {seed + 1} ({rows} names, lengths {batch.lengths.tolist()}, {opt} lr={lr}, "
            f"{given}, {dtype_name(dtype)} model)"
        )
        optimizer = OPTIMIZERS[opt](model.parameters(), lr=lr)
        args = (model, optimizer, batch) + ((max_norm,) if max_norm else ())  # None: the default
        got = call_hinted(name, CLASSES_AXIS, student_fn, *args, dtype=None, mutable=MUTABLE)
        max_norm = max_norm or 1.0
        if not isinstance(got, dict) or not {"loss", "grad_norm"} <= set(got):
            what = (
                f"a dict with keys {sorted(got)}" if isinstance(got, dict) else type(got).__name__
            )
            raise CheckFailed(
                f"{name}, {case}: returned {what}. Likely mistake: the loop logs what the update "
                f"returns; return a dict with 'loss' and 'grad_norm', both numbers."
            )
        loss = _number(name, case, got["loss"], "the loss")
        grad_norm = _number(name, case, got["grad_norm"], "the gradient norm")

        # what the update should have done, in float64 from the same start
        exact = copy.deepcopy(start).double()
        G = _gradients(exact, batch)
        p0 = _flat(exact.parameters())
        if opt == "SGD":
            expected = p0 - lr * _flat(_clipped(G, max_norm))
        else:
            reference = copy.deepcopy(start)
            _train_step(reference, OPTIMIZERS[opt](reference.parameters(), lr=lr), batch, max_norm)
            expected = _flat(reference.parameters())
        after = dict(model.named_parameters())
        if torch.equal(_flat(after.values()), p0):
            raise CheckFailed(
                f"{name}, {case}: no parameter changed. Likely mistake: the optimizer's "
                f"step is missing, or the gradients were cleared between backward and the step."
            )
        sizes = [p.numel() for p in after.values()]
        moved = dict(zip(after, (p0 != expected).split(sizes), strict=True))
        for label, p in start.named_parameters():
            if bool(moved[label].any()) and torch.equal(after[label].detach().to(p), p.detach()):
                raise CheckFailed(
                    f"{name}, {case}: no gradient reached model.{label}, which stayed as "
                    f"it was. Likely mistake: a .detach(), torch.no_grad() or a value taken "
                    f"out of the graph cuts it off from the loss, so training never updates it."
                )

        want = _masked_loss(exact, batch).item()
        compare(name, case, loss, want, what="the loss", mistakes=_wrong_losses(exact, batch))
        added = [gr + s for gr, s in zip(G, stale, strict=True)]  # backward adds to old grads
        mistakes = {
            "the gradients of the previous update were still there: clear them through the "
            "optimizer before backward, which adds to what it finds.": (
                p0 - lr * _flat(_clipped(added, max_norm))
            ),
            "the step used the unclipped gradients: clip after backward and before the step, "
            "and put the clipped tensors back into each parameter's .grad (clip_global_norm "
            "returns new tensors and leaves the gradients as they were).": p0 - lr * _flat(G),
        }
        compare(
            name,
            case,
            _flat(after.values()),
            expected,
            what="the parameters after the update",
            mistakes=mistakes if opt == "SGD" else {},
            hint="clear the gradients, compute the masked loss, backpropagate, clip all "
            "gradients together, write them back, then step.",
        )
        mistakes = {
            "the norm was measured after clipping; the loop logs it before, where it shows "
            "how steep the loss is.": min(_norm(G), max_norm)
        }
        compare(name, case, grad_norm, _norm(G), what="the gradient norm", mistakes=mistakes)
    return len(cases)
