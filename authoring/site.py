"""The course as a static website: ``python -m authoring site``.

Sphinx with MyST-NB renders the solution notebooks with their stored outputs beside a
landing page and an instructor page, from ``site/`` in a clone of the course repository.
:func:`build` first lays out a source folder, ``site/_build/src``:

* the pages, ``conf.py`` and ``_static/explorers.js`` from ``site/``;
* every ``notebooks/solutions/NN_*.ipynb``, each explorer's outputs replaced by a slider
  over its pictures, drawn by running the notebooks that show explorers once in a kernel
  (:mod:`authoring.frames`); a few lines of JavaScript swap the pictures as the slider
  moves, with no kernel. A note says to run the notebook to move every control;
* generated tables (``_generated/*.md``): the course map (title, claims, exercises, points),
  each notebook's learning goals, time per notebook, and exercises and points per notebook,
  all read from the notebooks themselves (nbgrader metadata), ``README.md`` and
  ``site/notebook_times.json``, and the instructor guide's plan, student time and schedule
  (:mod:`authoring.guide`);
* MathJax 3 from the ``sphinx-mathjax-offline`` package, so that math renders offline.

Then it runs Sphinx with warnings as errors and nitpicky references, into
``site/_build/html``, and :func:`broken_links` checks that every local ``<a href>`` and
``<img src>`` in the built HTML points at a file that exists.
"""

from __future__ import annotations

import html
import html.parser
import importlib.metadata
import inspect
import json
import re
import shutil
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat

from . import guide
from .frames import explorer_frames
from .release import NOTEBOOK_NAME, solutions_folder

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
LIVE_NOTE = "*Interactive in Jupyter: run this notebook to move the sliders.*"
NO_PICTURE = "*An interactive explorer: run this notebook in Jupyter to see it.*"
FRAMES_NOTE = (
    "*The slider above shows pictures drawn when this site was built; run this notebook to "
    "move every control.*"
)
FRAMES_DIR = "_static/explorers"  # in the Sphinx source: one folder of PNGs per explorer
MATHJAX_PACKAGE = "sphinx-mathjax-offline"
# the parts of MathJax that tex-chtml.js loads: its extensions, fonts and menu
MATHJAX_PARTS = ("tex-chtml.js", "input", "output", "ui", "a11y", "sre", "adaptors")

__all__ = ["build", "prepare", "broken_links", "notebook_summary", "static_explorers"]


def _frames_html(frames: dict, urls: list[str], picture: str) -> str:
    """A slider that swaps precomputed pictures (``_static/explorers.js`` moves it)."""
    shown, labels = frames["shown"], frames["labels"]
    name = html.escape(frames["description"])
    return (
        f"<div class=\"rnncourse-frames\" data-frames='{json.dumps(urls)}' "
        f"data-labels='{html.escape(json.dumps(labels))}'>\n"
        f'<label>{name} <input type="range" min="0" max="{len(urls) - 1}" step="1" '
        f'style="width: 300px; max-width: 60%; vertical-align: middle" '
        f'value="{shown}" aria-label="{name}"> <output>{html.escape(labels[shown])}</output>'
        f'</label>\n<img src="{urls[shown]}" alt="{html.escape(picture)}" '
        f'style="max-width: 100%">\n</div>'
    )


def static_explorers(nb, frames: list | None = None, url=None) -> int:
    """Replace each explorer's outputs in ``nb`` with what a page without a kernel can show.

    An explorer's display is its plain picture (``image/png``: an output of its own just
    before the widget view or, in notebooks run before the two were apart, beside it) and
    the widget view. Where ``frames`` holds the explorer's
    :func:`authoring.frames.explorer_frames` entry, both become a slider over those
    pictures (``url(path)`` gives a file's address from the page) and a note follows;
    otherwise the picture stays, with a note to run the notebook to move the sliders (no
    picture: that note alone). Returns how many explorers there were. Changes ``nb``.
    """
    frames = list(frames or [])
    found = 0
    k = 0
    while k < len(nb.cells):
        cell = nb.cells[k]
        k += 1
        if cell.cell_type != "code":
            continue
        kept, notes = [], []
        for output in cell.outputs:
            data = output.get("data", {})
            if WIDGET_VIEW not in data:
                kept.append(output)
                continue
            before = kept[-1].get("data", {}) if kept else {}
            still = "rnncourse-still" in before.get("text/html", "")
            picture = data if "image/png" in data else kept.pop()["data"] if still else None
            entry = frames[found] if found < len(frames) else None
            found += 1
            if entry is not None:
                urls = [url(f) for f in entry["files"]]
                data = {"text/html": _frames_html(entry, urls, f"{entry['description']}")}
            elif picture is not None:
                data = {"image/png": picture["image/png"], "text/plain": "<explorer>"}
            else:
                data = {"text/markdown": NO_PICTURE}
            kept.append(nbformat.v4.new_output("display_data", data))
            notes.append(FRAMES_NOTE if entry is not None else LIVE_NOTE)
        cell.outputs = kept
        for note in dict.fromkeys(notes):
            cell_note = nbformat.v4.new_markdown_cell(note)
            cell_note.pop("id", None)  # cell ids exist from nbformat 4.5 on
            if nb.get("nbformat_minor", 0) >= 5:
                cell_note.id = f"explorer-note-{k}"
            nb.cells.insert(k, cell_note)
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


def _times(root: Path) -> dict[str, float]:
    """``{notebook file name: seconds}`` from ``site/notebook_times.json``: CI's pinned run, as
    in benchmarks/README.md (``python benchmarks/notebook_times.py`` measures a machine's own)."""
    table = root / "site" / "notebook_times.json"
    times = json.loads(table.read_text()) if table.is_file() else {}
    return {name: float(s) for name, s in times.items() if name.endswith(".ipynb")}


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
    timing = "| notebook | seconds |\n|---|---:|\n"
    for s in summaries:
        seconds = times.get(s["name"])
        timing += (
            f"| {_link(s)} | {'not measured yet' if seconds is None else f'{seconds:.0f}'} |\n"
        )
    timing += (
        "\nThe solution copy under pytest, one math thread, on a 2-core CPU: CI's pinned run, "
        "as in benchmarks/README.md. `python benchmarks/notebook_times.py` measures yours.\n"
    )
    claim_list = "".join(f"{i}. {c}\n" for i, c in enumerate(claims, 1))
    return {
        "package.md": _package_text(),
        "claims.md": claim_list,
        "course_map.md": course,
        "goals.md": "\n".join(goals),
        "exercises.md": exercises,
        "times.md": timing,
        **guide.fragments(root, summaries, times),  # the instructor guide's tables
    }


def _package_text() -> str:
    """The package's docstring (its modules and the course's notation), the one source."""
    import rnncourse

    return f"```text\n{inspect.cleandoc(rnncourse.__doc__)}\n```\n"


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


def prepare(root: str | Path, src: str | Path, *, frames: bool = True) -> list[dict]:
    """Lay out the Sphinx source folder ``src`` from the clone at ``root``; return summaries.

    ``src`` is emptied first. With ``frames``, the notebooks that show explorers run in a
    kernel (in order, sharing one progress file) to draw each explorer's pictures over
    its main slider into ``src/_static/explorers/`` (:mod:`authoring.frames`); without,
    the explorers keep their stored picture. Returns :func:`notebook_summary` of each
    notebook, in order.
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
    progress = Path(tempfile.mkdtemp(prefix="rnncourse-site-")) / "progress.json"
    for path in sorted(solutions.glob("[0-9][0-9]_*.ipynb")):
        if not NOTEBOOK_NAME.match(path.name):
            continue
        nb = nbformat.read(path, as_version=4)
        drawn = []
        if frames:
            try:
                drawn = explorer_frames(path, src / FRAMES_DIR / path.stem, progress=progress)
            except Exception as err:  # a cell that failed: say which notebook
                raise RuntimeError(f"drawing the explorers of {path.name} failed: {err}") from err
        static_explorers(nb, drawn, lambda file: "../" + file.relative_to(src).as_posix())
        nbformat.write(nb, src / "notebooks" / path.name)
        summaries.append(notebook_summary(path))
    shutil.rmtree(progress.parent)
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


def build(root: str | Path = ".", out: str | Path | None = None, *, frames: bool = True) -> Path:
    """Build the website from the clone at ``root`` into ``out`` (``site/_build/html``).

    ``frames``: draw the explorers' pictures for their sliders (see :func:`prepare`).

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
    summaries = prepare(root, src, frames=frames)
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
