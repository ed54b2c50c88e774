"""Every committed notebook is clean: valid, python3 kernel, badges, and nothing personal."""

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
STUDENT = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTION = sorted((ROOT / "notebooks" / "solutions").glob("[0-9][0-9]_*.ipynb"))


def test_every_notebook_has_a_student_and_a_solution_copy():
    assert len(STUDENT) == 10, [p.name for p in STUDENT]
    assert [p.name for p in STUDENT] == [p.name for p in SOLUTION]


@pytest.mark.parametrize("path", STUDENT + SOLUTION, ids=lambda p: str(p.relative_to(ROOT)))
def test_valid_with_python3_kernel_and_badges(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    badges = nb.cells[0]
    assert "badges" in badges.metadata.get("tags", [])
    rel = path.relative_to(ROOT).as_posix()
    assert "colab.research.google.com/github/" in badges.source and rel in badges.source
    assert "mybinder.org/v2/gh/" in badges.source
    setup = [c for c in nb.cells if "colab-setup" in c.metadata.get("tags", [])]
    assert len(setup) == 1 and 'if "google.colab" in sys.modules:' in setup[0].source
    assert "widgets" not in nb.metadata
    for cell in nb.cells:
        assert not set(cell.metadata) & {"colab", "execution", "collapsed", "scrolled"}


@pytest.mark.parametrize("path", STUDENT, ids=lambda p: p.name)
def test_student_notebooks_have_no_outputs_or_personal_metadata(path):
    nb = nbformat.read(path, as_version=4)
    assert not set(nb.metadata) - {"kernelspec", "language_info", "nbgrader"}
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize("path", SOLUTION, ids=lambda p: p.name)
def test_solution_notebooks_keep_their_outputs(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert sum(bool(c.outputs) for c in code) > len(code) // 2
    checks = [c for c in code if "check" in c.metadata.get("tags", [])]
    assert 1 <= len(checks) <= 6
    for cell in checks:
        assert "nbval-check-output" in cell.metadata["tags"]
        assert cell.metadata["nbgrader"]["grade"] is True
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert text.startswith("✓ "), f"a solution's check cell must pass: {text!r}"


MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


@pytest.mark.parametrize("path", STUDENT + SOLUTION, ids=lambda p: str(p.relative_to(ROOT)))
def test_nbgrader_markers_stand_only_where_nbgrader_expects_them(path):
    """nbgrader reads any line holding marker text as a marker, in markdown too."""
    nb = nbformat.read(path, as_version=4)
    for k, cell in enumerate(nb.cells):
        lines = [line.strip() for line in cell.source.splitlines()]
        marked = [line for line in lines if any(m in line for m in MARKERS)]
        if cell.cell_type != "code":
            assert not marked, f"cell {k}: markdown mentions a marker: {marked}"
            continue
        assert all(line.startswith("### ") and line[4:] in MARKERS for line in marked), marked
        begins = [m[len("### BEGIN ") :] for m in marked if m.startswith("### BEGIN ")]
        ends = [m[len("### END ") :] for m in marked if m.startswith("### END ")]
        assert begins == ends, f"cell {k}: unbalanced markers {marked}"
