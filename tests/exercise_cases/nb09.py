"""Right and wrong answers for notebook 09, written as a student would: the bigram baseline,
the score of a network on held-out names, and one training update."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LETTERS = "abcdefghijklmnopqrstuvwxyz"


# --- bigram_nll -------------------------------------------------------------------------------


def bigram(train_names, valid_names, alpha=1.0, mode="right"):
    """Add-alpha bigram counts over '.', a-z: (validation NLL in nats per character, table)."""
    stoi = {c: i + 1 for i, c in enumerate(LETTERS)}

    def pairs(names):
        out = []
        for name in names:
            ids = [stoi[c] for c in name]
            ids = ids if mode == "no_start" else [0, *ids]
            ids = ids if mode == "no_end" else [*ids, 0]
            out.append(list(zip(ids[:-1], ids[1:], strict=True)))
        return out

    counts = torch.zeros(27, 27)
    for name in pairs(valid_names if mode == "valid_counts" else train_names):
        for a, b in name:
            counts[a, b] += 1
    totals = counts.sum(1, keepdim=True)
    if mode != "no_smoothing":
        counts += alpha
    if mode == "columns":
        probs = counts / counts.sum(0, keepdim=True)
    else:
        probs = counts / (totals if mode == "denominator" else counts.sum(1, keepdim=True))
    log = math.log2 if mode == "bits" else math.log
    eps = 1e-10 if mode == "eps" else 0.0
    per_name = [
        [-log(float(probs[a, b]) + eps) if probs[a, b] + eps > 0 else math.inf for a, b in name]
        for name in pairs(valid_names)
    ]
    if mode == "per_name":
        nll = sum(sum(n) / len(n) for n in per_name) / len(per_name)
    else:
        flat = [v for n in per_name for v in n]
        nll = sum(flat) if mode == "sum" else sum(flat) / len(flat)
    return (nll, counts) if mode == "counts" else (nll, probs)


def bigram_vectorised(train_names, valid_names, alpha=1.0):
    """The same with bincount and one gather, the table in float64."""
    index = {c: i + 1 for i, c in enumerate(LETTERS)}

    def pairs(names):
        ids = [[0] + [index[c] for c in name] + [0] for name in names]
        first = torch.tensor([a for seq in ids for a in seq[:-1]])
        second = torch.tensor([b for seq in ids for b in seq[1:]])
        return first, second

    first, second = pairs(train_names)
    counts = torch.bincount(27 * first + second, minlength=27 * 27).reshape(27, 27)
    probs = (counts + alpha).double()
    probs = probs / probs.sum(1, keepdim=True)
    first, second = pairs(valid_names)
    return -probs[first, second].log().mean().item(), probs


def bigram_numpy_style(train_names, valid_names, alpha=1.0):
    """Counts in a nested list, probabilities row by row, the NLL a tensor of one element."""
    stoi = {c: i + 1 for i, c in enumerate(LETTERS)}
    table = [[alpha] * 27 for _ in range(27)]
    for name in train_names:
        seq = [0, *(stoi[c] for c in name), 0]
        for a, b in zip(seq, seq[1:]):  # noqa: B905 (one shorter on purpose)
            table[a][b] += 1
    probs = torch.tensor([[v / sum(row) for v in row] for row in table])
    logs = []
    for name in valid_names:
        seq = [0, *(stoi[c] for c in name), 0]
        logs += [torch.log(probs[a, b]) for a, b in zip(seq, seq[1:])]  # noqa: B905
    return -torch.stack(logs).mean(), probs


def _bigram_wrong(mode):
    return lambda train, valid, alpha=1.0: bigram(train, valid, alpha, mode=mode)


# --- validation_nll ---------------------------------------------------------------------------


def score(model, data, batch_size=1024, mode="right"):
    """Validation NLL of a names model: batches of rows, padding masked, no graph."""
    total, count, means, rows = 0.0, 0, [], len(data.lengths)
    stop = rows - batch_size if mode == "drop_last" else rows
    context = torch.enable_grad() if mode == "graph" else torch.no_grad()
    step = rows if mode == "unbatched" else batch_size
    with context:
        for start in range(0, stop, step):
            inputs = data.inputs[start : start + step]
            targets = data.targets[start : start + step]
            lengths = data.lengths[start : start + step]
            logits = model(inputs)
            nll = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")  # (B, L)
            keep = lengths - 1 if mode == "no_end" else lengths
            real = torch.arange(targets.shape[1]) < keep[:, None]
            if mode == "padding":
                real = torch.ones_like(real)
            if mode == "per_name":
                means.append((nll * real).sum(1) / real.sum(1))
                continue
            total += (nll * real).sum().item()
            count += int(real.numel()) if mode == "divisor" else int(real.sum())
            means.append((nll * real).sum().item() / int(real.sum()))
    if mode == "per_name":
        return float(torch.cat(means).mean())
    if mode == "mean_of_means":
        return sum(means) / len(means)
    if mode == "sum":
        return total
    return total / count / (math.log(2) if mode == "bits" else 1.0)


def score_token_by_token(model, data, batch_size=1024):
    """log_softmax and gather, the mask from the padding id, the sum kept as a tensor."""
    total = torch.zeros((), dtype=torch.float64)
    count = 0
    model.eval()
    with torch.no_grad():
        for start in range(0, data.inputs.shape[0], batch_size):
            rows = slice(start, start + batch_size)
            log_p = model(data.inputs[rows]).log_softmax(-1)
            picked = log_p.gather(-1, data.targets[rows].unsqueeze(-1)).squeeze(-1)
            real = data.targets[rows] != 0  # <pad> is id 0
            total -= picked[real].double().sum()
            count += int(real.sum())
    return float(total / count)


def score_with_ignore_index(model, data, batch_size=1024):
    """torch's cross-entropy, summed with ignore_index, each batch trimmed to its longest."""
    losses, counts = [], []
    with torch.inference_mode():
        for rows in torch.arange(len(data.lengths)).split(batch_size):
            longest = int(data.lengths[rows].max())
            logits = model(data.inputs[rows, :longest])
            targets = data.targets[rows, :longest]
            losses.append(F.cross_entropy(logits.transpose(1, 2), targets, ignore_index=0,
                                          reduction="sum"))  # fmt: skip
            counts.append(int((targets != 0).sum()))
    return (torch.stack(losses).sum() / sum(counts)).item()


def score_in_place_mask(model, data, batch_size=1024):
    """Marks the padding in the given targets with -100, in place."""
    targets = data.targets
    targets[targets == 0] = -100
    return score(model, data._replace(targets=targets.clamp(min=0)), batch_size)


def score_no_transpose(model, data, batch_size=1024):
    """torch's cross-entropy given the logits as the model returns them, (B, L, V)."""
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(data.lengths), batch_size):
            logits = model(data.inputs[start : start + batch_size])
            targets = data.targets[start : start + batch_size]
            total += F.cross_entropy(logits, targets, ignore_index=0, reduction="sum").item()
            count += int((targets != 0).sum())
    return total / count


def score_float64(model, data, batch_size=1024):
    """Returns a float64 tensor whatever the model's dtype."""
    return torch.tensor(score(model, data, batch_size), dtype=torch.float64)


def score_keeps_graph(model, data, batch_size=1024):
    """Scores with autograd on and returns the mean as a tensor of the graph."""
    total, count = 0.0, 0
    for start in range(0, len(data.lengths), batch_size):
        rows = slice(start, start + batch_size)
        logits = model(data.inputs[rows])
        real = torch.arange(logits.shape[1]) < data.lengths[rows, None]
        total = total + F.cross_entropy(logits[real], data.targets[rows][real], reduction="sum")
        count += int(real.sum())
    return total / count


def _score_wrong(mode):
    return lambda model, data, batch_size=1024: score(model, data, batch_size, mode=mode)


# --- train_step -------------------------------------------------------------------------------


def masked_mean(logits, targets, lengths):
    """The student's masked_cross_entropy of notebook 02."""
    real = torch.arange(targets.shape[1]) < lengths[:, None]
    return F.cross_entropy(logits[real], targets[real])


def clip(grads, max_norm):
    """The student's clip_global_norm of notebook 05."""
    norm = float(torch.sqrt(sum((g**2).sum() for g in grads)))
    return [g * min(1.0, max_norm / (norm + 1e-6)) for g in grads]


def step(model, optimizer, batch, max_norm=1.0, mode="right"):
    """One update: zero, masked loss, backward, global clip, write back, step."""
    if mode != "no_zero":
        optimizer.zero_grad()
    logits = model(batch.inputs)
    if mode == "padding":
        loss = F.cross_entropy(logits.transpose(1, 2), batch.targets)
    elif mode == "sum":
        loss = masked_mean(logits, batch.targets, batch.lengths) * int(batch.lengths.sum())
    elif mode == "per_name":
        nll = F.cross_entropy(logits.transpose(1, 2), batch.targets, reduction="none")
        real = torch.arange(batch.targets.shape[1]) < batch.lengths[:, None]
        loss = ((nll * real).sum(1) / batch.lengths).mean()
    else:
        loss = masked_mean(logits, batch.targets, batch.lengths)
    loss.backward()
    params = [p for p in model.parameters() if p.grad is not None]
    grads = [p.grad for p in params]
    norm = float(torch.sqrt(sum((g**2).sum() for g in grads)))
    clipped = clip(grads, max_norm)
    if mode != "not_written_back":
        with torch.no_grad():
            for p, g in zip(params, clipped, strict=True):
                p.grad.copy_(g)
    if mode == "zero_before_step":
        optimizer.zero_grad()
    if mode != "no_step":
        optimizer.step()
    if mode == "norm_after":
        norm = min(norm, max_norm)
    if mode == "loss_only":
        return loss.item()
    return {"loss": loss if mode == "graph" else loss.item(), "grad_norm": norm}


def step_with_torch_helpers(model, optimizer, batch, max_norm=1.0):
    """The gradients handed over with p.grad = ..., the norm with torch.linalg."""
    optimizer.zero_grad(set_to_none=False)
    logits = model(batch.inputs)
    loss = masked_mean(logits, batch.targets, batch.lengths)
    loss.backward()
    params = list(model.parameters())
    norm = torch.linalg.vector_norm(torch.cat([p.grad.reshape(-1) for p in params]))
    for p, g in zip(params, clip([p.grad for p in params], max_norm), strict=True):
        p.grad = g
    optimizer.step()
    return {"loss": loss.detach(), "grad_norm": norm}


def step_detached_embedding(model, optimizer, batch, max_norm=1.0):
    """Cuts the embedding out of the graph (a .detach() on an inner part)."""
    optimizer.zero_grad()
    e = model.embedding(batch.inputs).detach()
    hs, _ = model.rnn(e)
    loss = masked_mean(model.readout(hs), batch.targets, batch.lengths)
    loss.backward()
    params = [p for p in model.parameters() if p.grad is not None]
    grads = [p.grad for p in params]
    norm = float(torch.sqrt(sum((g**2).sum() for g in grads)))
    with torch.no_grad():
        for p, g in zip(params, clip(grads, max_norm), strict=True):
            p.grad.copy_(g)
    optimizer.step()
    return {"loss": loss.item(), "grad_norm": norm}


def step_torch_clip(model, optimizer, batch, max_norm=1.0):
    optimizer.zero_grad()
    loss = masked_mean(model(batch.inputs), batch.targets, batch.lengths)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return {"loss": loss.item(), "grad_norm": float(norm)}


def step_changes_batch(model, optimizer, batch, max_norm=1.0):
    """Writes the padding of the batch's targets over, in place."""
    batch.targets[batch.targets == 0] = 0
    batch.targets.add_(0)
    return step(model, optimizer, batch, max_norm)


def _step_wrong(mode):
    return lambda model, optimizer, batch, max_norm=1.0: step(
        model, optimizer, batch, max_norm, mode=mode
    )


# The same layout as every module here (tests/test_checks.py reads it): repeated on purpose.
CASES = {
    "bigram_nll": (
        bigram,
        [
            (_bigram_wrong("no_smoothing"), "smoothing"),
            (_bigram_wrong("denominator"), "missing from the denominator"),
            (_bigram_wrong("columns"), "each column sums to 1"),
            (_bigram_wrong("counts"), "the table holds the counts"),
            (_bigram_wrong("no_end"), "end of each name"),
            (_bigram_wrong("no_start"), "first letter is not predicted"),
            (_bigram_wrong("per_name"), "per name, not per character"),
            (_bigram_wrong("bits"), "log base 2"),
            (_bigram_wrong("valid_counts"), "come from the validation names"),
            (_bigram_wrong("sum"), "were summed"),
            (_bigram_wrong("eps"), "small number added inside the log"),
            (lambda train, valid, alpha=1.0: bigram(train, valid), "alpha was not used"),
            (
                lambda train, valid, alpha=1.0: bigram(train, valid, 2.0),
                "count the training pairs into N",
            ),
            (lambda train, valid, alpha=1.0: bigram(train, valid, alpha)[0], "expected a pair"),
        ],
    ),
    "validation_nll": (
        score,
        [
            (_score_wrong("padding"), "padding counted: the mean runs over every position"),
            (_score_wrong("divisor"), "padding counted in the divisor"),
            (_score_wrong("no_end"), "the end of each name is not scored"),
            (_score_wrong("mean_of_means"), "batches' means were averaged"),
            (_score_wrong("per_name"), "per name, not per character"),
            (_score_wrong("sum"), "were summed"),
            (_score_wrong("bits"), "log base 2"),
            (_score_wrong("graph"), "autograd recorded"),
            (_score_wrong("unbatched"), "batch_size was not used"),
            (_score_wrong("drop_last"), "a batch was left out"),
            (score_in_place_mask, "in place"),
            (score_no_transpose, "wrong axis for the classes"),
            (score_float64, "dtype"),
            (score_keeps_graph, "autograd recorded"),
        ],
    ),
    "train_step": (
        step,
        [
            (_step_wrong("no_zero"), "previous update were still there"),
            (_step_wrong("not_written_back"), "unclipped gradients"),
            (_step_wrong("no_step"), "no parameter changed"),
            (_step_wrong("zero_before_step"), "no parameter changed"),
            (_step_wrong("padding"), "padding counted"),
            (_step_wrong("per_name"), "mean per name"),
            (_step_wrong("sum"), "losses were summed"),
            (_step_wrong("norm_after"), "measured after clipping"),
            (_step_wrong("loss_only"), "return a dict"),
            (_step_wrong("graph"), "still holds autograd's graph"),
            (step_detached_embedding, "no gradient reached model.embedding.weight"),
            (step_torch_clip, "calls torch.nn.utils"),
            (step_changes_batch, "in place"),
        ],
    ),
}

RIGHT = {
    "bigram_nll": [bigram_vectorised, bigram_numpy_style],
    "validation_nll": [score_token_by_token, score_with_ignore_index],
    "train_step": [step_with_torch_helpers],
}
