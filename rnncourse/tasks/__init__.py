"""Seeded, in-memory data generators for training and probing recurrent networks.

Every generator takes ``seed`` (see :mod:`rnncourse._random`) and leaves the global random
state alone. Tensors are batch-first; every task states the score of a trivial predictor.
"""

from rnncourse.tasks import corpora, encoding, grammars, memory, next_char, signals, text
from rnncourse.tasks.corpora import *  # noqa: F403
from rnncourse.tasks.encoding import *  # noqa: F403
from rnncourse.tasks.grammars import *  # noqa: F403
from rnncourse.tasks.memory import *  # noqa: F403
from rnncourse.tasks.next_char import *  # noqa: F403
from rnncourse.tasks.signals import *  # noqa: F403
from rnncourse.tasks.text import *  # noqa: F403

_MODULES = (memory, grammars, signals, text, encoding, corpora, next_char)
__all__ = [name for module in _MODULES for name in module.__all__]
