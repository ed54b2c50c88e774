"""benchmarks/fused.py's sequence functions against the step-by-step cell loop, torch, gradcheck."""

import pytest
import torch
from torch import nn

from benchmarks.fused import gru_sequence, lstm_sequence
from rnncourse.cells import GRUCell, LSTMCell, RNNCell

TOL = {torch.float32: 1e-6, torch.float64: 1e-12}
FUSED = {"lstm": (LSTMCell, lstm_sequence), "gru": (GRUCell, gru_sequence)}


def loop(cell, x, state):
    hs = []
    for x_t in x.unbind(1):
        state = cell(x_t, state)
        hs.append(cell.output(state))
    return torch.stack(hs, 1), state


def leaves_of(state):
    return list(state) if isinstance(state, tuple) else [state]


def loss_of(hs, final, weights):
    """A loss on every hidden state and on every part of the final state."""
    return (hs * weights).sum() + sum((s**3).sum() for s in leaves_of(final))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("given_state", [True, False])
@pytest.mark.parametrize(("kind", "B", "T", "I", "H"), [
    ("lstm", 3, 7, 2, 5), ("lstm", 1, 1, 1, 1), ("gru", 3, 7, 2, 5), ("gru", 2, 1, 3, 4)
])  # fmt: skip
def test_fused_equals_step_loop(kind, B, T, I, H, given_state, bias, dtype):
    cell_cls, fused = FUSED[kind]
    torch.manual_seed(B * 100 + T)
    cell = cell_cls(I, H, bias=bias).to(dtype)
    x = torch.randn(B, T, I, dtype=dtype, requires_grad=True)
    state = None
    if given_state:
        state = cell.zero_state(B)
        state = tuple(s.normal_() for s in state) if kind == "lstm" else state.normal_()
        for s in leaves_of(state):
            s.requires_grad_()
    weights = torch.randn(B, T, H, dtype=dtype)

    hs, final = fused(cell, x, state)
    hs_ref, final_ref = loop(cell, x, state)
    assert hs.shape == (B, T, H) and hs.is_contiguous()
    for a, b in zip([hs, *leaves_of(final)], [hs_ref, *leaves_of(final_ref)], strict=True):
        assert a.shape == b.shape and a.dtype == dtype
        assert (a - b).abs().max() <= TOL[dtype]

    wrt = [x, *(leaves_of(state) if given_state else []), *cell.parameters()]
    ours = torch.autograd.grad(loss_of(hs, final, weights), wrt)
    ref = torch.autograd.grad(loss_of(hs_ref, final_ref, weights), wrt)
    for a, b in zip(ours, ref, strict=True):
        assert (a - b).abs().max() <= TOL[dtype] * max(1.0, b.abs().max().item())


def test_gradients_land_on_cell_parameters():
    cell = LSTMCell(2, 3)
    hs, (h_T, c_T) = lstm_sequence(cell, torch.randn(4, 5, 2))
    (hs.sum() + c_T.sum()).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in cell.parameters())
    assert torch.equal(h_T, hs[:, -1])


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_backward_twice_with_retained_graph(kind):
    """The backward pass must not overwrite what it saved: a second pass gives the same."""
    cell_cls, fused = FUSED[kind]
    cell = cell_cls(2, 3).double()
    x = torch.randn(2, 5, 2, dtype=torch.float64, requires_grad=True)
    loss = (fused(cell, x)[0] ** 2).sum()
    first = torch.autograd.grad(loss, [x, *cell.parameters()], retain_graph=True)
    second = torch.autograd.grad(loss, [x, *cell.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("bias", [True, False])
def test_fused_gradcheck(kind, bias):
    cell_cls, fused = FUSED[kind]
    torch.manual_seed(1)
    B, T, I, H = 2, 4, 2, 3
    cell = cell_cls(I, H, bias=bias).double()
    x = torch.randn(B, T, I, dtype=torch.float64, requires_grad=True)
    n_state = 2 if kind == "lstm" else 1
    state = [torch.randn(B, H, dtype=torch.float64, requires_grad=True) for _ in range(n_state)]

    def f(x, *rest):
        s = tuple(rest[:n_state]) if kind == "lstm" else rest[0]
        hs, final = fused(cell, x, s)
        return (hs, *leaves_of(final))

    assert torch.autograd.gradcheck(f, (x, *state, *cell.parameters()))


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_fused_matches_torch_module(kind):
    torch.manual_seed(2)
    module = (nn.LSTM if kind == "lstm" else nn.GRU)(3, 4, batch_first=True)
    cell_cls, fused = FUSED[kind]
    cell = cell_cls.from_torch(module)
    x = torch.randn(5, 6, 3)
    hs_ref, _ = module(x)
    hs, _ = fused(cell, x)
    hs.sum().backward()
    hs_ref.sum().backward()
    assert (hs - hs_ref).abs().max() <= 1e-6
    assert (cell.W.grad - module.weight_hh_l0.grad).abs().max() <= 1e-5
    assert (cell.b_x.grad - module.bias_ih_l0.grad).abs().max() <= 1e-5


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: lstm_sequence(GRUCell(2, 3), torch.randn(1, 2, 2)), TypeError, "LSTMCell"),
        (lambda: gru_sequence(RNNCell(2, 3), torch.randn(1, 2, 2)), TypeError, "GRUCell"),
        (lambda: gru_sequence(GRUCell(2, 3), torch.randn(4, 2)), ValueError, "3 dimensions"),
        (lambda: lstm_sequence(LSTMCell(2, 3), torch.randn(4, 5, 3)), ValueError, "dimension 2"),
        (lambda: lstm_sequence(LSTMCell(2, 3), torch.randn(4, 0, 2)), ValueError, "empty"),
        (lambda: gru_sequence(GRUCell(2, 3), torch.randn(1, 2, 2).double()), TypeError, "dtype"),
        (
            lambda: gru_sequence(GRUCell(2, 3), torch.randn(4, 5, 2), torch.randn(4, 2)),
            ValueError,
            "state",
        ),  # fmt: skip
        (
            lambda: lstm_sequence(LSTMCell(2, 3), torch.randn(4, 5, 2), torch.randn(4, 3)),
            TypeError,
            "pair",
        ),  # fmt: skip
        (
            lambda: lstm_sequence(LSTMCell(2, 3), torch.randn(4, 5, 2), (torch.randn(4, 3),) * 3),
            TypeError,
            "pair",
        ),
        (
            lambda: lstm_sequence(
                LSTMCell(2, 3), torch.randn(4, 5, 2), (torch.randn(4, 3), torch.randn(4, 2))
            ),
            ValueError,
            "c must have shape",
        ),
        (
            lambda: gru_sequence(GRUCell(2, 3), torch.randn(4, 5, 2), torch.randn(4, 3).double()),
            TypeError,
            "state has dtype",
        ),
        (
            lambda: gru_sequence(GRUCell(2, 3), torch.randn(4, 5, 2), [torch.randn(4, 3)]),
            TypeError,
            "torch.Tensor",
        ),
    ],
)
def test_bad_inputs(call, error, match):
    with pytest.raises(error, match=match):
        call()
