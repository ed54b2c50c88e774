"""Train the character models that ship in rnncourse/data/ (charmodel_<corpus>.pt).

    python scripts/train_char_models.py --corpus all --out rnncourse/data/
    python scripts/train_char_models.py --corpus shakespeare --out rnncourse/data/
    python scripts/train_char_models.py --corpus names --tiny --out /tmp/models   # seconds

Deterministic: one torch thread, the model and the batches drawn from ``--seed``, a fixed
number of updates. Each run trains an ``rnncourse.charmodel.CharModel`` (embedding, one
``torch.nn.GRU`` layer, linear readout) with ``rnncourse.training.train`` on
``charmodel.next_char_loss``: Adam, a cosine learning-rate decay to 1 % and global-norm
clipping at 1.0. Every ``every``
updates it scores the validation split (``charmodel.validation_nll``); the best weights are
kept, and training stops early after ``patience`` scores without improvement. The checkpoint
stores float16 weights, the vocabulary, the sizes and a record of the run; its ``valid_nll``
is measured on the weights as saved (after the float16 round trip), so
``validation_nll(load_pretrained(...))`` gives it back. ``--tiny`` trains a small model on a
slice of the corpus for a few updates.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from rnncourse import charmodel, tasks, training

# Per corpus: the model's sizes and the run's settings.
SETTINGS = {
    "names": dict(
        embedding=32, hidden=128, batch=128, steps=None, lr=1e-2, updates=4000, every=100,
        patience=8,
    ),
    "shakespeare": dict(
        embedding=48, hidden=256, batch=32, steps=128, lr=3e-3, updates=700, every=100,
        patience=3,
    ),
}  # fmt: skip
TINY = dict(embedding=8, hidden=16, batch=8, lr=1e-2, updates=20, every=10)


def training_data(corpus: str, tiny: bool):
    """``(vocab, draw)``: ``draw(generator) -> (inputs (B, T), targets (B, T))``."""
    s = SETTINGS[corpus] | (TINY if tiny else {})
    if corpus == "names":
        vocab = tasks.char_vocab(tasks.load_names())
        train = tasks.encode_names(tasks.split_names().train[: 500 if tiny else None], vocab)

        def draw(g):
            batch = tasks.random_batch(train, s["batch"], seed=g)
            return batch.inputs, batch.targets

        return vocab, draw
    text = tasks.load_shakespeare()
    vocab = tasks.char_vocab(text)
    train = vocab.encode(list(tasks.split_text(text).train[: 20_000 if tiny else None]))
    steps = 32 if tiny else s["steps"]
    return vocab, lambda g: tuple(tasks.random_chunks(train, s["batch"], steps, seed=g))


def train(corpus: str, *, tiny: bool, seed: int, out: Path) -> Path:
    s = SETTINGS[corpus] | (TINY if tiny else {})
    vocab, draw = training_data(corpus, tiny)
    torch.manual_seed(seed)  # the initial weights
    model = charmodel.CharModel(len(vocab), s["embedding"], s["hidden"], "gru")
    print(f"{corpus}: {sum(p.numel() for p in model.parameters()):,} parameters", flush=True)

    def report(h):
        update, score = h.eval_steps[-1], h.eval_metrics["valid_nll"][-1]
        print(f"  {update:5d} updates {h.seconds:6.1f} s  validation NLL {score:.4f}", flush=True)

    history = training.train(
        model, draw, charmodel.next_char_loss, steps=s["updates"], lr=s["lr"],
        lr_schedule=training.cosine_decay(s["updates"]), clip_norm=1.0, seed=seed,
        eval_fn=lambda m: {"valid_nll": charmodel.validation_nll(m, corpus)},
        eval_every=s["every"], keep_best=True, patience=s["patience"], report=report,
        progress=False,
    )  # fmt: skip
    best_updates, update, seconds = history.best()[0], history.steps, history.seconds
    record = {k: v for k, v in s.items() if k not in ("embedding", "hidden")}
    record.update(
        seed=seed, tiny=tiny, updates=best_updates, updates_run=update, seconds=round(seconds, 1),
        optimizer="Adam, cosine decay to 1 %, clip 1.0", threads=1,
    )  # fmt: skip
    checkpoint = charmodel.to_checkpoint(
        model,
        vocab,
        corpus=corpus,
        start_token=corpus == "names",
        training=record,
    )
    # scored as saved: after the float16 round trip
    valid_nll = charmodel.validation_nll(charmodel.from_checkpoint(checkpoint), corpus)
    checkpoint["info"]["valid_nll"] = valid_nll
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"charmodel_{corpus}.pt"
    torch.save(checkpoint, path)
    print(
        f"{corpus}: best after {best_updates} updates, validation NLL {valid_nll:.4f} "
        f"(as saved); {seconds:.1f} s training; {path} {path.stat().st_size:,} bytes",
        flush=True,
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", choices=[*charmodel.PRETRAINED, "all"], default="all")
    parser.add_argument("--out", type=Path, default=Path("rnncourse/data"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tiny", action="store_true", help="a tiny slice, a few updates")
    args = parser.parse_args()
    torch.set_num_threads(1)
    corpora = charmodel.PRETRAINED if args.corpus == "all" else (args.corpus,)
    for corpus in corpora:
        train(corpus, tiny=args.tiny, seed=args.seed, out=args.out)


if __name__ == "__main__":
    main()
