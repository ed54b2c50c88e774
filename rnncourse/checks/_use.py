"""Your code runs the course: later cells use the function you wrote once it passes.

The function :func:`use` hands out carries the exercise's name: an error it raises in a
later cell says whose function it was, and nan or inf for finite inputs prints a warning.
"""

import contextlib
import functools
import io
from collections.abc import Callable

import torch

from . import _answers, _progress
from ._framework import LAST, REGISTRY, Result, StudentCodeError

# {exercise: whose function checks.use handed out last ("your gru_step (notebook 06)"), or
# None for the course's reference}: what checks.expect names as the suspect
RUNNING: dict[str, str | None] = {}


def _quietly_checked(name: str, fn: Callable) -> Result:
    """The checker's :class:`Result` for ``fn`` (from this kernel's last check, or run now)."""
    last = LAST.get(name)
    if last is None or last[0] is not fn:
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                REGISTRY[name].checker(fn)
        except (AssertionError, StudentCodeError):
            pass  # the checker has put the Result in LAST
        except Exception as err:  # noqa: BLE001 (any error in student code means: not yet)
            return Result(name, False, reason=f"raised {type(err).__name__} when checked")
    return LAST[name][1]


def _non_finite(value) -> bool:
    if isinstance(value, torch.Tensor):
        return value.is_floating_point() and not bool(torch.isfinite(value).all())
    if isinstance(value, tuple | list):
        return any(_non_finite(v) for v in value)
    return False


def _carrying(fn: Callable, name: str, whose: str | None) -> Callable:
    """``fn`` labelled with its exercise; for a student's function (``whose``), watched."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            out = fn(*args, **kwargs)
        except Exception as err:
            if whose and hasattr(err, "add_note"):
                err.add_note(f"This error came from {whose}, which this cell runs (checks.use).")
            raise
        if whose and not run.warned and _non_finite(out) and not _non_finite((args, kwargs)):
            run.warned = True
            print(
                f"⚠ {whose} returned nan or inf for finite inputs here: it is the first "
                f"suspect if what follows fails. Its check ran it at small sizes; this cell "
                f"runs it at others (longer sequences, larger values)."
            )
        return out

    run.warned = False
    setattr(run, _answers.EXERCISE_ATTR, name)
    RUNNING[name] = whose
    return run


def expect(holds: bool, claim: str, *, uses: str | tuple[str, ...]) -> None:
    """Unless ``holds``, warn that this cell does not show ``claim``, naming the student's
    functions among ``uses`` (exercise names) as the first suspects. Returns None. Example:
    ``checks.expect(mse < 0.01, "the GRU solves the adding problem", uses="gru_step")``."""
    names = (uses,) if isinstance(uses, str) else tuple(uses)
    if unknown := [n for n in names if n not in REGISTRY]:
        raise ValueError(f"checks.expect: no exercise named {unknown[0]!r}.")
    if holds:
        return
    yours = [RUNNING[n] for n in names if RUNNING.get(n)]
    if yours:
        print(
            f"⚠ Expected {claim}, but not here. This cell runs {' and '.join(yours)}: the "
            f"first suspect{'s' if len(yours) > 1 else ''}. Their checks compared values, "
            f"gradients and inputs on small cases; look for what differs at this cell's sizes "
            f"(longer sequences, larger values), or run the cell with checks.reference(...) "
            f"in their place to compare."
        )
    else:
        print(
            f"⚠ Expected {claim}, but not here, with the course's reference for "
            f"{', '.join(names)}: the cause lies elsewhere (a changed cell above, or a very "
            f"different machine)."
        )


def _usable() -> str:
    return ", ".join(sorted(n for n, ex in REGISTRY.items() if ex.reference))


def reference(name: str) -> Callable:
    """The course's reference answer to exercise ``name`` (to compare with yours)."""
    if not isinstance(name, str) or REGISTRY.get(name) is None or REGISTRY[name].reference is None:
        raise ValueError(f"checks.reference: no exercise named {name!r}; exercises: {_usable()}.")
    return _carrying(REGISTRY[name].reference, name, None)


def _earlier(name: str) -> tuple[Callable | None, str]:
    """The answer in the progress file, rebuilt and checked again: (fn, where) or (None, why)."""
    record = _progress.load_everywhere().get(name)
    if record is None:
        return None, f"has not passed checks.{name} yet"
    notebook = record.get("notebook")
    where = f"from notebook {notebook}" if notebook else "from an earlier notebook"
    if not record.get("source"):
        return None, f"{where} passed, but its source could not be kept"
    try:  # only this answer runs; the exercises it calls come from use() too
        fn = _answers.rebuild(record, _resolve)
    except Exception as err:  # noqa: BLE001 (a saved answer that cannot be rebuilt is not used)
        return None, f"{where} could not be rebuilt here: {err}"
    if not _quietly_checked(name, fn).passed:
        return None, (
            f"{where} does not pass checks.{name} as it stands now (rerun its check cell there "
            f"to see why)"
        )
    return fn, where


def _resolve(name: str) -> Callable:
    """What a rebuilt answer calls for another exercise: the student's, else the reference."""
    with contextlib.redirect_stdout(io.StringIO()):
        return use(name)


def use(name: str, fn: Callable | None = None) -> Callable:
    """The function later cells should run for exercise ``name``; prints which and why.

    That is ``fn`` when it passes the exercise's checker (run quietly); without ``fn``, the
    function that passed in this kernel, else the answer that passed in an earlier notebook,
    rebuilt and checked again; otherwise the course's reference (same signature).
    """
    if not isinstance(name, str) or name not in REGISTRY:
        raise ValueError(f"checks.use: no exercise named {name!r}; exercises to use: {_usable()}.")
    exercise = REGISTRY[name]
    if exercise.reference is None:
        raise ValueError(f"checks.use: exercise {name!r} has no reference answer to fall back on.")
    if fn is not None and not callable(fn):
        raise TypeError(
            f"checks.use({name!r}, fn): fn must be your function itself, got "
            f"{type(fn).__name__}; pass {name}, not {name}(...)."
        )
    here = f"your {name} (notebook {exercise.notebook})"
    if fn is not None:
        result = _quietly_checked(name, fn)
        if result.passed:
            print(f"→ {name}: using yours (it passes checks.{name}).")
            return _carrying(fn, name, here)
        why = result.reason
    elif (last := LAST.get(name)) is not None and last[1].passed:
        print(f"→ {name}: using yours (it passed checks.{name} in this notebook).")
        return _carrying(last[0], name, here)
    else:
        found, why = _earlier(name)
        if found is not None:
            print(f"→ {name}: using yours {why} (it passes checks.{name}).")
            return _carrying(found, name, f"your {name} ({why})")
    print(
        f"→ {name}: using the course's reference, since yours {why}; "
        f"rerun this cell once checks.{name} passes to use yours."
    )
    return _carrying(exercise.reference, name, None)
