"""A student workspace: a folder with copies of the course notebooks, opened in JupyterLab;
a manifest of what was copied keeps a student's edits (see :func:`copy_notebooks`)."""

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
    kept: list[str] = field(default_factory=list)  # edited by the student
    beside: list[str] = field(default_factory=list)  # kept, a newer version beside it


def shipped_notebooks() -> dict[str, bytes]:
    """The shipped student notebooks, ``{file name: contents}``: from
    ``rnncourse/notebooks/`` in a wheel, else the repository's ``notebooks/``."""
    packaged = resources.files("rnncourse") / "notebooks"
    folder = packaged if packaged.is_dir() else REPO_NOTEBOOKS
    names = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    wanted = [n for n in names if n.endswith(".ipynb") and not n.endswith(".updated.ipynb")]
    return {n: (folder / n).read_bytes() for n in wanted}


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _cells_digest(data: bytes) -> str | None:
    """A digest of a notebook's cells (type and source), blind to outputs and metadata;
    ``None`` for a file that is not a notebook (it counts as edited)."""
    try:
        text = [(c["cell_type"], "".join(c["source"])) for c in json.loads(data)["cells"]]
    except (ValueError, KeyError, TypeError):
        return None
    return _digest(json.dumps(text).encode())


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def copy_notebooks(dest: str | Path, notebooks: dict[str, bytes] | None = None) -> CopyReport:
    """Copy ``notebooks`` (``{file name: contents}``, default :func:`shipped_notebooks`)
    into the folder ``dest`` (created if needed) without ever losing a student's changes:
    a notebook whose cells were edited (not only run) is kept, and a newer version goes
    beside it as ``NAME.updated.ipynb`` with a message, once per version."""
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
    except (OSError, ValueError):
        manifest = None
    manifest = manifest if isinstance(manifest, dict) else {}
    report = CopyReport()
    for name, data in notebooks.items():
        target, shipped = dest / name, _digest(data)
        entry = manifest.get(name)
        # a manifest from before cells were compared holds the digest of the file alone
        entry = entry if isinstance(entry, dict) else {"copied": entry}
        if not target.exists():
            report.new.append(name)
        else:
            current = target.read_bytes()
            now, cells = _digest(current), _cells_digest(current)
            edited = now != entry["copied"] and (cells is None or cells != entry.get("cells"))
            if now == shipped or (not edited and entry["copied"] == shipped):
                report.unchanged.append(name)  # nothing new (the student may have run it)
                if now == shipped:
                    manifest[name] = {"copied": shipped, "cells": cells}
                continue
            if edited:
                report.kept.append(name)
                beside = target.with_suffix(".updated.ipynb")
                if shipped != entry["copied"] and entry.get("offered") != shipped:
                    _write_atomic(beside, data)
                    print(
                        f"{name}: you have changed this notebook, so it was kept as it is. "
                        f"The newer course version is beside it as {beside.name}."
                    )
                    manifest[name] = {**entry, "offered": shipped}  # copied: still the old one
                if beside.exists():
                    report.beside.append(name)
                continue
            report.updated.append(name)
        _write_atomic(target, data)
        manifest[name] = {"copied": shipped, "cells": _cells_digest(data)}
    _write_atomic(manifest_path, (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())
    return report


def _running_as_root() -> bool:
    return getattr(os, "geteuid", lambda: -1)() == 0  # no geteuid on Windows: never root


def jupyter_command(jupyter_args=(), *, browser: bool = True) -> list[str]:
    """``[python, -m, jupyter, lab, *args]``: ``--no-browser`` unless ``browser``, then the
    strings ``jupyter_args``; as root, ``--allow-root`` is added with a message."""
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
    """Copy the notebooks into ``dest`` and, if ``launch``, run JupyterLab there with
    ``jupyter_args``; returns its exit code (0 when only copying)."""
    command = jupyter_command(jupyter_args, browser=browser) if launch else None
    report = copy_notebooks(dest)
    total = sum(map(len, (report.new, report.updated, report.unchanged, report.kept)))
    beside = f", {len(report.beside)} newer beside yours as .updated.ipynb" * bool(report.beside)
    print(
        f"Workspace {Path(dest).resolve()}: {total} notebooks "
        f"({len(report.new)} new, {len(report.updated)} updated{beside})."
    )
    if total == 0:
        print("No course notebooks were found in this installation.")
    if command is None:
        return 0
    try:
        return subprocess.call(command, cwd=dest)
    except KeyboardInterrupt:
        return 0
