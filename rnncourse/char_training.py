"""Making and training a character model: one loop for the names notebook, the names
benchmark and the script that trains the shipped models.

- :func:`new_model`: an untrained :class:`~rnncourse.charmodel.CharModel` for a corpus, its
  vocabulary attached, weights drawn from ``seed``.
- :func:`cosine_decay`: the learning-rate factor ``floor + (1 - floor)(1 + cos(pi u / N)) / 2``.
- :func:`train_char_model`: Adam on next-character cross-entropy with global-norm clipping
  and a learning-rate schedule, scored on validation data every ``every`` updates; it keeps
  the best weights and stops at a target, a time budget or after ``patience`` scores
  without improvement.

Example (the names, as in notebook 09)::

    model = new_model("names", 32, 128, recurrent=my_gru_step, seed=0)
    train = tasks.encode_names(tasks.split_names().train, model.vocab)
    run = train_char_model(
        model, lambda g: tasks.random_batch(train, 128, seed=g)[:2], updates=400, lr=1e-2,
        evaluate=lambda m: charmodel.validation_nll(m, "names"), every=50,
    )
    run.best_nll, run.history.eval_metrics["valid_nll"]
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from rnncourse import cells, training
from rnncourse._random import generator
from rnncourse._validation import check_choice, check_float, check_int
from rnncourse.charmodel import PRETRAINED, CharModel
from rnncourse.tasks.corpora import load_names, load_shakespeare
from rnncourse.tasks.next_char import char_vocab
from rnncourse.tasks.text import Vocab

__all__ = ["new_model", "cosine_decay", "TrainingRun", "train_char_model"]


def new_model(
    corpus: str,
    embedding_size: int | None = None,
    hidden_size: int | None = None,
    recurrent: str | cells.RecurrentCell | Callable = "gru",
    *,
    seed: int | torch.Generator | None = None,
) -> CharModel:
    """An untrained :class:`CharModel` for ``corpus``, with ``vocab`` and ``info`` attached.

    ``corpus`` is ``"names"`` (29 tokens; a name runs from ``<start>`` to ``<stop>``) or
    ``"shakespeare"`` (68 tokens, running text). The other arguments are
    :class:`CharModel`'s; ``recurrent`` may be a GRU step function of your own,
    ``step(x, h, U, W, b_x, b_h) -> h``. ``seed`` draws the initial weights (an int gives
    the same weights every time); the global random generator is left as it was. The
    ``info`` (``corpus``, ``start_token``) is what ``charmodel.sample_text``,
    ``sample_names``, ``validation_nll`` and the sampling explorer read.
    """
    if not isinstance(corpus, str) or corpus not in PRETRAINED:
        raise ValueError(f"corpus must be one of {PRETRAINED}, got {corpus!r}.")
    vocab = char_vocab(load_names() if corpus == "names" else load_shakespeare())
    weights_seed = int(torch.randint(0, 2**62, (1,), generator=generator(seed)))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(weights_seed)
        model = CharModel(len(vocab), embedding_size, hidden_size, recurrent)
    model.vocab = vocab
    model.info = {"corpus": corpus, "start_token": corpus == "names"}
    return model


def cosine_decay(updates: int, floor: float = 0.01) -> Callable[[int], float]:
    """The learning-rate factor after ``u`` updates: from 1 at ``u = 0`` to ``floor`` at
    ``u = updates`` along half a cosine, ``floor + (1 - floor) (1 + cos(pi u / updates)) / 2``
    (``floor`` after that). Pass it to ``torch.optim.lr_scheduler.LambdaLR``."""
    updates = check_int(updates, "updates", min_value=1)
    floor = check_float(floor, "floor", min_value=0.0, max_value=1.0)

    def factor(u: int) -> float:
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(u, updates) / updates))

    return factor


@dataclass
class TrainingRun:
    """What :func:`train_char_model` did.

    Attributes:
        history: a :class:`rnncourse.training.History`: ``loss`` and ``grad_norm`` of every
            update, ``wall_time`` (seconds of training, evaluations not counted),
            ``eval_steps`` and ``eval_metrics["valid_nll"]``.
        best_update: the update count of the best validation score (0: never scored).
        best_nll: that score, in nats per character (``inf`` when never scored).
        reason: why training stopped: ``"updates"``, ``"target"``, ``"seconds"`` or
            ``"patience"``.
    """

    history: training.History
    best_update: int
    best_nll: float
    reason: str

    @property
    def seconds(self) -> float:
        """Seconds of training (evaluations not counted)."""
        return self.history.seconds


def _loss(model: CharModel, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean next-character cross-entropy over the real targets (``<pad>`` skipped)."""
    logits = model(inputs)  # (B, T, V)
    return F.cross_entropy(logits.transpose(1, 2), targets, ignore_index=Vocab.pad_id)


def train_char_model(
    model: CharModel,
    draw: Callable[[torch.Generator], tuple[torch.Tensor, torch.Tensor]],
    *,
    updates: int,
    lr: float,
    evaluate: Callable[[CharModel], float] | None = None,
    every: int = 100,
    decay: str = "cosine",
    clip_norm: float = 1.0,
    seed: int | torch.Generator | None = 0,
    target: float | None = None,
    seconds: float | None = None,
    patience: int | None = None,
    keep_best: bool = True,
    report: Callable[[int, float, float], None] | None = None,
) -> TrainingRun:
    """Train ``model`` on next-character prediction with Adam; score it as it goes.

    Every update draws ``(inputs (B, T), targets (B, T))`` int64 from ``draw(g)`` (``g`` a
    ``torch.Generator`` made from ``seed``, the same one throughout, so the batches are
    repeatable), takes the mean cross-entropy over the targets that are not ``<pad>``,
    clips the global gradient norm at ``clip_norm`` and steps Adam at
    ``lr * cosine_decay(updates)(u)`` (``decay="cosine"``) or ``lr`` (``"constant"``).
    Every ``every`` updates and after the last, ``evaluate(model)`` (in eval mode, no
    gradients) gives the validation NLL and ``report(update, seconds, nll)`` is called.

    Training stops after ``updates`` updates, or at an evaluation once the score is at most
    ``target``, once ``seconds`` of training have passed, or after ``patience`` scores
    without a new best. With ``keep_best`` the model ends with its best-scoring weights.

    Returns:
        A :class:`TrainingRun`.
    """
    if not isinstance(model, CharModel):
        raise TypeError(f"model must be a CharModel, got {type(model).__name__}.")
    if not callable(draw):
        raise TypeError("draw must be a function g -> (inputs (B, T), targets (B, T)).")
    if evaluate is not None and not callable(evaluate):
        raise TypeError("evaluate must be a function model -> validation NLL, or None.")
    updates = check_int(updates, "updates", min_value=1)
    lr = check_float(lr, "lr", min_value=0.0, strict_min=True)
    every = check_int(every, "every", min_value=1)
    decay = check_choice(decay, "decay", ("cosine", "constant"))
    clip_norm = check_float(clip_norm, "clip_norm", min_value=0.0, strict_min=True)
    if patience is not None:
        patience = check_int(patience, "patience", min_value=1)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    factor = cosine_decay(updates) if decay == "cosine" else (lambda u: 1.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    batches = generator(seed)
    params = [p for p in model.parameters() if p.requires_grad]

    history = training.History()
    best, best_update, best_state, waited, spent, reason = math.inf, 0, None, 0, 0.0, "updates"
    for update in range(1, updates + 1):
        start = time.perf_counter()
        model.train()
        inputs, targets = draw(batches)
        loss = _loss(model, inputs, targets)
        optimizer.zero_grad()
        loss.backward()
        history.grad_norm.append(float(training.clip_grad_norm(params, clip_norm)))
        optimizer.step()
        schedule.step()
        spent += time.perf_counter() - start
        history.loss.append(loss.item())
        history.wall_time.append(spent)
        if evaluate is None or (update % every and update != updates):
            continue
        model.eval()
        with torch.no_grad():
            score = float(evaluate(model))
        history.eval_steps.append(update)
        history.eval_metrics.setdefault("valid_nll", []).append(score)
        if report is not None:
            report(update, spent, score)
        if score < best:
            best, best_update, waited = score, update, 0
            best_state = copy.deepcopy(model.state_dict()) if keep_best else None
        else:
            waited += 1
        if target is not None and score <= target:
            reason = "target"
        elif seconds is not None and spent >= seconds:
            reason = "seconds"
        elif patience is not None and waited >= patience:
            reason = "patience"
        if reason != "updates":
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return TrainingRun(history, best_update, best, reason)
