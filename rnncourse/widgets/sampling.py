"""The sampling explorer: what temperature and top-k do to a character model's samples."""

import functools
import math

import ipywidgets
import numpy as np
import torch
from matplotlib.collections import PolyCollection

from rnncourse import charmodel, generation, plots, tasks
from rnncourse._validation import check_int
from rnncourse.tasks.text import Vocab
from rnncourse.widgets.explorer import Explorer, nice_ceiling, slider

__all__ = ["sampling_explorer"]

_C = plots.PALETTE
_ROWS = 12  # samples per column of text
_SHOWN = {Vocab.STOP: ".", " ": "␣", "\n": "↵"}  # readable labels: "." ends a name
_DRAWS = 100  # the "draw" slider: 0 .. _DRAWS - 1


@functools.lru_cache(maxsize=2)
def _corpus(name: str):
    """What a sample is compared with: the names' training split, or the whole text."""
    return frozenset(tasks.split_names().train) if name == "names" else tasks.load_shakespeare()


def _adjusted(logits: torch.Tensor, temperature: float, top_k: int) -> torch.Tensor:
    """What ``generation.sample_sequence(strategy="top_k")`` draws from: ``(V,)``
    probabilities, ``softmax(logits / temperature)`` over the ``top_k`` largest logits."""
    values, index = (logits / temperature).topk(top_k)
    return torch.zeros_like(logits).scatter(0, index, values.softmax(-1))


def sampling_explorer(
    model: charmodel.CharModel | None = None,
    *,
    prefix: str = "",
    n_samples: int = 12,
    seed: int = 0,
    length: int | None = None,
) -> Explorer:
    """Sampling from a character model: temperature, top-k and a fresh draw.

    ``model``: a ``CharModel`` with a ``vocab`` (default: the shipped names model). After
    ``prefix``, ``n_samples`` continuations are drawn (``generation.sample_sequence``). A
    names model (``info["start_token"]``) starts at ``<start>`` and stops at ``<stop>`` or
    after ``length`` letters (default 20, marked "…"); a running-text model needs a prefix
    and generates ``length`` characters (default 40). Controls: ``temperature`` in [0.05,
    2.0], ``top_k`` in [1, V] and ``draw`` in [0, 99] (seed ``100 * seed + draw``).

    ``data()`` keys: samples (list of str, prefix included), known (bool ``(n_samples,)``:
    in the names' training split or the whole text), share_new (NaN without such data),
    tokens (list of V str), probs and model_probs ``(V,)`` (with and without temperature
    and top-k), entropy (nats, of probs), greedy (str).
    """
    if model is None:
        model = _names_model()
    has_vocab = isinstance(getattr(model, "vocab", None), Vocab)
    if not (isinstance(model, charmodel.CharModel) and has_vocab):
        raise TypeError(
            "model must be a CharModel with a vocab, e.g. charmodel.load_pretrained('names'), "
            f"or None for that one; got {type(model).__name__}."
        )
    vocab, info = model.vocab, getattr(model, "info", {})
    names = bool(info.get("start_token", False))
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a str, got {type(prefix).__name__}.")
    unknown = sorted(set(prefix) - set(vocab.itos[3:]))
    if unknown:
        raise ValueError(
            f"prefix {prefix!r} has characters the model does not know: {unknown}; its "
            f"vocabulary is {''.join(vocab.itos[3:])!r}."
        )
    if not names and not prefix:
        raise ValueError("a running-text model needs a prefix to start from, e.g. 'ROMEO:'.")
    most = 3 * _ROWS if names else _ROWS  # three columns of names, one of text
    n_samples = check_int(n_samples, "n_samples", min_value=1, max_value=most)
    seed = check_int(seed, "seed", min_value=0)
    if length is None:
        length = 20 if names else 40
    length = check_int(length, "length", min_value=1, max_value=200)
    V = len(vocab)

    ids = ([vocab.start_id] if names else []) + vocab.encode(list(prefix)).tolist()
    with torch.no_grad():
        logits, _ = model.run(torch.tensor([ids]))
        logits = logits[0, -1].double()  # (V,) the next character after the prefix
        # samples start from the state before the last prefix token, which they read first
        state = model.run(torch.tensor([ids[:-1]] * n_samples))[1] if len(ids) > 1 else None
    start = torch.full((n_samples,), ids[-1], dtype=torch.long)
    corpus = _corpus(info["corpus"]) if info.get("corpus") in ("names", "shakespeare") else None

    def generate(temperature, top_k, seed_):
        out = generation.sample_sequence(
            model.step, start, length, strategy="top_k", temperature=temperature, k=top_k,
            seed=seed_, stop_token=vocab.stop_id if names else None, state=state,
        )  # fmt: skip
        texts = []
        for row in out.tolist():
            stopped = names and vocab.stop_id in row
            row = row[: row.index(vocab.stop_id)] if stopped else row
            cut = "…" if names and not stopped else ""  # a name longer than length
            texts.append(prefix + "".join(vocab.decode(row)) + cut)
        return texts

    greedy = generate(1.0, 1, 0)[0]

    @functools.lru_cache(maxsize=512)  # a slider dragged back and forth: sample once
    def samples(temperature, top_k, draw):
        texts = generate(temperature, top_k, _DRAWS * seed + draw)
        known = [corpus is not None and t in corpus for t in texts]
        return tuple(texts), np.array(known)

    fig, axes = plots.figure(1, 2, figsize=(10.0, 3.6))
    ax_s, ax_p = axes[0]
    ax_s.set_axis_off()
    # per column one text of new samples (blue) and one of known ones (grey), each with
    # the other's lines blank: several times faster to draw than a text per sample
    columns = math.ceil(n_samples / _ROWS)
    panels = {
        (c, old): ax_s.text(
            c / columns, 0.98, "", family="monospace", fontsize=10, va="top", ha="left",
            linespacing=1.45, color="0.55" if old else _C["blue"], transform=ax_s.transAxes,
        )
        for c in range(columns)
        for old in (False, True)
    }  # fmt: skip
    data_set, what = ("the training split", "name") if names else ("the whole text", "text")
    note = f"* in {data_set}" if corpus is not None else f"the {what}s sampled at this setting"
    ax_s.set_title(note, fontsize=9, loc="left")
    shown = np.arange(2, V)  # <stop> and the characters
    labels = [_SHOWN.get(vocab.itos[i], vocab.itos[i]) for i in shown]
    model_probs = logits.softmax(-1).numpy()
    ax_p.bar(shown, model_probs[shown], width=0.8, fill=False, edgecolor="0.55", lw=1)
    # the sampled distribution: one artist draws faster than a bar per token
    bar_x = shown[:, None] + np.array([-0.4, -0.4, 0.4, 0.4])  # corners of each bar
    bars = PolyCollection([], facecolors=_C["blue"], alpha=0.75)
    ax_p.add_collection(bars)
    ax_p.set_xticks(shown, labels, fontsize=9 if len(shown) <= 30 else 5)
    ax_p.set(xlim=(1.4, V - 0.4), ylabel="probability")
    ax_p.tick_params(axis="x", length=0)
    start_text = f"{prefix!r}" if prefix else "<start> (a name's first letter)"
    ax_p.set_title(f"next character after {start_text}")
    # a label, not a legend, which would be redrawn over the bars on every update
    ax_p.set_xlabel('"." ends the name; grey outline: the model; blue: what is sampled')
    title = fig.suptitle("")

    def redraw(temperature, top_k, draw):
        drawn, known = samples(temperature, top_k, draw)
        shown_texts = [t.replace("\n", "↵") + ("*" if old else "") for t, old in zip(
            drawn, known, strict=True)]  # fmt: skip
        for (c, old), artist in panels.items():
            rows = range(c * _ROWS, min((c + 1) * _ROWS, n_samples))
            artist.set_text("\n".join(shown_texts[k] if known[k] == old else "" for k in rows))
        probs = _adjusted(logits, temperature, top_k).numpy()
        bars.set_verts(np.stack([bar_x, probs[shown, None] * [0, 1, 1, 0]], -1))  # (N, 4, 2)
        ax_p.set_ylim(0, 1.05 * nice_ceiling(max(probs.max(), model_probs.max())))
        share_new = 1 - known.mean() if corpus is not None else math.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            entropy = float(-np.where(probs > 0, probs * np.log(probs), 0.0).sum())
        # a short title: every glyph costs ~0.1 ms to draw
        new = f": {int((~known).sum())} of {n_samples} new" if corpus is not None else ""
        k = "all" if top_k == V else top_k
        title.set_text(f"temperature {temperature:.2f}, top-k {k}{new}")
        return dict(samples=list(drawn), known=known.copy(), share_new=share_new,
                    tokens=list(vocab.itos), probs=probs, model_probs=model_probs.copy(),
                    entropy=entropy, greedy=greedy)  # fmt: skip

    controls = {
        "temperature": slider(ipywidgets.FloatSlider, 1.0, 0.05, 2.0, 0.05, "temperature"),
        "top_k": slider(ipywidgets.IntSlider, V, 1, V, 1, f"top-k ({V} = all)"),
        "draw": slider(ipywidgets.IntSlider, 0, 0, _DRAWS - 1, 1, "draw (sample again)"),
    }
    return Explorer(controls, fig, redraw, dynamic=[*panels.values(), bars, title])


@functools.lru_cache(maxsize=1)
def _names_model() -> charmodel.CharModel:
    """The shipped names model, loaded once (the explorer never changes its weights)."""
    return charmodel.load_pretrained("names")
