"""The notebook test machinery itself: offline kernels and the per-notebook time budget."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run_notebook_under_pytest(tmp_cells, env_extra=None):
    folder = ROOT / "test-artifacts" / f"nbinfra-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in tmp_cells]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = folder / "probe.ipynb"
    nbformat.write(nb, path)
    env = {**os.environ, **(env_extra or {})}
    try:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        path.unlink()
        folder.rmdir()


@pytest.mark.slow
def test_notebook_kernels_cannot_reach_the_network():
    cell = (
        "import socket\n"
        "s = socket.socket()\n"
        "try:\n"
        "    s.connect(('192.0.2.1', 80))\n"
        "except OSError as e:\n"
        "    assert type(e).__name__ == 'NetworkBlockedError', repr(e)\n"
        "else:\n"
        "    raise AssertionError('connected')\n"
    )
    result = _run_notebook_under_pytest([cell])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "notebook wall times" in result.stdout


@pytest.mark.slow
def test_notebook_over_time_budget_fails():
    result = _run_notebook_under_pytest(
        ["import time; time.sleep(1.5)", "print('done')"],
        env_extra={"RNNCOURSE_NOTEBOOK_LIMIT_S": "1"},
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "over the 1 s limit" in result.stdout
    assert "OVER LIMIT" in result.stdout
