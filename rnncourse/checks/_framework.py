"""The machinery every checker shares: the exercise registry, the checker's wrapper, comparing.

A checker is a short function decorated with :func:`exercise`. It receives the student's
function, calls it through :func:`rnncourse.checks._contract.call` on a few seeded cases and
compares each answer with :func:`compare`, which knows the typical wrong answers
(``mistakes``) and names the one that matches. Student functions get float32 tensors, like
the notebooks' data; references are computed in float64.

A checker returns a :class:`Result` (whether the answer passed), which
:func:`rnncourse.checks.use` reads. A wrong answer raises :class:`CheckFailed`, whose message
is the diagnosis, wrapped to fit a notebook and a grader's feedback
(:mod:`rnncourse.checks._display` shows it without the checker's own frames).
"""

from __future__ import annotations

import functools
import os
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

WIDTH = 88  # the diagnosis is wrapped to this width in a notebook
# Under a grader: `nbgrader validate` indents every line by 4 and cuts it after 87 characters,
# so each line keeps to 82 (and the first, after the longest exception name, to 87 in all).
GRADER_WIDTH = 82


class NotAttempted(Exception):
    """The student's function still raises ``NotImplementedError``."""


class StudentCodeError(RuntimeError):
    """The student's function raised an error; the original is chained as ``__cause__``."""


class CheckFailed(AssertionError):
    """A wrong answer: the message names the case, what was expected and the likely mistake."""


class NotAttemptedError(CheckFailed):
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
    """One exercise: its name, notebook, checker, reference answer and what it may not call.

    ``reference`` is the course's own answer, with the student function's signature: later
    cells run it (through :func:`rnncourse.checks.use`) until the student's answer passes.
    ``forbidden`` lists the functions that already do what the exercise asks (torch's own
    module, the course's implementation): an answer that calls one of them, or the
    reference, is rejected. With ``gradients`` the checker must compare the gradients of
    the answer with autograd's (:func:`rnncourse.checks._contract.check_gradients`), since
    later cells train through it.
    """

    name: str
    notebook: str
    checker: Callable
    reference: Callable | None = None
    forbidden: tuple = ()
    gradients: bool = False


@dataclass(frozen=True)
class Result:
    """What a checker found: ``passed`` (also the truth value), the cases run, or why not."""

    name: str
    passed: bool
    cases: int = 0
    reason: str = ""

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        if self.passed:
            return f"✓ {self.name}: all {self.cases} cases pass"
        return f"{self.name}: {self.reason}"

    def _ipython_display_(self) -> None:
        """Nothing: the checker has printed its line already."""


REGISTRY: dict[str, Exercise] = {}

# set while a checker runs: the exercise, and whether its gradients were compared
ACTIVE: dict = {}
# {exercise: (the function checked last in this process, its Result)}, for checks.use
LAST: dict[str, tuple[Callable, Result]] = {}


def wrap(message: str, width: int | None = None) -> str:
    """``message`` with every line wrapped to ``width`` columns, indentation kept.

    ``width`` defaults to ``WIDTH``, or ``GRADER_WIDTH`` under a grader. The first line
    leaves room for the exception's name in front of it (``StudentCodeError: ``), so that
    what a grader shows fits too.
    """
    width = width or (GRADER_WIDTH if grading() else WIDTH)
    out = []
    for k, line in enumerate(message.split("\n")):
        body = line.lstrip(" ")
        indent = " " * (len(line) - len(body))
        more = indent + "    " if body.startswith("Likely mistake") else indent + "  "
        room = width - (len(StudentCodeError.__name__) + 2 if k == 0 else 0)
        lines = textwrap.wrap(
            body, room, initial_indent=indent, subsequent_indent=more, break_on_hyphens=False
        ) or [""]
        if k == 0 and len(lines) > 1:  # the rest of a first paragraph may use the full width
            rest = " ".join(part.strip() for part in lines[1:])
            lines = lines[:1] + textwrap.wrap(
                rest, width, initial_indent=more, subsequent_indent=more, break_on_hyphens=False
            )
        out += lines
    return "\n".join(out)


def exercise(
    notebook: str,
    reference: Callable | None = None,
    *,
    forbidden: tuple = (),
    gradients: bool = False,
) -> Callable:
    """Register a checker for notebook ``notebook`` (e.g. ``"01"``); see :class:`Exercise`.

    The decorated body takes the student's function and returns the number of cases it
    ran. The wrapper prints the pass line, records the answer (``checks.use`` runs it in
    later notebooks), turns a stub that still raises ``NotImplementedError`` into a "not
    attempted yet" line (a failing :class:`NotAttemptedError` under a grader), and raises
    every wrong answer as :class:`CheckFailed` with a wrapped message. It returns a
    :class:`Result`, which shows nothing in a notebook beyond the printed line.
    """

    def decorate(body: Callable) -> Callable:
        name = body.__name__

        @functools.wraps(body)
        def checker(student_fn) -> Result:
            if not callable(student_fn):
                raise TypeError(
                    f"checks.{name} expects your function itself, got "
                    f"{type(student_fn).__name__}. Pass it without calling it: "
                    f"checks.{name}({name}), not checks.{name}({name}(...))."
                )
            ACTIVE.clear()
            ACTIVE.update(name=name, gradients_checked=False)
            failed = Result(
                name, False, reason=f"does not pass checks.{name} yet (its check cell says why)"
            )
            LAST[name] = (student_fn, failed)
            try:
                n_cases = body(student_fn)
            except NotAttempted:
                LAST[name] = (student_fn, Result(name, False, reason="is not attempted yet"))
                if grading():
                    raise NotAttemptedError(
                        wrap(
                            f"{name}: not attempted yet, so this check fails under the grader "
                            f"(replace `raise NotImplementedError()` with your code)."
                        )
                    ) from None
                print(f"{name}: not attempted yet")
                return LAST[name][1]
            except CheckFailed as err:
                raise type(err)(wrap(str(err))) from None
            except StudentCodeError as err:
                raise StudentCodeError(wrap(str(err))) from err.__cause__
            except AssertionError as err:
                raise CheckFailed(wrap(str(err))) from None
            except Exception as err:  # the checker's own code tripped over what came back
                # shown as a diagnosis too: a traceback through the checker would print its
                # source, the table of mistakes and the expressions of the answer with it
                what = (str(err).strip().splitlines() or [""])[0][:160]
                raise CheckFailed(
                    wrap(
                        f"{name}: the check cannot use what your function returned "
                        f"({type(err).__name__}: {what}). Compare the type, shape and dtype "
                        f"of your result with the docstring."
                    )
                ) from None
            finally:
                checked = ACTIVE.get("gradients_checked")
                ACTIVE.clear()
            if gradients and not checked:
                raise RuntimeError(f"checks.{name} must compare gradients (check_gradients).")
            from . import _progress  # (a late import: _progress imports this module)

            print(f"✓ {name}: all {n_cases} cases pass")
            _progress.record(name, student_fn)
            LAST[name] = (student_fn, Result(name, True, n_cases))
            return LAST[name][1]

        REGISTRY[name] = Exercise(name, notebook, checker, reference, tuple(forbidden), gradients)
        return checker

    return decorate


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
    """Raise :class:`CheckFailed` with a specific message unless ``got`` matches ``expected``.

    Args:
        name: the exercise's name.
        case: a short description of the case (sizes, seed).
        got, expected: tensors, arrays or numbers.
        mistakes: ``{message: wrong answer}`` (or a list of such pairs); the message of
            the first wrong answer that ``got`` equals is reported as the likely mistake.
            A message names the mistake and the idea of the fix, never the corrected code.
        shape_hints: ``{shape: message}`` for wrong shapes that point to a known mistake.
        hint: the message when no known mistake matches.
        what: which part of the answer this is (e.g. ``"dW"``), for the message.
    """
    exp = _as_array(expected)
    arr = _as_array(got)
    label = f"{name} ({what})" if what else name
    if got is None:
        raise CheckFailed(
            f"{label}, {case}: got None. Likely mistake: the function does not `return` its result."
        )
    if arr is None:
        raise CheckFailed(
            f"{label}, {case}: expected a tensor of shape {exp.shape}, got {type(got).__name__}."
        )
    pairs = list(mistakes.items() if isinstance(mistakes, dict) else (mistakes or []))
    if arr.shape != exp.shape:
        why = next((m for m, wrong in pairs if close(got, wrong, atol=atol, rtol=rtol)), "")
        why = why or (shape_hints or {}).get(tuple(arr.shape), "")
        raise CheckFailed(
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
    if not np.isfinite(arr).all() and np.isfinite(exp).all():
        likely = likely or (
            "the result holds nan or inf where the exact values are finite: a product or a "
            "division that over- or underflows at this length. Rearrange the computation so "
            "that no intermediate value grows or shrinks without bound."
        )
    diff = np.nan_to_num(np.abs(arr - exp), nan=np.inf)
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape)
    raise CheckFailed(
        f"{label}, {case}: wrong values.\n"
        f"  expected {_excerpt(exp)}\n  got      {_excerpt(arr)}\n"
        f"  max error {diff[worst]:.3g} at index {tuple(int(i) for i in worst)}: expected "
        f"{exp[worst]:.4g}, got {arr[worst]:.4g}"
        + (f"\n  Likely mistake: {likely}" if likely else "")
    )


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
