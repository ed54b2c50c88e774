"""Seeded, in-memory data generators for training and probing recurrent networks.

Every generator takes ``seed``: an int, a ``torch.Generator``, or ``None`` for a fresh,
nondeterministic generator. The global random state of torch and NumPy is never touched,
so calling a generator does not change the result of any other random call. Tensors are
batch-first, ``(batch, time, features)``, and every task states the loss or accuracy of a
trivial predictor, so a trained network can be compared against "learned nothing".

Task families, one module each (every name is also ``tasks.X``): ``memory`` (adding
problem, copy, parity), ``grammars`` (the embedded Reber grammar), ``signals`` (synthetic
ECG, linear state-space signals, sines), ``text`` (vocabulary, the toy corpus,
sentiment), ``encoding`` (one-hot), ``corpora`` (the shipped names and Shakespeare) and
``next_char`` (next-character prediction on them, with baselines).
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
