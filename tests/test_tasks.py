"""Tests for rnncourse.tasks: determinism, structure, baselines, and input errors."""

import math
import re
from collections import Counter, defaultdict

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnncourse import tasks

# Every generator, called small, as a function of the seed.
GENERATORS = {
    "adding": lambda seed: tasks.adding_problem(4, 10, seed=seed),
    "copy": lambda seed: tasks.copy_task(4, 5, k=3, seed=seed),
    "parity": lambda seed: tasks.parity(4, 10, seed=seed),
    "reber": lambda seed: tasks.reber_strings(5, seed=seed),
    "ecg": lambda seed: tasks.ecg(2, 3.0, fs=50.0, seed=seed),
    "sine": lambda seed: tasks.sine_waves(4, 10, noise=0.1, seed=seed),
    "sentiment": lambda seed: tasks.sentiment(8, seed=seed)[:3],
}


def _tensors(result):
    """Flatten a generator's result into a list of tensors or strings, for comparison."""
    if isinstance(result, torch.Tensor | str):
        return [result]
    return [item for part in result for item in _tensors(part)]


def _equal(a, b) -> bool:
    return all(
        torch.equal(x, y) if isinstance(x, torch.Tensor) else x == y
        for x, y in zip(_tensors(a), _tensors(b), strict=True)
    )


@pytest.mark.parametrize("name", GENERATORS)
def test_same_seed_same_data_and_global_rng_untouched(name):
    make = GENERATORS[name]
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()  # noqa: NPY002 (the legacy global state)
    first, second = make(123), make(123)
    other = make(124)
    make(None)
    make(torch.Generator().manual_seed(5))
    assert torch.equal(torch.get_rng_state(), torch_state)
    after = np.random.get_state()  # noqa: NPY002 (the legacy global state)
    assert np.array_equal(after[1], np_state[1]) and after[2] == np_state[2]
    assert _equal(first, second)
    assert not _equal(first, other)
    # A torch.Generator is equivalent to an int seed, and None gives fresh data.
    assert _equal(make(torch.Generator().manual_seed(123)), first)
    assert _equal(make(np.int64(123)), first)
    assert not _equal(make(None), make(None))


@pytest.mark.parametrize("name", GENERATORS)
def test_bad_seed(name):
    with pytest.raises(TypeError, match="seed must be an int"):
        GENERATORS[name]("42")
    with pytest.raises(TypeError, match="seed must be an int"):
        GENERATORS[name](1.5)


@pytest.mark.parametrize(
    "call",
    [
        lambda b: tasks.adding_problem(b, 10),
        lambda b: tasks.copy_task(b, 5),
        lambda b: tasks.parity(b, 10),
        lambda b: tasks.ecg(b, 3.0),
        lambda b: tasks.sine_waves(b, 10),
        lambda b: tasks.sentiment(b),
        lambda b: tasks.reber_strings(b),
    ],
)
def test_batch_size_checked(call):
    with pytest.raises(ValueError, match=">= 1"):
        call(0)
    with pytest.raises(TypeError, match="must be an int"):
        call(2.0)


def test_package_exports_every_name_of_its_modules():
    from rnncourse.tasks import corpora, encoding, grammars, memory, next_char, signals, text

    modules = (memory, grammars, signals, text, encoding, corpora, next_char)
    names = [name for module in modules for name in module.__all__]
    assert sorted(tasks.__all__) == sorted(names)
    for module in modules:
        for name in module.__all__:
            assert getattr(tasks, name) is getattr(module, name)


# --------------------------------------------------------------------------- adding


def test_adding_structure():
    x, y = tasks.adding_problem(64, 11, seed=0)
    assert x.shape == (64, 11, 2) and y.shape == (64, 1)
    assert x.dtype == y.dtype == torch.float32
    values, marker = x[..., 0], x[..., 1]
    assert ((values >= 0) & (values <= 1)).all()
    assert set(marker.unique().tolist()) == {0.0, 1.0}
    assert (marker[:, :5].sum(1) == 1).all() and (marker[:, 5:].sum(1) == 1).all()
    first, second = marker[:, :5].argmax(1), 5 + marker[:, 5:].argmax(1)
    rows = torch.arange(64)
    torch.testing.assert_close(y[:, 0], values[rows, first] + values[rows, second])


def test_adding_baseline_mse_empirical():
    assert tasks.ADDING_BASELINE_MSE == pytest.approx(0.1667, abs=1e-4)
    _, y = tasks.adding_problem(100_000, 2, seed=1)
    mse = F.mse_loss(torch.ones_like(y), y).item()
    assert mse == pytest.approx(tasks.ADDING_BASELINE_MSE, abs=0.003)


def test_adding_bad_T():
    with pytest.raises(ValueError, match="one marker in each half"):
        tasks.adding_problem(4, 1)
    with pytest.raises(TypeError, match="T must be an int"):
        tasks.adding_problem(4, 10.0)


# --------------------------------------------------------------------------- copy


def test_copy_structure():
    T, k, alphabet = 7, 4, 5
    x, y = tasks.copy_task(16, T, k=k, alphabet=alphabet, seed=0)
    assert x.shape == y.shape == (16, T + 2 * k) and x.dtype == y.dtype == torch.long
    symbols = x[:, :k]
    assert ((symbols >= 1) & (symbols <= alphabet)).all()
    assert (x[:, k : k + T - 1] == 0).all()
    assert (x[:, k + T - 1] == alphabet + 1).all()
    assert (x[:, k + T :] == 0).all()
    assert (y[:, : T + k] == 0).all()
    assert torch.equal(y[:, T + k :], symbols)
    encoded = tasks.one_hot(x, alphabet + 2)
    assert encoded.shape == (16, T + 2 * k, alphabet + 2)
    assert torch.equal(encoded.argmax(-1), x)


def test_copy_baseline_value():
    assert tasks.copy_baseline(100) == pytest.approx(0.173, abs=5e-4)
    assert tasks.copy_baseline(100) == pytest.approx(10 * math.log(8) / 120)


@pytest.mark.parametrize("T, k, alphabet", [(100, 10, 8), (20, 3, 4)])
def test_copy_baseline_is_memoryless_cross_entropy(T, k, alphabet):
    _, y = tasks.copy_task(256, T, k=k, alphabet=alphabet, seed=3)
    L = T + 2 * k
    probs = torch.zeros(L, alphabet + 2)
    probs[: T + k, 0] = 1.0  # blank while waiting
    probs[T + k :, 1 : alphabet + 1] = 1.0 / alphabet  # uniform guess when recalling
    log_probs = probs.log().expand(256, L, alphabet + 2)
    loss = F.nll_loss(log_probs.reshape(-1, alphabet + 2), y.reshape(-1))
    assert loss.item() == pytest.approx(tasks.copy_baseline(T, k, alphabet), rel=1e-6)


@pytest.mark.parametrize(
    "kwargs, err, words",
    [
        (dict(T=0), ValueError, "delay"),
        (dict(T=-3), ValueError, "delay"),
        (dict(T=5, k=0), ValueError, "k (the number"),
        (dict(T=5, alphabet=1), ValueError, "alphabet must be >= 2"),
        (dict(T=5, alphabet=8.0), TypeError, "alphabet must be an int"),
    ],
)
def test_copy_bad_input(kwargs, err, words):
    T = kwargs.pop("T")
    with pytest.raises(err) as info:
        tasks.copy_task(4, T, **kwargs)
    assert words in str(info.value)
    with pytest.raises(err):
        tasks.copy_baseline(T, **kwargs)


# --------------------------------------------------------------------------- parity


def test_parity_is_running_xor():
    x, y = tasks.parity(8, 30, seed=0)
    assert x.shape == y.shape == (8, 30, 1) and x.dtype == torch.float32
    expected = x[..., 0].numpy().astype(int).cumsum(axis=1) % 2 == 1  # running XOR
    assert np.array_equal(y[..., 0].numpy().astype(bool), expected)


def test_parity_baseline():
    _, y = tasks.parity(2000, 20, seed=1)
    accuracy_of_zero = (y == 0).float().mean().item()
    assert accuracy_of_zero == pytest.approx(tasks.PARITY_BASELINE_ACCURACY, abs=0.01)
    with pytest.raises(ValueError, match="T must be >= 1"):
        tasks.parity(4, 0)


# --------------------------------------------------------------------------- Reber

# The Reber grammar as a regular expression, derived from the graph by hand.
_R2 = "(?:T*VPX)*T*V(?:V|PS)"  # from state 2 to the end
_INNER = f"B(?:TS*X(?:S|X{_R2})|P{_R2})E"
REBER_RE = re.compile(_INNER)
EMBEDDED_RE = re.compile(f"B([TP]){_INNER}\\1E")


def _oracle(string, embedded):
    return bool((EMBEDDED_RE if embedded else REBER_RE).fullmatch(string))


@pytest.mark.parametrize(
    "string, embedded, ok",
    [
        ("BTXSE", False, True),
        ("BPVVE", False, True),
        ("BTSSXXTVVE", False, True),
        ("BPTVPSE", False, True),
        ("BTXE", False, False),
        ("BPVE", False, False),
        ("TXSE", False, False),
        ("BTXSEE", False, False),
        ("BTBTXSETE", True, True),
        ("BPBPVVEPE", True, True),
        ("BTBPTVPSETE", True, True),
        ("BTBTXSEPE", True, False),  # the closing symbol must repeat the second
        ("BTBTXSET", True, False),  # incomplete
        ("BTBTXXETE", True, False),
        ("BTBXSETE", True, False),
        ("btbtxsete", True, False),
        ("", True, False),
        ("BTXSE", True, False),  # a plain Reber string is not embedded
    ],
)
def test_is_grammatical_hand_written(string, embedded, ok):
    assert tasks.is_grammatical(string, embedded) is ok
    assert _oracle(string, embedded) is ok  # the oracle agrees, so the case is right


@pytest.mark.parametrize("embedded", [True, False])
def test_generated_strings_and_mutations(embedded):
    strings = tasks.reber_strings(300, embedded, seed=0)
    assert all(tasks.is_grammatical(s, embedded) and _oracle(s, embedded) for s in strings)
    g = torch.Generator().manual_seed(1)
    for s in strings[:100]:
        t = int(torch.randint(len(s), (1,), generator=g))
        symbol = tasks.REBER_ALPHABET[int(torch.randint(7, (1,), generator=g))]
        for mutated in (s[:t] + symbol + s[t + 1 :], s[:t] + s[t + 1 :], s + "E"):
            assert tasks.is_grammatical(mutated, embedded) == _oracle(mutated, embedded)


def test_embedded_strings_carry_the_second_symbol():
    strings = tasks.reber_strings(400, seed=2)
    assert all(s[1] == s[-2] for s in strings)
    assert Counter(s[1] for s in strings)["T"] / 400 == pytest.approx(0.5, abs=0.08)


@pytest.mark.parametrize("embedded", [True, False])
def test_next_symbols_match_observed_continuations(embedded):
    strings = tasks.reber_strings(2000, embedded, seed=3)
    seen = defaultdict(set)
    counts = Counter()
    for s in strings:
        for t in range(1, len(s)):
            seen[s[:t]].add(s[t])
            counts[s[:t]] += 1
    for s in strings[:200]:
        legal = tasks.next_symbols(s, embedded)
        assert len(legal) == len(s) and legal[-1] == set()
        for t in range(1, len(s)):
            prefix = s[:t]
            assert seen[prefix] <= legal[t - 1]
            if counts[prefix] >= 60:  # every branch shows up, except with prob. < 2^-60
                assert seen[prefix] == legal[t - 1]


def test_next_symbols_rejects_illegal_prefix():
    assert tasks.next_symbols("BTB") == [{"T", "P"}, {"B"}, {"T", "P"}]
    with pytest.raises(ValueError, match="not grammatical.*position 2"):
        tasks.next_symbols("BTX")
    with pytest.raises(TypeError, match="must be a str"):
        tasks.next_symbols(["B", "T"])
    with pytest.raises(TypeError, match="must be a str"):
        tasks.is_grammatical(None)


def test_reber_batch_encoding():
    strings = tasks.reber_strings(6, seed=4)
    x, targets, lengths = tasks.reber_batch(strings)
    T = max(map(len, strings))
    assert x.shape == targets.shape == (6, T, 7)
    assert lengths.tolist() == [len(s) for s in strings]
    for b, s in enumerate(strings):
        n = len(s)
        assert "".join(tasks.REBER_ALPHABET[i] for i in x[b, :n].argmax(-1)) == s
        assert (x[b, :n].sum(-1) == 1).all() and (x[b, n:] == 0).all()
        assert (targets[b, n - 1 :] == 0).all()
        for t, legal in enumerate(tasks.next_symbols(s)):
            assert {tasks.REBER_ALPHABET[i] for i in targets[b, t].nonzero()[:, 0]} == legal
    with pytest.raises(TypeError, match="non-empty list"):
        tasks.reber_batch("BTBTXSETE")
    with pytest.raises(ValueError, match="not grammatical"):
        tasks.reber_batch(["BTBTXSEPE"])


def test_reber_correct_and_memoryless_baseline():
    strings = tasks.reber_strings(1000, seed=5)
    _, targets, lengths = tasks.reber_batch(strings)
    assert tasks.reber_correct(targets, targets, lengths).all()
    # A model that knows the inner grammar but forgot the second symbol always says T
    # where the closing symbol is due (two steps before the end).
    forgetful = targets.clone()
    close = lengths - 3
    rows = torch.arange(len(strings))
    forgetful[rows, close] = torch.tensor([0, 1.0, 0, 0, 0.5, 0, 0])  # T over P
    solved = tasks.reber_correct(forgetful, targets, lengths)
    assert solved.float().mean().item() == pytest.approx(tasks.REBER_BASELINE_SOLVED, abs=0.05)
    assert torch.equal(solved, torch.tensor([s[1] == "T" for s in strings]))
    # Swapping the two most active outputs at a two-choice step breaks that string.
    wrong = targets.clone()
    wrong[0, 0] = torch.tensor([1.0, 0, 0, 0, 0, 0, 0])
    assert not tasks.reber_correct(wrong, targets, lengths)[0]
    with pytest.raises(ValueError, match="scores must have shape"):
        tasks.reber_correct(targets[:, :-1], targets, lengths)


# --------------------------------------------------------------------------- ECG


def _peak_indices(r_peaks):
    return r_peaks[:, 0].nonzero()[:, 0]


@pytest.mark.parametrize("noise, wander, tolerance", [(0.0, 0.0, 1), (0.02, 0.1, 2)])
def test_ecg_peaks_align_with_qrs_maxima(noise, wander, tolerance):
    fs = 250.0
    data = tasks.ecg(6, 10.0, fs=fs, noise=noise, wander=wander, seed=0)
    assert data.x.shape == data.r_peaks.shape == (6, 2500, 1)
    assert data.heart_rate.shape == (6, 1) and data.x.dtype == torch.float32
    half = int(0.04 * fs)  # look 40 ms either side: within the QRS complex
    for b in range(6):
        signal = data.x[b, :, 0]
        peaks = _peak_indices(data.r_peaks[b])
        assert len(peaks) >= 8
        for p in peaks.tolist():
            if half <= p < len(signal) - half:
                window = signal[p - half : p + half + 1]
                assert abs(int(window.argmax()) - half) <= tolerance
                assert 0.8 < float(signal[p]) < 1.3  # the R wave is about 1 mV


def test_ecg_rate_from_labelled_peaks_matches_target():
    fs = 250.0
    data = tasks.ecg(16, 10.0, fs=fs, seed=1)
    rates = data.heart_rate[:, 0]
    assert ((rates >= 50) & (rates <= 120)).all()
    for b in range(16):
        peaks = _peak_indices(data.r_peaks[b]).double()
        measured = 60.0 * fs / peaks.diff().mean()
        assert float(measured) == pytest.approx(float(rates[b]), rel=0.05)


def test_ecg_baseline_mse_empirical():
    assert tasks.ECG_BASELINE_MSE == pytest.approx(70.0**2 / 12)
    rates = tasks.ecg(20_000, 2.4, fs=5.0, seed=2).heart_rate
    mse = F.mse_loss(torch.full_like(rates, 85.0), rates).item()
    assert mse == pytest.approx(tasks.ECG_BASELINE_MSE, rel=0.03)
    assert tasks.ecg_baseline_mse((60, 60)) == 0.0


@pytest.mark.parametrize(
    "kwargs, err, words",
    [
        (dict(duration_s=1.0), ValueError, "two R-R intervals"),
        (dict(duration_s=0.0), ValueError, "duration_s must be > 0"),
        (dict(fs=-1.0), ValueError, "fs must be > 0"),
        (dict(heart_rate=(120, 50)), ValueError, "low <= high"),
        (dict(heart_rate=(50, 80, 120)), ValueError, "(low, high) pair"),
        (dict(heart_rate="fast"), TypeError, "heart_rate must be a number"),
        (dict(noise=-0.1), ValueError, "noise must be >= 0"),
    ],
)
def test_ecg_bad_input(kwargs, err, words):
    with pytest.raises(err) as info:
        tasks.ecg(2, **kwargs)
    assert words in str(info.value)


# --------------------------------------------------------------------------- state space

f64 = torch.float64


def _scalar(a, b=1.0):
    A, B = torch.tensor([[-a]], dtype=f64), torch.tensor([[b]], dtype=f64)
    C, D = torch.eye(1, dtype=f64), torch.zeros(1, 1, dtype=f64)
    return A, B, C, D


def test_scalar_decay_matches_analytic_solution():
    a, dt, T = 0.7, 0.1, 50
    A, B, C, D = _scalar(a)
    time = dt * torch.arange(1, T + 1, dtype=f64)
    x0 = torch.tensor([[1.0], [3.0]], dtype=f64)
    free = tasks.linear_state_space(A, B, C, D, torch.zeros(2, T, 1, dtype=f64), dt, x0=x0)
    torch.testing.assert_close(free.states[:, :, 0], x0 * torch.exp(-a * time))
    step = tasks.linear_state_space(A, B, C, D, torch.ones(1, T, 1, dtype=f64), dt)
    torch.testing.assert_close(step.states[0, :, 0], (1 - torch.exp(-a * time)) / a)
    torch.testing.assert_close(step.outputs, step.states)


def test_outputs_use_C_and_D():
    g = torch.Generator().manual_seed(0)
    A = -torch.eye(3, dtype=f64)
    B, C, D = (torch.randn(*s, generator=g, dtype=f64) for s in [(3, 2), (4, 3), (4, 2)])
    u = torch.randn(2, 5, 2, generator=g, dtype=f64)
    sim = tasks.linear_state_space(A, B, C, D, u, 0.1)
    assert sim.states.shape == (2, 5, 3) and sim.outputs.shape == (2, 5, 4)
    torch.testing.assert_close(sim.outputs, sim.states @ C.T + u @ D.T)


def test_euler_converges_to_zoh_as_dt_shrinks():
    A = torch.tensor([[0.0, 1.0], [-4.0, -0.5]], dtype=f64)
    B = torch.tensor([[0.0], [1.0]], dtype=f64)
    C, D = torch.eye(2, dtype=f64), torch.zeros(2, 1, dtype=f64)
    x0 = torch.tensor([[1.0, 0.0]], dtype=f64)
    errors = []
    for dt in (0.02, 0.01, 0.005):
        T = round(2.0 / dt)
        u = torch.ones(1, T, 1, dtype=f64)
        zoh = tasks.linear_state_space(A, B, C, D, u, dt, "zoh", x0).states[0, -1]
        euler = tasks.linear_state_space(A, B, C, D, u, dt, "euler", x0).states[0, -1]
        errors.append(float((zoh - euler).norm()))
    assert errors[0] > errors[1] > errors[2]
    assert errors[0] / errors[1] == pytest.approx(2.0, rel=0.2)  # first order in dt


def test_harmonic_oscillator_energy():
    w, dt, T = 2.0, 0.05, 400
    A = torch.tensor([[0.0, 1.0], [-(w**2), 0.0]], dtype=f64)
    B, C, D = torch.zeros(2, 1, dtype=f64), torch.eye(2, dtype=f64), torch.zeros(2, 1, dtype=f64)
    x0 = torch.tensor([[1.0, 0.0]], dtype=f64)
    u = torch.zeros(1, T, 1, dtype=f64)

    def energy(states):
        return w**2 * states[..., 0] ** 2 + states[..., 1] ** 2

    zoh = tasks.linear_state_space(A, B, C, D, u, dt, "zoh", x0).states
    torch.testing.assert_close(energy(zoh), torch.full((1, T), w**2, dtype=f64))
    euler = tasks.linear_state_space(A, B, C, D, u, dt, "euler", x0).states
    assert energy(euler)[0, -1] > 1.5 * w**2  # forward Euler spirals outward


def test_discretize_zoh_matches_closed_form():
    A, B, _, _ = _scalar(0.5, 2.0)
    A_d, B_d = tasks.discretize(A, B, 0.3)
    assert float(A_d) == pytest.approx(math.exp(-0.15))
    assert float(B_d) == pytest.approx(2.0 * (1 - math.exp(-0.15)) / 0.5)


def test_state_space_bad_input():
    A, B, C, D = _scalar(1.0)
    u = torch.zeros(1, 4, 1, dtype=f64)
    with pytest.raises(ValueError, match="A must be square"):
        tasks.linear_state_space(torch.zeros(2, 3, dtype=f64), B, C, D, u, 0.1)
    with pytest.raises(ValueError, match="B must have shape"):
        tasks.linear_state_space(A, torch.zeros(1, 2, dtype=f64), C, D, u, 0.1)
    with pytest.raises(TypeError, match="floating-point"):
        tasks.linear_state_space(A, B, C, D, u.long(), 0.1)
    with pytest.raises(ValueError, match="u must have 3 dimensions"):
        tasks.linear_state_space(A, B, C, D, u[0], 0.1)
    with pytest.raises(ValueError, match="method must be one of"):
        tasks.linear_state_space(A, B, C, D, u, 0.1, method="rk4")
    with pytest.raises(ValueError, match="dt must be > 0"):
        tasks.linear_state_space(A, B, C, D, u, 0.0)
    with pytest.raises(ValueError, match="x0 must have shape"):
        tasks.linear_state_space(A, B, C, D, u, 0.1, x0=torch.zeros(2, 1, dtype=f64))


# --------------------------------------------------------------------------- sines


def test_sine_waves_shapes_and_next_step_target():
    data = tasks.sine_waves(5, 40, seed=0)
    assert data.x.shape == data.target.shape == (5, 40, 1)
    assert data.freq.shape == data.amplitude.shape == (5, 1)
    torch.testing.assert_close(data.x[:, 1:], data.target[:, :-1])
    assert (data.x.abs().amax(1) <= data.amplitude + 1e-6).all()
    fixed = tasks.sine_waves(1, 8, freq=0.25, amplitude=2.0, phase=0.0)
    torch.testing.assert_close(
        fixed.x[0, :, 0], torch.tensor([0.0, 2, 0, -2, 0, 2, 0, -2]), atol=1e-5, rtol=0
    )
    noisy = tasks.sine_waves(5, 40, noise=0.1, seed=0)
    torch.testing.assert_close(noisy.target, data.target)
    assert (noisy.x - data.x).std().item() == pytest.approx(0.1, rel=0.2)


def test_sine_baseline_empirical():
    data = tasks.sine_waves(4000, 50, amplitude=(0.5, 1.5), seed=1)
    mse = data.target.pow(2).mean().item()
    assert mse == pytest.approx(tasks.sine_baseline_mse((0.5, 1.5)), rel=0.03)


def test_sine_bad_input():
    with pytest.raises(ValueError, match="freq\\[1\\] must be <= 0.5"):
        tasks.sine_waves(2, 10, freq=(0.1, 0.7))
    with pytest.raises(ValueError, match="T must be >= 1"):
        tasks.sine_waves(2, 0)
    with pytest.raises(ValueError, match="amplitude must be >= 0"):
        tasks.sine_waves(2, 10, amplitude=-1.0)


# --------------------------------------------------------------------------- toy corpus


@pytest.mark.parametrize("level", ["word", "char"])
def test_corpus_batch_is_shifted_by_one(level):
    batch = tasks.corpus_batch(level=level)
    vocab = batch.vocab
    assert batch.inputs.shape == batch.targets.shape and batch.inputs.dtype == torch.long
    for b, sentence in enumerate(tasks.SENTENCES):
        tokens = tasks.tokenize(sentence, level)
        n = len(tokens)
        assert batch.lengths[b] == n + 1
        assert vocab.decode(batch.inputs[b, : n + 1]) == ["<start>", *tokens]
        assert vocab.decode(batch.targets[b, : n + 1]) == [*tokens, "<stop>"]
        assert torch.equal(batch.inputs[b, 1 : n + 1], batch.targets[b, :n])
        assert (batch.inputs[b, n + 1 :] == vocab.pad_id).all()
        assert (batch.targets[b, n + 1 :] == vocab.pad_id).all()
    sep = " " if level == "word" else ""
    assert (
        sep.join(vocab.decode(vocab.encode(tasks.tokenize(tasks.SENTENCES[2], level))))
        == (tasks.SENTENCES[2])
    )


def test_word_vocab_contents():
    vocab = tasks.build_vocab()
    words = {w for s in tasks.SENTENCES for w in s.split()}
    assert len(vocab) == len(words) + 3
    assert vocab.decode([0, 1, 2]) == ["<pad>", "<start>", "<stop>"]
    assert "machine" in vocab and "Machine" not in vocab
    assert len(tasks.build_vocab(level="char")) == len(set("".join(tasks.SENTENCES))) + 3


def test_vocab_errors():
    vocab = tasks.build_vocab()
    with pytest.raises(ValueError, match="unknown tokens \\['robot'\\]"):
        vocab.encode(["I", "robot"])
    with pytest.raises(TypeError, match="not a str"):
        vocab.encode("I think")
    with pytest.raises(ValueError, match="ids must lie in"):
        vocab.decode([0, 99])
    with pytest.raises(TypeError, match="integer tensor"):
        vocab.decode(torch.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="not one str"):
        tasks.Vocab("hello")
    with pytest.raises(ValueError, match="level must be one of"):
        tasks.corpus_batch(level="byte")
    with pytest.raises(ValueError, match="unknown tokens"):
        tasks.corpus_batch(["I love cats"], vocab=vocab)


def test_corpus_baseline_is_unigram_cross_entropy():
    batch = tasks.corpus_batch()
    mask = batch.targets != batch.vocab.pad_id
    targets = batch.targets[mask]
    freq = torch.bincount(targets, minlength=len(batch.vocab)).double() / len(targets)
    logits = freq.log().expand(len(targets), -1)
    expected = F.cross_entropy(logits, targets).item()
    assert tasks.corpus_baseline(batch) == pytest.approx(expected)
    # It beats guessing uniformly over the tokens that can be targets.
    assert tasks.corpus_baseline(batch) < math.log(len(batch.vocab) - 2)


# --------------------------------------------------------------------------- sentiment


def test_sentiment_labels_count_words():
    data = tasks.sentiment(200, min_len=2, max_len=9, seed=0)
    assert data.tokens.shape == (200, int(data.lengths.max()))
    assert ((data.lengths >= 2) & (data.lengths <= 9)).all()
    for tokens, n, label in zip(data.tokens, data.lengths, data.labels, strict=True):
        words = data.vocab.decode(tokens[:n])
        assert "<pad>" not in words
        assert (tokens[n:] == data.vocab.pad_id).all()
        pos = sum(w in tasks.POSITIVE_WORDS for w in words)
        neg = sum(w in tasks.NEGATIVE_WORDS for w in words)
        assert pos != neg  # ties are excluded
        assert int(label) == int(pos > neg)


def test_sentiment_baseline_matches_label_distribution():
    assert tasks.sentiment_baseline(p_positive=0.25, p_negative=0.25) == pytest.approx(0.5)
    for p_pos, p_neg in [(0.3, 0.2), (0.1, 0.4)]:
        labels = tasks.sentiment(20_000, p_positive=p_pos, p_negative=p_neg, seed=1).labels
        majority = max(labels.float().mean().item(), 1 - labels.float().mean().item())
        expected = tasks.sentiment_baseline(p_positive=p_pos, p_negative=p_neg)
        assert majority == pytest.approx(expected, abs=0.015)
    assert tasks.sentiment_baseline() > 0.6


def test_sentiment_bad_input():
    with pytest.raises(ValueError, match="max_len must be >= min_len"):
        tasks.sentiment(4, min_len=5, max_len=3)
    with pytest.raises(ValueError, match="p_positive \\+ p_negative must be <= 1"):
        tasks.sentiment(4, p_positive=0.7, p_negative=0.5)
    with pytest.raises(ValueError, match="p_negative must be > 0"):
        tasks.sentiment(4, p_negative=0.0)


# --------------------------------------------------------------------------- one-hot


def test_one_hot_with_lengths():
    tokens = torch.tensor([[1, 2, 0], [3, 0, 0]])
    out = tasks.one_hot(tokens, 4, lengths=torch.tensor([3, 1]))
    assert out.shape == (2, 3, 4) and out.dtype == torch.float32
    assert out[0].argmax(-1).tolist() == [1, 2, 0]
    assert out[1, 0].tolist() == [0, 0, 0, 1] and (out[1, 1:] == 0).all()
    with pytest.raises(TypeError, match="integer tensor"):
        tasks.one_hot(tokens.float(), 4)
    with pytest.raises(ValueError, match="tokens must lie in"):
        tasks.one_hot(tokens, 3)
    with pytest.raises(ValueError, match="every length must be between 0 and T=3"):
        tasks.one_hot(tokens, 4, lengths=torch.tensor([4, 1]))
