"""Checkers for notebook 04: teacher-forced inputs, output feedback, free running."""

import copy
from types import SimpleNamespace

import torch

from rnncourse import generation, sequences
from rnncourse.depth import measure_depth

from .._random import generator
from ._contract import _labels, _tensors, call, check_gradients
from ._framework import (
    REGISTRY,
    CheckFailed,
    StudentCodeError,
    close,
    compare,
    exercise,
    randn,
    torch_module,
)

FED_BACK_DETACHED = (
    "the fed-back outputs are cut from autograd's graph (a .detach() or .data on what is fed "
    "back): the values are right, but no gradient flows through the feedback, so training "
    "never learns how an output affects the steps after it. Feed back the output itself."
)


def dtype_name(dtype) -> str:
    """How a case names its dtype."""
    return "float64" if dtype == torch.float64 else "float32"


def case_name(k: int, sizes: str, dtype, note: str = "") -> str:
    """A case's description: ``case k (sizes, note, dtype)``."""
    return f"case {k} ({sizes}{note}, {dtype_name(dtype)})"


def _gradients(name: str, fn, args: tuple, wrt: tuple[str, ...], kwargs: dict, student: bool):
    """Gradients of a fixed weighting of ``fn``'s float outputs with respect to ``wrt``."""
    args, kwargs = copy.deepcopy((args, kwargs))
    leaves = dict(p for label, v in _labels(name, fn, args, kwargs) for p in _tensors(label, v))
    for w in wrt:
        leaves[w].requires_grad_(True)
    with torch.enable_grad():
        out = call(name, fn, *args, dtype=None, **kwargs) if student else fn(*args, **kwargs)
        floats = [t for _, t in _tensors("", out) if t.is_floating_point()]
        g = generator(4321)
        loss = sum((t * torch.randn(t.shape, generator=g, dtype=t.dtype)).sum() for t in floats)
        if not isinstance(loss, torch.Tensor) or not loss.requires_grad:
            return None
        grads = torch.autograd.grad(loss, [leaves[w] for w in wrt], allow_unused=True)
    return [
        torch.zeros_like(leaves[w]) if d is None else d for w, d in zip(wrt, grads, strict=True)
    ]


def fed_back_detached(name: str, case: str, fn, args, wrt, variant, kwargs=None) -> None:
    """Raise :data:`FED_BACK_DETACHED` when the weights' gradients (``wrt`` names with a dot)
    through ``fn`` are those of ``variant`` (the reference with its fed-back outputs
    detached), not the reference's."""
    kwargs, wrt = kwargs or {}, tuple(w for w in wrt if "." in w)
    got = _gradients(name, fn, args, wrt, kwargs, student=True)
    if got is None:
        return  # check_gradients names a result cut from the graph
    cut = _gradients(name, variant, args, wrt, kwargs, student=False)
    right = _gradients(name, REGISTRY[name].reference, args, wrt, kwargs, student=False)
    as_cut = all(close(a, b) for a, b in zip(got, cut, strict=True))
    if as_cut and not all(close(a, b) for a, b in zip(got, right, strict=True)):
        raise CheckFailed(f"{name}, {case}: wrong gradients. Likely mistake: {FED_BACK_DETACHED}")


def _teacher_forced_inputs(targets, start):
    """The reference: ``start`` at step 0, then ``targets[:, :-1]``."""
    return generation.teacher_forced_inputs(targets, start)


@exercise(
    "04",
    reference=_teacher_forced_inputs,
    forbidden=(generation.teacher_forced_inputs, sequences.shift_right),
    gradients=True,
)
def teacher_forced_inputs(student_fn) -> int:
    """Check ``teacher_forced_inputs(targets, start) -> inputs``: targets (B, T) int64 token ids or
    (B, T, D) float vectors, start a number; inputs of the targets' shape and dtype,
    inputs[:, 0] = start, inputs[:, t] = targets[:, t - 1]. Gradients reach the vectors."""
    name = "teacher_forced_inputs"
    cases = [  # B, T, start, D (0: token ids), dtype of the vectors
        (3, 5, 0, 0, None),
        (1, 6, 7, 0, None),
        (4, 1, 3, 0, None),
        (2, 4, 0.0, 3, torch.float32),
        (3, 7, -1.5, 2, torch.float64),
        (2, 1024, 5, 0, None),
    ]
    for seed, (B, T, start, D, dtype) in enumerate(cases):
        g = generator(80 + seed)
        targets = randn(g, B, T, D).to(dtype) if D else torch.randint(1, 10, (B, T), generator=g)
        col = torch.full_like(targets[:, :1], start)
        shape = f"B={B}, T={T}" + (f", D={D} (vectors, {dtype_name(dtype)})" if D else "")
        case = f"case {seed + 1} ({shape}, start={start})"
        try:
            got = call(name, student_fn, targets, start, dtype=None)
        except StudentCodeError as err:
            if not D:
                raise
            raise StudentCodeError(
                f"{err}\n  In {case}. Likely mistake: a start column shaped (B, 1) fits token "
                f"ids (B, T) only; shape it like one time step of the targets, (B, 1, D) for "
                f"vectors, with their dtype."
            ) from err.__cause__
        mistakes = {
            "the targets are shifted the wrong way: the input at step t is the PREVIOUS "
            "target (start value first), so the model never sees the target it must "
            "predict.": torch.cat([targets[:, 1:], col], 1),
            "the targets were not shifted: the model would be fed the very target it "
            "predicts.": targets,
            "torch.roll wraps the last target around to the front; the start value goes "
            "there instead.": targets.roll(1, dims=1),
            "the start value was ignored: step 0 gets `start`, whatever number it is.": torch.cat(
                [torch.zeros_like(col), targets[:, :-1]], 1
            ),
        }
        hints = {
            (B, T - 1, *targets.shape[2:]): "the start value is missing: put it first "
            "and drop the last target.",
            (B, T + 1, *targets.shape[2:]): "the last target was not dropped; the inputs "
            "have T steps.",
        }
        expected = torch.cat([col, targets[:, :-1]], 1)
        compare(name, case, got, expected, mistakes=mistakes, shape_hints=hints)
        if isinstance(got, torch.Tensor) and got.dtype != targets.dtype:
            raise CheckFailed(
                f"{name}, {case}: returned {got.dtype} for {targets.dtype} "
                f"targets. Likely mistake: the start column was made with a default dtype; "
                f"the inputs keep the targets' dtype (token ids stay integers, since an "
                f"embedding looks them up)."
            )
        if D and dtype == torch.float32:
            check_gradients(name, case, student_fn, (targets, start), wrt=("targets",))
    return len(cases)


SHORT_T, LONG_T = 32, 512
LOOP_GROWTH = 4  # growth of the operation count over a 16-fold length that counts as a loop


def _free(net, x, y0, step=None, **options):
    """Free running through generation.free_running: o (B, T, O) from y0 (B, O)."""
    step = step or (lambda x_t, y: sequences.OutputFeedback._step(net, x_t, y))
    outputs, _ = generation.free_running(
        lambda y, t: (step(x[:, t], y), t + 1), y0, x.shape[1], state=0, **options
    )
    return outputs


def _output_feedback(net, x, y_prev=None, y0=None):
    """The reference, from the weights of ``net``: o (B, T, O), teacher forced when ``y_prev``
    (B, T, O) is given, else free running from ``y0`` (B, O) (zeros if None)."""
    if y_prev is not None:
        return sequences.OutputFeedback._step(net, x, y_prev)
    return _free(net, x, x.new_zeros(x.shape[0], net.V.shape[0]) if y0 is None else y0)


def _network(g: torch.Generator, I: int, O: int, H: int, dtype) -> SimpleNamespace:
    """Weights U (H, I), R (H, O), b (H,), V (O, H), b_o (O,), as a notebook's net holds them."""
    shapes = {"U": (H, I), "R": (H, O), "b": (H,), "V": (O, H), "b_o": (O,)}
    return SimpleNamespace(**{k: randn(g, *s, scale=0.6).to(dtype) for k, s in shapes.items()})


NO_TANH = "the tanh is missing: h(t) = tanh(U x(t) + R y(t-1) + b)."


def _forced_mistakes(net, x, y_prev) -> dict:
    """{message: output} of typical mistakes of the teacher-forced mode."""
    return {
        NO_TANH: (x @ net.U.T + y_prev @ net.R.T + net.b) @ net.V.T + net.b_o,
        "with y_prev given, every step must read the TRUE previous output y_prev[:, t]; this "
        "fed back the network's own outputs.": _free(net, x, torch.zeros_like(y_prev[:, 0])),
        "y_prev was shifted again: y_prev[:, t] already is y(t-1), so use it as it is.": (
            sequences.OutputFeedback._step(net, x, sequences.shift_right(y_prev))
        ),
    }


def _free_mistakes(net, x, first) -> dict:
    """{message: output} of typical mistakes of the free-running mode, from ``first``."""
    linear = lambda x_t, y: (x_t @ net.U.T + y @ net.R.T + net.b) @ net.V.T + net.b_o  # noqa: E731
    return {
        NO_TANH: _free(net, x, first, linear),
        "the outputs are not fed back: every step read y0 instead of o(t-1).": (
            sequences.OutputFeedback._step(net, x, first[:, None].expand(-1, x.shape[1], -1))
        ),
        "y0 was returned as the first output; return the T outputs o(1)..o(T).": torch.cat(
            [first[:, None], _free(net, x, first)[:, :-1]], 1
        ),
        "y0 was ignored: when it is given, the first step reads it, not zeros.": _free(
            net, x, torch.zeros_like(first)
        ),
    }


def _operations(student_fn, T: int) -> int:
    """Tensor operations of one teacher-forced call at length T."""
    g = generator(175)
    net = _network(g, 1, 2, 4, torch.float32)
    x, y_prev = randn(g, 1, T, 1).float(), randn(g, 1, T, 2).float()
    run = measure_depth(lambda: call("output_feedback", student_fn, net, x, y_prev=y_prev))
    return run.operations


@exercise(
    "04",
    reference=_output_feedback,
    forbidden=(
        sequences.OutputFeedback,
        sequences.OutputFeedback.teacher_forced,
        sequences.OutputFeedback.generate,
        sequences.OutputFeedback._step,
        generation.free_running,
    ),
    gradients=True,
)
def output_feedback(student_fn) -> int:
    """Check ``output_feedback(net, x, y_prev=None, y0=None) -> o`` (B, T, O): h(t) = tanh(U x(t)
    + R y(t-1) + b), o(t) = V h(t) + b_o, with ``net.U`` (H, I), ``net.R`` (H, O), ``net.b``
    (H,), ``net.V`` (O, H), ``net.b_o`` (O,); x (B, T, I). Given ``y_prev`` (B, T, O), all
    steps at once (the operation count may not grow with T); else free running from ``y0``
    (B, O) (zeros if None). Gradients reach every input."""
    name = "output_feedback"
    cases = [  # B, T, I, O, H, y0 given, dtype
        (3, 5, 1, 2, 6, True, torch.float32),
        (1, 6, 3, 3, 5, False, torch.float32),
        (4, 1, 2, 1, 4, True, torch.float32),
        (2, 7, 2, 3, 4, True, torch.float64),
        (2, LONG_T, 1, 2, 8, True, torch.float32),
    ]
    for seed, (B, T, I, O, H, with_y0, dtype) in enumerate(cases):
        g = generator(160 + seed)
        net = _network(g, I, O, H, dtype)
        x, y_prev, y0 = (randn(g, *shape).to(dtype) for shape in ((B, T, I), (B, T, O), (B, O)))
        first = y0 if with_y0 else torch.zeros_like(y0)
        case = case_name(seed + 1, f"B={B}, T={T}, I={I}, O={O}, H={H}", dtype)
        hints = {
            (B, O): "only the last step was returned; return all T steps.",
            (B, T + 1, O): "y0 was included; return the T outputs o(1)..o(T).",
            (T, B, O): "the result is time-first; stack along dim=1.",
        }
        got = call(name, student_fn, net, x, y_prev=y_prev, dtype=None)
        expected = _output_feedback(net, x, y_prev)
        mistakes = {} if close(got, expected) else _forced_mistakes(net, x, y_prev)
        compare(
            name, case, got, expected, what="teacher forced", mistakes=mistakes, shape_hints=hints
        )
        given = {"y0": y0} if with_y0 else {}
        got = call(name, student_fn, net, x, dtype=None, **given)
        expected = _free(net, x, first)
        mistakes = {} if close(got, expected) else _free_mistakes(net, x, first)
        label = case + ("" if with_y0 else ", y0=None")
        compare(
            name, label, got, expected, what="free running", mistakes=mistakes, shape_hints=hints
        )
        if seed == 0:
            weights = ("net.U", "net.R", "net.b", "net.V", "net.b_o", "x")
            net64 = SimpleNamespace(**{k: v.double() for k, v in vars(net).items()})
            forced, free = {"y_prev": y_prev.double()}, {"y0": y0.double()}
            wrt = (*weights, "y_prev")
            check_gradients(name, "case 1", student_fn, (net64, x), kwargs=forced, wrt=wrt)
            cut = lambda net, x, y0: _free(net, x, y0, to_input=torch.Tensor.detach)  # noqa: E731
            args, wrt = (net64, x.double()), (*weights, "y0")
            fed_back_detached(
                name, case + ", free running", student_fn, args, wrt, cut, kwargs=free
            )
            check_gradients(name, "case 1", student_fn, (net64, x), kwargs=free, wrt=wrt)
    short, long = _operations(student_fn, SHORT_T), _operations(student_fn, LONG_T)
    if long > LOOP_GROWTH * max(short, 1):
        raise CheckFailed(
            f"{name} (teacher forced): the values are right, but the steps run one "
            f"at a time: {short} tensor operations for T = {SHORT_T} and {long} for T = "
            f"{LONG_T}, {long / max(short, 1):.0f} times as many for a {LONG_T // SHORT_T} "
            f"times longer sequence. With y_prev given no step waits for another: write the "
            f"step once for the whole time axis (matrix products broadcast over it), the one "
            f"parallel pass that makes teacher-forced training fast."
        )
    return len(cases)


class _Step(torch.nn.Module):
    """A small model's step: (x (B, D), h (B, H) or None) -> (y (B, D), h (B, H))."""

    def __init__(self, g: torch.Generator, D: int, H: int, dtype):
        super().__init__()
        self.cell = torch_module(g, torch.nn.RNNCell, D, H, scale=0.8).to(dtype)
        self.out = torch_module(g, torch.nn.Linear, H, D, scale=0.8).to(dtype)

    def forward(self, x, h=None):
        h = self.cell(x, h)
        return self.out(h), h


def _free_running(step_fn, first, steps):
    """The reference: generation's free-running loop, outputs only (B, steps, D)."""
    return generation.free_running(step_fn, first, steps)[0]


def _detached_free_running(step_fn, first, steps):
    """The reference with every fed-back output detached (right values, cut gradients)."""
    return generation.free_running(step_fn, first, steps, to_input=torch.Tensor.detach)[0]


def _mistakes(step, first, steps) -> dict:
    """{message: outputs} of typical mistakes of a free-running loop."""
    return {
        "the outputs are not fed back: every step got `first` as its input.": _free_running(
            lambda x, h: step(first, h), first, steps
        ),
        "the state is not carried: pass the h returned by the last step.": _free_running(
            lambda x, h: step(x, None), first, steps
        ),
        "`first` was returned as the first output; ys holds the model's outputs only.": (
            torch.cat([first[:, None], _free_running(step, first, steps)[:, :-1]], 1)
        ),
    }


@exercise(
    "04",
    reference=_free_running,
    forbidden=(generation.free_running, generation.free_running_error),
    gradients=True,
)
def free_running(student_fn) -> int:
    """Check ``free_running(step_fn, first, steps) -> ys`` (B, steps, D): ``step_fn(x (B, D), h)
    -> (y (B, D), h)``, h ``None`` at the start; from ``first`` (B, D) each output is fed back
    as the next input. Gradients reach ``first`` and the weights."""
    cases = [  # B, D, H, steps, dtype
        (3, 3, 4, 5, torch.float32),
        (1, 2, 3, 4, torch.float32),
        (4, 4, 2, 1, torch.float32),
        (2, 3, 5, 6, torch.float64),
        (2, 2, 3, 1024, torch.float32),
    ]
    for seed, (B, D, H, steps, dtype) in enumerate(cases):
        g = generator(90 + seed)
        step, first = _Step(g, D, H, dtype), randn(g, B, D).to(dtype)
        case = case_name(seed + 1, f"B={B}, D={D}, steps={steps}", dtype)
        got = call("free_running", student_fn, step, first, steps, dtype=None)
        with torch.no_grad():
            expected = _free_running(step, first, steps)
            mistakes = {} if close(got, expected) else _mistakes(step, first, steps)
        hints = {
            (B, steps + 1, D): "`first` was included; ys holds the `steps` outputs.",
            (steps, B, D): "the result is time-first; stack along dim=1.",
        }
        compare("free_running", case, got, expected, mistakes=mistakes, shape_hints=hints)
        if seed == 0:
            step64, wrt = _Step(generator(95), D, H, torch.float64), ("first",)
            wrt += tuple(f"step_fn.{n}" for n, _ in step64.named_parameters())
            args = (step64, first.double(), steps)
            fed_back_detached("free_running", case, student_fn, args, wrt, _detached_free_running)
            check_gradients("free_running", "case 1", student_fn, (step64, first, steps), wrt=wrt)
    return len(cases)
