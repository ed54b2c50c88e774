"""Run All in a real JupyterLab, on a quiet machine and beside a second busy program.

A student's Run All goes through JupyterLab, its kernel and the browser, not through pytest.
This script starts JupyterLab on a loopback port (``authoring.jupyterlab``, as the browser test
does: no token, temporary Jupyter folders, nothing global read or written) and opens each
solution notebook in headless Chromium from the system package (Playwright with
``executable_path``) at laptop size, 1280 x 800. It waits for the kernel to be idle, chooses
Run > Run All Cells and times until the last cell has run (a cell appended to a temporary copy
prints a marker). Each notebook runs up to four ways (``--ways`` picks; quiet always runs):

    quiet     quiet, 1 thread: the course's default (the first cell sets one math thread)
    loaded    1 thread, while LOAD other processes spin on the CPU (default 1: a second program)
    threads   the same load, RNNCOURSE_THREADS=N (torch's own default, the core count)
    passive   the same, with OMP_WAIT_POLICY=PASSIVE: a waiting thread sleeps, not spins

and the script prints a markdown table (seconds; the ratio to quiet). The notebooks run in a
temporary folder with the solutions' shared progress file, so every later notebook runs the
earlier answers as a student's would. Install Chromium with ``bash .ci/setup_browser.sh``.

A run still going after ``--limit`` seconds is cut off and shown as such.

Usage: python benchmarks/bench_run_all.py [NN ...] [--load N] [--limit SECONDS] [--ways W ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from math import isinf
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere in the clone
from authoring.jupyterlab import lab_server  # noqa: E402

SOLUTIONS = ROOT / "notebooks" / "solutions"
MARKER = "run-all finished"
LAPTOP = {"width": 1280, "height": 800}
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


@contextmanager
def cpu_load(processes: int):
    """``processes`` Python processes that spin on the CPU until the block ends."""
    spinners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)
    ]
    try:
        time.sleep(1)
        yield
    finally:
        for p in spinners:
            p.kill()
            p.wait()


def run_all_seconds(page, url: str, name: str, limit_s: float) -> float:
    """Open notebook ``name``, run all cells once the kernel is idle; seconds until done.

    Returns ``inf`` when the run has not finished after ``limit_s`` seconds.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.goto(f"{url}/lab/tree/{name}?reset")  # a fresh workspace: only this notebook open
    page.locator(".jp-StatusBar-Item", has_text="| Idle").first.wait_for()
    page.locator(".jp-Notebook:visible .jp-Cell").first.click()
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    start = time.perf_counter()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
    error = page.locator(".jp-OutputArea-output", has_text="Traceback (most recent call last)")
    try:  # Run All stops at an error, so the marker would never come: wait for either
        page.locator(".jp-OutputArea-output", has_text=MARKER).or_(error).first.wait_for(
            timeout=1000 * limit_s
        )
        seconds = time.perf_counter() - start
    except PlaywrightTimeout:
        seconds = float("inf")
    if error.count():
        raise SystemExit(f"{name} raised an error under Run All; open it in JupyterLab to see")
    # close the notebook and shut its kernel down, so the next run starts alone
    page.goto("about:blank")
    for kernel in json.load(urllib.request.urlopen(f"{url}/api/kernels", timeout=5)):
        request = urllib.request.Request(f"{url}/api/kernels/{kernel['id']}", method="DELETE")
        urllib.request.urlopen(request, timeout=10).close()
    return seconds


def prepare(folder: Path, paths: list[Path]) -> None:
    """Copy the notebooks with a marker cell at the end, and the shared progress file."""
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(f"print({MARKER!r})"))
        nbformat.write(nb, folder / path.name)
    progress = SOLUTIONS / ".rnncourse-progress.json"
    if progress.exists():
        shutil.copy(progress, folder / progress.name)


# way: (torch's default thread count instead of one, beside the busy processes, waiting threads
# sleep instead of spinning)
WAYS = {
    "quiet": (False, False, False),
    "loaded": (False, True, False),
    "threads": (True, True, False),
    "passive": (True, True, True),
}
HEADS = {
    "quiet": "quiet, 1 thread",
    "loaded": "loaded, 1 thread",
    "threads": "loaded, {n} threads",
    "passive": "loaded, {n} threads, passive",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="notebook numbers to run, e.g. 06 09")
    parser.add_argument("--load", type=int, default=1, help="busy processes beside the kernel")
    parser.add_argument("--limit", type=float, default=600, help="seconds before a run is cut off")
    parser.add_argument(
        "--ways", nargs="+", choices=list(WAYS), default=list(WAYS), help="which ways to run"
    )
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("Chromium not found; install it with: bash .ci/setup_browser.sh")
    from playwright.sync_api import sync_playwright

    paths = sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))
    paths = [p for p in paths if not args.only or p.name[:2] in args.only]
    cores = os.cpu_count() or 1
    import torch

    default_threads = torch.get_num_threads()
    ways = [
        (way, default_threads if many else 1, args.load if loaded else 0, passive)
        for way, (many, loaded, passive) in WAYS.items()
        if way in {"quiet", *args.ways}
    ]
    seconds: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        root = Path(tmp) / "course"
        root.mkdir()
        prepare(root, paths)
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=LAPTOP)
        page.set_default_timeout(120_000)
        for way, threads, load, passive in ways:
            home = root.parent / f"jupyter-{way}"
            env = {"RNNCOURSE_THREADS": str(threads)}
            if passive:
                env["OMP_WAIT_POLICY"] = "PASSIVE"
            with lab_server(root, home, env) as url, cpu_load(load):
                for path in paths:
                    s = run_all_seconds(page, url, path.name, args.limit)
                    seconds.setdefault(way, {})[path.name] = s
                    took = f"cut off at {args.limit:.0f} s" if isinf(s) else f"{s:.1f} s"
                    print(f"  {path.name}: {way}, {threads} thread(s): {took}", flush=True)
        browser.close()
    print(
        f"\nRun All in JupyterLab, {cores} cores, torch {torch.__version__}; loaded = "
        f"{args.load} busy process(es) beside the kernel; N = {default_threads} "
        "(torch's default)\n"
    )
    heads = [HEADS[way].format(n=t) for way, t, _, _ in ways]
    print("| notebook | " + " | ".join(heads) + " |")
    print("|---|" + "---:|" * len(ways))

    def cell(s: float, quiet: float) -> str:
        if isinf(s):
            return f"> {args.limit:.0f} (cut off)"
        return f"{s:.1f} ({s / quiet:.1f}x)"

    for path in paths:
        quiet = seconds["quiet"][path.name]
        others = [seconds[way][path.name] for way, *_ in ways[1:]]
        cells = [f"{quiet:.1f}"] + [cell(s, quiet) for s in others]
        print(f"| {path.stem} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
