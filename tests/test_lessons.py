"""The lessons' text: short enough, hints that teach without giving the answer away, exercises
with substance, and prose whose measured numbers come from the cells that measure them."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = sorted((ROOT / "notebooks" / "solutions").glob("[0-9][0-9]_*.ipynb"))
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"

MAX_WORDS_PER_NOTEBOOK = 3000
MAX_WORDS_IN_ALL = 22000


def _read(path):
    return nbformat.read(path, as_version=4)


def words(nb) -> int:
    """Words of markdown (whitespace-separated tokens), the badges cell aside."""
    return sum(
        len(cell.source.split())
        for cell in nb.cells
        if cell.cell_type == "markdown" and "badges" not in cell.metadata.get("tags", [])
    )


def solution_regions(nb) -> dict[str, list[str]]:
    """{exercise grade_id: the lines of its solution region}, for every exercise cell."""
    regions = {}
    for cell in nb.cells:
        if cell.cell_type != "code" or BEGIN not in cell.source:
            continue
        lines, inside = [], False
        for line in cell.source.splitlines():
            if line.strip() == BEGIN:
                inside = True
            elif line.strip() == END:
                inside = False
            elif inside:
                lines.append(line)
        regions[cell.metadata.get("nbgrader", {}).get("grade_id", "?")] = lines
    return regions


def code_lines(lines: list[str]) -> list[str]:
    return [s for s in (line.strip() for line in lines) if s and not s.startswith("#")]


HINT = re.compile(r"<details>\s*<summary>\s*(Hint[^<]*)</summary>(.*?)</details>", re.S)


def hints_before_each_exercise(nb) -> dict[str, list[tuple[str, str]]]:
    """{exercise grade_id: [(summary, body)] of the hints since the previous exercise}."""
    found, pending = {}, []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            pending += [(s.strip(), body) for s, body in HINT.findall(cell.source)]
        elif BEGIN in cell.source:
            found[cell.metadata.get("nbgrader", {}).get("grade_id", "?")] = pending
            pending = []
    return found


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_word_counts_hold():
    counts = {p.name: words(_read(p)) for p in SOLUTION}
    over = {name: n for name, n in counts.items() if n > MAX_WORDS_PER_NOTEBOOK}
    assert not over, f"notebooks over {MAX_WORDS_PER_NOTEBOOK} words of markdown: {over}"
    total = sum(counts.values())
    assert total <= MAX_WORDS_IN_ALL, f"{total} words in all (at most {MAX_WORDS_IN_ALL}): {counts}"


def test_word_count_counts_markdown_only():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("three words here", metadata={"tags": ["badges"]}),
        nbformat.v4.new_markdown_cell("# A title\n\nfour more words."),
        nbformat.v4.new_code_cell("x = 1  # not counted"),
    ]
    assert words(nb) == 6


@pytest.mark.parametrize("path", SOLUTION, ids=lambda p: p.name)
def test_no_hint_contains_a_line_of_its_solution(path):
    nb = _read(path)
    regions = solution_regions(nb)
    for grade_id, hints in hints_before_each_exercise(nb).items():
        secret = {_squash(line) for line in regions[grade_id] if len(" ".join(line.split())) >= 20}
        for summary, body in hints:
            shown = {_squash(line) for line in body.splitlines()}
            leaked = secret & shown
            assert not leaked, f"{grade_id}: '{summary}' gives away {sorted(leaked)}"


@pytest.mark.parametrize("path", SOLUTION, ids=lambda p: p.name)
def test_longer_exercises_have_three_collapsed_hint_tiers(path):
    """Hint 1: the idea; Hint 2: the equation with shapes; Hint 3: a skeleton with blanks."""
    nb = _read(path)
    regions = solution_regions(nb)
    for grade_id, hints in hints_before_each_exercise(nb).items():
        if len(code_lines(regions[grade_id])) < 5:
            continue
        tiers = [s.split(":")[0] for s, _ in hints]
        assert tiers[-3:] == ["Hint 1", "Hint 2", "Hint 3"], f"{grade_id}: hints {tiers}"
        assert "____" in hints[-1][1] or "..." in hints[-1][1], f"{grade_id}: no blanks"


@pytest.mark.parametrize(
    "path", [p for p in SOLUTION if "01" <= p.name[:2] <= "09"], ids=lambda p: p.name
)
def test_every_lesson_has_an_exercise_of_eight_lines_or_more(path):
    lengths = {g: len(code_lines(lines)) for g, lines in solution_regions(_read(path)).items()}
    assert max(lengths.values(), default=0) >= 8, lengths


# --- measured numbers in the prose come from the cells that print them ------------------

NUMBER = re.compile(r"(?<![\w.^{\\])(\d+\.\d+)(?!\w|\.\d)")  # a full stop may follow
PRINTED = re.compile(r"-?\d+\.\d+(?:e[-+]?\d+)?")
# Decimals in prose that are not measurements (exact arithmetic, settings, published
# figures), per notebook, with the reason. Anything else must be printed in its section.
NOT_MEASURED = {
    "07": {"0.97": "a setting named in the text"},
}
REL_TOL = 0.02  # a quoted number may be rounded, or within 2 % of what its section prints


def sections(nb):
    """Split a notebook at its '## ' headings: [(markdown text, printed text, code text)]."""
    parts = [["", "", ""]]
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            if re.match(r"\s*## ", cell.source):
                parts.append(["", "", ""])
            parts[-1][0] += "\n" + re.sub(r"\$\$.*?\$\$|\$[^$\n]*\$", " ", cell.source, flags=re.S)
        elif cell.cell_type == "code":
            parts[-1][2] += "\n" + cell.source
            for out in cell.get("outputs", []):
                text = out.get("text") or out.get("data", {}).get("text/plain", "")
                parts[-1][1] += "\n" + "".join(text)
    return parts


def unmatched_numbers(nb, allowed: dict[str, str]) -> list[str]:
    missing = []
    for prose, printed, code in sections(nb):
        values = [abs(float(v)) for v in PRINTED.findall(printed)]
        for match in NUMBER.finditer(prose):
            quoted = match.group(1)
            if quoted in allowed or re.search(rf"(?<![\d.]){re.escape(quoted)}(?![\d])", code):
                continue
            v, digits = float(quoted), len(quoted.split(".")[1])
            if not any(abs(o - v) <= max(0.5 * 10**-digits, REL_TOL * v) for o in values):
                missing.append(quoted)
    return missing


@pytest.mark.parametrize("path", SOLUTION, ids=lambda p: p.name)
def test_measured_numbers_in_the_prose_are_printed_in_their_section(path):
    missing = unmatched_numbers(_read(path), NOT_MEASURED.get(path.name[:2], {}))
    assert not missing, (
        f"numbers in the prose that no cell of their section prints: {missing}. Print them "
        "in the cell that measures them, or (for exact arithmetic or settings) list them in "
        "NOT_MEASURED with the reason."
    )


def test_every_listed_exception_is_still_quoted():
    """NOT_MEASURED cannot go stale: each number it lets through still stands in the prose."""
    for path in SOLUTION:
        listed = NOT_MEASURED.get(path.name[:2], {})
        prose = " ".join(text for text, _, _ in sections(_read(path)))
        quoted = {match.group(1) for match in NUMBER.finditer(prose)}
        assert set(listed) <= quoted, f"{path.name}: {sorted(set(listed) - quoted)}"


def test_a_drifted_number_is_caught():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(loss)")
    cell.outputs = [nbformat.v4.new_output("stream", text="loss 0.174\n")]
    nb.cells = [nbformat.v4.new_markdown_cell("## 1. A\n\nThe loss reaches 0.17."), cell]
    assert unmatched_numbers(nb, {}) == []
    nb.cells[0].source = "## 1. A\n\nThe loss reaches 0.21."
    assert unmatched_numbers(nb, {}) == ["0.21"]
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("## 2. B"))  # printed in another section
    nb.cells[0].source = "## 1. A\n\nThe loss reaches 0.17."
    assert unmatched_numbers(nb, {}) == ["0.17"]


def test_readme_lists_every_exercise_with_its_points():
    """The README's exercise table: notebook, checker and points of every check cell, in order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d\d) \| `(\w+)` \| [^|]+ \| (\d+) \|$", readme, re.M)
    cells = []
    for path in SOLUTION:
        for cell in _read(path).cells:
            if "check" in cell.metadata.get("tags", []):
                name = re.search(r"checks\.(\w+)\(", cell.source).group(1)
                cells.append((path.name[:2], name, str(cell.metadata["nbgrader"]["points"])))
    assert rows == cells
    total = re.search(r"The course has (\d+) exercises", readme).group(1)
    assert int(total) == len(cells)


def _core(line: str) -> str:
    """A line of code as a statement could repeat it: no spaces, no `return`, no assignment
    target, no module prefix (``torch.``, ``F.``)."""
    text = re.sub(r"\s+", "", line)
    text = re.sub(r"^return", "", text)
    text = re.sub(r"^[\w\[\]:,.()]+=(?!=)", "", text)
    return re.sub(r"\b(torch|nn|F|functional|np|math|distributions)\.", "", text)


def _telling(core: str) -> bool:
    """Whether a core says more than a loop header or a call of an interface, f(a, b)."""
    plain_call = re.fullmatch(r"\w+\((\w+,)*\w*\)", core)
    return len(core) >= 16 and not core.endswith(":") and not plain_call


@pytest.mark.parametrize("path", SOLUTION, ids=lambda p: p.name)
def test_no_statement_holds_a_line_of_its_solution(path):
    """The markdown and the given lines of exercise cells never hold an answer's line."""
    nb = _read(path)
    secret = set()
    for lines in solution_regions(nb).values():
        secret |= {_core(x) for x in lines if len(" ".join(x.split())) >= 20}
    secret = {c for c in secret if _telling(c)}
    for cell in nb.cells:
        given, inside = [], False
        for line in cell.source.splitlines():
            if line.strip() in (BEGIN, END):
                inside = line.strip() == BEGIN
            elif not inside:
                given.append(line)
        shown = _core(" ".join(given)) if cell.cell_type == "markdown" else None
        for text in [shown] if shown is not None else [_core(x) for x in given]:
            leaked = sorted(c for c in secret if c in text)
            assert not leaked, f"{path.name}: a statement holds {leaked}:\n{cell.source[:300]}"
