"""The from-scratch cells against torch's own modules, autograd and closed forms."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from rnncourse import checks, sequences, torch_interop
from rnncourse.cells import GatedLeakyCell, GRUCell, LSTMCell, RecurrentCell, RNNCell, StepCell

TOL = {torch.float32: 1e-6, torch.float64: 1e-12}

# kind -> (our class, torch cell, torch sequence module, extra constructor kwargs)
KINDS = {
    "rnn_tanh": (RNNCell, nn.RNNCell, nn.RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (RNNCell, nn.RNNCell, nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (LSTMCell, nn.LSTMCell, nn.LSTM, {}),
    "gru": (GRUCell, nn.GRUCell, nn.GRU, {}),
}
TORCH_NAMES = {"U": "weight_ih", "W": "weight_hh", "b_x": "bias_ih", "b_h": "bias_hh"}


def random_sizes(seed):
    g = torch.Generator().manual_seed(seed)
    I, H, B, T = (int(torch.randint(lo, hi, (1,), generator=g)) for lo, hi in
                  [(1, 5), (1, 7), (1, 5), (1, 7)])  # fmt: skip
    return I, H, B, T


def random_state(kind, B, H, dtype):
    h = torch.randn(B, H, dtype=dtype, requires_grad=True)
    if kind == "lstm":
        return h, torch.randn(B, H, dtype=dtype, requires_grad=True)
    return h


def state_leaves(state):
    return list(state) if isinstance(state, tuple) else [state]


def run_cell(cell, x, state):
    """Step ``cell`` (ours or torch's) over x (B, T, I); return hs (B, T, H) and final state."""
    hs = []
    for x_t in x.unbind(1):
        state = cell(x_t, state)
        hs.append(state[0] if isinstance(state, tuple) else state)
    return torch.stack(hs, 1), state


def weighted_loss(hs, final, weights):
    """A loss on every hidden state and on the final state (also c for the LSTM)."""
    loss = (hs * weights).sum()
    for s in state_leaves(final):
        loss = loss + (s * s).sum()
    return loss


def max_diff(a, b):
    return max((p - q).abs().max().item() for p, q in zip(a, b, strict=True))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("kind", list(KINDS))
def test_cell_matches_torch_cell(kind, seed, bias, dtype):
    ours_cls, torch_cls, _, kwargs = KINDS[kind]
    I, H, B, T = random_sizes(seed)
    torch.manual_seed(seed)
    ref = torch_cls(I, H, bias=bias, **kwargs).to(dtype)
    cell = ours_cls.from_torch(ref)
    assert (cell.input_size, cell.hidden_size, cell.bias) == (I, H, bias)
    x = torch.randn(B, T, I, dtype=dtype, requires_grad=True)
    state = random_state(kind, B, H, dtype)
    weights = torch.randn(B, T, H, dtype=dtype)

    hs, final = run_cell(cell, x, state)
    hs_ref, final_ref = run_cell(ref, x, state)
    assert hs.shape == (B, T, H)
    assert max_diff([hs, *state_leaves(final)], [hs_ref, *state_leaves(final_ref)]) <= TOL[dtype]

    leaves = [x, *state_leaves(state)]
    names = [n for n in TORCH_NAMES if getattr(cell, n) is not None]
    ours = torch.autograd.grad(
        weighted_loss(hs, final, weights), leaves + [getattr(cell, n) for n in names]
    )
    theirs = torch.autograd.grad(
        weighted_loss(hs_ref, final_ref, weights),
        leaves + [getattr(ref, TORCH_NAMES[n]) for n in names],
    )
    assert len(ours) == len(leaves) + (4 if bias else 2)
    assert max_diff(ours, theirs) <= TOL[dtype]
    assert max(g.abs().max().item() for g in ours) > 1e-3  # the comparison is not vacuous


def run_module_with_cells(module, ours_cls, x, h0):
    """Rebuild a stacked (bidirectional) torch module from our cells, step by step."""
    directions = 2 if module.bidirectional else 1
    is_lstm = isinstance(module, nn.LSTM)
    layer_input, finals = x, []
    for layer in range(module.num_layers):
        outs = []
        for d in range(directions):
            cell = ours_cls.from_torch(module, layer=layer, direction=d)
            k = layer * directions + d
            state = (h0[0][k], h0[1][k]) if is_lstm else h0[k]
            seq = layer_input.flip(1) if d == 1 else layer_input
            hs, final = run_cell(cell, seq, state)
            outs.append(hs.flip(1) if d == 1 else hs)
            finals.append(final)
        layer_input = torch.cat(outs, 2)
    if is_lstm:
        return layer_input, tuple(torch.stack([f[j] for f in finals]) for j in range(2))
    return layer_input, torch.stack(finals)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kind", list(KINDS))
def test_layers_and_directions_match_torch_module(kind, dtype):
    ours_cls, _, module_cls, kwargs = KINDS[kind]
    I, H, B, T = 3, 4, 2, 5
    torch.manual_seed(7)
    module = module_cls(I, H, num_layers=2, bidirectional=True, batch_first=True, **kwargs)
    module = module.to(dtype)
    x = torch.randn(B, T, I, dtype=dtype, requires_grad=True)
    h0 = torch.randn(4, B, H, dtype=dtype, requires_grad=True)
    init = (h0, torch.randn(4, B, H, dtype=dtype, requires_grad=True)) if kind == "lstm" else h0
    weights = torch.randn(B, T, 2 * H, dtype=dtype)

    out_ref, final_ref = module(x, init)
    out, final = run_module_with_cells(module, ours_cls, x, init)
    assert max_diff([out, *state_leaves(final)], [out_ref, *state_leaves(final_ref)]) <= TOL[dtype]
    leaves = [x, *state_leaves(init)]
    ours = torch.autograd.grad(weighted_loss(out, final, weights), leaves)
    theirs = torch.autograd.grad(weighted_loss(out_ref, final_ref, weights), leaves)
    assert max_diff(ours, theirs) <= TOL[dtype]


@pytest.mark.parametrize("kind", list(KINDS))
def test_from_torch_parameter_gradients_per_layer(kind):
    """Gradients of every copied parameter equal those of the module's own parameters."""
    ours_cls, _, module_cls, kwargs = KINDS[kind]
    torch.manual_seed(3)
    module = module_cls(2, 3, num_layers=2, bidirectional=True, batch_first=True, **kwargs)
    module = module.double()
    x = torch.randn(2, 4, 2, dtype=torch.float64)
    out_ref, _ = module(x)
    weights = torch.randn_like(out_ref)
    (out_ref * weights).sum().backward()
    # Run the same network from our cells, keeping the cells to read their gradients.
    cells = {
        (layer, d): ours_cls.from_torch(module, layer=layer, direction=d)
        for layer in range(2)
        for d in range(2)
    }
    layer_input = x
    for layer in range(2):
        outs = []
        for d in range(2):
            seq = layer_input.flip(1) if d == 1 else layer_input
            hs, _ = run_cell(cells[layer, d], seq, None)
            outs.append(hs.flip(1) if d == 1 else hs)
        layer_input = torch.cat(outs, 2)
    (layer_input * weights).sum().backward()
    for (layer, d), cell in cells.items():
        suffix = f"_l{layer}" + ("_reverse" if d else "")
        for ours, theirs in TORCH_NAMES.items():
            ref = getattr(module, theirs + suffix)
            assert torch.allclose(getattr(cell, ours).grad, ref.grad, rtol=0, atol=1e-12)


def test_from_torch_copies_are_detached_clones():
    ref = nn.LSTM(2, 3, dtype=torch.float64)
    cell = LSTMCell.from_torch(ref)
    assert cell.U.dtype == torch.float64 and cell.U.requires_grad and cell.U.is_leaf
    with torch.no_grad():
        cell.U.add_(1.0)
    assert not torch.equal(cell.U, ref.weight_ih_l0)
    assert RNNCell.from_torch(nn.RNN(2, 3, nonlinearity="relu")).nonlinearity == "relu"


def test_torch_correspondence_tables():
    assert torch_interop.PARAMETER_NAMES == TORCH_NAMES
    assert torch_interop.GATE_ORDER["LSTMCell"] == ("i", "f", "g", "o")
    assert torch_interop.GATE_ORDER["GRUCell"] == ("r", "z", "n")
    for kind, (ours_cls, torch_cell, torch_module, _) in KINDS.items():
        assert torch_interop.torch_types(ours_cls) == (torch_cell, torch_module), kind
    with pytest.raises(TypeError, match="no torch.nn counterpart"):
        torch_interop.torch_types(GatedLeakyCell)


def test_from_torch_builds_a_subclass():
    class Peephole(LSTMCell):
        pass

    cell = Peephole.from_torch(nn.LSTMCell(2, 3))
    assert type(cell) is Peephole and cell.hidden_size == 3


def test_torch_state_layout_round_trip():
    """split_torch_state and join_torch_state are inverses on torch's (L*D, B, H) layout."""
    h0, c0 = torch.randn(4, 2, 3), torch.randn(4, 2, 3)
    per_layer = torch_interop.split_torch_state((h0, c0), 2, 2, 2, 3, is_lstm=True)
    assert len(per_layer) == 2 and torch.equal(per_layer[1][0][1], c0[2])  # layer 1, forward
    h_n, c_n = torch_interop.join_torch_state(per_layer, 2)
    assert torch.equal(h_n, h0) and torch.equal(c_n, c0)
    single = torch_interop.split_torch_state(h0, 4, 1, 2, 3, is_lstm=False)
    assert torch.equal(torch_interop.join_torch_state(single, 1), h0)
    with pytest.raises(TypeError, match="pair"):
        torch_interop.split_torch_state(h0, 2, 2, 2, 3, is_lstm=True)
    with pytest.raises(ValueError, match="h_0"):
        torch_interop.split_torch_state(h0, 2, 1, 2, 3, is_lstm=False)


def test_default_init_is_uniform_in_torch_range():
    torch.manual_seed(0)
    cell = LSTMCell(5, 16)
    bound = 1 / math.sqrt(16)
    for p in cell.parameters():
        assert p.abs().max() <= bound
        assert p.std() > bound / 3  # spread over the interval, not constant
    assert cell.U.shape == (64, 5) and cell.W.shape == (64, 16) and cell.b_h.shape == (64,)
    gru = GRUCell(2, 3, bias=False)
    assert gru.U.shape == (9, 2) and gru.b_x is None and gru.b_h is None
    assert len(list(gru.parameters())) == 2


def test_zero_state_and_output():
    lstm = LSTMCell(2, 3).double()
    h, c = lstm.zero_state(4)
    assert h.shape == c.shape == (4, 3) and h.dtype == torch.float64
    assert not h.any() and not c.any()
    assert lstm.output((h, c)) is h
    rnn = RNNCell(2, 3)
    assert rnn.zero_state(2, dtype=torch.float64).dtype == torch.float64
    assert isinstance(rnn, RecurrentCell)
    x = torch.randn(4, 2, dtype=torch.float64)
    state = lstm(x)  # None means zeros
    assert all(torch.equal(a, b) for a, b in zip(state, lstm(x, (h, c)), strict=True))


# --- the gated leaky unit -------------------------------------------------------------


def test_gated_leaky_constant_gate_is_geometric_sum():
    H, B, T = 4, 3, 25
    cell = GatedLeakyCell(H).double()
    a = np.array([0.1, 0.5, 0.9, 0.99])
    with torch.no_grad():
        cell.theta.copy_(torch.logit(torch.tensor(a)))
    x = torch.randn(B, H, dtype=torch.float64)
    s0 = torch.randn(B, H, dtype=torch.float64)
    s = s0
    for _ in range(T):
        s = cell(x, s)
    # s(T) = a^T s(0) + (1 + a + ... + a^(T-1)) x = a^T s(0) + (1 - a^T) / (1 - a) x
    expected = a**T * s0.numpy() + (1 - a**T) / (1 - a) * x.numpy()
    np.testing.assert_allclose(s.detach().numpy(), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cell.gate(x).detach().numpy(), np.tile(a, (B, 1)), rtol=1e-12)


def test_gated_leaky_context_sets_the_gate():
    H, C, B = 3, 2, 4
    cell = GatedLeakyCell(H, context_size=C).double()
    assert cell.input_size == H + C and cell.theta is None
    assert cell.V.shape == (H, C) and cell.b_theta.shape == (H,)
    x_t = torch.randn(B, H + C, dtype=torch.float64)
    z = x_t[:, H:].numpy()
    V, b = cell.V.detach().numpy(), cell.b_theta.detach().numpy()
    expected_gate = 1 / (1 + np.exp(-(z @ V.T + b)))
    np.testing.assert_allclose(cell.gate(x_t).detach().numpy(), expected_gate, rtol=1e-12)
    s = torch.randn(B, H, dtype=torch.float64)
    expected = expected_gate * s.numpy() + x_t[:, :H].numpy()
    np.testing.assert_allclose(cell(x_t, s).detach().numpy(), expected, rtol=1e-12)
    # A context that closes the gate forgets; one that opens it keeps the state.
    with torch.no_grad():
        cell.V.fill_(0.0)
        cell.b_theta.fill_(-50.0)
    torch.testing.assert_close(cell(x_t, s), x_t[:, :H], rtol=0, atol=1e-20)
    with torch.no_grad():
        cell.b_theta.fill_(50.0)
    torch.testing.assert_close(cell(x_t, s), s + x_t[:, :H], rtol=0, atol=1e-15)


def test_gated_leaky_init_spreads_time_constants():
    cell = GatedLeakyCell(10)
    retention = torch.sigmoid(cell.theta.detach())
    torch.testing.assert_close(retention, torch.linspace(0.5, 0.95, 10))
    ctx = GatedLeakyCell(10, context_size=3)
    torch.testing.assert_close(torch.sigmoid(ctx.b_theta.detach()), torch.linspace(0.5, 0.95, 10))


def test_gated_leaky_parameter_names():
    cell, ctx = GatedLeakyCell(4), GatedLeakyCell(4, context_size=2)
    assert set(dict(cell.named_parameters())) == {"theta"}
    assert set(dict(ctx.named_parameters())) == {"V", "b_theta"}


@pytest.mark.parametrize("context_size", [0, 2])
def test_gated_leaky_gradcheck(context_size):
    torch.manual_seed(0)
    H, B, T = 3, 2, 4
    cell = GatedLeakyCell(H, context_size).double()
    params = list(cell.parameters())
    x = torch.randn(B, T, H + context_size, dtype=torch.float64, requires_grad=True)
    s0 = torch.randn(B, H, dtype=torch.float64, requires_grad=True)

    def f(x, s0, *params):
        return run_cell(cell, x, s0)[0]

    assert torch.autograd.gradcheck(f, (x, s0, *params))


# --- bad inputs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: RNNCell(2, 3, nonlinearity="sigmoid"), ValueError, "nonlinearity"),
        (lambda: RNNCell(0, 3), ValueError, "input_size"),
        (lambda: LSTMCell(2, 2.5), TypeError, "hidden_size"),
        (lambda: GRUCell(2, 3, bias=1), TypeError, "bias"),
        (lambda: GatedLeakyCell(3, context_size=-1), ValueError, "context_size"),
        (lambda: LSTMCell.from_torch(nn.GRU(2, 3)), TypeError, "LSTM"),
        (lambda: GRUCell.from_torch(nn.Linear(2, 3)), TypeError, "GRU"),
        (lambda: RNNCell.from_torch(nn.RNN(2, 3, num_layers=2), layer=2), ValueError, "layer"),
        (lambda: RNNCell.from_torch(nn.RNNCell(2, 3), layer=1), ValueError, "layer"),
        (lambda: GRUCell.from_torch(nn.GRU(2, 3), direction=1), ValueError, "direction"),
        (lambda: LSTMCell.from_torch(nn.LSTM(2, 3, proj_size=2)), ValueError, "proj_size"),
        (lambda: LSTMCell.from_torch(nn.LSTM(2, 3), layer=-1), ValueError, "layer"),
    ],
)
def test_bad_construction(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize(
    ("cell", "x", "state", "error", "match"),
    [
        (RNNCell(2, 3), torch.randn(4, 5, 2), None, ValueError, r"\(B, 2\)"),
        (RNNCell(2, 3), torch.randn(4, 3), None, ValueError, "dimension 1 is 3"),
        (RNNCell(2, 3), np.zeros((4, 2)), None, TypeError, "numpy"),
        (RNNCell(2, 3), torch.ones(4, 2, dtype=torch.int64), None, TypeError, "floating"),
        (RNNCell(2, 3), torch.randn(4, 2, dtype=torch.float64), None, TypeError, "dtype"),
        (GRUCell(2, 3), torch.randn(4, 2), torch.randn(4, 2), ValueError, "state"),
        (GRUCell(2, 3), torch.randn(4, 2), torch.randn(5, 3), ValueError, "state"),
        (GRUCell(2, 3), torch.randn(4, 2), torch.randn(4, 3).double(), TypeError, "dtype"),
        (LSTMCell(2, 3), torch.randn(4, 2), torch.randn(4, 3), TypeError, r"\(h, c\)"),
        (LSTMCell(2, 3), torch.randn(4, 2), (torch.randn(4, 3),) * 3, TypeError, "pair"),
        (
            LSTMCell(2, 3),
            torch.randn(4, 2),
            (torch.randn(4, 3), torch.randn(4, 2)),
            ValueError,
            "c must",
        ),  # fmt: skip
        (GatedLeakyCell(3, 1), torch.randn(4, 3), None, ValueError, r"\(B, 4\)"),
    ],
)
def test_bad_step_inputs(cell, x, state, error, match):
    with pytest.raises(error, match=match):
        cell(x, state)


def test_bad_zero_state_batch():
    with pytest.raises(ValueError, match="batch_size"):
        GRUCell(2, 3).zero_state(0)


# --- a step function of your own as a cell ---------------------------------------------


def rnn_step(h, x, W, U, b):
    return checks.REGISTRY["rnn_step"].reference(h, x, W, U, b)


def lstm_step(x, h, c, U, W, b):
    return checks.REGISTRY["lstm_step"].reference(x, h, c, U, W, b)


def gru_step(x, h, U, W, b_x, b_h):
    return checks.REGISTRY["gru_step"].reference(x, h, U, W, b_x, b_h)


STEPS = {"rnn": (rnn_step, nn.RNN), "lstm": (lstm_step, nn.LSTM), "gru": (gru_step, nn.GRU)}


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_step_cell_equals_torch_layer_with_the_same_weights(kind):
    step, layer = STEPS[kind]
    torch.manual_seed(1)
    cell, ref = StepCell(step, kind, 3, 5), layer(3, 5, batch_first=True)
    with torch.no_grad():  # torch's layer gets the cell's U, W, b_x, b_h
        for p, q in zip((cell.U, cell.W, cell.b_x, cell.b_h), ref.parameters(), strict=True):
            q.copy_(p)
    x = torch.randn(4, 7, 3)
    hs, final = sequences.run(cell, x)
    torch.testing.assert_close(hs, ref(x)[0])
    assert isinstance(final, tuple) == (kind == "lstm")
    sequences.ManyToOne(cell, 2)(x).sum().backward()  # gradients reach every parameter
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in cell.parameters())


def test_step_cell_initialises_like_torch_and_sets_the_forget_bias():
    torch.manual_seed(0)
    ours = StepCell(lstm_step, "lstm", 2, 4)
    torch.manual_seed(0)
    torch_like = LSTMCell(2, 4).parameters()
    assert all(torch.equal(p, q) for p, q in zip(ours.parameters(), torch_like, strict=True))
    model = StepCell(lstm_step, "lstm", 2, 4, forget_bias=1.0)
    assert model.U.shape == (16, 2) and model.W.shape == (16, 4)
    assert (model.b_x[4:8] > 0.5).all()  # uniform(+-1/2) plus 1
    assert "step_fn=gru_step" in repr(StepCell(gru_step, "gru", 2, 3))


def test_step_cell_names_a_step_that_returns_the_wrong_shape():
    cell = StepCell(lambda x, h, U, W, b_x, b_h: h[:, :6], "gru", 8, 12)
    with pytest.raises(ValueError, match="new state from <lambda>"):
        sequences.run(cell, torch.randn(2, 3, 8))
    lstm = StepCell(lambda x, h, c, U, W, b: h, "lstm", 2, 3)
    with pytest.raises(TypeError, match="pair"):
        lstm(torch.randn(2, 2))


def test_step_cell_bad_arguments_say_what_was_expected():
    with pytest.raises(TypeError, match="step_fn must be a function"):
        StepCell(torch.zeros(3), "gru", 1, 1)
    with pytest.raises(TypeError, match="step_fn must be a function"):
        StepCell(GRUCell(2, 3), "gru", 2, 3)
    with pytest.raises(ValueError, match="kind must be one of"):
        StepCell(gru_step, "minigru", 2, 3)
    with pytest.raises(ValueError, match="hidden_size must be >= 1"):
        StepCell(gru_step, "gru", 2, 0)
    with pytest.raises(ValueError, match="x"):
        sequences.run(StepCell(gru_step, "gru", 2, 3), torch.zeros(4, 5, 3))
