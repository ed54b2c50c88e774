"""Right and wrong answers for notebook 09's bigram baseline, written as a student would."""

from __future__ import annotations

import math

import torch

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def bigram(train_names, valid_names, alpha=1.0, mode="right"):
    """Add-alpha bigram counts over '.', a-z; validation NLL in nats per character."""
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
    probs = counts / (totals if mode == "denominator" else counts.sum(1, keepdim=True))
    log = math.log2 if mode == "bits" else math.log
    per_name = [[-log(float(probs[a, b])) if probs[a, b] > 0 else math.inf for a, b in name]
                for name in pairs(valid_names)]  # fmt: skip
    if mode == "per_name":
        return sum(sum(n) / len(n) for n in per_name) / len(per_name)
    flat = [v for n in per_name for v in n]
    return sum(flat) if mode == "sum" else sum(flat) / len(flat)


def _wrong(mode):
    return lambda train, valid, alpha=1.0: bigram(train, valid, alpha, mode=mode)


# The same layout as every module here (tests/test_checks.py reads it): repeated on purpose.
CASES = {
    "bigram_nll": (
        bigram,
        [
            (_wrong("no_smoothing"), "smoothing"),
            (_wrong("denominator"), "missing from the denominator"),
            (_wrong("no_end"), "end of each name"),
            (_wrong("no_start"), "first letter is not predicted"),
            (_wrong("per_name"), "per name, not per character"),
            (_wrong("bits"), "log base 2"),
            (_wrong("valid_counts"), "come from the validation names"),
            (_wrong("sum"), "were summed"),
        ],
    ),
}
