"""Seeded, in-memory data generators for training and probing recurrent networks."""

from rnncourse.tasks.text import *  # noqa: F403
from rnncourse.tasks.text import __all__  # noqa: F401
