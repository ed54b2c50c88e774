"""Seeded, in-memory data generators for training and probing recurrent networks.

Every generator takes ``seed``: an int, a ``torch.Generator``, or ``None`` for a fresh,
nondeterministic generator. The global random state of torch and NumPy is never touched,
so calling a generator does not change the result of any other random call. Tensors are
batch-first, ``(batch, time, features)``, and every task states the loss or accuracy of a
trivial predictor, so a trained network can be compared against "learned nothing".

Task families, by module (every name is also available here, as ``tasks.X``):

- ``memory``: ``adding_problem`` (remember two marked values over ``T`` steps and add
  them), ``copy_task`` (recall ``k`` symbols after a delay of ``T`` steps) and ``parity``
  (keep one bit, the running XOR, exactly, forever).
- ``grammars``: ``reber_strings`` and friends, the embedded Reber grammar, where one
  symbol must be carried across a whole inner string.
- ``signals``: ``ecg``, a synthetic electrocardiogram (short context finds a heartbeat,
  long context gives the heart rate); ``linear_state_space`` and ``sine_waves``, signals
  from linear dynamical systems.
- ``text``: ``Vocab`` and ``tokenize``; ``corpus_batch``, the three-sentence toy corpus
  for next-token prediction; ``sentiment``, variable-length sequences classified by
  counting words.
- ``encoding``: ``one_hot``, with all-zero rows at padding.
"""

from rnncourse.tasks.encoding import one_hot
from rnncourse.tasks.grammars import (
    REBER_ALPHABET,
    REBER_BASELINE_SOLVED,
    ReberBatch,
    is_grammatical,
    next_symbols,
    reber_batch,
    reber_correct,
    reber_strings,
)
from rnncourse.tasks.memory import (
    ADDING_BASELINE_MSE,
    PARITY_BASELINE_ACCURACY,
    adding_problem,
    copy_baseline,
    copy_task,
    parity,
)
from rnncourse.tasks.signals import (
    ECG,
    ECG_BASELINE_MSE,
    SineWaves,
    StateSpace,
    discretize,
    ecg,
    ecg_baseline_mse,
    linear_state_space,
    sine_baseline_mse,
    sine_waves,
)
from rnncourse.tasks.text import (
    NEGATIVE_WORDS,
    NEUTRAL_WORDS,
    POSITIVE_WORDS,
    SENTENCES,
    CorpusBatch,
    Sentiment,
    Vocab,
    build_vocab,
    corpus_baseline,
    corpus_batch,
    sentiment,
    sentiment_baseline,
    tokenize,
)

# Each module's __all__, repeated as one literal list: linters and editors read only a
# literal __all__, and a computed one would hide these names from them.
# tests/test_tasks.py checks that this list and the modules' lists agree.
__all__ = [
    # memory
    "ADDING_BASELINE_MSE",
    "adding_problem",
    "copy_task",
    "copy_baseline",
    "PARITY_BASELINE_ACCURACY",
    "parity",
    # grammars
    "REBER_ALPHABET",
    "REBER_BASELINE_SOLVED",
    "reber_strings",
    "is_grammatical",
    "next_symbols",
    "ReberBatch",
    "reber_batch",
    "reber_correct",
    # signals
    "ECG",
    "ecg",
    "ecg_baseline_mse",
    "ECG_BASELINE_MSE",
    "StateSpace",
    "discretize",
    "linear_state_space",
    "SineWaves",
    "sine_waves",
    "sine_baseline_mse",
    # text
    "Vocab",
    "tokenize",
    "build_vocab",
    "SENTENCES",
    "CorpusBatch",
    "corpus_batch",
    "corpus_baseline",
    "POSITIVE_WORDS",
    "NEGATIVE_WORDS",
    "NEUTRAL_WORDS",
    "Sentiment",
    "sentiment",
    "sentiment_baseline",
    # encoding
    "one_hot",
]
