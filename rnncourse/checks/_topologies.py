"""Checkers for notebook 02's output topologies: a summary head, an encoder-decoder with
three hand-overs of its context, and the temporal softmax loss of a padded batch. Later cells
train through each answer, so gradients are compared too."""

import torch
import torch.nn.functional as F

from rnncourse import charmodel, sequences
from rnncourse._validation import check_choice

from .._random import generator
from ._basics import TRANSPOSED_W, _loop, _rnn_forward, call_hinted, raised
from ._contract import check_gradients
from ._framework import CheckFailed, compare, exercise, randn

TORCH_RNN = (
    torch.nn.RNN,
    torch.nn.RNNCell,
    (torch.rnn_tanh, "torch's RNN kernel torch.rnn_tanh"),
    (torch.rnn_tanh_cell, "torch's RNN kernel torch.rnn_tanh_cell"),
)


def layer_exercise(reference, *course):
    """:func:`exercise` for a layer of notebook 02: gradients compared, and neither torch's
    RNN nor the course's own ``course`` may be called."""
    return exercise("02", reference=reference, forbidden=(*course, *TORCH_RNN), gradients=True)


def _tensor_result(name: str, case: str, got) -> None:
    """A number taken out of autograd (``.item()``, NumPy) cannot be trained through."""
    values = got if isinstance(got, tuple | list) else (got,)
    if got is not None and not all(isinstance(v, torch.Tensor) for v in values):
        raise CheckFailed(
            f"{name}, {case}: returned {type(got).__name__}, not a torch tensor. Likely "
            f"mistake: the result left autograd (.item(), .tolist(), NumPy); later cells "
            f"train through it, so compute it with torch operations to the end."
        )


# --- many-to-one: the head on the last valid state -------------------------------------------
HEAD_ERRORS = {
    "out of bounds": "off by one: a sequence of length T has its last state at index T - 1 "
    "(the first state is at index 0).",
    "cannot be multiplied": "a product in column form or without its transpose: rows are "
    "examples, so V h for every row is h @ V.T.",
}


def _many_to_one_head(hs, lengths, V, b_o):
    """The reference head: V h_last + b_o (B, K), h_last = hs[b, lengths[b] - 1]."""
    return hs[torch.arange(hs.shape[0]), lengths - 1] @ V.T + b_o


@exercise("02", reference=_many_to_one_head, gradients=True)
def many_to_one_head(student_fn) -> int:
    """Check ``many_to_one_head(hs, lengths, V, b_o) -> logits`` (B, K) = V h_last + b_o with
    h_last = hs[b, lengths[b] - 1]: hs (B, T, H) states of a padded batch (past a sequence's
    end, zeros or what the RNN computed on padding), lengths (B,) int64 from 1 to T,
    V (K, H), b_o (K,)."""
    name = "many_to_one_head"
    # (B, T, H, K): case 1 has K = H and zeros for padding states, 3 is float64, 4 has T = 1
    cases = [(3, 5, 4, 4), (4, 6, 3, 2), (2, 4, 5, 1), (5, 1, 2, 3), (6, 9, 4, 5)]
    for seed, (B, T, H, K) in enumerate(cases):
        g = generator(30 + seed)
        lengths = torch.randint(1, T + 1, (B,), generator=g)
        lengths[0], lengths[-1] = T, 1
        hs = randn(g, B, T, H)
        if seed == 0:
            hs[torch.arange(T)[None, :] >= lengths[:, None]] = 0.0
        V, b_o = randn(g, K, H), randn(g, K)
        rows = torch.arange(B)
        last = hs[rows, lengths - 1]
        case = f"case {seed + 1} (B={B}, T={T}, lengths={lengths.tolist()})"
        args = (hs.clone(), lengths.clone(), V.clone(), b_o.clone())
        dtype = torch.float64 if seed == 2 else torch.float32
        got = call_hinted(name, HEAD_ERRORS, student_fn, *args, dtype=dtype)
        _tensor_result(name, case, got)
        mistakes = {
            "the last time step hs[:, -1] was used, but shorter sequences end earlier; "
            "take each sequence's own last valid step.": hs[:, -1] @ V.T + b_o,
            "off by one: the last valid state is at index lengths - 1, not lengths.": (
                hs[rows, lengths.clamp(max=T - 1)] @ V.T + b_o
            ),
            "off by one: lengths - 2 is the state before the last valid one.": (
                hs[rows, (lengths - 2).clamp(min=0)] @ V.T + b_o
            ),
            "the states were averaged over time; a many-to-one head reads the last "
            "valid state.": hs.mean(1) @ V.T + b_o,
            "the bias b_o is missing.": last @ V.T,
        }
        if K == H:
            mistakes["the readout V is transposed: with batch-first rows, V h is h @ V.T."] = (
                last @ V + b_o
            )
        compare(name, case, got, last @ V.T + b_o, mistakes=mistakes)
        if seed in (0, 2):
            check_gradients(name, f"case {seed + 1}", student_fn, args, wrt=("hs", "V", "b_o"))
    return len(cases)


# --- encoder-decoder: three ways of handing over the context ---------------------------------
SIZES = {
    "cannot be multiplied": "the encoder's and the decoder's sizes are mixed up: here the "
    "decoder's states are (B, D), the width of W_d, and C is (B, H); a product with a "
    "weight is written row-first, h @ W.T."
}
# how each hand-over gives the decoder C: (in words, starts from C, reads C at every step)
ROWS = {
    "state": ("starts from C and reads no input", True, False),
    "input": ("starts from zeros and reads C at every step", False, True),
    "both": ("starts from C and reads C at every step", True, True),
}


def _encoder_decoder_forward(x, W_e, U_e, b_e, W_d, U_d, b_d, steps, context="input"):
    """The reference encoder-decoder: decoder states (B, steps, D) for each hand-over of C."""
    check_choice(context, "context", tuple(ROWS))
    C = _rnn_forward(x, W_e, U_e, b_e)[:, -1]
    fed = C[:, None].expand(-1, steps, -1)
    if context == "state":
        fed = torch.zeros_like(fed)
    return _rnn_forward(fed, W_d, U_d, b_d, h0=None if context == "input" else C)


def _enc_dec_mistakes(context, hs, dec, steps) -> list[tuple[str, torch.Tensor]]:
    """The known wrong answers for one hand-over: [(message, decoder states)]."""
    W_d, U_d, b_d = dec
    _, start, fed = ROWS[context]
    same = hs.shape[2] == W_d.shape[0]  # only then can a decoder start from C

    def run(C, W=W_d, start=start, fed=fed, first_only=False):
        """Decoder states (B, steps, D) from C or zeros, fed C always, at step 1 only, or never."""
        inputs = C[:, None].repeat(1, steps, 1) * float(fed)
        if first_only:
            inputs[:, 1:] = 0
        return _loop(inputs, W, U_d, b_d, h0=C if start and same else None)

    C = hs[:, -1]
    out = {
        "the context is the encoder's FIRST state; it is the last, h(T).": run(hs[:, 0]),
        "the context is the mean of the encoder's states; it is the last, h(T).": run(hs.mean(1)),
        TRANSPOSED_W: run(C, W_d.T),
        "the decoder never sees the context: it must start from C, read it at every step, or "
        "both, as the context argument says.": run(C, start=False, fed=False),
    }
    if fed:
        out[
            "the context was fed only at the first decoder step; as an input it enters at "
            "every step."
        ] = run(C, first_only=True)
    if same:
        first = C if start else torch.zeros_like(C)
        out[
            "the states are shifted by one step: s(0) was returned first; return s(1) ... s(steps)."
        ] = torch.cat([first[:, None], run(C)[:, :-1]], 1)
        told = f'with context="{context}" the decoder {ROWS[context][0]}, but here it'
        for other, (how, s, f) in ROWS.items():
            if other != context:
                out[f'{told} {how} (the "{other}" row).'] = run(C, start=s, fed=f)
    return list(out.items())


@layer_exercise(_encoder_decoder_forward, sequences.EncoderDecoder)
def encoder_decoder_forward(student_fn) -> int:
    """Check ``encoder_decoder_forward(x, W_e, U_e, b_e, W_d, U_d, b_d, steps,
    context="input") -> states``.

    The encoder runs h(t) = tanh(W_e h(t-1) + U_e x(t) + b_e) from h(0) = 0; its last state
    is the context C. The decoder runs ``steps`` steps of s(k) = tanh(W_d s(k-1) + U_d C +
    b_d) from s(0) = 0 (``context="input"``), of s(k) = tanh(W_d s(k-1) + b_d) from s(0) = C
    (``"state"``; U_d unused), or of the first from s(0) = C (``"both"``); another
    ``context`` raises ``ValueError``.
    Shapes: x (B, T, I), W_e (H, H), U_e (H, I), b_e (H,), W_d (D, D), U_d (D, H),
    b_d (D,), with D = H for "state" and "both"; returns s(1) ... s(steps), (B, steps, D).
    """
    name = "encoder_decoder_forward"
    # (B, T, H, I, D, steps, context or None for the default, dtype)
    cases = [
        (3, 4, 3, 2, 3, 3, "input", torch.float32),
        (1, 3, 4, 3, 2, 5, "input", torch.float32),
        (4, 5, 3, 2, 3, 4, "state", torch.float32),
        (2, 3, 4, 3, 4, 2, "both", torch.float32),
        (3, 1, 2, 3, 2, 1, "both", torch.float64),
        (5, 2, 3, 4, 3, 6, "state", torch.float64),
        (2, 6, 3, 2, 3, 3, None, torch.float64),
    ]
    for seed, (B, T, H, I, D, steps, context, dtype) in enumerate(cases):
        g = generator(40 + seed)
        x = randn(g, B, T, I)
        enc = (randn(g, H, H, scale=0.8), randn(g, H, I), randn(g, H, scale=0.5))
        dec = (randn(g, D, D, scale=0.8), randn(g, D, H), randn(g, D, scale=0.5))
        hs = _loop(x, *enc)
        mode = context or "input"
        case = f"case {seed + 1} (B={B}, T={T}, H={H}, D={D}, steps={steps}, " + (
            f'context="{context}")' if context else 'context left at its default, "input")'
        )
        kwargs = {"context": context} if context else {}
        args = (x.clone(), *(p.clone() for p in enc), *(p.clone() for p in dec), steps)
        got = call_hinted(name, SIZES, student_fn, *args, dtype=dtype, **kwargs)
        _tensor_result(name, case, got)
        mistakes = _enc_dec_mistakes(mode, hs, dec, steps)
        if context is None:
            default = 'the default context is "input": without one, the decoder starts from 0.'
            for other in ("state", "both"):
                wrong = _encoder_decoder_forward(x, *enc, *dec, steps, context=other)
                mistakes.insert(0, (default, wrong))
        expected = _encoder_decoder_forward(x, *enc, *dec, steps, context=mode)
        hints = {(B, steps + 1, D): "the initial state s(0) was included."}
        compare(name, case, got, expected, mistakes=mistakes, shape_hints=hints)
        if seed in (0, 2, 3):  # the first case of each context
            wrt = ("x", "W_e", "U_e", "b_e", "W_d", "b_d") + ("U_d",) * (context != "state")
            check_gradients(name, f"case {seed + 1}", student_fn, args, kwargs=kwargs, wrt=wrt)
    _unknown_context_raises(student_fn)
    return len(cases) + 1


def _unknown_context_raises(student_fn) -> None:
    g = generator(49)
    args = (randn(g, 2, 3, 2), randn(g, 3, 3), randn(g, 3, 2), randn(g, 3))
    args += (randn(g, 3, 3), randn(g, 3, 3), randn(g, 3), 2)
    case = 'case with context="initial", not one of "state", "input", "both"'
    err = raised("encoder_decoder_forward", student_fn, *args, context="initial")
    if isinstance(err, ValueError):
        return
    if err is not None:
        raise CheckFailed(
            f"encoder_decoder_forward, {case}: raised {type(err).__name__} ({err}). An unknown "
            f"context must raise ValueError, with a message naming the three values it accepts."
        )
    raise CheckFailed(
        f"encoder_decoder_forward, {case}: returned a result. Likely mistake: an unknown "
        f"value falls through to one of the hand-overs; raise ValueError naming the three "
        f"values it accepts, so that a typo fails loudly."
    )


# --- the temporal softmax loss of a padded batch -------------------------------------------
def _masked_cross_entropy(logits, targets, lengths):
    """The reference loss: the mean of -log softmax(logits[b, t])[targets[b, t]] over the
    real steps t < lengths[b] of the batch."""
    mask = sequences.length_mask(lengths, logits.shape[1], batch_size=logits.shape[0])
    return F.cross_entropy(logits[mask], targets[mask])


LOSS_ERRORS = {
    "Expected target size": "the wrong axis for the classes: torch's cross-entropy reads the "
    "classes from dimension 1, the logits hold them in the last one.",
}
SHIFTED = (
    "the targets are shifted by one step against the logits; they are aligned already: "
    "targets[:, t] is the class for logits[:, t]."
)
TIME_AS_CLASSES = (
    "the wrong axis for the classes: torch's cross-entropy reads the classes from dimension 1, "
    "which is time here; the classes are the last dimension."
)


def _picked(log_probs, targets):
    """``log_probs[b, t, targets[b, t]]``, (B, T)."""
    return log_probs.gather(-1, targets[..., None])[..., 0]


def _loss_mistakes(logits, targets, lengths) -> list[tuple[str, torch.Tensor]]:
    """The known wrong losses for one case: [(message, loss)]."""
    B, T, V = logits.shape
    time = torch.arange(T)
    mask = time < lengths[:, None]
    nll = -_picked(logits.log_softmax(-1), targets)
    real = (nll * mask).sum()

    def mean(values, where=mask):
        return values[where].mean()

    mistakes = {
        "padding counted: the mean runs over all B*T steps, the padded ones too; average over "
        "the real steps t < lengths[b] only.": nll.mean(),
        "padding counted in the divisor: the padded steps are left out of the sum but counted "
        "in B*T; divide by the number of real steps.": real / (B * T),
        "mean per sequence instead of per real step: each sequence's mean was averaged, so a "
        "short sequence weighs as much as a long one; the loss is the mean over all real steps "
        "of the batch.": ((nll * mask).sum(1) / lengths).mean(),
        "the sum over the real steps was divided by the number of sequences B; the loss is the "
        "mean over the real steps.": real / B,
        "the loss is the sum over the real steps; it is their mean.": real,
        "one padded step per sequence was counted: the real steps of sequence b are t = 0, "
        "..., lengths[b] - 1.": mean(nll, time <= lengths[:, None]),
        "the wrong axis for the classes: the softmax ran over time (dimension 1); the classes "
        "are the last dimension, V.": mean(-_picked(logits.log_softmax(1), targets)),
        "log-softmax missing: the raw logits were read as log-probabilities; take the "
        "log-softmax over the classes first.": mean(-_picked(logits, targets)),
        "log-softmax missing: -p(target) was averaged, without the log; the loss is "
        "-log p(target).": mean(-_picked(logits.softmax(-1), targets)),
        "probabilities passed as logits: the softmax was applied twice (cross-entropy takes "
        "logits and applies its own log-softmax).": (
            mean(-_picked(logits.softmax(-1).log_softmax(-1), targets))
        ),
    }
    out = list(mistakes.items())
    if T > 1:
        log_probs = logits.log_softmax(-1)
        ahead = -_picked(log_probs[:, :-1], targets[:, 1:])
        behind = -_picked(log_probs[:, 1:], targets[:, :-1])
        shifts = [mean(ahead, mask[:, 1:]), mean(behind, mask[:, 1:]), mean(ahead, mask[:, :-1])]
        out += [(SHIFTED, loss) for loss in shifts]
    if T == V:  # torch's cross_entropy reads classes from dimension 1
        nll_t = -logits.log_softmax(1).gather(1, targets[:, None])[:, 0]
        out.append((TIME_AS_CLASSES, mean(nll_t)))
    return out


@exercise(
    "02", reference=_masked_cross_entropy, forbidden=(charmodel.next_char_loss,), gradients=True
)
def masked_cross_entropy(student_fn) -> int:
    """Check ``masked_cross_entropy(logits, targets, lengths) -> loss``: logits (B, T, V)
    float; targets (B, T) int64 class ids in 0 .. V-1, any id past a sequence's length
    (padding); lengths (B,) int64, each from 1 to T. Returns a 0-dim tensor, the mean of
    -log softmax(logits[b, t])[targets[b, t]] over the real steps t < lengths[b] of the
    whole batch (``F.cross_entropy`` over the real steps alone)."""
    name = "masked_cross_entropy"
    # (B, T, V, size of the logits, padding id or None for random ids, dtype);
    # case 2 has T = V; case 4 is shaped like 09's names, confident logits and pad id 0
    cases = [
        (3, 5, 4, 1.5, None, torch.float32),
        (4, 6, 6, 1.0, None, torch.float64),
        (1, 1, 3, 1.0, None, torch.float32),
        (5, 17, 30, 40.0, 0, torch.float32),
        (6, 8, 2, 3.0, None, torch.float32),
    ]
    for seed, (B, T, V, scale, pad, dtype) in enumerate(cases):
        g = generator(60 + seed)
        logits = randn(g, B, T, V, scale=scale)
        lengths = torch.randint(1, T + 1, (B,), generator=g)
        lengths[0] = T
        lengths[-1] = max(1, T // 2) if B > 1 else T
        targets = torch.randint(0, V, (B, T), generator=g)
        if pad is not None:
            targets[torch.arange(T)[None, :] >= lengths[:, None]] = pad
        case = f"case {seed + 1} (B={B}, T={T}, V={V}, lengths={lengths.tolist()})"
        if scale > 10:
            case += ", large logits"
        args = (logits.clone(), targets.clone(), lengths.clone())
        got = call_hinted(name, LOSS_ERRORS, student_fn, *args, dtype=dtype)
        _tensor_result(name, case, got)
        expected = _masked_cross_entropy(logits, targets, lengths)
        mistakes = _loss_mistakes(logits, targets, lengths)
        hints = {
            (B,): "one loss per sequence was returned; the loss is one number, the mean "
            "over every real step of the batch.",
            (B, T): "the per-step losses were returned; average them over the real steps.",
        }
        compare(name, case, got, expected, mistakes=mistakes, shape_hints=hints)
        if seed in (0, 3):
            check_gradients(name, f"case {seed + 1}", student_fn, args, wrt=("logits",))
    return len(cases)
