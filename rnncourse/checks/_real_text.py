"""Checker for notebook 09: the bigram baseline of the names, counted by hand."""

import math
import string

import torch

from rnncourse.tasks.corpora import load_names

from .._random import generator
from ._contract import call
from ._framework import CheckFailed, compare, exercise

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


def _table(names, alpha, **frame) -> torch.Tensor:
    """``P(b | a)``, the add-``alpha`` table of ``names``, each row normalised: ``(27, 27)``."""
    smoothed = _counts(names, **frame) + alpha
    return smoothed / smoothed.sum(1, keepdim=True)


def _bigram_nll(train_names, valid_names, alpha=1.0):
    """The reference: ``(nll, probs)`` of add-``alpha`` bigram counts. Names (lists of lower-case
    str) are read as ``'.' + name + '.'`` over the tokens '.', 'a' ... 'z'; probs (27, 27) is
    P(b | a) = (N[a, b] + alpha) / sum_b' (N[a, b'] + alpha), N counted on the training
    names; nll, a float, the mean -ln P(b | a) over the pairs of the validation names."""
    probs = _table(train_names, alpha)
    return _nll(probs, valid_names), probs


def _random_names(g: torch.Generator, n: int, letters: str, longest: int) -> list[str]:
    sizes = torch.randint(1, longest + 1, (n,), generator=g).tolist()
    picks = [torch.randint(0, len(letters), (k,), generator=g).tolist() for k in sizes]
    return ["".join(letters[i] for i in pick) for pick in picks]


def _unseen(train, valid) -> tuple[str, str] | None:
    """A pair of the validation names that no training name holds, as two characters."""
    seen = set(zip(*(t.tolist() for t in _pairs(train)), strict=True))
    for a, b in zip(*(t.tolist() for t in _pairs(valid)), strict=True):
        if (a, b) not in seen:
            return tuple("." if i == 0 else LETTERS[i - 1] for i in (a, b))
    return None


def _split_answer(case: str, got):
    """The answer's ``(nll as a float, probs)``, or a message naming what came back."""
    if not (isinstance(got, tuple | list) and len(got) == 2):
        tensor = isinstance(got, torch.Tensor)
        what = f"a tensor of shape {tuple(got.shape)}" if tensor else type(got).__name__
        raise CheckFailed(
            f"bigram_nll, {case}: expected a pair (nll, probs), got {what}. Likely mistake: "
            f"return both, the mean NLL on the validation names and the (27, 27) table."
        )
    nll, probs = got
    if isinstance(nll, torch.Tensor) and nll.numel() == 1:
        nll = nll.item()
    if not isinstance(nll, int | float):
        raise CheckFailed(
            f"bigram_nll, {case}: the NLL must be one number (a float), got "
            f"{type(nll).__name__}; the table goes second."
        )
    return float(nll), probs


@exercise("09", reference=_bigram_nll)
def bigram_nll(student_fn) -> int:
    """Check ``bigram_nll(train_names, valid_names, alpha=1.0) -> (nll, probs)`` as
    :func:`_bigram_nll`: nll in nats per character, probs (27, 27), checked itself (a table
    normalised along the wrong axis scores the same NLL). ``alpha = 0`` is allowed; a
    validation pair unseen in training then makes the NLL infinite."""
    names = load_names()
    g = generator(900)
    real = names[:300:3] + names[1000:1200]
    seen = real[:40]
    cases = [
        ("three short names", ["ab", "ba", "abc"], ["ab", "cab"], 1.0),
        ("letters a-e", _random_names(g, 30, "abcde", 6), _random_names(g, 10, "abcde", 6), 0.5),
        ("letters a-z", _random_names(g, 40, LETTERS, 5), _random_names(g, 15, LETTERS, 5), 2.0),
        ("300 real names", real, names[5000:5100], 1.0),
        ("300 real names, no pseudo-counts", real, names[5000:5100], 0.0),
        ("300 real names, no pseudo-counts, validation names seen in training", real, seen, 0.0),
    ]
    for k, (what, train, valid, alpha) in enumerate(cases):
        sizes = f"{len(train)} training and {len(valid)} validation names"
        case = f"case {k + 1} ({what}, {sizes}, alpha={alpha})"
        if k == 0:  # alpha left at its default, as notebook 09 calls it
            case = case.replace(f"alpha={alpha}", "alpha left out, 1.0")
            got = call("bigram_nll", student_fn, list(train), list(valid))
        else:
            got = call("bigram_nll", student_fn, list(train), list(valid), alpha)
        nll, probs = _split_answer(case, got)
        counts = _counts(train)
        smoothed = counts + alpha
        rows = smoothed / smoothed.sum(1, keepdim=True)
        expected = _nll(rows, valid)
        if alpha > 0 and nll == -math.inf:
            raise CheckFailed(
                f"bigram_nll, {case}: got {nll}. Likely mistake: a letter never seen in "
                f"training has a row total of 0, and N + alpha divided by 0 is infinite: "
                f"alpha is missing from the denominator (the row total plus 27 alpha)."
            )
        if alpha > 0 and not math.isfinite(nll):
            raise CheckFailed(
                f"bigram_nll, {case}: got {nll}. Likely mistake: a pair never seen in "
                f"training gets probability 0, so its -ln P is infinite; add alpha to every "
                f"count before normalising (smoothing)."
            )
        unseen = _unseen(train, valid)
        if alpha == 0 and unseen is not None and math.isfinite(nll):
            raise CheckFailed(
                f"bigram_nll, {case}: got {nll:.4f}, expected inf. Likely mistake: the pair "
                f"{''.join(unseen)!r} of a validation name never occurs in training, so at "
                f"alpha = 0 its probability is exactly 0 and -ln 0 is infinite; a "
                f"small number added inside the log (or a clamp) hides that, and the sweep "
                f"over alpha needs to show it."
            )
        wrong_tables = {
            "each column sums to 1, not each row: normalise every row a of the "
            "table (P(b | a) divides by the total of row a, the pairs that start "
            "with a).": smoothed / smoothed.sum(0, keepdim=True),
            "alpha is missing from the denominator: divide N[a, b] + alpha by the "
            "total of row a once alpha is added (its counts plus 27 alpha), so that "
            "every row sums to 1.": smoothed / counts.sum(1, keepdim=True),
            "the table holds the counts; divide each row by its total to turn it "
            "into probabilities.": smoothed,
            "the end of each name is not predicted: read a name as '.' + name + '.', "
            "so the last pair (last letter, '.') counts too.": _table(train, alpha, end=False),
            "the first letter is not predicted: start every name with '.', so the "
            "pair ('.', first letter) counts too.": _table(train, alpha, start=False),
            "the counts come from the validation names; count the training names "
            "only, then score the validation names.": _table(valid, alpha),
        }
        if alpha != 1:
            wrong_tables[
                f"alpha was not used: the table holds add-one counts, but this "
                f"case asks for alpha={alpha}; add the alpha the function is given."
            ] = _table(train, 1.0)
        hint = (
            "count the training pairs into N (27, 27), add alpha to every entry and "
            "divide each row by its sum."
        )
        compare("bigram_nll", case, probs, rows, what="probs", mistakes=wrong_tables, hint=hint)
        wrong_nlls = {
            "the mean was taken per name, not per character: average -ln P over "
            "every pair of all validation names together.": _nll(rows, valid, per_name=True),
            "the result is in bits (log base 2); the course measures nats, the "
            "natural log (torch.log, math.log).": expected / math.log(2),
            "the negative log-likelihoods were summed; return their mean, in nats "
            "per character.": expected * len(_pairs(valid)[0]),
            "the end of each validation name is not scored: read a name as '.' + name + '.', so "
            "the last pair (last letter, '.') counts too.": _nll(rows, valid, end=False),
        }
        hint = "average -ln P(b | a) over the pairs of the validation names."
        compare("bigram_nll", case, nll, expected, what="nll", mistakes=wrong_nlls, hint=hint)
    return len(cases)
