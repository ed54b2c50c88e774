"""Manual BPTT equals torch autograd (torch's own RNN/LSTM modules) and finite differences."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnncourse import bptt, lstm_bptt

B, T, I, H, O = 3, 5, 3, 4, 3


def make_problem(loss="softmax", outputs="every", seed=0, T=T):
    rng = np.random.default_rng(seed)
    params = bptt.init_params(I, H, O, seed=rng)
    params["b"] = rng.normal(size=H) * 0.1
    params["b_o"] = rng.normal(size=O) * 0.1
    x = rng.normal(size=(B, T, I))
    if loss == "softmax":
        shape = (B, T) if outputs == "every" else (B,)
        y = rng.integers(0, O, size=shape)
    else:
        y = rng.normal(size=(B, T, O) if outputs == "every" else (B, O))
    h0 = rng.normal(size=(B, H)) * 0.5
    return params, x, y, h0


def torch_cell(params, nonlinearity="tanh"):
    """torch.nn.RNNCell (float64) holding our U, W, b (bias_hh = 0)."""
    cell = torch.nn.RNNCell(I, H, nonlinearity=nonlinearity).double()
    with torch.no_grad():
        cell.weight_ih.copy_(torch.from_numpy(params["U"]))
        cell.weight_hh.copy_(torch.from_numpy(params["W"]))
        cell.bias_ih.copy_(torch.from_numpy(params["b"]))
        cell.bias_hh.zero_()
    return cell


def torch_readout_loss(o, y, loss):
    """Per-step loss summed over steps and averaged over the batch, in torch."""
    if loss == "softmax":
        return F.cross_entropy(o.reshape(-1, O), y.reshape(-1), reduction="sum") / B
    return 0.5 * ((o - y) ** 2).sum() / B


def autograd_reference(params, x, y, h0, loss, outputs, nonlinearity="tanh"):
    """Loss, parameter gradients and total dL/dh(t) from torch autograd."""
    cell = torch_cell(params, nonlinearity)
    V = torch.tensor(params["V"], requires_grad=True)
    b_o = torch.tensor(params["b_o"], requires_grad=True)
    xt = torch.from_numpy(x)
    h = torch.from_numpy(h0)
    hs = []
    for t in range(x.shape[1]):
        h = cell(xt[:, t], h)
        h.retain_grad()
        hs.append(h)
    states = torch.stack(hs, dim=1) if outputs == "every" else hs[-1]
    L = torch_readout_loss(states @ V.T + b_o, torch.from_numpy(y), loss)
    L.backward()
    grads = {
        "U": cell.weight_ih.grad,
        "W": cell.weight_hh.grad,
        "b": cell.bias_ih.grad,
        "V": V.grad,
        "b_o": b_o.grad,
    }
    dh = torch.stack([h.grad for h in hs], dim=1)
    return L.item(), {k: v.numpy() for k, v in grads.items()}, dh.numpy()


CASES = [
    ("softmax", "every", "tanh"),
    ("mse", "every", "tanh"),
    ("softmax", "last", "tanh"),
    ("mse", "last", "tanh"),
    ("softmax", "every", "relu"),
]


@pytest.mark.parametrize("loss, outputs, nonlinearity", CASES)
def test_full_bptt_equals_autograd(loss, outputs, nonlinearity):
    params, x, y, h0 = make_problem(loss, outputs)
    L, cache = bptt.rnn_forward(
        params, x, y, h0, loss=loss, outputs=outputs, nonlinearity=nonlinearity
    )
    grads, dh = bptt.rnn_backward(cache)
    L_ref, grads_ref, dh_ref = autograd_reference(params, x, y, h0, loss, outputs, nonlinearity)
    assert L == pytest.approx(L_ref, rel=1e-12)
    assert set(grads) == {"U", "W", "b", "V", "b_o"}
    for name in grads:
        assert grads[name].shape == params[name].shape
        np.testing.assert_allclose(grads[name], grads_ref[name], rtol=0, atol=1e-10)
    assert dh.shape == (B, T, H)
    np.testing.assert_allclose(dh, dh_ref, rtol=0, atol=1e-10)


def test_zero_initial_state_by_default():
    params, x, y, _ = make_problem()
    L, cache = bptt.rnn_forward(params, x, y)
    L_ref, _, _ = autograd_reference(params, x, y, np.zeros((B, H)), "softmax", "every")
    assert L == pytest.approx(L_ref, rel=1e-12)
    # Many-to-one: only the last state receives a readout delta, so dh grows backwards
    # from T only; the first state's delta is nonzero only through the recurrence.
    _, cache = bptt.rnn_forward(params, x, y[:, -1], outputs="last")
    _, dh = bptt.rnn_backward(cache)
    assert np.abs(dh[:, 0]).max() > 0


@pytest.mark.parametrize("loss, outputs, nonlinearity", CASES[:4])
def test_full_bptt_matches_finite_differences(loss, outputs, nonlinearity):
    params, x, y, h0 = make_problem(loss, outputs, seed=1)
    errors = bptt.gradient_check(params, x, y, h0, loss=loss, outputs=outputs)
    assert set(errors) == {"U", "W", "b", "V", "b_o"}
    assert max(errors.values()) <= 1e-6, errors


def test_gradient_check_flags_a_wrong_gradient(monkeypatch):
    params, x, y, h0 = make_problem()
    real = bptt.rnn_backward

    def off_by_a_bit(cache):
        grads, dh = real(cache)
        grads["W"] = grads["W"] * 1.01
        return grads, dh

    monkeypatch.setattr(bptt, "rnn_backward", off_by_a_bit)
    errors = bptt.gradient_check(params, x, y, h0)
    assert errors["W"] > 1e-3
    assert errors["U"] <= 1e-6


def overwriting_backward(cache):
    """BPTT with the classic bug: gradients of the shared weights are overwritten."""
    p = cache["params"]
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    dh_prev = np.zeros_like(cache["h"][:, 0])
    for t in reversed(range(cache["h"].shape[1])):
        do_t = cache["do"][:, t]
        grads["V"] += do_t.T @ cache["h"][:, t]
        grads["b_o"] += do_t.sum(axis=0)
        dh = dh_prev + do_t @ p["V"]
        _, dh_prev, dU, dW, db = bptt.rnn_step_backward(dh, cache["steps"][t])
        grads["U"], grads["W"], grads["b"] = dU, dW, db  # wrong: = instead of +=
    return grads


def test_overwriting_instead_of_accumulating_is_caught():
    params, x, y, h0 = make_problem()
    _, cache = bptt.rnn_forward(params, x, y, h0)
    _, grads_ref, _ = autograd_reference(params, x, y, h0, "softmax", "every")
    wrong = overwriting_backward(cache)
    right, dh = bptt.rnn_backward(cache)
    for name in ("U", "W", "b"):
        np.testing.assert_allclose(right[name], grads_ref[name], rtol=0, atol=1e-10)
        assert np.abs(wrong[name] - grads_ref[name]).max() > 1e-3
    # What the overwriting version keeps is exactly the first step's contribution.
    _, _, dU_first, dW_first, db_first = bptt.rnn_step_backward(dh[:, 0], cache["steps"][0])
    np.testing.assert_allclose(wrong["U"], dU_first, rtol=0, atol=1e-12)
    np.testing.assert_allclose(wrong["W"], dW_first, rtol=0, atol=1e-12)


def truncated_reference(params, x, y, h0, k, loss, outputs):
    """Brute force: loss t is computed from the detached state k steps before it."""
    cell = torch_cell(params)
    V, b_o = torch.from_numpy(params["V"]), torch.from_numpy(params["b_o"])
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    with torch.no_grad():  # the states of the full forward pass
        h, states = torch.from_numpy(h0), [torch.from_numpy(h0)]
        for t in range(T):
            h = cell(xt[:, t], h)
            states.append(h)  # states[t + 1] = state after step t
    loss_steps = range(T) if outputs == "every" else [T - 1]
    total = 0.0
    for t in loss_steps:
        start = max(t - k + 1, 0)
        h = states[start].detach()
        for s in range(start, t + 1):
            h = cell(xt[:, s], h)
        o = h @ V.T + b_o
        target = yt[:, t] if outputs == "every" else yt
        total = total + torch_readout_loss(o[:, None], target[:, None], loss)
    total.backward()
    return {"U": cell.weight_ih.grad, "W": cell.weight_hh.grad, "b": cell.bias_ih.grad}


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("loss, outputs", [("softmax", "every"), ("mse", "every"), ("mse", "last")])
def test_truncated_bptt_equals_brute_force(k, loss, outputs):
    params, x, y, h0 = make_problem(loss, outputs, seed=2)
    _, cache = bptt.rnn_forward(params, x, y, h0, loss=loss, outputs=outputs)
    grads, dh = bptt.truncated_rnn_backward(cache, k)
    ref = truncated_reference(params, x, y, h0, k, loss, outputs)
    for name, g in ref.items():
        np.testing.assert_allclose(grads[name], g.numpy(), rtol=0, atol=1e-10)
    full, _ = bptt.rnn_backward(cache)
    for name in ("V", "b_o"):  # the readout does not depend on the window
        np.testing.assert_allclose(grads[name], full[name], rtol=0, atol=1e-12)
    assert np.abs(grads["W"] - full["W"]).max() > 1e-6  # truncation does change W's gradient
    assert dh.shape == (B, T, H)


@pytest.mark.parametrize("k", [T, T + 3])
def test_truncated_with_long_window_is_full_bptt(k):
    params, x, y, h0 = make_problem(seed=3)
    _, cache = bptt.rnn_forward(params, x, y, h0)
    full, dh_full = bptt.rnn_backward(cache)
    grads, dh = bptt.truncated_rnn_backward(cache, k)
    for name in full:
        np.testing.assert_allclose(grads[name], full[name], rtol=0, atol=1e-12)
    np.testing.assert_allclose(dh, dh_full, rtol=0, atol=1e-12)


def test_step_functions_match_torch_rnn_cell():
    rng = np.random.default_rng(4)
    params = bptt.init_params(I, H, O, seed=rng)
    x_t, h_prev, dh = rng.normal(size=(B, I)), rng.normal(size=(B, H)), rng.normal(size=(B, H))
    h_t, cache = bptt.rnn_step_forward(x_t, h_prev, params)
    dx, dh_prev, dU, dW, db = bptt.rnn_step_backward(dh, cache)

    cell = torch_cell(params)
    xt = torch.tensor(x_t, requires_grad=True)
    hp = torch.tensor(h_prev, requires_grad=True)
    out = cell(xt, hp)
    np.testing.assert_allclose(h_t, out.detach().numpy(), atol=1e-12)
    (out * torch.from_numpy(dh)).sum().backward()
    for mine, ref in [
        (dx, xt.grad),
        (dh_prev, hp.grad),
        (dU, cell.weight_ih.grad),
        (dW, cell.weight_hh.grad),
        (db, cell.bias_ih.grad),
    ]:
        np.testing.assert_allclose(mine, ref.numpy(), rtol=0, atol=1e-10)


def lstm_problem(seed=5):
    rng = np.random.default_rng(seed)
    params = {
        "U": rng.normal(size=(4 * H, I)) * 0.5,
        "W": rng.normal(size=(4 * H, H)) * 0.5,
        "b": rng.normal(size=4 * H) * 0.5,
    }
    x_t, h_prev, c_prev = (rng.normal(size=s) for s in [(B, I), (B, H), (B, H)])
    dh, dc = rng.normal(size=(B, H)), rng.normal(size=(B, H))
    return params, x_t, h_prev, c_prev, dh, dc


def test_lstm_step_matches_torch_lstm_cell():
    params, x_t, h_prev, c_prev, dh, dc = lstm_problem()
    h_t, c_t, cache = lstm_bptt.lstm_step_forward(x_t, h_prev, c_prev, params)
    grads = lstm_bptt.lstm_step_backward(dh, dc, cache)

    cell = torch.nn.LSTMCell(I, H).double()
    with torch.no_grad():
        cell.weight_ih.copy_(torch.from_numpy(params["U"]))
        cell.weight_hh.copy_(torch.from_numpy(params["W"]))
        cell.bias_ih.copy_(torch.from_numpy(params["b"]))
        cell.bias_hh.zero_()
    inputs = [torch.tensor(a, requires_grad=True) for a in (x_t, h_prev, c_prev)]
    h_ref, c_ref = cell(inputs[0], (inputs[1], inputs[2]))
    np.testing.assert_allclose(h_t, h_ref.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(c_t, c_ref.detach().numpy(), atol=1e-12)
    ((h_ref * torch.from_numpy(dh)).sum() + (c_ref * torch.from_numpy(dc)).sum()).backward()
    refs = [a.grad for a in inputs] + [cell.weight_ih.grad, cell.weight_hh.grad, cell.bias_ih.grad]
    for mine, ref in zip(grads, refs, strict=True):
        np.testing.assert_allclose(mine, ref.numpy(), rtol=0, atol=1e-10)


def test_lstm_step_matches_finite_differences():
    params, x_t, h_prev, c_prev, dh, dc = lstm_problem(seed=6)
    _, _, cache = lstm_bptt.lstm_step_forward(x_t, h_prev, c_prev, params)
    dx, dh_prev, dc_prev, dU, dW, db = lstm_bptt.lstm_step_backward(dh, dc, cache)

    def objective(_):
        h_t, c_t, _ = lstm_bptt.lstm_step_forward(x_t, h_prev, c_prev, params)
        return (h_t * dh).sum() + (c_t * dc).sum()

    for analytic, array in [
        (dx, x_t),
        (dh_prev, h_prev),
        (dc_prev, c_prev),
        (dU, params["U"]),
        (dW, params["W"]),
        (db, params["b"]),
    ]:
        assert bptt.relative_error(analytic, bptt.numerical_gradient(objective, array)) <= 1e-6


def test_numerical_gradient_of_a_known_function_and_restores_input():
    x = np.linspace(-1.0, 2.0, 6).reshape(2, 3)
    before = x.copy()
    grad = bptt.numerical_gradient(lambda a: np.sin(a).sum() + (a**3).sum(), x)
    np.testing.assert_allclose(grad, np.cos(before) + 3 * before**2, rtol=1e-8)
    np.testing.assert_array_equal(x, before)


def test_relative_error_definition():
    assert bptt.relative_error(np.array([1.0, 0.0]), np.array([3.0, 0.0])) == pytest.approx(0.5)
    assert bptt.relative_error(np.array([1e-9]), np.array([0.0])) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="same shape"):
        bptt.relative_error(np.zeros(2), np.zeros(3))


def test_init_params_shapes_and_seed():
    p = bptt.init_params(2, 5, 3, seed=7)
    assert {k: v.shape for k, v in p.items()} == {
        "U": (5, 2),
        "W": (5, 5),
        "b": (5,),
        "V": (3, 5),
        "b_o": (3,),
    }
    np.testing.assert_array_equal(p["W"], bptt.init_params(2, 5, 3, seed=7)["W"])
    with pytest.raises(ValueError, match="hidden_size must be >= 1"):
        bptt.init_params(2, 0, 3)


# ------------------------------------------------------------------------- bad inputs


def test_bad_inputs_to_rnn_forward():
    params, x, y, h0 = make_problem()
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, 3\)"):
        bptt.rnn_forward(params, x[..., :2], y)
    with pytest.raises(ValueError, match="x must have 3 dimensions"):
        bptt.rnn_forward(params, x[0], y)
    with pytest.raises(TypeError, match="floating-point"):
        bptt.rnn_forward(params, x.astype(np.int64), y)
    with pytest.raises(TypeError, match="numpy array, got a torch.Tensor"):
        bptt.rnn_forward(params, torch.from_numpy(x), y)
    with pytest.raises(ValueError, match="missing 'V', 'b_o'"):
        bptt.rnn_forward({k: params[k] for k in "UWb"}, x, y)
    with pytest.raises(TypeError, match="params must be a dict"):
        bptt.rnn_forward([params["U"]], x, y)
    with pytest.raises(ValueError, match=r"params\['W'\] must have shape \(4, 4\)"):
        bptt.rnn_forward({**params, "W": np.zeros((4, 3))}, x, y)
    with pytest.raises(TypeError, match="integer numpy array"):
        bptt.rnn_forward(params, x, y.astype(np.float64))
    with pytest.raises(ValueError, match=r"class indices in \[0, 2\]"):
        bptt.rnn_forward(params, x, y + O)
    with pytest.raises(ValueError, match=r"targets must have shape \(3,\)"):
        bptt.rnn_forward(params, x, y, outputs="last")
    with pytest.raises(ValueError, match=r"targets must have 3 dimensions \(3, 5, 3\)"):
        bptt.rnn_forward(params, x, np.zeros((B, T)), loss="mse")
    with pytest.raises(ValueError, match=r"h0 must have shape \(3, 4\)"):
        bptt.rnn_forward(params, x, y, h0[:, :2])
    with pytest.raises(ValueError, match="loss must be one of"):
        bptt.rnn_forward(params, x, y, loss="hinge")
    with pytest.raises(ValueError, match="nonlinearity must be one of"):
        bptt.rnn_forward(params, x, y, nonlinearity="sigmoid")


def test_bad_inputs_to_backward_functions():
    params, x, y, h0 = make_problem()
    _, cache = bptt.rnn_forward(params, x, y, h0)
    for k, err in [(0, ValueError), (-2, ValueError), (2.0, TypeError), (True, TypeError)]:
        with pytest.raises(err, match="k must be"):
            bptt.truncated_rnn_backward(cache, k)
    with pytest.raises(TypeError, match="cache must be the dict returned by rnn_forward"):
        bptt.rnn_backward((1.0, cache))
    with pytest.raises(TypeError, match="cache must be the dict"):
        bptt.truncated_rnn_backward(None, 2)
    with pytest.raises(ValueError, match="eps must be > 0"):
        bptt.numerical_gradient(lambda a: a.sum(), np.zeros(2), eps=0.0)


def test_bad_inputs_to_lstm_step():
    params, x_t, h_prev, c_prev, dh, dc = lstm_problem()
    with pytest.raises(ValueError, match="missing 'b'"):
        lstm_bptt.lstm_step_forward(x_t, h_prev, c_prev, {"U": params["U"], "W": params["W"]})
    with pytest.raises(ValueError, match="4H rows"):
        lstm_bptt.lstm_step_forward(x_t, h_prev, c_prev, {**params, "U": params["U"][:-1]})
    with pytest.raises(ValueError, match=r"c_prev must have shape \(3, 4\)"):
        lstm_bptt.lstm_step_forward(x_t, h_prev, c_prev[:, :3], params)
    with pytest.raises(TypeError, match="floating-point"):
        lstm_bptt.lstm_step_forward(x_t.astype(np.int32), h_prev, c_prev, params)
    _, _, cache = lstm_bptt.lstm_step_forward(x_t, h_prev, c_prev, params)
    with pytest.raises(ValueError, match="dc must have shape"):
        lstm_bptt.lstm_step_backward(dh, dc[:1], cache)


def test_input_sensitivity_equals_autograd_jacobian_norms():
    params, x, _, h0 = make_problem(loss="mse")
    S = bptt.input_sensitivity(params, x, h0)
    p = {k: torch.tensor(v) for k, v in params.items()}

    def outputs(xs):
        h, os = torch.tensor(h0), []
        for t in range(xs.shape[1]):
            h = torch.tanh(xs[:, t] @ p["U"].T + h @ p["W"].T + p["b"])
            os.append(h @ p["V"].T + p["b_o"])
        return torch.stack(os, 1)

    J = torch.autograd.functional.jacobian(outputs, torch.tensor(x))  # (B, T, O, B, T, I)
    for n in range(B):
        expected = J[n, :, :, n].pow(2).sum(dim=(1, 3)).sqrt().numpy()
        np.testing.assert_allclose(S[n], expected, atol=1e-12)
    assert S.shape == (B, T, T) and np.all(np.triu(S[0], 1) == 0)


def test_bad_inputs_to_input_sensitivity():
    params, x, _, _ = make_problem(loss="mse")
    with pytest.raises(ValueError, match="x"):
        bptt.input_sensitivity(params, x[..., :2])
    with pytest.raises(ValueError, match="nonlinearity"):
        bptt.input_sensitivity(params, x, nonlinearity="sigmoid")
