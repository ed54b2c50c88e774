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
}
