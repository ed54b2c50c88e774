"""Tests for the shipped text corpora and next-character data: checksums, packaging,
determinism, batch layout, baselines and input errors."""

import fnmatch
import hashlib
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnncourse import tasks
from rnncourse.tasks import corpora

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "rnncourse" / "data"


@pytest.fixture(scope="module")
def vocab():
    return tasks.char_vocab(tasks.load_names())


@pytest.fixture(scope="module")
def names_data(vocab):
    split = tasks.split_names()
    return tasks.encode_names(split.train, vocab), tasks.encode_names(split.valid, vocab)


@pytest.fixture(scope="module")
def text_ids():
    split = tasks.split_text(tasks.load_shakespeare())
    vocab = tasks.char_vocab(tasks.load_shakespeare())
    return vocab, vocab.encode(list(split.train)), vocab.encode(list(split.valid))


# --------------------------------------------------------------------------- the files


def test_checksums_match_the_published_digests():
    digests = tasks.verify_corpora()
    assert digests == {
        "names": "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d",
        "tinyshakespeare": "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
    }
    text = "\n".join(tasks.load_names()).encode()
    assert hashlib.sha256(text).hexdigest() == digests["names"]
    text = tasks.load_shakespeare().encode()
    assert hashlib.sha256(text).hexdigest() == digests["tinyshakespeare"]


def test_a_wrong_digest_is_reported_with_the_corpus_name(monkeypatch):
    monkeypatch.setitem(tasks.CORPUS_SHA256, "names", "0" * 64)
    with pytest.raises(ValueError, match="'names' is damaged.*reinstall"):
        tasks.verify_corpora()


def test_corpus_contents():
    names = tasks.load_names()
    assert len(names) == 32033 and names[:3] == ["emma", "olivia", "ava"]
    assert all(n.isalpha() and n.islower() and 2 <= len(n) <= 15 for n in names)
    names.append("changed")
    assert len(tasks.load_names()) == 32033  # each call returns a new list
    text = tasks.load_shakespeare()
    assert len(text) == 1115394 and text.startswith("First Citizen:\n")
    assert len(set(text)) == 65


def test_data_files_are_declared_as_package_data():
    """Without a wheel: every file in rnncourse/data matches a package-data pattern."""
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "rnncourse.data" in config["packages"]
    patterns = config["package-data"]["rnncourse.data"]
    shipped = sorted(p.name for p in DATA.iterdir() if p.name != "__pycache__")
    assert shipped == [
        "README.md",
        "charmodel_names.pt",
        "charmodel_shakespeare.pt",
        "names.txt.gz",
        "tinyshakespeare.txt.gz",
    ]
    for path in shipped:
        assert any(fnmatch.fnmatch(path, p) for p in patterns), (path, patterns)
    # the loader reads exactly the files that are declared
    for name in corpora.CORPUS_SHA256:
        assert f"{name}.txt.gz" in shipped


# --------------------------------------------------------------------------- vocabulary


def test_names_vocabulary_and_round_trip(vocab):
    assert len(vocab) == 29
    assert vocab.itos[:4] == ["<pad>", "<start>", "<stop>", "a"] and vocab.itos[-1] == "z"
    for s in ["emma", "zzyzx", "a"]:
        assert "".join(vocab.decode(vocab.encode(list(s)))) == s
    text = tasks.load_shakespeare()[:5000]
    shakespeare = tasks.char_vocab(tasks.load_shakespeare())
    assert len(shakespeare) == 68 and shakespeare.itos[3:5] == ["\n", " "]
    assert "".join(shakespeare.decode(shakespeare.encode(list(text)))) == text


# --------------------------------------------------------------------------- determinism


SEEDED = {
    "split_names": lambda seed: tasks.split_names(
        ["ann", "bo", "cy", "di", "ed"], valid_fraction=0.4, seed=seed
    ),
    "random_batch": lambda seed: tasks.random_batch(
        tasks.encode_names(["ann", "bob", "cyrus", "di", "eve", "flo"]), 3, seed=seed
    )[:3],
    "random_chunks": lambda seed: tasks.random_chunks(torch.arange(50), 4, 6, seed=seed),
}


def _same(a, b) -> bool:
    return all(
        torch.equal(x, y) if isinstance(x, torch.Tensor) else x == y
        for x, y in zip(a, b, strict=True)
    )


@pytest.mark.parametrize("name", SEEDED)
def test_same_seed_same_data_and_global_rng_untouched(name):
    make = SEEDED[name]
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()  # noqa: NPY002 (the legacy global state)
    first, second = make(123), make(123)
    make(None)
    assert torch.equal(torch.get_rng_state(), torch_state)
    after = np.random.get_state()  # noqa: NPY002 (the legacy global state)
    assert np.array_equal(after[1], np_state[1]) and after[2] == np_state[2]
    assert _same(first, second)
    assert _same(make(torch.Generator().manual_seed(123)), first)
    assert any(not _same(make(s), first) for s in range(5))


def test_default_split_is_fixed_and_covers_every_name():
    split = tasks.split_names()
    assert (len(split.train), len(split.valid)) == (28830, 3203)
    assert split == tasks.split_names(seed=0)
    assert sorted(split.train + split.valid) == sorted(tasks.load_names())
    assert split.valid != tasks.split_names(seed=1).valid


def test_text_split_is_by_position():
    text = tasks.load_shakespeare()
    split = tasks.split_text(text)
    assert split.train + split.valid == text
    assert (len(split.train), len(split.valid)) == (1003855, 111539)
    assert tasks.split_text("abcdefghij", valid_fraction=0.3) == ("abcdefg", "hij")


# --------------------------------------------------------------------------- batches


def test_encoded_names_layout(vocab):
    batch = tasks.encode_names(["bob", "al"], vocab)
    s, e, p = vocab.start_id, vocab.stop_id, vocab.pad_id
    b, o, a, l = (vocab.stoi[c] for c in "boal")
    assert batch.inputs.tolist() == [[s, b, o, b], [s, a, l, p]]
    assert batch.targets.tolist() == [[b, o, b, e], [a, l, e, p]]
    assert batch.lengths.tolist() == [4, 3]
    assert batch.inputs.dtype == batch.targets.dtype == batch.lengths.dtype == torch.int64
    # the same as the row-by-row corpus_batch
    names = tasks.split_names().valid[:50]
    reference = tasks.corpus_batch(names, level="char", vocab=vocab)
    assert _same(tasks.encode_names(names, vocab)[:3], reference[:3])


def test_random_batch_shapes_and_padding(names_data, vocab):
    train, valid = names_data
    assert valid.inputs.shape == valid.targets.shape == (3203, int(valid.lengths.max()))
    batch = tasks.random_batch(train, 128, seed=0)
    B, L = batch.inputs.shape
    assert B == 128 and L == int(batch.lengths.max()) and batch.targets.shape == (B, L)
    assert (batch.inputs[:, 0] == vocab.start_id).all()
    rows = torch.arange(B)
    assert (batch.targets[rows, batch.lengths - 1] == vocab.stop_id).all()
    pad = torch.arange(L) >= batch.lengths[:, None]
    assert (batch.inputs[pad] == vocab.pad_id).all() and (batch.targets[pad] == vocab.pad_id).all()
    assert not (batch.targets[~pad] == vocab.pad_id).any()
    # the loss skips padding: logits at padded steps do not change it
    logits = torch.randn(B, L, len(vocab))
    loss = F.cross_entropy(logits.transpose(1, 2), batch.targets, ignore_index=vocab.pad_id)
    logits[pad] = 100.0
    again = F.cross_entropy(logits.transpose(1, 2), batch.targets, ignore_index=vocab.pad_id)
    assert torch.equal(loss, again)
    # a generator gives a stream of different batches
    g = torch.Generator().manual_seed(0)
    first, second = (tasks.random_batch(train, 8, seed=g).inputs[:, :2] for _ in range(2))
    assert not torch.equal(first, second)


def test_random_chunks_are_shifted_windows(text_ids):
    _, ids, _ = text_ids
    batch = tasks.random_chunks(ids, 16, 32, seed=3)
    assert batch.inputs.shape == batch.targets.shape == (16, 32)
    assert batch.inputs.dtype == torch.int64
    assert torch.equal(batch.inputs[:, 1:], batch.targets[:, :-1])
    text = torch.arange(10)
    chunks = tasks.random_chunks(text, 200, 9, seed=0)  # only one window fits
    assert (chunks.inputs == text[:9]).all() and (chunks.targets == text[1:]).all()


# --------------------------------------------------------------------------- baselines


def test_names_baselines(names_data):
    train, valid = names_data
    uniform = tasks.uniform_nll(train, valid)
    assert uniform == pytest.approx(math.log(27))
    bigram = tasks.bigram_nll(train, valid)
    assert 2.3 < bigram < 2.6 and bigram < uniform
    assert bigram == pytest.approx(tasks.NAMES_PUBLISHED_NLL["bigram counts"], abs=0.05)
    # fitting and scoring the same data is better than a held-out score
    assert tasks.bigram_nll(valid, valid) < bigram


def test_bigram_nll_by_hand():
    """'ab' then 'b' on the text 'abab': counts a->b 2, b->a 1; classes {a, b}; add-one."""
    train, valid = torch.tensor([3, 4, 3, 4]), torch.tensor([3, 4, 3])
    p_ab, p_ba = (2 + 1) / (2 + 2), (1 + 1) / (1 + 2)
    expected = -(math.log(p_ab) + math.log(p_ba)) / 2
    assert tasks.bigram_nll(train, valid) == pytest.approx(expected)
    assert tasks.uniform_nll(train) == pytest.approx(math.log(2))


def test_shakespeare_baselines(text_ids):
    _, train, valid = text_ids
    uniform = tasks.uniform_nll(train, valid)
    assert uniform == pytest.approx(math.log(65))
    assert 2.3 < tasks.bigram_nll(train, valid) < uniform


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: tasks.split_names("emma"), TypeError, "list of str"),
        (lambda: tasks.split_names([]), ValueError, "empty"),
        (lambda: tasks.split_names(["ann", ""]), ValueError, r"names\[1\].*non-empty"),
        (lambda: tasks.split_names(valid_fraction=1.5), ValueError, "<= 1"),
        (lambda: tasks.split_names(["a", "b"], valid_fraction=0.1), ValueError, "raise valid"),
        (lambda: tasks.split_names(seed=-1), ValueError, "seed"),
        (lambda: tasks.split_names(seed=1.5), TypeError, "seed"),
        (lambda: tasks.encode_names(["Émile"]), ValueError, "unknown tokens"),
        (lambda: tasks.encode_names(["ann"], vocab="abc"), TypeError, "Vocab"),
        (lambda: tasks.random_batch(torch.zeros(3), 2), TypeError, "CorpusBatch"),
        (lambda: tasks.random_batch(tasks.encode_names(["ann"]), 2), ValueError, "<= 1"),
        (lambda: tasks.random_batch(tasks.encode_names(["ann"]), 0), ValueError, ">= 1"),
        (lambda: tasks.split_text(["abc"]), TypeError, "str"),
        (lambda: tasks.split_text("abc", valid_fraction=0.0), ValueError, "at least one"),
        (lambda: tasks.split_text("abc", valid_fraction=1.0), ValueError, "lower valid"),
        (lambda: tasks.random_chunks(torch.arange(5), 2, 5), ValueError, "smaller T"),
        (lambda: tasks.random_chunks(torch.arange(5.0), 2, 2), TypeError, "int64"),
        (lambda: tasks.random_chunks(torch.zeros(2, 5).long(), 2, 2), ValueError, "dimensions"),
        (lambda: tasks.random_chunks("abcdef", 2, 2), TypeError, "torch.Tensor"),
        (lambda: tasks.uniform_nll(), TypeError, "at least one"),
        (lambda: tasks.uniform_nll([1, 2]), TypeError, "CorpusBatch"),
        (lambda: tasks.bigram_nll(torch.arange(4), tasks.encode_names(["a"])), TypeError, "kind"),
        (
            lambda: tasks.bigram_nll(torch.arange(4), torch.arange(4), smoothing=0),
            ValueError,
            "> 0",
        ),
        (
            lambda: tasks.bigram_nll(
                tasks.encode_names(["ab"], tasks.char_vocab("ab")),
                tasks.encode_names(["ab"], tasks.char_vocab("ba!")),
            ),
            ValueError,
            "different vocabularies",
        ),
    ],
)
def test_bad_arguments_raise_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
