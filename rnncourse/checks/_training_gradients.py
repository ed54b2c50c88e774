"""Checkers for notebook 05's training sections: clipping, and the gradient's norm by lag."""

import inspect

import torch
import torch.nn.functional as F

from .. import bptt, cells, sequences, training
from .._random import generator
from ._contract import IN_PLACE, call
from ._framework import CheckFailed, StudentCodeError, compare, exercise, randn
from ._stability import OTHER_DTYPE, with_hint


def _clip_global_norm(grads, max_norm):
    """The reference: the course's in-place clipping, applied to copies held as gradients."""
    params = [torch.zeros_like(g, requires_grad=True) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = g.detach().clone()
    training.clip_grad_norm(params, max_norm)
    return [p.grad for p in params]


@exercise(
    "05",
    reference=_clip_global_norm,
    forbidden=(
        *(  # torch's clipping helpers; the last two are newer than torch 2.1, the lower bound
            (inspect.unwrap(getattr(torch.nn.utils, name)), f"torch.nn.utils.{name}")
            for name in ("clip_grad_norm_", "clip_grads_with_norm_", "get_total_norm")
            if hasattr(torch.nn.utils, name)
        ),
        (inspect.unwrap(training.clip_grad_norm), "training.clip_grad_norm, the course's"),
        (inspect.unwrap(training.global_grad_norm), "training.global_grad_norm, the course's"),
    ),
)
def clip_global_norm(student_fn) -> int:
    """Check ``clip_global_norm(grads, max_norm) -> clipped``, a new list like grads (tensors of
    any shapes, 0-d too): above max_norm, the global norm of all entries together scales
    every tensor by max_norm / (norm + 1e-6), as torch's clip_grad_norm_."""
    name, f32, f64 = "clip_global_norm", torch.float32, torch.float64
    cases = [
        ([(3, 4), (4,)], 1.0, 3.0, f32),
        ([(2, 2), (5,), (2, 3)], 2.0, 1.0, f32),
        ([(6,)], 20.0, 0.5, f32),
        ([(), (3,), (2, 2, 2)], 0.5, 1.0, f64),
        ([(4,)] * 5, 3, 2.0, f32),
        ([(3,), (2,)], 1e-4, 1e-4, f64),  # small gradients, where the 1e-6 counts
    ]
    for seed, (shapes, max_norm, scale, dtype) in enumerate(cases):
        g = generator(140 + seed)
        grads = [randn(g, *(s or (1,)), scale=scale).reshape(s) for s in shapes]
        grads[-1] = grads[-1] * 4  # one tensor much larger than the others
        params = [torch.nn.Parameter(torch.zeros_like(gr)) for gr in grads]
        for p, gr in zip(params, grads, strict=True):
            p.grad = gr.clone()
        torch.nn.utils.clip_grad_norm_(params, max_norm)
        given = [gr.clone().to(dtype) for gr in grads]
        kept = list(given)
        got = call(name, student_fn, given, max_norm, dtype=None)
        case = (
            f"case {seed + 1} (shapes {shapes}, max_norm={max_norm}{', float64' * (dtype == f64)})"
        )
        if len(given) != len(kept) or any(a is not b for a, b in zip(given, kept, strict=True)):
            raise CheckFailed(
                f"{name}, {case}: the list `grads` was changed in place (its "
                f"tensors replaced). Likely mistake: an assignment into the given list. {IN_PLACE}"
            )
        if not isinstance(got, list | tuple) or len(got) != len(grads):
            raise CheckFailed(
                f"{name}, {case}: expected a list of {len(grads)} tensors, got "
                f"{type(got).__name__} {got!r:.60}."
            )
        norms = [gr.norm() for gr in grads]
        total = float(torch.stack(norms).norm())

        def factor(norm, eps=1e-6, to=max_norm):  # the clipping factor, at most 1
            return min(1.0, to / (norm + eps))

        factors = {  # message: the factor of a wrong clipping, for all tensors or one each
            "each tensor was clipped on its own; clip by the GLOBAL norm of all tensors "
            "together, so their directions stay consistent.": [factor(float(n)) for n in norms],
            "small gradients were scaled up; only scale when the norm exceeds max_norm (a "
            "factor of at most 1).": max_norm / (total + 1e-6),
            "the norms of the tensors were added; the global norm is the square root of the "
            "sum of their squares.": factor(float(sum(norms))),
            "the square root is missing: the norm is the root of the sum of squares.": (
                factor(total**2)
            ),
            "the 1e-6 of the denominator is missing or subtracted: the factor divides by "
            "the norm plus 1e-6, as torch's clipping does (it counts for small "
            "gradients).": factor(total, eps=0),
            "the gradients were scaled to norm 1; the factor brings them to max_norm.": (
                factor(total, to=1.0)
            ),
        }
        for k, (mine, p) in enumerate(zip(got, params, strict=True)):
            mistakes = {
                m: grads[k] * (f[k] if isinstance(f, list) else f) for m, f in factors.items()
            }
            compare(
                name, case, mine, p.grad, what=f"tensor {k}", mistakes=mistakes, atol=0.0, rtol=1e-5
            )
    return len(cases)


def _parameters(model) -> dict:
    """The NumPy float64 parameters of a many-to-one RNN, as :mod:`rnncourse.bptt` names them."""
    cell = getattr(model, "cell", None)
    if (
        not isinstance(model, sequences.ManyToOne)
        or not all(hasattr(cell, k) for k in ("U", "W", "b_x", "b_h"))
        or getattr(cell, "kind", "rnn") != "rnn"
    ):
        raise ValueError(
            "model must be a sequences.ManyToOne around a plain RNN cell (cells.RNNCell, or "
            f"cells.StepCell of kind 'rnn'), got {type(model).__name__}."
        )
    b = cell.b_x + cell.b_h if cell.b_x is not None else torch.zeros(cell.hidden_size)
    values = dict(U=cell.U, W=cell.W, b=b, V=model.readout.weight, b_o=model.readout.bias)
    return {k: v.detach().double().numpy() for k, v in values.items()}


def _gradient_by_lag(model, x, y):
    """The reference, by the course's BPTT: ||dL/dh(T - k)|| for k = 0..T-1, shape (T,). L is
    ``F.mse_loss(model(x), y)``, 2 / O times :mod:`rnncourse.bptt`'s loss (half the squared
    error, averaged over B)."""
    params, act = _parameters(model), getattr(model.cell, "nonlinearity", "tanh")
    x_np, y_np = x.detach().double().numpy(), y.detach().double().numpy()
    _, cache = bptt.rnn_forward(params, x_np, y_np, loss="mse", outputs="last", nonlinearity=act)
    _, dh = bptt.rnn_backward(cache)  # (B, T, H)
    dh = torch.from_numpy(dh) * (2 / y.shape[-1])
    return dh.norm(dim=(0, 2)).flip(0).to(x.dtype)


def _autograd(model, x, y):
    """dL/dh(t) (T, B, H), dL/dh(0) (B, H) and dL/dx (B, T, I), by autograd through
    torch's own RNN cell with the model's weights, in float64."""
    cell = model.cell
    with torch.random.fork_rng(devices=[]):
        rnn = torch.nn.RNNCell(cell.input_size, cell.hidden_size, nonlinearity=cell.nonlinearity)
    weights = {"weight_ih": cell.U, "weight_hh": cell.W, "bias_ih": cell.b_x, "bias_hh": cell.b_h}
    rnn.double().load_state_dict(weights)
    x = x.detach().double().requires_grad_()
    h0 = torch.zeros(x.shape[0], cell.hidden_size, dtype=torch.float64, requires_grad=True)
    h, states = h0, []
    for x_t in x.unbind(1):
        h = rnn(x_t, h)
        states.append(h)
    out = F.linear(h, model.readout.weight.detach().double(), model.readout.bias.detach().double())
    *dh, dh0, dx = torch.autograd.grad(F.mse_loss(out, y.double()), [*states, h0, x])
    return torch.stack(dh), dh0, dx


def _model(g, I, H, O, gain):
    """A many-to-one tanh RNN (float64) with seeded weights; W is ``gain`` times an
    orthogonal matrix, so that the gradient fades slowly enough to stay within float32."""
    with torch.random.fork_rng(devices=[]):
        model = sequences.ManyToOne(cells.RNNCell(I, H), O).double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(randn(g, *p.shape, scale=0.4))
        q, _ = torch.linalg.qr(randn(g, H, H))
        model.cell.W.copy_((gain * q).float())
    return model


@exercise(
    "05", reference=_gradient_by_lag, forbidden=(bptt.rnn_backward, bptt.truncated_rnn_backward)
)
def gradient_by_lag(student_fn) -> int:
    """Check ``gradient_by_lag(model, x, y) -> norms`` (T,) in x's dtype: model a
    ``sequences.ManyToOne`` around a tanh ``cells.RNNCell``, x (B, T, I), y (B, O); entry k is
    the norm over batch and units of dL/dh(T - k), L = ``F.mse_loss(model(x), y)``. The
    model, its gradients and x stay unchanged."""
    name, f32, f64 = "gradient_by_lag", torch.float32, torch.float64
    cases = [
        (3, 6, 2, 4, 1, 1.2, f32),
        (1, 1, 3, 2, 2, 1.0, f32),
        (4, 100, 2, 8, 1, 1.2, f32),
        (5, 120, 3, 5, 2, 1.3, f64),
    ]
    for seed, (B, T, I, H, O, gain, dtype) in enumerate(cases):
        g = generator(160 + seed)
        model = _model(g, I, H, O, gain).to(dtype)
        x, y = randn(g, B, T, I).to(dtype), randn(g, B, O).to(dtype)
        case = f"case {seed + 1} (B={B}, T={T}, I={I}, H={H}, O={O}{', float64' * (dtype == f64)})"
        model.zero_grad(set_to_none=True)
        errors = {  # words of torch's error: the likely mistake
            "dtype": OTHER_DTYPE,
            "not have been used in the graph": "the gradient was asked for with respect to "
            "tensors the loss does not depend on (copies of the states, or states of a "
            "second run); keep the very tensors that the loop passes from step to step.",
            "does not require grad": "the states were computed without autograd's graph "
            "(under torch.no_grad(), or detached).",
        }
        try:
            got = call(name, student_fn, model, x.clone(), y.clone(), dtype=dtype)
        except StudentCodeError as err:
            raise with_hint(err, errors) from err.__cause__
        if any(p.grad is not None for p in model.parameters()):
            raise CheckFailed(
                f"{name}, {case}: it changed the model's gradients (.grad). Likely "
                f"mistake: a backward pass that accumulates into every parameter's .grad, "
                f"which the next training update would add to its own. Ask autograd for the "
                f"gradients of the states alone, which it returns without storing them."
            )
        dh, dh0, dx = _autograd(model, x, y)
        expected = dh.norm(dim=(1, 2)).flip(0)
        zeros = torch.zeros(T - 1, dtype=torch.float64)
        mistakes = {
            "the norms are in time order (t = 1 .. T); entry k belongs to lag k, the "
            "state k steps before the last.": dh.norm(dim=(1, 2)),
            "the squared norm was taken; take its square root.": (dh**2).sum((1, 2)).flip(0),
            "the norms of the examples were averaged; take one norm over the batch and the "
            "units together.": dh.norm(dim=2).mean(1).flip(0),
            "the gradients with respect to the inputs x(t) were taken; the log is about "
            "the states h(t).": dx.norm(dim=(0, 2)).flip(0),
            "only the last state receives a gradient: it was taken with respect to "
            "copies of the states (a stacked tensor) that the loss reaches only at the "
            "last step; take it with respect to the states the recurrence itself passes "
            "on.": torch.cat([expected[:1], zeros]),
            "the states are shifted by one step: h(0) was kept and h(T) left out; the log "
            "holds h(1) ... h(T).": torch.stack([dh0, *dh[:-1]]).norm(dim=(1, 2)).flip(0),
            "the loss was summed over the examples and outputs; the loss is the mean "
            "squared error, as F.mse_loss computes it.": expected * B * O,
        }
        hints = {
            (T + 1,): "h(0) was included: the log holds h(1) ... h(T), one entry per lag.",
            (B, T): "one norm per example and step; take one norm per step over the batch "
            "and the units together.",
            (T, B): "one norm per step and example; take one norm per step over the batch "
            "and the units together.",
        }
        rtol = 1e-3 if dtype == f32 else 1e-7
        compare(
            name, case, got, expected, atol=0.0, rtol=rtol, mistakes=mistakes, shape_hints=hints
        )
    g = generator(169)
    model, x, y = _model(g, 2, 3, 1, 1.0).float(), randn(g, 2, 5, 2).float(), randn(g, 2, 1).float()
    call(name, student_fn, model, x, y)
    if x.requires_grad:
        raise CheckFailed(
            f"{name} changed its input `x` in place: it now requires grad. Likely "
            f"mistake: requires_grad_() on the given x. {IN_PLACE}"
        )
    return len(cases) + 1
