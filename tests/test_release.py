"""Student notebooks are made from the solutions (`python -m authoring release`), and never
contain solution text; an nbgrader course's source tree is made from them too (`--nbgrader`),
pinned, with grade ids in one scheme. nbgrader itself runs in tests/grading."""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from authoring import assignments, cli, release

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
URL = "https://github.com/someone/course-fork"


@pytest.fixture
def repo(tmp_path):
    """A small repository: pyproject.toml and two solution notebooks."""
    (tmp_path / "pyproject.toml").write_text(
        f'[project]\nname = "x"\n\n[project.urls]\nRepository = "{URL}"\n'
    )
    solutions = tmp_path / "notebooks" / "solutions"
    solutions.mkdir(parents=True)
    for name in ("01_demo.ipynb", "02_plain.ipynb"):
        shutil.copy2(FIXTURES / name, solutions / name)
    return tmp_path


def read(path):
    return nbformat.read(path, as_version=4)


# --- the transformations -----------------------------------------------------------------


def test_strip_solutions_keeps_indentation_and_everything_else():
    src = (
        "def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    y = x + 1\n    if y:\n"
        "        y *= 2\n    ### END SOLUTION\n    return y\n### BEGIN SOLUTION\nz = 3\n"
        "### END SOLUTION"
    )
    assert release.strip_solutions(src) == (
        "def f(x):\n    y = 1\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
        "    return y\n# YOUR CODE HERE\nraise NotImplementedError()"
    )


def test_strip_solutions_markdown_and_hidden_tests():
    md = "Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION\nNext."
    assert release.strip_solutions(md, markdown=True) == "Why?\nYOUR ANSWER HERE\nNext."
    code = "check()\n### BEGIN HIDDEN TESTS\nassert secret\n### END HIDDEN TESTS"
    assert release.strip_solutions(code) == "check()"


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("### BEGIN SOLUTION\nx = 1", "never closed"),
        ("x = 1\n### END SOLUTION", "without a matching BEGIN"),
    ],
)
def test_strip_solutions_rejects_broken_markers(source, words):
    with pytest.raises(ValueError, match=words):
        release.strip_solutions(source)


def test_bad_inputs():
    with pytest.raises(TypeError, match="source must be a cell's source string"):
        release.strip_solutions(["x = 1"])
    with pytest.raises(TypeError, match="nbformat.read"):
        release.make_student({"cells": []}, URL, "notebooks/x.ipynb")


def test_student_notebook_from_fixture():
    solution = read(FIXTURES / "01_demo.ipynb")
    before = copy.deepcopy(solution)
    student = release.make_student(solution, URL, "notebooks/01_demo.ipynb")
    assert solution == before  # the input is not modified
    nbformat.validate(student)
    cells = {c.id: c for c in student.cells}
    assert cells["exercise"].source == (
        'def rnn_step(h, x, W, U, b):\n    """One recurrent step."""\n'
        "    # YOUR CODE HERE\n    raise NotImplementedError()"
    )
    assert cells["answer"].source == "YOUR ANSWER HERE"
    assert cells["inline-answer"].source == "Why share weights?\n\nYOUR ANSWER HERE"
    assert cells["question"].source == before.cells[6].source
    for cell in student.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
        assert set(cell.metadata) <= {"tags", "nbgrader", "editable", "deletable"}
    # tags and nbgrader metadata survive; widget state and personal metadata do not
    assert cells["exercise"].metadata.tags == ["exercise"]
    assert cells["exercise"].metadata.nbgrader.grade_id == "rnn_step"
    assert cells["answer"].metadata.nbgrader.solution is True
    assert "widgets" not in student.metadata and "colab" not in student.metadata
    assert student.metadata.kernelspec.name == "python3"
    assert release.solution_leaks(solution, student) == []


def test_badges_and_setup_cell():
    student = release.make_student(read(FIXTURES / "01_demo.ipynb"), URL, "notebooks/01_demo.ipynb")
    badges = [c for c in student.cells if "badges" in c.metadata.get("tags", [])]
    assert len(badges) == 1 and student.cells.index(badges[0]) == 1  # replaced, not added
    assert (
        "https://colab.research.google.com/github/someone/course-fork/blob/main/"
        "notebooks/01_demo.ipynb" in badges[0].source
    )
    assert (
        "https://mybinder.org/v2/gh/someone/course-fork/main?labpath=notebooks%2F01_demo.ipynb"
        in badges[0].source
    )
    (setup,) = [c for c in student.cells if "colab-setup" in c.metadata.get("tags", [])]
    assert f'"rnncourse @ git+{URL}"' in setup.source and "--no-deps" in setup.source
    assert "old setup" not in setup.source


def run_setup_cell(source, on_colab, monkeypatch):
    """Run the setup cell as IPython would, recording the magics it calls."""
    import sys

    calls = []

    class FakeShell:
        def run_line_magic(self, name, line, *args):
            calls.append((name, line))

    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", object())
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    code = TransformerManager().transform_cell(source)
    exec(code, {"get_ipython": lambda: FakeShell()})
    return calls


def test_setup_cell_installs_only_on_colab_and_never_upgrades_torch(monkeypatch):
    import torch

    student = release.make_student(read(FIXTURES / "02_plain.ipynb"), URL, "notebooks/x.ipynb")
    (setup,) = [c for c in student.cells if "colab-setup" in c.metadata.get("tags", [])]
    assert run_setup_cell(setup.source, False, monkeypatch) == []
    first = torch.rand(1)
    (call,) = run_setup_cell(setup.source, True, monkeypatch)
    assert torch.equal(first, torch.rand(1))  # it seeds
    assert call[0] == "pip" and "--no-deps" in call[1] and "--upgrade" not in call[1]
    assert "torch" not in call[1] and "numpy" not in call[1]


def test_header_cells_are_inserted_into_a_notebook_without_them():
    student = release.make_student(read(FIXTURES / "02_plain.ipynb"), URL, "notebooks/02.ipynb")
    assert student.cells[0].metadata.tags == ["badges"]
    assert student.cells[1].source == "# 02 Plain"
    assert student.cells[2].metadata.tags == ["colab-setup"]  # the first code cell
    assert student.cells[3].source.endswith("raise NotImplementedError()\nx")
    nbformat.validate(student)


def test_refuses_to_write_a_student_notebook_with_a_marker():
    nb = read(FIXTURES / "02_plain.ipynb")
    nb.cells.append(nbformat.v4.new_code_cell("x = 1  ### BEGIN SOLUTION"))
    nb.cells[-1].pop("id")
    with pytest.raises(ValueError, match="would still contain '### BEGIN SOLUTION'"):
        release.make_student(nb, URL, "notebooks/02_plain.ipynb")


def test_solution_leaks_finds_copied_solution_lines():
    solution = read(FIXTURES / "01_demo.ipynb")
    student = release.make_student(solution, URL, "notebooks/01_demo.ipynb")
    student.cells[5].source += "\na = h @ W.T + x @ U.T + b"
    assert release.solution_leaks(solution, student) == ["a = h @ W.T + x @ U.T + b"]


def test_repository_url(tmp_path):
    assert release.repository_url(REPO / "pyproject.toml").startswith("https://github.com/")
    (tmp_path / "p.toml").write_text('[project]\nname = "x"\n')
    with pytest.raises(ValueError, match=r"no \[project.urls\] Repository"):
        release.repository_url(tmp_path / "p.toml")
    with pytest.raises(ValueError, match="must look like https://github.com/OWNER/REPO"):
        release.badge_urls("https://gitlab.com/a/b", "notebooks/x.ipynb")


# --- the release tool on a repository -----------------------------------------------------


def test_release_writes_students_and_syncs_solution_headers(repo):
    sol = repo / "notebooks" / "solutions" / "01_demo.ipynb"
    before = read(sol)
    changed = release.release(repo)
    assert {p.name for p in changed} == {"01_demo.ipynb", "02_plain.ipynb"}
    assert (repo / "notebooks" / "01_demo.ipynb").exists()
    after = read(sol)
    # only the badge and setup cells of the solution changed; outputs elsewhere kept
    assert len(after.cells) == len(before.cells)
    for old, new in zip(before.cells, after.cells, strict=True):
        if old.id in ("badges", "colab-setup"):
            assert old.source != new.source and old.metadata == new.metadata
        else:
            assert old == new
    assert after.metadata == before.metadata
    assert "notebooks/solutions/01_demo.ipynb" in after.cells[1].source
    assert release.release(repo) == []  # idempotent
    assert release.release(repo, check=True) == []


def test_check_reports_edited_student_notebook_and_a_new_url(repo, capsys):
    release.release(repo)
    student = repo / "notebooks" / "01_demo.ipynb"
    student.write_text(student.read_text().replace("YOUR ANSWER HERE", "edited"))
    assert cli.main(["release", "--check", "--root", str(repo)]) == 1
    assert "notebooks/01_demo.ipynb" in capsys.readouterr().out
    assert "edited" in student.read_text()  # --check writes nothing
    # a fork changes one line: every badge and setup cell follows
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("someone", "another"))
    changed = {str(p.relative_to(repo)) for p in release.release(repo, check=True)}
    assert changed == {
        "notebooks/01_demo.ipynb",
        "notebooks/02_plain.ipynb",
        "notebooks/solutions/01_demo.ipynb",
        "notebooks/solutions/02_plain.ipynb",
    }
    assert cli.main(["release", "--root", str(repo)]) == 0
    assert cli.main(["release", "--check", "--root", str(repo)]) == 0
    assert "github.com/another/course-fork" in student.read_text()


def test_release_needs_a_repository(tmp_path):
    with pytest.raises(ValueError, match="no notebooks/solutions folder"):
        release.release(tmp_path)
    with pytest.raises(ValueError, match="clone of the course repository"):
        release.execute_solutions(tmp_path)
    with pytest.raises(ValueError, match="no notebooks/solutions folder"):
        release.solutions_folder(str(tmp_path))


def test_the_repository_root_is_a_required_argument(repo):
    with pytest.raises(TypeError):
        release.release()
    with pytest.raises(TypeError):
        release.execute_solutions()
    with pytest.raises(TypeError):
        release.repository_url()
    with pytest.raises(TypeError, match="root must be a path"):
        release.release(3)
    with pytest.raises(TypeError, match="pyproject must be a path"):
        release.repository_url(None)
    assert release.solutions_folder(repo) == repo / "notebooks" / "solutions"


@pytest.mark.parametrize("where", ["cwd", "--root"])
def test_cli_outside_a_clone_says_what_it_expected(tmp_path, monkeypatch, capsys, where):
    monkeypatch.chdir(tmp_path)
    argv = ["release", "--check"] + (["--root", str(tmp_path / "elsewhere")] * (where == "--root"))
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "no notebooks/solutions folder under" in err
    assert "Run it in a clone of the course repository, or name" in err and "--root" in err
    assert not list(tmp_path.rglob("*.ipynb"))  # nothing written


def test_cli_uses_the_current_folder_by_default(repo, monkeypatch, capsys):
    monkeypatch.chdir(repo)
    assert cli.main(["release", "--check"]) == 1  # the student copies do not exist yet
    assert "notebooks/01_demo.ipynb" in capsys.readouterr().out
    assert cli.main(["release"]) == 0
    assert cli.main(["release", "--check"]) == 0
    assert (repo / "notebooks" / "01_demo.ipynb").exists()


# --- the repository's real notebooks ------------------------------------------------------


def test_committed_student_notebooks_are_what_the_tool_generates(monkeypatch):
    assert release.release(REPO, check=True) == []
    monkeypatch.chdir(REPO)  # the README's command, run from the repository root
    assert cli.main(["release", "--check"]) == 0


def test_student_notebooks_have_no_solution_text():
    """Every student notebook lacks the markers and the exact lines of its solutions."""
    for solution in sorted((REPO / "notebooks" / "solutions").glob("[0-9][0-9]_*.ipynb")):
        student_path = REPO / "notebooks" / solution.name
        assert student_path.exists(), (
            f"run `python -m authoring release` to create {student_path.name}"
        )
        leaks = release.solution_leaks(read(solution), read(student_path))
        assert leaks == [], f"{student_path.name} contains solution text: {leaks}"


@pytest.mark.slow
def test_release_execute_refreshes_solution_outputs(repo, capsys):
    sol = repo / "notebooks" / "solutions" / "02_plain.ipynb"
    nb = read(sol)
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nbformat.write(nb, sol)
    assert cli.main(["release", "--execute", "02", "--root", str(repo)]) == 0
    assert "executed 02_plain.ipynb in" in capsys.readouterr().out
    executed = read(sol)
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert code[-1].outputs[0]["data"]["text/plain"] == "4"  # x = 1 + 0 + 1 + 2
    assert "widgets" not in executed.metadata
    assert all("execution" not in c.metadata for c in executed.cells)
    student = read(repo / "notebooks" / "02_plain.ipynb")
    assert all(not c.outputs for c in student.cells if c.cell_type == "code")
    assert read(repo / "notebooks" / "solutions" / "01_demo.ipynb").cells[2].outputs  # untouched


# --- an nbgrader course: release --nbgrader ------------------------------------------------


def _header(nb) -> tuple[str, str]:
    (badges,) = [c.source for c in nb.cells if "badges" in c.metadata.get("tags", [])]
    (setup,) = [c.source for c in nb.cells if "colab-setup" in c.metadata.get("tags", [])]
    return badges, setup


def _body(nb) -> list:
    return [c for c in nb.cells if not {"badges", "colab-setup"} & set(c.metadata.get("tags", []))]


def test_a_pinned_student_copy_opens_and_installs_that_ref():
    solution = read(FIXTURES / "01_demo.ipynb")
    pinned = release.make_student(solution, URL, "notebooks/01_demo.ipynb", ref="v2.0.1")
    badges, setup = _header(pinned)
    assert "/blob/v2.0.1/notebooks/01_demo.ipynb" in badges
    assert "/course-fork/v2.0.1?labpath=notebooks%2F01_demo.ipynb" in badges
    assert f'"rnncourse @ git+{URL}@v2.0.1"' in setup and "--no-deps" in setup
    plain = release.make_student(solution, URL, "notebooks/01_demo.ipynb")
    assert "/blob/main/" in _header(plain)[0] and f'git+{URL}"' in _header(plain)[1]
    # only the two generated cells differ
    for a, b in zip(plain.cells, pinned.cells, strict=True):
        assert a.source == b.source or {"badges", "colab-setup"} & set(a.metadata.get("tags", []))


@pytest.mark.parametrize(
    ("pin", "ref"),
    [(None, "v0.3.0"), ("0.4.1", "v0.4.1"), ("v0.4.1", "v0.4.1"), ("main", "main"),
     ("3f2a9c1", "3f2a9c1"), ("term/2025-fall", "term/2025-fall")],
)  # fmt: skip
def test_pin_ref_defaults_to_the_version_tag(repo, pin, ref):
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('name = "x"', 'name = "x"\nversion = "0.3.0"')
    )
    assert assignments.pin_ref(repo, pin) == ref


@pytest.mark.parametrize("pin", ["", "-x", "a b", "v1..2", "main/", "x;rm"])
def test_pin_ref_rejects_what_git_would_refuse(repo, pin):
    with pytest.raises(ValueError, match="--pin must be a version"):
        assignments.pin_ref(repo, pin)


def test_nbgrader_source_tree_keeps_answers_and_pins_the_student_header(repo, tmp_path):
    course = tmp_path / "course"
    written = assignments.nbgrader_source(repo, course, pin="v1.2.0")
    sources = sorted(course.glob("source/*/*.ipynb"))
    assert [p.relative_to(course).as_posix() for p in sources] == [
        "source/01_demo/01_demo.ipynb",
        "source/02_plain/02_plain.ipynb",
    ]
    assert set(written) == {*sources, course / "nbgrader_config.py"}
    for path in sources:
        source = read(path)
        solution = read(repo / "notebooks" / "solutions" / path.name)
        text = path.read_text()
        assert release.BEGIN in text and "solutions" not in "".join(_header(source))
        badges, setup = _header(source)
        assert f"/blob/v1.2.0/notebooks/{path.name}" in badges and "@v1.2.0" in setup
        # what nbgrader releases from it is the pinned student copy
        ours = release.make_student(source, URL, f"notebooks/{path.name}", ref="v1.2.0")
        theirs = release.make_student(solution, URL, f"notebooks/{path.name}", ref="v1.2.0")
        assert ours == theirs
        # everything but the two generated cells is the solution, outputs included
        assert _body(source) == _body(solution)
    config = (course / "nbgrader_config.py").read_text()
    assert config.startswith("c = get_config()\n") and config.count(assignments.CONFIG_MARK) == 1
    assert assignments.nbgrader_source(repo, course, pin="v1.2.0") == []  # idempotent
    assert assignments.nbgrader_source(repo, course, pin="v1.3.0", check=True) == sources


def test_nbgrader_config_block_is_added_once_to_an_existing_config(repo, tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    mine = 'c = get_config()\nc.CourseDirectory.course_id = "rnn-fall"\n'
    (course / "nbgrader_config.py").write_text(mine)
    assignments.nbgrader_source(repo, course, pin="main")
    assignments.nbgrader_source(repo, course, pin="v9")
    config = (course / "nbgrader_config.py").read_text()
    assert config.startswith(mine) and config.count(assignments.CONFIG_MARK) == 1
    # the block is a valid config: run it as nbgrader's loader would
    from traitlets.config import Config

    namespace = {"get_config": Config, "c": Config()}
    environ = dict(os.environ)
    os.environ.update(RNNCOURSE_PROGRESS="/shared/progress.json", RNNCOURSE_GRADING="0")
    try:
        exec(compile(config, "nbgrader_config.py", "exec"), namespace)
        assert "RNNCOURSE_PROGRESS" not in os.environ and "RNNCOURSE_GRADING" not in os.environ
    finally:
        os.environ.clear()
        os.environ.update(environ)
    c = namespace["c"]
    assert c.Execute.timeout == 120
    assert c.CourseDirectory.ignore.get_value([".ipynb_checkpoints"]) == [
        ".ipynb_checkpoints",
        assignments.PROGRESS_GLOB,
    ]


def test_cli_release_nbgrader(repo, tmp_path, capsys):
    course = tmp_path / "course"
    argv = ["release", "--root", str(repo), "--nbgrader", str(course), "--pin", "v1.0"]
    assert cli.main(argv) == 0
    out = capsys.readouterr()
    assert "pinned to v1.0" in out.out and "01_demo.ipynb" in out.out
    assert "nbgrader generate_assignment" in out.out
    assert not (repo / "notebooks" / "01_demo.ipynb").exists()  # notebooks/ is left alone
    assert cli.main([*argv, "--check"]) == 0
    assert cli.main([*argv[:-1], "v1.1", "--check"]) == 1
    # an instructor ran a source notebook in place: its answers are named for deletion
    (course / "source" / "01_demo" / ".rnncourse-progress.json").write_text("{}")
    assert cli.main(argv) == 0
    assert "progress.json: holds answers; delete it" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--pin", "v1"], "--pin goes with --nbgrader"),
        (["--nbgrader", "{course}", "--pin", "a b"], "--pin must be a version"),
        (["--nbgrader", "{course}"], 'no version = "X.Y.Z" line'),
    ],
)
def test_cli_release_nbgrader_says_what_is_wrong(repo, tmp_path, capsys, argv, words):
    argv = [a.replace("{course}", str(tmp_path / "course")) for a in argv]
    assert cli.main(["release", "--root", str(repo), *argv]) == 2
    assert words in capsys.readouterr().err
    assert not (tmp_path / "course").exists()


def test_grade_id_problems_names_each_cell_off_the_scheme(tmp_path):
    def cell(source, **nbgrader):
        return nbformat.v4.new_code_cell(source, metadata={"nbgrader": nbgrader})

    nb = nbformat.v4.new_notebook(
        cells=[
            cell("def f():\n    pass", solution=True, grade=False, grade_id="04-f-answer"),
            cell("checks.f(f)", grade=True, locked=True, grade_id="04-f", points=1),
            cell("def g():\n    pass", solution=True, grade=False, grade_id="g"),
            cell("checks.g(g)", grade=True, locked=True, grade_id="g-check", points=2),
            cell("def own():\n    pass", solution=True, grade=False, grade_id="04-own-answer"),
            cell("assert own() is None", grade=True, locked=True, grade_id="04-own", points=1),
            cell("checks.h(h)", grade=True, locked=True, grade_id="04-h", points=0),
        ]
    )
    path = tmp_path / "04_demo.ipynb"
    nbformat.write(nb, path)
    assert assignments.grade_id_problems(path) == [
        "04_demo.ipynb cell 2: 'g' does not start with 04-",
        "04_demo.ipynb cell 3: 'g-check' does not start with 04-",
        "04_demo.ipynb cell 3: check cell 'g-check', expected 04-g",
        "04_demo.ipynb cell 2: answer cell 'g', expected 04-g-answer",
        "04_demo.ipynb cell 6: check cell '04-h' carries no points",
    ]


@pytest.mark.parametrize(
    "solution",
    sorted((REPO / "notebooks" / "solutions").glob("[0-9][0-9]_*.ipynb")),
    ids=lambda p: p.name[:2],
)
def test_every_check_cell_follows_the_grade_id_scheme(solution):
    """NN-<exercise> for a check cell, NN-<exercise>-answer for its answer: gradebooks key
    every score on these ids, so they change only between terms."""
    assert assignments.grade_id_problems(solution) == []
