"""The instructor guide's tables, measured from the notebooks: ``python -m authoring site``.

The website's instructor pages (``site/instructor*.md``) include what this module writes:

* per notebook, its learning goals (from the notebook), what a student should know before
  (:data:`BACKGROUND`, written for this guide) and the earlier notebooks it builds on: those
  its prose names and those whose answers it runs (``checks.use("name")``);
* student time per notebook, as a range, and how it was obtained. Only the inputs are
  measured: the words of markdown, the lines of the exercises' solutions, the explorers,
  and the run time of the solution notebook (``site/notebook_times.json``, CI's pinned run).
  The rates that turn them into minutes (:data:`WORDS_PER_MINUTE`,
  :data:`MINUTES_PER_LINE`, :data:`MINUTES_PER_EXPLORER`) are assumptions, so the range is
  an estimate, never a measurement of students;
* a sample schedule (:data:`SCHEDULE`), eight weeks or six, whose weekly time is the sum of
  its notebooks' estimates.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import nbformat

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
WORDS_PER_MINUTE = (250, 150)  # reading speed, fast and slow: prose read with care
MINUTES_PER_LINE = (2, 5)  # writing, checking and fixing one line of a solution
MINUTES_PER_EXPLORER = (2, 5)  # moving an explorer's sliders and reading what it shows

# What a student should bring to each notebook, beyond the notebooks before it.
BACKGROUND = {
    "00": "Python (functions, loops); PyTorch tensors: shapes, `@`, broadcasting; running "
    "a Jupyter notebook.",
    "01": "Matrix-vector products. A linear system $\\dot x = Ax + Bu$, as met in a signals "
    "or dynamics course, helps but is explained.",
    "02": "Softmax and cross-entropy for classification; a feedforward layer.",
    "03": "The chain rule; backpropagation through a feedforward network and what autograd "
    "computes; gradient descent.",
    "04": "A 1-D convolution (for the comparison); mean squared error.",
    "05": "Eigenvalues and the spectral radius of a matrix; the derivatives of tanh and ReLU; "
    "Jacobians.",
    "06": "The sigmoid; exponential decay and its time constant.",
    "07": "Sampling from a categorical distribution; softmax temperature; cross-entropy.",
    "08": "Associativity; complex numbers as rotations and decays (for the LRU layer).",
    "09": "Probabilities of a sequence as a product of conditionals; log-likelihood in nats; "
    "training, validation and test splits.",
}

# A sample term: (notebooks, what to lecture that week, the week in a six-week term).
SCHEDULE = [
    (("00", "01"), "state and state-space form; the two drawings; shared weights", 1),
    (("02",), "outputs per step or at the end; encoder-decoder; stacking, both directions", 2),
    (("03",), "BPTT: gradients summed over steps, deltas added at branches; truncation", 3),
    (("04",), "the chain of sequential steps; output feedback and teacher forcing", 4),
    (("05",), "repeated gains and nonlinearities; products of Jacobians; clipping", 4),
    (("06",), "long context; time constants; gated leaky unit, LSTM, GRU", 5),
    (("07",), "autoregressive generation; distribution shift; scheduled sampling", 5),
    (("08", "09"), "linear recurrences and scans (optional); language models, the capstone", 6),
]

__all__ = ["measure", "estimate", "builds_on", "fragments"]


def measure(path: str | Path) -> dict:
    """What can be counted in one solution notebook.

    Returns ``{"words": words of markdown (whitespace-separated, the badges aside),
    "exercises": answer cells, "lines": non-blank, non-comment lines between the solution
    markers, "explorers": explorer outputs}``.
    """
    nb = nbformat.read(Path(path), as_version=4)
    words = sum(
        len(c.source.split())
        for c in nb.cells
        if c.cell_type == "markdown" and "badges" not in c.metadata.get("tags", [])
    )
    exercises = lines = explorers = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        explorers += sum(WIDGET_VIEW in o.get("data", {}) for o in cell.outputs)
        exercises += BEGIN in cell.source
        inside = False
        for line in cell.source.split("\n"):
            text = line.strip()
            if text in (BEGIN, END):
                inside = text == BEGIN
            elif inside and text and not text.startswith("#"):
                lines += 1
    return {"words": words, "exercises": exercises, "lines": lines, "explorers": explorers}


def estimate(counted: dict, run_seconds: float | None) -> tuple[int, int]:
    """(low, high) minutes of student time for a notebook: reading, exercises, explorers and
    running it, at the assumed rates; rounded out to 5 minutes."""
    run = (run_seconds or 0.0) / 60
    bounds = []
    for k in (0, 1):
        minutes = (
            counted["words"] / WORDS_PER_MINUTE[k]
            + counted["lines"] * MINUTES_PER_LINE[k]
            + counted["explorers"] * MINUTES_PER_EXPLORER[k]
            + run
        )
        bounds.append(minutes)
    return 5 * math.floor(bounds[0] / 5), 5 * math.ceil(bounds[1] / 5)


def builds_on(paths: list[Path]) -> dict[str, dict[str, list[str]]]:
    """``{NN: {"named": earlier notebooks its prose names, "runs": {notebook: [answers]}}}``.

    An answer is run by ``checks.use("name")`` (one argument: an earlier notebook's); which
    notebook it belongs to is read from the check cells (nbgrader ``grade``).
    """
    books = {Path(p).name[:2]: nbformat.read(p, as_version=4) for p in paths}
    home = {}
    for number, nb in books.items():
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade"):
                home.update({name: number for name in re.findall(r"checks\.(\w+)\(", cell.source)})
    found = {}
    for number, nb in books.items():
        prose = " ".join(c.source for c in nb.cells if c.cell_type == "markdown")
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        named = sorted({n for n in re.findall(r"notebooks? (\d\d)", prose) if n < number})
        runs: dict[str, list[str]] = {}
        for name in dict.fromkeys(re.findall(r"checks\.use\(\s*[\"'](\w+)[\"']\s*\)", code)):
            if home.get(name, number) < number:
                runs.setdefault(home[name], []).append(name)
        found[number] = {"named": named, "runs": dict(sorted(runs.items()))}
    return found


def _range(low: int, high: int) -> str:
    def show(minutes: int) -> str:
        return f"{minutes} min" if minutes < 120 else f"{minutes / 60:.1f} h"

    return f"{show(low)} to {show(high)}"


def fragments(root: Path, summaries: list[dict], times: dict[str, float]) -> dict[str, str]:
    """The instructor guide's generated markdown, by file name (``site/_generated/``).

    ``summaries`` are :func:`authoring.site.notebook_summary` results, in order; ``times``
    maps a notebook file name to its measured run time in seconds.
    """
    solutions = Path(root) / "notebooks" / "solutions"
    paths = [solutions / s["name"] for s in summaries]
    counted = {s["number"]: measure(p) for s, p in zip(summaries, paths, strict=True)}
    spans = {s["number"]: estimate(counted[s["number"]], times.get(s["name"])) for s in summaries}
    earlier = builds_on(paths)
    link = {s["number"]: f"[{s['title']}](notebooks/{s['name']})" for s in summaries}

    plan = []
    for s in summaries:
        n = s["number"]
        before = [f"notebook {m}" for m in earlier[n]["named"]]
        runs = [
            f"your {', '.join(f'`{a}`' for a in names)} from {m}"
            for m, names in earlier[n]["runs"].items()
        ]
        plan.append(
            f"### {link[n]}\n\n*Estimated student time: {_range(*spans[n])}.*\n\n"
            f"**Learning goals**\n\n{s['goals'] or '(see the notebook)'}\n\n"
            f"**Before it**: {BACKGROUND.get(n, '')}"
            + (f" Builds on {', '.join(before)}." if before else "")
            + (f" It runs {'; '.join(runs)}." if runs else "")
            + "\n"
        )

    table = (
        "| notebook | words | reading | exercises | solution lines | explorers | run (s) "
        "| estimate |\n|---|---:|---:|---:|---:|---:|---:|---|\n"
    )
    for s in summaries:
        c, n = counted[s["number"]], s["number"]
        read = [round(c["words"] / rate) for rate in WORDS_PER_MINUTE]
        run = times.get(s["name"])
        table += (
            f"| {link[n]} | {c['words']:,} | {read[0]}-{read[1]} min | {c['exercises']} "
            f"| {c['lines']} | {c['explorers']} | {'-' if run is None else f'{run:.0f}'} "
            f"| {_range(*spans[n])} |\n"
        )
    low, high = (sum(span[k] for span in spans.values()) for k in (0, 1))
    table += f"| all | | | | | | | {_range(low, high)} |\n"

    schedule = "| week | notebooks | lecture beside them | student time (estimate) | 6 weeks |\n"
    schedule += "|---:|---|---|---|---:|\n"
    for week, (numbers, topic, short) in enumerate(SCHEDULE, 1):
        numbers = [n for n in numbers if n in spans]
        span = (sum(spans[n][0] for n in numbers), sum(spans[n][1] for n in numbers))
        names = ", ".join(link[n] for n in numbers)
        schedule += f"| {week} | {names} | {topic} | {_range(*span)} | {short} |\n"

    method = (
        "**How the ranges were made.** Counted in each solution notebook: its words of "
        "markdown, the lines of its exercises' solutions (not blank, not comments) and its "
        "explorers; measured: its run time with the answers filled in (CI's pinned run, one "
        "math thread on a 2-core CPU, `site/notebook_times.json`). Assumed, not measured: "
        f"reading at {WORDS_PER_MINUTE[1]} to {WORDS_PER_MINUTE[0]} words a minute, "
        f"{MINUTES_PER_LINE[0]} to {MINUTES_PER_LINE[1]} minutes per line of a solution "
        "(writing it, running its check, fixing it), "
        f"{MINUTES_PER_EXPLORER[0]} to {MINUTES_PER_EXPLORER[1]} minutes per explorer. Each "
        "range adds these up, rounded outward to 5 minutes: it is an **estimate**, and no "
        "student was timed for it. Reading code cells, answering the prompts to predict and "
        "reading hints count only as far as the assumed rates cover them.\n"
    )
    return {
        "plan_notebooks.md": "\n".join(plan),
        "student_time.md": table,
        "time_method.md": method,
        "schedule.md": schedule,
    }
