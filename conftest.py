"""Project-wide pytest configuration: notebook runs (nbval) with a time budget, offline.

Notebooks under ``notebooks/`` are collected by nbval (options in pyproject.toml). This
file adds two things nbval lacks:

* a time budget: each notebook's wall time (all its cells, kernel start included) is
  recorded, printed as a table, written to ``test-artifacts/notebook_times.json``, and the
  notebook's last cell fails when the total exceeds ``NOTEBOOK_LIMIT_S``;
* offline kernels: every kernel starts with an IPython start-up file that blocks
  network connections to anything but loopback, so a cell that reaches the network fails;
* one math thread per kernel (``OMP_NUM_THREADS=1`` unless already set): the notebooks'
  models are tiny, and on a 2-core machine a second OpenMP thread makes small matrix
  products slower and, when anything else runs, 10-100 times slower. The notebooks
  themselves leave the thread count alone, so students get their machine's default.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import defaultdict
from pathlib import Path

import pytest

NOTEBOOK_LIMIT_S = float(os.environ.get("RNNCOURSE_NOTEBOOK_LIMIT_S", "60"))
NOTEBOOK_TARGET_S = 30.0
ROOT = Path(__file__).parent

_times: dict[str, float] = defaultdict(float)
_last_item: dict[str, str] = {}


def _notebook_of(nodeid: str) -> str | None:
    path = nodeid.split("::", 1)[0]
    return path if path.endswith(".ipynb") else None


def pytest_configure(config):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    startup = Path(tempfile.mkdtemp(prefix="rnncourse-ipython-")) / "profile_default" / "startup"
    startup.mkdir(parents=True)
    guard = (ROOT / "tests" / "offline.py").read_text()
    (startup / "00-offline.py").write_text(guard + "\nblock()\n")
    os.environ["IPYTHONDIR"] = str(startup.parent.parent)


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        nb = _notebook_of(item.nodeid)
        if nb:
            _last_item[nb] = item.nodeid


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    nb = _notebook_of(item.nodeid)
    if nb is None:
        return
    _times[nb] += report.duration
    if report.when == "teardown" and _last_item.get(nb) == item.nodeid:
        total = _times[nb]
        if total > NOTEBOOK_LIMIT_S and report.passed:
            report.outcome = "failed"
            report.longrepr = (
                f"{nb} took {total:.1f} s to run top to bottom, over the {NOTEBOOK_LIMIT_S:.0f} s "
                f"limit (target {NOTEBOOK_TARGET_S:.0f} s). Make its experiments smaller."
            )


def pytest_terminal_summary(terminalreporter):
    if not _times:
        return
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    (out / "notebook_times.json").write_text(json.dumps(dict(_times), indent=2))
    terminalreporter.section("notebook wall times")
    for nb, seconds in sorted(_times.items()):
        flag = "  OVER LIMIT" if seconds > NOTEBOOK_LIMIT_S else ""
        flag = flag or ("  over target" if seconds > NOTEBOOK_TARGET_S else "")
        terminalreporter.write_line(f"{seconds:7.1f} s  {nb}{flag}")


# Notebooks used as test fixtures are opened by their own tests, not run by nbval.
collect_ignore_glob = ["tests/**/*.ipynb"]
