"""Checkers for notebook 08: the associative operator of a linear recurrence, and scans."""

from __future__ import annotations

import torch

from ._framework import call, compare, exercise, generator, randn


@exercise("08")
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


@exercise("08")
def scan_equals_loop(student_fn) -> int:
    """Check ``linear_scan(a, b) -> hs``: all states of h_t = a_t * h_{t-1} + b_t, h_0 = 0.

    Shapes: a, b (B, T, H); returns hs (B, T, H) (h_1 ... h_T), computed any way you like
    (e.g. with combine and a scan); compared with a plain loop.
    """
    cases = [(2, 5, 3), (1, 8, 2), (3, 7, 1)]
    for seed, (B, T, H) in enumerate(cases):
        g = generator(200 + seed)
        a = torch.rand(B, T, H, generator=g, dtype=torch.float64) * 1.5 - 0.25
        b = randn(g, B, T, H)
        expected = _loop(a, b)
        got = call("scan_equals_loop", student_fn, a.clone(), b.clone())
        zero = torch.zeros(B, 1, H, dtype=a.dtype)
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
            },
            shape_hints={(B, H): "only the last state was returned; return all T states."},
        )
    return len(cases)
