"""The progress record: which exercises have passed, now and in earlier sessions.

The record is a small JSON file, ``.rnncourse-progress.json`` in the current working
directory (set the environment variable ``RNNCOURSE_PROGRESS`` to use another path).
It is written atomically, and a damaged file is moved aside with a warning: keeping the
record never makes a check fail. Beside the time each exercise passed, it keeps the source
of the function that passed (``"code"``), so that a later notebook can run the student's own
function (:func:`rnncourse.checks.use`).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import warnings
from pathlib import Path

ENV_VAR = "RNNCOURSE_PROGRESS"
DEFAULT_NAME = ".rnncourse-progress.json"

# exercises passed since this Python process (the notebook kernel) started
SESSION_PASSED: set[str] = set()
# the function object that passed each exercise in this process
SESSION_FUNCTIONS: dict[str, object] = {}


def progress_path() -> Path:
    """The progress file: ``$RNNCOURSE_PROGRESS`` or ``./.rnncourse-progress.json``."""
    return Path(os.environ.get(ENV_VAR) or DEFAULT_NAME)


def load() -> dict[str, float]:
    """Return ``{exercise: time passed}`` from the file; ``{}`` if missing or damaged."""
    return load_all()[0]


def load_all() -> tuple[dict[str, float], dict[str, str]]:
    """Return ``({exercise: time passed}, {exercise: source of the function that passed})``.

    Both are ``{}`` if the file is missing or damaged.
    """
    path = progress_path()
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return {}, {}
    except OSError as err:
        warnings.warn(f"Could not read the progress file {path}: {err}.", stacklevel=3)
        return {}, {}
    try:
        data = json.loads(text)
        passed, code = data["passed"], data.get("code", {})
        if not isinstance(passed, dict) or not isinstance(code, dict):
            raise TypeError("'passed' or 'code' is not a mapping")
        return (
            {str(k): float(v) for k, v in passed.items()},
            {str(k): str(v) for k, v in code.items()},
        )
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        aside = path.with_name(path.name + ".corrupt")
        try:
            os.replace(path, aside)
            where = f"it was moved to {aside}"
        except OSError:
            where = "it could not be moved aside"
        warnings.warn(
            f"The progress file {path} was unreadable ({err}); {where} and a new record starts.",
            stacklevel=3,
        )
        return {}, {}


def record(name: str, fn=None, source: str | None = None) -> None:
    """Mark exercise ``name`` as passed, in this session and in the file.

    ``fn`` is the function that passed and ``source`` its source text (kept in the file,
    when known, for :func:`rnncourse.checks.use` in later notebooks).
    """
    SESSION_PASSED.add(name)
    if fn is not None:
        SESSION_FUNCTIONS[name] = fn
    path = progress_path()
    passed, code = load_all()
    passed[name] = time.time()
    if source:
        code[name] = source
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"version": 1, "passed": passed, "code": code}, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except OSError as err:
        warnings.warn(f"Could not save progress to {path}: {err}.", stacklevel=2)
