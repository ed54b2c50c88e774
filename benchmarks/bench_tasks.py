"""How long does it take to solve the adding problem? GRU vs LSTM vs vanilla tanh RNN.

Each run trains a fresh model with Adam, global-norm gradient clipping at 1.0, a fresh
batch of 64 sequences every update, and evaluates the MSE on 2000 fixed test sequences
every 10 updates. A run counts as solved when the test MSE drops below 0.01 (answering
1.0 for every sequence scores 1/6 ~ 0.167) and stops there; otherwise it stops at the
step budget. The script prints a markdown table.

nn.GRU has no fused CPU kernel, so one GRU update costs roughly three times an nn.LSTM
update of the same size; the GRU still finishes first because it needs far fewer updates.

    python benchmarks/bench_tasks.py            # 3 seeds, T in 50, 100, 200
    python benchmarks/bench_tasks.py --quick    # 1 seed, T in 50, 100, smaller budget
    python benchmarks/bench_tasks.py --seeds 10 --T 100
"""

from __future__ import annotations

import argparse
import os
import statistics

import torch
import torch.nn.functional as F
from torch import nn

from rnncourse.tasks import ADDING_BASELINE_MSE, adding_problem
from rnncourse.training import train

SOLVED_MSE = 0.01
EVAL_EVERY = 10


class Regressor(nn.Module):
    """A recurrent layer followed by a linear read-out of the last state: (B, T, 2) -> (B, 1)."""

    def __init__(self, kind: str, hidden: int):
        super().__init__()
        layer = {"gru": nn.GRU, "lstm": nn.LSTM, "rnn": nn.RNN}[kind]
        self.rnn = layer(2, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 1)
        if kind == "lstm":  # forget-gate bias +1 (gate order i, f, g, o)
            with torch.no_grad():
                self.rnn.bias_ih_l0[hidden : 2 * hidden] += 1.0

    def forward(self, x):
        return self.out(self.rnn(x)[0][:, -1])


# name, layer kind, hidden size, learning rate
MODELS = [
    ("GRU", "gru", 16, 0.05),
    ("LSTM (forget bias +1)", "lstm", 32, 0.05),
    ("tanh RNN", "rnn", 32, 0.01),
]


def solve(kind: str, hidden: int, lr: float, T: int, seed: int, steps: int, test) -> dict:
    """Train one model; return whether it solved the task, after how long, and its best MSE."""
    x_test, y_test = test
    torch.manual_seed(seed)
    model = Regressor(kind, hidden)
    gen = torch.Generator().manual_seed(seed)
    history = train(
        model,
        lambda step: adding_problem(64, T, seed=gen),
        F.mse_loss,
        steps=steps,
        lr=lr,
        clip_norm=1.0,
        progress=False,
        eval_fn=lambda m: {"mse": F.mse_loss(m(x_test), y_test).item()},
        eval_every=EVAL_EVERY,
        stop_when=lambda h: bool(h.eval_steps) and h.eval_metrics["mse"][-1] < SOLVED_MSE,
    )
    best = min(history.eval_metrics["mse"])
    return {"solved": best < SOLVED_MSE, "steps": history.steps, "seconds": history.seconds,
            "best": best}  # fmt: skip


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds per model and T")
    parser.add_argument("--T", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--steps", type=int, default=1000, help="step budget per run")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--quick", action="store_true", help="1 seed, T 50 and 100, 500 steps")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.T, args.steps = 1, [50, 100], 500
    if args.threads:
        torch.set_num_threads(args.threads)

    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs; "
        f"{args.seeds} seed(s), budget {args.steps} updates, test MSE evaluated every "
        f"{EVAL_EVERY} updates on 2000 sequences; solved = MSE < {SOLVED_MSE} "
        f"(baseline {ADDING_BASELINE_MSE:.3f})\n"
    )
    warm_up = adding_problem(8, 10, seed=0)  # one-time import and allocation costs
    solve("gru", 4, 0.05, 10, 0, 2, warm_up)
    print("| model | hidden | lr | T | solved | median steps | median s | best MSE |")
    print("|---|---|---|---|---|---|---|---|")
    for T in args.T:
        test = adding_problem(2000, T, seed=2**31 - 1)
        for name, kind, hidden, lr in MODELS:
            runs = [solve(kind, hidden, lr, T, s, args.steps, test) for s in range(args.seeds)]
            solved = [r for r in runs if r["solved"]]
            if solved:
                steps = f"{statistics.median(r['steps'] for r in solved):.0f}"
                secs = f"{statistics.median(r['seconds'] for r in solved):.1f}"
            else:
                steps = secs = "-"
            best = min(r["best"] for r in runs)
            print(
                f"| {name} | {hidden} | {lr} | {T} | {len(solved)}/{len(runs)} | {steps} | "
                f"{secs} | {best:.4f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
