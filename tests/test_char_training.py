"""Making and training a character model (rnncourse.char_training)."""

from __future__ import annotations

import math

import pytest
import torch

from rnncourse import cells, char_training, charmodel, tasks

TRAIN = tasks.encode_names(tasks.split_names().train[:400])
VALID = tasks.encode_names(tasks.split_names().valid[:100])


def _draw(g):
    return tasks.random_batch(TRAIN, 16, seed=g)[:2]


@torch.no_grad()
def _nll(model):
    logits = model(VALID.inputs)
    return float(
        torch.nn.functional.cross_entropy(
            logits.transpose(1, 2), VALID.targets, ignore_index=tasks.Vocab.pad_id
        )
    )


def test_new_model_has_its_corpus_vocabulary_and_repeatable_weights():
    state = torch.get_rng_state()
    a = char_training.new_model("names", 8, 12, seed=3)
    assert torch.equal(state, torch.get_rng_state())  # the global generator is left alone
    b = char_training.new_model("names", 8, 12, seed=3)
    c = char_training.new_model("names", 8, 12, seed=4)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a.readout.weight, c.readout.weight)
    assert a.vocab.itos == tasks.char_vocab(tasks.load_names()).itos and len(a.vocab) == 29
    assert a.info == {"corpus": "names", "start_token": True}
    text = char_training.new_model("shakespeare", 4, 6, cells.GRUCell(4, 6), seed=0)
    assert text.vocab_size == 68 and text.info["start_token"] is False
    with pytest.raises(ValueError, match="corpus must be one of"):
        char_training.new_model("poems")


def test_cosine_decay_runs_from_one_to_the_floor():
    f = char_training.cosine_decay(100, floor=0.01)
    assert f(0) == pytest.approx(1.0) and f(100) == pytest.approx(0.01)
    assert f(50) == pytest.approx(0.505) and f(250) == pytest.approx(0.01)
    assert all(f(u) >= f(u + 1) for u in range(120))
    with pytest.raises(ValueError, match="updates"):
        char_training.cosine_decay(0)


def test_training_lowers_the_loss_and_records_what_happened():
    model = char_training.new_model("names", 8, 16, seed=0)
    before = _nll(model)
    rows = []
    run = char_training.train_char_model(
        model, _draw, updates=60, lr=0.02, evaluate=_nll, every=20,
        report=lambda *row: rows.append(row),
    )  # fmt: skip
    h = run.history
    assert h.steps == 60 and len(h.grad_norm) == 60 and h.eval_steps == [20, 40, 60]
    assert [r[0] for r in rows] == [20, 40, 60] and rows[-1][2] == h.eval_metrics["valid_nll"][-1]
    assert run.best_nll == min(h.eval_metrics["valid_nll"]) < before - 0.3
    assert run.reason == "updates" and run.seconds == h.wall_time[-1] > 0
    assert _nll(model) == pytest.approx(run.best_nll)  # the best weights are kept
    assert not model.training


def test_training_is_repeatable_and_works_with_a_step_function():
    def step(x, h, U, W, b_x, b_h):  # torch's GRU equations, gates r, z, n
        x_r, x_z, x_n = (x @ U.T + b_x).chunk(3, dim=1)
        h_r, h_z, h_n = (h @ W.T + b_h).chunk(3, dim=1)
        r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
        return (1 - z) * torch.tanh(x_n + r * h_n) + z * h

    losses = []
    for recurrent in ("gru", step, step):
        model = char_training.new_model("names", 8, 16, recurrent, seed=1)
        run = char_training.train_char_model(model, _draw, updates=5, lr=0.01, seed=2)
        losses.append(run.history.loss)
    assert losses[1] == losses[2]
    assert losses[0] == pytest.approx(losses[1], abs=1e-4)  # torch.nn.GRU, same weights


@pytest.mark.parametrize(
    ("stop", "reason"), [({"target": 10.0}, "target"), ({"seconds": 0.0}, "seconds")]
)
def test_training_stops_at_a_target_or_a_time_budget(stop, reason):
    model = char_training.new_model("names", 8, 16, seed=0)
    run = char_training.train_char_model(
        model, _draw, updates=50, lr=0.01, evaluate=_nll, every=10, **stop
    )
    assert run.reason == reason and run.history.steps == 10


def test_patience_stops_when_the_score_does_not_improve():
    scores = iter([3.0, 2.0, 2.5, 2.6, 2.7, 1.0])
    model = char_training.new_model("names", 8, 16, seed=0)
    run = char_training.train_char_model(
        model, _draw, updates=60, lr=0.01, evaluate=lambda m: next(scores), every=10,
        patience=2, decay="constant",
    )  # fmt: skip
    assert run.reason == "patience" and run.history.steps == 40
    assert (run.best_update, run.best_nll) == (20, 2.0)


def test_without_evaluation_nothing_is_scored():
    model = char_training.new_model("names", 8, 16, seed=0)
    run = char_training.train_char_model(model, _draw, updates=3, lr=0.01)
    assert run.history.eval_steps == [] and run.best_update == 0 and math.isinf(run.best_nll)


def test_bad_arguments_say_what_was_expected():
    model = char_training.new_model("names", 8, 16, seed=0)
    with pytest.raises(TypeError, match="must be a CharModel"):
        char_training.train_char_model(torch.nn.GRU(2, 2), _draw, updates=1, lr=0.1)
    with pytest.raises(TypeError, match="draw must be a function"):
        char_training.train_char_model(model, TRAIN, updates=1, lr=0.1)
    with pytest.raises(ValueError, match="decay"):
        char_training.train_char_model(model, _draw, updates=1, lr=0.1, decay="linear")
    with pytest.raises(ValueError, match="lr"):
        char_training.train_char_model(model, _draw, updates=1, lr=0.0)
    with pytest.raises(TypeError, match="evaluate must be"):
        char_training.train_char_model(model, _draw, updates=1, lr=0.1, evaluate=2.0)
    assert isinstance(charmodel.validation_nll(model, "names"), float)
