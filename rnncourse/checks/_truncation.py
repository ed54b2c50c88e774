"""Checker for notebook 03's chunked truncated BPTT in torch: carry the state, cut the graph.

A long sequence is processed in chunks of ``k`` steps. The state is carried from one chunk to
the next, but with ``.detach()``: the next chunk starts from its value, and the backward pass
stops there. Each chunk ends with one optimiser step on its own loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._random import generator
from ._contract import call
from ._framework import StudentCodeError, compare, exercise, randn

NO_DETACH = (
    "the state is carried into the next chunk without .detach(): its backward pass runs into "
    "the previous chunk's graph, which the previous backward() already freed (and whose "
    "weights the optimiser has changed since). Start each chunk with h = h.detach()."
)
RESET = (
    "the state is reset to zero at every chunk, so the network forgets everything at each "
    "boundary. Carry h over (detached), and start from zeros only once, before the first chunk."
)
EVERY_STEP = (
    "the state is detached at every step, not once per chunk, so each loss reaches back one "
    "step only (k = 1). Detach once, at the start of the chunk, and let the chunk's steps "
    "stay connected."
)
NO_ZERO_GRAD = (
    "the gradients are not zeroed before each chunk's backward(), so each step also applies "
    "the gradients of every earlier chunk. Call opt.zero_grad() before loss.backward()."
)
LOSS_SUM = (
    "the chunk's loss is summed, not averaged: use F.mse_loss(o, y_chunk), the mean over the "
    "batch, the chunk's steps and the outputs."
)


def _chunked(cell, readout, x, y, k, opt, bug: str = ""):
    """Chunked truncated BPTT; returns the chunk losses. ``bug`` names a known mistake."""
    B, T, _ = x.shape
    h = torch.zeros(B, cell.hidden_size, dtype=x.dtype)
    losses = []
    for start in range(0, T, k):
        h = torch.zeros_like(h) if bug == "reset" else h.detach()
        outputs = []
        for t in range(start, min(start + k, T)):
            h = cell(x[:, t], h.detach() if bug == "every_step" else h)
            outputs.append(readout(h))
        o, target = torch.stack(outputs, 1), y[:, start : start + k]
        loss = F.mse_loss(o, target, reduction="sum" if bug == "sum" else "mean")
        if bug != "no_zero_grad":
            opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def _tbptt_chunks(cell, readout, x, y, k, opt):
    """The course's answer to ``tbptt_chunks``."""
    return _chunked(cell, readout, x, y, k, opt)


_BUGS = {"reset": RESET, "every_step": EVERY_STEP, "no_zero_grad": NO_ZERO_GRAD, "sum": LOSS_SUM}


def _model(seed: int, I: int, H: int, O: int, lr: float, dtype):
    """A seeded torch.nn.RNNCell (tanh), a Linear readout and SGD over both."""
    g = generator(seed)
    with torch.random.fork_rng(devices=[]):
        cell, readout = torch.nn.RNNCell(I, H), torch.nn.Linear(H, O)
    cell, readout = cell.to(dtype), readout.to(dtype)
    with torch.no_grad():
        for p in (*cell.parameters(), *readout.parameters()):
            p.copy_(randn(g, *p.shape, scale=0.5))
    opt = torch.optim.SGD([*cell.parameters(), *readout.parameters()], lr=lr)
    return cell, readout, opt


def _weights(cell, readout) -> torch.Tensor:
    """Every parameter as one float64 vector, in a fixed order."""
    params = (*cell.parameters(), *readout.parameters())
    return torch.cat([p.detach().double().reshape(-1) for p in params])


def _run(seed, sizes, bug=""):
    """Run ``_chunked`` in float64 on a fresh model: (chunk losses, weights after)."""
    B, T, I, H, O, k, lr = sizes
    cell, readout, opt = _model(seed, I, H, O, lr, torch.float64)
    g = generator(seed + 1)
    x, y = randn(g, B, T, I), randn(g, B, T, O)
    losses = _chunked(cell, readout, x, y, k, opt, bug)
    return torch.tensor(losses, dtype=torch.float64), _weights(cell, readout)


@exercise("03", reference=_tbptt_chunks)
def tbptt_chunks(student_fn) -> int:
    """Check ``tbptt_chunks(cell, readout, x, y, k, opt) -> list of chunk losses``.

    ``cell`` is a ``torch.nn.RNNCell`` (``cell(x_t (B, I), h (B, H)) -> h (B, H)``),
    ``readout`` a ``torch.nn.Linear(H, O)``, ``x`` (B, T, I), ``y`` (B, T, O), ``opt`` an
    optimiser over both. The sequence is cut into chunks of ``k`` steps (the last may be
    shorter); h starts at zeros and is carried from chunk to chunk, detached; each chunk's
    loss is ``F.mse_loss`` of its outputs (B, k, O) against its targets, followed by one
    ``zero_grad``, ``backward``, ``step``. Compared with the same procedure in float64:
    the chunk losses, then the weights after the last step.
    """
    cases = [(2, 10, 2, 4, 1, 4, 0.3), (3, 9, 1, 3, 2, 3, 0.5), (2, 12, 2, 5, 1, 5, 0.4)]
    for n, sizes in enumerate(cases):
        B, T, I, H, O, k, lr = sizes
        seed = 90 + 2 * n
        case = f"case {n + 1} (B={B}, T={T}, I={I}, H={H}, O={O}, k={k})"
        losses, weights = _run(seed, sizes)
        wrong = {bug: _run(seed, sizes, bug) for bug in _BUGS}
        cell, readout, opt = _model(seed, I, H, O, lr, torch.float32)
        g = generator(seed + 1)
        x, y = randn(g, B, T, I), randn(g, B, T, O)
        try:
            got = call(
                "tbptt_chunks",
                student_fn,
                cell,
                readout,
                x,
                y,
                k,
                opt,
                mutable=("cell", "readout", "opt"),  # training updates them
            )
        except StudentCodeError as err:
            text = str(err.__cause__)
            if "second time" in text or "inplace operation" in text:
                raise AssertionError(f"tbptt_chunks, {case}: {NO_DETACH}") from err
            raise
        if not isinstance(got, tuple | list):
            raise AssertionError(
                f"tbptt_chunks, {case}: expected a list with one loss per chunk, "
                f"got {type(got).__name__}."
            )
        got = [v.item() if isinstance(v, torch.Tensor) else v for v in got]
        for what, mine, expected, index in (
            ("chunk losses", got, losses, 0),
            ("weights after the last chunk", _weights(cell, readout), weights, 1),
        ):
            compare(
                "tbptt_chunks",
                case,
                mine,
                expected,
                mistakes=[(message, wrong[bug][index]) for bug, message in _BUGS.items()],
                shape_hints={
                    (T,): "one loss per step was returned; return one per chunk.",
                    (1,): "one loss was returned; return one per chunk.",
                },
                what=what,
                atol=1e-4,
                rtol=1e-3,
            )
    return len(cases)
