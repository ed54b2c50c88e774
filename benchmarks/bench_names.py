"""How fast does a small GRU learn to spell names? Validation NLL against time and updates.

A character model (``rnncourse.charmodel.CharModel``: embedding 32, one GRU layer of 128,
linear read-out) is trained on the training split of ``rnncourse.tasks.load_names()``
(seed 0: 28,830 names) with ``rnncourse.training.train``: Adam at lr 1e-2,
global-norm clipping at 1.0, random batches of 128 names, and by default a cosine decay of
the learning rate to 1 % over ``--updates`` updates (``--decay constant`` keeps 1e-2). Every
``--every`` updates it is scored on the whole validation split (3,203 names) in one padded
batch: the mean negative log-likelihood per predicted character, end of name included, in
nats, the same measure as the bigram baseline and the published figures in the header.
Seconds count training only, not the evaluations. One torch thread.

With a constant learning rate the score bottoms out near 2.03 after about 1,000 updates and
then rises as the network overfits; the decaying rate keeps improving to the end of its
schedule (2.00 after 1,000 of 1,500 updates, 1.98 at the end). ``--recurrent cell`` runs
``rnncourse.cells.GRUCell`` step by step instead of ``torch.nn.GRU``, as notebook 09 does
with a GRU step written by hand.

    python benchmarks/bench_names.py                          # 1,500 updates, cosine decay
    python benchmarks/bench_names.py --decay constant --updates 3000
    python benchmarks/bench_names.py --recurrent cell --updates 400 --every 50
"""

from __future__ import annotations

import argparse

import torch

from rnncourse import cells, charmodel, tasks, training


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=1500, help="updates (the decay's length)")
    parser.add_argument("--decay", choices=["cosine", "constant"], default="cosine")
    parser.add_argument("--recurrent", choices=["gru", "cell"], default="gru")
    parser.add_argument("--seconds", type=float, default=300.0, help="training time budget")
    parser.add_argument("--target", type=float, default=2.00, help="report when first reached")
    parser.add_argument("--every", type=int, default=100, help="updates between evaluations")
    parser.add_argument("--seed", type=int, default=0, help="model init and batch order")
    args = parser.parse_args()

    torch.set_num_threads(1)
    split = tasks.split_names(seed=0)
    recurrent = cells.GRUCell(32, 128) if args.recurrent == "cell" else "gru"
    model = charmodel.new_model("names", 32, 128, recurrent, seed=args.seed)
    train = tasks.encode_names(split.train, model.vocab)
    valid = tasks.encode_names(split.valid, model.vocab)
    uniform, bigram = tasks.uniform_nll(train, valid), tasks.bigram_nll(train, valid)
    published = ", ".join(f"{k} ~{v}" for k, v in tasks.NAMES_PUBLISHED_NLL.items())
    layer = "rnncourse GRUCell, step by step" if args.recurrent == "cell" else "torch.nn.GRU"
    lr = "cosine-decayed to 1 %" if args.decay == "cosine" else "constant"
    print(
        f"{layer} (embedding 32, hidden 128), Adam 1e-2 {lr} over {args.updates} updates, "
        f"clip 1.0, batch 128, 1 thread; {len(split.train)} training / {len(split.valid)} "
        f"validation names.\nValidation NLL in nats per character. Baselines on this split: "
        f"uniform ln(27) = {uniform:.3f}, bigram counts (add-one) = {bigram:.3f}. "
        f"Published: {published}.\n"
    )
    print("| updates | seconds | validation NLL |")
    print("|---:|---:|---:|")
    reached = []

    def report(h):
        update, score = h.eval_steps[-1], h.eval_metrics["eval"][-1]
        print(f"| {update} | {h.seconds:.1f} | {score:.3f} |", flush=True)
        if score <= args.target and not reached:
            reached.append((update, h.seconds))

    schedule = training.cosine_decay(args.updates) if args.decay == "cosine" else None
    history = training.train(
        model, lambda g: tasks.random_batch(train, 128, seed=g)[:2], charmodel.next_char_loss,
        steps=args.updates, lr=1e-2, lr_schedule=schedule, clip_norm=1.0, seed=args.seed,
        eval_fn=lambda m: charmodel.validation_nll(m, "names"), eval_every=args.every,
        keep_best=True, seconds=args.seconds, report=report, progress=False,
    )  # fmt: skip
    best_update, best_nll = history.best()
    verdict = (
        f"reached after {reached[0][0]} updates, {reached[0][1]:.1f} s"
        if reached
        else "not reached"
    )
    print(
        f"\ntarget {args.target:.2f} {verdict}; best {best_nll:.3f} after "
        f"{best_update} updates; {history.seconds:.1f} s of training in all ({history.reason})."
    )


if __name__ == "__main__":
    main()
