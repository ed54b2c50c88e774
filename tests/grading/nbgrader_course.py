"""An nbgrader course directory that grades one course notebook at a time.

Each worker process of the grading test owns one course directory (its own
``nbgrader_config.py`` and sqlite gradebook) and grades the notebooks it is handed in turn,
each as an assignment named after the notebook (``03_bptt``): ``generate_assignment`` on the
solution notebook, then ``autograde`` for every submission (student id -> notebook), then
``generate_feedback``. nbgrader runs the notebooks' kernels with ``NBGRADER_EXECUTION`` set,
so an untouched exercise fails its check cell.

nbgrader runs the ``alembic`` command (its gradebook's migrations) from ``PATH``: the grading
test puts its interpreter's ``bin`` folder there.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

CELL_TIMEOUT_S = 120
COURSE_ID = "rnncourse"

_course: dict = {}  # this process's course directory and nbgrader API


def config_text(root: Path, db: Path) -> str:
    """The ``nbgrader_config.py`` of a course directory at ``root`` with gradebook ``db``."""
    return (
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
        f"c.CourseDirectory.db_url = {'sqlite:///' + str(db)!r}\n"
        f"c.ExecutePreprocessor.timeout = {CELL_TIMEOUT_S}\n"
        f"c.Execute.timeout = {CELL_TIMEOUT_S}\n"
        "c.Execute.interrupt_on_timeout = True\n"
    )


def _api(work: Path):
    """This process's course directory under ``work`` and its ``NbGraderAPI`` (made once)."""
    if not _course:
        from nbgrader.apps import NbGraderAPI
        from traitlets.config import Config
        from traitlets.config.loader import PyFileConfigLoader

        root = work / f"course-{os.getpid()}"
        root.mkdir(parents=True)
        # nbgrader and SQLAlchemy log plenty; keep it in a file beside the course
        log = os.open(work / f"course-{os.getpid()}.log", os.O_WRONLY | os.O_CREAT, 0o644)
        os.dup2(log, 2)
        db = work / f"gradebook-{os.getpid()}.db"
        (root / "nbgrader_config.py").write_text(config_text(root, db))
        config = Config()
        config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config())
        _course.update(root=root, api=NbGraderAPI(config=config))
    return _course["root"], _course["api"]


def _ok(result: dict, what: str) -> None:
    if not result.get("success"):
        raise RuntimeError(f"nbgrader {what} failed:\n{result.get('error')}\n{result.get('log')}")


def grade(work: str, solution: str, submissions: dict[str, str], feedback: list[str]) -> dict:
    """Release ``solution`` and autograde each submission; return what was made where.

    Args:
        work: the folder holding every course directory and gradebook.
        solution: path of the solution notebook (``NN_topic.ipynb``).
        submissions: ``{student id: path of the notebook that student hands in}``.
        feedback: the students to run ``generate_feedback`` for.

    Returns:
        ``{"course": course root, "assignment": id, "released": path, "autograded":
        {student: path}, "feedback": {student: path}, "seconds": wall time}``.
    """
    start = time.perf_counter()
    root, api = _api(Path(work))
    name = Path(solution).name
    assignment = Path(solution).stem
    source = root / "source" / assignment
    source.mkdir(parents=True)
    shutil.copy(solution, source / name)
    _ok(api.generate_assignment(assignment), f"generate_assignment {assignment}")
    autograded, feedback_files = {}, {}
    for student, path in submissions.items():
        folder = root / "submitted" / student / assignment
        folder.mkdir(parents=True)
        shutil.copy(path, folder / name)
        _ok(api.autograde(assignment, student), f"autograde {assignment} {student}")
        autograded[student] = str(root / "autograded" / student / assignment / name)
        if student in feedback:
            _ok(api.generate_feedback(assignment, student), f"feedback {assignment} {student}")
            html = root / "feedback" / student / assignment / name.replace(".ipynb", ".html")
            feedback_files[student] = str(html)
    return {
        "course": str(root),
        "assignment": assignment,
        "released": str(root / "release" / assignment / name),
        "autograded": autograded,
        "feedback": feedback_files,
        "seconds": time.perf_counter() - start,
    }
