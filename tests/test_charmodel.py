"""The character model, its training script and the shipped checkpoints."""

from __future__ import annotations

import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
import torch

from rnncourse import cells, charmodel, generation, scan, tasks, training
from rnncourse.charmodel import CharModel

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "train_char_models.py"


@pytest.fixture(scope="module")
def names_model():
    return charmodel.load_pretrained("names")


@pytest.fixture(scope="module")
def shakespeare_model():
    return charmodel.load_pretrained("shakespeare")


def _tokens(B, T, V=29, seed=0):
    return torch.randint(0, V, (B, T), generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------- the model


@pytest.mark.parametrize("recurrent", ["gru", "lstm", "cell-gru", "cell-lstm", "cell-rnn"])
def test_step_over_a_sequence_equals_forward(recurrent):
    torch.manual_seed(0)
    if recurrent.startswith("cell-"):
        cell_class = {"gru": cells.GRUCell, "lstm": cells.LSTMCell, "rnn": cells.RNNCell}
        recurrent = cell_class[recurrent[5:]](8, 12)
    model = CharModel(29, 8, 12, recurrent)
    tokens = _tokens(3, 7)
    logits = model(tokens)
    assert logits.shape == (3, 7, 29)
    state, stepped = None, []
    for t in range(7):
        out, state = model.step(tokens[:, t], state)
        stepped.append(out)
    torch.testing.assert_close(torch.stack(stepped, 1), logits, atol=1e-5, rtol=0)
    # run returns the same final state as the steps, in the cell's format
    _, final = model.run(tokens)
    torch.testing.assert_close(final, state, atol=1e-5, rtol=0)


def _gru_step(x, h, U, W, b_x, b_h):
    """A GRU step as a student writes it: (B, I), (B, H) -> (B, H), gates r, z, n."""
    x_r, x_z, x_n = (x @ U.T + b_x).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ W.T + b_h).chunk(3, dim=1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    return (1 - z) * torch.tanh(x_n + r * h_n) + z * h


def test_a_step_function_runs_like_the_gru_cell():
    torch.manual_seed(0)
    model = CharModel(29, 8, 12, recurrent=cells.StepCell(_gru_step, "gru", 8, 12))
    assert model.rnn.step_fn is _gru_step
    assert (model.embedding_size, model.hidden_size) == (8, 12)
    reference = CharModel(29, recurrent=cells.GRUCell(8, 12))
    reference.load_state_dict(model.state_dict())
    tokens = _tokens(3, 6)
    torch.testing.assert_close(model(tokens), reference(tokens))
    model(tokens).sum().backward()  # gradients reach the cell's parameters through the step
    assert all(p.grad is not None for p in model.rnn.parameters())


def test_a_step_function_that_returns_the_wrong_shape_is_named():
    step = cells.StepCell(lambda x, h, U, W, b_x, b_h: h[:, :6], "gru", 8, 12)
    with pytest.raises(ValueError, match="new state from <lambda>"):
        CharModel(29, recurrent=step)(_tokens(2, 3))
    with pytest.raises(TypeError, match="a StepCell"):
        CharModel(29, 8, 12, recurrent=_gru_step)


def test_a_min_gru_with_a_sequence_function_of_yours_runs_as_the_layer():
    def min_gru_forward(x, h0, U_z, b_z, U_n, b_n):  # notebook 08's signature, as a loop
        h, hs = h0, []
        for x_t in x.unbind(1):
            z = torch.sigmoid(x_t @ U_z.T + b_z)
            h = (1 - z) * h + z * (x_t @ U_n.T + b_n)
            hs.append(h)
        return torch.stack(hs, 1)

    torch.manual_seed(0)
    mine = CharModel(29, recurrent=scan.MinGRU(8, 12, sequence_fn=min_gru_forward))
    reference = CharModel(29, recurrent=scan.MinGRU(8, 12))
    reference.load_state_dict(mine.state_dict())
    tokens = _tokens(3, 6)
    torch.testing.assert_close(mine(tokens), reference(tokens))
    state, stepped = None, []
    for t in range(6):  # generation, one token at a time, carries the state
        out, state = mine.step(tokens[:, t], state)
        stepped.append(out)
    torch.testing.assert_close(torch.stack(stepped, 1), mine(tokens))
    mine(tokens).sum().backward()
    assert all(p.grad is not None for p in mine.rnn.parameters())
    wrong = scan.MinGRU(8, 12, sequence_fn=lambda x, h0, *w: x)
    with pytest.raises(ValueError, match="states from <lambda>"):
        CharModel(29, recurrent=wrong)(tokens)


# --------------------------------------------------------------------------- new_model


def test_new_model_has_its_corpus_vocabulary_and_repeatable_weights():
    state = torch.get_rng_state()
    a = charmodel.new_model("names", 8, 12, seed=3)
    assert torch.equal(state, torch.get_rng_state())  # the global generator is left alone
    b = charmodel.new_model("names", 8, 12, seed=3)
    c = charmodel.new_model("names", 8, 12, seed=4)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a.readout.weight, c.readout.weight)
    assert a.vocab.itos == tasks.char_vocab(tasks.load_names()).itos and len(a.vocab) == 29
    assert a.info == {"corpus": "names", "start_token": True}
    text = charmodel.new_model("shakespeare", 4, 6, cells.GRUCell(4, 6), seed=0)
    assert text.vocab_size == 68 and text.info["start_token"] is False
    again = charmodel.new_model("shakespeare", recurrent=cells.GRUCell(4, 6), seed=0)
    assert torch.equal(text.rnn.W, again.rnn.W)  # a given cell's weights come from seed too
    with pytest.raises(ValueError, match="corpus must be one of"):
        charmodel.new_model("poems")


TRAIN = tasks.encode_names(tasks.split_names().train[:400])
VALID = tasks.encode_names(tasks.split_names().valid[:100])


def _draw(g):
    return tasks.random_batch(TRAIN, 16, seed=g)[:2]


@torch.no_grad()
def _nll(model):
    return float(charmodel.next_char_loss(model(VALID.inputs), VALID.targets))


def test_training_lowers_the_loss_and_keeps_the_best_weights():
    model = charmodel.new_model("names", 8, 16, seed=0)
    before = _nll(model)
    h = training.train(
        model, _draw, charmodel.next_char_loss, steps=60, lr=0.02, seed=0, progress=False,
        lr_schedule=training.cosine_decay(60), clip_norm=1.0, eval_fn=_nll, eval_every=20,
        keep_best=True,
    )  # fmt: skip
    assert h.steps == 60 and len(h.grad_norm) == 60 and h.eval_steps == [20, 40, 60]
    assert h.best()[1] == min(h.eval_metrics["eval"]) < before - 0.3
    assert h.reason == "steps" and h.seconds == h.wall_time[-1] > 0
    assert _nll(model) == pytest.approx(h.best()[1])  # the best weights are kept
    assert not model.training


def test_training_is_repeatable_and_works_with_a_step_function():
    losses = []
    for recurrent in ("gru", "step", "step"):
        if recurrent == "step":
            recurrent = cells.StepCell(_gru_step, "gru", 8, 16)
        model = charmodel.new_model("names", 8, 16, recurrent, seed=1)
        h = training.train(model, _draw, charmodel.next_char_loss, steps=5, lr=0.01, seed=2,
                           clip_norm=1.0, progress=False)  # fmt: skip
        losses.append(h.loss)
    assert losses[1] == losses[2]
    assert losses[0] == pytest.approx(losses[1], abs=1e-4)  # torch.nn.GRU, same weights


def test_sample_names_draws_a_batch_of_names(names_model):
    drawn = charmodel.sample_names(names_model, 50, temperature=0.8, seed=0)
    assert len(drawn) == 50 and drawn == charmodel.sample_names(
        names_model, 50, temperature=0.8, seed=0
    )
    assert all(name.isalpha() and name.islower() and len(name) <= 20 for name in drawn if name)
    assert sum(name in set(tasks.load_names()) for name in drawn) >= 5  # a trained model
    cut = charmodel.sample_names(names_model, 10, temperature=2.0, seed=0, max_length=3)
    assert all(len(name) <= 3 for name in cut)
    with pytest.raises(TypeError, match="names CharModel"):
        charmodel.sample_names(charmodel.load_pretrained("shakespeare"), 3)


def test_to_cells_computes_the_same_logits(names_model):
    tokens = _tokens(4, 9)
    readable = names_model.to_cells()
    assert isinstance(readable.rnn, cells.GRUCell) and readable.vocab is names_model.vocab
    # float32, 9 steps of 128 units: the two summation orders differ by about 1e-5
    torch.testing.assert_close(readable(tokens), names_model(tokens), atol=3e-5, rtol=0)


def test_sampling_is_deterministic_under_a_seed(names_model, shakespeare_model):
    def draw(seed):
        return generation.sample_sequence(
            names_model.step, torch.ones(5, dtype=torch.long), 12,
            strategy="temperature", seed=seed,
        )  # fmt: skip

    assert torch.equal(draw(3), draw(3)) and not torch.equal(draw(3), draw(4))
    text = charmodel.sample_text(shakespeare_model, "ROMEO:", 60, temperature=0.8, seed=0)
    assert text.startswith("ROMEO:") and len(text) == 66
    assert text == charmodel.sample_text(shakespeare_model, "ROMEO:", 60, temperature=0.8, seed=0)
    name = charmodel.sample_text(names_model, "", 30, seed=1)
    assert name.isalpha() and name.islower() and len(name) < 30


def test_bad_inputs_raise_clear_errors(names_model):
    with pytest.raises(TypeError, match="int64 token ids"):
        names_model(torch.zeros(2, 3))
    with pytest.raises(TypeError, match="int64 token ids"):
        names_model(torch.zeros(2, 3, dtype=torch.int32))
    with pytest.raises(ValueError, match=r"\[0, 29\)"):
        names_model(torch.full((2, 3), 29))
    with pytest.raises(ValueError, match="2 dimensions"):
        names_model(torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="1 dimensions"):
        names_model.step(torch.zeros(2, 3, dtype=torch.long), None)
    with pytest.raises(ValueError, match="state must have shape"):
        names_model.step(torch.zeros(2, dtype=torch.long), torch.zeros(3, 128))
    with pytest.raises(TypeError, match="pair"):
        CharModel(5, 4, 6, "lstm").step(torch.zeros(2, dtype=torch.long), torch.zeros(2, 6))
    with pytest.raises(ValueError, match="recurrent must be one of"):
        CharModel(5, recurrent="transformer")
    with pytest.raises(TypeError, match="rnncourse.cells"):
        CharModel(5, recurrent=torch.nn.GRU(4, 6))
    assert isinstance(charmodel.validation_nll(charmodel.new_model("names", 8, 16), "names"), float)
    with pytest.raises(ValueError, match="does not match the cell"):
        CharModel(5, 3, recurrent=cells.GRUCell(4, 6))
    with pytest.raises(ValueError, match="no pretrained model 'poems'"):
        charmodel.load_pretrained("poems")
    with pytest.raises(ValueError, match="corpus must be one of"):
        charmodel.validation_nll(names_model, "poems")
    with pytest.raises(ValueError, match="needs a prompt"):
        charmodel.sample_text(charmodel.load_pretrained("shakespeare"), "", 5)
    with pytest.raises(ValueError, match="unknown tokens"):
        charmodel.sample_text(names_model, "Emma", 5)
    with pytest.raises(TypeError, match="checkpointed"):
        charmodel.to_checkpoint(
            CharModel(5, recurrent=cells.GRUCell(4, 6)), tasks.Vocab(["a", "b"])
        )


# --------------------------------------------------------------------------- checkpoints


@pytest.mark.parametrize("name", charmodel.PRETRAINED)
def test_shipped_checkpoints_load_with_their_vocabulary(name):
    resource = resources.files("rnncourse") / "data" / f"charmodel_{name}.pt"
    assert len(resource.read_bytes()) <= 2 * 1024 * 1024
    model = charmodel.load_pretrained(name)
    assert not model.training and model.readout.weight.dtype == torch.float32
    text = tasks.load_names() if name == "names" else tasks.load_shakespeare()
    assert model.vocab.itos == tasks.char_vocab(text).itos
    assert model.vocab_size == len(model.vocab) and model.info["corpus"] == name
    assert {"seed", "updates", "lr", "batch"} <= set(model.info["training"])


def test_shipped_names_model_scores_what_it_records(names_model):
    score = charmodel.validation_nll(names_model)
    assert score == pytest.approx(names_model.info["valid_nll"], abs=1e-3)
    split = tasks.split_names()
    train, valid = tasks.encode_names(split.train), tasks.encode_names(split.valid)
    assert score < tasks.bigram_nll(train, valid) - 0.3
    assert score <= 2.0


@pytest.mark.slow
def test_tiny_training_run_writes_loadable_checkpoints(tmp_path):
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--corpus", "all", "--tiny", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    for name in charmodel.PRETRAINED:
        model = charmodel.load_checkpoint(tmp_path / f"charmodel_{name}.pt")
        assert model.info["corpus"] == name and model.info["training"]["tiny"] is True
        assert model.hidden_size == 16
        assert charmodel.validation_nll(model) == pytest.approx(model.info["valid_nll"], abs=1e-4)
