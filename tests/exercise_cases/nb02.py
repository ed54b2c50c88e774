"""Right and wrong answers for notebook 02: a summary head, an encoder-decoder with three
hand-overs of its context, the temporal softmax loss of a padded batch, stacked layers and
a bidirectional join."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rnncourse import charmodel, sequences
from rnncourse import stacked as stacked_layers

from .nb01 import rnn_forward

# --- many_to_one_head ----------------------------------------------------------------------


def many_to_one(hs, lengths, V, c, mode="right"):
    rows = torch.arange(hs.shape[0])
    if mode == "last":
        h = hs[:, -1]
    elif mode == "mean":
        h = hs.mean(1)
    elif mode == "off_by_one":
        h = hs[rows, lengths]
    elif mode == "in_place":
        lengths -= 1
        h = hs[rows, lengths]
    elif mode == "detach":
        h = hs[rows, lengths - 1].detach()
    else:
        h = hs[rows, lengths - 1]
    out = h @ (V if mode == "transpose" else V.T) + (0 if mode == "nobias" else c)
    return out.detach() if mode == "detach_out" else out


def many_to_one_gather(hs, lengths, V, b_o):
    index = (lengths - 1)[:, None, None].expand(-1, 1, hs.shape[2])
    return F.linear(hs.gather(1, index)[:, 0], V, b_o)


def many_to_one_loop(hs, lengths, V, b_o):
    rows = [hs[b, int(n) - 1] for b, n in enumerate(lengths)]
    return torch.stack([V @ h + b_o for h in rows])


def many_to_one_mask(hs, lengths, V, b_o):
    pick = F.one_hot(lengths - 1, hs.shape[1]).to(hs.dtype)  # (B, T), 1 at the last step
    return torch.einsum("bt,bth->bh", pick, hs) @ V.T + b_o


def many_to_one_float64(hs, lengths, V, b_o):
    return many_to_one(hs.double(), lengths, V.double(), b_o.double())


# --- encoder_decoder_forward ---------------------------------------------------------------


def enc_dec(x, W_e, U_e, b_e, W_d, U_d, b_d, steps, context="input", mode="right"):
    if context not in ("state", "input", "both"):
        raise ValueError(f"context must be 'state', 'input' or 'both', got {context!r}")
    hs = rnn_forward(x, W_e, U_e, b_e)
    ctx = {"first": hs[:, 0], "mean": hs.mean(1)}.get(mode, hs[:, -1])
    if mode == "detach_context":
        ctx = ctx.detach()
    start = ctx if context != "input" else x.new_zeros(x.shape[0], W_d.shape[0])
    if mode == "start_zero":
        start = x.new_zeros(x.shape[0], W_d.shape[0])
    feed = context != "state"
    if mode == "swap_rows":
        feed = not feed
    s, out = start, []
    for k in range(steps):
        inp = ctx if feed and (k == 0 or mode != "once") else torch.zeros_like(ctx)
        s = torch.tanh(s @ (W_d if mode == "transpose" else W_d.T) + inp @ U_d.T + b_d)
        out.append(s)
    if mode == "shifted":
        out = [start] + out[:-1]
    return torch.stack(out, 1)


def enc_dec_torch_style(x, W_e, U_e, b_e, W_d, U_d, b_d, steps, context="input"):
    """Written with the `match` statement, F.linear and a list of states."""
    match context:
        case "state" | "input" | "both":
            pass
        case _:
            raise ValueError("context must be one of 'state', 'input', 'both'")
    h = torch.zeros(x.shape[0], W_e.shape[0], dtype=x.dtype)
    for t in range(x.shape[1]):
        h = torch.tanh(F.linear(h, W_e) + F.linear(x[:, t], U_e, b_e))
    drive = b_d + (F.linear(h, U_d) if context != "state" else 0)
    s = h if context != "input" else torch.zeros(x.shape[0], W_d.shape[0], dtype=x.dtype)
    states = []
    for _ in range(steps):
        s = torch.tanh(F.linear(s, W_d) + drive)
        states += [s]
    return torch.stack(states, dim=1)


def enc_dec_expand(x, W_e, U_e, b_e, W_d, U_d, b_d, steps, context="input"):
    """The decoder as one more rnn_forward over C repeated, as the notebook's model did."""
    if context not in {"state", "input", "both"}:
        raise ValueError(context)
    C = rnn_forward(x, W_e, U_e, b_e)[:, -1]
    fed = C[:, None].expand(-1, steps, -1)
    if context == "state":
        fed = fed * 0
    return rnn_forward(fed, W_d, U_d, b_d, None if context == "input" else C)


def enc_dec_no_check(x, W_e, U_e, b_e, W_d, U_d, b_d, steps, context="input"):
    """Any context that is not "state" or "both" runs as "input"."""
    mode = context if context in ("state", "both") else "input"
    return enc_dec(x, W_e, U_e, b_e, W_d, U_d, b_d, steps, context=mode)


def enc_dec_key_error(x, W_e, U_e, b_e, W_d, U_d, b_d, steps, context="input"):
    start, feed = {"state": (True, False), "input": (False, True), "both": (True, True)}[context]
    return enc_dec(x, W_e, U_e, b_e, W_d, U_d, b_d, steps, context=context)


def enc_dec_default_both(x, W_e, U_e, b_e, W_d, U_d, b_d, steps, context="both"):
    return enc_dec(x, W_e, U_e, b_e, W_d, U_d, b_d, steps, context=context)


def enc_dec_encoder_width(x, W_e, U_e, b_e, W_d, U_d, b_d, steps, context="input"):
    """The decoder starts from zeros of the encoder's width (right only when D = H)."""
    h = rnn_forward(x, W_e, U_e, b_e)[:, -1]
    s, out = (h if context != "input" else torch.zeros_like(h)), []
    for _ in range(steps):
        s = torch.tanh(s @ W_d.T + (h @ U_d.T if context != "state" else 0) + b_d)
        out.append(s)
    return torch.stack(out, 1)


def enc_dec_in_place(x, W_e, U_e, b_e, W_d, U_d, b_d, steps, context="input"):
    out = enc_dec(x, W_e, U_e, b_e, W_d, U_d, b_d, steps, context=context)
    b_d += 0  # an augmented assignment on an argument writes into it
    return out


def enc_dec_torch_rnn(x, W_e, U_e, b_e, W_d, U_d, b_d, steps, context="input"):
    rnn = torch.nn.RNN(x.shape[2], W_e.shape[0], batch_first=True).to(x.dtype)
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(W_e)
        rnn.weight_ih_l0.copy_(U_e)
        rnn.bias_ih_l0.copy_(b_e)
        rnn.bias_hh_l0.zero_()
    rnn(x)
    return enc_dec(x, W_e, U_e, b_e, W_d, U_d, b_d, steps, context=context)


def _enc_dec_mode(mode):
    def answer(x, W_e, U_e, b_e, W_d, U_d, b_d, steps, context="input"):
        return enc_dec(x, W_e, U_e, b_e, W_d, U_d, b_d, steps, context=context, mode=mode)

    return answer


def _enc_dec_as(row):
    """An answer that runs one hand-over whatever context asks for."""

    def answer(x, W_e, U_e, b_e, W_d, U_d, b_d, steps, context="input"):
        if context not in ("state", "input", "both"):
            raise ValueError(context)
        return enc_dec(x, W_e, U_e, b_e, W_d, U_d, b_d, steps, context=row)

    return answer


# --- masked_cross_entropy ----------------------------------------------------------------


def masked_ce(logits, targets, lengths, mode="right"):
    B, T, V = logits.shape
    mask = torch.arange(T) < lengths[:, None]
    if mode == "one_extra":
        mask = torch.arange(T) <= lengths[:, None]
    log_p = logits.log_softmax(-1)
    if mode == "no_log_softmax":
        log_p = logits
    elif mode == "time_axis":
        log_p = logits.log_softmax(1)
    elif mode == "naive":
        log_p = torch.log(torch.exp(logits) / torch.exp(logits).sum(-1, keepdim=True))
    nll = -log_p.gather(-1, targets[..., None])[..., 0]
    if mode == "shift":
        nll, mask = -log_p[:, :-1].gather(-1, targets[:, 1:, None])[..., 0], mask[:, 1:]
    if mode == "all_steps":
        return nll.mean()
    if mode == "per_sequence":
        return ((nll * mask).sum(1) / mask.sum(1)).mean()
    if mode == "by_B":
        return (nll * mask).sum() / B
    if mode == "by_BT":
        return (nll * mask).sum() / (B * T)
    if mode == "sum":
        return (nll * mask).sum()
    if mode == "detach":
        return ((nll * mask).sum() / mask.sum()).detach()
    if mode == "item":
        return ((nll * mask).sum() / mask.sum()).item()
    return (nll * mask).sum() / mask.sum()


def masked_ce_select(logits, targets, lengths):
    """The real steps picked out with a boolean mask, then torch's cross-entropy."""
    keep = torch.arange(logits.shape[1])[None, :] < lengths[:, None]
    return F.cross_entropy(logits[keep], targets[keep])


def masked_ce_ignore_index(logits, targets, lengths):
    """Padding marked with torch's ignore_index on a copy of the targets."""
    keep = sequences.length_mask(lengths, logits.shape[1])
    return F.cross_entropy(logits.transpose(1, 2), targets.masked_fill(~keep, -100))


def masked_ce_weighted(logits, targets, lengths):
    """Per-step losses weighted by the mask, divided by the number of real steps."""
    per_step = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none")
    weight = (torch.arange(logits.shape[1]) < lengths[:, None]).flatten().to(logits.dtype)
    return (per_step * weight).sum() / lengths.sum()


def masked_ce_loop(logits, targets, lengths):
    """One sequence at a time, summed, then divided by the total length."""
    total = logits.new_zeros(())
    for b in range(logits.shape[0]):
        n = int(lengths[b])
        total = total + F.nll_loss(logits[b, :n].log_softmax(-1), targets[b, :n], reduction="sum")
    return total / lengths.sum()


def masked_ce_logsumexp(logits, targets, lengths):
    """-log p = logsumexp(logits) - logit of the target."""
    nll = logits.logsumexp(-1) - logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    mask = torch.arange(logits.shape[1]).expand(len(lengths), -1) < lengths.unsqueeze(1)
    return nll.masked_select(mask).mean()


def masked_ce_detached_normaliser(logits, targets, lengths):
    """Log-probabilities with the normaliser taken out of the graph: right values only."""
    log_p = logits - logits.logsumexp(-1, keepdim=True).detach()
    picked = log_p.gather(-1, targets[..., None])[..., 0]
    keep = torch.arange(logits.shape[1]) < lengths[:, None]
    return -picked[keep].mean()


def masked_ce_in_place(logits, targets, lengths):
    mask = torch.arange(logits.shape[1]) < lengths[:, None]
    targets[~mask] = 0  # padding set to a class in the caller's tensor
    return masked_ce_select(logits, targets, lengths)


def masked_ce_torch_axis(logits, targets, lengths):
    """torch's cross-entropy handed (B, T, V) logits: it reads dimension 1 as the classes."""
    per_step = F.cross_entropy(logits, targets, reduction="none")
    mask = torch.arange(logits.shape[1]) < lengths[:, None]
    return per_step[mask].mean()


def masked_ce_softmax_twice(logits, targets, lengths):
    return masked_ce_select(logits.softmax(-1), targets, lengths)


def masked_ce_float64(logits, targets, lengths):
    return masked_ce_select(logits.double(), targets, lengths)


def masked_ce_course(logits, targets, lengths):
    keep = torch.arange(logits.shape[1]) < lengths[:, None]
    return charmodel.next_char_loss(logits, targets.masked_fill(~keep, 0))


# --- stacked_forward -----------------------------------------------------------------------


def stacked(x, layers, mode="right"):
    hs = [x.new_zeros(x.shape[0], W.shape[0]) for W, _, _ in layers]
    if mode == "shared":
        layers = [layers[0]] * len(layers)
    outputs = []
    for t in range(x.shape[1]):
        below = x[:, t]
        for k, (W, U, b) in enumerate(layers):
            previous = hs[k] if mode != "no_carry" else torch.zeros_like(hs[k])
            hs[k] = torch.tanh(previous @ W.T + below @ U.T + b)
            below = x[:, t] if mode == "x_everywhere" else hs[k]
            if mode == "detach_between":
                below = below.detach()
        outputs.append(hs[0] if mode == "first_layer" else hs[-1])
    h_n = torch.stack(hs)
    if mode == "top_only":
        h_n = hs[-1]
    if mode == "squeeze":
        h_n = h_n.squeeze(0)  # (B, H) when L = 1
    return torch.stack(outputs, dim=1), h_n


def stacked_by_layer(x, layers):
    """Layer by layer with rnn_forward: the same numbers as step by step."""
    finals = []
    for W, U, b in layers:
        x = rnn_forward(x, W, U, b)
        finals.append(x[:, -1])
    return x, torch.stack(finals)


def stacked_cells(x, layers):
    """Step by step with torch.nn.functional.linear and a dict of states."""
    state = {
        k: torch.zeros(x.shape[0], len(layer[0]), dtype=x.dtype) for k, layer in enumerate(layers)
    }
    top = []
    for x_t in x.unbind(1):
        inp = x_t
        for k, (W, U, b) in enumerate(layers):
            state[k] = torch.tanh(F.linear(state[k], W) + F.linear(inp, U, b))
            inp = state[k]
        top.append(inp)
    return torch.stack(top, 1), torch.stack([state[k] for k in range(len(layers))], 0)


def stacked_torch(x, layers):
    rnn = torch.nn.RNN(
        x.shape[2], layers[0][0].shape[0], num_layers=len(layers), batch_first=True
    ).to(x.dtype)
    with torch.no_grad():
        for k, (W, U, b) in enumerate(layers):
            getattr(rnn, f"weight_hh_l{k}").copy_(W)
            getattr(rnn, f"weight_ih_l{k}").copy_(U)
            getattr(rnn, f"bias_ih_l{k}").copy_(b)
            getattr(rnn, f"bias_hh_l{k}").zero_()
    return rnn(x)


def stacked_course(x, layers):
    from rnncourse.cells import RNNCell

    cells = []
    for W, U, b in layers:
        cell = RNNCell(U.shape[1], W.shape[0]).to(x.dtype)
        with torch.no_grad():
            cell.W.copy_(W)
            cell.U.copy_(U)
            cell.b_x.copy_(b)
            cell.b_h.zero_()
        cells.append(cell)
    hs, finals = stacked_layers.Stacked(cells)(x)
    return hs, torch.stack(finals)


def stacked_in_place(x, layers):
    hs, h_n = stacked(x, layers)
    layers[0][2].mul_(1.0)
    return hs, h_n


# --- bidirectional_concat ------------------------------------------------------------------


def bidirectional_index(h_fwd, h_bwd):
    back = h_bwd[:, torch.arange(h_bwd.shape[1] - 1, -1, -1)]
    return torch.cat((h_fwd, back), dim=2)


def bidirectional_loop(h_fwd, h_bwd):
    T = h_fwd.shape[1]
    return torch.stack([torch.cat([h_fwd[:, t], h_bwd[:, T - 1 - t]], -1) for t in range(T)], 1)


CASES = {
    "many_to_one_head": (
        many_to_one,
        [
            (lambda *a: many_to_one(*a, mode="last"), "hs[:, -1]"),
            (lambda *a: many_to_one(*a, mode="mean"), "averaged"),
            (lambda *a: many_to_one(*a, mode="nobias"), "bias b_o is missing"),
            (lambda *a: many_to_one(*a, mode="transpose"), "readout V is transposed"),
            (lambda *a: many_to_one(*a, mode="off_by_one"), "index T - 1"),
            (lambda *a: many_to_one(*a, mode="in_place"), "changed its input `lengths`"),
            (lambda *a: many_to_one(*a, mode="detach"), "no gradient reaches hs"),
            (lambda *a: many_to_one(*a, mode="detach_out"), "no gradient reaches any input"),
            (many_to_one_float64, "returned result as torch.float64 for torch.float32"),
            (lambda *a: many_to_one(*a).tolist(), "not a torch tensor"),
        ],
    ),
    "encoder_decoder_forward": (
        enc_dec,
        [
            (_enc_dec_mode("first"), "FIRST state"),
            (_enc_dec_mode("mean"), "mean of the encoder's states"),
            (_enc_dec_mode("once"), "only at the first decoder step"),
            (_enc_dec_mode("transpose"), "transposed"),
            (_enc_dec_mode("shifted"), "shifted by one step"),
            (_enc_dec_mode("start_zero"), "never sees the context"),
            (_enc_dec_mode("detach_context"), "no gradient reaches x"),
            (_enc_dec_as("both"), 'the "both" row'),
            (_enc_dec_as("state"), 'the "state" row'),
            (_enc_dec_as("input"), 'the "input" row'),
            (enc_dec_no_check, "returned a result"),
            (enc_dec_key_error, "raised KeyError"),
            (enc_dec_default_both, "the default context is"),
            (enc_dec_in_place, "changed its input `b_d` in place"),
            (enc_dec_encoder_width, "sizes are mixed up"),
            (enc_dec_torch_rnn, "torch.nn.modules.rnn.RNN"),
        ],
    ),
    "masked_cross_entropy": (
        masked_ce,
        [
            (lambda *a: masked_ce(*a, mode="all_steps"), "the mean runs over all B*T steps"),
            (lambda *a: masked_ce(*a, mode="by_BT"), "counted in B*T"),
            (lambda *a: masked_ce(*a, mode="per_sequence"), "mean per sequence"),
            (lambda *a: masked_ce(*a, mode="by_B"), "number of sequences B"),
            (lambda *a: masked_ce(*a, mode="sum"), "the sum over the real steps; it is"),
            (lambda *a: masked_ce(*a, mode="one_extra"), "one padded step per sequence"),
            (lambda *a: masked_ce(*a, mode="time_axis"), "softmax ran over time"),
            (masked_ce_torch_axis, "reads the classes from dimension 1"),
            (lambda *a: masked_ce(*a, mode="no_log_softmax"), "raw logits"),
            (masked_ce_softmax_twice, "probabilities passed as logits"),
            (lambda *a: masked_ce(*a, mode="shift"), "targets are shifted"),
            (lambda *a: masked_ce(*a, mode="naive"), "nan or inf"),
            (lambda *a: masked_ce(*a, mode="detach"), "no gradient reaches"),
            (masked_ce_detached_normaliser, "differs from autograd's"),
            (lambda *a: masked_ce(*a, mode="item"), "not a torch tensor"),
            (masked_ce_in_place, "changed its input `targets`"),
            (masked_ce_float64, "as torch.float64 for torch.float32"),
            (masked_ce_course, "next_char_loss"),
        ],
    ),
    "stacked_forward": (
        stacked,
        [
            (lambda *a: stacked(*a, mode="x_everywhere"), "every layer was fed x"),
            (lambda *a: stacked(*a, mode="first_layer"), "first layer's states"),
            (lambda *a: stacked(*a, mode="shared"), "weights of layer 1"),
            (lambda *a: stacked(*a, mode="top_only"), "only the top layer's last state"),
            (lambda *a: stacked(*a, mode="squeeze"), "lost its layer dimension"),
            (lambda *a: stacked(*a, mode="no_carry"), "not carried from step to step"),
            (lambda *a: stacked(*a, mode="detach_between"), "differs from autograd's"),
            (stacked_in_place, "changed its input `layers[0][2]`"),
            (stacked_torch, "torch.nn.modules.rnn.RNN"),
            (stacked_course, "rnncourse.stacked.Stacked"),
        ],
    ),
    "bidirectional_concat": (
        lambda f, b: torch.cat([f, b.flip(1)], -1),
        [
            (lambda f, b: torch.cat([f, b], -1), "not reversed"),
            (lambda f, b: torch.cat([b.flip(1), f], -1), "wrong order"),
            (lambda f, b: torch.cat([f.flip(1), b], -1), "h_fwd was reversed"),
            (lambda f, b: torch.cat([f, b.flip(1)], 1), "along time"),
            (lambda f, b: torch.cat([f, b.flip(1).detach()], -1), "no gradient reaches h_bwd"),
        ],
    ),
}

RIGHT = {
    "many_to_one_head": [many_to_one_gather, many_to_one_loop, many_to_one_mask],
    "encoder_decoder_forward": [enc_dec_torch_style, enc_dec_expand],
    "masked_cross_entropy": [
        masked_ce_select,
        masked_ce_ignore_index,
        masked_ce_weighted,
        masked_ce_loop,
        masked_ce_logsumexp,
    ],
    "stacked_forward": [stacked_by_layer, stacked_cells],
    "bidirectional_concat": [bidirectional_index, bidirectional_loop],
}
