"""A student workspace: a folder with copies of the course notebooks, opened in JupyterLab.

``rnncourse start`` copies the student notebooks that ship with the package into a
folder (``./rnncourse-workspace`` by default) and launches JupyterLab there. Running it
again never overwrites a notebook the student changed: a small manifest remembers what
was copied, and when a newer version ships for a notebook the student has edited, it is
put beside it as ``NN_topic.updated.ipynb``. Unchanged copies are updated in place.
Everything works offline.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

MANIFEST = ".rnncourse-manifest.json"
DEFAULT_DIR = "rnncourse-workspace"
REPO_NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

__all__ = ["CopyReport", "shipped_notebooks", "copy_notebooks", "jupyter_command", "start"]


@dataclass
class CopyReport:
    """What :func:`copy_notebooks` did, as lists of notebook file names."""

    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # edited by the student; see .updated


def shipped_notebooks() -> dict[str, bytes]:
    """The student notebooks that ship with the package: ``{file name: contents}``.

    An installed wheel holds them in ``rnncourse/notebooks/``; an editable (development)
    install reads the repository's ``notebooks/`` folder instead.
    """
    packaged = resources.files("rnncourse") / "notebooks"
    if packaged.is_dir():
        entries = {p.name: p.read_bytes() for p in packaged.iterdir() if p.name.endswith(".ipynb")}
    elif REPO_NOTEBOOKS.is_dir():
        entries = {p.name: p.read_bytes() for p in REPO_NOTEBOOKS.glob("*.ipynb")}
    else:
        entries = {}
    return {k: entries[k] for k in sorted(entries) if not k.endswith(".updated.ipynb")}


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def copy_notebooks(dest: str | Path, notebooks: dict[str, bytes] | None = None) -> CopyReport:
    """Copy the course notebooks into ``dest`` without ever losing a student's changes.

    Args:
        dest: the workspace folder (created if needed).
        notebooks: ``{file name: contents}``; defaults to :func:`shipped_notebooks`.

    A notebook missing from ``dest`` is copied. One still equal to what was last copied
    is replaced by the new version. One the student changed is kept, and a newer shipped
    version is written beside it as ``NAME.updated.ipynb``, with a printed message.
    """
    if not isinstance(dest, str | Path):
        raise TypeError(f"dest must be a folder path (str or Path), got {type(dest).__name__}.")
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise ValueError(f"{dest} exists and is not a folder; choose another workspace folder.")
    dest.mkdir(parents=True, exist_ok=True)
    notebooks = shipped_notebooks() if notebooks is None else notebooks
    manifest_path = dest / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            manifest = {}
    except (OSError, ValueError):
        manifest = {}
    report = CopyReport()
    for name, data in notebooks.items():
        target, shipped = dest / name, _digest(data)
        copied = manifest.get(name)
        if not target.exists():
            _write_atomic(target, data)
            report.new.append(name)
        else:
            current = _digest(target.read_bytes())
            if current == shipped:
                report.unchanged.append(name)
            elif current == copied:
                _write_atomic(target, data)
                report.updated.append(name)
            else:
                report.kept.append(name)
                if shipped != copied:
                    beside = target.with_name(target.name[: -len(".ipynb")] + ".updated.ipynb")
                    _write_atomic(beside, data)
                    print(
                        f"{name}: you have changed this notebook, so it was kept as it is. "
                        f"The newer course version is beside it as {beside.name}."
                    )
                continue  # the manifest keeps the version the student's copy came from
        manifest[name] = shipped
    _write_atomic(manifest_path, (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())
    return report


def _running_as_root() -> bool:
    return getattr(os, "geteuid", lambda: -1)() == 0  # no geteuid on Windows: never root


def jupyter_command(jupyter_args=(), *, browser: bool = True) -> list[str]:
    """The command line that starts JupyterLab: ``[python, -m, jupyter, lab, *args]``.

    ``jupyter_args`` (a list of strings) are passed to ``jupyter lab`` as they are, after
    ``--no-browser`` when ``browser`` is False. JupyterLab refuses to start as root unless
    it is given ``--allow-root``; containers and cloud machines often run as root, so there
    the flag is added, with a printed line saying so.
    """
    if isinstance(jupyter_args, str) or not all(isinstance(a, str) for a in jupyter_args):
        raise TypeError(
            "jupyter_args must be a list of strings, such as ['--port=8889'], "
            f"got {jupyter_args!r}."
        )
    args = ([] if browser else ["--no-browser"]) + list(jupyter_args)
    if _running_as_root() and "--allow-root" not in args:
        print(
            "You are running as root (usual in containers and on cloud machines), and "
            "JupyterLab refuses to start as root without --allow-root: adding it."
        )
        args.append("--allow-root")
    return [sys.executable, "-m", "jupyter", "lab", *args]


def start(
    dest: str | Path = DEFAULT_DIR, *, browser: bool = True, launch: bool = True, jupyter_args=()
) -> int:
    """Copy the notebooks into ``dest`` and, unless ``launch`` is False, run JupyterLab there.

    ``jupyter_args`` are extra arguments for ``jupyter lab`` (see :func:`jupyter_command`).
    Returns the exit code of JupyterLab (0 when only copying).
    """
    command = jupyter_command(jupyter_args, browser=browser) if launch else None
    report = copy_notebooks(dest)
    total = sum(map(len, (report.new, report.updated, report.unchanged, report.kept)))
    print(
        f"Workspace {Path(dest).resolve()}: {total} notebooks "
        f"({len(report.new)} new, {len(report.updated)} updated)."
    )
    if total == 0:
        print("No course notebooks were found in this installation.")
    if command is None:
        return 0
    try:
        return subprocess.call(command, cwd=dest)
    except KeyboardInterrupt:
        return 0
