"""Checker for notebook 09: the bigram baseline of the names, counted by hand."""

from __future__ import annotations

import math
import string

import torch

from rnncourse.tasks.corpora import load_names

from .._random import generator
from ._contract import call
from ._framework import compare, exercise

LETTERS = string.ascii_lowercase
"""The names' letters; token 0 is '.', the start and the end of every name."""
_ID = {c: i + 1 for i, c in enumerate(LETTERS)}


def _pairs(names, *, start: bool = True, end: bool = True):
    """(current, next) token ids of every prediction in ``names``: two int64 ``(P,)``."""
    unknown = sorted(set("".join(names)) - set(LETTERS))
    if unknown:
        raise ValueError(f"names must be lower case a-z, without {unknown}.")
    first, second = [], []
    for name in names:
        ids = [0] * start + [_ID[c] for c in name] + [0] * end
        first += ids[:-1]
        second += ids[1:]
    return torch.tensor(first, dtype=torch.long), torch.tensor(second, dtype=torch.long)


def _counts(names, **frame) -> torch.Tensor:
    """``N[a, b]``, how often token ``b`` follows token ``a`` in ``names``: ``(27, 27)``."""
    first, second = _pairs(names, **frame)
    return torch.bincount(27 * first + second, minlength=27 * 27).reshape(27, 27).double()


def _nll(probs: torch.Tensor, names, *, per_name: bool = False, **frame) -> float:
    """Mean ``-ln probs[a, b]`` over the pairs of ``names`` (per character, or per name)."""
    if per_name:
        return sum(_nll(probs, [name], **frame) for name in names) / len(names)
    first, second = _pairs(names, **frame)
    return float(-probs[first, second].log().mean())


def _bigram_nll(train_names, valid_names, alpha=1.0):
    """The reference: validation NLL (nats per character) of add-``alpha`` bigram counts.

    ``train_names``, ``valid_names``: lists of lower-case names. Every name is read as
    ``'.' + name + '.'`` over the 27 tokens ``'.', 'a', ..., 'z'``;
    ``P(b | a) = (N[a, b] + alpha) / sum_b' (N[a, b'] + alpha)`` with ``N`` ``(27, 27)``
    counted on the training names; the result is the mean of ``-ln P(b | a)`` over every
    pair of the validation names (each name's letters and its end).
    """
    return _framed(train_names, valid_names, alpha)


def _framed(train_names, valid_names, alpha, **frame) -> float:
    """:func:`_bigram_nll` with every name framed as ``frame`` says (start, end)."""
    smoothed = _counts(train_names, **frame) + alpha
    return _nll(smoothed / smoothed.sum(1, keepdim=True), valid_names, **frame)


def _random_names(g: torch.Generator, n: int, letters: str, longest: int) -> list[str]:
    sizes = torch.randint(1, longest + 1, (n,), generator=g).tolist()
    picks = [torch.randint(0, len(letters), (k,), generator=g).tolist() for k in sizes]
    return ["".join(letters[i] for i in pick) for pick in picks]


@exercise("09", reference=_bigram_nll)
def bigram_nll(student_fn) -> int:
    """Check ``bigram_nll(train_names, valid_names, alpha=1.0) -> float``.

    The validation negative log-likelihood, in nats per character, of bigram counts from
    the training names with ``alpha`` added to every count (see :func:`_bigram_nll`).
    """
    names = load_names()
    g = generator(900)
    cases = [
        ("three short names", ["ab", "ba", "abc"], ["ab", "cab"], 1.0),
        ("letters a-e", _random_names(g, 30, "abcde", 6), _random_names(g, 10, "abcde", 6), 0.5),
        ("letters a-z", _random_names(g, 40, LETTERS, 5), _random_names(g, 15, LETTERS, 5), 2.0),
        ("300 real names", names[:300:3] + names[1000:1200], names[5000:5100], 1.0),
    ]
    for k, (what, train, valid, alpha) in enumerate(cases):
        sizes = f"{len(train)} training and {len(valid)} validation names"
        case = f"case {k + 1} ({what}, {sizes}, alpha={alpha})"
        got = call("bigram_nll", student_fn, list(train), list(valid), alpha)
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if isinstance(got, (int, float)) and got == -math.inf:
            raise AssertionError(
                f"bigram_nll, {case}: got {got}. Likely mistake: a letter never seen in "
                f"training has a row total of 0, and N + alpha divided by 0 is infinite: "
                f"alpha is missing from the denominator (the row total plus 27 alpha)."
            )
        if isinstance(got, (int, float)) and not math.isfinite(got):
            raise AssertionError(
                f"bigram_nll, {case}: got {got}. Likely mistake: a pair never seen in "
                f"training gets probability 0, so its -ln P is infinite; add alpha to every "
                f"count before normalising (smoothing)."
            )
        counts = _counts(train)
        smoothed = counts + alpha
        rows = smoothed / smoothed.sum(1, keepdim=True)
        compare(
            "bigram_nll",
            case,
            got,
            torch.tensor(_nll(rows, valid), dtype=torch.float64),
            mistakes=[
                (
                    "alpha is missing from the denominator: divide N[a, b] + alpha by the "
                    "total of row a once alpha is added (its counts plus 27 alpha), so that "
                    "every row sums to 1.",
                    _nll(smoothed / counts.sum(1, keepdim=True), valid),
                ),
                (
                    "the end of each name is not predicted: read a name as '.' + name + '.', "
                    "so the last pair (last letter, '.') counts too.",
                    _framed(train, valid, alpha, end=False),
                ),
                (
                    "the first letter is not predicted: start every name with '.', so the "
                    "pair ('.', first letter) counts too.",
                    _framed(train, valid, alpha, start=False),
                ),
                (
                    "the mean was taken per name, not per character: average -ln P over "
                    "every pair of all validation names together.",
                    _nll(rows, valid, per_name=True),
                ),
                (
                    "the result is in bits (log base 2); the course measures nats, the "
                    "natural log (torch.log, math.log).",
                    _nll(rows, valid) / math.log(2),
                ),
                (
                    "the counts come from the validation names; count the training names "
                    "only, then score the validation names.",
                    _framed(valid, valid, alpha),
                ),
                (
                    "the negative log-likelihoods were summed; return their mean, in nats "
                    "per character.",
                    _nll(rows, valid) * len(_pairs(valid)[0]),
                ),
            ],
            shape_hints={
                (27, 27): "the table was returned; return the mean NLL on the validation "
                "names, one number."
            },
            hint="count the training pairs into N (27, 27), add alpha, divide each row by "
            "its sum, and average -ln P(b | a) over the validation pairs.",
        )
    return len(cases)
