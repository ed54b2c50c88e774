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
- ``corpora``: real text shipped with the package, read offline: ``load_names`` (32,033
  first names) and ``load_shakespeare`` (1.1 M characters), checked by ``verify_corpora``.
- ``next_char``: next-character prediction on that text: ``char_vocab``, ``split_names``,
  ``encode_names`` and ``random_batch`` for names; ``split_text`` and ``random_chunks`` for
  running text; the baselines ``uniform_nll`` and ``bigram_nll``.
"""

# Each module lists its public names in its own __all__; this package re-exports them all.
from rnncourse.tasks import corpora, encoding, grammars, memory, next_char, signals, text
from rnncourse.tasks.corpora import *  # noqa: F403
from rnncourse.tasks.encoding import *  # noqa: F403
from rnncourse.tasks.grammars import *  # noqa: F403
from rnncourse.tasks.memory import *  # noqa: F403
from rnncourse.tasks.next_char import *  # noqa: F403
from rnncourse.tasks.signals import *  # noqa: F403
from rnncourse.tasks.text import *  # noqa: F403

__all__ = [
    *memory.__all__,
    *grammars.__all__,
    *signals.__all__,
    *text.__all__,
    *encoding.__all__,
    *corpora.__all__,
    *next_char.__all__,
]
