"""Project-wide pytest configuration: notebook runs (nbval) with a time budget, offline.

Notebooks under ``notebooks/`` are collected by nbval (options in pyproject.toml). This
file adds two things nbval lacks:

* a time budget: each notebook's wall time (all its cells, kernel start included) is
  recorded, printed as a table, written to ``test-artifacts/notebook_times.json`` (or
  ``notebook_times-NAME.json`` when ``RNNCOURSE_ENV_NAME`` names the environment), and the
  notebook's last cell fails when the total exceeds ``NOTEBOOK_LIMIT_S``;
* offline kernels: every kernel starts with an IPython start-up file that blocks
  network connections to anything but loopback, so a cell that reaches the network fails;
* compared outputs that survive a version change: a cell tagged ``nbval-check-output``
  must print the same text as its stored output, but a number written with a decimal
  point may differ by up to ``DECIMAL_RTOL`` (10 %) of the larger of the two, since
  training results move in their last digits between releases of torch and NumPy.
  Everything else (words, order, integers, shapes) must match exactly;
* one progress file per notebook folder for the whole test session
  (``RNNCOURSE_PROGRESS``): the notebooks of a folder run in order and share it, as a
  student's do, so 09 runs the ``gru_step`` that passed in 06 (``checks.use``). The line
  saying whose answer runs is left out of the comparison (``tests/nbval_sanitize.cfg``),
  since a notebook run alone falls back to the reference;
* one math thread per kernel (``OMP_NUM_THREADS=1`` unless already set): the notebooks'
  models are tiny, and on a 2-core machine a second OpenMP thread makes small matrix
  products slower and, when anything else runs, 10-100 times slower. The notebooks
  themselves leave the thread count alone, so students get their machine's default.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections import defaultdict
from pathlib import Path

import pytest
from nbval.plugin import IPyNbCell

NOTEBOOK_LIMIT_S = float(os.environ.get("RNNCOURSE_NOTEBOOK_LIMIT_S", "60"))
NOTEBOOK_TARGET_S = 30.0
DECIMAL_RTOL = 0.10
ROOT = Path(__file__).parent

_times: dict[str, float] = defaultdict(float)
_last_item: dict[str, str] = {}


# The kernels of one folder share a progress file for the session (a new one each session),
# so later notebooks run the answers that passed in earlier ones, as in a student's folder.
SHARED_PROGRESS = """import os as _os, hashlib as _hashlib
_os.environ["RNNCOURSE_PROGRESS"] = _os.path.join(
    {folder!r}, _hashlib.sha1(_os.getcwd().encode()).hexdigest()[:12] + ".json"
)
del _os, _hashlib
"""


def _notebook_of(nodeid: str) -> str | None:
    path = nodeid.split("::", 1)[0]
    return path if path.endswith(".ipynb") else None


def pytest_configure(config):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    startup = Path(tempfile.mkdtemp(prefix="rnncourse-ipython-")) / "profile_default" / "startup"
    startup.mkdir(parents=True)
    guard = (ROOT / "tests" / "offline.py").read_text()
    (startup / "00-offline.py").write_text(guard + "\nblock()\n")
    progress = tempfile.mkdtemp(prefix="rnncourse-progress-")
    (startup / "01-progress.py").write_text(SHARED_PROGRESS.format(folder=progress))
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
    env = os.environ.get("RNNCOURSE_ENV_NAME")
    name = f"notebook_times-{env}.json" if env else "notebook_times.json"
    (out / name).write_text(json.dumps(dict(_times), indent=2))
    terminalreporter.section("notebook wall times")
    for nb, seconds in sorted(_times.items()):
        flag = "  OVER LIMIT" if seconds > NOTEBOOK_LIMIT_S else ""
        flag = flag or ("  over target" if seconds > NOTEBOOK_TARGET_S else "")
        terminalreporter.write_line(f"{seconds:7.1f} s  {nb}{flag}")


DECIMAL = re.compile(r"-?\d+\.\d+(?:[eE][-+]?\d+)?")


def snap_decimals(test: str, reference: str, rtol: float = DECIMAL_RTOL) -> str:
    """``test`` with each decimal number replaced by the reference's when within ``rtol``.

    Only when the two texts are the same apart from their decimal numbers; otherwise
    ``test`` comes back unchanged, so the comparison still fails and shows the change.
    """
    if DECIMAL.split(test) != DECIMAL.split(reference):
        return test
    ours, theirs = DECIMAL.findall(test), DECIMAL.findall(reference)
    snapped = iter(
        r if abs(float(t) - float(r)) <= rtol * max(abs(float(t)), abs(float(r))) else t
        for t, r in zip(ours, theirs, strict=True)
    )
    return DECIMAL.sub(lambda _: next(snapped), test)


def _snap_outputs(test: list, reference: list) -> list:
    """Copies of the test outputs with decimals snapped to the reference (see above)."""
    snapped = []
    for i, out in enumerate(test):
        ref = reference[i] if i < len(reference) else {}
        out = type(out)(out)  # a shallow copy; only the text fields below are replaced
        if out.get("output_type") == "stream" and ref.get("name") == out.get("name"):
            out["text"] = snap_decimals(out.get("text", ""), ref.get("text", ""))
        elif "data" in out and "text/plain" in ref.get("data", {}):
            data = type(out["data"])(out["data"])
            data["text/plain"] = snap_decimals(
                data.get("text/plain", ""), ref["data"]["text/plain"]
            )
            out["data"] = data
        snapped.append(out)
    return snapped


_exact_compare = IPyNbCell.compare_outputs


def _compare_outputs(self, test, ref, skip_compare=None):
    if _exact_compare(self, test, ref, skip_compare):
        return True
    return _exact_compare(self, _snap_outputs(test, ref), ref, skip_compare)


IPyNbCell.compare_outputs = _compare_outputs


# Notebooks used as test fixtures are opened by their own tests, not run by nbval.
collect_ignore_glob = ["tests/**/*.ipynb"]
