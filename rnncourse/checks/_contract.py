"""What a passing answer promises the cells that run it later: :func:`call` and
:func:`check_gradients`."""

import contextlib
import copy
import inspect
import sys
from types import SimpleNamespace

import torch

from ._framework import ACTIVE, REGISTRY, CheckFailed, NotAttempted, StudentCodeError

_USE = f"{__package__}._use"  # the module whose `run` wraps what checks.use hands out

IN_PLACE = (
    "Later cells pass their own tensors (a model's states, a batch) and use them again "
    "afterwards, and autograd needs them unchanged: compute new tensors instead of writing "
    "into the given ones (methods ending in _ such as mul_ or add_, and item assignment "
    "x[...] = ..., write in place)."
)
ALREADY_DONE = (
    ", which already does what this exercise asks. Write it with your own tensor "
    "operations: that is the exercise, and later cells build on your version."
)


def _to_dtype(value, dtype):
    """float tensors converted to ``dtype`` (None: unchanged); containers recursively."""
    if dtype is None:
        return value
    if isinstance(value, torch.Tensor) and value.is_floating_point() and value.dtype != dtype:
        return value.to(dtype)
    if isinstance(value, tuple | list):
        return type(value)(_to_dtype(v, dtype) for v in value)
    return value


def _labels(name: str, fn, args: tuple, kwargs: dict) -> list[tuple[str, object]]:
    """``[(parameter name, value)]``, named as the exercise names them (its reference)."""
    for source in (getattr(REGISTRY.get(name), "reference", None), fn):
        try:
            return list(inspect.signature(source).bind(*args, **kwargs).arguments.items())
        except (TypeError, ValueError):
            continue
    return [(f"argument {i + 1}", a) for i, a in enumerate(args)] + list(kwargs.items())


def _tensors(label: str, value, depth: int = 0):
    """``(label, tensor)`` for every tensor in ``value``: containers, modules, namespaces."""
    if depth > 4:
        return
    if isinstance(value, torch.Tensor):
        yield label, value
    elif isinstance(value, tuple | list):
        for i, v in enumerate(value):
            yield from _tensors(f"{label}[{i}]", v, depth + 1)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _tensors(f"{label}[{k!r}]", v, depth + 1)
    elif isinstance(value, torch.nn.Module):
        yield from ((f"{label}.{n}", t) for n, t in value.named_parameters())
        yield from ((f"{label}.{n}", t) for n, t in value.named_buffers())
    elif isinstance(value, SimpleNamespace):
        for k, v in vars(value).items():
            yield from _tensors(f"{label}.{k}", v, depth + 1)


def _code_of(item):
    """The code object that runs when ``item`` is called (a function, method or module)."""
    if isinstance(item, type) and issubclass(item, torch.nn.Module):
        item = item.forward
    return getattr(getattr(item, "__func__", item), "__code__", None)


def _forbidden(name: str) -> tuple[dict, dict]:
    """``({code: (description, advice)}, {builtin: (description, advice)})`` that ``name``
    may not call: its reference and its ``forbidden`` entries, each a function,
    ``(function, description)`` or ``(function, description, advice)``."""
    if name not in REGISTRY:
        return {}, {}
    ex = REGISTRY[name]
    codes, builtins = {}, {}
    if _code_of(ex.reference) is not None:
        codes[_code_of(ex.reference)] = ("the course's reference answer to this exercise", None)
    for item in ex.forbidden:
        target, what, advice = (*item, None)[:3] if isinstance(item, tuple) else (item, None, None)
        if _code_of(target) is not None:
            label = f"{getattr(target, '__module__', '')}.{getattr(target, '__qualname__', '')}"
            codes[_code_of(target)] = (what or label, advice)
        else:
            kernel = f"torch's kernel {getattr(target, '__name__', target)}"
            builtins[target] = (what or kernel, advice)
    return codes, builtins


@contextlib.contextmanager
def _watching(name: str):
    """Yields a namespace whose ``hit`` notes the first call of what ``name`` may not call
    (``sys.setprofile``); not inside what ``checks.use`` handed out, except its reference."""
    codes, builtins = _forbidden(name)
    own = _code_of(getattr(REGISTRY.get(name), "reference", None))
    watch = SimpleNamespace(hit=None, handed_out=None)  # the frame of a handed-out function

    def profile(frame, event, arg):
        if watch.hit is not None:
            return
        if watch.handed_out is not None:
            if event == "return" and frame is watch.handed_out:
                watch.handed_out = None
            elif event == "call" and frame.f_code is own:
                watch.hit = codes.get(own)
        elif event == "call":
            if frame.f_code.co_name == "run" and frame.f_globals.get("__name__") == _USE:
                watch.handed_out = frame
            else:
                watch.hit = codes.get(frame.f_code)
        elif event == "c_call":
            with contextlib.suppress(TypeError):  # an unhashable callable
                watch.hit = builtins.get(arg)

    old = sys.getprofile()
    if codes or builtins:
        sys.setprofile(profile)
    try:
        yield watch
    finally:
        sys.setprofile(old)


def call(name: str, fn, *args, dtype=torch.float32, mutable: tuple = (), **kwargs):
    """Call the student's ``fn`` with float tensors as ``dtype`` (``None``: unchanged).

    Raises :class:`NotAttempted` for a stub, :class:`StudentCodeError` for an error in the
    student's code, :class:`CheckFailed` when ``fn`` calls what it should write, changes an
    input in place (except parameters named in ``mutable``) or returns another float dtype.
    """
    args = tuple(_to_dtype(a, dtype) for a in args)
    kwargs = {k: _to_dtype(v, dtype) for k, v in kwargs.items()}
    labelled = _labels(name, fn, args, kwargs)
    inputs = [pair for label, v in labelled if label not in mutable for pair in _tensors(label, v)]
    before = [(label, t, t.detach().clone(), t._version) for label, t in inputs]
    try:
        with _watching(name) as watch:
            out = fn(*args, **kwargs)
    except NotImplementedError as err:
        raise NotAttempted(name) from err
    except Exception as err:
        if not watch.hit:  # else the forbidden call is the diagnosis
            raise StudentCodeError(f"{name} raised {type(err).__name__}: {err}") from err
    if watch.hit:
        what, advice = watch.hit
        raise CheckFailed(f"{name} calls {what}" + (f" {advice}" if advice else ALREADY_DONE))
    for label, t, copy_, version in before:
        same = t.shape == copy_.shape and torch.allclose(t, copy_, rtol=0, atol=0, equal_nan=True)
        if t._version != version or not same:
            raise CheckFailed(
                f"{name} changed its input `{label}` in place"
                + ("" if same else " (its values differ after the call)")
                + f". Likely mistake: an in-place operation on `{label}`. {IN_PLACE}"
            )
    floats = {t.dtype for _, t in inputs if t.is_floating_point()}
    if len(floats) == 1:
        want = floats.pop()
        for label, t in _tensors("result", out):
            if t.is_floating_point() and t.dtype != want:
                raise CheckFailed(
                    f"{name} returned {label} as {t.dtype} for {want} inputs. Likely mistake: "
                    f"a tensor made inside the function without the inputs' dtype (factory "
                    f"functions and NumPy default to other dtypes); the result must keep the "
                    f"dtype of the inputs, since later cells mix it with their own tensors."
                )
    return out


def _floats(value) -> list[torch.Tensor]:
    return [t for _, t in _tensors("", value) if t.is_floating_point()]


def check_gradients(
    name: str,
    case: str,
    fn,
    args: tuple,
    *,
    wrt: tuple[str, ...],
    kwargs: dict | None = None,
    select=None,
    mutable: tuple = (),
    atol: float = 1e-7,
    rtol: float = 1e-5,
) -> None:
    """Compare the gradients of a loss through ``fn`` with autograd through the reference.

    Both run in float64 on copies of ``args`` and ``kwargs``; ``wrt`` names the inputs as the
    reference's parameters (``"W"``, ``"net.U"``, ``"state[1]"``). The loss weights the float
    tensors of ``select(output)`` (default the output) at random, with a fixed seed. Raises
    :class:`CheckFailed` for the first input no gradient reaches or whose gradient differs.
    """
    reference = REGISTRY[name].reference
    select = select or (lambda out: out)
    runs = []
    for who in (fn, reference):
        a, k = copy.deepcopy((tuple(args), dict(kwargs or {})))
        a, k = _to_dtype(a, torch.float64), {n: _to_dtype(v, torch.float64) for n, v in k.items()}
        leaves = dict(p for label, v in _labels(name, who, a, k) for p in _tensors(label, v))
        missing = [w for w in wrt if w not in leaves]
        if missing:
            raise ValueError(f"check_gradients: no input named {missing}; have {list(leaves)}")
        runs.append((a, k, [leaves[w].requires_grad_(True) for w in wrt]))
    (s_args, s_kwargs, s_leaves), (r_args, r_kwargs, r_leaves) = runs
    with torch.enable_grad():
        want = _floats(select(reference(*r_args, **r_kwargs)))
        got = _floats(select(call(name, fn, *s_args, dtype=None, mutable=mutable, **s_kwargs)))
    if [t.shape for t in got] != [t.shape for t in want]:
        return  # the values check reports the shapes
    g = torch.Generator().manual_seed(1234)
    weights = [torch.randn(t.shape, generator=g, dtype=torch.float64) for t in want]
    expected = torch.autograd.grad(
        sum((t * w).sum() for t, w in zip(want, weights, strict=True)), r_leaves, allow_unused=True
    )
    loss = sum((t.double() * w).sum() for t, w in zip(got, weights, strict=True))
    cut = (
        "a .detach(), torch.no_grad(), or a value taken out of the graph (.item(), .numpy(), "
        ".data, a tensor rebuilt from numbers) cuts it off, so training would never update it"
    )
    if not isinstance(loss, torch.Tensor) or not loss.requires_grad:
        raise CheckFailed(f"{name}, {case}: no gradient reaches any input. Likely mistake: {cut}.")
    try:
        grads = torch.autograd.grad(loss, s_leaves, allow_unused=True)
    except RuntimeError as err:
        raise CheckFailed(
            f"{name}, {case}: autograd cannot differentiate through it ({err}). Likely "
            f"mistake: an in-place operation overwrote a value that backward needs. {IN_PLACE}"
        ) from None
    for label, leaf, got_g, want_g in zip(wrt, s_leaves, grads, expected, strict=True):
        want_g = torch.zeros_like(leaf) if want_g is None else want_g
        reaches = got_g is not None and bool((got_g != 0).any())
        if not reaches and bool((want_g != 0).any()):
            raise CheckFailed(
                f"{name}, {case}: no gradient reaches {label}. Likely mistake: {cut}."
            )
        if got_g is not None and not torch.allclose(got_g, want_g, atol=atol, rtol=rtol):
            error = (got_g - want_g).abs().max().item()
            raise CheckFailed(
                f"{name}, {case}: the gradient with respect to {label} differs from autograd's "
                f"through the reference (max error {error:.3g}) although the values agree. "
                f"Likely mistake: part of the computation happens outside autograd's graph "
                f"(.detach(), .data, .item(), NumPy), so training would follow a wrong gradient."
            )
    ACTIVE["gradients_checked"] = True
