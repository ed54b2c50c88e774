"""StepModule: a GRU or LSTM layer that runs a given step function, as torch's layers do."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from rnncourse import checks
from rnncourse.step_module import StepModule


def gru_step(x, h, U, W, b_x, b_h):
    return checks.REGISTRY["gru_step"].reference(x, h, U, W, b_x, b_h)


def lstm_step(x, h, c, U, W, b):
    return checks.REGISTRY["lstm_step"].reference(x, h, c, U, W, b)


def copy_into(ref, model):
    """Give torch's layer the module's U, W, b_x, b_h (weight_ih, weight_hh, bias_ih, bias_hh)."""
    with torch.no_grad():
        mine = (model.U, model.W, model.b_x, model.b_h)
        for p, q in zip(mine, ref.parameters(), strict=True):
            q.copy_(p)


def test_gru_module_equals_torch_gru_with_the_same_weights():
    model = StepModule(gru_step, "gru", 3, 5, seed=1)
    ref = torch.nn.GRU(3, 5, batch_first=True)
    copy_into(ref, model)
    x = torch.randn(4, 7, 3)
    torch.testing.assert_close(model.states(x), ref(x)[0])
    assert model(x).shape == (4, 1)


def test_lstm_module_equals_torch_lstm_and_sets_the_forget_bias():
    model = StepModule(lstm_step, "lstm", 2, 4, forget_bias=1.0, seed=0)
    assert model.U.shape == (16, 2) and model.W.shape == (16, 4)
    assert (model.b_x[4:8] > 0.5).all()  # uniform(+-1/2) plus 1
    ref = torch.nn.LSTM(2, 4, batch_first=True)
    copy_into(ref, model)
    x = torch.randn(3, 6, 2)
    torch.testing.assert_close(model.states(x), ref(x)[0])


def test_seeded_and_global_rng_untouched():
    state = torch.get_rng_state()
    a, b = StepModule(gru_step, "gru", 2, 3, seed=5), StepModule(gru_step, "gru", 2, 3, seed=5)
    assert torch.equal(state, torch.get_rng_state())
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_gradients_reach_every_parameter():
    model = StepModule(gru_step, "gru", 2, 3, output_size=2)
    F.mse_loss(model(torch.randn(2, 5, 2)), torch.zeros(2, 2)).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    assert "step=gru_step" in repr(model)


def test_bad_arguments_say_what_was_expected():
    with pytest.raises(TypeError, match="step must be a function"):
        StepModule(torch.zeros(3), "gru", 1, 1)
    with pytest.raises(ValueError, match="kind must be one of"):
        StepModule(gru_step, "rnn", 2, 3)
    with pytest.raises(ValueError, match="hidden_size must be >= 1"):
        StepModule(gru_step, "gru", 2, 0)
    with pytest.raises(ValueError, match="x"):
        StepModule(gru_step, "gru", 2, 3)(torch.zeros(4, 5, 3))
