"""Right and wrong answers for the exercise checkers, one module per notebook (or family).

Each module defines ``CASES = {exercise: (right answer, [(wrong answer, words), ...])}``,
where ``words`` must appear in the message for that wrong answer and in no other one's.
tests/test_checks.py gathers them all with :func:`all_cases`.
"""

from __future__ import annotations

import importlib
import pkgutil


def all_cases() -> dict:
    """Every module's CASES merged; a name defined twice is an error."""
    merged: dict = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        cases = importlib.import_module(f"{__name__}.{info.name}").CASES
        twice = set(cases) & set(merged)
        if twice:
            raise ValueError(f"exercise cases defined twice: {sorted(twice)} ({info.name})")
        merged.update(cases)
    return merged
