"""rnncourse.sequences and rnncourse.stacked, checked against torch.nn modules and autograd."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnncourse import sequences as S
from rnncourse import stacked
from rnncourse.cells import GatedLeakyCell, GRUCell, LSTMCell, RNNCell

TORCH = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
CELLS = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}
TOL = {torch.float32: 1e-6, torch.float64: 1e-12}


def close(a, b, dtype=torch.float64):
    """Equal within the tolerance of ``dtype`` (works on tensors and (h, c) pairs)."""
    if isinstance(a, tuple):
        for part_a, part_b in zip(a, b, strict=True):
            close(part_a, part_b, dtype)
        return
    torch.testing.assert_close(a, b, atol=TOL[dtype], rtol=0)


def make_cell(kind, input_size=3, hidden_size=4):
    torch.manual_seed(1)
    if kind == "leaky":
        return GatedLeakyCell(hidden_size, context_size=input_size - hidden_size).double()
    return CELLS[kind](input_size, hidden_size).double()


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


LENGTHS = torch.tensor([5, 2, 4])


# --------------------------------------------------------------------------- run


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_run_equals_torch_module_with_initial_state(kind):
    torch.manual_seed(0)
    module = TORCH[kind](3, 4, batch_first=True).double()
    cell = CELLS[kind].from_torch(module)
    x = randn(2, 6, 3)
    h0 = randn(1, 2, 4, seed=1)
    torch_state = (h0, randn(1, 2, 4, seed=2)) if kind == "lstm" else h0
    expected_out, expected_final = module(x, torch_state)
    state = tuple(s[0] for s in torch_state) if kind == "lstm" else h0[0]
    hs, final = S.run(cell, x, state)
    close(hs, expected_out)
    if kind == "lstm":
        close(final, tuple(s[0] for s in expected_final))
    else:
        close(final, expected_final[0])


def row(state, b):
    """Row ``b`` of a state ``h`` (or of both parts of an ``(h, c)`` pair), kept 2-D."""
    if isinstance(state, tuple):
        return tuple(part[b : b + 1] for part in state)
    return state[b : b + 1]


def assert_each_sequence_as_if_alone(out, final, x, run):
    """Padded results (out, final) for x with LENGTHS equal run() on each sequence alone,
    trimmed to its length; outputs past a sequence's length are zero."""
    for b, n in enumerate(LENGTHS.tolist()):
        alone, alone_final = run(x[b : b + 1, :n])
        close(out[b : b + 1, :n], alone)
        assert torch.all(out[b, n:] == 0)
        close(row(final, b), alone_final)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru", "leaky"])
def test_run_padding_never_changes_a_result(kind):
    cell = make_cell(kind, input_size=6 if kind == "leaky" else 3)
    x = randn(3, 5, cell.input_size)
    padded = x.clone()
    for b, n in enumerate(LENGTHS):
        padded[b, n:] = 1e3  # garbage in the padding must not leak into anything
    hs, final = S.run(cell, padded, lengths=LENGTHS)
    hs_list, final_list = S.run(cell, padded, lengths=LENGTHS.tolist())
    close(hs_list, hs)
    close(final_list, final)
    assert_each_sequence_as_if_alone(hs, final, x, lambda x: S.run(cell, x))


def test_run_with_lengths_equals_packed_torch_lstm():
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 4, batch_first=True).double()
    x = randn(3, 5, 3)
    packed = pack_padded_sequence(x, LENGTHS, batch_first=True, enforce_sorted=False)
    out, (h_n, c_n) = lstm(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=5)
    hs, (h, c) = S.run(LSTMCell.from_torch(lstm), x, lengths=LENGTHS)
    close(hs, out)
    close((h, c), (h_n[0], c_n[0]))


def test_length_mask_marks_the_first_steps_of_each_sequence():
    expected = torch.arange(5) < LENGTHS[:, None]
    assert torch.equal(S.length_mask(LENGTHS, 5), expected)
    assert torch.equal(S.length_mask(LENGTHS.tolist(), 5, batch_size=3), expected)
    empty_allowed = S.length_mask(torch.tensor([0, 2]), 3, min_length=0)
    assert empty_allowed.tolist() == [[False, False, False], [True, True, False]]


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((torch.tensor([0, 2]), 3), {}, ValueError, "between 1 and T=3"),
        ((torch.tensor([4, 2]), 3), {"min_length": 0}, ValueError, "between 0 and T=3"),
        ((torch.tensor([1, 2]), 3), {"batch_size": 3}, ValueError, "lengths must have shape"),
        ((torch.tensor([[1, 2]]), 3), {}, ValueError, "1 dimensions"),
        ((torch.tensor([1.0, 2.0]), 3), {}, TypeError, "integers"),
        ((np.array([1, 2]), 3), {}, TypeError, "numpy"),
        ((torch.tensor([1, 2]), 3.0), {}, TypeError, "steps"),
    ],
)
def test_length_mask_rejects_bad_inputs(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        S.length_mask(*args, **kwargs)


def test_run_gradients_equal_finite_differences():
    cell = make_cell("gru", hidden_size=2)
    x = randn(2, 3, 3).requires_grad_()
    assert torch.autograd.gradcheck(lambda x: S.run(cell, x, lengths=torch.tensor([3, 2]))[0], (x,))


# --------------------------------------------------------------------------- from_torch


def torch_module(kind, dtype, batch_first, num_layers=2, bidirectional=True):
    torch.manual_seed(0)
    module = TORCH[kind](3, 4, num_layers, batch_first=batch_first, bidirectional=bidirectional)
    return module.to(dtype)


def param_pairs(module, ours):
    """(torch parameter, rnncourse parameter) for every weight of every layer/direction."""
    names = {"U": "weight_ih", "W": "weight_hh", "b_x": "bias_ih", "b_h": "bias_hh"}
    directions = 2 if module.bidirectional else 1
    for layer in range(module.num_layers):
        for d in range(directions):
            stack_layer = ours.stack.layers[layer]
            if directions == 2:
                stack_layer = (stack_layer.forward_cell, stack_layer.backward_cell)[d]
            cell = stack_layer
            suffix = f"_l{layer}" + ("_reverse" if d else "")
            for mine, theirs in names.items():
                yield getattr(module, theirs + suffix), getattr(cell, mine)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_from_torch_equals_torch_in_outputs_states_and_gradients(kind, batch_first, dtype):
    module = torch_module(kind, dtype, batch_first)
    ours = stacked.from_torch(module)
    x = torch.randn(2, 5, 3, generator=torch.Generator().manual_seed(3), dtype=dtype)
    expected_out, expected_final = module(x if batch_first else x.transpose(0, 1))
    if not batch_first:
        expected_out = expected_out.transpose(0, 1)
    out, final = ours(x)
    assert out.shape == (2, 5, 8)
    close(out, expected_out, dtype)
    close(final, expected_final, dtype)

    def loss(out, final):
        finals = final if isinstance(final, tuple) else (final,)
        weights = torch.linspace(-1, 1, out.numel(), dtype=dtype).reshape(out.shape)
        return (out * weights).sum() + sum((f**2).sum() for f in finals)

    loss(expected_out, expected_final).backward()
    loss(out, final).backward()
    pairs = list(param_pairs(module, ours))
    assert len(pairs) == 2 * 2 * 4
    for theirs, mine in pairs:
        close(mine.grad, theirs.grad, dtype)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_from_torch_with_initial_state_and_lengths_equals_packed_torch(kind):
    module = torch_module(kind, torch.float64, batch_first=True)
    ours = stacked.from_torch(module)
    x = randn(3, 5, 3)
    h0 = randn(4, 3, 4, seed=1)
    state = (h0, randn(4, 3, 4, seed=2)) if kind == "lstm" else h0
    packed = pack_padded_sequence(x, LENGTHS, batch_first=True, enforce_sorted=False)
    expected_out, expected_final = module(packed, state)
    expected_out, _ = pad_packed_sequence(expected_out, batch_first=True, total_length=5)
    out, final = ours(x, state, lengths=LENGTHS)
    close(out, expected_out)
    close(final, expected_final)


def test_from_torch_relu_single_layer_unidirectional():
    torch.manual_seed(0)
    module = nn.RNN(3, 4, nonlinearity="relu", batch_first=True).double()
    x = randn(2, 4, 3)
    out, h_n = stacked.from_torch(module)(x)
    expected_out, expected_h = module(x)
    close(out, expected_out)
    close(h_n, expected_h)


# --------------------------------------------------------------------------- topologies


def test_many_to_many_is_a_shared_readout_at_every_step():
    cell = make_cell("lstm")
    model = S.ManyToMany(cell, 2).double()
    x = randn(3, 5, 3)
    o, final = model(x)
    hs, expected_final = S.run(cell, x)
    close(o, hs @ model.readout.weight.T + model.readout.bias)
    close(final, expected_final)
    o_padded, final_padded = model(x, lengths=LENGTHS)
    assert_each_sequence_as_if_alone(o_padded, final_padded, x, model)


def test_many_to_one_reads_the_last_valid_state():
    torch.manual_seed(0)
    gru = nn.GRU(3, 4, batch_first=True).double()
    model = S.ManyToOne(GRUCell.from_torch(gru), 2).double()
    x = randn(3, 5, 3)
    _, h_n = gru(x)
    close(model(x), model.readout(h_n[0]))
    o = model(x, lengths=LENGTHS)
    assert o.shape == (3, 2)
    for b, n in enumerate(LENGTHS.tolist()):
        close(o[b : b + 1], model(x[b : b + 1, :n]))


def test_stacked_feeds_each_layer_into_the_next():
    c1, c2 = make_cell("rnn", 3, 4), make_cell("gru", 4, 2)
    x = randn(2, 5, 3)
    hs, finals = stacked.Stacked([c1, c2])(x)
    hs1, f1 = S.run(c1, x)
    hs2, f2 = S.run(c2, hs1)
    close(hs, hs2)
    close(finals[0], f1)
    close(finals[1], f2)


def test_bidirectional_equals_torch_and_ignores_padding():
    torch.manual_seed(0)
    gru = nn.GRU(3, 4, batch_first=True, bidirectional=True).double()
    model = stacked.Bidirectional(GRUCell.from_torch(gru, 0, 0), GRUCell.from_torch(gru, 0, 1))
    x = randn(3, 5, 3)
    hs, (f_fwd, f_bwd) = model(x)
    expected, h_n = gru(x)
    close(hs, expected)
    close(f_fwd, h_n[0])
    close(f_bwd, h_n[1])
    hs_pad, (pad_fwd, pad_bwd) = model(x, lengths=LENGTHS)
    for b, n in enumerate(LENGTHS.tolist()):
        alone, (alone_fwd, alone_bwd) = model(x[b : b + 1, :n])
        close(hs_pad[b : b + 1, :n], alone)
        assert torch.all(hs_pad[b, n:] == 0)
        close(pad_fwd[b : b + 1], alone_fwd)
        close(pad_bwd[b : b + 1], alone_bwd)


@pytest.mark.parametrize("context", ["state", "input", "both"])
def test_encoder_decoder_equals_torch_grus(context):
    torch.manual_seed(0)
    d, h = 2, 4
    encoder = nn.GRU(3, h, batch_first=True).double()
    dec_in = d + (h if context != "state" else 0)
    decoder = nn.GRU(dec_in, h, batch_first=True).double()
    model = S.EncoderDecoder(
        GRUCell.from_torch(encoder), GRUCell.from_torch(decoder), 5, context=context
    ).double()
    x, y_in = randn(2, 6, 3), randn(2, 3, d, seed=1)
    o = model(x, y_in=y_in)
    assert o.shape == (2, 3, 5)
    _, C = encoder(x)  # (1, B, H)
    dec_x = y_in if context == "state" else torch.cat([y_in, C[0, :, None].expand(-1, 3, -1)], 2)
    expected, _ = decoder(dec_x, C if context != "input" else None)
    close(o, model.readout(expected))
    # without y_in the decoder's own inputs are zeros
    close(model(x, steps=3), model(x, y_in=torch.zeros_like(y_in)))


def test_encoder_decoder_lstm_state_context_starts_cell_state_at_zero():
    torch.manual_seed(0)
    encoder, decoder = nn.LSTM(3, 4, batch_first=True), nn.LSTM(2, 4, batch_first=True)
    model = S.EncoderDecoder(LSTMCell.from_torch(encoder), LSTMCell.from_torch(decoder), 1)
    x, y_in = torch.randn(2, 5, 3), torch.randn(2, 7, 2)
    _, (h_n, _) = encoder(x)
    expected, _ = decoder(y_in, (h_n, torch.zeros_like(h_n)))
    close(model(x, y_in=y_in), model.readout(expected), torch.float32)


def test_encoder_decoder_ignores_encoder_padding():
    model = S.EncoderDecoder(make_cell("gru"), make_cell("gru", 2), 3).double()
    x, y_in = randn(3, 5, 3), randn(3, 2, 2, seed=1)
    o = model(x, y_in=y_in, lengths=LENGTHS)
    for b, n in enumerate(LENGTHS.tolist()):
        close(o[b : b + 1], model(x[b : b + 1, :n], y_in=y_in[b : b + 1]))


@pytest.mark.parametrize("feed_back", [True, False])
def test_one_to_many_equals_a_torch_cell_loop(feed_back):
    torch.manual_seed(0)
    torch_cell = nn.LSTMCell(3, 4).double()
    model = S.OneToMany(LSTMCell.from_torch(torch_cell), 3, feed_back_output=feed_back).double()
    x0 = randn(2, 3)
    x, state, expected = x0, None, []
    for _ in range(4):
        state = torch_cell(x, state)
        o = model.readout(state[0])
        expected.append(o)
        x = o if feed_back else x0
    close(model(x0, 4), torch.stack(expected, 1))


# --------------------------------------------------------------------------- output feedback


def count_nodes(grad_fn, name):
    seen, stack = set(), [grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        stack.extend(next_fn for next_fn, _ in node.next_functions)
    return sum(type(node).__name__ == name for node in seen)


def reference_step(model, x, y_prev):
    h = torch.tanh(model.U @ x + model.R @ y_prev + model.b)
    return model.V @ h + model.b_o


def test_output_feedback_teacher_forcing_is_one_parallel_pass():
    torch.manual_seed(0)
    model = S.OutputFeedback(3, 2, 5).double()
    x, y = randn(2, 6, 3), randn(2, 6, 2, seed=1)
    y0 = randn(2, 2, seed=2)
    y_prev = S.shift_right(y, y0)
    o = model.teacher_forced(x, y_prev)
    for b in range(2):
        previous = y0[b]
        for t in range(6):
            close(o[b, t], reference_step(model, x[b, t], previous))
            previous = y[b, t]  # the true output, not the network's own
    assert count_nodes(o.grad_fn, "TanhBackward0") == 1  # no loop over time
    close(model(x, y_prev), o)


def test_output_feedback_generate_feeds_back_its_own_output():
    torch.manual_seed(0)
    model = S.OutputFeedback(3, 2, 5).double()
    x, y0 = randn(2, 6, 3), randn(2, 2, seed=2)
    o = model.generate(x, y0)
    for b in range(2):
        previous = y0[b]
        for t in range(6):
            previous = reference_step(model, x[b, t], previous)
            close(o[b, t], previous)
    assert count_nodes(o.grad_fn, "TanhBackward0") == 6
    close(model(x), model.generate(x, torch.zeros(2, 2, dtype=torch.float64)))
    # fed its own outputs as "targets", teacher forcing reproduces generation
    close(model.teacher_forced(x, S.shift_right(o, y0)), o)


def test_shift_right():
    y = torch.arange(12.0).reshape(1, 4, 3)
    shifted = S.shift_right(y)
    assert torch.equal(shifted[0, 0], torch.zeros(3))
    assert torch.equal(shifted[0, 1:], y[0, :3])
    assert torch.equal(S.shift_right(y, torch.ones(1, 3))[0, 0], torch.ones(3))


# --------------------------------------------------------------------------- bad inputs


@pytest.fixture
def cell():
    return make_cell("gru")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"x": np.zeros((2, 5, 3))}, TypeError, "numpy"),
        ({"x": torch.zeros(2, 5, 3, dtype=torch.long)}, TypeError, "floating"),
        ({"x": torch.zeros(2, 3)}, ValueError, "3 dimensions"),
        ({"x": torch.zeros(2, 5, 4)}, ValueError, "expected 3"),
        ({"x": torch.zeros(2, 0, 3)}, ValueError, "empty"),
        ({"lengths": torch.tensor([6, 2])}, ValueError, "between 1 and T=5"),
        ({"lengths": torch.tensor([0, 2])}, ValueError, "between 1 and T=5"),
        ({"lengths": torch.tensor([5.0, 2.0])}, TypeError, "integers"),
        ({"lengths": torch.tensor([5, 2, 1])}, ValueError, "lengths"),
        ({"lengths": torch.tensor([True, True])}, TypeError, "integers"),
        ({"mask": torch.ones(2, 5, dtype=torch.bool)}, TypeError, "mask"),  # lengths only
        ({"state": torch.zeros(3, 4, dtype=torch.float64)}, ValueError, "state"),
        ({"state": torch.zeros(2, 4)}, TypeError, "dtype"),
    ],
)
def test_run_rejects_bad_inputs(cell, kwargs, error, match):
    kwargs = {"x": torch.zeros(2, 5, 3, dtype=torch.float64), **kwargs}
    with pytest.raises(error, match=match):
        S.run(cell, **kwargs)


def test_run_rejects_torch_cells_and_bad_lstm_state():
    with pytest.raises(TypeError, match="from_torch"):
        S.run(nn.GRUCell(3, 4), torch.zeros(2, 5, 3))
    with pytest.raises(TypeError, match=r"\(h, c\)"):
        S.run(make_cell("lstm"), torch.zeros(2, 5, 3, dtype=torch.float64), torch.zeros(2, 4))


def test_topologies_reject_bad_construction(cell):
    with pytest.raises(ValueError, match="output_size"):
        S.ManyToMany(cell, 0)
    with pytest.raises(TypeError, match="output_size"):
        S.ManyToOne(cell, 2.0)
    with pytest.raises(TypeError, match="recurrent cell"):
        S.ManyToOne(nn.Linear(3, 4), 2)
    with pytest.raises(ValueError, match="context"):
        S.EncoderDecoder(cell, cell, 2, context="hidden")
    with pytest.raises(ValueError, match="hidden_size must equal"):
        S.EncoderDecoder(cell, GRUCell(3, 5), 2)
    with pytest.raises(ValueError, match=r"D \+ 4"):
        S.EncoderDecoder(cell, GRUCell(3, 4), 2, context="input")
    with pytest.raises(ValueError, match="feed_back_output=False"):
        S.OneToMany(cell, 2)
    with pytest.raises(ValueError, match="must equal"):
        stacked.Bidirectional(cell, GRUCell(2, 4))
    with pytest.raises(ValueError, match="chain"):
        stacked.Stacked([cell, GRUCell(3, 4)])
    with pytest.raises(TypeError, match="non-empty list"):
        stacked.Stacked([])
    with pytest.raises(TypeError, match="non-empty list"):
        stacked.Stacked(cell)
    with pytest.raises(ValueError, match="hidden_size"):
        S.OutputFeedback(3, 2, 0)


def test_topologies_reject_bad_forward_inputs(cell):
    x = torch.zeros(2, 5, 3, dtype=torch.float64)
    model = S.EncoderDecoder(cell, GRUCell(6, 4).double(), 2, context="both").double()
    with pytest.raises(TypeError, match="steps"):
        model(x)
    with pytest.raises(ValueError, match="reads 2 features"):
        model(x, y_in=torch.zeros(2, 3, 6, dtype=torch.float64))
    with pytest.raises(ValueError, match="dimension 1"):
        model(x, steps=4, y_in=torch.zeros(2, 3, 2, dtype=torch.float64))
    one_to_many = S.OneToMany(cell, 3)
    with pytest.raises(ValueError, match="2 dimensions"):
        one_to_many(x, 4)
    with pytest.raises(ValueError, match="steps"):
        one_to_many(x[:, 0], 0)
    with pytest.raises(ValueError, match="between 1 and T"):
        S.ManyToMany(cell, 2)(x, lengths=torch.tensor([9, 1]))
    with pytest.raises(ValueError, match="expected 3"):
        S.ManyToOne(cell, 2)(torch.zeros(2, 5, 2, dtype=torch.float64))
    with pytest.raises(TypeError, match="pair"):
        stacked.Bidirectional(cell, cell)(x, state=torch.zeros(2, 4))
    with pytest.raises(TypeError, match="list of 1"):
        stacked.Stacked([cell])(x, state=torch.zeros(2, 4))


def test_output_feedback_and_shift_right_reject_bad_inputs():
    model = S.OutputFeedback(3, 2, 5)
    x = torch.zeros(2, 6, 3)
    with pytest.raises(ValueError, match="shift_right"):
        model.teacher_forced(x, torch.zeros(2, 5, 2))
    with pytest.raises(ValueError, match="expected 3"):
        model.generate(torch.zeros(2, 6, 4))
    with pytest.raises(ValueError, match="y0"):
        model.generate(x, torch.zeros(2, 3))
    with pytest.raises(TypeError, match="numpy"):
        S.shift_right(np.zeros((2, 3, 1)))
    with pytest.raises(ValueError, match="y0"):
        S.shift_right(torch.zeros(2, 3, 1), torch.zeros(2, 2))


def test_from_torch_rejects_bad_modules_and_states():
    with pytest.raises(TypeError, match="torch.nn.LSTM"):
        stacked.from_torch(nn.LSTMCell(3, 4))
    with pytest.raises(ValueError, match="proj_size"):
        stacked.from_torch(nn.LSTM(3, 4, proj_size=2))
    model = stacked.from_torch(nn.LSTM(3, 4, num_layers=2))
    x = torch.zeros(2, 5, 3)
    with pytest.raises(TypeError, match="pair"):
        model(x, torch.zeros(2, 2, 4))
    with pytest.raises(ValueError, match="h_0"):
        model(x, (torch.zeros(1, 2, 4), torch.zeros(2, 2, 4)))
    with pytest.raises(ValueError, match="expected 3"):
        stacked.from_torch(nn.GRU(3, 4))(torch.zeros(2, 5, 2))
