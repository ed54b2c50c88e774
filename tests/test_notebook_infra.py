"""The notebook test machinery itself: offline kernels, the time budget, compared outputs."""

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
    nb.cells = [c if isinstance(c, dict) else nbformat.v4.new_code_cell(c) for c in tmp_cells]
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


def _compared_cell(source: str, stored: str):
    """A code cell tagged to compare its output, with ``stored`` as its stored stdout."""
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["nbval-check-output"]})
    cell.execution_count = 1
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stored)]
    return cell


def test_snap_decimals_tolerates_small_changes_of_decimals_only():
    from conftest import snap_decimals

    ref = "test MSE 0.0362 (predicting 0: 0.515), 3 of 4"
    assert snap_decimals("test MSE 0.0393 (predicting 0: 0.515), 3 of 4", ref) == ref  # 8 % off
    for changed in [
        "test MSE 0.0420 (predicting 0: 0.515), 3 of 4",  # 14 % off
        "test MSE 0.0393 (predicting 0: 0.515), 4 of 4",  # an integer
        "train MSE 0.0393 (predicting 0: 0.515), 3 of 4",  # a word
        "test MSE 0.0393 0.515",  # a different number of numbers
    ]:
        assert snap_decimals(changed, ref) != ref
    assert snap_decimals("a 0.32, b 0.33", "b 0.33, a 0.33") == "a 0.32, b 0.33"


@pytest.mark.slow
def test_compared_outputs_allow_small_decimal_changes_only():
    cells = [
        _compared_cell("print('loss 0.0393 after 5 steps')", "loss 0.0362 after 5 steps\n"),
        _compared_cell("print('shape (3, 4)')", "shape (3, 4)\n"),
    ]
    result = _run_notebook_under_pytest(cells)
    assert result.returncode == 0, result.stdout + result.stderr
    changed = [  # a decimal far off, an integer, the order of words: each cell fails
        ("print('loss 0.164 after 5 steps')", "loss 0.001 after 5 steps\n"),
        ("print('loss 0.0362 after 6 steps')", "loss 0.0362 after 5 steps\n"),
        ("print('b 0.33, a 0.33')", "a 0.33, b 0.33\n"),
    ]
    result = _run_notebook_under_pytest([_compared_cell(*pair) for pair in changed])
    assert result.returncode == 1, result.stdout + result.stderr
    assert "3 failed" in result.stdout, result.stdout
    for index in range(len(changed)):  # each cell fails on its output, not on an error
        assert f"Cell {index}: Cell outputs differ" in result.stdout, result.stdout
