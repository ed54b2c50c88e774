"""Notebook 08: minGRU computed with a scan, right and wrong."""

from __future__ import annotations

import torch

from rnncourse import scan


def min_gru(x, h0, U_z, b_z, U_n, b_n, mode="right"):
    z = torch.sigmoid(x @ U_z.T + b_z)
    n = x @ U_n.T + b_n
    if mode == "tanh":
        n = torch.tanh(n)
    lam, u = (z, (1 - z) * n) if mode == "swap" else (1 - z, z * n)
    if mode == "loop":
        h, hs = h0, []
        for t in range(x.shape[1]):
            h = lam[:, t] * h + u[:, t]
            hs.append(h)
        return torch.stack(hs, 1)
    first = {"no_h0": u[:, 0], "unscaled": h0 + u[:, 0]}.get(mode, lam[:, 0] * h0 + u[:, 0])
    hs = scan.hillis_steele_scan(lam, torch.cat([first[:, None], u[:, 1:]], 1))
    if mode == "shift":
        return torch.cat([h0[:, None], hs[:, :-1]], 1)
    return torch.cat([h0[:, None], hs], 1) if mode == "with_h0" else hs


def _wrong(mode):
    return lambda *args: min_gru(*args, mode=mode)


# the table has the shape every module of tests/exercise_cases shares (see __init__.py)
def linear_scan(a, b, mode="right"):
    h, hs = torch.zeros_like(b[:, 0]), []
    for t in range(a.shape[1]):
        if mode == "shift":
            hs.append(h)
        h = a[:, t] * h + (a[:, t] * b[:, t] if mode == "own_a" else b[:, t])
        if mode != "shift":
            hs.append(h)
    out = torch.stack(hs, 1)
    return out.flip(1) if mode == "reverse" else out


def rounds_scan(a, b, mode="right", combine=scan.combine):
    """Hillis-Steele rounds as a student writes them, calling ``combine``."""
    d, T = 1, a.shape[1]
    while d < (T + 1) // 2 if mode == "short" else d < T:
        left, own = (a[:, :-d], b[:, :-d]), (a[:, d:], b[:, d:])
        new_a, new_b = combine(*((own, left) if mode == "swap" else (left, own)))
        a, b = torch.cat([a[:, :d], new_a], 1), torch.cat([b[:, :d], new_b], 1)
        d = d + 1 if mode == "plus_one" else 2 * d
    return b


def scan_with_wrong_combine(body="return p[0] * q[0], p[0] * q[1] + p[1]"):
    """A right scan whose notebook's ``combine`` gives wrong pairs (or is a stub)."""
    namespace = {"torch": torch, "rounds_scan": rounds_scan}
    exec(f"def combine(p, q):\n    {body}\n", namespace)
    exec("def linear_scan(a, b):\n    return rounds_scan(a, b, combine=combine)\n", namespace)
    return namespace["linear_scan"]


CASES = {
    "min_gru_forward": (
        min_gru,
        [
            (_wrong("swap"), "swapped"),
            (_wrong("no_h0"), "h(0) was ignored"),
            (_wrong("unscaled"), "without its decay"),
            (_wrong("tanh"), "no tanh"),
            (_wrong("shift"), "shifted by one step"),
            (_wrong("with_h0"), "returned as a first state"),
            (_wrong("loop"), "loop over time"),
        ],
    ),
    "combine": (
        lambda p, q: (p[0] * q[0], q[0] * p[1] + q[1]),
        [
            (lambda p, q: (p[0] * q[0], p[0] * q[1] + p[1]), "order is wrong"),
            (lambda p, q: (p[0] * q[0], p[1] + q[1]), "carried through"),
            (lambda p, q: (p[0] * q[0], p[0] * p[1] + q[1]), "its own a1"),
        ],
    ),
    "scan_equals_loop": (
        rounds_scan,
        [
            (linear_scan, "loop over time"),
            (lambda a, b: linear_scan(a, b, "shift"), "shifted by one"),
            (lambda a, b: linear_scan(a, b, "own_a"), "its own a_s"),
            (lambda a, b: linear_scan(a.flip(1), b.flip(1)).flip(1), "backwards in time"),
            (lambda a, b: rounds_scan(a, b, "swap"), "wrong order"),
            (lambda a, b: rounds_scan(a, b, "short"), "last round is missing"),
            (lambda a, b: rounds_scan(a, b, "plus_one"), "composed twice"),
            (scan_with_wrong_combine(), "does not pass checks.combine"),
            (scan_with_wrong_combine("raise NotImplementedError()"), "not written yet"),
        ],
    ),
}
