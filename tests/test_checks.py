"""Every checker accepts a correct answer and names the typical wrong ones."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from rnncourse import checks
from rnncourse.checks import _contract

from .exercise_cases import all_cases, all_right
from .exercise_cases.nb00 import rnn_step
from .exercise_cases.nb03 import rnn_backward_np
from .exercise_cases.nb04 import teacher_forced
from .exercise_cases.nb06 import lstm

# every test starts with no exercise passed and its own progress file (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("progress_file")


def flat(message) -> str:
    """A checker's message with its line wrapping undone."""
    return " ".join(str(message).split())


# --- student-style solutions, right and wrong -------------------------------------------


# --- the table: checker, correct answer, [(wrong answer, words in the message)] ---------


CASES = all_cases()


def test_every_registered_exercise_is_tested():
    assert set(CASES) == set(checks.REGISTRY)
    assert all(ex.notebook in {f"{i:02d}" for i in range(10)} for ex in checks.REGISTRY.values())


@pytest.mark.parametrize("name", sorted(n for n, ex in checks.REGISTRY.items() if ex.reference))
def test_every_reference_answer_passes_its_own_checker(name, capsys, monkeypatch):
    monkeypatch.setattr(_contract, "_forbidden", lambda name: ({}, {}))  # it calls itself
    getattr(checks, name)(checks.REGISTRY[name].reference)
    assert capsys.readouterr().out.strip().startswith(f"✓ {name}: all ")


@pytest.mark.parametrize("name", sorted(CASES))
def test_correct_answer_passes(name, capsys, monkeypatch):
    assert getattr(checks, name)(CASES[name][0]).passed
    assert capsys.readouterr().out.strip().startswith(f"✓ {name}: all ")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")  # as nbgrader runs it: passes too
    monkeypatch.delenv("RNNCOURSE_GRADING", raising=False)
    assert checks.grading()
    assert getattr(checks, name)(CASES[name][0]).passed
    assert capsys.readouterr().out.strip().startswith(f"✓ {name}: all ")


RIGHT = all_right()
OTHER_STYLES = [(name, i) for name, answers in sorted(RIGHT.items()) for i in range(len(answers))]


@pytest.mark.parametrize(("name", "index"), OTHER_STYLES)
def test_a_right_answer_in_another_style_passes(name, index, capsys):
    assert getattr(checks, name)(RIGHT[name][index]).passed
    assert capsys.readouterr().out.strip().startswith(f"✓ {name}: all ")


WRONG = [(name, i) for name, (_, wrongs) in sorted(CASES.items()) for i in range(len(wrongs))]


@pytest.mark.parametrize(("name", "index"), WRONG)
def test_wrong_answer_gets_its_own_message(name, index):
    wrong, words = CASES[name][1][index]
    with pytest.raises(AssertionError) as info:
        getattr(checks, name)(wrong)
    message = flat(info.value)
    assert words in message
    others = [w for j, (_, w) in enumerate(CASES[name][1]) if j != index]
    assert not any(w in message for w in others if w not in words)


def test_rnn_step_in_column_form_is_named():
    with pytest.raises(checks.StudentCodeError, match="column form") as info:
        checks.rnn_step(lambda h, x, W, U, b: torch.tanh(W @ h + U @ x + b))
    assert "cannot be multiplied" in str(info.value)


def test_wrong_message_names_case_expected_and_error():
    with pytest.raises(AssertionError, match=r"case 1 \(B=2, H=3, I=4\)") as info:
        checks.rnn_step(lambda h, x, W, U, b: torch.tanh(h @ W + x @ U.T + b))
    text = str(info.value)
    assert "expected [" in text and "got      [" in text and "max error" in text


def test_wrong_shape_is_reported():
    with pytest.raises(AssertionError, match=r"expected shape \(2, 3\), got \(3, 2\)"):
        checks.rnn_step(lambda h, x, W, U, b: rnn_step(h, x, W, U, b).T)


@pytest.mark.parametrize("name", sorted(CASES))
def test_stub_is_not_attempted(name, capsys, progress_file, monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv(checks.GRADING_ENV, raising=False)

    def stub(*args, **kwargs):
        raise NotImplementedError()

    assert not getattr(checks, name)(stub).passed
    assert capsys.readouterr().out.strip() == f"{name}: not attempted yet"
    assert not progress_file.exists()


@pytest.mark.parametrize("name", sorted(CASES))
def test_stub_fails_under_a_grader(name, capsys, progress_file, monkeypatch):
    def stub(*args, **kwargs):
        raise NotImplementedError()

    monkeypatch.delenv(checks.GRADING_ENV, raising=False)
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    with pytest.raises(checks.NotAttemptedError, match=f"(?s){name}: not attempted yet.*grader"):
        getattr(checks, name)(stub)
    monkeypatch.setenv(checks.GRADING_ENV, "0")  # an explicit switch wins
    assert not getattr(checks, name)(stub).passed
    monkeypatch.delenv("NBGRADER_EXECUTION")
    monkeypatch.setenv(checks.GRADING_ENV, "1")
    with pytest.raises(AssertionError, match="not attempted yet"):
        getattr(checks, name)(stub)
    assert not progress_file.exists()


@pytest.mark.parametrize("name", sorted(CASES))
def test_other_errors_are_shown_under_the_exercise_name(name, progress_file):
    def broken(*args, **kwargs):
        raise ValueError("shapes do not match")

    with pytest.raises(checks.StudentCodeError) as info:
        getattr(checks, name)(broken)
    assert str(info.value) == f"{name} raised ValueError: shapes do not match"
    assert isinstance(info.value.__cause__, ValueError)
    assert isinstance(info.value, RuntimeError)
    assert not progress_file.exists()


def test_students_default_float32_tensors_work(capsys):
    def forward(x, W, U, b, h0=None):  # torch.zeros gives float32, as in most student code
        h, hs = torch.zeros(x.shape[0], W.shape[0]) if h0 is None else h0, []
        for t in range(x.shape[1]):
            h = torch.tanh(h @ W.T + x[:, t] @ U.T + b)
            hs.append(h)
        return torch.stack(hs, dim=1)

    checks.rnn_forward(forward)
    assert capsys.readouterr().out.startswith("✓ rnn_forward")


def test_a_shift_written_for_token_ids_only_is_named_on_vectors():
    with pytest.raises(checks.StudentCodeError) as info:
        checks.teacher_forced_inputs(lambda t, s: teacher_forced(t, s, "ids_only"))
    assert "(B, 1) fits token ids" in flat(info.value)
    assert "case 4 (B=2, T=4, D=3 (vectors," in flat(info.value)


def test_missing_return_is_named():
    with pytest.raises(AssertionError, match=r"does not\s+`return` its result"):
        checks.rnn_step(lambda h, x, W, U, b: None)


def test_checker_needs_a_function():
    with pytest.raises(TypeError, match=r"Pass it without calling it"):
        checks.rnn_step(torch.zeros(2))


def test_checkers_leave_the_global_rng_alone():
    state = torch.get_rng_state()
    checks.bidirectional_concat(CASES["bidirectional_concat"][0])
    checks.lstm_step(lstm)
    assert torch.equal(state, torch.get_rng_state())


def test_buggy_backwards_differ_from_autograd_and_are_documented():
    g = torch.Generator().manual_seed(0)
    B, T, H, I = 2, 3, 3, 2
    xs = torch.randn(B, T, I, generator=g, dtype=torch.float64)
    dh_out = torch.randn(B, T, H, generator=g, dtype=torch.float64)
    W, U, b = (
        (0.7 * torch.randn(*shape, generator=g, dtype=torch.float64)).requires_grad_()
        for shape in [(H, H), (H, I), (H,)]
    )
    h, hs = torch.zeros(B, H, dtype=torch.float64), []
    for t in range(T):
        h = torch.tanh(h @ W.T + xs[:, t] @ U.T + b)
        hs.append(h)
    hs = torch.stack(hs, 1)
    expected = [v.numpy() for v in torch.autograd.grad((hs * dh_out).sum(), (W, U, b))]
    arrays = [v.detach().numpy() for v in (dh_out, xs, hs, W, U)]
    for fn in (checks.backward_A, checks.backward_B, checks.backward_C):
        assert not np.allclose(fn(*arrays)[0], expected[0])
    assert np.allclose(rnn_backward_np(*arrays)[0], expected[0])


# --- progress ----------------------------------------------------------------------------


def test_progress_records_session_and_file(progress_file, capsys):
    checks.rnn_step(rnn_step)
    data = json.loads(progress_file.read_text())
    assert "rnn_step" in data["answers"]
    summary = checks.progress()
    assert summary["00"]["rnn_step"] == "passed"
    assert set(summary["01"].values()) == {"not yet"}
    assert {"rnn_forward", "running_sum_weights"} <= set(summary["01"])
    out = capsys.readouterr().out
    assert "00  1/1  rnn_step ✓" in out


def test_progress_from_an_earlier_session(progress_file, monkeypatch):
    progress_file.write_text(json.dumps({"version": 1, "passed": {"rnn_forward": 1.0}}))
    summary = checks.progress("01")
    assert list(summary) == ["01"]
    assert summary["01"].pop("rnn_forward") == "passed earlier"
    assert set(summary["01"].values()) == {"not yet"}


def test_corrupted_progress_file_is_moved_aside(progress_file, capsys):
    progress_file.write_text("{not json")
    with pytest.warns(UserWarning, match="unreadable"):
        checks.rnn_step(rnn_step)
    assert (progress_file.parent / "progress.json.corrupt").read_text() == "{not json"
    assert "rnn_step" in json.loads(progress_file.read_text())["answers"]


def test_unwritable_progress_never_fails_a_check(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("RNNCOURSE_PROGRESS", str(blocker / "sub" / "progress.json"))
    with pytest.warns(UserWarning, match="Could not save progress"):
        checks.rnn_step(rnn_step)


def test_progress_default_path_is_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("RNNCOURSE_PROGRESS")
    monkeypatch.chdir(tmp_path)
    checks.rnn_step(rnn_step)
    assert (tmp_path / ".rnncourse-progress.json").exists()
    assert not list(tmp_path.glob("*.tmp"))


def test_progress_bad_arguments():
    with pytest.raises(ValueError, match="notebook must be one of"):
        checks.progress("99")
    with pytest.raises(TypeError, match="notebook must be a string"):
        checks.progress(3)


# --- the contract every checker keeps (rnncourse.checks._contract) -------------------------


def _last_tensor(args: tuple):
    return next((a for a in reversed(args) if isinstance(a, torch.Tensor)), None)


def calls_the_reference(name):
    reference = checks.REGISTRY[name].reference

    def answer(*args, **kwargs):
        return reference(*args, **kwargs)

    return answer


def changes_an_input(name):
    """The right answer, which then changes its last tensor argument in place (same values)."""
    right = CASES[name][0]

    def answer(*args, **kwargs):
        out = right(*args, **kwargs)
        target = _last_tensor(args)
        if target is not None:
            with torch.no_grad():
                target.mul_(1)
            answer.changed = True
        return out

    answer.changed = False
    return answer


def _convert(value, converted: list):
    """``value`` with its float tensors in the other float dtype, each noted in ``converted``."""
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        converted.append(value)
        return value.double() if value.dtype == torch.float32 else value.float()
    if isinstance(value, tuple | list):
        return type(value)(_convert(v, converted) for v in value)
    return value


def returns_another_dtype(name):
    right = CASES[name][0]

    def answer(*args, **kwargs):
        floats = [a for a in args if isinstance(a, torch.Tensor) and a.is_floating_point()]
        converted: list = []
        out = _convert(right(*args, **kwargs), converted)
        answer.changed |= bool(converted and floats)  # the rule: float inputs fix the dtype
        return out

    answer.changed = False
    return answer


def _detached(value):
    if isinstance(value, torch.Tensor):
        return value.detach()
    if isinstance(value, tuple | list):
        return type(value)(_detached(v) for v in value)
    return value


WITH_REFERENCE = sorted(n for n, ex in checks.REGISTRY.items() if ex.reference)
WITH_GRADIENTS = sorted(n for n, ex in checks.REGISTRY.items() if ex.gradients)


@pytest.mark.parametrize("name", WITH_REFERENCE)
def test_an_answer_calling_the_course_s_own_is_rejected(name):
    with pytest.raises(checks.CheckFailed, match="calls the course's reference answer"):
        getattr(checks, name)(calls_the_reference(name))


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_input_changed_in_place_is_named(name):
    answer = changes_an_input(name)
    try:
        getattr(checks, name)(answer)
    except checks.CheckFailed as err:
        assert "in place" in flat(err), flat(err)
        return
    assert not answer.changed, f"{name}: an input changed in place passed its check"


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_result_in_another_dtype_is_named(name):
    answer = returns_another_dtype(name)
    try:
        getattr(checks, name)(answer)
    except checks.CheckFailed as err:
        assert "dtype" in flat(err), flat(err)
        return
    assert not answer.changed, f"{name}: a result in another dtype passed its check"


@pytest.mark.parametrize("name", WITH_GRADIENTS)
def test_a_cut_gradient_is_named(name):
    right = CASES[name][0]
    with pytest.raises(checks.CheckFailed) as info:
        getattr(checks, name)(lambda *a, **k: _detached(right(*a, **k)))
    assert "no gradient reaches" in flat(info.value)


def test_a_checker_that_must_compare_gradients_does(monkeypatch):
    from rnncourse.checks import _framework

    @_framework.exercise("00", gradients=True)
    def forgetful(student_fn):
        return 1

    try:
        with pytest.raises(RuntimeError, match="must compare gradients"):
            forgetful(lambda: None)
    finally:
        del _framework.REGISTRY["forgetful"]


# --- no message gives the answer away -----------------------------------------------------

SOLUTIONS = sorted(Path(__file__).resolve().parents[1].glob("notebooks/solutions/[0-9]*.ipynb"))
_BEGIN, _END = "### BEGIN SOLUTION", "### END SOLUTION"


def answer_core(line: str) -> str:
    """A line of code reduced to what a message could repeat: no spaces, no `return`, no
    assignment target, no module prefix (``torch.``, ``F.``)."""
    text = re.sub(r"\s+", "", line)
    text = re.sub(r"^return", "", text)
    text = re.sub(r"^[\w\[\]:,.()]+=(?!=)", "", text)
    return re.sub(r"\b(torch|nn|F|functional|np|math|distributions)\.", "", text)


def solution_cores() -> dict[str, set[str]]:
    """{exercise: cores of its solution lines of 20 characters or more}."""
    cores: dict[str, set[str]] = {}
    for path in SOLUTIONS:
        pending: list[str] = []
        for cell in nbformat.read(path, as_version=4).cells:
            lines, inside = [], False
            for line in cell.source.splitlines():
                marker = line.strip()
                if marker in (_BEGIN, _END):
                    inside = marker == _BEGIN
                elif inside and len(" ".join(line.split())) >= 20:
                    lines.append(line)
            pending += lines
            checked = re.findall(r"checks\.(\w+)\(", cell.source)
            checked = [n for n in checked if n in checks.REGISTRY]
            if checked and _BEGIN not in cell.source:
                for name in checked:
                    core = {answer_core(x) for x in pending}
                    cores.setdefault(name, set()).update(
                        c
                        for c in core
                        if len(c) >= 16 and not c.endswith(":")  # a loop header
                    )
                pending = []
    return cores


def _nudged(value):
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return value + 0.01 * (1 + value.abs())
    if isinstance(value, tuple | list):
        return type(value)(_nudged(v) for v in value)
    return value


def _messages(name) -> list[str]:
    wrongs = [w for w, _ in CASES[name][1]]
    wrongs += [calls_the_reference(name), changes_an_input(name), returns_another_dtype(name)]
    right = CASES[name][0]
    wrongs.append(lambda *a, **k: _nudged(right(*a, **k)))  # no known mistake: the plain hint
    if name in WITH_GRADIENTS:
        wrongs.append(lambda *a, **k: _detached(right(*a, **k)))
    found = []
    for wrong in wrongs:
        try:
            getattr(checks, name)(wrong)
        except (AssertionError, checks.StudentCodeError) as err:
            found.append(str(err))
    return found


CORES = solution_cores()


@pytest.mark.parametrize("name", sorted(CASES))
def test_no_message_holds_a_line_of_the_answer(name):
    secret = CORES.get(name, set())
    for message in _messages(name):
        shown = answer_core(message.replace("\n", " "))
        leaked = sorted(c for c in secret if c in shown)
        assert not leaked, f"{name}: a message holds the answer's {leaked}:\n{message}"
