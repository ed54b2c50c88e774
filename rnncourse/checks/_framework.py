"""The machinery every checker shares: calling the student's code, comparing, reporting.

A checker is a short function decorated with :func:`exercise`. It receives the student's
function, calls it through :func:`call` on a few seeded cases and compares each answer
with :func:`compare`, which knows the typical wrong answers (``mistakes``) and names the
one that matches. Student functions get float32 tensors, like the notebooks' data;
references are computed in float64.
"""

from __future__ import annotations

import functools
import inspect
import os
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from . import _progress


class NotAttempted(Exception):
    """The student's function still raises ``NotImplementedError``."""


class StudentCodeError(RuntimeError):
    """The student's function raised an error; the original is chained as ``__cause__``."""


class NotAttemptedError(AssertionError):
    """Under a grader, an exercise whose function still raises ``NotImplementedError``."""


GRADING_ENV = "RNNCOURSE_GRADING"


def grading() -> bool:
    """True when a grader runs the notebook, so an untouched exercise must fail its check.

    nbgrader sets ``NBGRADER_EXECUTION`` in the kernel it runs (autograde, validate); any
    other grader sets ``RNNCOURSE_GRADING=1``. ``RNNCOURSE_GRADING=0`` turns it off.
    """
    explicit = os.environ.get(GRADING_ENV, "").strip().lower()
    if explicit in ("1", "true", "yes"):
        return True
    if explicit in ("0", "false", "no"):
        return False
    return bool(os.environ.get("NBGRADER_EXECUTION"))


@dataclass(frozen=True)
class Exercise:
    """One exercise: its name, the notebook it belongs to, its checker and its reference.

    ``reference`` is the course's own answer, with the student function's signature: later
    cells run it (through :func:`rnncourse.checks.use`) until the student's answer passes.
    """

    name: str
    notebook: str
    checker: Callable
    reference: Callable | None = None


REGISTRY: dict[str, Exercise] = {}


def source_of(fn: Callable) -> str | None:
    """The source text of ``fn`` (dedented), or None where Python cannot find it."""
    try:
        return textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        return None


def exercise(notebook: str, reference: Callable | None = None) -> Callable:
    """Register a checker for notebook ``notebook`` (e.g. ``"01"``).

    ``reference`` is the course's answer to the exercise, with the same signature as the
    student's function (see :class:`Exercise`).

    The decorated body takes the student's function and returns the number of cases it
    ran. The wrapper prints the pass line, records progress, and turns a stub that still
    raises ``NotImplementedError`` into a "not attempted yet" line (a failing
    :class:`NotAttemptedError` when :func:`grading` is on). It returns None, so a
    check cell shows only that line (``checks.progress()`` tells what has passed).
    """

    def decorate(body: Callable) -> Callable:
        name = body.__name__

        @functools.wraps(body)
        def checker(student_fn) -> None:
            if not callable(student_fn):
                raise TypeError(
                    f"checks.{name} expects your function itself, got "
                    f"{type(student_fn).__name__}. Pass it without calling it: "
                    f"checks.{name}({name}), not checks.{name}({name}(...))."
                )
            try:
                n_cases = body(student_fn)
            except NotAttempted:
                if grading():
                    raise NotAttemptedError(
                        f"{name}: not attempted yet, so this check fails under the grader "
                        f"(replace `raise NotImplementedError()` with your code)."
                    ) from None
                print(f"{name}: not attempted yet")
                return
            print(f"✓ {name}: all {n_cases} cases pass")
            _progress.record(name, student_fn, source_of(student_fn))

        REGISTRY[name] = Exercise(name, notebook, checker, reference)
        return checker

    return decorate


def _to_float32(value):
    """float64 tensors become float32 (what the notebooks use); containers recursively."""
    if isinstance(value, torch.Tensor) and value.dtype == torch.float64:
        return value.float()
    if isinstance(value, tuple | list):
        return type(value)(_to_float32(v) for v in value)
    return value


def call(name: str, fn: Callable, *args, **kwargs):
    """Call the student's ``fn``; re-raise its errors under the exercise's name.

    Float tensors are passed as float32, like the data in the notebooks, so that code
    such as ``torch.zeros(B, H)`` works; references are computed in float64.
    """
    args = tuple(_to_float32(a) for a in args)
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as err:
        raise NotAttempted(name) from err
    except Exception as err:
        raise StudentCodeError(f"{name} raised {type(err).__name__}: {err}") from err


def _as_array(value) -> np.ndarray | None:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double().numpy()
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return arr


def _excerpt(arr: np.ndarray) -> str:
    flat = arr.reshape(-1)[:4]
    more = ", ..." if arr.size > 4 else ""
    return "[" + ", ".join(f"{v:.4g}" for v in flat) + more + "]"


def close(a, b, *, atol: float = 1e-5, rtol: float = 1e-4) -> bool:
    """Whether ``a`` and ``b`` have the same shape and values within tolerance."""
    a, b = _as_array(a), _as_array(b)
    if a is None or b is None or a.shape != b.shape:
        return False
    return bool(np.allclose(a, b, atol=atol, rtol=rtol, equal_nan=False))


def compare(
    name: str,
    case: str,
    got,
    expected,
    *,
    mistakes: dict[str, object] | list[tuple[str, object]] | None = None,
    shape_hints: dict[tuple, str] | None = None,
    hint: str = "",
    what: str = "",
    atol: float = 1e-5,
    rtol: float = 1e-4,
) -> None:
    """Raise ``AssertionError`` with a specific message unless ``got`` matches ``expected``.

    Args:
        name: the exercise's name.
        case: a short description of the case (sizes, seed).
        got, expected: tensors, arrays or numbers.
        mistakes: ``{message: wrong answer}`` (or a list of such pairs); the message of
            the first wrong answer that ``got`` equals is reported as the likely mistake.
        shape_hints: ``{shape: message}`` for wrong shapes that point to a known mistake.
        hint: the message when no known mistake matches.
        what: which part of the answer this is (e.g. ``"dW"``), for the message.
    """
    exp = _as_array(expected)
    arr = _as_array(got)
    label = f"{name} ({what})" if what else name
    if got is None:
        raise AssertionError(
            f"{label}, {case}: got None. Likely mistake: the function does not `return` its result."
        )
    if arr is None:
        raise AssertionError(
            f"{label}, {case}: expected a tensor of shape {exp.shape}, got {type(got).__name__}."
        )
    pairs = list(mistakes.items() if isinstance(mistakes, dict) else (mistakes or []))
    if arr.shape != exp.shape:
        why = next((m for m, wrong in pairs if close(got, wrong, atol=atol, rtol=rtol)), "")
        why = why or (shape_hints or {}).get(tuple(arr.shape), "")
        raise AssertionError(
            f"{label}, {case}: expected shape {tuple(exp.shape)}, got {tuple(arr.shape)}."
            + (f" Likely mistake: {why}" if why else "")
        )
    if np.allclose(arr, exp, atol=atol, rtol=rtol):
        return
    likely = hint
    for message, wrong in pairs:
        if close(got, wrong, atol=atol, rtol=rtol):
            likely = message
            break
    diff = np.nan_to_num(np.abs(arr - exp), nan=np.inf)
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape)
    raise AssertionError(
        f"{label}, {case}: wrong values.\n"
        f"  expected {_excerpt(exp)}\n  got      {_excerpt(arr)}\n"
        f"  max error {diff[worst]:.3g} at index {tuple(int(i) for i in worst)}: expected "
        f"{exp[worst]:.4g}, got {arr[worst]:.4g}"
        + (f"\n  Likely mistake: {likely}" if likely else "")
    )


def generator(seed: int) -> torch.Generator:
    """A torch generator with a fixed seed (the global RNG is never touched)."""
    return torch.Generator().manual_seed(seed)


def randn(g: torch.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    """Normal float64 values times ``scale``, drawn from ``g``, exact in float32 too."""
    values = scale * torch.randn(*shape, generator=g, dtype=torch.float64)
    return values.float().double()


def torch_module(g: torch.Generator, cls: type, *args, scale: float = 0.6, **kwargs):
    """Build a float64 ``cls(*args, **kwargs)`` (a ``torch.nn`` module), weights drawn from ``g``.

    The module is built inside ``fork_rng`` so the global random state is left as it was.
    """
    with torch.random.fork_rng(devices=[]):
        module = cls(*args, **kwargs).double()
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(randn(g, *p.shape, scale=scale))
    return module
