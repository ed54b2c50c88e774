"""The progress file: for each exercise passed, when, in which notebook, and the answer.

It is written atomically; a damaged file is moved aside with a warning, never failing a check.
"""

import json
import os
import tempfile
import time
import warnings
from pathlib import Path

from . import _answers
from ._framework import ON_PASS, REGISTRY

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
    """``{exercise: record}`` from ``path``, also of version 1; ``{}`` if missing or damaged
    (with ``repair``, a damaged file is moved aside)."""
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
                answers.setdefault(n, {}).update(source=f"{V1_PRELUDE}\n{source}", name=n)
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
    """``{exercise: record}`` from this folder's progress file."""
    return _read(progress_path(), repair=True)


def load_everywhere() -> dict[str, dict]:
    """:func:`load`, and unless ``$RNNCOURSE_PROGRESS`` is set, the records of sibling folders
    (one per nbgrader assignment); the latest pass wins. Each record gets ``"where"``: its file.
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
    """Mark exercise ``name`` as passed, in this session and in the file with ``fn``'s answer."""
    SESSION_PASSED.add(name)
    path = progress_path()
    answers = _read(path, repair=True)
    notebook = REGISTRY[name].notebook if name in REGISTRY else ""
    answers[name] = {"passed": time.time(), "notebook": notebook, **(_answers.capture(fn) or {})}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"version": 2, "answers": answers}, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except OSError as err:
        warnings.warn(f"Could not save progress to {path}: {err}.", stacklevel=2)


ON_PASS.append(record)
