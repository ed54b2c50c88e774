"""Checkers for notebook 08: the combine operator, a scan, and minGRU built on the scan.

A scan must not only give the loop's states, it must also avoid the loop's chain of T
dependent steps: the checkers measure the longest chain of dependent tensor operations
(:func:`rnncourse.depth.measure_depth`) at two lengths, 16 times apart. A loop's chain
grows 16-fold; a tree scan's (about log2 T rounds) grows less than 2-fold, a blocked
scan's (about sqrt T) 4-fold. More than 8-fold is reported as a loop over time.
"""

from __future__ import annotations

import torch

from rnncourse import scan
from rnncourse.depth import measure_depth

from .._random import generator
from ._contract import call
from ._framework import NotAttempted, close, compare, exercise, randn

SHORT_T, LONG_T = 32, 512
LOOP_GROWTH = 8  # chain growth over a 16-fold length that counts as a loop over time


def _reject_loop_over_time(name: str, run, advice: str) -> None:
    """Raise when the chain of dependent operations of ``run(T)`` grows in proportion to T.

    ``run(T)`` calls the student's function on inputs of length T.
    """
    short, long = (measure_depth(run, T).depth for T in (SHORT_T, LONG_T))
    if long > LOOP_GROWTH * max(short, 1):
        raise AssertionError(
            f"{name}: the values are right, but the work runs as a loop over time. Its "
            f"longest chain of tensor operations that wait for each other is {short} "
            f"operations for T = {SHORT_T} and {long} for T = {LONG_T}: {long / max(short, 1):.0f}"
            f" times longer for a {LONG_T // SHORT_T} times longer sequence, like the loop's "
            f"T steps. {advice}"
        )


@exercise("08", reference=scan.combine)
def combine(student_fn) -> int:
    """Check ``combine((a1, b1), (a2, b2)) -> (a, b)`` for h_t = a_t * h_{t-1} + b_t.

    Each pair stands for the map h -> a * h + b; combine returns the map "first (a1, b1),
    then (a2, b2)": (a1 * a2, a2 * b1 + b2). All tensors have the same shape (B, H).
    """
    cases = [(2, 3), (1, 4), (3, 2)]
    for seed, (B, H) in enumerate(cases):
        g = generator(190 + seed)
        a1, b1, a2, b2 = (randn(g, B, H) for _ in range(4))
        got = call("combine", student_fn, (a1.clone(), b1.clone()), (a2.clone(), b2.clone()))
        if not (isinstance(got, tuple | list) and len(got) == 2):
            raise AssertionError(f"combine: expected a pair (a, b), got {type(got).__name__}.")
        a, b = (torch.as_tensor(v) for v in got)
        compare("combine", f"case {seed + 1} (B={B}, H={H})", a, a1 * a2, what="a")
        compare(
            "combine",
            f"case {seed + 1} (B={B}, H={H}); applying the two steps to h gives "
            "a2 * (a1 * h + b1) + b2",
            b,
            a2 * b1 + b2,
            what="b",
            mistakes={
                "the order is wrong: (a1, b1) comes first, so b1 is scaled by the LATER "
                "a2: b = a2 * b1 + b2.": a1 * b2 + b1,
                "b1 must be carried through the second step: b = a2 * b1 + b2.": b1 + b2,
                "b1 was scaled by its own a1; it is scaled by the later step's a2.": (a1 * b1 + b2),
            },
        )
    return len(cases)


def _loop(a, b):
    h, hs = torch.zeros_like(b[:, 0]), []
    for t in range(a.shape[1]):
        h = a[:, t] * h + b[:, t]
        hs.append(h)
    return torch.stack(hs, 1)


def _rounds(a, b, *, swap=False, offsets=None):
    """Hillis-Steele rounds, optionally with a typical mistake: (B, T, H) -> hs.

    ``swap`` combines each position's own pair first and its left partner second;
    ``offsets`` replaces the doubling offsets 1, 2, 4, ... .
    """
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
    if not callable(helper) or helper is scan.combine:
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


def _call_scan(student_fn, a, b):
    """Call the student's scan; a stub ``combine`` inside it is named as such."""
    try:
        return call("scan_equals_loop", student_fn, a, b)
    except NotAttempted as err:
        helper = getattr(student_fn, "__globals__", {}).get("combine")
        tb = err.__cause__.__traceback__ if err.__cause__ is not None else None
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        if tb is not None and tb.tb_frame.f_code is getattr(helper, "__code__", None):
            raise AssertionError(
                "scan_equals_loop: your linear_scan calls combine, which is not written yet: "
                "do the combine exercise first."
            ) from None
        raise


def _coefficients(T: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Gates a in (0.05, 0.95) and inputs b, each (1, T, 2), for the depth measurement."""
    g = generator(seed)
    a = torch.rand(1, T, 2, generator=g, dtype=torch.float64) * 0.9 + 0.05
    return a, randn(g, 1, T, 2)


@exercise("08", reference=scan.hillis_steele_scan)
def scan_equals_loop(student_fn) -> int:
    """Check ``linear_scan(a, b) -> hs``: all states of h_t = a_t * h_{t-1} + b_t, h_0 = 0.

    Shapes: a, b (B, T, H); returns hs (B, T, H) (h_1 ... h_T). Compared with a plain loop
    on three cases; then the chain of dependent operations must grow more slowly than T
    (a scan, not a loop over time).
    """
    cases = [(2, 5, 3), (1, 8, 2), (3, 7, 1)]
    for seed, (B, T, H) in enumerate(cases):
        g = generator(200 + seed)
        a = torch.rand(B, T, H, generator=g, dtype=torch.float64) * 1.5 - 0.25
        b = randn(g, B, T, H)
        expected = _loop(a, b)
        got = _call_scan(student_fn, a.clone(), b.clone())
        zero = torch.zeros(B, 1, H, dtype=a.dtype)
        helper = _broken_combine(student_fn)
        if helper and not close(got, expected):
            raise AssertionError(f"scan_equals_loop, case {seed + 1}: wrong values; {helper}")
        doubling = [2**k for k in range((T - 1).bit_length())]
        compare(
            "scan_equals_loop",
            f"case {seed + 1} (B={B}, T={T}, H={H})",
            got,
            expected,
            mistakes={
                "the states are shifted by one: hs[:, 0] is h_1 = b_1, not h_0.": torch.cat(
                    [zero, expected[:, :-1]], 1
                ),
                "the scan runs backwards in time; h_t depends on steps 1..t.": _loop(
                    a.flip(1), b.flip(1)
                ).flip(1),
                "each b_s was also scaled by its own a_s; b_s enters unscaled at step s.": (
                    _loop(a, a * b)
                ),
                "only the total a_1 ... a_t was used; each b_s is scaled by the a's "
                "AFTER step s.": a.cumprod(1) * b.cumsum(1),
                "the pairs are combined in the wrong order: the partner d places to the "
                "left holds the earlier steps, so it goes first.": _rounds(a, b, swap=True),
                f"the last round is missing: keep doubling d while d < T (T = {T} needs d = "
                f"{', '.join(map(str, doubling))}).": _rounds(a, b, offsets=doubling[:-1]),
                "d must double every round (1, 2, 4, ...): with d += 1 some steps are "
                "composed twice.": _rounds(a, b, offsets=range(1, T)),
            },
            shape_hints={(B, H): "only the last state was returned; return all T states."},
        )
    _reject_loop_over_time(
        "scan_equals_loop",
        lambda T: call("scan_equals_loop", student_fn, *_coefficients(T, 210)),
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


def _min_gru_module(g, I: int, H: int) -> scan.MinGRU:
    """A float64 ``scan.MinGRU`` with weights drawn from ``g`` (global RNG untouched)."""
    with torch.random.fork_rng(devices=[]):
        module = scan.MinGRU(I, H).double()
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(randn(g, *p.shape, scale=0.8))
    return module


@exercise("08", reference=_min_gru_reference)
def min_gru_forward(student_fn) -> int:
    """Check ``min_gru_forward(x, h0, U_z, b_z, U_n, b_n) -> hs``, computed with a scan.

    minGRU: z(t) = sigmoid(U_z x(t) + b_z), n(t) = U_n x(t) + b_n,
    h(t) = (1 - z(t)) * h(t-1) + z(t) * n(t). Shapes: x (B, T, I), h0 (B, H), U_z and U_n
    (H, I), b_z and b_n (H,); returns hs (B, T, H) (h(1) ... h(T)). Compared with
    ``rnncourse.scan.MinGRU`` and with a step-by-step loop; then, as for the scan, the
    chain of dependent operations must grow more slowly than T.
    """
    cases = [(2, 6, 3, 4), (1, 9, 2, 3), (3, 5, 1, 2)]
    for seed, (B, T, I, H) in enumerate(cases):
        g = generator(220 + seed)
        module = _min_gru_module(g, I, H)
        x, h0 = randn(g, B, T, I), randn(g, B, H)
        weights = [module.gate.weight, module.gate.bias]
        weights += [module.candidate.weight, module.candidate.bias]
        weights = [w.detach() for w in weights]
        with torch.no_grad():
            expected = module(x, h0)
        loop = _min_gru_loop(x, h0, *weights)
        if not close(expected, loop, atol=1e-9, rtol=1e-9):
            raise RuntimeError("min_gru_forward: scan.MinGRU and its step loop disagree.")
        U_z, b_z, U_n, b_n = weights
        z = torch.sigmoid(x @ U_z.T + b_z)
        a, b = 1 - z, z * (x @ U_n.T + b_n)
        unscaled = b.clone()
        unscaled[:, 0] = b[:, 0] + h0
        got = call("min_gru_forward", student_fn, x.clone(), h0.clone(), *weights)
        compare(
            "min_gru_forward",
            f"case {seed + 1} (B={B}, T={T}, I={I}, H={H})",
            got,
            expected,
            mistakes={
                "z and 1 - z are swapped: z(t) weighs the new candidate, so the scan's "
                "lambda(t) is 1 - z(t) and u(t) is z(t) * n(t).": _min_gru_loop(
                    x, h0, *weights, swap=True
                ),
                "h(0) was ignored, as if the state started at zero: fold it into the first "
                "step, u(1) becomes lambda(1) * h(0) + u(1).": _min_gru_loop(
                    x, torch.zeros_like(h0), *weights
                ),
                "h(0) was added to u(1) without its decay: h(1) = lambda(1) * h(0) + u(1), "
                "so multiply h(0) by lambda(1) first.": scan.linear_recurrence_loop(a, unscaled),
                "the candidate of minGRU has no tanh: n(t) = U_n x(t) + b_n.": _min_gru_loop(
                    x, h0, *weights, tanh=True
                ),
                "the states are shifted by one step: hs[:, 0] is h(1), not h(0).": torch.cat(
                    [h0[:, None], expected[:, :-1]], 1
                ),
            },
            shape_hints={
                (B, T + 1, H): "h(0) was returned as a first state; return h(1) ... h(T).",
                (B, H): "only the last state was returned; return all T states.",
            },
        )
    g = generator(230)
    weights = [randn(g, 2, 1), randn(g, 2), randn(g, 2, 1), randn(g, 2)]
    _reject_loop_over_time(
        "min_gru_forward",
        lambda T: call("min_gru_forward", student_fn, randn(g, 1, T, 1), randn(g, 1, 2), *weights),
        "Compute z(t) and n(t) for all steps at once (x @ U_z.T works on (B, T, I)), then "
        "hand lambda = 1 - z and u = z * n to your scan.",
    )
    return len(cases)
