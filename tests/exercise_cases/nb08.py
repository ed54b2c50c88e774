"""Notebook 08: the combine operator, a scan, and minGRU on the scan, right and wrong."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rnncourse import checks, scan

try:
    from torch._higher_order_ops.associative_scan import associative_scan
except ImportError:  # older torch
    associative_scan = None


def course_scan():
    """What ``checks.use("scan_equals_loop")`` hands out before a student's scan passes."""
    return checks.reference("scan_equals_loop")


# --- combine --------------------------------------------------------------------------------


def combine_right(first, second):
    a1, b1 = first
    a2, b2 = second
    return a2 * a1, a2 * b1 + b2


def combine_in_place(first, second):
    a1, b1 = first
    a2, b2 = second
    return a2 * a1, b2.addcmul_(a2, b1)  # writes the sum into the given b2


def combine_detached_decay(first, second):
    a1, b1 = first
    a2, b2 = second
    return a2 * a1, a2.detach() * b1 + b2


def combine_float64(first, second):
    return tuple(v.double() for v in combine_right(first, second))


def combine_via_course(first, second):
    return scan.combine(first, second)


# --- linear_scan ------------------------------------------------------------------------------


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
        if mode == "detach":
            new_a = new_a.detach()
        a, b = torch.cat([a[:, :d], new_a], 1), torch.cat([b[:, :d], new_b], 1)
        d = d + 1 if mode == "plus_one" else 2 * d
    return b


def ten_rounds(a, b):
    """Right up to T = 1024 only: a fixed number of rounds."""
    for k in range(10):
        d = 2**k
        new_a, new_b = scan.combine((a[:, :-d], b[:, :-d]), (a[:, d:], b[:, d:]))
        a, b = torch.cat([a[:, :d], new_a], 1), torch.cat([b[:, :d], new_b], 1)
    return b


def rounds_written_back(a, b, copy=False):
    """Each round written into the tensors (the given ones, or copies)."""
    if copy:
        a, b = a.clone(), b.clone()
    d = 1
    while d < a.shape[1]:
        new_a, new_b = scan.combine((a[:, :-d], b[:, :-d]), (a[:, d:], b[:, d:]))
        a[:, d:] = new_a
        b[:, d:] = new_b
        d *= 2
    return b


def cumulative_scan(a, b):
    """The closed form with running products: right on paper, nan once they underflow."""
    prefix = torch.cumprod(a, 1)
    return prefix * torch.cumsum(b / prefix, 1)


def padded_rounds(a, b):
    """Hillis-Steele with the partner found by padding identity steps (a = 1, b = 0) in front."""
    d, T = 1, a.shape[1]
    while d < T:
        a_left = F.pad(a, (0, 0, d, 0), value=1.0)[:, :T]
        b_left = F.pad(b, (0, 0, d, 0))[:, :T]
        a, b = a_left * a, a * b_left + b
        d *= 2
    return b


def halves(a, b):
    """Divide and conquer: scan both halves, then carry the left half's end into the right."""
    T = a.shape[1]
    if T == 1:
        return b
    m = T // 2
    h_left, h_right = halves(a[:, :m], b[:, :m]), halves(a[:, m:], b[:, m:])
    decay = torch.cumprod(a[:, m:], 1)  # at most T / 2 gates of one half
    return torch.cat([h_left, h_right + decay * h_left[:, -1:]], 1)


def blocks(a, b, L=8):
    """The blocked scan: blocks of L steps side by side, their ends carried across."""
    B, T, H = a.shape
    C = -(-T // L)
    a = torch.cat([a, a.new_ones(B, C * L - T, H)], 1).reshape(B, C, L, H)
    b = torch.cat([b, b.new_zeros(B, C * L - T, H)], 1).reshape(B, C, L, H)
    h = torch.zeros_like(b[:, :, 0])
    for i in range(L):
        h = a[:, :, i] * h + b[:, :, i]
    gain = a.prod(2)
    carry, entering = torch.zeros_like(h[:, 0]), []
    for c in range(C):
        entering.append(carry)
        carry = gain[:, c] * carry + h[:, c]
    h, out = torch.stack(entering, 1), []
    for i in range(L):
        h = a[:, :, i] * h + b[:, :, i]
        out.append(h)
    return torch.stack(out, 2).reshape(B, C * L, H)[:, :T]


def scan_with_wrong_combine(body="return p[0] * q[0], p[0] * q[1] + p[1]"):
    """A right scan whose notebook's ``combine`` gives wrong pairs (or is a stub)."""
    namespace = {"torch": torch, "rounds_scan": rounds_scan}
    exec(f"def combine(p, q):\n    {body}\n", namespace)
    exec("def linear_scan(a, b):\n    return rounds_scan(a, b, combine=combine)\n", namespace)
    return namespace["linear_scan"]


# --- min_gru_forward ------------------------------------------------------------------------


def min_gru(x, h0, U_z, b_z, U_n, b_n, mode="right"):
    z = torch.sigmoid(x @ U_z.T + b_z)
    n = x @ U_n.T + b_n
    if mode == "tanh":
        n = torch.tanh(n)
    if mode == "detach_gate":
        z = z.detach()
    lam, u = (z, (1 - z) * n) if mode == "swap" else (1 - z, z * n)
    if mode == "loop":
        h, hs = h0, []
        for t in range(x.shape[1]):
            h = lam[:, t] * h + u[:, t]
            hs.append(h)
        return torch.stack(hs, 1)
    first = {"no_h0": u[:, 0], "unscaled": h0 + u[:, 0]}.get(mode, lam[:, 0] * h0 + u[:, 0])
    u = torch.cat([first[:, None], u[:, 1:]], 1)
    if mode == "course_scan":
        hs = scan.hillis_steele_scan(lam, u)
    elif mode == "parallel_scan":
        hs = scan.parallel_scan(lam, u, method="blelloch")
    elif mode == "cumulative":
        hs = cumulative_scan(lam, u)
    else:
        hs = course_scan()(lam, u)
    if mode == "shift":
        return torch.cat([h0[:, None], hs[:, :-1]], 1)
    return torch.cat([h0[:, None], hs], 1) if mode == "with_h0" else hs


def _wrong(mode):
    return lambda *args: min_gru(*args, mode=mode)


def min_gru_einsum(x, h0, U_z, b_z, U_n, b_n):
    """With einsum and F.linear, h(0) as an extra first step (decay 0, input term h(0))."""
    z = torch.sigmoid(torch.einsum("bti,hi->bth", x, U_z) + b_z)
    n = F.linear(x, U_n, b_n)
    lam = torch.cat([torch.zeros_like(h0)[:, None], 1 - z], 1)
    u = torch.cat([h0[:, None], z * n], 1)
    return course_scan()(lam, u)[:, 1:]


def min_gru_own_scan(x, h0, U_z, b_z, U_n, b_n):
    """On a scan of its own (padded rounds), with addcmul."""
    z = torch.sigmoid(F.linear(x, U_z, b_z))
    lam = 1 - z
    u = z * F.linear(x, U_n, b_n)
    u = torch.cat([torch.addcmul(u[:, :1], lam[:, :1], h0[:, None]), u[:, 1:]], 1)
    return padded_rounds(lam, u)


def min_gru_x_in_place(x, h0, U_z, b_z, U_n, b_n):
    x[:, :1] = x[:, :1] * 1  # item assignment into the given x
    return min_gru(x, h0, U_z, b_z, U_n, b_n)


def min_gru_float64(*args):
    return min_gru(*args).double()


def min_gru_module(x, h0, U_z, b_z, U_n, b_n):
    layer = scan.MinGRU(x.shape[-1], h0.shape[-1]).to(x.dtype)
    with torch.no_grad():
        for p, w in zip(layer.parameters(), (U_z, b_z, U_n, b_n), strict=True):
            p.copy_(w)
    return layer(x, h0)


def min_gru_stub_scan():
    """A right minGRU whose notebook's scan is still a stub."""
    namespace = {"torch": torch}
    exec("def linear_scan(a, b):\n    raise NotImplementedError()\n", namespace)
    exec(
        "def min_gru_forward(x, h0, U_z, b_z, U_n, b_n):\n"
        "    z = torch.sigmoid(x @ U_z.T + b_z)\n"
        "    u = z * (x @ U_n.T + b_n)\n"
        "    return linear_scan(1 - z, u)\n",
        namespace,
    )
    return namespace["min_gru_forward"]


CASES = {
    "combine": (
        combine_right,
        [
            (lambda p, q: (p[0] * q[0], p[0] * q[1] + p[1]), "order is wrong"),
            (lambda p, q: (p[0] * q[0], p[1] + q[1]), "must pass through the second step"),
            (lambda p, q: (p[0] * q[0], p[0] * p[1] + q[1]), "its own step's decay"),
            (lambda p, q: (p[0] * q[0], q[0] * (p[1] + q[1])), "b2 was scaled too"),
            (lambda p, q: (p[0] * q[0], p[0] * q[0] * p[1] + q[1]), "scaled by both decays"),
            (lambda p, q: (p[0] + q[0], q[0] * p[1] + q[1]), "decays were added"),
            (lambda p, q: (q[0], q[0] * p[1] + q[1]), "one step's decay only"),
            (lambda p, q: combine_right(p, q)[::-1], "pair is returned in the wrong order"),
            (combine_in_place, "changed its input `second[1]` in place"),
            (
                lambda p, q: (combine_right(p, q)[0].detach(), combine_right(p, q)[1]),
                "no gradient reaches first[0]",
            ),
            (combine_detached_decay, "differs from autograd"),
            (combine_float64, "dtype"),
            (combine_via_course, "reference answer"),
        ],
    ),  # fmt: skip
    "scan_equals_loop": (
        rounds_scan,
        [
            (linear_scan, "loop over time"),
            (lambda a, b: linear_scan(a, b, "shift"), "shifted by one"),
            (lambda a, b: linear_scan(a, b, "own_a"), "its own a_s"),
            (lambda a, b: linear_scan(a.flip(1), b.flip(1)).flip(1), "backwards in time"),
            (lambda a, b: rounds_scan(a, b, "swap"), "wrong order"),
            (lambda a, b: rounds_scan(a, b, "short"), "rounds stop too early"),
            (ten_rounds, "rounds stop too early: d keeps doubling while d < T (T = 3000"),
            (lambda a, b: rounds_scan(a, b, "plus_one"), "composed twice"),
            (scan_with_wrong_combine(), "does not pass checks.combine"),
            (scan_with_wrong_combine("raise NotImplementedError()"), "not written yet"),
            (cumulative_scan, "numerically unstable at T = 1024"),
            (rounds_written_back, "changed its input `a` in place"),
            (lambda a, b: rounds_written_back(a, b, copy=True), "cannot differentiate"),
            (lambda a, b: rounds_scan(a, b).detach(), "no gradient reaches a"),
            (lambda a, b: rounds_scan(a, b, "detach"), "differs from autograd"),
            (lambda a, b: rounds_scan(a, b).double(), "dtype"),
            (lambda a, b: scan.parallel_scan(a, b), "calls the course's scan.parallel_scan"),
            (lambda a, b: scan.blelloch_scan(a, b), "calls the course's scan.blelloch_scan"),
            (lambda a, b: scan.blocked_scan(a, b), "calls the course's scan.blocked_scan"),
            (lambda a, b: scan.hillis_steele_scan(a, b), "reference answer"),
            (lambda a, b: course_scan()(a, b), "reference answer"),  # its own, handed out
        ]
        + (
            []
            if associative_scan is None
            else [
                (
                    lambda a, b: associative_scan(
                        lambda p, q: (q[0] * p[0], q[0] * p[1] + q[1]),
                        (a, b),
                        dim=1,
                        combine_mode="generic",
                    )[1],
                    "associative_scan",
                )
            ]
        ),
    ),
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
            (_wrong("course_scan"), "scan.hillis_steele_scan instead of your own linear_scan"),
            (_wrong("parallel_scan"), "scan.parallel_scan instead of your own linear_scan"),
            (_wrong("cumulative"), "numerically unstable at T = 1024"),
            (_wrong("detach_gate"), "no gradient reaches U_z"),
            (lambda *args: min_gru(*args).detach(), "no gradient reaches any input"),
            (min_gru_x_in_place, "changed its input `x` in place"),
            (min_gru_float64, "dtype"),
            (min_gru_module, "scan.MinGRU"),
            (min_gru_stub_scan(), "calls linear_scan, which is not written yet"),
        ],
    ),
}

RIGHT = {
    "combine": [
        lambda first, second: [
            torch.mul(first[0], second[0]),
            torch.addcmul(second[1], second[0], first[1]),
        ],
        lambda p, q: (q[0] * p[0], p[1] * q[0] + q[1]),
    ],  # fmt: skip
    "scan_equals_loop": [padded_rounds, halves, blocks],
    "min_gru_forward": [min_gru_einsum, min_gru_own_scan],
}
