"""Checker for notebook 03's chunked truncated BPTT in torch: carry the state, cut the graph."""

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.utils import parameters_to_vector

from .._random import generator
from ._contract import call
from ._framework import CheckFailed, StudentCodeError, compare, exercise, randn, torch_module

NO_DETACH = (
    "the state is carried into the next chunk still attached to the previous chunk's graph: "
    "its backward pass runs into that graph, which the previous backward() already freed "
    "(and whose weights the optimiser has changed since). Cut the graph at the start of each "
    "chunk, keeping the state's value."
)
STATE_DTYPE = (
    "the state is made in another dtype than the model and x (torch.zeros makes float32 "
    "unless told otherwise): the state must take x's dtype, float32 or float64."
)


def _first_chunk_off(got, expected, atol: float, rtol: float) -> str:
    """Which chunk's loss first differs, and what that says; "" when the lengths differ."""
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    same = got.shape == expected.shape
    off = np.flatnonzero(~np.isclose(got, expected, atol=atol, rtol=rtol)) if same else []
    if len(off) == 0:
        return ""
    j = int(off[0])
    if j == 0:
        return (
            "The first chunk's loss differs already. It comes before any update, so the "
            "difference lies in the forward pass or in the loss itself."
        )
    agree = "chunk 1" if j == 1 else f"chunks 1..{j}"
    return (
        f"The losses agree for {agree} and first differ at chunk {j + 1}. A chunk's loss comes "
        f"before its update: so the update after chunk {j}, or the state chunk {j + 1} starts "
        f"from, is the first to differ."
    )


def _chunked(
    cell, readout, x, y, k, opt, carry=torch.Tensor.detach, feed=None, loss=F.mse_loss, zeroed=True
):
    """Chunked truncated BPTT; returns the chunk losses. A known mistake changes one keyword:
    ``carry`` (the state a chunk starts from), ``feed`` (the state each step gets, unchanged
    when None), ``loss``, ``zeroed`` (gradients zeroed before each backward pass)."""
    B, T, _ = x.shape
    h = torch.zeros(B, cell.hidden_size, dtype=x.dtype)
    losses = []
    for start in range(0, T, k):
        h = carry(h)
        outputs = []
        for t in range(start, min(start + k, T)):
            h = cell(x[:, t], h if feed is None else feed(h))
            outputs.append(readout(h))
        chunk_loss = loss(torch.stack(outputs, 1), y[:, start : start + k])
        if zeroed:
            opt.zero_grad()
        chunk_loss.backward()
        opt.step()
        losses.append(chunk_loss.item())
    return losses


def _tbptt_chunks(cell, readout, x, y, k, opt):
    """The course's answer to ``tbptt_chunks``."""
    return _chunked(cell, readout, x, y, k, opt)


_WRONG = {  # message: the one change to _chunked that the mistake makes
    "the state is reset to zero at every chunk, so the network forgets everything at each "
    "boundary. Carry h over (detached), and start from zeros only once, before the first chunk.": {
        "carry": torch.zeros_like
    },
    "the state is detached at every step, not once per chunk, so each loss reaches back one "
    "step only (k = 1). Detach once, at the start of the chunk, and let the chunk's steps "
    "stay connected.": {"feed": torch.Tensor.detach},
    "the gradients are not zeroed before each chunk's backward pass; backward() adds to what "
    "the parameters hold, so each update also applies the gradients of every earlier chunk.": {
        "zeroed": False
    },
    "the chunk's loss is summed, not averaged: F.mse_loss's default, the mean over the "
    "batch, the chunk's steps and the outputs, is the loss asked for.": {
        "loss": lambda o, target: F.mse_loss(o, target, reduction="sum")
    },
}


def _model(seed: int, I: int, H: int, O: int, lr: float, dtype):
    """A seeded torch.nn.RNNCell (tanh), a Linear readout and SGD over both."""
    g = generator(seed)
    cell = torch_module(g, torch.nn.RNNCell, I, H, scale=0.5).to(dtype)
    readout = torch_module(g, torch.nn.Linear, H, O, scale=0.5).to(dtype)
    return cell, readout, torch.optim.SGD([*cell.parameters(), *readout.parameters()], lr=lr)


def weights(*modules) -> torch.Tensor:
    """Every parameter of ``modules`` as one vector, in a fixed order."""
    return parameters_to_vector([p for m in modules for p in m.parameters()]).detach()


def _run(seed, x, y, k, H, lr, **change):
    """Run ``_chunked`` in float64 on a fresh model: (chunk losses, weights after)."""
    cell, readout, opt = _model(seed, x.shape[-1], H, y.shape[-1], lr, torch.float64)
    losses = _chunked(cell, readout, x, y, k, opt, **change)
    return torch.tensor(losses, dtype=torch.float64), weights(cell, readout)


@exercise("03", reference=_tbptt_chunks)
def tbptt_chunks(student_fn) -> int:
    """Check ``tbptt_chunks(cell, readout, x, y, k, opt) -> list of chunk losses``: ``cell`` a
    ``torch.nn.RNNCell``, ``readout`` a ``torch.nn.Linear(H, O)``, x (B, T, I), y (B, T, O),
    ``opt`` over both. Chunks of k steps; h starts at zeros in x's dtype, carried over
    detached; per chunk ``F.mse_loss``, zero_grad, backward, step."""
    name = "tbptt_chunks"
    cases = [  # B, T, I, H, O, k, lr, dtype
        (2, 10, 2, 4, 1, 4, 0.3, torch.float32),  # a shorter last chunk
        (3, 9, 1, 3, 2, 3, 0.5, torch.float32),
        (1, 12, 2, 5, 1, 5, 0.4, torch.float32),
        (2, 5, 1, 3, 1, 8, 0.3, torch.float32),  # k > T: one chunk
        (2, 4, 2, 3, 1, 1, 0.3, torch.float64),  # k = 1, a float64 model
        (4, 64, 1, 8, 1, 8, 0.1, torch.float32),  # the chunk length the notebook trains with
    ]
    for n, (B, T, I, H, O, k, lr, dtype) in enumerate(cases):
        seed = 90 + 2 * n
        case = f"case {n + 1} (B={B}, T={T}, I={I}, H={H}, O={O}, k={k}, {str(dtype)[6:]})"
        g = generator(seed + 1)
        x, y = randn(g, B, T, I), randn(g, B, T, O)
        losses, trained = _run(seed, x, y, k, H, lr)
        wrong = [(m, *_run(seed, x, y, k, H, lr, **change)) for m, change in _WRONG.items()]
        cell, readout, opt = _model(seed, I, H, O, lr, dtype)
        args = (cell, readout, x, y, k, opt)  # training changes the model and the optimiser
        try:
            got = call(name, student_fn, *args, dtype=dtype, mutable=("cell", "readout", "opt"))
        except StudentCodeError as err:
            text = str(err.__cause__)
            if "second time" in text or "inplace operation" in text:
                raise AssertionError(f"{name}, {case}: {NO_DETACH}") from err
            if "dtype" in text or "scalar type" in text:
                raise AssertionError(f"{name}, {case}: {STATE_DTYPE}") from err
            raise
        if not isinstance(got, tuple | list):
            raise AssertionError(
                f"{name}, {case}: expected a list with one loss per chunk, "
                f"got {type(got).__name__}."
            )
        got = [v.item() if isinstance(v, torch.Tensor) else v for v in got]
        tolerance = {"atol": 1e-4, "rtol": 1e-3} if dtype == torch.float32 else {"atol": 1e-9}
        try:
            hints = {
                (T,): "one loss per step was returned; return one per chunk.",
                (1,): "one loss was returned; return one per chunk.",
            }
            mistakes = [(m, wrong_losses) for m, wrong_losses, _ in wrong]
            compare(
                name,
                case,
                got,
                losses,
                mistakes=mistakes,
                shape_hints=hints,
                what="chunk losses",
                **tolerance,
            )
        except CheckFailed as err:
            where = _first_chunk_off(got, losses, **tolerance)
            raise CheckFailed(f"{err}\n  {where}" if where else str(err)) from None
        try:
            mistakes = [(m, wrong_weights) for m, _, wrong_weights in wrong]
            compare(
                name,
                case,
                weights(cell, readout),
                trained,
                mistakes=mistakes,
                what="weights after the last chunk",
                **tolerance,
            )
        except CheckFailed as err:
            last = "\n  Every chunk's loss agrees: only the last update differs."
            raise CheckFailed(f"{err}{last if 'wrong values' in str(err) else ''}") from None
    return len(cases)
