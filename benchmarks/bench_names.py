"""The recurrent ladder on names: tanh RNN, LSTM, GRU and MinGRU, trained alike, scored alike.

Every rung is a character model (``rnncourse.charmodel.CharModel``: embedding 32, one
recurrent layer of 128 units, linear read-out) on the training split of
``rnncourse.tasks.load_names()`` (seed 0: 28,830 names), as in notebook 09: the
exercises' reference answers run as the layer (``cells.StepCell`` with ``rnn_step``,
``lstm_step`` with a forget bias of 1, ``gru_step``; ``scan.MinGRU`` on the parallel scan).
Each trains with ``rnncourse.training.train``: Adam at ``--lr`` (1e-2) decayed to 1 % along
half a cosine over ``--updates`` updates, global-norm clipping at 1.0, random batches of 128
names. Every ``--every`` updates it is scored on the whole validation split (3,203 names):
the mean negative log-likelihood per predicted character, end of name included, in nats;
the best score counts. Seconds count training only (one torch thread), not the
evaluations: wall-clock seconds, and the CPU seconds of the process, which another program
on the machine slows less. The table gives the median and the range over ``--seeds`` seeds (model
initialisation and batch order), beside the uniform guess and add-one bigram counts on the
same split.

    python benchmarks/bench_names.py                         # 2,000 updates, seeds 0-2
    python benchmarks/bench_names.py --updates 250 --lr 0.015 --every 250   # notebook 09's
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from rnncourse import cells, charmodel, checks, scan, tasks, training

RUNGS = {
    "tanh RNN": lambda: cells.StepCell(checks.reference("rnn_step"), "rnn", 32, 128),
    "LSTM": lambda: cells.StepCell(checks.reference("lstm_step"), "lstm", 32, 128, forget_bias=1.0),
    "GRU": lambda: cells.StepCell(checks.reference("gru_step"), "gru", 32, 128),
    "MinGRU": lambda: scan.MinGRU(32, 128),
}


def run(layer, train, updates: int, lr: float, every: int, seed: int):
    """Train one rung: (best validation NLL, its update, wall and CPU seconds of training,
    parameters)."""
    model = charmodel.new_model("names", recurrent=layer, seed=seed)
    drawn, scoring = [], []  # CPU clock at each batch drawn; CPU seconds of each evaluation

    def batch(g):
        drawn.append(time.process_time())
        return tasks.random_batch(train, 128, seed=g)[:2]

    def score(m):
        start = time.process_time()
        nll = charmodel.validation_nll(m, "names")
        scoring.append(time.process_time() - start)
        return nll

    history = training.train(
        model, batch, charmodel.next_char_loss,
        steps=updates, lr=lr, lr_schedule=training.cosine_decay(updates), clip_norm=1.0,
        seed=seed, eval_fn=score, eval_every=every, keep_best=True, progress=False,
    )  # fmt: skip
    cpu = time.process_time() - drawn[0] - sum(scoring)
    update, nll = history.best()
    return nll, update, history.seconds, cpu, sum(p.numel() for p in model.parameters())


def spread(values: list[float], digits: int) -> str:
    """``median [min, max]`` of ``values``."""
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{mid:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=2000, help="updates (the decay's length)")
    parser.add_argument("--lr", type=float, default=1e-2, help="Adam's learning rate")
    parser.add_argument("--every", type=int, default=250, help="updates between evaluations")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0, 1, ...")
    parser.add_argument("--rungs", nargs="+", choices=list(RUNGS), default=list(RUNGS))
    args = parser.parse_args()

    torch.set_num_threads(1)
    split = tasks.split_names(seed=0)
    vocab = tasks.char_vocab(tasks.load_names())
    train = tasks.encode_names(split.train, vocab)
    valid = tasks.encode_names(split.valid, vocab)
    print(
        f"Embedding 32, hidden 128, Adam {args.lr:g} cosine-decayed over {args.updates} "
        f"updates, clip 1.0, batch 128, 1 thread; {len(split.train):,} training / "
        f"{len(split.valid):,} validation names (split seed 0); seeds 0-{args.seeds - 1}, "
        f"median [min, max].\n"
    )
    print(
        "| model | parameters | validation NLL (nats/char) | best after (updates) | seconds "
        "| CPU seconds |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| uniform guess over 27 | 0 | {tasks.uniform_nll(train, valid):.3f} | - | - | - |")
    print(f"| bigram counts, add-one | 729 | {tasks.bigram_nll(train, valid):.3f} | - | - | - |")
    for name in args.rungs:
        results = [run(RUNGS[name](), train, args.updates, args.lr, args.every, s)
                   for s in range(args.seeds)]  # fmt: skip
        nll, best, seconds, cpu, params = zip(*results, strict=True)
        print(
            f"| {name} | {params[0]:,} | {spread(nll, 3)} | {statistics.median(best):.0f} | "
            f"{spread(seconds, 1)} | {spread(cpu, 1)} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
