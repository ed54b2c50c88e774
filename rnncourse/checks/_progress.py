"""The progress record: which exercises have passed, now and in earlier sessions.

The record is a small JSON file, ``.rnncourse-progress.json`` in the current working
directory (set the environment variable ``RNNCOURSE_PROGRESS`` to use another path). It is
written atomically, and a damaged file is moved aside with a warning: keeping the record
never makes a check fail. For each exercise that passed it keeps when, in which notebook,
and the answer itself (:mod:`rnncourse.checks._answers`), so that a later notebook can run
the student's own function (:func:`rnncourse.checks.use`).

Where every notebook has a folder of its own (nbgrader's assignments, on a JupyterHub or
when grading), the record of a sibling folder (``../*/.rnncourse-progress.json``) is read
too, unless ``RNNCOURSE_PROGRESS`` names one file for all.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import warnings
from pathlib import Path

from . import _answers
from ._framework import REGISTRY

ENV_VAR = "RNNCOURSE_PROGRESS"
DEFAULT_NAME = ".rnncourse-progress.json"

# what an answer kept by version 1 of the file could use without importing it
V1_PRELUDE = (
    "import math\nimport numpy as np\nimport torch\nimport torch.nn as nn\n"
    "import torch.nn.functional as F\n"
)

# exercises passed since this Python process (the notebook kernel) started
SESSION_PASSED: set[str] = set()


def progress_path() -> Path:
    """The progress file: ``$RNNCOURSE_PROGRESS`` or ``./.rnncourse-progress.json``."""
    return Path(os.environ.get(ENV_VAR) or DEFAULT_NAME)


def _read(path: Path, *, repair: bool) -> dict[str, dict]:
    """``{exercise: answer record}`` from ``path``; ``{}`` if missing or damaged.

    With ``repair`` a damaged file is moved aside (with a warning). Version 1 files, which
    kept ``{"passed": {name: time}, "code": {name: source}}``, are read too.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return {}
    except OSError as err:
        warnings.warn(f"Could not read the progress file {path}: {err}.", stacklevel=3)
        return {}
    try:
        data = json.loads(text)
        if "answers" in data:
            answers = data["answers"]
        else:  # version 1
            answers = {n: {"passed": t} for n, t in data["passed"].items()}
            for n, source in data.get("code", {}).items():  # it ran after these imports
                source = f"{V1_PRELUDE}\n{source}"
                answers.setdefault(n, {"passed": 0.0}).update(source=source, name=n)
        if not isinstance(answers, dict) or not all(isinstance(a, dict) for a in answers.values()):
            raise TypeError("'answers' is not a mapping of records")
        for record in answers.values():
            record["passed"] = float(record.get("passed", 0.0))
        return {str(k): v for k, v in answers.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        if not repair:
            return {}
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
        return {}


def load() -> dict[str, dict]:
    """``{exercise: record}`` from this folder's progress file (see the module docstring)."""
    return _read(progress_path(), repair=True)


def load_everywhere() -> dict[str, dict]:
    """:func:`load`, plus sibling assignment folders' records; the latest pass of each wins.

    Each record gains ``"where"``: the file it came from.
    """
    path = progress_path()
    paths = [path]
    if not os.environ.get(ENV_VAR):
        here = Path.cwd().resolve()
        paths += sorted(p for p in here.parent.glob(f"*/{DEFAULT_NAME}") if p.parent != here)
    found: dict[str, dict] = {}
    for p in paths:
        for name, record in _read(p, repair=p == path).items():
            if name not in found or record["passed"] > found[name]["passed"]:
                found[name] = {**record, "where": str(p)}
    return found


def record(name: str, fn=None) -> None:
    """Mark exercise ``name`` as passed, in this session and in the file.

    ``fn`` is the function that passed; its answer (source and what it needs) is kept in
    the file for :func:`rnncourse.checks.use` in later notebooks.
    """
    SESSION_PASSED.add(name)
    path = progress_path()
    answers = _read(path, repair=True)
    entry = {"passed": time.time(), "notebook": REGISTRY[name].notebook if name in REGISTRY else ""}
    captured = _answers.capture(fn) if fn is not None else None
    answers[name] = {**entry, **(captured or {})}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"version": 2, "answers": answers}, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except OSError as err:
        warnings.warn(f"Could not save progress to {path}: {err}.", stacklevel=2)
