import math

import pytest
import torch
from torch import nn

from rnncourse import generation, sequences, training

# ---------------------------------------------------- teacher forcing and free running


def test_teacher_forced_inputs_tokens_and_vectors():
    tokens = torch.tensor([[5, 6, 7], [8, 9, 10]])
    assert torch.equal(
        generation.teacher_forced_inputs(tokens, 0), torch.tensor([[0, 5, 6], [0, 8, 9]])
    )
    assert torch.equal(
        generation.teacher_forced_inputs(tokens, torch.tensor([1, 2]))[:, 0], torch.tensor([1, 2])
    )
    vectors = torch.arange(12.0).reshape(2, 3, 2)
    out = generation.teacher_forced_inputs(vectors, torch.tensor([-1.0, -2.0]))
    assert out.shape == vectors.shape
    assert torch.equal(out[:, 0], torch.tensor([[-1.0, -2.0], [-1.0, -2.0]]))
    assert torch.equal(out[:, 1:], vectors[:, :-1])
    with pytest.raises(ValueError, match="start must broadcast"):
        generation.teacher_forced_inputs(vectors, torch.zeros(3))
    with pytest.raises(TypeError, match="integer dtype"):
        generation.teacher_forced_inputs(tokens.float(), 0)
    with pytest.raises(ValueError, match=r"\(B, T\) or vectors"):
        generation.teacher_forced_inputs(torch.zeros(4), 0)
    with pytest.raises(TypeError, match="torch.Tensor"):
        generation.teacher_forced_inputs([[1, 2]], 0)


def test_teacher_forced_inputs_is_shift_right_with_a_broadcast_start():
    vectors = torch.randn(3, 5, 2, generator=torch.Generator().manual_seed(0))
    start = torch.tensor([0.5, -0.5])
    expected = sequences.shift_right(vectors, start.expand(3, 2))
    assert torch.equal(generation.teacher_forced_inputs(vectors, start), expected)
    assert torch.equal(
        generation.teacher_forced_inputs(vectors, 0.0), sequences.shift_right(vectors)
    )
    tokens = torch.tensor([[5, 6, 7], [8, 9, 10]])
    assert torch.equal(sequences.shift_right(tokens), torch.tensor([[0, 5, 6], [0, 8, 9]]))
    assert torch.equal(
        sequences.shift_right(tokens, torch.tensor([1, 2])), torch.tensor([[1, 5, 6], [2, 8, 9]])
    )
    with pytest.raises(TypeError, match="integer dtype"):
        sequences.shift_right(tokens.float())


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
    outputs, h = generation.free_running(model.step, torch.tensor([1, 2]), 5, to_input=_argmax)
    assert outputs.shape == (2, 5, 7) and h.shape == (2, 8)
    # the same loop written out by hand
    tok, state = torch.tensor([1, 2]), None
    for t in range(5):
        logits, state = model.step(tok, state)
        assert torch.equal(logits, outputs[:, t])
        tok = logits.argmax(-1)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        generation.free_running(model.step, torch.tensor([1]), 0)


# ---------------------------------------------------------------- scheduled sampling


def test_schedules_values_and_validation():
    lin = generation.LinearSchedule(k=1.0, c=0.01, eps_min=0.2)
    assert [lin(i) for i in (0, 50, 80, 1000)] == pytest.approx([1.0, 0.5, 0.2, 0.2])
    exp = generation.ExponentialSchedule(k=0.99)
    assert exp(0) == 1.0 and exp(100) == pytest.approx(0.99**100)
    inv = generation.InverseSigmoidSchedule(k=10.0)
    assert inv(0) == pytest.approx(10 / 11)
    assert inv(10**6) == 0.0
    values = [inv(i) for i in range(0, 200, 10)]
    assert all(b < a for a, b in zip(values, values[1:], strict=False))
    with pytest.raises(ValueError, match="k must be < 1"):
        generation.ExponentialSchedule(k=1.0)
    with pytest.raises(ValueError, match="k must be >= 1"):
        generation.InverseSigmoidSchedule(k=0.5)
    with pytest.raises(ValueError, match="eps_min must be <= 0.5"):
        generation.LinearSchedule(k=0.5, eps_min=0.7)
    with pytest.raises(ValueError, match="i must be >= 0"):
        lin(-1)
    with pytest.raises(TypeError, match="i must be an int"):
        lin(1.5)


@pytest.mark.parametrize("eps", [0.1, 0.5, 0.9])
def test_scheduled_sampling_fraction_of_true_tokens_matches_eps(eps):
    model = _TokenRNN()
    targets = _tokens(256, 20)
    _, _, used = generation.scheduled_sampling(
        model.step, targets, 0, eps, to_input=_argmax, seed=1
    )
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
    out1, _, used1 = generation.scheduled_sampling(model.step, targets, 0, 1.0, to_input=_argmax)
    teacher = generation.teacher_forced_inputs(targets, 0)
    state, expected = None, []
    for t in range(6):
        logits, state = model.step(teacher[:, t], state)
        expected.append(logits)
    assert used1.all() and torch.equal(out1, torch.stack(expected, 1))

    out0, _, used0 = generation.scheduled_sampling(model.step, targets, 0, 0.0, to_input=_argmax)
    free, _ = generation.free_running(
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
    out, _, used = generation.scheduled_sampling(step, targets, start, 0.0)
    assert not used[:, 1:].any()
    # the last output depends on the input it was fed; with detaching that input is a leaf
    fed = model(torch.zeros(2, 3))
    mixed, _ = generation.scheduled_sampling_step(targets[:, 0], fed, 0.0)
    assert fed.requires_grad and not mixed.requires_grad
    # the gradient of the last output reaches the weights only through the last step:
    # equal to the gradient of one step applied to a constant input
    w_grad = torch.autograd.grad(out[:, -1].sum(), model.weight)[0]
    prev = out[:, -2].detach()
    one_step = torch.autograd.grad(model(prev).sum(), model.weight)[0]
    assert torch.allclose(w_grad, one_step)
    # without detaching (free running) the gradient is different
    free, _ = generation.free_running(step, torch.zeros(2, 3), 4)
    assert torch.allclose(free, out)
    assert not torch.allclose(torch.autograd.grad(free[:, -1].sum(), model.weight)[0], w_grad)
    # the targets never receive a gradient from a model sample either
    x = torch.randn(2, 3, requires_grad=True)
    mixed, _ = generation.scheduled_sampling_step(torch.zeros(2, 3), x * 2, 0.0)
    (g,) = torch.autograd.grad(mixed.sum() + x.sum(), x)
    assert torch.equal(g, torch.ones(2, 3))  # only the direct x.sum() term


def test_scheduled_sampling_is_reproducible_and_validates():
    model = _TokenRNN()
    targets = _tokens(8, 5)
    a = generation.scheduled_sampling(model.step, targets, 0, 0.5, to_input=_argmax, seed=3)[2]
    b = generation.scheduled_sampling(model.step, targets, 0, 0.5, to_input=_argmax, seed=3)[2]
    assert torch.equal(a, b)
    with pytest.raises(TypeError, match="argmax"):  # logits fed where tokens belong
        generation.scheduled_sampling(model.step, targets, 0, 0.5, to_input=lambda o: o[:, 0])
    with pytest.raises(ValueError, match="eps must be <= 1"):
        generation.scheduled_sampling(model.step, targets, 0, 1.5, to_input=_argmax)
    with pytest.raises(ValueError, match="model_input must have shape"):
        generation.scheduled_sampling_step(torch.zeros(2, 3), torch.zeros(2, 4), 0.5)


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
    greedy = generation.sample_sequence(step, 0, 10, stop_token=len(WORDS) - 1)
    assert _text(greedy[0]) == "I think therefore I am </s>"  # ties go to the first word
    start = torch.zeros(64, dtype=torch.long)
    sampled = generation.sample_sequence(
        step, start, 10, strategy="temperature", seed=0, stop_token=len(WORDS) - 1
    )
    texts = {_text(row).split(" </s>")[0] + " </s>" for row in sampled}
    assert texts == set(SENTENCES)  # feeding samples back keeps every sentence coherent
    top1 = generation.sample_sequence(step, start[:4], 10, strategy="top_k", k=1, seed=0)
    assert torch.equal(top1, generation.sample_sequence(step, start[:4], 10)[:, : top1.shape[1]])
    again = generation.sample_sequence(
        step, start, 10, strategy="temperature", seed=0, stop_token=len(WORDS) - 1
    )
    assert torch.equal(sampled, again)


def test_temperature_and_top_k_shape_the_distribution():
    logits = torch.log(torch.tensor([0.5, 0.3, 0.15, 0.05]))

    def step(tokens, state):
        return logits.expand(len(tokens), 4), state

    start = torch.zeros(20_000, dtype=torch.long)

    def freq(**kw):
        x = generation.sample_sequence(step, start, 1, seed=0, **kw)[:, 0]
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
        generation.sample_sequence(step, 0, 3, strategy="temperature", temperature=0.0)
    with pytest.raises(ValueError, match="needs k"):
        generation.sample_sequence(step, 0, 3, strategy="top_k")
    with pytest.raises(ValueError, match="k must be <= the vocabulary size 14"):
        generation.sample_sequence(step, 0, 3, strategy="top_k", k=15)
    with pytest.raises(ValueError, match="k must be >= 1"):
        generation.sample_sequence(step, 0, 3, strategy="top_k", k=0)
    with pytest.raises(ValueError, match="strategy must be one of"):
        generation.sample_sequence(step, 0, 3, strategy="beam")
    with pytest.raises(ValueError, match="stop_token must be >= 0"):
        generation.sample_sequence(step, 0, 3, stop_token=-1)
    with pytest.raises(TypeError, match="token ids"):
        generation.sample_sequence(step, torch.zeros(2), 3)


def test_sampling_independently_produces_nonsense():
    # per-position word distributions of the corpus (what a model without feedback knows)
    T = 7
    probs = torch.zeros(T, len(WORDS))
    for s in SENTENCES:
        words = s.split() + ["</s>"] * T
        for t in range(T):
            probs[t, WORDS.index(words[t])] += 1 / 3
    draws = [_text(generation.sample_independently(probs, seed=s)) for s in range(200)]
    assert draws[0] == _text(generation.sample_independently(probs, seed=0))
    valid = {" ".join((s.split() + ["</s>"] * T)[:T]) for s in SENTENCES}
    nonsense = [d for d in draws if d not in valid]
    assert len(nonsense) > 150  # 8 of 9 draws of the first two words already disagree
    assert any(d.startswith("I like just") or d.startswith("I think not") for d in nonsense)
    with pytest.raises(ValueError, match="sum to 1"):
        generation.sample_independently(probs * 2)
    with pytest.raises(ValueError, match=r"must have 2 dimensions"):
        generation.sample_independently(probs[0])


def test_generation_names_live_in_generation_only():
    assert not [name for name in generation.__all__ if hasattr(training, name)]


def test_seed_none_draws_fresh_randomness_and_leaves_the_global_generator_alone():
    probs, logits = torch.full((200, 5), 0.2), torch.zeros(200, 5)
    zeros, ones, start = torch.zeros(200), torch.ones(200), torch.zeros(200, dtype=torch.long)

    def twice(draw):
        return draw(), draw()

    torch.manual_seed(0)
    before = torch.get_rng_state()
    for a, b in [
        twice(lambda: generation.sample_independently(probs)),
        twice(lambda: generation.sample_sequence(
            lambda t, s: (logits, s), start, 1, strategy="temperature")),
        twice(lambda: generation.scheduled_sampling_step(zeros, ones, 0.5)[1]),
    ]:  # fmt: skip
        assert not torch.equal(a, b)  # 200 draws the same twice: 2^-200 at most
    assert torch.equal(torch.get_rng_state(), before)  # the global generator was not used
    a, b = twice(lambda: generation.scheduled_sampling_step(zeros, ones, 0.5, seed=7)[1])
    assert torch.equal(a, b)  # an int seed works as a generator too


def test_sample_categorical_frequencies_zeros_and_seeds():
    probs = torch.tensor([[0.1, 0.0, 0.6, 0.3]]).expand(20_000, 4)
    draws = generation.sample_categorical(probs, seed=0)
    assert draws.shape == (20_000,) and draws.dtype == torch.int64
    freq = torch.bincount(draws, minlength=4) / 20_000
    assert torch.allclose(freq, probs[0], atol=0.015) and freq[1] == 0
    assert torch.equal(draws, generation.sample_categorical(probs, seed=0))
    assert not torch.equal(draws, generation.sample_categorical(probs, seed=1))
    unnormalised = generation.sample_categorical(3.0 * probs[:5], seed=0)
    assert torch.equal(unnormalised, draws[:5])


def test_sample_categorical_is_the_same_on_every_torch_version():
    # inverse-CDF sampling reads only torch.rand, whose stream for a seed does not change
    probs = torch.tensor([[0.25, 0.25, 0.5]]).expand(8, 3)
    u = torch.rand(8, generator=torch.Generator().manual_seed(3))
    expected = torch.where(u < 0.25, 0, torch.where(u < 0.5, 1, 2))
    assert torch.equal(generation.sample_categorical(probs, seed=3), expected)
    assert generation.sample_categorical(probs, seed=3).tolist() == [0, 0, 1, 0, 1, 0, 2, 2]


def test_sample_categorical_rejects_bad_probabilities():
    with pytest.raises(ValueError, match="non-negative with a positive sum"):
        generation.sample_categorical(torch.tensor([[0.5, -0.1, 0.6]]))
    with pytest.raises(ValueError, match="non-negative with a positive sum"):
        generation.sample_categorical(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"\(B, V\)"):
        generation.sample_categorical(torch.ones(3))


# ------------------------------------------------------- error against steps ahead


def _sines(T, freq=0.07, batch=3):
    """Exact sines (batch, T, 1) of one frequency, several phases and amplitudes."""
    t = torch.arange(T, dtype=torch.float64)
    a = torch.tensor([0.5, 1.0, 1.5], dtype=torch.float64)[:batch, None]
    phi = torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64)[:batch, None]
    return (a * torch.sin(2 * math.pi * freq * t + phi)).unsqueeze(-1)


def test_free_running_error_of_an_exact_model_is_zero():
    # s(t+1) = 2 cos(w) s(t) - s(t-1) holds for every sine of frequency w; the state is s(t-1)
    c = 2 * math.cos(2 * math.pi * 0.07)

    def step(x, prev):
        prev = torch.zeros_like(x) if prev is None else prev
        return c * x - prev, x

    series = _sines(30)
    errors = generation.free_running_error(step, series, 5)
    assert errors.shape == (3, 25)  # steps defaults to T - warmup
    assert errors.max() < 1e-20
    assert generation.free_running_error(step, series, 5, steps=1).shape == (3, 1)


def test_free_running_error_compounds_a_wrong_gain():
    # truth x(t) = 0.9^t; the model predicts 1.1 x(t), so k steps ahead it says
    # x(w - 1) 1.1^k against x(w - 1) 0.9^k: the error grows with k
    series = (0.9 ** torch.arange(12, dtype=torch.float64)).view(1, 12, 1).repeat(2, 1, 2)
    errors = generation.free_running_error(lambda x, h: (1.1 * x, h), series, 4, steps=6)
    k = torch.arange(1, 7, dtype=torch.float64)
    expected = (0.9**3 * (1.1**k - 0.9**k)) ** 2
    torch.testing.assert_close(errors, expected.expand(2, 6))
    assert bool((errors[0, 1:] > errors[0, :-1]).all())


def test_free_running_error_reads_the_warm_up_then_its_own_outputs():
    seen = []

    def step(x, h):
        seen.append(x[0, 0].item())
        return x + 100.0, h  # far from the truth, so an own output is easy to tell apart

    series = torch.arange(8.0).view(1, 8, 1)
    generation.free_running_error(step, series, 3, steps=4)
    assert seen == [0.0, 1.0, 2.0, 102.0, 202.0, 302.0]


def test_free_running_error_has_no_gradient_and_validates():
    model = nn.GRUCell(1, 4)
    readout = nn.Linear(4, 1)

    def step(x, h):
        h = model(x, h)
        return readout(h), h

    series = torch.randn(2, 10, 1)
    assert not generation.free_running_error(step, series, 3).requires_grad
    with pytest.raises(ValueError, match="warmup must be >= 1"):
        generation.free_running_error(step, series, 0)
    with pytest.raises(ValueError, match="warmup must be <= 9"):
        generation.free_running_error(step, series, 10)
    with pytest.raises(ValueError, match="steps must be <= T - warmup = 7"):
        generation.free_running_error(step, series, 3, steps=8)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        generation.free_running_error(step, series, 3, steps=0)
    with pytest.raises(ValueError, match="T >= 2"):
        generation.free_running_error(step, series[:, :1], 1)
    with pytest.raises(ValueError, match="3 dimensions"):
        generation.free_running_error(step, series[..., 0], 3)
    with pytest.raises(ValueError, match="output of step_fn"):
        generation.free_running_error(lambda x, h: (x[:, :0], h), series, 3)
