"""Make the student notebooks from the solution notebooks: ``python -m authoring release``.

It works on a clone of the course repository, whose root (the folder holding
``pyproject.toml`` and ``notebooks/solutions/``) every function here takes as an
argument; the command passes the current folder, or ``--root``.

``notebooks/solutions/NN_topic.ipynb`` is the source of truth. Its answers are marked
the nbgrader way::

    def rnn_step(h, x, W, U, b):
        ### BEGIN SOLUTION
        return torch.tanh(h @ W.T + x @ U.T + b)
        ### END SOLUTION

:func:`release` writes ``notebooks/NN_topic.ipynb`` in which each marked region becomes
``# YOUR CODE HERE`` + ``raise NotImplementedError()`` at the same indentation, and each
markdown answer (a markdown cell with nbgrader ``solution`` metadata, or a marked region
in markdown) becomes ``YOUR ANSWER HERE``. Outputs, execution counts, widget state and
personal metadata are removed; tags and nbgrader metadata are kept.

Both the solution and the student notebooks start with two generated cells: the Colab
and Binder badges (tagged ``badges``) and the Colab setup cell (tagged ``colab-setup``).
Both are built from ONE setting, ``[project.urls] Repository`` in ``pyproject.toml``,
so a fork changes one line and runs ``python -m authoring release``. Each notebook's badges open
that notebook itself (the student copy or the solution). In the solution notebooks only
these two cells are ever rewritten.

The setup cell installs this package on Colab only, with ``pip install --no-deps``:
Colab already ships every dependency (torch, numpy, matplotlib, ipywidgets, tqdm,
nbformat), and ``--no-deps`` guarantees that its torch and numpy are never upgraded.
The committed notebooks follow ``main``; with a ``ref`` (a tag, branch or commit) the
badges open the notebook at that ref and the setup cell installs the package from it, as
an nbgrader course pins them for a term (:mod:`authoring.assignments`).
"""

from __future__ import annotations

import copy
import json
import os
import re
import time
from pathlib import Path
from urllib.parse import quote

import nbformat

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
PROGRESS_ENV = "RNNCOURSE_PROGRESS"  # rnncourse.checks._progress.ENV_VAR (which imports torch)
MARKERS = (BEGIN, END, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
ANSWER_STUB = "YOUR ANSWER HERE"
BADGES_TAG, SETUP_TAG = "badges", "colab-setup"
KEEP_CELL_METADATA = ("tags", "nbgrader", "editable", "deletable")
KEEP_NOTEBOOK_METADATA = ("kernelspec", "language_info", "nbgrader")
NOTEBOOK_NAME = re.compile(r"^\d\d_[A-Za-z0-9_-]+\.ipynb$")

__all__ = [
    "repository_url",
    "badge_urls",
    "strip_solutions",
    "sync_header",
    "make_student",
    "solution_leaks",
    "solutions_folder",
    "release",
    "execute_solutions",
]


def repository_url(pyproject: str | Path) -> str:
    """Read ``[project.urls] Repository`` from the repository's ``pyproject.toml`` file."""
    path = _path(pyproject, "pyproject")
    text = path.read_text(encoding="utf-8")
    try:
        import tomllib

        url = tomllib.loads(text).get("project", {}).get("urls", {}).get("Repository")
    except ModuleNotFoundError:  # Python 3.10
        match = re.search(r'^\s*Repository\s*=\s*"([^"]+)"', text, re.MULTILINE)
        url = match.group(1) if match else None
    if not url:
        raise ValueError(
            f"{path} has no [project.urls] Repository entry; add a line such as "
            'Repository = "https://github.com/OWNER/REPO".'
        )
    return url


def _path(value, name: str) -> Path:
    if not isinstance(value, str | Path):
        raise TypeError(f"{name} must be a path (str or Path), got {type(value).__name__}.")
    return Path(value)


def _owner_repo(repo_url: str) -> str:
    match = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?", repo_url)
    if not match:
        raise ValueError(
            f"the repository URL must look like https://github.com/OWNER/REPO, got "
            f"{repo_url!r}. Fix [project.urls] Repository in pyproject.toml."
        )
    return f"{match.group(1)}/{match.group(2)}"


def badge_urls(repo_url: str, path: str, ref: str = "main") -> tuple[str, str]:
    """Return the (Colab, Binder) URLs that open ``path`` (e.g. ``notebooks/01_x.ipynb``)
    as it is at ``ref`` (a branch, tag or commit of the repository)."""
    slug = _owner_repo(repo_url)
    colab = f"https://colab.research.google.com/github/{slug}/blob/{ref}/{path}"
    binder = f"https://mybinder.org/v2/gh/{slug}/{ref}?labpath={quote(path, safe='')}"
    return colab, binder


def _badges_source(repo_url: str, path: str, ref: str = "main") -> str:
    colab, binder = badge_urls(repo_url, path, ref)
    return (
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab})\n"
        f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder})"
    )


def _setup_source(repo_url: str, ref: str | None = None) -> str:
    package = f"rnncourse @ git+{repo_url.rstrip('/')}" + (f"@{ref}" if ref else "")
    return (
        "# On Google Colab only: install this course's package. --no-deps keeps Colab's own\n"
        "# torch and numpy (Colab already has every dependency). Elsewhere, nothing happens.\n"
        "import os\n"
        "import random\n"
        "import sys\n"
        "\n"
        "import numpy as np\n"
        "import torch\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install -q --no-deps "{package}"\n'
        "\n"
        "# One math thread: the models are small, and one thread stays fast while other programs\n"
        "# use the CPU. More threads: set RNNCOURSE_THREADS before starting Jupyter.\n"
        'torch.set_num_threads(int(os.environ.get("RNNCOURSE_THREADS", "1")))\n'
        "random.seed(0)\n"
        "np.random.seed(0)  # noqa: NPY002 (the legacy global generator)\n"
        "_ = torch.manual_seed(0)"
    )


def _tagged(nb, tag: str) -> int | None:
    for i, cell in enumerate(nb.cells):
        if tag in cell.get("metadata", {}).get("tags", []):
            return i
    return None


def sync_header(nb, repo_url: str, path: str, *, ref: str | None = None):
    """Put the badges cell first and the Colab setup cell before the first code cell.

    Cells already tagged ``badges`` / ``colab-setup`` get the new source; nothing else
    in ``nb`` changes. With ``ref``, the badges open ``path`` at that ref and the setup
    cell installs the package from it; without, they follow ``main``. Returns ``nb``
    (modified in place).
    """
    badges = _tagged(nb, BADGES_TAG)
    if badges is None:
        cell = _new_cell(nb, "markdown", BADGES_TAG)
        nb.cells.insert(0, cell)
        badges = 0
    nb.cells[badges].source = _badges_source(repo_url, path, ref or "main")
    setup = _tagged(nb, SETUP_TAG)
    if setup is None:
        first_code = next(
            (i for i, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells)
        )
        cell = _new_cell(nb, "code", SETUP_TAG)
        nb.cells.insert(max(first_code, badges + 1), cell)
        setup = max(first_code, badges + 1)
    nb.cells[setup].source = _setup_source(repo_url, ref)
    return nb


def strip_solutions(source: str, *, markdown: bool = False) -> str:
    """Replace each ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region of ``source``.

    Code regions become ``# YOUR CODE HERE`` and ``raise NotImplementedError()`` at the
    marker's indentation; markdown regions become ``YOUR ANSWER HERE``. Hidden-test
    regions are removed. Raises ``ValueError`` for a region that is never closed.
    """
    if not isinstance(source, str):
        raise TypeError(f"source must be a cell's source string, got {type(source).__name__}.")
    out, skipping = [], None
    for line in source.split("\n"):
        marker = line.strip()
        if skipping is not None:
            if marker == skipping:
                skipping = None
            continue
        if marker in (BEGIN, "### BEGIN HIDDEN TESTS"):
            indent = line[: len(line) - len(line.lstrip())]
            if marker == BEGIN:
                stub = (ANSWER_STUB,) if markdown else CODE_STUB
                out.extend(indent + s for s in stub)
            skipping = marker.replace("BEGIN", "END")
        elif marker in (END, "### END HIDDEN TESTS"):
            raise ValueError(f"{marker!r} without a matching BEGIN marker in:\n{source}")
        else:
            out.append(line)
    if skipping is not None:
        raise ValueError(f"a region is never closed: add {skipping!r}. Cell source:\n{source}")
    return "\n".join(out)


def make_student(solution, repo_url: str, path: str, *, ref: str | None = None):
    """Return the student version of the solution notebook ``solution`` (not modified).

    ``path`` is where the student notebook lives in the repository, for its badges;
    ``ref`` pins the badges and the install (see :func:`sync_header`).
    """
    if not isinstance(solution, nbformat.NotebookNode) or "cells" not in solution:
        raise TypeError(
            f"solution must be a notebook read with nbformat.read(path, as_version=4), got "
            f"{type(solution).__name__}."
        )
    nb = copy.deepcopy(solution)
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in KEEP_NOTEBOOK_METADATA}
    for cell in nb.cells:
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in KEEP_CELL_METADATA}
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source)
            cell.outputs, cell.execution_count = [], None
        elif cell.cell_type == "markdown":
            if cell.metadata.get("nbgrader", {}).get("solution"):
                cell.source = ANSWER_STUB
            else:
                cell.source = strip_solutions(cell.source, markdown=True)
    sync_header(nb, repo_url, path, ref=ref)
    left = [m for cell in nb.cells for m in MARKERS if m in cell.source]
    if left:
        raise ValueError(f"the student notebook {path} would still contain {left[0]!r}.")
    nbformat.validate(nb)
    return nb


def _solution_lines(nb) -> tuple[set[str], set[str]]:
    inside, outside = set(), set()
    for cell in nb.cells:
        region = False
        for line in cell.source.split("\n"):
            marker = line.strip()
            if marker in (BEGIN, END):
                region = marker == BEGIN
            elif marker:
                (inside if region else outside).add(marker)
    return inside, outside


def solution_leaks(solution, student) -> list[str]:
    """Lines of solution text found in ``student``: markers, or lines from a marked region.

    A solution line also written outside the marked regions (e.g. a common ``return h``)
    is not a leak.
    """
    inside, outside = _solution_lines(solution)
    secret = inside - outside
    leaks = []
    for cell in student.cells:
        for line in cell.source.split("\n"):
            if line.strip() in secret or any(m in line for m in MARKERS):
                leaks.append(line.strip())
    return leaks


def _text(nb) -> str:
    text = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"


def _new_cell(nb, kind: str, tag: str):
    """A new tagged cell with a fixed id (cell ids exist from nbformat 4.5 on)."""
    cell = getattr(nbformat.v4, f"new_{kind}_cell")(metadata={"tags": [tag]})
    if nb.get("nbformat_minor", 0) >= 5:
        cell.id = tag
    else:
        cell.pop("id", None)
    return cell


def solutions_folder(root: str | Path) -> Path:
    """Return ``root/notebooks/solutions``, checking that ``root`` is the course repository.

    Raises ``ValueError`` naming what was expected when the folder does not exist.
    """
    folder = _path(root, "root") / "notebooks" / "solutions"
    if not folder.is_dir():
        raise ValueError(
            f"no notebooks/solutions folder under {Path(root).resolve()}: expected the root "
            f"of a clone of the course repository (the folder holding pyproject.toml and "
            f"notebooks/solutions/NN_topic.ipynb)."
        )
    return folder


def release(root: str | Path, *, check: bool = False) -> list[Path]:
    """Build every ``notebooks/NN_*.ipynb`` from ``notebooks/solutions/NN_*.ipynb``.

    Args:
        root: the repository root (holds ``pyproject.toml`` and ``notebooks/``).
        check: write nothing; only report what differs.

    Returns:
        The notebooks that were out of date (with ``check=True``) or rewritten: student
        notebooks that differ from what would be generated, and solution notebooks whose
        badge or setup cell is out of sync.
    """
    solutions_dir = solutions_folder(root)
    root = Path(root)
    if not isinstance(check, bool):
        raise TypeError(f"check must be True or False, got {check!r}.")
    repo_url = repository_url(root / "pyproject.toml")
    changed = []
    for src in sorted(solutions_dir.glob("*.ipynb")):
        if not NOTEBOOK_NAME.match(src.name):
            continue
        dst = root / "notebooks" / src.name
        old_solution = src.read_text(encoding="utf-8")
        solution = nbformat.reads(old_solution, as_version=4)
        sync_header(solution, repo_url, f"notebooks/solutions/{src.name}")
        student = make_student(solution, repo_url, f"notebooks/{src.name}")
        leaks = solution_leaks(solution, student)
        if leaks:
            raise ValueError(f"{dst.name} would contain solution text: {leaks[0]!r}.")
        # the solution is rewritten only when its content changed, never for formatting
        if solution != nbformat.reads(old_solution, as_version=4):
            changed.append(src)
            if not check:
                src.write_text(_text(solution), encoding="utf-8")
        new = _text(student)
        if not dst.exists() or dst.read_text(encoding="utf-8") != new:
            changed.append(dst)
            if not check:
                dst.write_text(new, encoding="utf-8")
    return changed


def execute_solutions(
    root: str | Path, only: list[str] | None = None, *, timeout: int = 120
) -> dict[str, float]:
    """Run solution notebooks top to bottom and store their outputs (for course authors).

    The notebooks run in order, each in a fresh ``python3`` kernel in the solutions folder,
    sharing one progress file (``notebooks/solutions/.rnncourse-progress.json``) as a
    student's notebooks do: an answer that passed in notebook 06 runs again in 09, so the
    stored outputs show the student's path ("using yours"). With ``only``, the earlier
    notebooks whose answers the file lacks run first (their outputs are not stored).
    Widget state and per-cell execution timestamps are dropped, so the files stay small
    and stable. Call :func:`release` afterwards to refresh the student copies.

    Args:
        root: the repository root (holds ``pyproject.toml`` and ``notebooks/``).
        only: notebook number prefixes to run (e.g. ``["03", "07"]``); default all.
        timeout: seconds allowed per cell.

    Returns:
        ``{notebook file name: seconds it took}`` for the notebooks stored.
    """
    try:
        from nbclient import NotebookClient
    except ImportError as err:  # a test/authoring tool, not a dependency of the course
        raise ImportError("execute_solutions needs nbclient: pip install nbclient") from err
    solutions_dir = solutions_folder(root)
    repo_url = repository_url(Path(root) / "pyproject.toml")
    # absolute: the kernels run in solutions_dir, not in this process's folder
    progress = (solutions_dir / ".rnncourse-progress.json").resolve()
    paths = [p for p in sorted(solutions_dir.glob("*.ipynb")) if NOTEBOOK_NAME.match(p.name)]
    wanted = [p for p in paths if not only or p.name[:2] in only]
    if not only:
        progress.unlink(missing_ok=True)
    first = paths.index(wanted[0]) if wanted else len(paths)
    earlier = [p for p in paths[:first] if not _answers_saved(p, progress)]
    times = {}
    for path in ([*paths[:first]] if earlier else []) + wanted:
        nb = nbformat.read(path, as_version=4)
        sync_header(nb, repo_url, f"notebooks/solutions/{path.name}")
        start = time.perf_counter()
        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(solutions_dir)}},
        )
        client.execute(env={**os.environ, PROGRESS_ENV: str(progress)})
        if path not in wanted:
            continue
        times[path.name] = time.perf_counter() - start
        nb.metadata.pop("widgets", None)
        for cell in nb.cells:
            cell.metadata.pop("execution", None)
        path.write_text(_text(nb), encoding="utf-8")
    return times


def _answers_saved(path: Path, progress: Path) -> bool:
    """Whether the progress file holds every exercise that the notebook ``path`` checks."""
    try:
        saved = json.loads(progress.read_text(encoding="utf-8")).get("answers", {})
    except (OSError, ValueError, AttributeError):
        return False
    nb = nbformat.read(path, as_version=4)
    graded = [c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    checked = set(re.findall(r"checks\.(\w+)\(", "\n".join(graded)))
    return isinstance(saved, dict) and checked <= set(saved)
