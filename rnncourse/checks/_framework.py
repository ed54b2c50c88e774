"""What every checker shares: the exercise registry, the checker's wrapper, :func:`compare`.

Checkers pass the student's function float32 tensors and compute references in float64.
"""

import functools
import os
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

WIDTH = 88  # a diagnosis is wrapped to this width in a notebook
# `nbgrader validate` indents every line by 4 and cuts it after 87 characters
GRADER_WIDTH = 82
GRADING_ENV = "RNNCOURSE_GRADING"


class NotAttempted(Exception):
    """The student's function still raises ``NotImplementedError``."""


class StudentCodeError(RuntimeError):
    """The student's function raised an error; the original is chained as ``__cause__``."""


class CheckFailed(AssertionError):
    """A wrong answer: the message names the case, what was expected and the likely mistake."""


class NotAttemptedError(CheckFailed):
    """Under a grader, an exercise whose function still raises ``NotImplementedError``."""


def grading() -> bool:
    """Whether a grader runs the notebook: ``RNNCOURSE_GRADING`` (1/true/yes or 0/false/no)
    if set, else nbgrader's ``NBGRADER_EXECUTION``. An untouched exercise then fails."""
    explicit = os.environ.get(GRADING_ENV, "").strip().lower()
    if explicit in ("1", "true", "yes", "0", "false", "no"):
        return explicit in ("1", "true", "yes")
    return bool(os.environ.get("NBGRADER_EXECUTION"))


@dataclass(frozen=True)
class Exercise:
    """One exercise: its name, notebook, checker, reference answer (with the student function's
    signature), what it may not call, and whether its checker must call ``check_gradients``."""

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
# while a checker runs: {"gradients_checked": whether check_gradients ran}
ACTIVE: dict = {}
# called as hook(name, fn) when fn passes: _progress adds the one that saves the answer
ON_PASS: list[Callable] = []
# {exercise: (the function checked last in this process, its Result)}, for checks.use
LAST: dict[str, tuple[Callable, Result]] = {}


def wrap(message: str, width: int | None = None) -> str:
    """``message`` with every line wrapped to ``width`` (default ``WIDTH``, ``GRADER_WIDTH``
    under a grader), indentation kept, leaving room for ``StudentCodeError: `` on line one."""
    width = width or (GRADER_WIDTH if grading() else WIDTH)
    out = []
    for k, line in enumerate(message.split("\n")):
        body = line.lstrip(" ")
        indent = " " * (len(line) - len(body))
        more = indent + ("    " if body.startswith("Likely mistake") else "  ")
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
    """Register the decorated body, which takes the student's function and returns the number
    of cases run, as the checker of an exercise of ``notebook`` (e.g. ``"01"``).

    The checker prints one line, records a pass, raises a wrong answer as :class:`CheckFailed`
    (a stub as :class:`NotAttemptedError` under a grader) and returns a :class:`Result`.
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
            reason = f"does not pass checks.{name} yet (its check cell says why)"
            LAST[name] = (student_fn, Result(name, False, reason=reason))
            ACTIVE["gradients_checked"] = False
            try:
                n_cases = body(student_fn)
            except NotAttempted:
                LAST[name] = (student_fn, Result(name, False, reason="is not attempted yet"))
                if grading():
                    message = (
                        f"{name}: not attempted yet, so this check fails under the grader "
                        f"(replace `raise NotImplementedError()` with your code)."
                    )
                    raise NotAttemptedError(wrap(message)) from None
                print(f"{name}: not attempted yet")
                return LAST[name][1]
            except StudentCodeError as err:
                raise StudentCodeError(wrap(str(err))) from err.__cause__
            except AssertionError as err:
                kind = type(err) if isinstance(err, CheckFailed) else CheckFailed
                raise kind(wrap(str(err))) from None
            except Exception as err:  # the checker tripped over what came back: no traceback
                what = (str(err).strip().splitlines() or [""])[0][:160]
                message = (
                    f"{name}: the check cannot use what your function returned "
                    f"({type(err).__name__}: {what}). Compare the type, shape and dtype "
                    f"of your result with the docstring."
                )
                raise CheckFailed(wrap(message)) from None
            finally:
                checked = ACTIVE.pop("gradients_checked", False)
            if gradients and not checked:
                raise RuntimeError(f"checks.{name} must compare gradients (check_gradients).")
            print(f"✓ {name}: all {n_cases} cases pass")
            for hook in ON_PASS:
                hook(name, student_fn)
            LAST[name] = (student_fn, Result(name, True, n_cases))
            return LAST[name][1]

        REGISTRY[name] = Exercise(name, notebook, checker, reference, tuple(forbidden), gradients)
        return checker

    return decorate


def _as_array(value) -> np.ndarray | None:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double().numpy()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _excerpt(arr: np.ndarray) -> str:
    more = ", ..." if arr.size > 4 else ""
    return "[" + ", ".join(f"{v:.4g}" for v in arr.reshape(-1)[:4]) + more + "]"


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
    """Raise :class:`CheckFailed` unless ``got`` matches ``expected`` (tensors, arrays, numbers).

    The message names ``name``, the part ``what`` (e.g. ``"dW"``) and ``case`` (sizes, seed),
    and as the likely mistake the first of ``mistakes`` (``{message: wrong answer}`` or a list
    of pairs) that ``got`` equals, else ``shape_hints[shape]`` for a wrong shape or ``hint``
    for wrong values. A message names the mistake and the idea of the fix, never the code.
    """
    exp, arr = _as_array(expected), _as_array(got)
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

    def known() -> str:  # the first known mistake that `got` equals
        return next((m for m, wrong in pairs if close(got, wrong, atol=atol, rtol=rtol)), "")

    if arr.shape != exp.shape:
        why = known() or (shape_hints or {}).get(tuple(arr.shape), "")
        raise CheckFailed(
            f"{label}, {case}: expected shape {tuple(exp.shape)}, got {tuple(arr.shape)}."
            + (f" Likely mistake: {why}" if why else "")
        )
    if np.allclose(arr, exp, atol=atol, rtol=rtol):
        return
    likely = known() or hint
    if not likely and not np.isfinite(arr).all() and np.isfinite(exp).all():
        likely = (
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
    return (scale * torch.randn(*shape, generator=g, dtype=torch.float64)).float().double()


def torch_module(g: torch.Generator, cls: type, *args, scale: float = 0.6, **kwargs):
    """A float64 ``cls(*args, **kwargs)`` (a ``torch.nn`` module), weights drawn from ``g``;
    built inside ``fork_rng``, so the global random state is left as it was."""
    with torch.random.fork_rng(devices=[]):
        module = cls(*args, **kwargs).double()
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(randn(g, *p.shape, scale=scale))
    return module
