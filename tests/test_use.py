"""checks.use: later cells run the student's function once it passes, the reference until then."""

from __future__ import annotations

import json

import pytest
import torch

from rnncourse import checks
from rnncourse.checks import _progress

# every test starts with no exercise passed and its own progress file (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("progress_file")


def stub(h, x, W, U, b):
    raise NotImplementedError()


def transposed(h, x, W, U, b):
    return torch.tanh(h @ W + x @ U.T + b)


def rnn_step(h, x, W, U, b):
    return torch.tanh(h @ W.T + x @ U.T + b)


def test_stub_falls_back_to_the_reference_with_one_line(capsys):
    fn = checks.use("rnn_step", stub)
    assert fn is checks.REGISTRY["rnn_step"].reference
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert "reference" in out[0] and "not attempted yet" in out[0]


def test_wrong_answer_falls_back_and_points_to_the_check_cell(capsys):
    assert checks.use("rnn_step", transposed) is checks.REGISTRY["rnn_step"].reference
    out = capsys.readouterr().out
    assert "does not pass checks.rnn_step" in out and "Traceback" not in out


def test_right_answer_is_used_and_recorded(capsys, progress_file):
    assert checks.use("rnn_step", rnn_step) is rnn_step
    assert "using yours" in capsys.readouterr().out
    assert checks.use("rnn_step") is rnn_step  # passed in this kernel
    saved = json.loads(progress_file.read_text())
    assert "def rnn_step" in saved["code"]["rnn_step"]


def test_an_earlier_notebook_s_answer_is_rebuilt_and_rechecked(capsys):
    checks.rnn_step(rnn_step)
    _progress.SESSION_FUNCTIONS.clear()  # a new kernel: only the file remains
    fn = checks.use("rnn_step")
    assert fn is not rnn_step and fn is not checks.REGISTRY["rnn_step"].reference
    assert "from an earlier notebook" in capsys.readouterr().out
    h, x = torch.randn(2, 3), torch.randn(2, 4)
    W, U, b = torch.randn(3, 3), torch.randn(3, 4), torch.randn(3)
    torch.testing.assert_close(fn(h, x, W, U, b), rnn_step(h, x, W, U, b))


def test_a_saved_answer_that_no_longer_passes_is_not_used(capsys, progress_file):
    checks.rnn_step(rnn_step)
    _progress.SESSION_FUNCTIONS.clear()
    data = json.loads(progress_file.read_text())
    data["code"]["rnn_step"] = data["code"]["rnn_step"].replace("W.T", "W")
    progress_file.write_text(json.dumps(data))
    assert checks.use("rnn_step") is checks.REGISTRY["rnn_step"].reference
    assert "earlier notebook" in capsys.readouterr().out


def test_nothing_passed_anywhere_means_the_reference(capsys):
    assert checks.use("rnn_step") is checks.REGISTRY["rnn_step"].reference
    assert "has not passed checks.rnn_step yet" in capsys.readouterr().out


def test_under_a_grader_use_never_fails(monkeypatch, capsys):
    monkeypatch.setenv(checks.GRADING_ENV, "1")
    assert checks.use("rnn_step", stub) is checks.REGISTRY["rnn_step"].reference


def test_bad_arguments_say_what_was_expected():
    with pytest.raises(ValueError, match="no exercise named 'rnn_stp'.*rnn_step"):
        checks.use("rnn_stp")
    with pytest.raises(TypeError, match="your function itself"):
        checks.use("rnn_step", rnn_step(*[torch.zeros(1, 1)] * 4, torch.zeros(1)))
