"""Training speed of the LSTM and GRU implementations: forward plus backward on one batch.

For each cell type it times four ways to compute the same thing (all share one set of
weights, copied with ``from_torch``): the readable step-by-step loop of the rnncourse
cell, the fused path of ``fused.py`` (beside this script), the ``torch.nn`` sequence
module (oneDNN on the CPU) and a loop over the ``torch.nn`` cell. The loss is the sum of
all hidden states.

The implementations are timed in interleaved rounds (one call of each per round), so a
change in machine load affects them alike; the table shows the median over the rounds
and the ratio to the ``torch.nn`` module. Usage: python benchmarks/bench_cells.py
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch
from fused import gru_sequence, lstm_sequence
from torch import nn

from rnncourse.cells import GRUCell, LSTMCell


def step_loop(cell, x):
    """Run a cell (ours or torch's) over x (B, T, I) one step at a time: hs (B, T, H)."""
    state, hs = None, []
    for x_t in x.unbind(1):
        state = cell(x_t, state)
        hs.append(state[0] if isinstance(state, tuple) else state)
    return torch.stack(hs, 1)


def implementations(kind: str, input_size: int, hidden: int) -> dict:
    """name -> (function of x returning hs (B, T, H), parameters that receive gradients)."""
    module_cls, cell_cls, ours_cls, fused = {
        "LSTM": (nn.LSTM, nn.LSTMCell, LSTMCell, lstm_sequence),
        "GRU": (nn.GRU, nn.GRUCell, GRUCell, gru_sequence),
    }[kind]
    module = module_cls(input_size, hidden, batch_first=True)
    torch_cell = cell_cls(input_size, hidden)
    ours_loop, ours_fused = ours_cls.from_torch(module), ours_cls.from_torch(module)
    with torch.no_grad():
        for a, b in [(torch_cell.weight_ih, module.weight_ih_l0), (torch_cell.weight_hh,
                     module.weight_hh_l0), (torch_cell.bias_ih, module.bias_ih_l0),
                     (torch_cell.bias_hh, module.bias_hh_l0)]:  # fmt: skip
            a.copy_(b)
    return {
        f"rnncourse {kind}Cell, step loop": (lambda x: step_loop(ours_loop, x), ours_loop),
        f"rnncourse fused {kind.lower()}_sequence": (lambda x: fused(ours_fused, x)[0], ours_fused),
        f"torch.nn.{kind}": (lambda x: module(x)[0], module),
        f"torch.nn.{kind}Cell, step loop": (lambda x: step_loop(torch_cell, x), torch_cell),
    }


def train_step(fn, owner, x) -> None:
    for p in owner.parameters():
        p.grad = None
    fn(x).sum().backward()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--input", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=25, help="timed rounds (at least 20)")
    args = parser.parse_args()
    torch.manual_seed(0)
    x = torch.randn(args.batch, args.steps, args.input)
    print(
        f"forward + backward, x {tuple(x.shape)}, hidden {args.hidden}, float32, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{platform.processor() or platform.machine()}, median of {args.rounds} rounds\n"
    )
    print("| model | implementation | ms | ratio to torch.nn module |")
    print("|---|---|---:|---:|")
    for kind in ("LSTM", "GRU"):
        impls = implementations(kind, args.input, args.hidden)
        # All four compute the same function: check before timing.
        outputs = [fn(x).detach() for fn, _ in impls.values()]
        for out in outputs[1:]:
            assert torch.allclose(out, outputs[0], atol=1e-5), "implementations disagree"
        for fn, owner in impls.values():  # warm-up
            for _ in range(3):
                train_step(fn, owner, x)
        times = {name: [] for name in impls}
        for _ in range(args.rounds):
            for name, (fn, owner) in impls.items():
                t0 = time.perf_counter()
                train_step(fn, owner, x)
                times[name].append((time.perf_counter() - t0) * 1e3)
        medians = {name: statistics.median(ts) for name, ts in times.items()}
        reference = medians[f"torch.nn.{kind}"]
        for name, ms in medians.items():
            print(f"| {kind} | {name} | {ms:.2f} | {ms / reference:.2f} |")


if __name__ == "__main__":
    main()
