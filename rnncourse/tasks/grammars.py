"""The Reber grammar and the embedded Reber grammar ``B c <Reber string> c E`` (c in
{T, P}: the next-to-last symbol needs the second one remembered), for next-symbol
prediction."""

from collections.abc import Sequence
from typing import NamedTuple

import torch

from rnncourse._random import generator
from rnncourse._validation import check_int, check_tensor
from rnncourse.sequences import length_mask

__all__ = [
    "REBER_ALPHABET", "REBER_BASELINE_SOLVED", "reber_strings", "is_grammatical",
    "next_symbols", "ReberBatch", "reber_batch", "reber_correct"
]  # fmt: skip


REBER_ALPHABET = "BTSXPVE"
"""The seven symbols of the Reber grammar, in the order of the one-hot features."""

REBER_BASELINE_SOLVED = 0.5
"""Fraction of embedded strings solved by a model that knows the inner grammar perfectly
but cannot remember the second symbol: it must guess the next-to-last symbol (T or P)."""

# The Reber graph: state -> {symbol: next state}; "start" is before B, "end" after E.
_REBER = {
    "start": {"B": 0},
    0: {"T": 1, "P": 2},
    1: {"S": 1, "X": 3},
    2: {"T": 2, "V": 4},
    3: {"X": 2, "S": 5},
    4: {"P": 3, "V": 5},
    5: {"E": "end"},
    "end": {},
}

# The embedded graph: B, then c in {T, P}, then a Reber string whose states (c, state)
# remember c, then c again (where the inner string ends) and E.
_EMBEDDED = {
    "start": {"B": "branch"},
    "branch": {"T": ("T", "start"), "P": ("P", "start")},
    **{
        (c, state): {s: (c, nxt) for s, nxt in moves.items()} if moves else {c: "close"}
        for c in "TP"
        for state, moves in _REBER.items()
    },
    "close": {"E": "end"},
    "end": {},
}


def reber_strings(n: int, embedded: bool = True, *, seed=None) -> list[str]:
    """``n`` strings of the (embedded) Reber grammar, every edge out of a state equally likely."""
    n = check_int(n, "n", min_value=1)
    g, graph = generator(seed), _EMBEDDED if embedded else _REBER
    strings = []
    for _ in range(n):
        state, symbols = "start", []
        while moves := graph[state]:
            options = list(moves)
            symbol = options[int(torch.randint(len(options), (1,), generator=g))]
            symbols.append(symbol)
            state = moves[symbol]
        strings.append("".join(symbols))
    return strings


def _walk(string: str, embedded: bool) -> list:
    """The moves allowed after each symbol of ``string``; ValueError at the first illegal one."""
    if not isinstance(string, str):
        raise TypeError(f"string must be a str such as 'BTBTXSETE', got {type(string).__name__}.")
    graph = _EMBEDDED if embedded else _REBER
    moves, after = graph["start"], []
    for t, symbol in enumerate(string):
        if symbol not in moves:
            allowed = "".join(sorted(moves)) or "nothing (the string is complete)"
            raise ValueError(
                f"{string!r} is not grammatical: symbol {symbol!r} at position {t}, "
                f"where only {allowed} may follow."
            )
        moves = graph[moves[symbol]]
        after.append(moves)
    return after


def is_grammatical(string: str, embedded: bool = True) -> bool:
    """True if ``string`` is a complete string of the (embedded) Reber grammar."""
    try:
        after = _walk(string, embedded)
    except ValueError:
        return False
    return bool(after) and not after[-1]


def next_symbols(string: str, embedded: bool = True) -> list[set[str]]:
    """For each position ``t`` of ``string`` (complete or a prefix), the set of symbols the
    grammar allows at ``t + 1`` (empty after the final E). ValueError if it leaves it."""
    return [set(moves) for moves in _walk(string, embedded)]


class ReberBatch(NamedTuple):
    """Reber strings encoded for next-symbol prediction."""

    x: torch.Tensor  #: float32 (B, T, 7) one-hot symbols, zero rows at padding
    targets: torch.Tensor  #: float32 (B, T, 7) multi-hot legal next symbols
    lengths: torch.Tensor  #: int64 (B,)


def reber_batch(strings: Sequence[str], embedded: bool = True) -> ReberBatch:
    """Encode strings for next-symbol prediction, padded to the longest.

    ``x`` is one-hot over ``REBER_ALPHABET``; ``targets[b, t]`` is the multi-hot set of
    symbols allowed after ``x[b, : t + 1]``. Both are zero at padding (``targets`` also at
    the final E). Returns ``ReberBatch(x (B, T, 7), targets (B, T, 7), lengths (B,))``.
    """
    if isinstance(strings, str) or not isinstance(strings, Sequence) or not strings:
        raise TypeError("strings must be a non-empty list of str, e.g. reber_strings(8).")
    T = max(len(s) for s in strings)
    x = torch.zeros(len(strings), T, len(REBER_ALPHABET))
    targets = torch.zeros_like(x)
    for b, string in enumerate(strings):
        legal_next = next_symbols(string, embedded)
        for t, (symbol, legal) in enumerate(zip(string, legal_next, strict=True)):
            x[b, t, REBER_ALPHABET.index(symbol)] = 1.0
            for s in legal:
                targets[b, t, REBER_ALPHABET.index(s)] = 1.0
    lengths = torch.tensor([len(s) for s in strings])
    return ReberBatch(x, targets, lengths)


def reber_correct(scores: torch.Tensor, targets: torch.Tensor, lengths) -> torch.Tensor:
    """Which strings a network has solved, bool ``(B,)``.

    Hochreiter & Schmidhuber's (1997) criterion: at every step before the string's length,
    if the grammar allows ``n`` next symbols, the ``n`` most active of the ``scores``
    ``(B, T, 7)`` are those (``targets`` ``(B, T, 7)`` from ``reber_batch``).
    """
    targets = check_tensor(targets, "targets", ("B", "T", len(REBER_ALPHABET)))
    B, T, _ = targets.shape
    scores = check_tensor(scores, "scores", (B, T, len(REBER_ALPHABET)))
    mask = length_mask(lengths, T, min_length=0, batch_size=B)
    n_legal = targets.sum(-1, keepdim=True)
    rank = scores.argsort(-1, descending=True).argsort(-1)  # 0 for the most active output
    step_ok = ((rank < n_legal) == targets.bool()).all(-1)
    return (step_ok | ~mask).all(-1)
