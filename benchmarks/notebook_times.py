"""Execute every solution notebook top to bottom with nbclient and print a table of times.

The budget is 30 s a notebook (target) and 60 s (hard limit; the test suite fails a
notebook over it). Notebooks run in a temporary copy, so the repository is not touched.
Usage: python benchmarks/notebook_times.py [NN ...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
TARGET_S, LIMIT_S = 30.0, 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("only", nargs="*", help="notebook numbers to run, e.g. 03 07")
    args = parser.parse_args()
    paths = sorted((ROOT / "notebooks" / "solutions").glob("[0-9][0-9]_*.ipynb"))
    paths = [p for p in paths if not args.only or p.name[:2] in args.only]
    threads = os.environ.get("OMP_NUM_THREADS", "default")
    print(f"OMP_NUM_THREADS={threads}, {os.cpu_count()} cpus\n")
    print("| notebook | seconds | budget |")
    print("|---|---|---|")
    total = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            copy = Path(tmp) / path.name
            shutil.copy2(path, copy)
            nb = nbformat.read(copy, as_version=4)
            start = time.perf_counter()
            NotebookClient(
                nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": tmp}}
            ).execute()
            seconds = time.perf_counter() - start
            total += seconds
            verdict = (
                "ok"
                if seconds <= TARGET_S
                else ("over target" if seconds <= LIMIT_S else "OVER LIMIT")
            )
            print(f"| {path.stem} | {seconds:.1f} | {verdict} |")
    print(f"| total | {total:.1f} | |")


if __name__ == "__main__":
    main()
