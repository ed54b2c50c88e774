"""An nbgrader course from the solutions: ``python -m authoring release --nbgrader DIR``.

nbgrader makes each assignment's student copy from a *source* notebook that holds the
answers (``nbgrader generate_assignment``). :func:`nbgrader_source` writes one assignment
per solution notebook, ``DIR/source/NN_topic/NN_topic.ipynb``: the solution notebook whose
two generated cells are those of the student copy, pinned to ``ref`` (a tag, branch or
commit of the repository; by default ``v`` and the package's version):

* the Colab and Binder badges open the student copy ``notebooks/NN_topic.ipynb`` at ``ref``,
  never ``notebooks/solutions/``;
* the Colab set-up cell installs the package from ``ref``, so that the checkers students
  run all term are the grader's.

``nbgrader generate_assignment NN_topic`` then releases exactly
``release.make_student(solution, url, "notebooks/NN_topic.ipynb", ref=ref)``: the same
cells, badges and set-up. Where ``nbgrader_config.py`` names a header notebook (``nbgrader
quickstart`` sets ``c.IncludeHeaderFooter.header = "source/header.ipynb"``, 3 cells), the
released notebook starts with those cells and goes on with the same ones.

The course's ``nbgrader_config.py`` gets :data:`CONFIG_BLOCK` once (the file is made if
missing): the progress file that the checkers keep in each folder stays out of what
nbgrader copies, kernels may run a cell for 120 s, and grading ignores the course's
environment variables that a JupyterHub may set for its users.

Grade ids follow one scheme, ``NN-<exercise>`` for the check cell that carries the points
and ``NN-<exercise>-answer`` for its answer cell; :func:`grade_id_problems` lists the cells
that do not. nbgrader's gradebook keys every score on these ids.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import nbformat

from . import release

PROGRESS_GLOB = ".rnncourse-progress.json*"  # the file, a damaged one moved aside, a temporary
CONFIG_MARK = "# --- rnncourse: added by `python -m authoring release --nbgrader` ---"
CONFIG_BLOCK = f"""
{CONFIG_MARK}
# Each folder's .rnncourse-progress.json (the answers that passed, which later notebooks
# run) stays out of what nbgrader copies: release/ (an instructor's run of a source notebook
# would hand out the answers), autograded/ and feedback/.
c.CourseDirectory.ignore.append("{PROGRESS_GLOB}")
# The longest cells train small networks: give them two minutes on a busy machine.
c.Execute.timeout = 120
# Grading runs each student's notebooks in that student's own folders: a progress file
# shared by everyone (RNNCOURSE_PROGRESS) must not reach it, nor RNNCOURSE_GRADING=0,
# which would let an untouched exercise pass.
import os  # noqa: E402

for _name in ("RNNCOURSE_PROGRESS", "RNNCOURSE_GRADING"):
    os.environ.pop(_name, None)
"""
REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
VERSION = re.compile(r"^\d+(\.\d+)*$")
GRADE_ID = re.compile(r"^(\d\d)-([a-z][a-z0-9_]*)(-answer)?$")

__all__ = [
    "CONFIG_BLOCK",
    "PROGRESS_GLOB",
    "pin_ref",
    "ref_exists",
    "nbgrader_source",
    "grade_id_problems",
    "stray_progress_files",
]


def _version(root: Path) -> str:
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
    if not match:
        raise ValueError(f'{root / "pyproject.toml"} has no version = "X.Y.Z" line.')
    return match.group(1)


def pin_ref(root: str | Path, pin: str | None = None) -> str:
    """The git ref that a course pins: ``pin``, or ``v`` + the package's version.

    A bare version number (``0.2.0``) means its tag (``v0.2.0``); anything else (a tag, a
    branch, a commit) is used as it is. Raises ``ValueError`` for a ref git would refuse.
    """
    if pin is None:
        pin = _version(Path(root))
    if not isinstance(pin, str) or not REF.match(pin) or ".." in pin or pin.endswith((".", "/")):
        raise ValueError(
            f"--pin must be a version (0.1.0), a tag (v0.1.0), a branch or a commit of the "
            f"repository, got {pin!r}."
        )
    return f"v{pin}" if VERSION.match(pin) else pin


def ref_exists(root: str | Path, ref: str) -> bool | None:
    """Whether the clone at ``root`` knows ``ref`` (None where git cannot tell)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode not in (0, 1):  # 128: not a git repository
        return None
    return done.returncode == 0


def _source_notebook(path: Path, repo_url: str, ref: str):
    """The nbgrader source of the solution notebook ``path``, pinned to ``ref``."""
    nb = nbformat.read(path, as_version=4)
    release.sync_header(nb, repo_url, f"notebooks/{path.name}", ref=ref)
    student = release.make_student(nb, repo_url, f"notebooks/{path.name}", ref=ref)
    leaks = release.solution_leaks(nb, student)
    if leaks:
        raise ValueError(f"the student copy of {path.name} would contain {leaks[0]!r}.")
    tags = ({"badges", "colab-setup"} & set(c.metadata.get("tags", [])) for c in nb.cells)
    header = [cell.source for cell, tagged in zip(nb.cells, tags, strict=True) if tagged]
    if any("solutions" in source for source in header):
        raise ValueError(f"{path.name}: a badge or the set-up cell still names the solutions.")
    return nb


def nbgrader_source(
    root: str | Path, course: str | Path, *, pin: str | None = None, check: bool = False
) -> list[Path]:
    """Write the nbgrader source tree of every solution notebook into the course ``course``.

    Args:
        root: the clone of the course repository.
        course: the nbgrader course folder (made by ``nbgrader quickstart``, or made here).
        pin: the ref to pin, see :func:`pin_ref`.
        check: write nothing; only report what differs.

    Returns:
        The files that were out of date (``check=True``) or written: the source notebooks
        and ``nbgrader_config.py`` when it lacked :data:`CONFIG_BLOCK`.
    """
    solutions = release.solutions_folder(root)
    root, course = Path(root), release._path(course, "course")
    if course.exists() and not course.is_dir():
        raise ValueError(f"{course} is a file; name the nbgrader course folder instead.")
    repo_url = release.repository_url(root / "pyproject.toml")
    ref = pin_ref(root, pin)
    changed = []
    for path in sorted(solutions.glob("*.ipynb")):
        if not release.NOTEBOOK_NAME.match(path.name):
            continue
        text = release._text(_source_notebook(path, repo_url, ref))
        dest = course / "source" / path.stem / path.name
        if not dest.is_file() or dest.read_text(encoding="utf-8") != text:
            changed.append(dest)
            if not check:
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_text(text, encoding="utf-8")
    config = course / "nbgrader_config.py"
    old = config.read_text(encoding="utf-8") if config.is_file() else "c = get_config()\n"
    if CONFIG_MARK not in old:
        changed.append(config)
        if not check:
            course.mkdir(parents=True, exist_ok=True)
            config.write_text(old.rstrip("\n") + "\n" + CONFIG_BLOCK, encoding="utf-8")
    return changed


def stray_progress_files(course: str | Path) -> list[Path]:
    """Progress files under ``course/source/``: a run of a source notebook there wrote them,
    and they hold its answers (nbgrader copies them into release/ unless told not to)."""
    return sorted((Path(course) / "source").glob(f"*/{PROGRESS_GLOB}"))


def grade_id_problems(path: str | Path) -> list[str]:
    """The graded and answer cells of notebook ``path`` whose ids break the scheme.

    The check cell (nbgrader ``grade: true``, with points) of exercise ``name`` in notebook
    ``NN`` is ``NN-name`` and calls ``checks.name(`` (or, graded by tests of its own, calls
    no checker); the answer cell before it (``solution: true``) is ``NN-name-answer``.
    Returns one line per cell that differs (empty: all follow).
    """
    path = Path(path)
    number = path.name[:2]
    nb = nbformat.read(path, as_version=4)
    problems, answers = [], []
    for k, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        grade_id = meta.get("grade_id", "")
        if meta and not grade_id.startswith(f"{number}-"):
            problems.append(f"{path.name} cell {k}: {grade_id!r} does not start with {number}-")
        if meta.get("solution") and cell.cell_type == "code":
            answers.append((k, grade_id))
        if not meta.get("grade"):
            continue
        called = re.findall(r"\bchecks\.(\w+)\(", cell.source)
        # a check cell of the course calls its checker; one of an instructor's own (a
        # variant graded by hidden tests) names its exercise in the id
        own = GRADE_ID.match(grade_id)
        name = called[0] if called else own.group(2) if own and not own.group(3) else "<name>"
        if grade_id != f"{number}-{name}":
            problems.append(
                f"{path.name} cell {k}: check cell {grade_id!r}, expected {number}-{name}"
            )
        if not float(meta.get("points", 0)) > 0:
            problems.append(f"{path.name} cell {k}: check cell {grade_id!r} carries no points")
        if len(answers) > 1:
            where = ", ".join(str(j) for j, _ in answers)
            problems.append(f"{path.name} cells {where}: one answer cell per check cell")
        for j, answer in answers[:1]:
            if answer != f"{number}-{name}-answer":
                problems.append(
                    f"{path.name} cell {j}: answer cell {answer!r}, expected {number}-{name}-answer"
                )
        answers = []
    for j, answer in answers:
        problems.append(f"{path.name} cell {j}: answer cell {answer!r} has no check cell after it")
    return problems
