"""Your code runs the course: later cells use the function you wrote once it passes.

After an exercise, a notebook continues with the student's own function::

    step = checks.use("rnn_step", rnn_step)

:func:`use` returns the student's function when it passes the exercise's checker, and
the course's reference answer otherwise, so a notebook with untouched exercises still
runs top to bottom. It prints one line saying which one runs, and why.

Without a function (``checks.use("gru_step")``, in a later notebook) it looks for the
function that passed earlier in this kernel, then for the source that passed in an
earlier notebook (kept in the progress file, see :mod:`rnncourse.checks._progress`). A
saved source is run again only after it passes its checker once more here.
"""

from __future__ import annotations

import ast
import contextlib
import io
import time
from collections.abc import Callable

from . import _progress
from ._framework import REGISTRY, NotAttemptedError, StudentCodeError

# what a saved answer may use without importing it, as in the notebooks
_PRELUDE = (
    "import math\nimport numpy as np\nimport torch\nimport torch.nn as nn\n"
    "import torch.nn.functional as F\n"
)


def _passes(name: str, fn: Callable) -> tuple[bool, str]:
    """Run exercise ``name``'s checker on ``fn`` without printing: (passed, why not)."""
    checker = REGISTRY[name].checker
    if _progress.SESSION_FUNCTIONS.get(name) is fn:
        return True, ""
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            checker(fn)
    except NotAttemptedError:  # a stub, under a grader
        return False, "is not attempted yet"
    except (AssertionError, StudentCodeError):
        return False, f"does not pass checks.{name} yet (its check cell says why)"
    except Exception as err:  # noqa: BLE001 (any error in student code means: not yet)
        return False, f"raised {type(err).__name__} when checked"
    if _progress.SESSION_FUNCTIONS.get(name) is fn:
        return True, ""
    return False, "is not attempted yet"


def _function_name(source: str) -> str | None:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    defs = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    return defs[-1] if defs else None


def _saved(name: str, passed: dict[str, float], code: dict[str, str]) -> Callable | None:
    """The function for ``name`` rebuilt from the progress file's ``code``, or None.

    ``passed`` and ``code`` are the file's two records (``_progress.load_all()``).
    """
    if name not in code:
        return None
    namespace: dict = {}
    exec(_PRELUDE, namespace)  # noqa: S102 (fixed imports)
    # an answer may call another exercise's function: the reference stands in for one not saved
    namespace.update({n: ex.reference for n, ex in REGISTRY.items() if ex.reference})
    # every saved answer, oldest first, so that one answer may call another
    for other in sorted(code, key=lambda n: passed.get(n, 0.0)):
        try:
            exec(compile(code[other], f"<your {other}>", "exec"), namespace)  # noqa: S102
        except Exception:  # noqa: BLE001, S112 (a broken saved answer is skipped)
            continue
    fn = namespace.get(_function_name(code[name]) or name)
    return fn if callable(fn) else None


def use(name: str, fn: Callable | None = None) -> Callable:
    """Return the function later cells should run for exercise ``name``, and say which.

    Args:
        name: the exercise's name, as in ``checks.<name>``.
        fn: your function for it. When it passes the exercise's checker (checked quietly,
            or already passed in this kernel), it is returned. ``None`` looks for an answer
            that passed earlier: in this kernel, or in an earlier notebook (the progress
            file keeps its source, which must pass the checker again here).

    Returns:
        Your function, or the course's reference answer with the same signature.
    """
    if not isinstance(name, str) or name not in REGISTRY:
        known = ", ".join(sorted(n for n, ex in REGISTRY.items() if ex.reference))
        raise ValueError(f"checks.use: no exercise named {name!r}; exercises to use: {known}.")
    exercise = REGISTRY[name]
    if exercise.reference is None:
        raise ValueError(f"checks.use: exercise {name!r} has no reference answer to fall back on.")
    if fn is not None and not callable(fn):
        raise TypeError(
            f"checks.use({name!r}, fn): fn must be your function itself, got "
            f"{type(fn).__name__}; pass {name}, not {name}(...)."
        )
    if fn is not None:
        ok, why = _passes(name, fn)
        if ok:
            print(f"→ {name}: using yours (it passes checks.{name}).")
            return fn
    else:
        earlier = _progress.SESSION_FUNCTIONS.get(name)
        if earlier is not None:
            print(f"→ {name}: using yours (it passed checks.{name} in this notebook).")
            return earlier
        passed, code = _progress.load_all()
        saved = _saved(name, passed, code)
        if saved is not None:
            ok, why = _passes(name, saved)
            if ok:
                when = passed.get(name)
                day = time.strftime(" on %Y-%m-%d", time.localtime(when)) if when else ""
                print(f"→ {name}: using yours from an earlier notebook (it passed{day}).")
                return saved
            why = f"(saved from an earlier notebook) {why}"
        else:
            why = f"has not passed checks.{name} yet"
    print(
        f"→ {name}: using the course's reference, since yours {why}; "
        f"rerun this cell once checks.{name} passes to use yours."
    )
    return exercise.reference
