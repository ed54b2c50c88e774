"""How fast does a small GRU learn to spell names? Validation NLL against time and updates.

A character-level GRU (embedding 32, hidden 128, one layer, linear read-out) is trained on
the training split of ``rnncourse.tasks.load_names()`` (seed 0: 28,830 names) with Adam at
lr 1e-2, global-norm clipping at 1.0 and random batches of 128 names. Every ``--every``
updates it is scored on the whole validation split (3,203 names) in one padded batch:
the mean negative log-likelihood per predicted character, end of name included, in nats,
the same measure as the bigram baseline and the published figures in the header. The run
stops when the validation NLL reaches ``--target`` (default 2.00) or the time budget is
spent, and reports the best score. Seconds count training only, not the evaluations. One
torch thread. At this constant learning rate the validation NLL bottoms out near 2.03 after
about 1,000 updates and then rises as the network overfits the training names.

    python benchmarks/bench_names.py                  # up to 300 s, stop at NLL <= 2.00
    python benchmarks/bench_names.py --seconds 60 --every 50
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from torch import nn

from rnncourse import tasks

PAD = tasks.Vocab.pad_id


class CharGRU(nn.Module):
    """ids (B, L) -> next-character logits (B, L, V)."""

    def __init__(self, vocab_size: int, embedding: int = 32, hidden: int = 128):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embedding)
        self.rnn = nn.GRU(embedding, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab_size)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.out(self.rnn(self.embed(ids))[0])


def nll(model: nn.Module, batch: tasks.CorpusBatch) -> torch.Tensor:
    """Mean cross-entropy per real target of ``batch`` (padding ignored)."""
    logits = model(batch.inputs)
    return F.cross_entropy(logits.transpose(1, 2), batch.targets, ignore_index=PAD)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="training time budget")
    parser.add_argument("--target", type=float, default=2.00, help="stop at this valid NLL")
    parser.add_argument("--every", type=int, default=100, help="updates between evaluations")
    parser.add_argument("--seed", type=int, default=0, help="model init and batch order")
    args = parser.parse_args()

    torch.set_num_threads(1)
    vocab = tasks.char_vocab(tasks.load_names())
    split = tasks.split_names(seed=0)
    train = tasks.encode_names(split.train, vocab)
    valid = tasks.encode_names(split.valid, vocab)
    uniform, bigram = tasks.uniform_nll(train, valid), tasks.bigram_nll(train, valid)
    published = ", ".join(f"{k} ~{v}" for k, v in tasks.NAMES_PUBLISHED_NLL.items())

    torch.manual_seed(args.seed)
    model = CharGRU(len(vocab))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    batches = torch.Generator().manual_seed(args.seed)

    print(
        f"GRU (embedding 32, hidden 128), Adam 1e-2, clip 1.0, batch 128, 1 thread; "
        f"{len(split.train)} training / {len(split.valid)} validation names.\n"
        f"Validation NLL in nats per character. Baselines on this split: uniform ln(27) = "
        f"{uniform:.3f}, bigram counts (add-one) = {bigram:.3f}. Published: {published}.\n"
    )
    print("| updates | seconds | validation NLL |")
    print("|---:|---:|---:|")
    updates, seconds, best = 0, 0.0, (float("inf"), 0, 0.0)
    while True:
        start = time.perf_counter()
        model.train()
        for _ in range(args.every):
            loss = nll(model, tasks.random_batch(train, 128, seed=batches))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
        updates += args.every
        seconds += time.perf_counter() - start
        model.eval()
        with torch.no_grad():
            score = float(nll(model, valid))
        print(f"| {updates} | {seconds:.1f} | {score:.3f} |", flush=True)
        best = min(best, (score, updates, seconds))
        if score <= args.target or seconds >= args.seconds:
            break
    verdict = "reached" if score <= args.target else "not reached"
    print(
        f"\ntarget {args.target:.2f} {verdict} after {updates} updates, {seconds:.1f} s; "
        f"best {best[0]:.3f} after {best[1]} updates, {best[2]:.1f} s."
    )


if __name__ == "__main__":
    main()
