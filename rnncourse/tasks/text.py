"""Seeded, in-memory data generators for training and probing recurrent networks.

Every generator takes ``seed``: an int, a ``torch.Generator``, or ``None`` for a fresh,
nondeterministic generator. The global random state of torch and NumPy is never touched,
so calling a generator does not change the result of any other random call. Tensors are
batch-first, ``(batch, time, features)``, and every task states the loss or accuracy of a
trivial predictor, so a trained network can be compared against "learned nothing".

Tasks, and what they ask of a network's memory:

- ``adding_problem``: remember two marked values over ``T`` steps and add them.
- ``copy_task``: recall ``k`` symbols after a delay of ``T`` steps.
- ``parity``: keep one bit (the running XOR) exactly, forever.
- ``reber_strings`` and friends: the embedded Reber grammar, where one symbol must be
  carried across a whole inner string.
- ``ecg``: a synthetic electrocardiogram; short context finds a heartbeat, long context
  gives the heart rate.
- ``linear_state_space`` and ``sine_waves``: signals from linear dynamical systems.
- ``corpus_batch``: the three-sentence toy corpus for next-token prediction.
- ``sentiment``: variable-length sequences classified by counting words.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F

from rnncourse._validation import check_choice, check_float, check_int, check_tensor

__all__ = [
    "ADDING_BASELINE_MSE",
    "PARITY_BASELINE_ACCURACY",
    "REBER_ALPHABET",
    "REBER_BASELINE_SOLVED",
    "ECG_BASELINE_MSE",
    "SENTENCES",
    "POSITIVE_WORDS",
    "NEGATIVE_WORDS",
    "NEUTRAL_WORDS",
    "adding_problem",
    "copy_task",
    "copy_baseline",
    "one_hot",
    "parity",
    "reber_strings",
    "is_grammatical",
    "next_symbols",
    "ReberBatch",
    "reber_batch",
    "reber_correct",
    "ECG",
    "ecg",
    "ecg_baseline_mse",
    "StateSpace",
    "discretize",
    "linear_state_space",
    "SineWaves",
    "sine_waves",
    "sine_baseline_mse",
    "Vocab",
    "tokenize",
    "build_vocab",
    "CorpusBatch",
    "corpus_batch",
    "corpus_baseline",
    "Sentiment",
    "sentiment",
    "sentiment_baseline",
]


# --------------------------------------------------------------------------- utilities


def _generator(seed: int | torch.Generator | None) -> torch.Generator:
    """Turn ``seed`` into a private ``torch.Generator`` (never the global one)."""
    if isinstance(seed, torch.Generator):
        return seed
    g = torch.Generator()
    if seed is None:
        g.seed()  # fresh entropy from the operating system
        return g
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(
            f"seed must be an int, a torch.Generator or None, got {type(seed).__name__} ({seed!r})."
        )
    g.manual_seed(int(seed))
    return g


def _batch_size(batch_size) -> int:
    batch_size = check_int(batch_size, "batch_size")
    if batch_size < 1:
        raise ValueError(
            f"batch_size must be >= 1 (a batch needs at least one sequence), got {batch_size}."
        )
    return batch_size


def _range(value, name: str, *, min_value: float, max_value: float | None = None):
    """Read a number or a ``(low, high)`` pair; return ``(low, high)``."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be a number or a (low, high) pair, got {value!r}.")
        low = check_float(value[0], f"{name}[0]", min_value=min_value, max_value=max_value)
        high = check_float(value[1], f"{name}[1]", min_value=min_value, max_value=max_value)
        if low > high:
            raise ValueError(
                f"{name} must be (low, high) with low <= high, got {value!r}; swap the two."
            )
        return low, high
    value = check_float(value, name, min_value=min_value, max_value=max_value)
    return value, value


def _uniform(low: float, high: float, size: tuple, g: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(size, generator=g)


def one_hot(tokens: torch.Tensor, num_classes: int, lengths=None) -> torch.Tensor:
    """One-hot encode integer tokens.

    Args:
        tokens: integer tensor of shape ``(B, T)`` (any shape works without ``lengths``).
        num_classes: size of the alphabet; every token must be in ``[0, num_classes)``.
        lengths: optional ``(B,)`` integer tensor; steps at or past a sequence's length
            become all-zero rows, so padding carries no signal.

    Returns:
        float32 tensor of shape ``(*tokens.shape, num_classes)``.
    """
    tokens = check_tensor(tokens, "tokens", floating=False)
    if tokens.is_floating_point() or tokens.dtype == torch.bool:
        raise TypeError(f"tokens must be an integer tensor, got {tokens.dtype}. Use tokens.long().")
    num_classes = check_int(num_classes, "num_classes", min_value=1)
    if tokens.min() < 0 or tokens.max() >= num_classes:
        raise ValueError(
            f"tokens must lie in [0, {num_classes}), got values from {int(tokens.min())} to "
            f"{int(tokens.max())}; raise num_classes or fix the tokens."
        )
    out = F.one_hot(tokens.long(), num_classes).float()
    if lengths is not None:
        check_tensor(tokens, "tokens", ("B", "T"), floating=False)
        out = out * _length_mask(lengths, *tokens.shape).unsqueeze(-1)
    return out


def _length_mask(lengths, batch_size: int, T: int) -> torch.Tensor:
    """``(B, T)`` bool mask, True at steps before each sequence's length."""
    lengths = check_tensor(lengths, "lengths", (batch_size,), floating=False)
    if lengths.is_floating_point():
        raise TypeError(f"lengths must be an integer tensor, got {lengths.dtype}.")
    if lengths.min() < 0 or lengths.max() > T:
        raise ValueError(f"lengths must lie in [0, {T}], got {lengths.tolist()}.")
    return torch.arange(T) < lengths[:, None]


# --------------------------------------------------------------------------- adding

ADDING_BASELINE_MSE = 1.0 / 6.0
"""MSE of always answering 1.0 (the mean target): the variance of a sum of two U(0, 1)."""


def adding_problem(batch_size: int, T: int, *, seed=None) -> tuple[torch.Tensor, torch.Tensor]:
    """The adding problem: add the two marked numbers of a long sequence.

    Channel 0 holds numbers drawn uniformly from [0, 1]; channel 1 is a marker that is 1 at
    exactly two steps, one in the first half ``[0, T // 2)`` and one in the second half
    ``[T // 2, T)``, and 0 elsewhere. The target is the sum of the two marked numbers. A
    network that ignores the input and answers 1.0 reaches ``ADDING_BASELINE_MSE = 1/6``.

    Returns:
        x: float32 ``(B, T, 2)``; y: float32 ``(B, 1)``.
    """
    batch_size = _batch_size(batch_size)
    T = check_int(T, "T")
    if T < 2:
        raise ValueError(f"T must be >= 2 (one marker in each half of the sequence), got {T}.")
    g = _generator(seed)
    values = torch.rand(batch_size, T, generator=g)
    first = torch.randint(0, T // 2, (batch_size,), generator=g)
    second = torch.randint(T // 2, T, (batch_size,), generator=g)
    marker = torch.zeros(batch_size, T)
    rows = torch.arange(batch_size)
    marker[rows, first] = 1.0
    marker[rows, second] = 1.0
    x = torch.stack([values, marker], dim=-1)
    y = (values * marker).sum(dim=1, keepdim=True)
    return x, y


# --------------------------------------------------------------------------- copy


def _copy_args(T, k, alphabet) -> tuple[int, int, int]:
    T = check_int(T, "T")
    if T < 1:
        raise ValueError(
            f"T (the delay) must be >= 1: the delimiter comes T steps after the symbols, got {T}."
        )
    k = check_int(k, "k")
    if k < 1:
        raise ValueError(f"k (the number of symbols to copy) must be >= 1, got {k}.")
    alphabet = check_int(alphabet, "alphabet")
    if alphabet < 2:
        raise ValueError(
            f"alphabet must be >= 2 symbols (with one symbol there is nothing to remember), "
            f"got {alphabet}."
        )
    return T, k, alphabet


def copy_task(
    batch_size: int, T: int = 100, *, k: int = 10, alphabet: int = 8, seed=None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Copy (delayed recall): reproduce ``k`` symbols after a delay of ``T`` steps.

    Tokens: 0 is blank, ``1..alphabet`` are the symbols, ``alphabet + 1`` is the delimiter
    (so ``alphabet + 2`` classes; use ``one_hot(x, alphabet + 2)`` as network input).
    The input is ``k`` random symbols, ``T - 1`` blanks, the delimiter, then ``k`` blanks;
    the target is ``T + k`` blanks followed by the ``k`` symbols. Both have length
    ``T + 2k``. See ``copy_baseline`` for the loss of a network without memory.

    Returns:
        x, y: int64 ``(B, T + 2k)``.
    """
    batch_size = _batch_size(batch_size)
    T, k, alphabet = _copy_args(T, k, alphabet)
    g = _generator(seed)
    symbols = torch.randint(1, alphabet + 1, (batch_size, k), generator=g)
    x = torch.zeros(batch_size, T + 2 * k, dtype=torch.long)
    y = torch.zeros_like(x)
    x[:, :k] = symbols
    x[:, T + k - 1] = alphabet + 1
    y[:, T + k :] = symbols
    return x, y


def copy_baseline(T: int, k: int = 10, alphabet: int = 8) -> float:
    """Cross-entropy (nats per step) of the best memoryless strategy for ``copy_task``.

    Predict blank with certainty for the first ``T + k`` steps, then a uniform guess over the
    alphabet for the last ``k``: ``k ln(alphabet) / (T + 2k)``, about 0.173 at ``T = 100``.
    """
    T, k, alphabet = _copy_args(T, k, alphabet)
    return k * math.log(alphabet) / (T + 2 * k)


# --------------------------------------------------------------------------- parity

PARITY_BASELINE_ACCURACY = 0.5
"""Accuracy of a constant guess: the running parity is 0 or 1 with equal probability."""


def parity(batch_size: int, T: int, *, seed=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Running parity: ``y_t`` is the XOR of the bits ``x_1 .. x_t``.

    Returns:
        x: float32 bits ``(B, T, 1)``; y: float32 running parity ``(B, T, 1)``.
    """
    batch_size = _batch_size(batch_size)
    T = check_int(T, "T")
    if T < 1:
        raise ValueError(f"T must be >= 1 time step, got {T}.")
    g = _generator(seed)
    x = torch.randint(0, 2, (batch_size, T, 1), generator=g)
    y = x.cumsum(dim=1) % 2
    return x.float(), y.float()


# --------------------------------------------------------------------------- Reber grammar

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


def _moves(state, embedded: bool) -> dict:
    """Legal next symbols from ``state``, as ``{symbol: next state}``.

    The embedded grammar's state is ``(outer, inner)``: ``outer`` is the symbol chosen at
    step two (T or P), remembered while the inner Reber string runs.
    """
    if not embedded:
        return _REBER[state]
    outer, inner = state
    if outer == "start":
        return {"B": ("branch", None)}
    if outer == "branch":
        return {"T": ("T", "start"), "P": ("P", "start")}
    if outer == "close":
        return {"E": ("end", None)}
    if outer == "end":
        return {}
    if inner == "end":  # the inner string is done: repeat the remembered symbol
        return {outer: ("close", None)}
    return {symbol: (outer, nxt) for symbol, nxt in _REBER[inner].items()}


def _start(embedded: bool):
    return ("start", None) if embedded else "start"


def reber_strings(n: int, embedded: bool = True, *, seed=None) -> list[str]:
    """Draw ``n`` strings from the (embedded) Reber grammar.

    Each state picks one of its outgoing edges with equal probability. A Reber string runs
    from B to E through the graph; an embedded string is ``B c <Reber string> c E`` with
    ``c`` in {T, P}, so the next-to-last symbol can only be predicted by remembering the
    second one across the whole inner string.
    """
    n = check_int(n, "n", min_value=1)
    g = _generator(seed)
    strings = []
    for _ in range(n):
        state, symbols = _start(embedded), []
        while moves := _moves(state, embedded):
            options = list(moves)
            symbol = options[int(torch.randint(len(options), (1,), generator=g))]
            symbols.append(symbol)
            state = moves[symbol]
        strings.append("".join(symbols))
    return strings


def _walk(string: str, embedded: bool) -> list:
    """States visited after each symbol of ``string``; ValueError at the first illegal one."""
    if not isinstance(string, str):
        raise TypeError(f"string must be a str such as 'BTBTXSETE', got {type(string).__name__}.")
    state, states = _start(embedded), []
    for t, symbol in enumerate(string):
        moves = _moves(state, embedded)
        if symbol not in moves:
            allowed = "".join(sorted(moves)) or "nothing (the string is complete)"
            raise ValueError(
                f"{string!r} is not grammatical: symbol {symbol!r} at position {t}, "
                f"where only {allowed} may follow."
            )
        state = moves[symbol]
        states.append(state)
    return states


def is_grammatical(string: str, embedded: bool = True) -> bool:
    """True if ``string`` is a complete string of the (embedded) Reber grammar."""
    try:
        states = _walk(string, embedded)
    except ValueError:
        return False
    return bool(states) and not _moves(states[-1], embedded)


def next_symbols(string: str, embedded: bool = True) -> list[set[str]]:
    """For each position ``t``, the set of symbols the grammar allows at ``t + 1``.

    ``string`` may be a complete string or a prefix of one; after the final E the set is
    empty. Raises ValueError if ``string`` leaves the grammar.
    """
    return [set(_moves(state, embedded)) for state in _walk(string, embedded)]


class ReberBatch(NamedTuple):
    """Reber strings encoded for next-symbol prediction."""

    x: torch.Tensor  #: float32 (B, T, 7) one-hot symbols, zero rows at padding
    targets: torch.Tensor  #: float32 (B, T, 7) multi-hot legal next symbols
    lengths: torch.Tensor  #: int64 (B,)


def reber_batch(strings: Sequence[str], embedded: bool = True) -> ReberBatch:
    """Encode strings for next-symbol prediction, padded to the longest.

    ``x`` is one-hot over ``REBER_ALPHABET`` (all-zero rows at padding); ``targets[b, t]``
    is the multi-hot set of symbols the grammar allows after ``x[b, : t + 1]`` (all zero at
    the final E, where nothing may follow, and at padding). A network "solves" a string
    when its most active outputs are the legal next symbols at every step: see
    ``reber_correct``.

    Returns:
        ``ReberBatch(x (B, T, 7), targets (B, T, 7), lengths (B,))``.
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
    """Which strings a network has solved.

    The usual criterion (Hochreiter & Schmidhuber 1997): at every step, if the grammar
    allows ``n`` next symbols, the network's ``n`` most active outputs must be exactly those
    symbols. A string is solved when this holds at every step before its length.

    Args:
        scores: float ``(B, T, 7)`` network outputs (logits or probabilities).
        targets: float ``(B, T, 7)`` multi-hot legal next symbols from ``reber_batch``.
        lengths: int ``(B,)``.

    Returns:
        bool ``(B,)``.
    """
    targets = check_tensor(targets, "targets", ("B", "T", len(REBER_ALPHABET)))
    B, T, _ = targets.shape
    scores = check_tensor(scores, "scores", (B, T, len(REBER_ALPHABET)))
    mask = _length_mask(lengths, B, T)
    n_legal = targets.sum(-1, keepdim=True)
    rank = scores.argsort(-1, descending=True).argsort(-1)  # 0 for the most active output
    step_ok = ((rank < n_legal) == targets.bool()).all(-1)
    return (step_ok | ~mask).all(-1)


# --------------------------------------------------------------------------- ECG


class ECG(NamedTuple):
    """A batch of synthetic ECG records."""

    x: torch.Tensor  #: voltage in mV, float32 (B, T, 1)
    heart_rate: torch.Tensor  #: beats per minute, float32 (B, 1)
    r_peaks: torch.Tensor  #: 1.0 at each R-peak sample, else 0, float32 (B, T, 1)


# One heartbeat as a sum of Gaussians around the R peak: (offset s, width s, amplitude mV).
# The P and T offsets are for 60 bpm and scale with sqrt(R-R interval),
# roughly as in real hearts (Bazett's QT correction).
_WAVES = {
    "P": (-0.20, 0.025, 0.15),
    "Q": (-0.025, 0.010, -0.10),
    "R": (0.0, 0.010, 1.00),
    "S": (0.025, 0.010, -0.25),
    "T": (0.30, 0.050, 0.30),
}


def ecg_baseline_mse(heart_rate=(50.0, 120.0)) -> float:
    """MSE (bpm^2) of always predicting the middle of the heart-rate range.

    Rates are uniform on ``[low, high]``, so this is the variance ``(high - low)^2 / 12``.
    """
    low, high = _range(heart_rate, "heart_rate", min_value=1.0)
    return (high - low) ** 2 / 12.0


ECG_BASELINE_MSE = ecg_baseline_mse((50.0, 120.0))
"""About 408 bpm^2 (20 bpm RMS) for the default range 50-120 bpm."""


def ecg(
    batch_size: int,
    duration_s: float = 10.0,
    *,
    fs: float = 250.0,
    heart_rate=(50.0, 120.0),
    rr_jitter: float = 0.03,
    wander: float = 0.1,
    noise: float = 0.02,
    seed=None,
) -> ECG:
    """Synthetic ECG records with their heart rate and R-peak labels.

    Each record has its own heart rate, uniform in ``heart_rate`` (bpm). Beats are spaced
    by the R-R interval ``60 / rate`` seconds, each interval jittered by a relative
    standard deviation ``rr_jitter``. A beat is a sum of Gaussians for the P wave, the QRS
    complex and the T wave (in the spirit of McSharry et al. 2003). A slow sinusoid of
    amplitude ``wander`` mV (breathing, 0.15-0.4 Hz) and white noise of standard deviation
    ``noise`` mV are added.

    Why this needs long-term context: recognising a QRS complex takes about 50 ms of signal
    (a dozen samples at 250 Hz), but the rate is the time *between* QRS complexes, so a
    network must carry information for more than one R-R interval, over a second (300
    samples at 50 bpm). Predicting the middle of the range scores ``ecg_baseline_mse``.

    Args:
        batch_size: number of records B.
        duration_s: record length in seconds; ``T = round(duration_s * fs)``. Must hold
            two R-R intervals at the slowest rate.
        fs: sampling rate in Hz.
        heart_rate: ``(low, high)`` range in bpm, or one number for a fixed rate.

    Returns:
        ``ECG(x (B, T, 1) mV, heart_rate (B, 1) bpm, r_peaks (B, T, 1))``, float32.
    """
    batch_size = _batch_size(batch_size)
    duration_s = check_float(duration_s, "duration_s", min_value=0.0, strict_min=True)
    fs = check_float(fs, "fs", min_value=0.0, strict_min=True)
    low, high = _range(heart_rate, "heart_rate", min_value=1.0, max_value=300.0)
    if duration_s < 120.0 / low:
        raise ValueError(
            f"duration_s must hold two R-R intervals at the slowest rate ({120.0 / low:.2f} s "
            f"for {low:g} bpm), got {duration_s}; lengthen the record or raise heart_rate."
        )
    rr_jitter = check_float(rr_jitter, "rr_jitter", min_value=0.0, max_value=0.2)
    wander = check_float(wander, "wander", min_value=0.0)
    noise = check_float(noise, "noise", min_value=0.0)
    g = _generator(seed)
    T = round(duration_s * fs)
    t = torch.arange(T, dtype=torch.float64) / fs

    rate = _uniform(low, high, (batch_size, 1), g).double()
    rr = 60.0 / rate  # (B, 1) seconds
    shortest = 60.0 / high * (1 - 3 * rr_jitter)
    n_beats = math.ceil((duration_s + 60.0 / low) / shortest) + 2
    jitter = torch.randn(batch_size, n_beats, generator=g, dtype=torch.float64).clamp(-3, 3)
    intervals = rr * (1 + rr_jitter * jitter)
    first = -torch.rand(batch_size, 1, generator=g, dtype=torch.float64) * rr  # in (-rr, 0]
    beats = first + intervals.cumsum(1) - intervals[:, :1]  # (B, n_beats) seconds

    # Draw each beat only in a window of samples around its R peak, where its waves are
    # not negligible (5 widths beyond the P and T waves), then add the beats into x.
    stretch = math.sqrt(60.0 / low)  # the largest sqrt(R-R interval)
    before = 0.20 * stretch + 5 * 0.025
    after = 0.30 * stretch + 5 * 0.050
    window = torch.arange(-math.ceil(before * fs), math.ceil(after * fs) + 1)
    index = torch.round(beats * fs).long()  # (B, n_beats) sample of each R peak
    samples = index[..., None] + window  # (B, n_beats, W)
    since = samples / fs - beats[..., None]  # seconds since the R peak
    beat = torch.zeros_like(since)
    for name, (offset, width, amplitude) in _WAVES.items():
        if name in "PT":
            offset = offset * rr[..., None].sqrt()
        beat += amplitude * torch.exp(-0.5 * ((since - offset) / width) ** 2)
    inside = (samples >= 0) & (samples < T)
    x = torch.zeros(batch_size, T, dtype=torch.float64)
    x.scatter_add_(1, samples.clamp(0, T - 1).flatten(1), (beat * inside).flatten(1))

    breathing = _uniform(0.15, 0.4, (batch_size, 1), g).double()
    phase = _uniform(0.0, 2 * math.pi, (batch_size, 1), g).double()
    x += wander * torch.sin(2 * math.pi * breathing * t + phase)
    x += noise * torch.randn(batch_size, T, generator=g, dtype=torch.float64)

    inside = (index >= 0) & (index < T)
    r_peaks = torch.zeros(batch_size, T)
    rows = torch.arange(batch_size)[:, None].expand_as(index)
    r_peaks[rows[inside], index[inside]] = 1.0
    return ECG(x.float().unsqueeze(-1), rate.float(), r_peaks.unsqueeze(-1))


# --------------------------------------------------------------------------- state space


class StateSpace(NamedTuple):
    """A simulated linear system."""

    states: torch.Tensor  #: (B, T, n)
    outputs: torch.Tensor  #: (B, T, p)


def discretize(A: torch.Tensor, B: torch.Tensor, dt: float, method: str = "zoh"):
    """Discretize ``x' = A x + B u`` for a step ``dt``: ``x_{t+1} = A_d x_t + B_d u_t``.

    ``"zoh"`` (zero-order hold) is exact when ``u`` is constant over each step: it reads
    ``A_d`` and ``B_d`` off the matrix exponential of the augmented matrix
    ``[[A, B], [0, 0]] dt``. ``"euler"`` is the first-order approximation
    ``A_d = I + A dt``, ``B_d = B dt``, accurate only for small ``dt``.

    Args:
        A: float ``(n, n)``; B: float ``(n, m)``.

    Returns:
        ``(A_d (n, n), B_d (n, m))``.
    """
    A = check_tensor(A, "A", (None, None))
    n = A.shape[0]
    A = check_tensor(A, "A", (n, n), hint="A must be square (state size n by n).")
    B = check_tensor(B, "B", (n, None), hint="B maps the input to the state: shape (n, m).")
    dt = check_float(dt, "dt", min_value=0.0, strict_min=True)
    check_choice(method, "method", ("zoh", "euler"))
    B = B.to(A.dtype)
    if method == "euler":
        return torch.eye(n, dtype=A.dtype) + A * dt, B * dt
    m = B.shape[1]
    augmented = torch.zeros(n + m, n + m, dtype=A.dtype)
    augmented[:n, :n] = A
    augmented[:n, n:] = B
    exp = torch.linalg.matrix_exp(augmented * dt)
    return exp[:n, :n], exp[:n, n:]


def linear_state_space(A, B, C, D, u, dt, method: str = "zoh", x0=None) -> StateSpace:
    """Simulate the linear system ``x' = A x + B u``, ``y = C x + D u``.

    The input is held constant over each step: ``u[:, t]`` drives the state from time
    ``t dt`` to ``(t + 1) dt``. Like a recurrent network, ``states[:, t]`` is the state after
    step ``t`` (that is ``x((t + 1) dt)``) and ``outputs[:, t] = C states[:, t] + D u[:, t]``.

    Args:
        A: ``(n, n)``, B: ``(n, m)``, C: ``(p, n)``, D: ``(p, m)`` float tensors; they are
            cast to ``u``'s dtype.
        u: float ``(batch, T, m)`` inputs.
        dt: step in seconds.
        method: ``"zoh"`` (exact for piecewise-constant input) or ``"euler"``.
        x0: optional ``(batch, n)`` initial state; zeros if None.

    Returns:
        ``StateSpace(states (batch, T, n), outputs (batch, T, p))``.
    """
    u = check_tensor(u, "u", ("batch", "T", None))
    batch, T, m = u.shape
    A = check_tensor(A, "A", (None, None)).to(u.dtype)
    n = A.shape[0]
    A = check_tensor(A, "A", (n, n), hint="A must be square (state size n by n).")
    B = check_tensor(B, "B", (n, m), hint="B maps the input (m features of u) to the state.")
    C = check_tensor(C, "C", (None, n), hint="C maps the state (n) to the output: (p, n).")
    p = C.shape[0]
    D = check_tensor(D, "D", (p, m), hint="D maps the input to the output: (p, m).")
    A_d, B_d = discretize(A, B.to(u.dtype), dt, method)
    if x0 is None:
        x = torch.zeros(batch, n, dtype=u.dtype)
    else:
        x = check_tensor(x0, "x0", (batch, n)).to(u.dtype)
    states = []
    for t in range(T):
        x = x @ A_d.T + u[:, t] @ B_d.T
        states.append(x)
    states = torch.stack(states, dim=1)
    outputs = states @ C.to(u.dtype).T + u @ D.to(u.dtype).T
    return StateSpace(states, outputs)


class SineWaves(NamedTuple):
    """A batch of noisy sines with next-step targets."""

    x: torch.Tensor  #: (B, T, 1) the signal, with noise
    target: torch.Tensor  #: (B, T, 1) the clean signal one step ahead
    freq: torch.Tensor  #: (B, 1) cycles per step
    amplitude: torch.Tensor  #: (B, 1)


def sine_waves(
    batch_size: int,
    T: int,
    *,
    freq=(0.01, 0.1),
    amplitude=(0.5, 1.5),
    phase=(0.0, 2 * math.pi),
    noise: float = 0.0,
    seed=None,
) -> SineWaves:
    """Sines ``a sin(2 pi f t + phi)`` for next-step prediction.

    ``freq`` (cycles per step, at most 0.5, the Nyquist limit), ``amplitude`` and ``phase``
    are each a ``(low, high)`` range, drawn uniformly per sequence, or one fixed number.
    ``target[:, t]`` is the clean signal at step ``t + 1``; with ``noise = 0``,
    ``x[:, 1:] == target[:, :-1]``. Predicting 0 scores ``sine_baseline_mse(amplitude)``.

    Returns:
        ``SineWaves(x (B, T, 1), target (B, T, 1), freq (B, 1), amplitude (B, 1))``, float32.
    """
    batch_size = _batch_size(batch_size)
    T = check_int(T, "T")
    if T < 1:
        raise ValueError(f"T must be >= 1 time step, got {T}.")
    f_low, f_high = _range(freq, "freq", min_value=0.0, max_value=0.5)
    a_low, a_high = _range(amplitude, "amplitude", min_value=0.0)
    p_low, p_high = _range(phase, "phase", min_value=-math.inf)
    noise = check_float(noise, "noise", min_value=0.0)
    g = _generator(seed)
    f = _uniform(f_low, f_high, (batch_size, 1), g)
    a = _uniform(a_low, a_high, (batch_size, 1), g)
    phi = _uniform(p_low, p_high, (batch_size, 1), g)
    t = torch.arange(T + 1, dtype=torch.float32)
    clean = a * torch.sin(2 * math.pi * f * t + phi)  # (B, T + 1)
    x = clean[:, :T] + noise * torch.randn(batch_size, T, generator=g)
    return SineWaves(x.unsqueeze(-1), clean[:, 1:].unsqueeze(-1), f, a)


def sine_baseline_mse(amplitude=(0.5, 1.5)) -> float:
    """MSE of always predicting 0 for ``sine_waves``: the mean of ``a^2 / 2``.

    For ``a`` uniform on ``[low, high]``, ``E[a^2] = (low^2 + low high + high^2) / 3``.
    """
    low, high = _range(amplitude, "amplitude", min_value=0.0)
    return (low**2 + low * high + high**2) / 6.0


# --------------------------------------------------------------------------- toy corpus

SENTENCES = (
    "I think therefore I am",
    "I like machine learning",
    "I am not just a neural network",
)
"""The toy corpus: a model that memorizes it must know which sentence it is in."""


class Vocab:
    """A token <-> id table. Ids 0, 1, 2 are ``<pad>``, ``<start>`` and ``<stop>``.

    The other tokens follow in order of first appearance.
    """

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

    At step ``t`` the network reads ``inputs[:, t]`` and should predict ``targets[:, t]``,
    the next token; the last target of each sentence is ``<stop>``. Padding uses
    ``Vocab.pad_id`` in both; ignore it in the loss with ``ignore_index=Vocab.pad_id``.
    """
    if isinstance(sentences, str) or not sentences:
        raise TypeError("sentences must be a non-empty list of str; wrap one sentence in a list.")
    vocab = build_vocab(sentences, level) if vocab is None else vocab
    if not isinstance(vocab, Vocab):
        raise TypeError(f"vocab must be a Vocab or None, got {type(vocab).__name__}.")
    encoded = [vocab.encode(tokenize(s, level)) for s in sentences]
    L = max(len(e) for e in encoded) + 1
    inputs = torch.full((len(encoded), L), vocab.pad_id, dtype=torch.long)
    targets = inputs.clone()
    for b, ids in enumerate(encoded):
        inputs[b, : len(ids) + 1] = torch.cat([torch.tensor([vocab.start_id]), ids])
        targets[b, : len(ids) + 1] = torch.cat([ids, torch.tensor([vocab.stop_id])])
    lengths = torch.tensor([len(e) + 1 for e in encoded])
    return CorpusBatch(inputs, targets, lengths, vocab)


def corpus_baseline(batch: CorpusBatch) -> float:
    """Cross-entropy (nats per token) of the best context-free predictor.

    It ignores the input and predicts each token with its frequency among the targets
    (a unigram model), so its loss is the entropy of that frequency distribution.
    """
    if not isinstance(batch, CorpusBatch):
        raise TypeError(f"batch must be a CorpusBatch, got {type(batch).__name__}.")
    valid = batch.targets[_length_mask(batch.lengths, *batch.targets.shape)]
    p = torch.bincount(valid).double() / valid.numel()
    p = p[p > 0]
    return float(-(p * p.log()).sum())


# --------------------------------------------------------------------------- sentiment

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

    Each sequence has a length uniform in ``[min_len, max_len]``; each word is positive
    with probability ``p_positive``, negative with ``p_negative`` and neutral otherwise,
    uniform within its group. The label is 1 if there are more positive than negative words
    and 0 if fewer. Ties are excluded: a tied sequence is redrawn entirely (length
    included), so labels are well defined. The vocabulary is the same for every call.
    Guessing the majority class scores ``sentiment_baseline(...)`` accuracy.

    Returns:
        ``Sentiment(tokens (B, L), lengths (B,), labels (B,), vocab)`` with
        ``L = lengths.max()``.
    """
    batch_size = _batch_size(batch_size)
    min_len, max_len, p_pos, p_neg = _sentiment_args(min_len, max_len, p_positive, p_negative)
    g = _generator(seed)
    vocab = Vocab(POSITIVE_WORDS + NEGATIVE_WORDS + NEUTRAL_WORDS)
    groups = [vocab.encode(words) for words in (NEUTRAL_WORDS, POSITIVE_WORDS, NEGATIVE_WORDS)]

    kept_tokens, kept_lengths, kept_labels, count = [], [], [], 0
    while count < batch_size:
        lengths = torch.randint(min_len, max_len + 1, (batch_size,), generator=g)
        u = torch.rand(batch_size, max_len, generator=g)
        group = (u < p_pos).long() + 2 * ((u >= p_pos) & (u < p_pos + p_neg)).long()
        tokens = torch.full((batch_size, max_len), vocab.pad_id, dtype=torch.long)
        for k, ids in enumerate(groups):
            pick = ids[torch.randint(len(ids), (batch_size, max_len), generator=g)]
            tokens = torch.where(group == k, pick, tokens)
        mask = torch.arange(max_len) < lengths[:, None]
        tokens[~mask] = vocab.pad_id
        n_pos = ((group == 1) & mask).sum(1)
        n_neg = ((group == 2) & mask).sum(1)
        keep = n_pos != n_neg
        kept_tokens.append(tokens[keep])
        kept_lengths.append(lengths[keep])
        kept_labels.append((n_pos > n_neg)[keep].long())
        count += int(keep.sum())
    lengths = torch.cat(kept_lengths)[:batch_size]
    tokens = torch.cat(kept_tokens)[:batch_size, : int(lengths.max())]
    return Sentiment(tokens, lengths, torch.cat(kept_labels)[:batch_size], vocab)


def sentiment_baseline(
    min_len: int = 3, max_len: int = 12, p_positive: float = 0.3, p_negative: float = 0.2
) -> float:
    """Accuracy of always answering the majority class of ``sentiment``, computed exactly.

    For a length ``n``, the counts of positive, negative and neutral words are trinomial;
    summing over counts and lengths gives P(more positive) and P(tie), and the label
    distribution is P(label = 1) = P(more positive) / (1 - P(tie)). About 0.68 for the
    defaults.
    """
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
