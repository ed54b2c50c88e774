"""The progress record: which exercises have passed, now and in earlier sessions.

The record is a small JSON file, ``.rnncourse-progress.json`` in the current working
directory (set the environment variable ``RNNCOURSE_PROGRESS`` to use another path).
It is written atomically, and a damaged file is moved aside with a warning: keeping the
record never makes a check fail.
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


def progress_path() -> Path:
    """The progress file: ``$RNNCOURSE_PROGRESS`` or ``./.rnncourse-progress.json``."""
    return Path(os.environ.get(ENV_VAR) or DEFAULT_NAME)


def load() -> dict[str, float]:
    """Return ``{exercise: time passed}`` from the file; ``{}`` if missing or damaged."""
    path = progress_path()
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except OSError as err:
        warnings.warn(f"Could not read the progress file {path}: {err}.", stacklevel=2)
        return {}
    try:
        data = json.loads(text)
        passed = data["passed"]
        if not isinstance(passed, dict):
            raise TypeError("'passed' is not a mapping")
        return {str(k): float(v) for k, v in passed.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        aside = path.with_name(path.name + ".corrupt")
        try:
            os.replace(path, aside)
            where = f"it was moved to {aside}"
        except OSError:
            where = "it could not be moved aside"
        warnings.warn(
            f"The progress file {path} was unreadable ({err}); {where} and a new record starts.",
            stacklevel=2,
        )
        return {}


def record(name: str) -> None:
    """Mark exercise ``name`` as passed, in this session and in the file."""
    SESSION_PASSED.add(name)
    path = progress_path()
    passed = load()
    passed[name] = time.time()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"version": 1, "passed": passed}, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except OSError as err:
        warnings.warn(f"Could not save progress to {path}: {err}.", stacklevel=2)
