import math

import pytest
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from rnncourse import training
from rnncourse.tasks import ADDING_BASELINE_MSE, adding_problem

# ---------------------------------------------------------------- clipping vs torch


def _params_with_grads(seed=0, dtype=torch.float64, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    shapes = [(4, 3), (4,), (2, 4), (1,)]
    params = [torch.randn(s, generator=g, dtype=dtype, requires_grad=True) for s in shapes]
    for p in params:
        p.grad = scale * torch.randn(p.shape, generator=g, dtype=dtype)
    return params


def _clone(params):
    out = []
    for p in params:
        q = p.detach().clone().requires_grad_(True)
        q.grad = None if p.grad is None else p.grad.clone()
        out.append(q)
    return out


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])  # clips / does not clip
def test_clip_grad_norm_equals_torch_exactly(dtype, max_norm):
    ours = _params_with_grads(dtype=dtype, scale=3.0)
    ours[1].grad = None  # a parameter without a gradient is skipped
    theirs = _clone(ours)
    total = training.clip_grad_norm(ours, max_norm)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm)
    assert torch.equal(total, expected)
    for p, q in zip(ours, theirs, strict=True):
        if q.grad is None:
            assert p.grad is None
        else:
            assert torch.equal(p.grad, q.grad)
    if max_norm < 1:
        assert torch.allclose(training.global_grad_norm(ours), torch.tensor(max_norm, dtype=dtype))


def test_global_grad_norm_is_norm_of_concatenated_gradients():
    params = _params_with_grads()
    flat = torch.cat([p.grad.flatten() for p in params])
    assert torch.allclose(training.global_grad_norm(params), flat.norm(), rtol=1e-14)
    assert training.global_grad_norm([torch.zeros(2, requires_grad=True)]).item() == 0.0


def test_clip_grad_value_equals_torch_exactly():
    ours = _params_with_grads(scale=2.0)
    ours[0].grad = None
    theirs = _clone(ours)
    assert training.clip_grad_value(ours, 0.7) is None
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    for p, q in zip(ours[1:], theirs[1:], strict=True):
        assert torch.equal(p.grad, q.grad)
        assert p.grad.abs().max() <= 0.7
    assert ours[0].grad is None


def test_global_clipping_keeps_direction_per_tensor_clipping_does_not():
    params = _params_with_grads(scale=5.0)
    before = torch.cat([p.grad.flatten() for p in params])
    per_tensor = _clone(params)
    training.clip_grad_norm(params, 1.0)
    for p in per_tensor:  # clip each tensor on its own
        torch.nn.utils.clip_grad_norm_([p], 1.0)
    after_global = torch.cat([p.grad.flatten() for p in params])
    after_local = torch.cat([p.grad.flatten() for p in per_tensor])
    cos = F.cosine_similarity
    assert cos(before, after_global, dim=0) == pytest.approx(1.0, abs=1e-12)
    assert cos(before, after_local, dim=0) < 0.999
    assert not torch.allclose(after_global, after_local)


def test_clipping_bad_inputs():
    params = _params_with_grads()
    with pytest.raises(ValueError, match="max_norm must be > 0"):
        training.clip_grad_norm(params, 0.0)
    with pytest.raises(TypeError, match="max_norm must be a number"):
        training.clip_grad_norm(params, "1")
    with pytest.raises(ValueError, match="clip_value must be > 0"):
        training.clip_grad_value(params, -1.0)
    with pytest.raises(TypeError, match="parameters must be tensors"):
        training.global_grad_norm([1.0, 2.0])


# ---------------------------------------------------------------------------- train


def _regression(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(128, 3, generator=g)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    return x, y


def test_train_reduces_loss_and_logs_every_step():
    torch.manual_seed(0)
    x, y = _regression()
    model = nn.Linear(3, 1)
    h = training.train(
        model,
        lambda step: (x, y),
        F.mse_loss,
        steps=100,
        lr=0.1,
        progress=False,
        eval_fn=lambda m: F.mse_loss(m(x), y).item(),
        eval_every=25,
    )
    assert h.steps == 100 and len(h.grad_norm) == 100 and len(h.wall_time) == 100
    assert h.loss[-1] < 1e-3 * h.loss[0]
    assert h.eval_steps == [25, 50, 75, 100]
    assert h.eval_metrics["eval"][-1] == pytest.approx(F.mse_loss(model(x), y).item())
    step, value = h.best()
    assert value == min(h.eval_metrics["eval"]) and step in h.eval_steps
    assert h.best("loss")[1] == min(h.loss)
    d = h.to_dict()
    assert d["loss"] == h.loss and d["eval_metrics"]["eval"] == h.eval_metrics["eval"]
    assert all(b >= a for a, b in zip(h.wall_time, h.wall_time[1:], strict=False))


def test_train_logs_grad_norm_before_clipping():
    x, y = _regression()
    model = nn.Linear(3, 1)
    ref = nn.Linear(3, 1)
    ref.load_state_dict(model.state_dict())
    h = training.train(
        model, [(x, y)], F.mse_loss, steps=1, optimizer="sgd", lr=0.1, clip_norm=0.01,
        progress=False,
    )  # fmt: skip
    F.mse_loss(ref(x), y).backward()
    norm = torch.nn.utils.clip_grad_norm_(ref.parameters(), 0.01)
    assert h.grad_norm[0] == pytest.approx(norm.item(), rel=1e-6) and norm > 0.01
    with torch.no_grad():  # the step used the clipped gradient
        for p, q in zip(model.parameters(), ref.parameters(), strict=True):
            assert torch.allclose(p, q - 0.1 * q.grad)


def test_train_stops_on_nan_naming_the_step():
    x, y = _regression()
    model = nn.Linear(3, 1)

    def batches(step):
        return (x * math.nan, y) if step == 7 else (x, y)

    with pytest.raises(training.NonFiniteLossError, match=r"update 8 \(step=7\)") as err:
        training.train(model, batches, F.mse_loss, steps=20, progress=False)
    assert isinstance(err.value, FloatingPointError)
    assert "clip" in str(err.value) and "learning rate" in str(err.value)


def test_train_stop_when_and_iterable_that_runs_out():
    x, y = _regression()
    h = training.train(
        nn.Linear(3, 1), lambda s: (x, y), F.mse_loss, steps=100, progress=False,
        stop_when=lambda h: h.steps == 5,
    )  # fmt: skip
    assert h.steps == 5 and h.stopped_early
    with pytest.raises(ValueError, match="ran out after 2"):
        training.train(nn.Linear(3, 1), [(x, y)] * 2, F.mse_loss, steps=3, progress=False)


def test_progress_bar_can_be_silenced(capsys):
    x, y = _regression()
    training.train(nn.Linear(3, 1), lambda s: (x, y), F.mse_loss, steps=3, progress=False)
    assert capsys.readouterr() == ("", "")
    training.train(nn.Linear(3, 1), lambda s: (x, y), F.mse_loss, steps=3, progress=True)
    assert "3/3" in capsys.readouterr().err  # the terminal bar goes to stderr


def test_history_plot_returns_a_figure():
    x, y = _regression()
    h = training.train(
        nn.Linear(3, 1), lambda s: (x, y), F.mse_loss, steps=10, progress=False,
        eval_fn=lambda m: {"mse": 1.0, "acc": 0.5}, eval_every=5,
    )  # fmt: skip
    fig = h.plot()
    assert isinstance(fig, Figure)
    ax, ax2 = fig.axes
    assert len(ax.get_lines()) == 3 and len(ax2.get_lines()) == 1
    assert list(ax2.get_lines()[0].get_ydata()) == h.grad_norm


def test_train_bad_inputs():
    x, y = _regression()
    model = nn.Linear(3, 1)
    ok = dict(steps=2, progress=False)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        training.train(lambda v: v, lambda s: (x, y), F.mse_loss, **ok)
    with pytest.raises(TypeError, match="batches must be a callable"):
        training.train(model, 3, F.mse_loss, **ok)
    with pytest.raises(TypeError, match="loss_fn must be callable"):
        training.train(model, lambda s: (x, y), "mse", **ok)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        training.train(model, lambda s: (x, y), F.mse_loss, optimizer="adamw", **ok)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        training.train(model, lambda s: (x, y), F.mse_loss, steps=0)
    with pytest.raises(TypeError, match="torch.optim.Optimizer"):
        training.train(model, lambda s: (x, y), F.mse_loss, optimizer=0.1, **ok)
    sgd = torch.optim.SGD(model.parameters(), lr=0.01)
    before = model.weight.detach().clone()
    training.train(model, lambda s: (x, y), F.mse_loss, optimizer=sgd, clip_value=1e-3, **ok)
    assert (model.weight - before).abs().max() < 2 * 0.01 * 1e-3 + 1e-6  # clipped steps (float32)
    with pytest.raises(ValueError, match="lr must be > 0"):
        training.train(model, lambda s: (x, y), F.mse_loss, lr=-1.0, **ok)
    with pytest.raises(ValueError, match="clip_norm must be > 0"):
        training.train(model, lambda s: (x, y), F.mse_loss, clip_norm=0, **ok)
    with pytest.raises(ValueError, match="metric must be one of"):
        training.History(loss=[1.0]).best("mse")
    with pytest.raises(ValueError, match="No values"):
        training.History().best()


class _GRUAdder(nn.Module):
    def __init__(self, hidden=16):
        super().__init__()
        self.rnn = nn.GRU(2, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x):  # x: (B, T, 2) -> (B, 1)
        return self.out(self.rnn(x)[0][:, -1])


def test_small_gru_solves_the_adding_problem_within_a_step_budget():
    # Over seeds 0-9 this setup reaches test MSE < 0.01 after 80-100 updates at T = 50.
    T, seed = 50, 0
    x_test, y_test = adding_problem(500, T, seed=10_000)
    torch.manual_seed(seed)
    model = _GRUAdder(16)
    gen = torch.Generator().manual_seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: extra threads only add overhead
    try:
        h = training.train(
            model,
            lambda step: adding_problem(64, T, seed=gen),  # a fresh batch every update
            F.mse_loss,
            steps=300,
            lr=0.05,
            clip_norm=1.0,
            progress=False,
            eval_fn=lambda m: {"mse": F.mse_loss(m(x_test), y_test).item()},
            eval_every=10,
            stop_when=lambda h: bool(h.eval_steps) and h.eval_metrics["mse"][-1] < 0.01,
        )
    finally:
        torch.set_num_threads(threads)
    assert h.eval_metrics["mse"][-1] < 0.01 < ADDING_BASELINE_MSE / 10
    assert h.stopped_early and h.steps <= 300
    assert max(h.eval_metrics["mse"]) > 0.05  # it started far from solved


# ---------------------------------------------------- teacher forcing and free running


def test_teacher_forced_inputs_tokens_and_vectors():
    tokens = torch.tensor([[5, 6, 7], [8, 9, 10]])
    assert torch.equal(
        training.teacher_forced_inputs(tokens, 0), torch.tensor([[0, 5, 6], [0, 8, 9]])
    )
    assert torch.equal(
        training.teacher_forced_inputs(tokens, torch.tensor([1, 2]))[:, 0], torch.tensor([1, 2])
    )
    vectors = torch.arange(12.0).reshape(2, 3, 2)
    out = training.teacher_forced_inputs(vectors, torch.tensor([-1.0, -2.0]))
    assert out.shape == vectors.shape
    assert torch.equal(out[:, 0], torch.tensor([[-1.0, -2.0], [-1.0, -2.0]]))
    assert torch.equal(out[:, 1:], vectors[:, :-1])
    with pytest.raises(ValueError, match="start must broadcast"):
        training.teacher_forced_inputs(vectors, torch.zeros(3))
    with pytest.raises(TypeError, match="integer dtype"):
        training.teacher_forced_inputs(tokens.float(), 0)
    with pytest.raises(ValueError, match=r"\(B, T\) or vectors"):
        training.teacher_forced_inputs(torch.zeros(4), 0)
    with pytest.raises(TypeError, match="torch.Tensor"):
        training.teacher_forced_inputs([[1, 2]], 0)


class _TokenRNN(nn.Module):
    """A tiny output-feedback token model: step_fn(tokens (B,), h) -> (logits (B, V), h)."""

    def __init__(self, vocab=7, hidden=8):
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden)
        self.cell = nn.GRUCell(hidden, hidden)
        self.out = nn.Linear(hidden, vocab)

    def step(self, tokens, h):
        h = self.cell(self.embed(tokens), h)
        return self.out(h), h


def _tokens(batch, T, vocab=7, seed=0):
    return torch.randint(0, vocab, (batch, T), generator=torch.Generator().manual_seed(seed))


def _argmax(logits):
    return logits.argmax(-1)


def test_free_running_feeds_outputs_back():
    torch.manual_seed(0)
    model = _TokenRNN()
    outputs, h = training.free_running(model.step, torch.tensor([1, 2]), 5, to_input=_argmax)
    assert outputs.shape == (2, 5, 7) and h.shape == (2, 8)
    # the same loop written out by hand
    tok, state = torch.tensor([1, 2]), None
    for t in range(5):
        logits, state = model.step(tok, state)
        assert torch.equal(logits, outputs[:, t])
        tok = logits.argmax(-1)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        training.free_running(model.step, torch.tensor([1]), 0)


# ---------------------------------------------------------------- scheduled sampling


def test_schedules_values_and_validation():
    lin = training.LinearSchedule(k=1.0, c=0.01, eps_min=0.2)
    assert [lin(i) for i in (0, 50, 80, 1000)] == pytest.approx([1.0, 0.5, 0.2, 0.2])
    exp = training.ExponentialSchedule(k=0.99)
    assert exp(0) == 1.0 and exp(100) == pytest.approx(0.99**100)
    inv = training.InverseSigmoidSchedule(k=10.0)
    assert inv(0) == pytest.approx(10 / 11)
    assert inv(10**6) == 0.0
    values = [inv(i) for i in range(0, 200, 10)]
    assert all(b < a for a, b in zip(values, values[1:], strict=False))
    with pytest.raises(ValueError, match="k must be < 1"):
        training.ExponentialSchedule(k=1.0)
    with pytest.raises(ValueError, match="k must be >= 1"):
        training.InverseSigmoidSchedule(k=0.5)
    with pytest.raises(ValueError, match="eps_min must be <= 0.5"):
        training.LinearSchedule(k=0.5, eps_min=0.7)
    with pytest.raises(ValueError, match="i must be >= 0"):
        lin(-1)
    with pytest.raises(TypeError, match="i must be an int"):
        lin(1.5)


@pytest.mark.parametrize("eps", [0.1, 0.5, 0.9])
def test_scheduled_sampling_fraction_of_true_tokens_matches_eps(eps):
    model = _TokenRNN()
    targets = _tokens(256, 20)
    _, _, used = training.scheduled_sampling(model.step, targets, 0, eps, to_input=_argmax, seed=1)
    assert used.shape == (256, 20) and used[:, 0].all()
    n = used[:, 1:].numel()
    frac = used[:, 1:].float().mean().item()
    assert abs(frac - eps) < 4 * math.sqrt(eps * (1 - eps) / n)  # 4 standard errors
    # coins are independent across sequences: not all rows agree at a step
    assert (used[:, 1:].float().std(dim=0) > 0).all()


def test_scheduled_sampling_extremes_equal_teacher_forcing_and_free_running():
    torch.manual_seed(0)
    model = _TokenRNN()
    targets = _tokens(4, 6)
    out1, _, used1 = training.scheduled_sampling(model.step, targets, 0, 1.0, to_input=_argmax)
    teacher = training.teacher_forced_inputs(targets, 0)
    state, expected = None, []
    for t in range(6):
        logits, state = model.step(teacher[:, t], state)
        expected.append(logits)
    assert used1.all() and torch.equal(out1, torch.stack(expected, 1))

    out0, _, used0 = training.scheduled_sampling(model.step, targets, 0, 0.0, to_input=_argmax)
    free, _ = training.free_running(
        model.step, torch.zeros(4, dtype=torch.long), 6, to_input=_argmax
    )
    assert not used0[:, 1:].any() and torch.equal(out0, free)


def test_no_gradient_flows_through_fed_back_samples():
    torch.manual_seed(0)
    model = nn.Linear(3, 3)  # a vector model with output feedback: o_t = L(o_{t-1})

    def step(x, state):
        return model(x), state

    targets = torch.randn(2, 4, 3)
    start = torch.zeros(3)
    out, _, used = training.scheduled_sampling(step, targets, start, 0.0)
    assert not used[:, 1:].any()
    # the last output depends on the input it was fed; with detaching that input is a leaf
    fed = model(torch.zeros(2, 3))
    mixed, _ = training.scheduled_sampling_step(targets[:, 0], fed, 0.0)
    assert fed.requires_grad and not mixed.requires_grad
    # the gradient of the last output reaches the weights only through the last step:
    # equal to the gradient of one step applied to a constant input
    w_grad = torch.autograd.grad(out[:, -1].sum(), model.weight)[0]
    prev = out[:, -2].detach()
    one_step = torch.autograd.grad(model(prev).sum(), model.weight)[0]
    assert torch.allclose(w_grad, one_step)
    # without detaching (free running) the gradient is different
    free, _ = training.free_running(step, torch.zeros(2, 3), 4)
    assert torch.allclose(free, out)
    assert not torch.allclose(torch.autograd.grad(free[:, -1].sum(), model.weight)[0], w_grad)
    # the targets never receive a gradient from a model sample either
    x = torch.randn(2, 3, requires_grad=True)
    mixed, _ = training.scheduled_sampling_step(torch.zeros(2, 3), x * 2, 0.0)
    (g,) = torch.autograd.grad(mixed.sum() + x.sum(), x)
    assert torch.equal(g, torch.ones(2, 3))  # only the direct x.sum() term


def test_scheduled_sampling_is_reproducible_and_validates():
    model = _TokenRNN()
    targets = _tokens(8, 5)
    a = training.scheduled_sampling(model.step, targets, 0, 0.5, to_input=_argmax, seed=3)[2]
    b = training.scheduled_sampling(model.step, targets, 0, 0.5, to_input=_argmax, seed=3)[2]
    assert torch.equal(a, b)
    with pytest.raises(TypeError, match="argmax"):  # logits fed where tokens belong
        training.scheduled_sampling(model.step, targets, 0, 0.5, to_input=lambda o: o[:, 0])
    with pytest.raises(ValueError, match="eps must be <= 1"):
        training.scheduled_sampling(model.step, targets, 0, 1.5, to_input=_argmax)
    with pytest.raises(ValueError, match="model_input must have shape"):
        training.scheduled_sampling_step(torch.zeros(2, 3), torch.zeros(2, 4), 0.5)


# ----------------------------------------------------------- autoregressive sampling

# The toy corpus: next-word distributions that depend on the whole prefix.
WORDS = ["<s>", "I", "think", "therefore", "am", "like", "machine", "learning", "not",
         "just", "a", "neural", "network", "</s>"]  # fmt: skip
SENTENCES = [
    "I think therefore I am </s>",
    "I like machine learning </s>",
    "I am not just a neural network </s>",
]


def _corpus_model():
    """An exact next-word model of the corpus: the state is the prefix so far."""
    idx = {w: i for i, w in enumerate(WORDS)}
    table = {}
    for s in SENTENCES:
        prefix = ()
        for w in s.split():
            table.setdefault(prefix, torch.zeros(len(WORDS)))[idx[w]] += 1
            prefix += (idx[w],)

    def step(tokens, state):
        state = [()] * len(tokens) if state is None else state
        state = [p + (int(t),) if int(t) != 0 else p for p, t in zip(state, tokens, strict=True)]
        counts = torch.stack([table.get(p, torch.eye(len(WORDS))[-1]) for p in state])
        return counts.clamp_min(1e-9).log(), state  # log of the counts are valid logits

    return step


def _text(ids):
    return " ".join(WORDS[int(i)] for i in ids)


def test_sample_sequence_strategies():
    step = _corpus_model()
    greedy = training.sample_sequence(step, 0, 10, stop_token=len(WORDS) - 1)
    assert _text(greedy[0]) == "I think therefore I am </s>"  # ties go to the first word
    start = torch.zeros(64, dtype=torch.long)
    sampled = training.sample_sequence(
        step, start, 10, strategy="temperature", seed=0, stop_token=len(WORDS) - 1
    )
    texts = {_text(row).split(" </s>")[0] + " </s>" for row in sampled}
    assert texts == set(SENTENCES)  # feeding samples back keeps every sentence coherent
    top1 = training.sample_sequence(step, start[:4], 10, strategy="top_k", k=1, seed=0)
    assert torch.equal(top1, training.sample_sequence(step, start[:4], 10)[:, : top1.shape[1]])
    again = training.sample_sequence(
        step, start, 10, strategy="temperature", seed=0, stop_token=len(WORDS) - 1
    )
    assert torch.equal(sampled, again)


def test_temperature_and_top_k_shape_the_distribution():
    logits = torch.log(torch.tensor([0.5, 0.3, 0.15, 0.05]))

    def step(tokens, state):
        return logits.expand(len(tokens), 4), state

    start = torch.zeros(20_000, dtype=torch.long)

    def freq(**kw):
        x = training.sample_sequence(step, start, 1, seed=0, **kw)[:, 0]
        return torch.bincount(x, minlength=4).double() / len(x)

    assert torch.allclose(freq(strategy="temperature"), logits.exp().double(), atol=0.015)
    hot = torch.softmax(logits / 2.0, -1).double()
    assert torch.allclose(freq(strategy="temperature", temperature=2.0), hot, atol=0.015)
    top2 = freq(strategy="top_k", k=2)
    assert top2[2:].sum() == 0
    assert torch.allclose(top2[:2], torch.tensor([0.625, 0.375], dtype=torch.float64), atol=0.015)


def test_sample_sequence_bad_inputs():
    step = _corpus_model()
    with pytest.raises(ValueError, match="temperature must be > 0"):
        training.sample_sequence(step, 0, 3, strategy="temperature", temperature=0.0)
    with pytest.raises(ValueError, match="needs k"):
        training.sample_sequence(step, 0, 3, strategy="top_k")
    with pytest.raises(ValueError, match="k must be <= the vocabulary size 14"):
        training.sample_sequence(step, 0, 3, strategy="top_k", k=15)
    with pytest.raises(ValueError, match="k must be >= 1"):
        training.sample_sequence(step, 0, 3, strategy="top_k", k=0)
    with pytest.raises(ValueError, match="strategy must be one of"):
        training.sample_sequence(step, 0, 3, strategy="beam")
    with pytest.raises(ValueError, match="stop_token must be >= 0"):
        training.sample_sequence(step, 0, 3, stop_token=-1)
    with pytest.raises(TypeError, match="token ids"):
        training.sample_sequence(step, torch.zeros(2), 3)


def test_sampling_independently_produces_nonsense():
    # per-position word distributions of the corpus (what a model without feedback knows)
    T = 7
    probs = torch.zeros(T, len(WORDS))
    for s in SENTENCES:
        words = s.split() + ["</s>"] * T
        for t in range(T):
            probs[t, WORDS.index(words[t])] += 1 / 3
    draws = [_text(training.sample_independently(probs, seed=s)) for s in range(200)]
    assert draws[0] == _text(training.sample_independently(probs, seed=0))
    valid = {" ".join((s.split() + ["</s>"] * T)[:T]) for s in SENTENCES}
    nonsense = [d for d in draws if d not in valid]
    assert len(nonsense) > 150  # 8 of 9 draws of the first two words already disagree
    assert any(d.startswith("I like just") or d.startswith("I think not") for d in nonsense)
    with pytest.raises(ValueError, match="sum to 1"):
        training.sample_independently(probs * 2)
    with pytest.raises(ValueError, match=r"must have 2 dimensions"):
        training.sample_independently(probs[0])


def test_train_unpacks_tuple_inputs():
    class TwoInputs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x, z):
            return self.w * x + z

    g = torch.Generator().manual_seed(0)
    x, z = torch.randn(64, 1, generator=g), torch.randn(64, 1, generator=g)
    model = TwoInputs()
    training.train(
        model, lambda step: ((x, z), 3 * x + z), F.mse_loss, steps=200, lr=0.1, progress=False
    )
    assert abs(model.w.item() - 3) < 1e-2
