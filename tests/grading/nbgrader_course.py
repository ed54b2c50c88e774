"""nbgrader course directories made by the documented commands, and grading in them.

:func:`make_course` makes a course as the instructor guide says: ``nbgrader quickstart``
(which configures nbgrader's header notebook, 3 cells), then ``python -m authoring release
--nbgrader COURSE`` (every notebook's source, pinned, and the course's settings in
``nbgrader_config.py``). :func:`without_header` turns the header off in a copy.

Each worker process of the grading test copies the course once (its own sqlite gradebook)
and grades the notebooks it is handed in turn (:func:`grade`): ``generate_assignment``,
``autograde`` for every submission, ``generate_feedback`` for some. Submissions are made
from what nbgrader released, as a student hands it in (:func:`answered`). nbgrader runs the
kernels with ``NBGRADER_EXECUTION`` set, so an untouched exercise fails its check cell, and
in ``autograded/<student>/<assignment>/``, so a later assignment finds the answers of the
earlier ones in its sibling folders.

nbgrader runs the ``alembic`` command (its gradebook's migrations) from ``PATH``: the grading
test puts its interpreter's ``bin`` folder there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

COURSE_ID = "rnncourse"
HEADER_LINE = 'c.IncludeHeaderFooter.header = "source/header.ipynb"'
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"

_course: dict = {}  # this process's course directory and nbgrader API


def make_course(work: Path, root: Path) -> Path:
    """A course at ``work/COURSE_ID``: ``nbgrader quickstart``, then the release command.

    quickstart's example assignment goes; its header notebook and config stay.
    """
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", "quickstart", COURSE_ID],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    course = work / COURSE_ID
    shutil.rmtree(course / "source" / "ps1")
    assert HEADER_LINE in (course / "nbgrader_config.py").read_text(), "quickstart changed"
    command = [sys.executable, "-m", "authoring", "release", "--nbgrader", str(course)]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return course


def without_header(course: Path, to: Path) -> Path:
    """A copy of ``course`` at ``to`` whose assignments have no header notebook."""
    shutil.copytree(course, to)
    config = to / "nbgrader_config.py"
    config.write_text(config.read_text().replace(HEADER_LINE, f"# {HEADER_LINE}"))
    return to


def api(course: Path):
    """An ``NbGraderAPI`` on ``course``, configured by its ``nbgrader_config.py``."""
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config())
    config.CourseDirectory.root = str(course)
    return NbGraderAPI(config=config)


def ok(result: dict, what: str) -> None:
    if not result.get("success"):
        raise RuntimeError(f"nbgrader {what} failed:\n{result.get('error')}\n{result.get('log')}")


def unmarked(source: str) -> str:
    """``source`` without its ``### BEGIN/END SOLUTION`` lines, as a student's answer reads."""
    return "\n".join(line for line in source.split("\n") if line.strip() not in (BEGIN, END))


def answered(released, solution, replace: dict[str, str]) -> nbformat.NotebookNode:
    """``released`` with every answer cell filled in as ``solution`` answers it, markers gone,
    except the answers ``replace`` holds (``{grade_id: source}``)."""
    answers = {
        c.metadata.nbgrader["grade_id"]: c.source
        for c in solution.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    handed_in = nbformat.from_dict(released)
    for cell in handed_in.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution") and grade_id in answers:
            cell.source = unmarked(replace.get(grade_id, answers[grade_id]))
    return handed_in


def _this_course(work: Path, template: Path) -> tuple[Path, object]:
    """This process's copy of the course ``template`` under ``work``, and its API (made once)."""
    if not _course:
        course = shutil.copytree(template, work / f"course-{os.getpid()}")
        # nbgrader and SQLAlchemy log plenty; keep it in a file beside the course
        log = os.open(work / f"course-{os.getpid()}.log", os.O_WRONLY | os.O_CREAT, 0o644)
        os.dup2(log, 2)
        _course.update(root=course, api=api(course))  # loading the config applies it
    return _course["root"], _course["api"]


def grade(work: str, template: str, jobs: list[dict]) -> list[dict]:
    """Grade the notebooks of ``jobs`` in turn, in this process's copy of ``template``.

    Each job: ``{"solution": path of NN_topic.ipynb, "students": {student: None (the
    released notebook untouched) or {grade_id: source} (answered, these answers replaced)},
    "carry": {student: a progress file in the course (path from its root), which the student
    hands in beside the notebook},
    "feedback": [students to run generate_feedback for]}``.

    Returns, per job: ``{"course", "assignment", "released", "submitted", "autograded",
    "feedback": {student: path}, "seconds"}``.
    """
    results = []
    for job in jobs:
        start = time.perf_counter()
        course, nbgrader = _this_course(Path(work), Path(template))
        solution = Path(job["solution"])
        assignment, name = solution.stem, solution.name
        ok(nbgrader.generate_assignment(assignment), f"generate_assignment {assignment}")
        released = course / "release" / assignment / name
        paths: dict[str, dict[str, str]] = {"submitted": {}, "autograded": {}, "feedback": {}}
        for student, replace in job["students"].items():
            folder = course / "submitted" / student / assignment
            folder.mkdir(parents=True)
            handed_in = nbformat.read(released, as_version=4)
            if replace is not None:
                handed_in = answered(handed_in, nbformat.read(solution, as_version=4), replace)
            nbformat.write(handed_in, folder / name)
            if student in job.get("carry", {}):
                shutil.copy(course / job["carry"][student], folder / ".rnncourse-progress.json")
            ok(nbgrader.autograde(assignment, student), f"autograde {assignment} {student}")
            paths["submitted"][student] = str(folder / name)
            paths["autograded"][student] = str(course / "autograded" / student / assignment / name)
            if student in job.get("feedback", []):
                ok(nbgrader.generate_feedback(assignment, student), f"feedback {student}")
                html = course / "feedback" / student / assignment / f"{assignment}.html"
                paths["feedback"][student] = str(html)
        results.append(
            {
                "course": str(course),
                "assignment": assignment,
                "released": str(released),
                **paths,
                "seconds": time.perf_counter() - start,
            }
        )
    return results
