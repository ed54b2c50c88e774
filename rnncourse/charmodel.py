"""A character-level language model (embedding -> recurrent layer -> linear readout), the
shipped ``"names"`` and ``"shakespeare"`` models (``scripts/train_char_models.py`` made
them), scoring and sampling. Example::

    model = new_model("names", recurrent=cells.StepCell(gru_step, "gru", 32, 128), seed=0)
    model = load_pretrained("shakespeare")
    print(sample_text(model, "ROMEO:", 200, temperature=0.8, seed=0))
    students = model.to_cells()        # the same weights in an rnncourse.cells.GRUCell
"""

import io
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from rnncourse import cells, generation, scan, sequences
from rnncourse._random import generator
from rnncourse._validation import check_choice, check_int, check_tensor
from rnncourse.tasks.corpora import load_names, load_shakespeare, read_packaged
from rnncourse.tasks.next_char import char_vocab, encode_names, split_names, split_text
from rnncourse.tasks.text import Vocab

__all__ = [
    "CharModel", "new_model", "next_char_loss", "PRETRAINED", "VALID_WINDOW", "validation_data",
    "validation_nll", "sample_text", "sample_names", "to_checkpoint", "from_checkpoint",
    "load_checkpoint", "load_pretrained"
]  # fmt: skip

PRETRAINED = ("names", "shakespeare")
"""The corpora with a shipped model, each in ``rnncourse/data/charmodel_<name>.pt``."""

VALID_WINDOW = 256
"""Shakespeare's validation text is scored in windows of this many steps, each from zero."""

_FORMAT = 1  # the checkpoint layout; raise when it changes


class CharModel(nn.Module):
    """Next-character prediction: ``h(t) = f(h(t-1), E[x(t)])``, ``o(t) = V h(t) + b_o``.

    ``V = vocab_size`` ids, ``I = embedding_size`` (default 32), ``H = hidden_size``
    (default 128). ``recurrent``: ``"gru"``, ``"lstm"``, a cell from :mod:`rnncourse.cells`
    or a ``scan.MinGRU`` (these set ``I`` and ``H``). A state is ``h`` ``(B, H)`` (LSTM:
    ``(h, c)``), ``None`` for zeros. A loaded model has ``vocab`` and ``info``.
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_size: int | None = None,
        hidden_size: int | None = None,
        recurrent: str | cells.RecurrentCell | scan.MinGRU = "gru",
    ):
        super().__init__()
        vocab_size = check_int(vocab_size, "vocab_size", min_value=1)
        if isinstance(recurrent, (cells.RecurrentCell, scan.MinGRU)):
            for name, given, cell_size in (
                ("embedding_size", embedding_size, recurrent.input_size),
                ("hidden_size", hidden_size, recurrent.hidden_size),
            ):
                if given is not None and given != cell_size:
                    raise ValueError(
                        f"{name}={given} does not match the cell's {cell_size}; leave it out "
                        f"to take the cell's size."
                    )
            self.kind = "cell" if isinstance(recurrent, cells.RecurrentCell) else "min_gru"
            self.rnn = recurrent
            embedding_size, hidden_size = recurrent.input_size, recurrent.hidden_size
        elif isinstance(recurrent, str):
            self.kind = check_choice(recurrent, "recurrent", ("gru", "lstm"))
            embedding_size = check_int(embedding_size or 32, "embedding_size", min_value=1)
            hidden_size = check_int(hidden_size or 128, "hidden_size", min_value=1)
            layer = nn.GRU if recurrent == "gru" else nn.LSTM
            self.rnn = layer(embedding_size, hidden_size, batch_first=True)
        else:
            fix = " Run a step function of yours in a StepCell." if callable(recurrent) else ""
            raise TypeError(
                f'recurrent must be "gru", "lstm", a cell from rnncourse.cells (e.g. '
                f"cells.GRUCell(32, 128) or cells.StepCell(gru_step, 'gru', 32, 128)) or a "
                f"scan.MinGRU, got {type(recurrent).__name__}.{fix}"
            )
        self.vocab_size = vocab_size
        self.embedding_size, self.hidden_size = embedding_size, hidden_size
        self.embedding = nn.Embedding(vocab_size, embedding_size)
        self.readout = nn.Linear(hidden_size, vocab_size)

    def run(self, tokens: torch.Tensor, state=None):
        """``tokens`` int64 ids ``(B, T)`` in ``[0, V)`` and a state (or ``None``) ->
        ``(logits (B, T, V), state after the last step)``."""
        tokens = self._check_tokens(tokens, ("B", "T"), "tokens")
        e = self.embedding(tokens)  # (B, T, I)
        if self.kind == "cell":
            hs, state = sequences.run(self.rnn, e, state)
        elif self.kind == "min_gru":
            hs = self.rnn(e, state)
            state = hs[:, -1]
        else:
            hs, final = self.rnn(e, self._torch_state(state, tokens.shape[0]))
            state = tuple(s[0] for s in final) if self.kind == "lstm" else final[0]
        return self.readout(hs), state

    def forward(self, tokens: torch.Tensor, state=None) -> torch.Tensor:
        """Next-character logits ``(B, T, V)`` for ids ``tokens`` ``(B, T)``; see :meth:`run`."""
        return self.run(tokens, state)[0]

    def step(self, token: torch.Tensor, state=None):
        """One step for generation: ``token`` ``(B,)`` ids -> ``(logits (B, V), state)``."""
        token = self._check_tokens(token, ("B",), "token")
        logits, state = self.run(token[:, None], state)
        return logits[:, 0], state

    def to_cells(self) -> "CharModel":
        """A copy (same weights, same logits) whose layer is the matching ``rnncourse.cells``
        cell, so a cell of your own with the same parameters can replace it."""
        if self.kind in ("cell", "min_gru"):
            raise TypeError("this model already runs an rnncourse layer; copy it instead.")
        cell_class = cells.GRUCell if self.kind == "gru" else cells.LSTMCell
        copy = CharModel(self.vocab_size, recurrent=cell_class.from_torch(self.rnn))
        copy.embedding.load_state_dict(self.embedding.state_dict())
        copy.readout.load_state_dict(self.readout.state_dict())
        for name in ("vocab", "info"):
            if hasattr(self, name):
                setattr(copy, name, getattr(self, name))
        return copy.train(self.training)

    def _torch_state(self, state, batch_size: int):
        """A cell-format state as torch's ``(1, B, H)`` layout (or None)."""
        if state is None:
            return None
        shape = (batch_size, self.hidden_size)
        dtype = self.readout.weight.dtype
        if self.kind == "lstm":
            if not isinstance(state, (tuple, list)) or len(state) != 2:
                raise TypeError(
                    f"an LSTM state must be a pair (h, c) of {shape} tensors, got "
                    f"{type(state).__name__}; pass None for zeros."
                )
            parts = [check_tensor(s, n, shape) for s, n in zip(state, ("h", "c"), strict=True)]
        else:
            parts = [check_tensor(state, "state", shape, hint="Pass None for zeros.")]
        if any(p.dtype != dtype for p in parts):
            raise TypeError(f"the state must have the model's dtype {dtype}; use .to({dtype}).")
        return tuple(p[None] for p in parts) if self.kind == "lstm" else parts[0][None]

    def _check_tokens(self, tokens, shape, name: str) -> torch.Tensor:
        hint = "Encode text with vocab.encode(list(text))."
        tokens = check_tensor(tokens, name, shape, floating=False, hint=hint)
        if tokens.dtype != torch.long:
            raise TypeError(f"{name} must hold int64 token ids, got dtype {tokens.dtype}. {hint}")
        low, high = int(tokens.min()), int(tokens.max())
        if low < 0 or high >= self.vocab_size:
            raise ValueError(
                f"{name} must lie in [0, {self.vocab_size}) (the vocabulary size), got ids "
                f"from {low} to {high}."
            )
        return tokens

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}"


def new_model(
    corpus: str,
    embedding_size: int | None = None,
    hidden_size: int | None = None,
    recurrent: str | cells.RecurrentCell | scan.MinGRU = "gru",
    *,
    seed: int | torch.Generator | None = None,
) -> CharModel:
    """An untrained :class:`CharModel` for ``corpus`` (``"names"``: 29 tokens, or
    ``"shakespeare"``: 68), with ``vocab`` and ``info`` (``corpus``, ``start_token``);
    ``seed`` draws every initial weight, a given cell's too, the global RNG untouched."""
    vocab = char_vocab(load_names() if _corpus_arg(corpus) == "names" else load_shakespeare())
    with torch.random.fork_rng(devices=[]):
        model = CharModel(len(vocab), embedding_size, hidden_size, recurrent)
        torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=generator(seed))))
        for module in model.modules():  # in order: the recurrent layer, embedding, readout
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
    model.vocab = vocab
    model.info = {"corpus": corpus, "start_token": corpus == "names"}
    return model


def next_char_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy (nats per character) of ``logits`` ``(B, T, V)`` against int64
    ``targets`` ``(B, T)``, ``<pad>`` skipped."""
    return F.cross_entropy(logits.transpose(1, 2), targets, ignore_index=Vocab.pad_id)


def _corpus_arg(corpus) -> str:
    if not isinstance(corpus, str) or corpus not in PRETRAINED:
        raise ValueError(f"corpus must be one of {PRETRAINED}, got {corpus!r}.")
    return corpus


def validation_data(corpus: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The validation split of ``corpus`` as int64 ``(inputs (N, L), targets (N, L))``,
    padded with ``Vocab.pad_id``: one name a row, or the last 10 % of Shakespeare in
    windows of ``VALID_WINDOW`` (the last one shorter)."""
    if _corpus_arg(corpus) == "names":
        batch = encode_names(split_names().valid)
        return batch.inputs, batch.targets
    text = load_shakespeare()
    ids = char_vocab(text).encode(list(split_text(text).valid))
    n = (len(ids) - 1 + VALID_WINDOW - 1) // VALID_WINDOW
    padded = torch.full((n * VALID_WINDOW + 1,), Vocab.pad_id, dtype=torch.long)
    padded[: len(ids)] = ids
    inputs, targets = padded[:-1].reshape(n, VALID_WINDOW), padded[1:].reshape(n, VALID_WINDOW)
    return inputs.masked_fill(targets == Vocab.pad_id, Vocab.pad_id), targets


def validation_nll(model: CharModel, corpus: str | None = None) -> float:
    """Mean negative log-likelihood (nats per character) on ``corpus``'s validation data
    (default: ``model.info["corpus"]``), in eval mode without gradients."""
    if not isinstance(model, CharModel):
        raise TypeError(f"model must be a CharModel, got {type(model).__name__}.")
    if corpus is None:
        corpus = getattr(model, "info", {}).get("corpus")
        if corpus is None:
            raise ValueError(f"model has no recorded corpus; pass corpus, one of {PRETRAINED}.")
    inputs, targets = validation_data(corpus)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        loss = next_char_loss(model(inputs), targets)
    model.train(was_training)
    return float(loss)


def sample_names(
    model: CharModel,
    n: int,
    *,
    temperature: float = 1.0,
    seed: int | torch.Generator | None = None,
    max_length: int = 20,
) -> list[str]:
    """``n`` names drawn at once from a names model, each letter from
    ``softmax(logits / temperature)``; a name is cut after ``max_length`` letters."""
    if not isinstance(model, CharModel) or not getattr(model, "info", {}).get("start_token"):
        raise TypeError(
            "model must be a names CharModel, e.g. load_pretrained('names') or "
            "new_model('names', ...)."
        )
    n = check_int(n, "n", min_value=1)
    max_length = check_int(max_length, "max_length", min_value=1)
    return _sample(model, [[model.vocab.start_id]] * n, max_length, temperature, seed, True)


def _sample(model, prefixes, length, temperature, seed, stop) -> list[str]:
    """The characters drawn after each row of ``prefixes`` (B, P) ids (to ``<stop>``)."""
    vocab, prefixes = model.vocab, torch.tensor(prefixes)
    with torch.no_grad():
        state = model.run(prefixes[:, :-1])[1] if prefixes.shape[1] > 1 else None
        out = generation.sample_sequence(
            model.step, prefixes[:, -1], length, strategy="temperature",
            temperature=temperature, seed=seed, stop_token=vocab.stop_id if stop else None,
            state=state
        )  # fmt: skip
    rows = [r[: r.index(vocab.stop_id)] if stop and vocab.stop_id in r else r for r in out.tolist()]
    return ["".join(vocab.decode(row)) for row in rows]


def sample_text(
    model: CharModel,
    prompt: str = "",
    length: int = 200,
    *,
    temperature: float = 1.0,
    seed: int | torch.Generator | None = None,
) -> str:
    """``prompt`` and up to ``length`` characters sampled from ``softmax(logits /
    temperature)``. A names model starts a name at ``<start>`` (the prompt may be empty)
    and ends at ``<stop>``; a running-text model needs a prompt."""
    if not isinstance(model, CharModel) or not isinstance(getattr(model, "vocab", None), Vocab):
        raise TypeError("model must be a CharModel with a vocab, e.g. load_pretrained('names').")
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a str, got {type(prompt).__name__}.")
    vocab, names = model.vocab, model.info.get("start_token", False)
    ids = vocab.encode(list(prompt)).tolist()
    if names:
        ids = [vocab.start_id, *ids]
    elif not ids:
        raise ValueError("a running-text model needs a prompt to start from, e.g. 'ROMEO:'.")
    return prompt + _sample(model, [ids], length, temperature, seed, names)[0]


def to_checkpoint(model: CharModel, vocab: Vocab, **info) -> dict:
    """A dict of ``model``'s float16 weights, sizes, ``vocab`` and ``info`` (numbers,
    strings, lists and dicts only, e.g. ``corpus``, ``valid_nll``), for ``torch.save``."""
    if not isinstance(model, CharModel) or model.kind in ("cell", "min_gru"):
        raise TypeError("only a CharModel with recurrent='gru' or 'lstm' can be checkpointed.")
    if not isinstance(vocab, Vocab) or len(vocab) != model.vocab_size:
        raise ValueError(f"vocab must be a Vocab of {model.vocab_size} tokens.")
    weights = {k: v.detach().to(torch.float16).clone() for k, v in model.state_dict().items()}
    sizes = {"recurrent": model.kind, "vocab_size": model.vocab_size}
    sizes |= {"embedding_size": model.embedding_size, "hidden_size": model.hidden_size}
    return dict(format=_FORMAT, vocab=list(vocab.itos), sizes=sizes, info=dict(info),
                state_dict=weights)  # fmt: skip


def from_checkpoint(checkpoint: dict) -> CharModel:
    """The float32 ``CharModel`` of ``checkpoint``, in eval mode, with ``vocab`` and ``info``."""
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != _FORMAT:
        raise ValueError(
            f"not a CharModel checkpoint of format {_FORMAT} (a dict from to_checkpoint)."
        )
    model = CharModel(**checkpoint["sizes"])
    model.load_state_dict({k: v.float() for k, v in checkpoint["state_dict"].items()})
    model.vocab = Vocab(checkpoint["vocab"][3:])
    if model.vocab.itos != checkpoint["vocab"]:
        raise ValueError("the checkpoint's vocabulary does not start with the special tokens.")
    model.info = dict(checkpoint["info"])
    return model.eval()


def load_checkpoint(path) -> CharModel:
    """The model saved at ``path`` (a file written by ``torch.save(to_checkpoint(...))``)."""
    with warnings.catch_warnings():
        # torch 2.1's weights-only loader warns about its own use of TypedStorage
        warnings.filterwarnings("ignore", "TypedStorage is deprecated", UserWarning)
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    return from_checkpoint(checkpoint)


def load_pretrained(name: str) -> CharModel:
    """A shipped model, float32, in eval mode: ``"names"`` or ``"shakespeare"``. Its
    ``info`` holds the corpus, hyperparameters, training run and ``valid_nll``."""
    if not isinstance(name, str) or name not in PRETRAINED:
        raise ValueError(f"no pretrained model {name!r}; choose one of {PRETRAINED}.")
    fix = "reinstall rnncourse or run scripts/train_char_models.py."
    return load_checkpoint(io.BytesIO(read_packaged(f"charmodel_{name}.pt", fix)))
