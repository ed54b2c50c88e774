"""nbgrader grades the course end to end, as an instructor would run it.

For every solution notebook (``notebooks/solutions/NN_*.ipynb``, found by globbing), in
temporary nbgrader course directories with sqlite gradebooks:

* ``generate_assignment`` releases a notebook whose cells equal the committed student copy;
* ``autograde`` gives the student copy, stubs untouched, 0 points (each check cell fails with
  "not attempted yet"), and the solution full marks (the sum of the ``points`` in the
  notebook's nbgrader metadata);
* on two notebooks whose exercises are pure functions, the solution with ONE exercise answered
  wrongly (its solution body replaced by the same computation with the sign of the result
  flipped) loses exactly that exercise's points, and the checker's diagnosis (what it says
  in this process about the same wrong function) is in the autograded notebook and in the
  feedback HTML;
* ``nbgrader export`` writes a CSV with those scores.

Autograding runs every notebook three times over, so two worker processes, each with its own
course directory and gradebook, grade the notebooks side by side. The wall time is printed and
written to ``test-artifacts/grading_times.json``.

Run it with ``pytest -m grading tests/grading`` in the environment that ``bash .ci/grading.sh``
builds; it is skipped where nbgrader is not installed.
"""

from __future__ import annotations

import contextlib
import csv
import html
import io
import json
import multiprocessing
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.grading

try:
    import nbgrader  # noqa: F401
except ImportError:
    pytest.skip(
        "nbgrader is not installed; build its environment with: bash .ci/grading.sh",
        allow_module_level=True,
    )

from tests.grading import nbgrader_course  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted((ROOT / "notebooks" / "solutions").glob("[0-9][0-9]_*.ipynb"))
ARTIFACTS = ROOT / "test-artifacts"
WORKERS = 2
# notebooks whose exercises are pure functions of their arguments (tried first, in this order)
WRONG_IN = ("03", "05")
WRONG_NOTEBOOKS = 2
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
# the exercise's own body runs unchanged inside _right(); the answer comes back negated
WRONG_BODY = """\
def _negated(value):
    if isinstance(value, (list, tuple)):
        return type(value)(_negated(v) for v in value)
    if isinstance(value, dict):
        return {k: _negated(v) for k, v in value.items()}
    return -value
def _right():
{body}
return _negated(_right())"""


def student_copy(solution: Path) -> Path:
    return ROOT / "notebooks" / solution.name


def read(path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def points(nb) -> dict[str, float]:
    """``{grade_id: points}`` of the graded cells."""
    return {
        c.metadata.nbgrader["grade_id"]: float(c.metadata.nbgrader.get("points", 0))
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    }


def exercises(nb) -> list[tuple[int, int]]:
    """(exercise cell index, index of the graded cell that checks it) for each code answer."""
    pairs = []
    for i, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution") and BEGIN in cell.source:
            check = next(
                j for j in range(i + 1, len(nb.cells))
                if nb.cells[j].metadata.get("nbgrader", {}).get("grade")
            )  # fmt: skip
            pairs.append((i, check))
    return pairs


def wrong_answer(source: str) -> str:
    """``source`` with its marked solution body computing the same, then negating the result.

    The markers go: the result is what a student would hand in.
    """
    lines = source.split("\n")
    begin = next(i for i, line in enumerate(lines) if line.strip() == BEGIN)
    end = next(i for i, line in enumerate(lines) if line.strip() == END)
    indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
    body = "\n".join("    " + line[len(indent) :] for line in lines[begin + 1 : end])
    wrong = [indent + line for line in WRONG_BODY.replace("{body}", body).split("\n")]
    return "\n".join(lines[:begin] + wrong + lines[end + 1 :])  # as a student hands it in


def diagnosis(exercise: str, check: str) -> str | None:
    """What the checker says about the wrong answer here, or None if it is no clean failure."""
    namespace: dict = {}
    try:
        exec(
            "import math\nimport numpy as np\nimport torch\nfrom rnncourse import checks", namespace
        )
        exec(exercise, namespace)
        with contextlib.redirect_stdout(io.StringIO()):
            exec(check, namespace)
    except AssertionError as err:
        return str(err)
    except Exception:  # the cell needs the notebook's earlier state, or the answer breaks it
        return None
    return None


def choose_wrong(folder: Path) -> dict[str, dict]:
    """Pick WRONG_NOTEBOOKS notebooks and in each one exercise whose wrong answer fails cleanly.

    Returns ``{notebook name: {"exercise": grade_id, "check": grade_id, "path": wrong
    notebook, "diagnosis": the checker's message}}``.
    """
    order = sorted(SOLUTIONS, key=lambda p: (p.name[:2] not in WRONG_IN, p.name))
    chosen = {}
    for path in order:
        if len(chosen) == WRONG_NOTEBOOKS:
            break
        nb = read(path)
        for i, j in exercises(nb):
            source = wrong_answer(nb.cells[i].source)
            message = diagnosis(source, nb.cells[j].source)
            if message is None:
                continue
            submission = read(path)  # every other exercise answered right
            submission.cells[i].source = source
            exercise_id = nb.cells[i].metadata.nbgrader["grade_id"]
            wrong = folder / path.name
            nbformat.write(submission, wrong)
            chosen[path.name] = {
                "exercise": exercise_id,
                "check": nb.cells[j].metadata.nbgrader["grade_id"],
                "path": str(wrong),
                "diagnosis": message,
            }
            break
    return chosen


def export_csv(course: str) -> list[dict]:
    """Run ``nbgrader export`` in the course directory; return the CSV's rows."""
    out = Path(course) / "grades.csv"
    command = [sys.executable, "-m", "nbgrader", "export", "--to", str(out)]
    done = subprocess.run(command, cwd=course, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    with out.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _grade_all(work: Path) -> tuple[dict, dict]:
    """Grade every notebook in WORKERS processes; return their results and the wrong answers."""
    wrong = choose_wrong(work / "wrong")
    jobs = {}
    # a fresh interpreter per worker: forking a process that has run torch can hang
    context = multiprocessing.get_context("spawn")
    # the longest first (as the last run measured them), so that both workers finish together
    last = ARTIFACTS / "grading_times.json"
    seconds = json.loads(last.read_text()) if last.is_file() else {}
    order = sorted(SOLUTIONS, key=lambda p: -float(seconds.get(p.name, 0.0)))
    with ProcessPoolExecutor(max_workers=WORKERS, mp_context=context) as pool:
        for path in order:
            submissions = {"stub": str(student_copy(path)), "solution": str(path)}
            if path.name in wrong:
                submissions["wrong"] = wrong[path.name]["path"]
            feedback = ["wrong"] if path.name in wrong else []
            jobs[path.name] = pool.submit(
                nbgrader_course.grade, str(work), str(path), submissions, feedback
            )
    failed = {name: job.exception() for name, job in jobs.items() if job.exception()}
    assert not failed, "\n\n".join(f"{name}: {err}" for name, err in failed.items())
    return {name: job.result() for name, job in jobs.items()}, wrong


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade every notebook (stub, solution, and the chosen wrong answers); export the CSVs."""
    start = time.perf_counter()
    work = tmp_path_factory.mktemp("grading")
    (work / "wrong").mkdir()
    environ = dict(os.environ)
    os.environ["RNNCOURSE_PROGRESS"] = str(work / "progress.json")  # never the clone's
    # nbgrader runs `alembic` from PATH: this environment's, activated or not
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    try:
        results, wrong = _grade_all(work)
    finally:
        os.environ.clear()
        os.environ.update(environ)
    scores = {}
    for course in sorted({r["course"] for r in results.values()}):
        for row in export_csv(course):
            key = (row["assignment"], row["student_id"])
            scores[key] = (float(row["score"]), float(row["max_score"]))
    seconds = time.perf_counter() - start
    times = {"total_s": round(seconds, 1), "workers": WORKERS}
    times.update({name: round(r["seconds"], 1) for name, r in results.items()})
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "grading_times.json").write_text(json.dumps(times, indent=2) + "\n")
    print(f"\nnbgrader: graded {len(results)} notebooks in {seconds:.0f} s: {times}")
    return {"results": results, "scores": scores, "wrong": wrong}


def _ids(paths):
    return [p.name for p in paths]


def _normal(cell) -> str:
    """The solution's badges open the solution; the student copy's open the student copy."""
    if "badges" not in cell.metadata.get("tags", []):
        return cell.source
    return cell.source.replace("notebooks/solutions/", "notebooks/").replace(
        "notebooks%2Fsolutions%2F", "notebooks%2F"
    )


@pytest.mark.parametrize("solution", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_released_notebook_equals_the_student_copy(graded, solution):
    released = read(graded["results"][solution.name]["released"])
    student = read(student_copy(solution))
    assert len(released.cells) == len(student.cells), "the two have different numbers of cells"
    for k, (ours, theirs) in enumerate(zip(student.cells, released.cells, strict=True)):
        assert ours.cell_type == theirs.cell_type, (
            f"cell {k}: {ours.cell_type} vs {theirs.cell_type}"
        )
        assert _normal(theirs) == ours.source, (
            f"cell {k} differs: nbgrader released\n{theirs.source}\n--- the student copy has\n"
            f"{ours.source}"
        )


@pytest.mark.parametrize("solution", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_untouched_stubs_score_zero(graded, solution):
    total = sum(points(read(solution)).values())
    assert total > 0, "the notebook has no graded cells"
    assert graded["scores"][(solution.stem, "stub")] == (0.0, total)
    autograded = read(graded["results"][solution.name]["autograded"]["stub"])
    for cell in autograded.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            errors = [o for o in cell.outputs if o.output_type == "error"]
            assert errors and "not attempted yet" in errors[0].evalue, cell.source


@pytest.mark.parametrize("solution", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_solution_scores_full_marks(graded, solution):
    total = sum(points(read(solution)).values())
    assert graded["scores"][(solution.stem, "solution")] == (total, total)


def test_one_wrong_exercise_loses_only_its_points(graded):
    wrong = graded["wrong"]
    assert len(wrong) == WRONG_NOTEBOOKS, f"no clean wrong answer found, only in {list(wrong)}"
    for name, info in wrong.items():
        cells = points(read(ROOT / "notebooks" / "solutions" / name))
        total = sum(cells.values())
        expected = total - cells[info["check"]]
        assert graded["scores"][(Path(name).stem, "wrong")] == (expected, total), name


def test_the_checkers_diagnosis_reaches_the_autograded_notebook_and_feedback(graded):
    for name, info in graded["wrong"].items():
        result = graded["results"][name]
        first_line = info["diagnosis"].splitlines()[0]
        autograded = read(result["autograded"]["wrong"])
        (check,) = [
            c for c in autograded.cells
            if c.metadata.get("nbgrader", {}).get("grade_id") == info["check"]
        ]  # fmt: skip
        shown = "\n".join(
            o.get("evalue", "") + "".join(o.get("traceback", [])) for o in check.outputs
        )
        assert first_line in shown, f"{name}: {first_line!r} not in the check cell's output"
        feedback = html.unescape(Path(result["feedback"]["wrong"]).read_text(encoding="utf-8"))
        assert first_line in feedback, f"{name}: {first_line!r} not in the feedback"
