"""The course as a static website (a tool for course authors): ``rnncourse site``.

Sphinx with MyST-NB renders the solution notebooks with their stored outputs (nothing is
executed) beside a landing page and an instructor page, from ``site/`` in a clone of the
course repository. :func:`build` first lays out a source folder, ``site/_build/src``:

* the pages and ``conf.py`` from ``site/``;
* every ``notebooks/solutions/NN_*.ipynb``, with each explorer's widget output replaced by
  the picture the explorer stored beside it (its own rendering, ``image/png``) and a note
  that the sliders move in Jupyter only;
* generated tables (``_generated/*.md``): the course map (title, claims, exercises, points),
  each notebook's learning goals, time per notebook, and exercises and points per notebook,
  all read from the notebooks themselves (nbgrader metadata) and ``README.md``;
* MathJax 3 from the ``sphinx-mathjax-offline`` package, so that math renders offline.

Then it runs Sphinx with warnings as errors and nitpicky references, into
``site/_build/html``, and :func:`broken_links` checks that every local ``<a href>`` and
``<img src>`` in the built HTML points at a file that exists.
"""

from __future__ import annotations

import html.parser
import importlib.metadata
import json
import re
import shutil
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat

from .release import NOTEBOOK_NAME, solutions_folder

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
LIVE_NOTE = "*Interactive in Jupyter: run this notebook to move the sliders.*"
NO_PICTURE = "*An interactive explorer: run this notebook in Jupyter to see it.*"
MATHJAX_PACKAGE = "sphinx-mathjax-offline"
# the parts of MathJax that tex-chtml.js loads: its extensions, fonts and menu
MATHJAX_PARTS = ("tex-chtml.js", "input", "output", "ui", "a11y", "sre", "adaptors")

__all__ = ["build", "prepare", "broken_links", "notebook_summary", "static_explorers"]


def static_explorers(nb) -> int:
    """Replace each widget output of ``nb`` with its stored picture and a note; in place.

    An explorer's output holds a widget view and, beside it, the explorer's own rendering
    (``image/png``). The widget view goes (a static page has no kernel to talk to), the
    picture stays, and a markdown cell after the explorer says to run the notebook to move
    the sliders; an output without a picture becomes that note. Returns how many there were.
    """
    found = 0
    k = 0
    while k < len(nb.cells):
        cell = nb.cells[k]
        k += 1
        if cell.cell_type != "code":
            continue
        widgets = [o for o in cell.outputs if WIDGET_VIEW in o.get("data", {})]
        for output in widgets:
            del output.data[WIDGET_VIEW]
            if "image/png" not in output.data:
                output.data = {"text/markdown": NO_PICTURE}
        if widgets:
            found += len(widgets)
            note = nbformat.v4.new_markdown_cell(LIVE_NOTE)
            note.pop("id", None)  # cell ids exist from nbformat 4.5 on
            if nb.get("nbformat_minor", 0) >= 5:
                note.id = f"live-note-{k}"
            nb.cells.insert(k, note)
            k += 1
    return found


def _goals(source: str) -> str:
    """The bullet list after a ``**Learning goals**`` line, as markdown ('' if none)."""
    lines = source.split("\n")
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "**Learning goals**")
    except StopIteration:
        return ""
    goals = []
    for line in lines[start + 1 :]:
        if line.startswith("- ") or (goals and line.startswith(" ")):
            goals.append(line)
        elif line.strip() or goals:
            break
    return "\n".join(goals)


def notebook_summary(path: str | Path) -> dict:
    """Title, learning goals and graded exercises of one notebook.

    Returns ``{"name", "number", "title", "goals" (markdown), "exercises": [(grade_id,
    points), ...], "points"}``; the exercises are the cells with nbgrader ``grade: true``.
    """
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    title, goals = path.stem, ""
    for cell in nb.cells:
        heading = re.match(r"#\s+(.+)", cell.source) if cell.cell_type == "markdown" else None
        if heading:
            title, goals = heading.group(1).strip(), _goals(cell.source)
            break
    graded = [
        (c.metadata.nbgrader["grade_id"], float(c.metadata.nbgrader.get("points", 0)))
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    ]
    return {
        "name": path.name,
        "number": path.name[:2],
        "title": title,
        "goals": goals,
        "exercises": graded,
        "points": sum(p for _, p in graded),
    }


def _claims(readme: Path) -> tuple[list[str], dict[str, str]]:
    """The course's numbered claims and ``{notebook number: its claims}`` from README.md."""
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    items = re.findall(r"^\d+\. (.+(?:\n {3}.+)*)", text.split("## Notebooks")[0], re.MULTILINE)
    claims = [" ".join(item.split()) for item in items]
    per_notebook = dict(re.findall(r"^\| (\d\d) \| [^|]+\| ([^|]+?) \|$", text, re.MULTILINE))
    return claims, per_notebook


def _times(root: Path) -> dict[str, tuple[float, str]]:
    """``{notebook file name: (seconds, where the number comes from)}``.

    The test suite's latest measurement (``test-artifacts/notebook_times*.json``, the
    solution notebook's, the largest over environments) where there is one, else the table
    in ``site/notebook_times.json``.
    """
    times: dict[str, tuple[float, str]] = {}
    for file in sorted((root / "test-artifacts").glob("notebook_times*.json")):
        for key, seconds in json.loads(file.read_text()).items():
            name = Path(key).name
            if "/solutions/" in key and float(seconds) > times.get(name, (0.0, ""))[0]:
                times[name] = (float(seconds), "test suite")
    table = root / "site" / "notebook_times.json"
    fallback = json.loads(table.read_text()) if table.is_file() else {}
    for name, seconds in fallback.items():
        if name.endswith(".ipynb") and name not in times:
            times[name] = (float(seconds), "README table")
    return times


def _link(summary: dict) -> str:
    return f"[{summary['title']}](notebooks/{summary['name']})"


def _generated(root: Path, summaries: list[dict]) -> dict[str, str]:
    """The markdown fragments that the pages include, by file name."""
    claims, per_notebook = _claims(root / "README.md")
    course = "| # | notebook | claim | exercises | points |\n|---|---|---|---:|---:|\n"
    exercises = "| notebook | exercise (check cell's grade_id) | points |\n|---|---|---:|\n"
    goals = []
    for s in summaries:
        course += (
            f"| {s['number']} | {_link(s)} | {per_notebook.get(s['number'], '').strip()} "
            f"| {len(s['exercises'])} | {s['points']:g} |\n"
        )
        goals.append(f"**{_link(s)}**\n\n{s['goals'] or '(see the notebook)'}\n")
        for grade_id, points in s["exercises"]:
            exercises += f"| {s['number']} | `{grade_id}` | {points:g} |\n"
    total = sum(s["points"] for s in summaries)
    exercises += f"| all | {sum(len(s['exercises']) for s in summaries)} exercises | {total:g} |\n"
    times = _times(root)
    timing = "| notebook | seconds | measured by |\n|---|---:|---|\n"
    for s in summaries:
        seconds, source = times.get(s["name"], (None, "not measured yet"))
        timing += f"| {_link(s)} | {'' if seconds is None else f'{seconds:.0f}'} | {source} |\n"
    timing += (
        "\nOn a 2-core CPU. *Test suite*: the last run of the notebook tests "
        "(`test-artifacts/notebook_times*.json`, one math thread); *README table*: "
        "`python benchmarks/notebook_times.py` on a quiet machine.\n"
    )
    claim_list = "".join(f"{i}. {c}\n" for i, c in enumerate(claims, 1))
    return {
        "claims.md": claim_list,
        "course_map.md": course,
        "goals.md": "\n".join(goals),
        "exercises.md": exercises,
        "times.md": timing,
    }


def _mathjax(dest: Path) -> None:
    """Copy MathJax 3 (tex-chtml and what it loads) from sphinx-mathjax-offline to ``dest``."""
    try:
        files = importlib.metadata.files(MATHJAX_PACKAGE) or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    entry = next((f for f in files if f.name == "tex-chtml.js"), None)
    if entry is None:
        raise RuntimeError(
            f"MathJax not found: the site serves it from the {MATHJAX_PACKAGE} package. "
            'Install the site\'s packages with: pip install -e ".[site]"'
        )
    source = Path(entry.locate()).parent
    for part in MATHJAX_PARTS:
        if (source / part).is_dir():
            shutil.copytree(source / part, dest / part, dirs_exist_ok=True)
        elif (source / part).is_file():
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / part, dest / part)


def prepare(root: str | Path, src: str | Path) -> list[dict]:
    """Lay out the Sphinx source folder ``src`` from the clone at ``root``; return summaries.

    ``src`` is emptied first. Returns :func:`notebook_summary` of each notebook, in order.
    """
    root, src = Path(root), Path(src)
    solutions = solutions_folder(root)
    pages = root / "site"
    if not (pages / "conf.py").is_file():
        raise ValueError(f"no site/conf.py under {root.resolve()}: expected a course clone.")
    if src.exists():
        shutil.rmtree(src)
    shutil.copytree(pages, src, ignore=shutil.ignore_patterns("_build", "*.json", "__pycache__"))
    (src / "notebooks").mkdir()
    summaries = []
    for path in sorted(solutions.glob("[0-9][0-9]_*.ipynb")):
        if not NOTEBOOK_NAME.match(path.name):
            continue
        nb = nbformat.read(path, as_version=4)
        static_explorers(nb)
        nbformat.write(nb, src / "notebooks" / path.name)
        summaries.append(notebook_summary(path))
    if not summaries:
        raise ValueError(f"no NN_topic.ipynb notebooks in {solutions}.")
    (src / "_generated").mkdir()
    for name, text in _generated(root, summaries).items():
        (src / "_generated" / name).write_text(text, encoding="utf-8")
    _mathjax(src / "_static" / "mathjax")
    return summaries


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for t, a in (("a", "href"), ("img", "src"), ("script", "src"), ("link", "href")):
            if tag == t and attrs.get(a):
                self.found.append((t, attrs[a]))


def broken_links(html_dir: str | Path) -> list[str]:
    """Local links in the HTML under ``html_dir`` whose target file does not exist.

    Every ``<a href>``, ``<img src>``, ``<script src>`` and ``<link href>`` that is not an
    external URL (scheme or ``//``), a ``data:`` URI or a same-page ``#anchor`` must name a
    file (or a folder with ``index.html``). Pages under ``_static/`` (the theme's template
    fragments) are skipped. Returns ``"page: <tag> target"`` lines.
    """
    html_dir = Path(html_dir)
    if not html_dir.is_dir():
        raise ValueError(f"html_dir must be a folder of built HTML, got {html_dir}.")
    broken = []
    for page in sorted(html_dir.rglob("*.html")):
        if page.relative_to(html_dir).parts[0] == "_static":
            continue  # the theme's template fragments, not pages
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8", errors="replace"))
        for tag, target in parser.found:
            parts = urlsplit(target)
            if parts.scheme or parts.netloc or not parts.path:
                continue
            path = (page.parent / unquote(parts.path)).resolve()
            if not (path.is_file() or (path / "index.html").is_file()):
                broken.append(f"{page.relative_to(html_dir)}: <{tag}> {target}")
    return broken


def build(root: str | Path = ".", out: str | Path | None = None) -> Path:
    """Build the website from the clone at ``root`` into ``out`` (``site/_build/html``).

    Sphinx runs with warnings as errors (``-W --keep-going``) and nitpicky references
    (``-n``); then :func:`broken_links` must find nothing. Raises ``RuntimeError`` naming
    what failed. Returns the HTML folder.
    """
    try:
        from sphinx.cmd.build import build_main
    except ImportError as err:
        raise ImportError('the site needs Sphinx and MyST-NB: pip install -e ".[site]"') from err
    root = Path(root)
    out = Path(out) if out is not None else root / "site" / "_build" / "html"
    src = out.parent / "src"
    start = time.perf_counter()
    summaries = prepare(root, src)
    status = build_main(["-b", "html", "-W", "--keep-going", "-n", "-q", str(src), str(out)])
    if status != 0:
        raise RuntimeError(f"Sphinx failed (status {status}); its warnings are above.")
    broken = broken_links(out)
    if broken:
        raise RuntimeError("broken links in the built site:\n  " + "\n  ".join(broken))
    print(
        f"built {len(summaries)} notebooks and the course pages into {out} "
        f"in {time.perf_counter() - start:.1f} s; open {out / 'index.html'}"
    )
    return out
