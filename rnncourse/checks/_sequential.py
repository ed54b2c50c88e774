"""Checkers for notebook 04: teacher-forced inputs, free running, an output-feedback network."""

from __future__ import annotations

from types import SimpleNamespace

import torch

from .._random import generator
from ._contract import call
from ._framework import StudentCodeError, compare, exercise, randn, torch_module

WRONG_WAY = (
    "the targets are shifted the wrong way: the input at step t is the PREVIOUS target "
    "(start token first), so the model never sees the token it must predict."
)
NO_SHIFT = "the targets were not shifted: the model would be fed the very token it predicts."


def _teacher_forced_inputs(targets, start):
    """The reference: ``start`` (broadcast to one step), then ``targets[:, :-1]``."""
    return torch.cat([torch.full_like(targets[:, :1], start), targets[:, :-1]], 1)


@exercise("04", reference=_teacher_forced_inputs)
def teacher_forced_inputs(student_fn) -> int:
    """Check ``teacher_forced_inputs(targets, start) -> inputs``.

    targets (B, T) int64 token ids, or (B, T, D) float vectors as notebook 04 feeds back;
    start, a number. Returns inputs of the targets' shape and dtype with
    inputs[:, 0] = start and inputs[:, t] = targets[:, t - 1] (targets shifted right).
    """
    cases = [(2, 5, 0, 0), (3, 4, 7, 0), (1, 6, 3, 0), (2, 4, 0.0, 3)]
    for seed, (B, T, start, D) in enumerate(cases):
        g = generator(80 + seed)
        if D:  # vectors: the output fed back in notebook 04
            targets = randn(g, B, T, D).float()
        else:
            targets = torch.randint(1, 10, (B, T), generator=g)
        col = torch.full_like(targets[:, :1], start)
        shape = f"B={B}, T={T}" + (f", D={D} (vectors)" if D else "")
        try:
            got = call("teacher_forced_inputs", student_fn, targets.clone(), start)
        except StudentCodeError as err:
            if not D:
                raise
            raise StudentCodeError(
                f"{err}\n  In case {seed + 1} ({shape}). Likely mistake: a start column "
                f"shaped (B, 1) fits token ids (B, T) only; shape it like one time step of "
                f"the targets, torch.full_like(targets[:, :1], start)."
            ) from err.__cause__
        compare(
            "teacher_forced_inputs",
            f"case {seed + 1} ({shape}, start={start})",
            got,
            torch.cat([col, targets[:, :-1]], 1),
            mistakes={
                WRONG_WAY: torch.cat([targets[:, 1:], col], 1),
                NO_SHIFT: targets,
                "torch.roll wraps the last target around to the front; put the start "
                "token there instead.": targets.roll(1, dims=1),
            },
            shape_hints={
                (B, T - 1, *targets.shape[2:]): "the start token is missing: prepend it and "
                "drop the last target.",
                (B, T + 1, *targets.shape[2:]): "the last target was not dropped; inputs has "
                "T steps.",
            },
        )
    return len(cases)


def _step_fn(g: torch.Generator, D: int, H: int):
    """A small deterministic model: (x (B, D), h (B, H) or None) -> (y (B, D), h)."""
    cell = torch_module(g, torch.nn.RNNCell, D, H, scale=0.8)
    out = torch_module(g, torch.nn.Linear, H, D, scale=0.8)

    @torch.no_grad()
    def step(x, h=None):  # computed in float64, returned in the dtype of x
        h = cell(x.double(), None if h is None else h.double())
        return out(h).to(x.dtype), h.to(x.dtype)

    return step


def _free_run(step, first, steps, bug=""):
    x, h, ys = first, None, []
    for _ in range(steps):
        y, h_new = step(first if bug == "no_feedback" else x, None if bug == "reset" else h)
        h = h_new
        ys.append(y)
        x = y
    ys = torch.stack(ys, 1)
    if bug == "with_first":
        ys = torch.cat([first[:, None], ys[:, :-1]], 1)
    return ys


@exercise("04", reference=_free_run)
def free_running(student_fn) -> int:
    """Check ``free_running(step_fn, first, steps) -> ys``.

    ``step_fn(x, h) -> (y, h)`` takes an input x (B, D) and a state h (``None`` at the
    start) and returns an output y (B, D) and the new state. Starting from ``first``
    (B, D), each output is fed back as the next input. Returns ys (B, steps, D).
    """
    cases = [(2, 3, 4, 5), (1, 2, 3, 4), (3, 4, 2, 6)]
    for seed, (B, D, H, steps) in enumerate(cases):
        g = generator(90 + seed)
        step, first = _step_fn(g, D, H), randn(g, B, D)
        got = call("free_running", student_fn, step, first.clone(), steps)
        compare(
            "free_running",
            f"case {seed + 1} (B={B}, D={D}, steps={steps})",
            got,
            _free_run(step, first, steps),
            mistakes={
                "the outputs are not fed back: every step got `first` as its input.": (
                    _free_run(step, first, steps, "no_feedback")
                ),
                "the state is not carried: pass the h returned by the last step.": (
                    _free_run(step, first, steps, "reset")
                ),
                "`first` was returned as the first output; ys holds the model's "
                "outputs only.": _free_run(step, first, steps, "with_first"),
            },
            shape_hints={
                (B, steps + 1, D): "`first` was included; ys holds the `steps` outputs.",
                (steps, B, D): "the result is time-first; stack along dim=1.",
            },
        )
    return len(cases)


def _output_feedback(net, x, y_prev=None, y0=None):
    """The reference, from the weights of ``net`` (U (H, I), R (H, O), b (H,), V (O, H), b_o (O,)).

    Teacher forced when ``y_prev`` (B, T, O) is given: every step at once. Otherwise free
    running from ``y0`` (B, O) (zeros if None), each output fed back. Returns o (B, T, O).
    """
    if y_prev is not None:
        return torch.tanh(x @ net.U.T + y_prev @ net.R.T + net.b) @ net.V.T + net.b_o
    y = x.new_zeros(x.shape[0], net.V.shape[0]) if y0 is None else y0
    outputs = []
    for t in range(x.shape[1]):
        y = torch.tanh(x[:, t] @ net.U.T + y @ net.R.T + net.b) @ net.V.T + net.b_o
        outputs.append(y)
    return torch.stack(outputs, dim=1)


def _torch_network(g: torch.Generator, I: int, O: int, H: int):
    """torch.nn.Linear layers for U x + b, R y and V h + b_o, and their weights by name."""
    inp = torch_module(g, torch.nn.Linear, I, H)
    rec = torch_module(g, torch.nn.Linear, O, H, bias=False)
    out = torch_module(g, torch.nn.Linear, H, O)
    names = {"U": inp.weight, "b": inp.bias, "R": rec.weight, "V": out.weight, "b_o": out.bias}
    return (inp, rec, out), {k: v.detach() for k, v in names.items()}


@torch.no_grad()
def _torch_run(layers, x, y_prev=None, y0=None, bug=""):
    """The network on torch.nn.Linear layers; ``bug`` names a typical mistake."""
    inp, rec, out = layers
    act = (lambda a: a) if bug == "no_tanh" else torch.tanh
    if y_prev is not None and bug != "tf_free":
        if bug == "tf_shifted":  # the already shifted outputs shifted once more
            y_prev = torch.cat([torch.zeros_like(y_prev[:, :1]), y_prev[:, :-1]], 1)
        return out(act(inp(x) + rec(y_prev)))
    first = x.new_zeros(x.shape[0], out.out_features) if y0 is None else y0
    y, outputs = first, []
    for t in range(x.shape[1]):
        y_new = out(act(inp(x[:, t]) + rec(first if bug == "no_feedback" else y)))
        outputs.append(y_new)
        y = y_new
    outputs = torch.stack(outputs, dim=1)
    if bug == "with_first":
        outputs = torch.cat([first[:, None], outputs[:, :-1]], 1)
    return outputs


@exercise("04", reference=_output_feedback)
def output_feedback(student_fn) -> int:
    """Check ``output_feedback(net, x, y_prev=None, y0=None) -> o``.

    h(t) = tanh(U x(t) + R y(t-1) + b), o(t) = V h(t) + b_o, with the weights read from
    ``net.U`` (H, I), ``net.R`` (H, O), ``net.b`` (H,), ``net.V`` (O, H), ``net.b_o`` (O,);
    x (B, T, I). With ``y_prev`` (B, T, O), the true previous outputs, it is teacher
    forced: all steps at once. Without, it runs free from ``y0`` (B, O) (zeros if None),
    feeding back o(t-1). Returns o (B, T, O). Compared with torch.nn.Linear layers.
    """
    cases = [(2, 5, 1, 2, 6), (3, 4, 2, 1, 4), (1, 6, 3, 3, 5)]
    for seed, (B, T, I, O, H) in enumerate(cases):
        g = generator(160 + seed)
        layers, weights = _torch_network(g, I, O, H)
        net = SimpleNamespace(**{k: v.float() for k, v in weights.items()})  # as in a notebook
        x, y_prev, y0 = randn(g, B, T, I), randn(g, B, T, O), randn(g, B, O)
        case = f"case {seed + 1} (B={B}, T={T}, I={I}, O={O}, H={H})"
        mistakes = {
            "the tanh is missing: h(t) = tanh(U x(t) + R y(t-1) + b).": "no_tanh",
            "with y_prev given, every step must read the TRUE previous output y_prev[:, t]; "
            "this fed back the network's own outputs.": "tf_free",
            "y_prev was shifted again: y_prev[:, t] already is y(t-1), so use it as it "
            "is.": "tf_shifted",
            "the outputs are not fed back: every step read y0 instead of o(t-1).": "no_feedback",
            "y0 was returned as the first output; return the T outputs o(1)..o(T).": "with_first",
        }
        shape_hints = {
            (B, O): "only the last step was returned; return all T steps.",
            (B, T + 1, O): "y0 was included; return the T outputs o(1)..o(T).",
            (T, B, O): "the result is time-first; stack along dim=1.",
        }
        for mode, given in (("teacher forced", {"y_prev": y_prev}), ("free running", {"y0": y0})):
            as_float32 = {k: v.float() for k, v in given.items()}
            got = call("output_feedback", student_fn, net, x.clone(), **as_float32)
            compare(
                "output_feedback",
                case,
                got,
                _torch_run(layers, x, **given),
                what=mode,
                mistakes={m: _torch_run(layers, x, **given, bug=b) for m, b in mistakes.items()},
                shape_hints=shape_hints,
            )
    return len(cases)
