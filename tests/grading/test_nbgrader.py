"""nbgrader grades the course end to end, in a course made by the instructor guide's commands.

``nbgrader quickstart`` makes the course (with nbgrader's header notebook) and ``python -m
authoring release --nbgrader`` writes every notebook's source, pinned to ``v<version>``.
Then, in temporary copies with sqlite gradebooks:

* ``generate_assignment`` releases, with the header, the header's 3 cells and then exactly
  the pinned student copy; without the header, exactly that copy; it differs from the
  committed student copy only in its badges and set-up, and names no solution;
* ``autograde`` gives the solutions of 00 and 01 full marks, and their untouched stubs 0 points
  (each check cell fails with "not attempted yet");
* every other notebook is released, and its released copy answered with the solution's
  answers runs the solution notebook's code, cell for cell. Autograding it would only run the
  solution again, as the README's test command does (on the same torch): every checker
  passes its right answer under a grader too (tests/test_checks.py), the untouched student
  copies run there, every checker's stub is checked to fail under a grader, and 00 and 01
  here show nbgrader's side (a submission's folder, its progress file, feedback);
* in 00 and 01 the solution with ONE exercise answered wrongly (its solution body replaced by
  the same computation with the sign of the result flipped) loses exactly that exercise's
  points; the feedback's check cell starts with the checker's diagnosis (what it says in
  this process about the same wrong function), alone, with no line wider than ``nbgrader
  validate`` shows, and ``nbgrader validate`` prints it whole;
* 01 runs the student's own ``rnn_step`` from 00 (autograded first, in a sibling folder), and
  a student whose 00 failed gets the course's reference, whatever progress file they hand in;
  no progress file reaches ``feedback/`` or ``release/``, nor a shared ``RNNCOURSE_PROGRESS``;
* ``nbgrader export`` writes a CSV with those scores.

Autograding runs 00 and 01 three times each, so two worker processes, each with its own copy
of the course, release and grade the notebooks side by side. The wall time is printed and
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
import re
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
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

from authoring import assignments, release  # noqa: E402
from tests.grading import nbgrader_course  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted((ROOT / "notebooks" / "solutions").glob("[0-9][0-9]_*.ipynb"))
ARTIFACTS = ROOT / "test-artifacts"
URL = release.repository_url(ROOT / "pyproject.toml")
PIN = assignments.pin_ref(ROOT)  # what the release command pins without --pin
WORKERS = 2
# 01's rnn_forward runs 00's rnn_step, taken from the student's graded 00 (checks.use): both
# notebooks get one wrong answer, and are graded in this order by one worker
EARLIER, LATER = "00", "01"
WRONG_IN = (EARLIER, LATER)
GRADED = (EARLIER, LATER)  # autograded: solution and untouched stubs; every notebook is released
HEADER_CELLS = 3  # nbgrader quickstart's header.ipynb
VALIDATE_WIDTH = 87  # nbgrader validate's width (90) less its "..."; it indents by 4
PROGRESS = ".rnncourse-progress.json"
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
    """What the checker says about the wrong answer under a grader, or None if it is no clean
    failure."""
    namespace: dict = {}
    environ = dict(os.environ)
    os.environ.update(NBGRADER_EXECUTION="autograde", RNNCOURSE_GRADING="1")  # as graded
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
    finally:
        os.environ.clear()
        os.environ.update(environ)
    return None


def choose_wrong() -> dict[str, dict]:
    """In each WRONG_IN notebook, the first exercise whose wrong answer fails cleanly.

    Returns ``{notebook name: {"answer": grade_id, "check": grade_id, "source": the wrong
    answer, "diagnosis": the checker's message}}``.
    """
    chosen = {}
    for path in SOLUTIONS:
        if path.name[:2] not in WRONG_IN:
            continue
        nb = read(path)
        for i, j in exercises(nb):
            source = wrong_answer(nb.cells[i].source)
            message = diagnosis(source, nb.cells[j].source)
            if message is not None:
                chosen[path.name] = {
                    "answer": nb.cells[i].metadata.nbgrader["grade_id"],
                    "check": nb.cells[j].metadata.nbgrader["grade_id"],
                    "source": source,
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


def _jobs(wrong: dict) -> list[list[dict]]:
    """The work of each worker call: EARLIER and LATER together, in order; the rest alone."""
    by_number = {p.name[:2]: p for p in SOLUTIONS}
    groups = [[by_number[EARLIER], by_number[LATER]]]
    groups += [[p] for p in SOLUTIONS if p.name[:2] not in (EARLIER, LATER)]
    # the longest first (as the last run measured them), so that both workers finish together
    last = ARTIFACTS / "grading_times.json"
    seconds = json.loads(last.read_text()) if last.is_file() else {}
    groups.sort(key=lambda g: -sum(float(seconds.get(p.name, 0.0)) for p in g))
    jobs = []
    for group in groups:
        jobs.append([])
        for path in group:
            students = {"stub": None, "solution": {}} if path.name[:2] in GRADED else {}
            if path.name in wrong:
                students["wrong"] = {wrong[path.name]["answer"]: wrong[path.name]["source"]}
            job = {"solution": str(path), "students": students, "feedback": []}
            if path.name[:2] in WRONG_IN:
                job["feedback"] = ["stub", "wrong"] if path.name[:2] == EARLIER else ["wrong"]
            if path.name[:2] == LATER:  # handed in with a file that holds a passing rnn_step
                earlier = by_number[EARLIER].stem
                job["carry"] = {"wrong": f"autograded/solution/{earlier}/{PROGRESS}"}
            jobs[-1].append(job)
    return jobs


@contextlib.contextmanager
def _nbgrader_environment(**settings: str):
    """os.environ with ``settings`` and this interpreter's ``bin`` first on PATH (nbgrader runs
    `alembic` from there), restored afterwards (a course's config clears two variables)."""
    environ = dict(os.environ)
    os.environ.update(settings)
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(environ)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Make the course, grade every notebook (stub, solution, wrong answers), export the CSVs."""
    start = time.perf_counter()
    work = tmp_path_factory.mktemp("grading")
    shared = work / "shared-progress.json"  # as a JupyterHub's spawner may set it for everyone
    # the kernels keep the test suite's offline guard (conftest.py) but not its progress
    # files: each folder keeps its own here, as under an instructor's nbgrader
    startup = work / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    offline = (ROOT / "tests" / "offline.py").read_text()
    (startup / "00-offline.py").write_text(offline + "\nblock()\n")
    settings = {"IPYTHONDIR": str(startup.parents[1]), "RNNCOURSE_PROGRESS": str(shared)}
    with _nbgrader_environment(**settings, RNNCOURSE_GRADING="0"):
        with ThreadPoolExecutor(max_workers=1) as side:  # quickstart takes a while
            making = side.submit(nbgrader_course.make_course, work, ROOT)
            wrong = choose_wrong()
            course = making.result()
        made = time.perf_counter() - start
        # a fresh interpreter per worker: forking a process that has run torch can hang
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=WORKERS, mp_context=context) as pool:
            futures = [
                pool.submit(nbgrader_course.grade, str(work), str(course), job)
                for job in _jobs(wrong)
            ]
            plain = _release_without_header(course, work / "plain")
            validated = _validate(wrong, work)
        failed = [f.exception() for f in futures if f.exception()]
        assert not failed, "\n\n".join(str(err) for err in failed)
    results = {Path(r["released"]).name: r for f in futures for r in f.result()}
    scores = {}
    for root in sorted({r["course"] for r in results.values()}):
        for row in export_csv(root):
            key = (row["assignment"], row["student_id"])
            scores[key] = (float(row["score"]), float(row["max_score"]))
    seconds = time.perf_counter() - start
    times = {"total_s": round(seconds, 1), "workers": WORKERS, "setup_s": round(made, 1)}
    times.update({name: round(r["seconds"], 1) for name, r in results.items()})
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "grading_times.json").write_text(json.dumps(times, indent=2) + "\n")
    print(f"\nnbgrader: graded {len(results)} notebooks in {seconds:.0f} s: {times}")
    return {
        "course": course,
        "results": results,
        "scores": scores,
        "wrong": wrong,
        "plain": plain,
        "validated": validated,
        "shared": shared,
    }


def _release_without_header(course: Path, to: Path) -> dict[str, str]:
    """generate_assignment of every notebook in a copy of ``course`` without the header."""
    plain = nbgrader_course.without_header(course, to)
    api = nbgrader_course.api(plain)
    released = {}
    for path in SOLUTIONS:
        nbgrader_course.ok(api.generate_assignment(path.stem), f"generate {path.stem}")
        released[path.name] = str(plain / "release" / path.stem / path.name)
    return released


def _validate(wrong: dict, work: Path) -> str:
    """``nbgrader validate`` on the first notebook with a wrong answer, as a student runs it."""
    path = next(p for p in SOLUTIONS if p.name in wrong)
    student = nbgrader_course.answered(
        release.make_student(read(path), URL, f"notebooks/{path.name}", ref=PIN),
        read(path),
        {wrong[path.name]["answer"]: wrong[path.name]["source"]},
    )
    folder = work / "validate" / path.stem
    folder.mkdir(parents=True)
    nbformat.write(student, folder / path.name)
    command = [sys.executable, "-m", "nbgrader", "validate", path.name]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RNNCOURSE_")}
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    return done.stdout


def _ids(paths):
    return [p.name for p in paths]


def _pinned_student(solution: Path) -> nbformat.NotebookNode:
    return release.make_student(read(solution), URL, f"notebooks/{solution.name}", ref=PIN)


def _same_cells(ours, theirs, what: str) -> None:
    assert len(ours) == len(theirs), f"{what}: {len(theirs)} cells, expected {len(ours)}"
    for k, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert a.cell_type == b.cell_type, f"{what} cell {k}: {b.cell_type}, not {a.cell_type}"
        assert a.source == b.source, f"{what} cell {k}:\n{b.source}\n--- expected\n{a.source}"


# --- what students get ----------------------------------------------------------------------


def test_the_release_command_pins_every_source_notebook(graded):
    course = graded["course"]
    sources = sorted(course.glob("source/*/[0-9][0-9]_*.ipynb"))
    assert [p.name for p in sources] == [p.name for p in SOLUTIONS]
    for path in sources:
        text = path.read_text()
        assert release.BEGIN in text, f"{path.name}: nbgrader needs the answers in the source"
        assert f"/blob/{PIN}/notebooks/{path.name}" in text and f"@{PIN}" in text
    assert PIN == f"v{assignments._version(ROOT)}"
    assert assignments.CONFIG_MARK in (course / "nbgrader_config.py").read_text()


@pytest.mark.parametrize("solution", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_released_notebook_is_the_pinned_student_copy_after_the_header(graded, solution):
    header = read(graded["course"] / "source" / "header.ipynb").cells
    released = read(graded["results"][solution.name]["released"]).cells
    assert len(header) == HEADER_CELLS
    _same_cells(header, released[:HEADER_CELLS], "header")
    _same_cells(_pinned_student(solution).cells, released[HEADER_CELLS:], "with the header")
    # without the header: exactly the pinned student copy
    _same_cells(
        _pinned_student(solution).cells, read(graded["plain"][solution.name]).cells, "plain"
    )


@pytest.mark.parametrize("solution", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_released_notebook_links_no_solution_and_differs_only_in_its_pin(graded, solution):
    text = Path(graded["results"][solution.name]["released"]).read_text()
    links = re.findall(r"https?://[^\s)\"']+|\]\([^)]*\)", text)
    assert links and not [link for link in links if "solutions" in link], links
    assert release.BEGIN not in text
    pinned, committed = _pinned_student(solution), read(ROOT / "notebooks" / solution.name)
    generated = {"badges", "colab-setup"}
    for ours, theirs in zip(pinned.cells, committed.cells, strict=True):
        if not generated & set(ours.metadata.get("tags", [])):
            assert ours.source == theirs.source


# --- scores ---------------------------------------------------------------------------------


GRADED_SOLUTIONS = [p for p in SOLUTIONS if p.name[:2] in GRADED]


@pytest.mark.parametrize("solution", GRADED_SOLUTIONS, ids=_ids(GRADED_SOLUTIONS))
def test_untouched_stubs_score_zero(graded, solution):
    total = sum(points(read(solution)).values())
    assert total > 0, "the notebook has no graded cells"
    assert graded["scores"][(solution.stem, "stub")] == (0.0, total)
    autograded = read(graded["results"][solution.name]["autograded"]["stub"])
    for cell in autograded.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            errors = [o for o in cell.outputs if o.output_type == "error"]
            assert errors and "not attempted yet" in errors[0].evalue, cell.source


@pytest.mark.parametrize("solution", GRADED_SOLUTIONS, ids=_ids(GRADED_SOLUTIONS))
def test_solution_scores_full_marks(graded, solution):
    total = sum(points(read(solution)).values())
    assert total > 0, "the notebook has no graded cells"
    assert graded["scores"][(solution.stem, "solution")] == (total, total)


def _code(cells) -> list[str]:
    return [nbgrader_course.unmarked(c.source) for c in cells if c.cell_type == "code"]


@pytest.mark.parametrize("solution", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_the_released_copy_answered_with_the_solutions_is_the_solution(graded, solution):
    """What a student hands in with every answer right runs the code of the notebook released
    from, which is the solution pinned, the code the README's test command runs: so it scores
    what 00 and 01 score here, full marks."""
    released = read(graded["results"][solution.name]["released"])
    handed_in = nbgrader_course.answered(released, read(solution), {})
    ours = read(graded["course"] / "source" / solution.stem / solution.name).cells
    theirs = handed_in.cells[len(handed_in.cells) - len(ours) :]  # after the header's cells
    assert _code(theirs) == _code(ours)
    assert [code.replace(f"@{PIN}", "") for code in _code(ours)] == _code(read(solution).cells)
    graded_ids = [c.metadata.nbgrader["grade_id"] for c in ours if c.metadata.get("nbgrader")]
    assert graded_ids == [
        c.metadata.nbgrader["grade_id"] for c in theirs if c.metadata.get("nbgrader")
    ]


def test_one_wrong_exercise_loses_only_its_points(graded):
    wrong = graded["wrong"]
    assert sorted(n[:2] for n in wrong) == sorted(WRONG_IN), f"no clean wrong answer in {wrong}"
    for name, info in wrong.items():
        cells = points(read(ROOT / "notebooks" / "solutions" / name))
        total = sum(cells.values())
        expected = total - cells[info["check"]]
        assert graded["scores"][(Path(name).stem, "wrong")] == (expected, total), name


# --- feedback -------------------------------------------------------------------------------


def _feedback_output(page: str, grade_id: str) -> list[str]:
    """The text of each output of the graded cell ``grade_id`` in a feedback page."""
    start = page.index(f'<a name="{grade_id}"></a>')
    end = page.find('<div class="cell ', start)
    cell = page[start : end if end > 0 else len(page)]
    outputs = re.findall(r'<div class="output_subarea[^"]*">\s*<pre>(.*?)</pre>', cell, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", o)).strip("\n") for o in outputs]


def test_feedback_starts_with_the_diagnosis_alone_and_readable(graded):
    for name, info in graded["wrong"].items():
        page = Path(graded["results"][name]["feedback"]["wrong"]).read_text(encoding="utf-8")
        (shown,) = _feedback_output(page, info["check"])  # one output: the diagnosis
        lines = shown.split("\n")
        assert lines[0] == f"CheckFailed: {info['diagnosis'].splitlines()[0]}", lines[0]
        assert shown == f"CheckFailed: {info['diagnosis']}"
        assert max(len(line) for line in lines) + 4 <= VALIDATE_WIDTH, shown
        assert "Traceback" not in shown and "File " not in shown and "rnncourse/" not in shown


def test_feedback_of_an_untouched_exercise_says_so_first(graded):
    name = next(p.name for p in SOLUTIONS if p.name[:2] == EARLIER)
    check = next(iter(points(read(ROOT / "notebooks" / "solutions" / name))))
    page = Path(graded["results"][name]["feedback"]["stub"]).read_text(encoding="utf-8")
    (shown,) = _feedback_output(page, check)
    assert shown.startswith(f"NotAttemptedError: {check[3:]}: not attempted yet"), shown
    assert max(len(line) for line in shown.split("\n")) + 4 <= VALIDATE_WIDTH, shown


def test_validate_prints_the_whole_diagnosis(graded):
    out = graded["validated"]
    name = next(p.name for p in SOLUTIONS if p.name in graded["wrong"])
    message = graded["wrong"][name]["diagnosis"]
    assert "VALIDATION FAILED ON 1 CELL(S)" in out, out
    error = out.split("The error was:", 1)[1]
    shown = [line[4:] for line in error.strip("\n").split("\n")]
    assert "\n".join(shown[: len(message.splitlines())]) == f"CheckFailed: {message}", out
    assert not any(line.endswith("...") for line in shown), out


# --- earlier answers and progress files -----------------------------------------------------


def test_a_later_notebook_runs_the_students_own_earlier_answer(graded):
    later = next(p.name for p in SOLUTIONS if p.name[:2] == LATER)
    result = graded["results"][later]

    def says(student: str) -> str:
        cells = read(result["autograded"][student]).cells
        return "".join(o.get("text", "") for c in cells if c.cell_type == "code" for o in c.outputs)

    assert "→ rnn_step: using yours from notebook 00 (it passes checks.rnn_step)." in says(
        "solution"
    )
    # the rebuilt answer is the one this student handed in for 00, now kept in 01's folder too
    kept = Path(result["autograded"]["solution"]).parent / PROGRESS
    record = json.loads(kept.read_text())["answers"]["rnn_step"]
    solution_00 = next(p for p in SOLUTIONS if p.name[:2] == EARLIER)
    answer = next(c.source for c in read(solution_00).cells if "def rnn_step" in c.source)
    body = [line.strip() for line in answer.split("\n") if line.strip() not in (BEGIN, END)]
    assert all(line in record["source"] for line in body) and record["notebook"] == "00"
    # 00 handed in wrong: the course's reference, though the folder handed in held a file
    # with a passing rnn_step (the grader runs only what it graded)
    assert "→ rnn_step: using the course's reference, since yours has not passed" in says("wrong")
    assert graded["scores"][(Path(later).stem, "wrong")][0] > 0


def test_no_progress_file_reaches_release_or_feedback(graded):
    course = graded["course"]
    roots = {Path(r["course"]) for r in graded["results"].values()}
    for root in roots | {course, Path(graded["plain"][SOLUTIONS[0].name]).parents[2]}:
        for folder in ("release", "feedback"):
            assert not list((root / folder).rglob(f"{PROGRESS}*")), root / folder
    # the kernels kept their own in autograded/ (so feedback/ was made from a folder with
    # one), and never touched the shared one
    later = graded["results"][next(p.name for p in SOLUTIONS if p.name[:2] == LATER)]
    assert (Path(later["autograded"]["wrong"]).parent / PROGRESS).is_file()
    assert Path(later["feedback"]["wrong"]).is_file()
    assert not graded["shared"].exists()


def test_a_source_folder_with_an_instructors_progress_file_releases_without_it(graded, tmp_path):
    course = nbgrader_course.without_header(graded["course"], tmp_path / "course")
    name = SOLUTIONS[0].stem
    (course / "source" / name / PROGRESS).write_text('{"version": 2, "answers": {}}')
    with _nbgrader_environment():
        nbgrader_course.ok(nbgrader_course.api(course).generate_assignment(name), "generate")
    assert sorted(p.name for p in (course / "release" / name).iterdir()) == [f"{name}.ipynb"]


# --- scores for a learning-management system ------------------------------------------------


def test_export_holds_every_score(graded):
    students = {"stub", "solution"}
    for path in GRADED_SOLUTIONS:
        for student in students | ({"wrong"} if path.name in graded["wrong"] else set()):
            assert (path.stem, student) in graded["scores"]


def test_the_grading_extra_is_what_ci_grades_with():
    from importlib.metadata import version

    extra = re.search(
        r'^grading = \["nbgrader>=([\d.]+)"\]', (ROOT / "pyproject.toml").read_text(), re.M
    )
    assert extra, "pyproject.toml declares no grading extra with nbgrader's lower bound"
    bound = tuple(int(p) for p in extra.group(1).split("."))
    assert tuple(int(p) for p in version("nbgrader").split(".")[:3]) >= bound
    assert '.[test,site,grading]"' in (ROOT / ".ci" / "grading.sh").read_text()
