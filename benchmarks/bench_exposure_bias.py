"""Exposure bias on sine waves, and scheduled sampling as its remedy.

A GRU cell with a linear read-out learns to predict the next value of a sine of random
frequency, phase and amplitude (``tasks.sine_waves``). Trained with teacher forcing it
only ever reads true values. At test time it reads a warm-up of true values and then
runs on its own predictions (``generation.free_running_error``), so its errors are fed
back and compound. Trained with scheduled sampling (Bengio et al. 2015) it reads, at each
step of each sequence, the true previous value with probability ``eps_i`` and its own
previous prediction (detached) otherwise, with ``eps_i`` falling from 1 over training
(``generation.scheduled_sampling``).

Printed, over several seeds (a seed sets the initial weights, the training batches and
the coins; the test set is the same for all):

1. the free-running MSE against steps ahead, median [min, max] over seeds, for teacher
   forcing and scheduled sampling (linear schedule), beside the MSE of predicting 0;
2. the verdict: the median over seeds of the mean free-running MSE over steps
   1..``--horizon`` must be at least 20 % lower with scheduled sampling (PASS/FAIL);
3. the one-step (teacher-forced) MSE: what scheduled sampling costs;
4. Bengio et al.'s three schedules (linear, exponential, inverse sigmoid), each falling
   from 1 to ``--eps-end`` over the same updates;
5. the time per training run and in all.

``torch.nn.GRUCell`` is used rather than ``rnncourse.cells.GRUCell`` (the same
equations, see tests/test_cells.py): its fused step makes a training run about half as
long, and every run here is a long chain of single steps.

    python benchmarks/bench_exposure_bias.py                  # seeds 0-4
    python benchmarks/bench_exposure_bias.py --first-seed 5   # another block of seeds
    python benchmarks/bench_exposure_bias.py --no-schedules   # skip table 4
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from rnncourse import generation, tasks
from rnncourse.training import train

TEST_SEED = 10_000  # the test set's seed, far from the training seeds
COIN_SEED = 1_000  # coins of seed s come from COIN_SEED + s
TARGET = 0.8  # scheduled sampling must reach this ratio or lower: 20 % less error


class NextValue(nn.Module):
    """A GRU cell and a linear read-out: ``step(x_t (B, 1), h) -> (next value (B, 1), h)``."""

    def __init__(self, hidden: int):
        super().__init__()
        self.cell = nn.GRUCell(1, hidden)
        self.readout = nn.Linear(hidden, 1)

    def step(self, x_t, h):
        h = self.cell(x_t, h)
        return self.readout(h), h


class Scheduled(nn.Module):
    """``train`` calls ``forward(i, series)`` at update ``i``: one pass with eps = schedule(i).

    ``series`` is ``(B, T + 1, 1)``; the model reads ``series[:, 0]`` first and predicts
    ``series[:, 1:]``, ``(B, T, 1)``. The coins come from the generator ``coins``.
    """

    def __init__(self, model: NextValue, schedule, coins: torch.Generator):
        super().__init__()
        self.model, self.schedule, self.coins = model, schedule, coins

    def forward(self, i, series):
        out, _, _ = generation.scheduled_sampling(
            self.model.step, series[:, 1:], series[:, 0], self.schedule(i), seed=self.coins
        )
        return out


def sines(batch: int, T: int, cfg, seed) -> torch.Tensor:
    """``T + 1`` clean values of random sines, ``(B, T + 1, 1)``."""
    s = tasks.sine_waves(batch, T, freq=cfg.freq, amplitude=cfg.amplitude, seed=seed)
    return torch.cat([s.x[:, :1], s.target], dim=1)


def train_one(schedule, seed: int, cfg) -> tuple[NextValue, float]:
    """Train a fresh model with ``schedule`` (eps per update); return it and the seconds."""
    torch.manual_seed(seed)  # the initial weights
    model = NextValue(cfg.hidden)
    data = torch.Generator().manual_seed(seed)
    wrapper = Scheduled(model, schedule, torch.Generator().manual_seed(COIN_SEED + seed))

    def batch(i):
        series = sines(cfg.batch, cfg.T, cfg, data)
        return (i, series), series[:, 1:]

    start = time.perf_counter()
    train(wrapper, batch, F.mse_loss, steps=cfg.updates, lr=cfg.lr, clip_norm=1.0, progress=False)
    return model, time.perf_counter() - start


def evaluate(model: NextValue, test: torch.Tensor, cfg) -> tuple[list[float], float]:
    """(free-running MSE 1..cfg.steps steps ahead, one-step MSE at the same positions)."""
    free = generation.free_running_error(model.step, test, cfg.warmup, steps=cfg.steps)
    with torch.no_grad():
        forced, _, _ = generation.scheduled_sampling(model.step, test[:, 1:], test[:, 0], 1.0)
    scored = slice(cfg.warmup - 1, cfg.warmup - 1 + cfg.steps)  # forced[:, t] predicts t + 1
    one_step = F.mse_loss(forced[:, scored], test[:, 1:][:, scored]).item()
    return free.mean(0).tolist(), one_step


def run(schedule, seeds, test, cfg) -> dict:
    """Train and evaluate one model per seed."""
    result = {"curves": [], "one_step": [], "seconds": []}
    for seed in seeds:
        model, seconds = train_one(schedule, seed, cfg)
        curve, one_step = evaluate(model, test, cfg)
        result["curves"].append(curve)
        result["one_step"].append(one_step)
        result["seconds"].append(seconds)
    return result


def spread(values) -> str:
    """'median [min, max]'"""
    return f"{statistics.median(values):.3f} [{min(values):.3f}, {max(values):.3f}]"


def window_means(result: dict, horizon: int) -> list[float]:
    """Per seed: the mean free-running MSE over steps 1..horizon."""
    return [sum(curve[:horizon]) / horizon for curve in result["curves"]]


def inverse_sigmoid_k(i: int, eps: float) -> float:
    """The ``k`` of ``InverseSigmoidSchedule`` with ``eps_i = eps``: ``k / (k + e^(i/k))``.

    Solved by bisection on ``k`` in [1, i]; eps_i rises with k.
    """
    low, high = 1.0, float(max(i, 2))
    for _ in range(100):
        k = (low + high) / 2
        low, high = (k, high) if k / (k + math.exp(i / k)) < eps else (low, k)
    return (low + high) / 2


def schedules(cfg) -> dict:
    """eps per update: teacher forcing, and Bengio et al.'s three, each 1 -> eps_end."""
    last = cfg.updates - 1
    return {
        "teacher forcing": lambda i: 1.0,
        "linear": generation.LinearSchedule(k=1.0, c=(1 - cfg.eps_end) / last, eps_min=cfg.eps_end),
        "exponential": generation.ExponentialSchedule(k=cfg.eps_end ** (1 / last)),
        "inverse sigmoid": generation.InverseSigmoidSchedule(
            k=inverse_sigmoid_k(last, cfg.eps_end)
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--T", type=int, default=20, help="training sequence length")
    parser.add_argument("--updates", type=int, default=120)
    parser.add_argument("--lr", type=float, default=0.02)
    parser.add_argument("--eps-end", type=float, default=0.5, help="eps at the last update")
    parser.add_argument("--freq", type=float, nargs=2, default=(0.1, 0.2))
    parser.add_argument("--amplitude", type=float, nargs=2, default=(0.5, 1.5))
    parser.add_argument("--warmup", type=int, default=10, help="true values read at test")
    parser.add_argument("--steps", type=int, default=40, help="steps ahead in table 1")
    parser.add_argument("--horizon", type=int, default=20, help="steps ahead in the verdict")
    parser.add_argument("--test-size", type=int, default=256)
    parser.add_argument("--no-schedules", action="store_true")
    cfg = parser.parse_args()
    cfg.freq, cfg.amplitude = tuple(cfg.freq), tuple(cfg.amplitude)
    if not 1 <= cfg.horizon <= cfg.steps:
        parser.error("--horizon must be between 1 and --steps")
    torch.set_num_threads(1)
    total = time.perf_counter()

    seeds = range(cfg.first_seed, cfg.first_seed + cfg.seeds)
    test = sines(cfg.test_size, cfg.warmup + cfg.steps, cfg, TEST_SEED)
    eps = schedules(cfg)
    names = ["teacher forcing", "linear"]
    if not cfg.no_schedules:
        names += ["exponential", "inverse sigmoid"]
    results = {name: run(eps[name], seeds, test, cfg) for name in names}
    zero = tasks.sine_baseline_mse(cfg.amplitude)

    print(", ".join(f"{k}={v}" for k, v in vars(cfg).items()))
    print(
        f"seeds {seeds.start}-{seeds.stop - 1}; test: {cfg.test_size} sines, warm-up of "
        f"{cfg.warmup} true values, then free running; predicting 0 scores {zero:.3f}\n"
    )

    tf, ss = results["teacher forcing"], results["linear"]
    print("1. free-running MSE against steps ahead: median [min, max] over seeds")
    print(f"| steps ahead | teacher forcing | scheduled sampling (linear, 1 -> {cfg.eps_end}) |")
    print("|---:|:---:|:---:|")
    for k in sorted({1, 2, 5, 10, 15, 20, 25, 30, 40, cfg.horizon, cfg.steps}):
        if k <= cfg.steps:
            a = [curve[k - 1] for curve in tf["curves"]]
            b = [curve[k - 1] for curve in ss["curves"]]
            print(f"| {k} | {spread(a)} | {spread(b)} |")

    a, b = window_means(tf, cfg.horizon), window_means(ss, cfg.horizon)
    ratio = statistics.median(b) / statistics.median(a)
    verdict = "PASS" if ratio <= TARGET else "FAIL"
    print(f"\n2. verdict: mean free-running MSE over steps 1..{cfg.horizon}, per seed")
    print(f"   teacher forcing:    {' '.join(f'{x:.3f}' for x in a)}   median {spread(a)}")
    print(f"   scheduled sampling: {' '.join(f'{x:.3f}' for x in b)}   median {spread(b)}")
    print(
        f"   median ratio scheduled / teacher forcing = {ratio:.2f}: {verdict} "
        f"(needs <= {TARGET:.2f}, 20 % lower); scheduled better on "
        f"{sum(y < x for x, y in zip(a, b, strict=True))} of {len(a)} seeds"
    )

    print(f"\n3. one-step (teacher-forced) MSE at the same {cfg.steps} positions")
    for name in names:
        print(f"   {name:16} {spread(results[name]['one_step'])}")

    if not cfg.no_schedules:
        print(
            f"\n4. Bengio et al.'s schedules, each eps from 1 to {cfg.eps_end} over "
            f"{cfg.updates} updates"
        )
        print(
            f"| schedule | eps at update {cfg.updates // 2} | mean eps | "
            f"free running 1..{cfg.horizon} | one step |"
        )
        print("|---|---:|---:|:---:|:---:|")
        for name in names:
            mean_eps = sum(eps[name](i) for i in range(cfg.updates)) / cfg.updates
            print(
                f"| {name} | {eps[name](cfg.updates // 2):.2f} | {mean_eps:.2f} | "
                f"{spread(window_means(results[name], cfg.horizon))} | "
                f"{spread(results[name]['one_step'])} |"
            )

    runs = [s for r in results.values() for s in r["seconds"]]
    print(
        f"\n5. time per training run: median {statistics.median(runs):.2f} s "
        f"[{min(runs):.2f}, {max(runs):.2f}] over {len(runs)} runs; two methods x "
        f"{cfg.seeds} seeds ~ {2 * cfg.seeds * statistics.median(runs):.0f} s; "
        f"total {time.perf_counter() - total:.1f} s"
    )


if __name__ == "__main__":
    main()
