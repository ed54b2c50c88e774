"""Next-character prediction on real text: vocabulary, splits, batches and baselines::

split = split_names()                      # seed 0: the same split everywhere
train = encode_names(split.train, char_vocab(load_names()))
batch = random_batch(train, 128, seed=g)   # inputs, targets (B, L); lengths (B,)
logits = model(batch.inputs)               # (B, L, len(vocab))
loss = F.cross_entropy(logits.transpose(1, 2), batch.targets, ignore_index=Vocab.pad_id)
"""

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch

from rnncourse._random import generator
from rnncourse._validation import check_float, check_int, check_tensor
from rnncourse.sequences import length_mask
from rnncourse.tasks.corpora import load_names
from rnncourse.tasks.text import CorpusBatch, Vocab, _next_token_batch

__all__ = [
    "char_vocab", "NamesSplit", "split_names", "encode_names", "random_batch", "TextSplit",
    "split_text", "ChunkBatch", "random_chunks", "uniform_nll", "bigram_nll",
    "NAMES_PUBLISHED_NLL"
]  # fmt: skip

NAMES_PUBLISHED_NLL = {"bigram counts": 2.45, "MLP": 2.1, "small transformer": 1.92}
"""Published validation NLL (nats per character, end of name counted) on the names."""


def _strings_arg(texts, name: str) -> list[str]:
    """Check a non-empty list of non-empty str."""
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError(
            f"{name} must be a list of str, got {type(texts).__name__}; "
            f"wrap a single string in a list."
        )
    if not texts:
        raise ValueError(f"{name} is empty; it needs at least one string.")
    for i, s in enumerate(texts):
        if not isinstance(s, str) or not s:
            raise ValueError(
                f"{name}[{i}] must be a non-empty str, got {s!r}; drop empty lines first."
            )
    return list(texts)


def _fraction_arg(valid_fraction, n: int, what: str) -> int:
    """The number of validation items for ``valid_fraction`` of ``n``; both parts non-empty."""
    f = check_float(valid_fraction, "valid_fraction", min_value=0.0, max_value=1.0)
    n_valid = round(f * n)
    if not 1 <= n_valid < n:
        fix = "raise valid_fraction" if n_valid < 1 else "lower valid_fraction"
        raise ValueError(
            f"valid_fraction={f} of {n} {what} leaves {n_valid} for validation and "
            f"{n - n_valid} for training; both need at least one: {fix}."
        )
    return n_valid


def _ids_arg(ids, name: str, min_length: int, why: str) -> torch.Tensor:
    """Check a 1-D int64 tensor of token ids with at least ``min_length`` entries."""
    hint = "Encode text with vocab.encode(tokenize(text, 'char'))."
    ids = check_tensor(ids, name, ("N",), floating=False, allow_empty=True, hint=hint)
    if ids.dtype != torch.long:
        raise TypeError(f"{name} must hold int64 token ids, got dtype {ids.dtype}. {hint}")
    if ids.numel() < min_length:
        raise ValueError(f"{name} must hold at least {min_length} ids ({why}), got {ids.numel()}.")
    return ids


def char_vocab(texts: str | Sequence[str]) -> Vocab:
    """A character ``Vocab`` of ``texts`` (a str or a list of str), characters sorted: for the
    names ``<pad>``, ``<start>``, ``<stop>``, ``a`` .. ``z`` (29 tokens)."""
    if isinstance(texts, str):
        chars = set(texts)
    else:
        chars = set().union(*map(set, _strings_arg(texts, "texts")))
    return Vocab(sorted(chars))


class NamesSplit(NamedTuple):
    """Disjoint parts of a list of names (a name listed twice may fall in both)."""

    train: list[str]
    valid: list[str]


def split_names(
    names: Sequence[str] | None = None, *, valid_fraction: float = 0.1, seed=0
) -> NamesSplit:
    """A seeded random train/validation split of ``names`` (default: all of ``load_names()``).

    The last ``round(valid_fraction * N)`` names of a random permutation are the
    validation set. The default ``seed=0`` gives one fixed split (28,830 / 3,203 names).
    """
    names = load_names() if names is None else _strings_arg(names, "names")
    n_valid = _fraction_arg(valid_fraction, len(names), "names")
    picked = [names[i] for i in torch.randperm(len(names), generator=generator(seed)).tolist()]
    return NamesSplit(picked[: len(names) - n_valid], picked[len(names) - n_valid :])


def encode_names(names: Sequence[str], vocab: Vocab | None = None) -> CorpusBatch:
    """Names as one padded batch for next-character prediction (teacher forcing).

    ``inputs[b]`` is ``<start>`` and name ``b``, ``targets[b]`` the name and ``<stop>``,
    padded with ``Vocab.pad_id``; ``vocab`` defaults to ``char_vocab(load_names())``.
    Returns ``CorpusBatch(inputs (N, L), targets (N, L), lengths (N,), vocab)``, int64.
    """
    names = _strings_arg(names, "names")
    vocab = char_vocab(load_names()) if vocab is None else vocab
    if not isinstance(vocab, Vocab):
        raise TypeError(f"vocab must be a Vocab or None, got {type(vocab).__name__}.")
    sizes = torch.tensor([len(s) for s in names])
    return _next_token_batch(vocab.encode(list("".join(names))), sizes, vocab)


def random_batch(data: CorpusBatch, batch_size: int, *, seed=None) -> CorpusBatch:
    """``batch_size`` different rows of ``data`` (a ``CorpusBatch`` of ``N >= B``), drawn at
    random, trimmed to the longest: ``CorpusBatch(inputs (B, L), targets (B, L), lengths
    (B,), vocab)``. A ``torch.Generator`` as ``seed`` gives a stream of batches."""
    if not isinstance(data, CorpusBatch):
        raise TypeError(
            f"data must be a CorpusBatch (from encode_names), got {type(data).__name__}."
        )
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    n = len(data.lengths)
    if batch_size > n:
        raise ValueError(
            f"batch_size must be <= {n}, the number of sequences in data, got {batch_size}; "
            f"use a smaller batch or the whole of data."
        )
    rows = torch.randperm(n, generator=generator(seed))[:batch_size]
    lengths = data.lengths[rows]
    L = int(lengths.max())
    return CorpusBatch(data.inputs[rows, :L], data.targets[rows, :L], lengths, data.vocab)


class TextSplit(NamedTuple):
    """A text cut in two by position: ``train + valid`` is the whole text."""

    train: str
    valid: str


def split_text(text: str, *, valid_fraction: float = 0.1) -> TextSplit:
    """The first ``1 - valid_fraction`` of ``text`` for training, the rest for validation
    (1,003,855 and 111,539 characters of ``load_shakespeare()`` by default)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}.")
    n_valid = _fraction_arg(valid_fraction, len(text), "characters")
    return TextSplit(text[: len(text) - n_valid], text[len(text) - n_valid :])


class ChunkBatch(NamedTuple):
    """Windows of a text for next-character prediction: ``targets`` is ``inputs`` shifted."""

    inputs: torch.Tensor  #: int64 (B, T): ids[s] .. ids[s + T - 1]
    targets: torch.Tensor  #: int64 (B, T): ids[s + 1] .. ids[s + T]


def random_chunks(ids: torch.Tensor, batch_size: int, T: int, *, seed=None) -> ChunkBatch:
    """``batch_size`` windows of ``T + 1`` consecutive ``ids`` (int64 ``(N,)``, ``N > T``),
    every start equally likely. Returns ``ChunkBatch(inputs (B, T), targets (B, T))``."""
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    T = check_int(T, "T", min_value=1)
    ids = _ids_arg(ids, "ids", T + 1, f"one window of T + 1 = {T + 1}; use a smaller T")
    starts = torch.randint(0, ids.numel() - T, (batch_size,), generator=generator(seed))
    windows = ids[starts[:, None] + torch.arange(T + 1)]
    return ChunkBatch(windows[:, :-1], windows[:, 1:])


def _pairs(data, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(current id, next id) of every prediction in ``data``: two int64 ``(P,)`` tensors."""
    if isinstance(data, CorpusBatch):
        B, L = data.targets.shape
        real = length_mask(data.lengths, L, min_length=0, batch_size=B)
        return data.inputs[real], data.targets[real]
    if isinstance(data, torch.Tensor):
        ids = _ids_arg(data, name, 2, "one prediction needs two")
        return ids[:-1], ids[1:]
    raise TypeError(
        f"{name} must be a CorpusBatch (from encode_names) or an int64 (N,) tensor of an "
        f"encoded text, got {type(data).__name__}."
    )


def uniform_nll(*data: CorpusBatch | torch.Tensor) -> float:
    """``ln(V)`` for the ``V`` tokens that occur as targets in ``data`` (``CorpusBatch``es or
    int64 ``(N,)`` texts): about 3.296 nats for the names, 4.174 for Shakespeare."""
    if not data:
        raise TypeError("uniform_nll needs at least one CorpusBatch or id tensor.")
    targets = torch.cat([_pairs(d, f"data[{i}]")[1] for i, d in enumerate(data)])
    return math.log(len(torch.unique(targets)))


def bigram_nll(
    train: CorpusBatch | torch.Tensor, valid: CorpusBatch | torch.Tensor, *, smoothing: float = 1.0
) -> float:
    """Validation cross-entropy (nats per target) of bigram counts from the training data.

    P(next | current) is the pair's count in ``train`` plus ``smoothing`` (1.0: add-one),
    normalised over the tokens that occur as targets in ``train`` or ``valid`` (two
    ``CorpusBatch`` or two int64 ``(N,)`` texts, one vocabulary). About 2.45 on the names.
    """
    if isinstance(train, CorpusBatch) != isinstance(valid, CorpusBatch):
        raise TypeError(
            "train and valid must be the same kind: both CorpusBatch or both id tensors."
        )
    if isinstance(train, CorpusBatch) and train.vocab.itos != valid.vocab.itos:
        raise ValueError(
            "train and valid were encoded with different vocabularies; encode both with one."
        )
    smoothing = check_float(smoothing, "smoothing", min_value=0.0, strict_min=True)
    current, following = _pairs(train, "train")
    valid_current, valid_following = _pairs(valid, "valid")
    classes = torch.unique(torch.cat([following, valid_following]))
    n = 1 + int(max(current.max(), following.max(), valid_current.max(), classes.max()))
    counts = torch.bincount(current * n + following, minlength=n * n).view(n, n).double()
    counts = counts[:, classes] + smoothing
    log_p = (counts / counts.sum(1, keepdim=True)).log()
    return float(-log_p[valid_current, torch.searchsorted(classes, valid_following)].mean())
