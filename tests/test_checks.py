"""Every checker accepts a correct answer and names the typical wrong ones."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from rnncourse import checks, scan

from .exercise_cases import all_cases

# every test starts with no exercise passed and its own progress file (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("progress_file")


# --- student-style solutions, right and wrong -------------------------------------------


def rnn_step(h, x, W, U, b):
    return torch.tanh(h @ W.T + x @ U.T + b)


def rnn_forward(x, W, U, b, h0=None, *, transpose=False, carry=True, shift=False, last=False):
    h, hs = (x.new_zeros(x.shape[0], W.shape[0]) if h0 is None else h0), []
    Wm = W if transpose else W.T
    for t in range(x.shape[1]):
        if shift:
            hs.append(h)
        h = torch.tanh((h @ Wm if carry else 0) + x[:, t] @ U.T + b)
        if not shift:
            hs.append(h)
    return h if last else torch.stack(hs, 1)


def many_to_one(hs, lengths, V, c, mode="right"):
    rows = torch.arange(hs.shape[0])
    if mode == "last":
        h = hs[:, -1]
    elif mode == "mean":
        h = hs.mean(1)
    else:
        h = hs[rows, lengths - 1]
    return h @ V.T + (0 if mode == "nobias" else c)


def enc_dec(x, W_e, U_e, b_e, W_d, U_d, b_d, steps, mode="right"):
    hs = rnn_forward(x, W_e, U_e, b_e)
    ctx = hs[:, 0] if mode == "first" else hs[:, -1]
    s, out = (ctx if mode == "start" else x.new_zeros(x.shape[0], W_d.shape[0])), []
    for k in range(steps):
        inp = ctx if (k == 0 or mode != "once") else torch.zeros_like(ctx)
        s = torch.tanh(s @ (W_d if mode == "transpose" else W_d.T) + inp @ U_d.T + b_d)
        out.append(s)
    return torch.stack(out, 1)


def rnn_backward_np(dh_out, xs, hs, W, U, bug=""):
    B, T, H = hs.shape
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros(H)
    dh_prev = np.zeros((B, H))
    for t in range(T - 1, -1, -1):
        h_prev = hs[:, t - 1] if t else np.zeros((B, H))
        dh = dh_out[:, t] if bug == "branch" else dh_out[:, t] + dh_prev
        da = dh * (1 - hs[:, t] ** 2)
        if bug == "overwrite":
            dW, dU, db = da.T @ h_prev, da.T @ xs[:, t], da.sum(0)
        else:
            dW += da.T @ h_prev
            dU += da.T @ xs[:, t]
            db += da.sum(0)
        dh_prev = da @ (W.T if bug == "transpose" else W)
    return dW, dU, db


def num_grad(f, x, eps, bug=""):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = f(x)
        x[i] = old - eps
        down = f(x)
        if bug != "no_restore":
            x[i] = old
        if bug == "forward":
            x[i] = old
            grad[i] = (up - f(x)) / eps
        else:
            grad[i] = (up - down) / (eps if bug == "one_eps" else 2 * eps)
    return grad


def teacher_forced(targets, start, mode="right"):
    col = torch.full_like(targets[:, :1], start)
    if mode == "wrong_way":
        return torch.cat([targets[:, 1:], col], 1)
    if mode == "none":
        return targets.clone()
    if mode == "no_start":
        return targets[:, :-1]
    if mode == "ids_only":  # a start column of shape (B, 1): right for token ids only
        first = torch.full((targets.shape[0], 1), start, dtype=targets.dtype)
        return torch.cat([first, targets[:, :-1]], 1)
    return torch.cat([col, targets[:, :-1]], 1)


def free_run(step_fn, first, steps, mode="right"):
    x, h, ys = first, None, []
    for _ in range(steps):
        y, h2 = step_fn(first if mode == "nofeed" else x, h)
        h = None if mode == "reset" else h2
        ys.append(y)
        x = y
    if mode == "time_first":
        return torch.stack(ys)
    return torch.stack(ys, 1)


def jac_norm(W, hs, nonlinearity, mode="right"):
    d = 1 - hs**2 if nonlinearity == "tanh" else (hs > 0).to(hs.dtype)
    if mode == "no_slope":
        d = torch.ones_like(d)
    J = torch.eye(W.shape[0], dtype=W.dtype)
    norms = 1.0
    for t in range(0 if mode == "extra" else 1, hs.shape[0]):
        J = torch.diag(d[t]) @ W @ J
        norms = norms * torch.linalg.matrix_norm(torch.diag(d[t]) @ W, 2)
    if mode == "norms":
        return norms
    return torch.linalg.matrix_norm(J, "fro" if mode == "fro" else 2)


def clip(grads, max_norm, mode="right"):
    norms = [g.norm() for g in grads]
    if mode == "per_tensor":
        return [g * min(1.0, max_norm / (n + 1e-6)) for g, n in zip(grads, norms, strict=True)]
    total = sum(norms) if mode == "sum" else torch.sqrt(sum(n**2 for n in norms))
    coef = max_norm / (total + 1e-6)
    if mode != "always":
        coef = min(coef, 1.0)
    return [g * coef for g in grads]


def regime(eigenvalues, nonlinearity, mode="right"):
    slope = {"linear": 1.0, "tanh": 1.0, "sigmoid": 0.25}[nonlinearity]
    if mode == "ignore":
        slope = 1.0
    mags = eigenvalues.real if mode == "real" else eigenvalues.abs()
    gain = slope * float(mags.max())
    if abs(gain - 1) <= 1e-6 and mode != "old_rule":
        return "neither"  # the boundary: the linearised product keeps its size
    if mode == "swap":
        return "vanish" if gain > 1 else "explode"
    return "explode" if gain > 1 else "vanish"


def lstm(x, h, c, U, W, b, mode="right"):
    z = x @ U.T + h @ W.T + b
    names = {"right": "ifgo", "ifog": "ifog", "figo": "figo"}.get(mode, "ifgo")
    if mode == "chunk5":  # 4H columns in five pieces: for H >= 5 there are five of them
        a_i, a_f, a_g, a_o = z.chunk(5, -1)
    gates = dict(zip(names, z.chunk(4, -1), strict=True))
    i, f, o = (torch.sigmoid(gates[k]) for k in "ifo")
    c2 = f * c + i * torch.tanh(gates["g"])
    h2 = o * (c2 if mode == "no_tanh" else torch.tanh(c2))
    return (c2, h2) if mode == "swap" else (h2, c2)


def cell_grad(f, mode="right"):
    B, T, H = f.shape
    out = torch.ones_like(f)
    for t in range(T - 2, -1, -1):
        out[:, t] = out[:, t + 1] * f[:, t + 1]
    if mode == "inclusive":
        return out * f
    if mode == "forward":
        return f.cumprod(1)
    if mode == "short":
        return out[:, :-1]
    return out


def sample_loop(step_fn, start, steps, mode="right"):
    token, h, out = start, None, []
    for _ in range(steps):
        logits, h2 = step_fn(start if mode == "nofeed" else token, h)
        h = None if mode == "reset" else h2
        token = torch.distributions.Categorical(logits=logits).sample()
        token = logits.argmax(-1) if mode == "argmax" else token
        out.append(logits if mode == "logits" else token)
    return torch.stack(out, 1)


def schedule(kind, i, k, c=0.0, eps_min=0.0, mode="right"):
    if kind == "linear":
        eps = k - c * i if mode == "nofloor" else max(eps_min, k - c * i)
        eps = min(eps_min, k - c * i) if mode == "min" else eps
    elif kind == "exponential":
        eps = k**i
    else:
        eps = k / (k + math.exp((-i if mode == "sign" else i) / (1 if mode == "no_scale" else k)))
    return 1 - eps if mode == "model" else eps


def coin_flip(true, model, eps, generator, mode="right"):
    B, T, _ = true.shape
    shape = {"per_seq": (B, 1), "per_number": true.shape}.get(mode, (B, T))
    coins = torch.rand(shape, generator=generator)
    coins = coins >= eps if mode == "reversed" else coins < eps
    fed = model if mode == "no_detach" else model.detach()
    return torch.where(coins if mode == "per_number" else coins.expand(B, T)[..., None], true, fed)


def linear_scan(a, b, mode="right"):
    h, hs = torch.zeros_like(b[:, 0]), []
    for t in range(a.shape[1]):
        if mode == "shift":
            hs.append(h)
        h = a[:, t] * h + (a[:, t] * b[:, t] if mode == "own_a" else b[:, t])
        if mode != "shift":
            hs.append(h)
    out = torch.stack(hs, 1)
    return out.flip(1) if mode == "reverse" else out


def rounds_scan(a, b, mode="right", combine=scan.combine):
    """Hillis-Steele rounds as a student writes them, calling ``combine``."""
    d, T = 1, a.shape[1]
    while d < (T + 1) // 2 if mode == "short" else d < T:
        left, own = (a[:, :-d], b[:, :-d]), (a[:, d:], b[:, d:])
        new_a, new_b = combine(*((own, left) if mode == "swap" else (left, own)))
        a, b = torch.cat([a[:, :d], new_a], 1), torch.cat([b[:, :d], new_b], 1)
        d = d + 1 if mode == "plus_one" else 2 * d
    return b


def scan_with_wrong_combine(body="return p[0] * q[0], p[0] * q[1] + p[1]"):
    """A right scan whose notebook's ``combine`` gives wrong pairs (or is a stub)."""
    namespace = {"torch": torch, "rounds_scan": rounds_scan}
    exec(f"def combine(p, q):\n    {body}\n", namespace)
    exec("def linear_scan(a, b):\n    return rounds_scan(a, b, combine=combine)\n", namespace)
    return namespace["linear_scan"]


def _fresh_step(x, h=None):  # a tiny deterministic model for free_running
    return torch.tanh(x + (0 if h is None else h)), torch.tanh(x)


# --- the table: checker, correct answer, [(wrong answer, words in the message)] ---------

CASES = {
    "rnn_step": (
        rnn_step,
        [
            (lambda h, x, W, U, b: torch.tanh(h @ W + x @ U.T + b), "transposed"),
            (lambda h, x, W, U, b: h @ W.T + x @ U.T + b, "tanh is missing"),
            (lambda h, x, W, U, b: torch.tanh(h @ W.T + x @ U.T), "bias b is missing"),
        ],
    ),
    "rnn_forward": (
        rnn_forward,
        [
            (lambda *a: rnn_forward(*a, transpose=True), "transposed"),
            (lambda *a: rnn_forward(*a, carry=False), "state is not carried"),
            (lambda *a: rnn_forward(*a, shift=True), "shifted by one"),
            (lambda *a: rnn_forward(*a, last=True), "only the last state"),
            (lambda x, W, U, b, h0=None: rnn_forward(x, W, U, b), "h0 was ignored"),
        ],
    ),
    "running_sum_weights": (
        lambda: (torch.ones(1, 1), torch.ones(1, 1)),
        [
            (lambda: (torch.zeros(1, 1), torch.ones(1, 1)), "forgets everything"),
            (lambda: (2 * torch.ones(1, 1), torch.ones(1, 1)), "W must be 1"),
            (lambda: (torch.ones(1, 1), 0.5 * torch.ones(1, 1)), "U = 0.5 scales"),
        ],
    ),
    "many_to_one_head": (
        many_to_one,
        [
            (lambda *a: many_to_one(*a, mode="last"), "hs[:, -1]"),
            (lambda *a: many_to_one(*a, mode="mean"), "averaged"),
            (lambda *a: many_to_one(*a, mode="nobias"), "bias b_o is missing"),
        ],
    ),
    "encoder_decoder_forward": (
        enc_dec,
        [
            (lambda *a: enc_dec(*a, mode="first"), "FIRST state"),
            (lambda *a: enc_dec(*a, mode="once"), "only at the first decoder step"),
            (lambda *a: enc_dec(*a, mode="transpose"), "transposed"),
            (lambda *a: enc_dec(*a, mode="start"), "started from the context"),
        ],
    ),
    "bidirectional_concat": (
        lambda f, b: torch.cat([f, b.flip(1)], -1),
        [
            (lambda f, b: torch.cat([f, b], -1), "not reversed"),
            (lambda f, b: torch.cat([b.flip(1), f], -1), "wrong order"),
            (lambda f, b: torch.cat([f, b.flip(1)], 1), "along time"),
        ],
    ),
    "rnn_backward": (
        rnn_backward_np,
        [
            (lambda *a: rnn_backward_np(*a, bug="overwrite"), "overwritten"),
            (lambda *a: rnn_backward_np(*a, bug="branch"), "not added at a branch"),
            (lambda *a: rnn_backward_np(*a, bug="transpose"), "transposed weights"),
        ],
    ),
    "numerical_gradient": (
        num_grad,
        [
            (lambda *a: num_grad(*a, bug="forward"), "forward difference"),
            (lambda *a: num_grad(*a, bug="one_eps"), "divided by 2 * eps"),
            (lambda *a: num_grad(*a, bug="no_restore"), "changed in place"),
        ],
    ),
    "find_the_bug": (
        lambda: {"A": "transpose", "B": "overwrite", "C": "branch"},
        [
            (lambda: {"A": "transpose", "B": "overwrite"}, "no label for backward_C"),
            (lambda: {"A": "bogus", "B": "overwrite", "C": "branch"}, "is not a label"),
            (lambda: {"A": "overwrite", "B": "transpose", "C": "branch"}, "backward_A does"),
            (lambda: ["transpose"], "expected a dict"),
        ],
    ),
    "teacher_forced_inputs": (
        teacher_forced,
        [
            (lambda t, s: teacher_forced(t, s, "wrong_way"), "shifted the wrong way"),
            (lambda t, s: teacher_forced(t, s, "none"), "not shifted"),
            (lambda t, s: teacher_forced(t, s, "no_start"), "start token is missing"),
        ],
    ),
    "free_running": (
        free_run,
        [
            (lambda *a: free_run(*a, mode="nofeed"), "not fed back"),
            (lambda *a: free_run(*a, mode="reset"), "state is not carried"),
            (lambda *a: free_run(*a, mode="time_first"), "time-first"),
        ],
    ),
    "jacobian_product_norm": (
        jac_norm,
        [
            (lambda *a: jac_norm(*a, mode="no_slope"), "slopes φ' are missing"),
            (lambda *a: jac_norm(*a, mode="extra"), "one factor too many"),
            (lambda *a: jac_norm(*a, mode="norms"), "norms of the factors"),
            (lambda *a: jac_norm(*a, mode="fro"), "Frobenius"),
        ],
    ),
    "clip_global_norm": (
        clip,
        [
            (lambda *a: clip(*a, mode="per_tensor"), "clipped on its own"),
            (lambda *a: clip(*a, mode="always"), "scaled up"),
            (lambda *a: clip(*a, mode="sum"), "norms of the tensors were added"),
        ],
    ),
    "predict_regime": (
        regime,
        [
            (lambda *a: regime(*a, mode="ignore"), "slope was ignored"),
            (lambda *a: regime(*a, mode="real"), "real part"),
            (lambda *a: regime(*a, mode="swap"), "swapped"),
            (lambda *a: regime(*a, mode="old_rule"), 'return "neither" there'),
        ],
    ),
    "gated_leaky_step": (
        lambda s, x, theta: torch.sigmoid(theta) * s + x,
        [
            (lambda s, x, theta: theta * s + x, "sigmoid is missing"),
            (lambda s, x, theta: s + torch.sigmoid(theta) * x, "multiplies the input"),
            (lambda s, x, theta: (1 - torch.sigmoid(theta)) * s + x, "(1 - sigmoid(theta))"),
        ],
    ),
    "time_constant": (
        lambda a: -1 / torch.log(a),
        [
            (lambda a: 1 / torch.log(a), "wrong sign"),
            (lambda a: 1 / (1 - a), "only approximates"),
            (lambda a: -torch.log(a), "decay rate"),
        ],
    ),
    "lstm_step": (
        lstm,
        [
            (lambda *a: lstm(*a, mode="ifog"), "not i, f, o, g"),
            (lambda *a: lstm(*a, mode="figo"), "not f, i, g, o"),
            (lambda *a: lstm(*a, mode="no_tanh"), "tanh on the cell state is missing"),
            (lambda *a: lstm(*a, mode="swap"), "swapped"),
            (lambda *a: lstm(*a, mode="chunk5"), "wrong number of blocks"),
        ],
    ),
    "cell_state_gradient": (
        cell_grad,
        [
            (lambda f: cell_grad(f, "inclusive"), "one factor too many"),
            (lambda f: cell_grad(f, "forward"), "wrong way"),
            (lambda f: cell_grad(f, "short"), "last entry"),
        ],
    ),
    "sampling_loop": (
        sample_loop,
        [
            (lambda *a: sample_loop(*a, mode="nofeed"), "not fed back"),
            (lambda *a: sample_loop(*a, mode="reset"), "state is not carried"),
            (lambda *a: sample_loop(*a, mode="logits"), "logits were returned"),
            (lambda *a: sample_loop(*a, mode="argmax"), "most likely one"),
        ],
    ),
    "next_token_targets": (
        lambda t: (t[:, :-1], t[:, 1:]),
        [
            (lambda t: (t[:, 1:], t[:, :-1]), "wrong way"),
            (lambda t: (t, t), "not shifted"),
            (lambda t: (t, t.roll(-1, 1)), "torch.roll"),
        ],
    ),
    "sampling_schedule": (
        schedule,
        [
            (lambda *a, **k: schedule(*a, **k, mode="model"), "MODEL's token"),
            (lambda *a, **k: schedule(*a, **k, mode="nofloor"), "floor"),
            (lambda *a, **k: schedule(*a, **k, mode="sign"), "exp(+i / k)"),
            (lambda *a, **k: schedule(*a, **k, mode="no_scale"), "not exp(i)"),
            (lambda *a, **k: schedule(*a, **k, mode="min"), "not min"),
        ],
    ),
    "coin_flip_inputs": (
        coin_flip,
        [
            (lambda *a: coin_flip(*a, mode="no_detach"), "without detaching"),
            (lambda *a: coin_flip(*a, mode="reversed"), "coins are reversed"),
            (lambda *a: coin_flip(*a, mode="per_seq"), "one coin per sequence"),
            (lambda *a: coin_flip(*a, mode="per_number"), "one coin per number"),
        ],
    ),
    "combine": (
        lambda p, q: (p[0] * q[0], q[0] * p[1] + q[1]),
        [
            (lambda p, q: (p[0] * q[0], p[0] * q[1] + p[1]), "order is wrong"),
            (lambda p, q: (p[0] * q[0], p[1] + q[1]), "carried through"),
            (lambda p, q: (p[0] * q[0], p[0] * p[1] + q[1]), "its own a1"),
        ],
    ),
    "scan_equals_loop": (
        scan.hillis_steele_scan,
        [
            (linear_scan, "loop over time"),
            (lambda a, b: linear_scan(a, b, "shift"), "shifted by one"),
            (lambda a, b: linear_scan(a, b, "own_a"), "its own a_s"),
            (lambda a, b: linear_scan(a.flip(1), b.flip(1)).flip(1), "backwards in time"),
            (lambda a, b: rounds_scan(a, b, "swap"), "wrong order"),
            (lambda a, b: rounds_scan(a, b, "short"), "last round is missing"),
            (lambda a, b: rounds_scan(a, b, "plus_one"), "composed twice"),
            (scan_with_wrong_combine(), "does not pass checks.combine"),
            (scan_with_wrong_combine("raise NotImplementedError()"), "not written yet"),
        ],
    ),
}


_more = all_cases()
assert not set(_more) & set(CASES), "an exercise's cases are defined twice"
CASES.update(_more)


def test_every_registered_exercise_is_tested():
    assert set(CASES) == set(checks.REGISTRY)
    assert all(ex.notebook in {f"{i:02d}" for i in range(10)} for ex in checks.REGISTRY.values())


@pytest.mark.parametrize("name", sorted(n for n, ex in checks.REGISTRY.items() if ex.reference))
def test_every_reference_answer_passes_its_own_checker(name, capsys):
    getattr(checks, name)(checks.REGISTRY[name].reference)
    assert capsys.readouterr().out.strip().startswith(f"✓ {name}: all ")


@pytest.mark.parametrize("name", sorted(CASES))
def test_correct_answer_passes(name, capsys):
    assert getattr(checks, name)(CASES[name][0]) is None
    assert capsys.readouterr().out.strip().startswith(f"✓ {name}: all ")


WRONG = [(name, i) for name, (_, wrongs) in sorted(CASES.items()) for i in range(len(wrongs))]


@pytest.mark.parametrize(("name", "index"), WRONG)
def test_wrong_answer_gets_its_own_message(name, index):
    wrong, words = CASES[name][1][index]
    with pytest.raises(AssertionError) as info:
        getattr(checks, name)(wrong)
    message = str(info.value)
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

    assert getattr(checks, name)(stub) is None
    assert capsys.readouterr().out.strip() == f"{name}: not attempted yet"
    assert not progress_file.exists()


@pytest.mark.parametrize("name", sorted(CASES))
def test_stub_fails_under_a_grader(name, capsys, progress_file, monkeypatch):
    def stub(*args, **kwargs):
        raise NotImplementedError()

    monkeypatch.delenv(checks.GRADING_ENV, raising=False)
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    with pytest.raises(checks.NotAttemptedError, match=f"{name}: not attempted yet.*grader"):
        getattr(checks, name)(stub)
    monkeypatch.setenv(checks.GRADING_ENV, "0")  # an explicit switch wins
    assert getattr(checks, name)(stub) is None
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
    with pytest.raises(checks.StudentCodeError, match=r"\(B, 1\) fits token ids") as info:
        checks.teacher_forced_inputs(lambda t, s: teacher_forced(t, s, "ids_only"))
    assert "case 4 (B=2, T=4, D=3 (vectors)" in str(info.value)


def test_missing_return_is_named():
    with pytest.raises(AssertionError, match="does not `return` its result"):
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
    assert "rnn_step" in data["passed"]
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
    assert "rnn_step" in json.loads(progress_file.read_text())["passed"]


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
