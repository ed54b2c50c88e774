"""Right and wrong answers for the exercise checkers, one module per notebook (or family).

Each module defines ``CASES = {exercise: (right answer, [(wrong answer, words), ...])}``,
where ``words`` must appear in the message for that wrong answer and in no other one's, and
may define ``RIGHT = {exercise: [right answers written in other styles]}``.
tests/test_checks.py gathers them all with :func:`all_cases` and :func:`all_right`.
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


def all_right() -> dict:
    """Every module's RIGHT merged: ``{exercise: [right answers in other styles]}``."""
    merged: dict = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        for name, answers in getattr(
            importlib.import_module(f"{__name__}.{info.name}"), "RIGHT", {}
        ).items():
            merged.setdefault(name, []).extend(answers)
    return merged
