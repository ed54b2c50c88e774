"""Text tasks: a token vocabulary, the toy sentence corpus, and a sentiment-like task."""

import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import torch

from rnncourse._random import generator
from rnncourse._validation import check_choice, check_float, check_int
from rnncourse.sequences import length_mask

__all__ = [
    "Vocab", "tokenize", "build_vocab", "SENTENCES", "CorpusBatch", "corpus_batch",
    "corpus_baseline", "POSITIVE_WORDS", "NEGATIVE_WORDS", "NEUTRAL_WORDS", "Sentiment",
    "sentiment", "sentiment_baseline"
]  # fmt: skip


SENTENCES = ("I think therefore I am", "I like machine learning", "I am not just a neural network")
"""The toy corpus: a model that memorizes it must know which sentence it is in."""


class Vocab:
    """A token <-> id table: ``<pad>``, ``<start>``, ``<stop>`` (ids 0, 1, 2), then the
    other tokens in order of first appearance."""

    PAD, START, STOP = "<pad>", "<start>", "<stop>"
    pad_id, start_id, stop_id = 0, 1, 2

    def __init__(self, tokens: Iterable[str]):
        if isinstance(tokens, str):
            raise TypeError("tokens must be a list of str, not one str; use tokenize() first.")
        self.itos: list[str] = [self.PAD, self.START, self.STOP]
        self.stoi: dict[str, int] = {s: i for i, s in enumerate(self.itos)}
        for token in tokens:
            if not isinstance(token, str):
                raise TypeError(f"tokens must be str, got {type(token).__name__} ({token!r}).")
            if token not in self.stoi:
                self.stoi[token] = len(self.itos)
                self.itos.append(token)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token) -> bool:
        return token in self.stoi

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens: {self.itos})"

    def encode(self, tokens: Sequence[str]) -> torch.Tensor:
        """Token list -> int64 ids of shape ``(len(tokens),)``."""
        if isinstance(tokens, str):
            raise TypeError(
                "encode takes a list of tokens, not a str; split it with tokenize(text, level)."
            )
        unknown = [t for t in tokens if t not in self.stoi]
        if unknown:
            raise ValueError(
                f"unknown tokens {unknown}; this vocabulary knows {self.itos[3:]}. "
                f"Build the vocabulary from text that contains them."
            )
        return torch.tensor([self.stoi[t] for t in tokens], dtype=torch.long)

    def decode(self, ids) -> list[str]:
        """Ids (a list of ints or a 1-D integer tensor) -> list of tokens."""
        if isinstance(ids, torch.Tensor):
            if ids.is_floating_point() or ids.dim() != 1:
                raise TypeError(f"ids must be a 1-D integer tensor, got {ids.dtype} {ids.shape}.")
            ids = ids.tolist()
        ids = [check_int(i, "id") for i in ids]
        bad = [i for i in ids if not 0 <= i < len(self)]
        if bad:
            raise ValueError(f"ids must lie in [0, {len(self)}), got {bad}.")
        return [self.itos[i] for i in ids]


def tokenize(text: str, level: str = "word") -> list[str]:
    """Split text into words (on whitespace) or into characters (spaces included)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}.")
    check_choice(level, "level", ("word", "char"))
    return text.split() if level == "word" else list(text)


def build_vocab(sentences: Sequence[str] = SENTENCES, level: str = "word") -> Vocab:
    """The vocabulary of ``sentences`` at word or character level."""
    if isinstance(sentences, str):
        raise TypeError("sentences must be a list of str, not one str; wrap it in a list.")
    return Vocab(token for s in sentences for token in tokenize(s, level))


class CorpusBatch(NamedTuple):
    """Next-token training data: ``targets`` are ``inputs`` shifted left by one."""

    inputs: torch.Tensor  #: int64 (B, L): <start> w1 .. wn, then <pad>
    targets: torch.Tensor  #: int64 (B, L): w1 .. wn <stop>, then <pad>
    lengths: torch.Tensor  #: int64 (B,): n + 1
    vocab: Vocab


def corpus_batch(
    sentences: Sequence[str] = SENTENCES, *, level: str = "word", vocab: Vocab | None = None
) -> CorpusBatch:
    """All sentences as one padded batch for next-token prediction (teacher forcing).

    ``targets`` end with ``<stop>``; both are padded with ``Vocab.pad_id`` (a loss skips
    it with ``ignore_index=Vocab.pad_id``).
    """
    if isinstance(sentences, str) or not sentences:
        raise TypeError("sentences must be a non-empty list of str; wrap one sentence in a list.")
    vocab = build_vocab(sentences, level) if vocab is None else vocab
    if not isinstance(vocab, Vocab):
        raise TypeError(f"vocab must be a Vocab or None, got {type(vocab).__name__}.")
    encoded = [vocab.encode(tokenize(s, level)) for s in sentences]
    return _next_token_batch(torch.cat(encoded), torch.tensor([len(e) for e in encoded]), vocab)


def _next_token_batch(ids: torch.Tensor, sizes: torch.Tensor, vocab: Vocab) -> CorpusBatch:
    """The sequences of ``sizes`` ``(B,)`` tokens, concatenated in ``ids`` ``(N,)``, as a
    ``CorpusBatch``; every token placed at once (fast for tens of thousands of names)."""
    B, L = len(sizes), int(sizes.max()) + 1
    inside = torch.arange(L) < sizes[:, None]  # (B, L): where the tokens go, row by row
    inputs = torch.full((B, L), vocab.pad_id, dtype=torch.long)
    targets = inputs.clone()
    inputs[:, 0] = vocab.start_id
    inputs[:, 1:][inside[:, :-1]] = ids
    targets[inside] = ids
    targets[torch.arange(B), sizes] = vocab.stop_id
    return CorpusBatch(inputs, targets, sizes + 1, vocab)


def corpus_baseline(batch: CorpusBatch) -> float:
    """Cross-entropy (nats per token) of the best context-free predictor (unigram model):
    the entropy of the token frequencies among the targets."""
    if not isinstance(batch, CorpusBatch):
        raise TypeError(f"batch must be a CorpusBatch, got {type(batch).__name__}.")
    B, T = batch.targets.shape
    valid = batch.targets[length_mask(batch.lengths, T, min_length=0, batch_size=B)]
    p = torch.bincount(valid).double() / valid.numel()
    p = p[p > 0]
    return float(-(p * p.log()).sum())


POSITIVE_WORDS = ("good", "great", "fun", "love", "happy", "nice")
NEGATIVE_WORDS = ("bad", "boring", "dull", "hate", "sad", "awful")
NEUTRAL_WORDS = ("the", "a", "movie", "plot", "was", "it", "and", "very", "film", "actors")


class Sentiment(NamedTuple):
    """Variable-length word sequences with a binary label."""

    tokens: torch.Tensor  #: int64 (B, L), padded with Vocab.pad_id
    lengths: torch.Tensor  #: int64 (B,)
    labels: torch.Tensor  #: int64 (B,): 1 if more positive than negative words
    vocab: Vocab


def _sentiment_args(min_len, max_len, p_positive, p_negative):
    min_len = check_int(min_len, "min_len", min_value=1)
    max_len = check_int(max_len, "max_len")
    if max_len < min_len:
        raise ValueError(f"max_len must be >= min_len ({min_len}), got {max_len}.")
    p_pos = check_float(p_positive, "p_positive", min_value=0.0, strict_min=True)
    p_neg = check_float(p_negative, "p_negative", min_value=0.0, strict_min=True)
    if p_pos + p_neg > 1.0:
        raise ValueError(
            f"p_positive + p_negative must be <= 1 (the rest are neutral words), "
            f"got {p_pos} + {p_neg} = {p_pos + p_neg}."
        )
    return min_len, max_len, p_pos, p_neg


def sentiment(
    batch_size: int,
    *,
    min_len: int = 3,
    max_len: int = 12,
    p_positive: float = 0.3,
    p_negative: float = 0.2,
    seed=None,
) -> Sentiment:
    """A sentiment-like toy task: is a sequence mostly positive?

    Lengths are uniform in ``[min_len, max_len]``; each word is positive with probability
    ``p_positive``, negative with ``p_negative``, else neutral. The label is 1 if positive
    words outnumber negative ones, 0 if fewer; ties are redrawn. The vocabulary is the same
    for every call. Returns ``Sentiment(tokens (B, L), lengths (B,), labels (B,), vocab)``.
    """
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    min_len, max_len, p_pos, p_neg = _sentiment_args(min_len, max_len, p_positive, p_negative)
    g = generator(seed)
    vocab = Vocab(POSITIVE_WORDS + NEGATIVE_WORDS + NEUTRAL_WORDS)
    groups = [vocab.encode(words) for words in (NEUTRAL_WORDS, POSITIVE_WORDS, NEGATIVE_WORDS)]

    kept, count = [], 0  # (tokens, lengths, labels) of untied draws
    while count < batch_size:
        lengths = torch.randint(min_len, max_len + 1, (batch_size,), generator=g)
        u = torch.rand(batch_size, max_len, generator=g)
        group = (u < p_pos).long() + 2 * ((u >= p_pos) & (u < p_pos + p_neg)).long()
        picks = [ids[torch.randint(len(ids), group.shape, generator=g)] for ids in groups]
        tokens = torch.stack(picks).gather(0, group[None])[0]  # each word from its group
        mask = torch.arange(max_len) < lengths[:, None]
        tokens[~mask] = vocab.pad_id
        n_pos = ((group == 1) & mask).sum(1)
        n_neg = ((group == 2) & mask).sum(1)
        keep = n_pos != n_neg
        kept.append((tokens[keep], lengths[keep], (n_pos > n_neg)[keep].long()))
        count += int(keep.sum())
    tokens, lengths, labels = (torch.cat(parts)[:batch_size] for parts in zip(*kept, strict=True))
    return Sentiment(tokens[:, : int(lengths.max())], lengths, labels, vocab)


def sentiment_baseline(
    min_len: int = 3, max_len: int = 12, p_positive: float = 0.3, p_negative: float = 0.2
) -> float:
    """Accuracy of always answering the majority class of ``sentiment``, computed exactly
    from the trinomial word counts (about 0.68 for the defaults)."""
    min_len, max_len, p_pos, p_neg = _sentiment_args(min_len, max_len, p_positive, p_negative)
    p_neu = 1.0 - p_pos - p_neg
    more = tie = 0.0
    for n in range(min_len, max_len + 1):
        for a in range(n + 1):
            for b in range(n - a + 1):
                ways = math.comb(n, a) * math.comb(n - a, b)
                p = ways * p_pos**a * p_neg**b * p_neu ** (n - a - b)
                more += p * (a > b)
                tie += p * (a == b)
    p_one = more / (max_len - min_len + 1 - tie)
    return max(p_one, 1.0 - p_one)
