"""Checkers for notebook 08: the combine operator, a scan, and minGRU built on the scan."""

import torch

from rnncourse import scan
from rnncourse.depth import measure_depth

from .._random import generator
from ._contract import call, check_gradients
from ._framework import CheckFailed, NotAttempted, close, compare, exercise, randn, torch_module
from ._sequential import case_name

try:  # torch's own scan (private, in torch >= 2.5): it would do the exercise
    from torch._higher_order_ops.associative_scan import associative_scan as _torch_scan
except ImportError:  # pragma: no cover (older torch)
    _torch_scan = None

# Over a 16 times longer sequence the longest chain of dependent tensor operations grows
# 16-fold for a loop, under 2-fold for a tree scan, 4-fold for a blocked one.
SHORT_T, LONG_T = 64, 1024
LOOP_GROWTH = 8  # chain growth over a 16-fold length that counts as a loop over time
F32, F64 = torch.float32, torch.float64
SCANS = (scan.parallel_scan, *scan._METHODS.values())  # every scan of the course
TORCH_SCAN = () if _torch_scan is None else ((_torch_scan, "torch's associative_scan"),)
BY_PAIRS = (
    "Build every state from combine's pairs, whose products span only the steps between two "
    "positions, as the rounds do."
)
ON_A_SCAN = "Run the recurrence through your scan, whose pairs span only the steps between two."
ON_YOUR_SCAN = (
    "instead of your own linear_scan. Build minGRU on the scan you wrote: "
    'checks.use("scan_equals_loop", linear_scan) hands it over as my_scan (the course\'s '
    "until yours passes), and later cells train your minGRU through it."
)


def _the_course(*functions, advice=None) -> tuple:
    """``forbidden`` entries naming functions of :mod:`rnncourse.scan` as the course's."""
    return tuple((f, f"the course's scan.{f.__qualname__}", advice) for f in functions)


def _call(name: str, student_fn, *args, dtype=F32):
    """``call``, naming a helper of the student's that is still a stub (e.g. ``combine``)."""
    try:
        return call(name, student_fn, *args, dtype=dtype)
    except NotAttempted as err:
        tb = err.__cause__.__traceback__ if err.__cause__ is not None else None
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        own = getattr(student_fn, "__code__", None)
        if tb is not None and own is not None and tb.tb_frame.f_code is not own:
            helper, yours = tb.tb_frame.f_code.co_name, getattr(student_fn, "__name__", name)
            raise CheckFailed(
                f"{name}: your {yours if yours.isidentifier() else name} calls {helper}, which "
                f"is not written yet: do its exercise first."
            ) from None
        raise


def _unstable(T: int, got, what: str, fix: str) -> str:
    """The likely mistake when a long case fails and no known slip matches."""
    if isinstance(got, torch.Tensor) and not bool(torch.isfinite(got).all()):
        return (
            f"numerically unstable at T = {T}: the result holds nan or inf where every state "
            f"is finite. A product of {what} over the whole prefix underflows to 0 (in "
            f"float32 after about a hundred gates), and dividing by it gives inf. {fix}"
        )
    return (
        f"right on short cases, off at T = {T}: something accumulated over the whole prefix "
        f"(a product of {what}, a sum of their logarithms) loses precision as T grows. {fix}"
    )


def _reject_loop_over_time(name: str, run, advice: str) -> None:
    """Raise when the chain of dependent operations of ``run(T)`` (the student's function on
    inputs of length T) grows in proportion to T."""
    short, long = (measure_depth(run, T).depth for T in (SHORT_T, LONG_T))
    if long > LOOP_GROWTH * max(short, 1):
        raise CheckFailed(
            f"{name}: the values are right, but the work runs as a loop over time. Its "
            f"longest chain of tensor operations that wait for each other is {short} "
            f"operations for T = {SHORT_T} and {long} for T = {LONG_T}: {long / max(short, 1):.0f}"
            f" times longer for a {LONG_T // SHORT_T} times longer sequence, like the loop's "
            f"T steps. {advice}"
        )


@exercise("08", reference=scan.combine, gradients=True)
def combine(student_fn) -> int:
    """Check ``combine((a1, b1), (a2, b2)) -> (a, b)``: the map h -> a * h + b of "first
    (a1, b1), then (a2, b2)". All four tensors share one shape, (B, H), (B, T, H) or (H,)."""
    cases = [((2, 3), F32), ((1, 4), F32), ((3, 2), F64), ((2, 6, 3), F32), ((5,), F32)]
    for k, (shape, dtype) in enumerate(cases):
        g = generator(190 + k)
        a1, b1, a2, b2 = (randn(g, *shape) for _ in range(4))
        case = case_name(k + 1, "shape " + str(shape), dtype)
        want_a, want_b = a1 * a2, a2 * b1 + b2
        args = ((a1, b1), (a2, b2))
        got = call("combine", student_fn, *args, dtype=dtype)
        if not (isinstance(got, tuple | list) and len(got) == 2):
            raise CheckFailed(f"combine: expected a pair (a, b), got {type(got).__name__}.")
        a, b = got
        one_decay = "a holds one step's decay only; the combined step applies both decays."
        mistakes = [
            (
                "the decays were added; applying one step after the other multiplies h by "
                "each decay in turn.",
                a1 + a2,
            ),
            (one_decay, a1),
            (one_decay, a2),
            (
                "the pair is returned in the wrong order: the decay comes first, then the "
                "input term.",
                want_b,
            ),
        ]
        compare("combine", case, a, want_a, what="a", mistakes=mistakes)
        mistakes = {
            "the order is wrong: (a1, b1) is the earlier step, so b1 passes through the "
            "LATER step's decay, and b2 enters after it.": a1 * b2 + b1,
            "b1 must pass through the second step too: the later decay scales what the "
            "first step produced.": b1 + b2,
            "b1 was scaled by its own step's decay a1; it is scaled by the later step's.": (
                a1 * b1 + b2
            ),
            "b2 was scaled too: the later step's input term enters after its decay.": (
                a2 * (b1 + b2)
            ),
            "b1 was scaled by both decays; only the later step's acts on it.": a1 * a2 * b1 + b2,
        }
        order = f"{case}; applying first, then second, to h gives a2 * (a1 * h + b1) + b2"
        compare("combine", order, b, want_b, what="b", mistakes=mistakes)
        if k in (0, 3):
            wrt = ("first[0]", "first[1]", "second[0]", "second[1]")
            check_gradients("combine", case, student_fn, args, wrt=wrt)
    return len(cases)


def _rounds(a, b, *, swap=False, offsets=None):
    """Hillis-Steele rounds, (B, T, H) -> hs; as mistakes, ``swap`` combines each position's
    own pair first, ``offsets`` replaces the doubling offsets 1, 2, 4, ... ."""
    T = a.shape[1]
    if offsets is None:
        offsets = [2**k for k in range(max(T - 1, 0).bit_length())]
    for d in offsets:
        left, own = (a[:, :-d], b[:, :-d]), (a[:, d:], b[:, d:])
        new_a, new_b = scan.combine(*((own, left) if swap else (left, own)))
        a, b = torch.cat([a[:, :d], new_a], 1), torch.cat([b[:, :d], new_b], 1)
    return b


def _broken_combine(student_fn) -> str:
    """Why the ``combine`` next to the student's scan gives wrong pairs, or ''."""
    helper = getattr(student_fn, "__globals__", {}).get("combine")
    calls = "combine" in getattr(getattr(student_fn, "__code__", None), "co_names", ())
    ours = scan.combine in (helper, getattr(helper, "__wrapped__", None))
    if not calls or not callable(helper) or ours:
        return ""
    g = generator(205)
    first, second = (randn(g, 2, 3), randn(g, 2, 3)), (randn(g, 2, 3), randn(g, 2, 3))
    try:
        got = helper(first, second)
        right = all(close(x, y) for x, y in zip(got, scan.combine(first, second), strict=True))
    except Exception:  # noqa: BLE001 (a stub or a broken helper: say so)
        right = False
    if right:
        return ""
    return (
        "your combine, which linear_scan calls, does not pass checks.combine yet: make its "
        "check cell pass first."
    )


def _coefficients(g: torch.Generator, T: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Gates a and inputs b, each (1, T, 2), for the depth measurement."""
    return _decays(g, 1, T, 2, "gates"), randn(g, 1, T, 2)


def _decays(g: torch.Generator, B: int, T: int, H: int, kind: str) -> torch.Tensor:
    """Decays (B, T, H), exact in float32: values in (-0.25, 1.25), or gates in (0.05, 0.95)
    except in the last unit (when H > 1), whose gates in (0.998, 1) remember for long."""
    low, width = (-0.25, 1.5) if kind == "any" else (0.05, 0.9)
    a = torch.rand(B, T, H, generator=g, dtype=F64) * width + low
    if kind == "gates" and H > 1:
        a[..., -1] = 1 - 0.002 * torch.rand(B, T, generator=g, dtype=F64)
    return a.float().double()


@exercise(
    "08",
    reference=scan.hillis_steele_scan,
    forbidden=_the_course(*(f for f in SCANS if f is not scan.hillis_steele_scan)) + TORCH_SCAN,
    gradients=True,
)
def scan_equals_loop(student_fn) -> int:
    """Check ``linear_scan(a, b) -> hs``, all states h_1 ... h_T of h_t = a_t * h_{t-1} + b_t,
    h_0 = 0: a, b, hs (B, T, H). Up to T = 3000 with gates whose running product underflows;
    gradients reach a and b; no loop over time."""
    name = "scan_equals_loop"
    cases = [  # B, T, H, decays, dtype
        (2, 5, 3, "any", F32),
        (1, 8, 2, "any", F32),
        (3, 7, 1, "any", F32),
        (2, 1, 3, "any", F32),
        (4, 13, 2, "any", F64),
        (2, 1024, 3, "gates", F32),
        (1, 3000, 2, "gates", F64),
    ]
    for k, (B, T, H, kind, dtype) in enumerate(cases):
        g = generator(200 + k)
        a, b = _decays(g, B, T, H, kind), randn(g, B, T, H)
        note = ", gates in (0, 1)" if kind == "gates" else ""
        case = case_name(k + 1, f"B={B}, T={T}, H={H}", dtype, note)
        expected = scan.linear_recurrence_loop(a, b)
        got = _call(name, student_fn, a, b, dtype=dtype)
        helper = _broken_combine(student_fn)
        if helper and not close(got, expected):
            raise CheckFailed(f"{name}, {case}: wrong values; {helper}")
        doubling = [2**j for j in range((T - 1).bit_length())]
        shown = doubling if len(doubling) <= 4 else [*doubling[:3], "...", doubling[-1]]
        early = (
            f"the rounds stop too early: d keeps doubling while d < T (T = {T} needs d = "
            f"{', '.join(map(str, shown))})."
        )
        zero = torch.zeros(B, 1, H, dtype=a.dtype)
        mistakes = [
            (
                "the states are shifted by one: hs[:, 0] is h_1 = b_1, not h_0.",
                torch.cat([zero, expected[:, :-1]], 1),
            ),
            (
                "the scan runs backwards in time; h_t depends on steps 1..t.",
                scan.linear_recurrence_loop(a.flip(1), b.flip(1)).flip(1),
            ),
            (
                "each b_s was also scaled by its own a_s; b_s enters unscaled at step s.",
                scan.linear_recurrence_loop(a, a * b),
            ),
            (
                "only the total a_1 ... a_t was used; each b_s is scaled by the a's AFTER step s.",
                a.cumprod(1) * b.cumsum(1),
            ),
            (
                "the pairs are combined in the wrong order: the partner d places to the left "
                "holds the earlier steps, so it goes first.",
                _rounds(a, b, swap=True),
            ),
            *((early, _rounds(a, b, offsets=doubling[:j])) for j in range(len(doubling))),
            (
                "d must double every round (1, 2, 4, ...): with d += 1 some steps are "
                "composed twice.",
                _rounds(a, b, offsets=range(1, T)),
            ),
        ]
        hints = {(B, H): "only the last state was returned; return all T states."}
        hint = _unstable(T, got, "the decays", BY_PAIRS) if T > 100 else ""
        compare(name, case, got, expected, mistakes=mistakes, shape_hints=hints, hint=hint)
        if k in (0, 4):
            check_gradients(name, case, student_fn, (a, b), wrt=("a", "b"))
    _reject_loop_over_time(
        name,
        lambda T: call(name, student_fn, *_coefficients(generator(210), T)),
        "A scan needs about log2 T rounds: in round k, every position combines with the "
        "one d = 1, 2, 4, ... places to its left, all positions at once (Hillis-Steele).",
    )
    return len(cases)


def _min_gru_reference(x, h0, U_z, b_z, U_n, b_n):
    """minGRU over a whole sequence by one scan: x (B, T, I), h0 (B, H) -> hs (B, T, H)."""
    z = torch.sigmoid(x @ U_z.T + b_z)
    return scan.hillis_steele_scan(1 - z, z * (x @ U_n.T + b_n), h0)


def _min_gru_loop(x, h0, U_z, b_z, U_n, b_n, *, swap=False, tanh=False):
    """minGRU step by step, optionally with a typical mistake: (B, T, H)."""
    h, hs = h0, []
    for t in range(x.shape[1]):
        z = torch.sigmoid(x[:, t] @ U_z.T + b_z)
        n = x[:, t] @ U_n.T + b_n
        n = torch.tanh(n) if tanh else n
        h = z * h + (1 - z) * n if swap else (1 - z) * h + z * n
        hs.append(h)
    return torch.stack(hs, 1)


@exercise(
    "08",
    reference=_min_gru_reference,
    forbidden=_the_course(*SCANS, advice=ON_YOUR_SCAN)
    + tuple((t, w, ON_YOUR_SCAN) for t, w in TORCH_SCAN)
    + _the_course(scan.MinGRU, scan.MinGRU.coefficients, scan.MinGRU.step),
    gradients=True,
)
def min_gru_forward(student_fn) -> int:
    """Check ``min_gru_forward(x, h0, U_z, b_z, U_n, b_n) -> hs`` on the student's own scan:
    z(t) = sigmoid(U_z x(t) + b_z), n(t) = U_n x(t) + b_n, h(t) = (1 - z(t)) * h(t-1) +
    z(t) * n(t); x (B, T, I), h0 (B, H), U_z, U_n (H, I), b_z, b_n (H,); hs (B, T, H),
    h(1) ... h(T). Gradients reach every input and weight; no loop over time."""
    name = "min_gru_forward"
    cases = [  # B, T, I, H, weight scale, dtype
        (2, 6, 3, 4, 0.8, F32),
        (1, 9, 2, 3, 0.8, F32),
        (3, 5, 1, 2, 0.8, F32),
        (2, 1, 3, 2, 0.8, F64),
        (4, 7, 4, 3, 0.8, F64),
        (5, 12, 32, 128, 0.2, F32),
        (2, 1024, 2, 3, 0.8, F32),
    ]
    for k, (B, T, I, H, scale, dtype) in enumerate(cases):
        g = generator(220 + k)
        module = torch_module(g, scan.MinGRU, I, H, scale=scale)
        x, h0 = randn(g, B, T, I), randn(g, B, H)
        weights = [p.detach() for p in module.parameters()]  # U_z, b_z, U_n, b_n
        with torch.no_grad():
            expected = module(x, h0)
            a, b = module.coefficients(x)  # the decays 1 - z and the input terms z * n
        if not close(expected, _min_gru_loop(x, h0, *weights), atol=1e-9, rtol=1e-9):
            raise RuntimeError("min_gru_forward: scan.MinGRU and its step loop disagree.")
        case = case_name(k + 1, f"B={B}, T={T}, I={I}, H={H}", dtype)
        args = (x, h0, *weights)
        got = _call(name, student_fn, *args, dtype=dtype)
        mistakes = {
            "z and 1 - z are swapped: z(t) weighs the new candidate, so the scan's "
            "lambda(t) is the share of h(t-1) that stays.": _min_gru_loop(
                x, h0, *weights, swap=True
            ),
            "h(0) was ignored, as if the state started at zero: the scan starts from "
            "zero, so h(0) must enter through the first step's input term.": _min_gru_loop(
                x, torch.zeros_like(h0), *weights
            ),
            "h(0) entered the first input term without its decay: it passes through "
            "step 1's lambda(1), as any earlier state does.": scan.linear_recurrence_loop(
                a, torch.cat([b[:, :1] + h0[:, None], b[:, 1:]], 1)
            ),
            "the candidate of minGRU has no tanh: n(t) is linear in x(t).": _min_gru_loop(
                x, h0, *weights, tanh=True
            ),
            "the states are shifted by one step: hs[:, 0] is h(1), not h(0).": torch.cat(
                [h0[:, None], expected[:, :-1]], 1
            ),
        }
        hints = {
            (B, T + 1, H): "h(0) was returned as a first state; return h(1) ... h(T).",
            (B, H): "only the last state was returned; return all T states.",
        }
        hint = _unstable(T, got, "the decays 1 - z", ON_A_SCAN) if T > 100 else ""
        compare(name, case, got, expected, mistakes=mistakes, shape_hints=hints, hint=hint)
        if k in (0, 4):
            wrt = ("U_z", "b_z", "U_n", "b_n", "x", "h0")  # the gate first: a cut z names U_z
            check_gradients(name, case, student_fn, args, wrt=wrt)
    g = generator(230)
    weights = [randn(g, 2, 1), randn(g, 2), randn(g, 2, 1), randn(g, 2)]
    _reject_loop_over_time(
        name,
        lambda T: call(name, student_fn, randn(g, 1, T, 1), randn(g, 1, 2), *weights),
        "Compute z(t) and n(t) for all steps at once (a matrix product works on inputs of "
        "shape (B, T, I)), then hand the decays and input terms of all steps to your scan.",
    )
    return len(cases)
