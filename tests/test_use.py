"""checks.use: later cells run the student's function once it passes, the reference until then."""

from __future__ import annotations

import json
import linecache
import textwrap

import pytest
import torch

from rnncourse import cells, checks, sequences
from rnncourse.checks import _answers, _framework, _progress

from .exercise_cases.nb06 import gru_with_helper

# every test starts with no exercise passed and its own progress file (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("progress_file")

REFERENCE = checks.REGISTRY["rnn_step"].reference


def notebook_function(source: str, namespace: dict | None = None, cell: str = "<cell-1>"):
    """Define the functions of ``source`` as a notebook cell does (source findable by inspect)."""
    source = textwrap.dedent(source)
    linecache.cache[cell] = (len(source), None, source.splitlines(True), cell)
    namespace = {"torch": torch} if namespace is None else namespace
    exec(compile(source, cell, "exec"), namespace)
    return namespace


def stub(h, x, W, U, b):
    raise NotImplementedError()


def transposed(h, x, W, U, b):
    return torch.tanh(h @ W + x @ U.T + b)


RNN_STEP = """
def rnn_step(h, x, W, U, b):
    return torch.tanh(h @ W.T + x @ U.T + b)
"""


def new_kernel():
    """What a new notebook's kernel knows: only the progress file."""
    _framework.LAST.clear()
    _progress.SESSION_PASSED.clear()


def inputs():
    g = torch.Generator().manual_seed(0)
    return (torch.randn(2, 3, generator=g), torch.randn(2, 4, generator=g),
            torch.randn(3, 3, generator=g), torch.randn(3, 4, generator=g),
            torch.randn(3, generator=g))  # fmt: skip


def test_stub_falls_back_to_the_reference_with_one_line(capsys):
    fn = checks.use("rnn_step", stub)
    assert fn.__wrapped__ is REFERENCE and _answers.exercise_of(fn) == "rnn_step"
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert "reference" in out[0] and "not attempted yet" in out[0]


def test_wrong_answer_falls_back_and_points_to_the_check_cell(capsys):
    assert checks.use("rnn_step", transposed).__wrapped__ is REFERENCE
    out = capsys.readouterr().out
    assert "does not pass checks.rnn_step" in out and "Traceback" not in out


def test_the_checker_s_result_is_what_use_reads(capsys):
    fn = notebook_function(RNN_STEP)["rnn_step"]
    result = checks.rnn_step(fn)
    assert isinstance(result, checks.Result) and result.passed and result.cases == 7
    assert repr(result) == "✓ rnn_step: all 7 cases pass"
    with pytest.raises(checks.CheckFailed):
        checks.rnn_step(transposed)
    assert not _framework.LAST["rnn_step"][1]  # what checks.use reads after a failure
    capsys.readouterr()


def test_right_answer_is_used_and_recorded(capsys, progress_file):
    fn = notebook_function(RNN_STEP)["rnn_step"]
    assert checks.use("rnn_step", fn).__wrapped__ is fn
    assert "using yours" in capsys.readouterr().out
    assert checks.use("rnn_step").__wrapped__ is fn  # passed in this kernel
    saved = json.loads(progress_file.read_text())["answers"]["rnn_step"]
    assert "def rnn_step" in saved["source"] and saved["notebook"] == "00"
    assert saved["missing"] == [] and "import torch" in saved["source"]


def test_an_earlier_notebook_s_answer_is_rebuilt_and_rechecked(capsys):
    fn = notebook_function(RNN_STEP)["rnn_step"]
    checks.rnn_step(fn)
    new_kernel()
    again = checks.use("rnn_step")
    assert again.__wrapped__ is not fn and again.__wrapped__ is not REFERENCE
    assert "using yours from notebook 00" in capsys.readouterr().out
    torch.testing.assert_close(again(*inputs()), fn(*inputs()))


def test_helpers_and_constants_of_the_answer_s_cell_come_along(capsys, progress_file):
    cell = notebook_function(
        """
        import torch.nn.functional as F
        SCALE = 1.0

        def _affine(h, x, W, U, b):
            return F.linear(h, W) + F.linear(x, U) + SCALE * b

        def rnn_step(h, x, W, U, b):
            return torch.tanh(_affine(h, x, W, U, b))
        """
    )
    checks.rnn_step(cell["rnn_step"])
    saved = json.loads(progress_file.read_text())["answers"]["rnn_step"]
    assert "def _affine" in saved["source"] and "SCALE = 1.0" in saved["source"]
    new_kernel()
    again = checks.use("rnn_step")
    assert "using yours from notebook 00" in capsys.readouterr().out
    torch.testing.assert_close(again(*inputs()), cell["rnn_step"](*inputs()))


def test_a_value_that_cannot_come_along_is_named(capsys, progress_file):
    cell = notebook_function(
        """
        def rnn_step(h, x, W, U, b):
            return torch.tanh(h @ W.T + x @ U.T + b + OFFSET)
        """,
        {"torch": torch, "OFFSET": torch.zeros(1)},
    )
    checks.rnn_step(cell["rnn_step"])
    new_kernel()
    assert checks.use("rnn_step").__wrapped__ is REFERENCE
    out = capsys.readouterr().out
    assert "uses `OFFSET`" in out and "from notebook 00" in out and "define it inside" in out


def test_an_answer_calling_another_exercise_s_answer(capsys, progress_file):
    step_cell = notebook_function(RNN_STEP)
    checks.rnn_step(step_cell["rnn_step"])
    step = checks.use("rnn_step", step_cell["rnn_step"])
    cell = notebook_function(
        """
        def rnn_forward(x, W, U, b, h0=None):
            h = x.new_zeros(x.shape[0], W.shape[0]) if h0 is None else h0
            hs = []
            for x_t in x.unbind(1):
                h = step(h, x_t, W, U, b)
                hs.append(h)
            return torch.stack(hs, 1)
        """,
        {"torch": torch, "step": step},
        cell="<cell-2>",
    )
    checks.rnn_forward(cell["rnn_forward"])
    saved = json.loads(progress_file.read_text())["answers"]["rnn_forward"]
    assert saved["uses"] == {"step": "rnn_step"} and "def rnn_step" not in saved["source"]
    new_kernel()
    capsys.readouterr()
    again = checks.use("rnn_forward")
    assert "using yours from notebook 01" in capsys.readouterr().out
    x = torch.randn(2, 5, 4)
    torch.testing.assert_close(again(x, *inputs()[2:]), cell["rnn_forward"](x, *inputs()[2:]))


def test_a_gru_step_calling_a_helper_of_its_cell_runs_in_notebook_09(capsys, progress_file):
    """Notebook 06's answer and the helper of its cell come along to 09, which trains it."""
    checks.gru_step(gru_with_helper)
    saved = json.loads(progress_file.read_text())["answers"]["gru_step"]
    assert "def affine_blocks" in saved["source"] and saved["missing"] == []
    new_kernel()
    capsys.readouterr()
    step = checks.use("gru_step")  # as notebook 09 asks for it
    assert "using yours from notebook 06" in capsys.readouterr().out
    assert step.__wrapped__ not in (gru_with_helper, checks.REGISTRY["gru_step"].reference)
    yours = cells.StepCell(step, "gru", input_size=32, hidden_size=128)
    torchs = torch.nn.GRU(32, 128, batch_first=True)
    torchs.load_state_dict(dict(zip(torchs.state_dict(), yours.state_dict().values(), strict=True)))
    x = torch.randn(4, 9, 32)
    hs, _ = sequences.run(yours, x)
    torch.testing.assert_close(hs, torchs(x)[0], atol=1e-5, rtol=1e-4)
    hs.square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in yours.parameters())


def test_use_rebuilds_only_the_answer_asked_for(capsys, progress_file, monkeypatch):
    """Other answers in the progress file are not run (an answer's own `uses` would be)."""
    checks.rnn_step(notebook_function(RNN_STEP)["rnn_step"])
    new_kernel()
    data = json.loads(progress_file.read_text())
    other = {"name": "lstm_step", "source": "raise SystemExit('ran')", "passed": 2.0}
    data["answers"]["lstm_step"] = other
    progress_file.write_text(json.dumps(data))
    rebuilt, rebuild = [], _answers.rebuild
    monkeypatch.setattr(
        _answers,
        "rebuild",
        lambda record, resolve: rebuilt.append(record["name"]) or rebuild(record, resolve),
    )
    assert checks.use("rnn_step").__wrapped__ is not REFERENCE
    assert rebuilt == ["rnn_step"]
    assert "using yours from notebook 00" in capsys.readouterr().out


def test_a_saved_answer_that_no_longer_passes_is_not_used(capsys, progress_file):
    checks.rnn_step(notebook_function(RNN_STEP)["rnn_step"])
    new_kernel()
    data = json.loads(progress_file.read_text())
    saved = data["answers"]["rnn_step"]
    saved["source"] = saved["source"].replace("W.T", "W")
    progress_file.write_text(json.dumps(data))
    assert checks.use("rnn_step").__wrapped__ is REFERENCE
    out = capsys.readouterr().out
    assert "from notebook 00 does not pass checks.rnn_step as it stands now" in out


def test_a_version_1_progress_file_is_read(capsys, progress_file):
    source = textwrap.dedent(RNN_STEP)
    version_1 = {"passed": {"rnn_step": 1.0}, "code": {"rnn_step": source}}
    progress_file.write_text(json.dumps(version_1))
    assert "rnn_step" in _progress.load()
    fn = checks.use("rnn_step")
    assert fn.__wrapped__ is not REFERENCE and "using yours" in capsys.readouterr().out


def test_a_sibling_assignment_folder_s_answer_is_found(tmp_path, monkeypatch, capsys):
    """nbgrader's layout: one folder per assignment, each with its own progress file."""
    monkeypatch.delenv(_progress.ENV_VAR)
    first, later = tmp_path / "06_gating", tmp_path / "09_real_text"
    first.mkdir(), later.mkdir()
    monkeypatch.chdir(first)
    checks.rnn_step(notebook_function(RNN_STEP)["rnn_step"])
    new_kernel()
    monkeypatch.chdir(later)
    capsys.readouterr()
    assert checks.use("rnn_step").__wrapped__ is not REFERENCE
    assert "using yours from notebook 00" in capsys.readouterr().out
    # it passed here again, so this folder's own record now carries it (for a grader)
    assert "rnn_step" in _progress.load()
    monkeypatch.setenv(_progress.ENV_VAR, str(tmp_path / "elsewhere.json"))  # one file for all
    new_kernel()
    assert checks.use("rnn_step").__wrapped__ is REFERENCE


def test_nothing_passed_anywhere_means_the_reference(capsys):
    assert checks.use("rnn_step").__wrapped__ is REFERENCE
    assert "has not passed checks.rnn_step yet" in capsys.readouterr().out


def test_under_a_grader_use_never_fails(monkeypatch, capsys):
    monkeypatch.setenv(checks.GRADING_ENV, "1")
    assert checks.use("rnn_step", stub).__wrapped__ is REFERENCE
    assert "not attempted" in capsys.readouterr().out


def test_an_error_in_a_student_s_function_names_it(capsys):
    fn = notebook_function(RNN_STEP)["rnn_step"]
    step = checks.use("rnn_step", fn)
    with pytest.raises(RuntimeError) as info:
        step(torch.zeros(2, 3), torch.zeros(2, 5), *inputs()[2:])
    notes = "\n".join(getattr(info.value, "__notes__", []))
    if hasattr(info.value, "add_note"):  # Python 3.11 and newer
        assert "your rnn_step (notebook 00)" in notes


def test_nan_for_finite_inputs_is_named_once(capsys):
    cell = notebook_function(
        """
        def rnn_step(h, x, W, U, b):
            out = torch.tanh(h @ W.T + x @ U.T + b)
            return out if h.shape[0] < 100 else out / 0 * 0
        """
    )
    step = checks.use("rnn_step", cell["rnn_step"])
    capsys.readouterr()
    h, x, W, U, b = inputs()
    step(h.repeat(50, 1), x.repeat(50, 1), W, U, b)
    step(h.repeat(50, 1), x.repeat(50, 1), W, U, b)
    out = capsys.readouterr().out
    assert out.count("your rnn_step (notebook 00) returned nan or inf") == 1


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="no exercise named 'nope'"):
        checks.use("nope")
    with pytest.raises(TypeError, match="pass rnn_step, not rnn_step"):
        checks.use("rnn_step", 3)


def test_expect_names_the_student_s_function_first(capsys):
    checks.use("rnn_step", notebook_function(RNN_STEP)["rnn_step"])
    capsys.readouterr()
    assert checks.expect(True, "the classifier learns", uses="rnn_step") is None
    assert capsys.readouterr().out == ""
    checks.expect(False, "the classifier to learn", uses=("rnn_step",))
    out = capsys.readouterr().out
    assert "your rnn_step (notebook 00)" in out and "first suspect" in out
    checks.use("rnn_step", stub)
    capsys.readouterr()
    checks.expect(False, "the classifier to learn", uses="rnn_step")
    assert "course's reference" in capsys.readouterr().out
    with pytest.raises(ValueError, match="no exercise named"):
        checks.expect(False, "x", uses="nope")


def test_the_reference_can_be_asked_for_by_name():
    ref = checks.reference("gru_step")
    assert ref.__wrapped__ is checks.REGISTRY["gru_step"].reference
    with pytest.raises(ValueError, match="no exercise named"):
        checks.reference("nope")
