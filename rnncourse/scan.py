"""Linear recurrences computed in parallel: associative scans, minGRU and an LRU-style layer.

A vanilla RNN's tanh makes it take T sequential steps. A *linear* recurrence
h(t) = a(t) * h(t-1) + b(t) (element-wise, a and b from the input only) composes two steps
into one of the same form (:func:`combine`), associatively, so all of h(1)..h(T) are a
*scan* of O(log T) parallel depth. ``a`` (the decay lambda(t)) and ``b`` (the input term)
are the scan literature's names, not the course's pre-activation or bias. Every scan takes
``a, b`` ``(B, T, H)`` and ``h0`` ``(B, H)`` (None: zero), complex where the maths allows,
and returns the states ``h`` ``(B, T, H)``.
"""

import math

import torch
from torch import nn

from rnncourse._random import generator
from rnncourse._validation import check_choice, check_float, check_int, check_tensor

__all__ = [
    "combine", "linear_recurrence_loop", "hillis_steele_scan", "blelloch_scan", "blocked_scan",
    "log_space_scan", "parallel_scan", "sequential_depth", "MinGRU", "LRU"
]  # fmt: skip


def _check_ab(a, b, h0):
    for name, t in (("a", a), ("b", b)):
        check_tensor(t, name, ("B", "T", "H"), floating=False)
        if not (t.is_floating_point() or t.is_complex()):
            raise TypeError(f"{name} must be a float or complex tensor, got {t.dtype}.")
    if a.shape != b.shape:
        raise ValueError(
            f"a and b must have the same shape (B, T, H); got a {tuple(a.shape)} and "
            f"b {tuple(b.shape)}."
        )
    if h0 is not None:
        check_tensor(h0, "h0", (a.shape[0], a.shape[2]), floating=False)


def _fold_h0(a, b, h0):
    """Absorb an initial state into the first step: b_1 <- a_1 h0 + b_1."""
    if h0 is None:
        return b
    b = b.clone()
    b[:, 0] = a[:, 0] * h0 + b[:, 0]
    return b


def _pad(a, b, n: int):
    """``a, b`` padded to ``n`` steps with identity steps (a = 1, b = 0)."""
    B, T, H = a.shape
    return torch.cat([a, a.new_ones(B, n - T, H)], 1), torch.cat([b, b.new_zeros(B, n - T, H)], 1)


def combine(first, second):
    """The associative operator of the linear recurrence h(t) = a(t) * h(t-1) + b(t).
    ``first`` ``(a_1, b_1)`` is the earlier step (or block of steps), ``second`` ``(a_2,
    b_2)`` the later (order matters); ``(a_2 * a_1, a_2 * b_1 + b_2)`` applies both to a
    state h, a_2 (a_1 h + b_1) + b_2. Any broadcastable shapes."""
    a1, b1 = first
    a2, b2 = second
    return a2 * a1, a2 * b1 + b2


def _states(a_steps, b_steps, h) -> list:
    """The states of h <- a_t * h + b_t for the pairs of ``a_steps``, ``b_steps`` in turn."""
    out = []
    for a_t, b_t in zip(a_steps, b_steps, strict=True):
        h = a_t * h + b_t
        out.append(h)
    return out


def linear_recurrence_loop(a, b, h0=None):
    """Reference: run h(t) = a(t) * h(t-1) + b(t) step by step (T sequential steps).
    ``a, b`` ``(B, T, H)``, ``h0`` ``(B, H)`` or None for zero -> ``h`` ``(B, T, H)``."""
    _check_ab(a, b, h0)
    h = torch.zeros_like(b[:, 0]) if h0 is None else h0
    return torch.stack(_states(a.unbind(1), b.unbind(1), h), dim=1)


def hillis_steele_scan(a, b, h0=None):
    """Inclusive scan by recursive doubling (Hillis & Steele 1986): depth O(log T), work
    O(T log T). At level d = 1, 2, 4, ... every position t >= d combines with position
    t - d, so after ceil(log2 T) levels each holds the composition of all steps up to it.
    Arguments and result as ``linear_recurrence_loop``."""
    _check_ab(a, b, h0)
    b = _fold_h0(a, b, h0)
    d = 1
    while d < a.shape[1]:
        a_new, b_new = combine((a[:, :-d], b[:, :-d]), (a[:, d:], b[:, d:]))
        a = torch.cat([a[:, :d], a_new], dim=1)
        b = torch.cat([b[:, :d], b_new], dim=1)
        d *= 2
    return b


def blelloch_scan(a, b, h0=None):
    """Work-efficient scan (Blelloch 1990): an up-sweep then a down-sweep over a tree.

    Padded to a power of two with identity steps (a = 1, b = 0). Up-sweep: each level
    combines neighbouring pairs of the level below. Down-sweep: the root's prefix is the
    identity, a left child's its parent's, a right child's the parent's then the left
    sibling's block; each t's prefix combined with step t gives h(t). Depth O(log T), work
    O(T). Arguments and result as ``linear_recurrence_loop``.
    """
    _check_ab(a, b, h0)
    b = _fold_h0(a, b, h0)
    B, T, H = a.shape
    a, b = _pad(a, b, 1 << max(0, (T - 1).bit_length()))  # a power of two
    levels = [(a, b)]
    while levels[-1][0].shape[1] > 1:  # up-sweep
        la, lb = levels[-1]
        levels.append(combine((la[:, 0::2], lb[:, 0::2]), (la[:, 1::2], lb[:, 1::2])))
    pa, pb = a.new_ones(B, 1, H), b.new_zeros(B, 1, H)  # root prefix: the identity
    for la, lb in reversed(levels[:-1]):  # down-sweep
        ra, rb = combine((pa, pb), (la[:, 0::2], lb[:, 0::2]))
        pa = torch.stack([pa, ra], dim=2).reshape(B, -1, H)  # interleave left, right
        pb = torch.stack([pb, rb], dim=2).reshape(B, -1, H)
    _, h = combine((pa, pb), (a, b))
    return h[:, :T]


def blocked_scan(a, b, h0=None, block: int | None = None):
    """Reduce, then scan: the blocked scan that multi-core CPUs and GPUs actually run.

    The T steps are cut into C blocks of L steps (``block``, default ceil(sqrt(T))), worked
    on side by side like one block per core: 1. *reduce*: run every block from a zero state
    and multiply its a's, so each block is one combined step; 2. *scan the blocks*: carry
    the state through the C combined steps; 3. *rescan*: run every block from its entering
    state. Depth O(sqrt T), twice the loop's work in few large tensor operations: on a CPU
    the fastest form here for wide inputs. Arguments and result as ``linear_recurrence_loop``.
    """
    _check_ab(a, b, h0)
    B, T, H = a.shape
    L = math.isqrt(T - 1) + 1 if block is None else check_int(block, "block", min_value=1)
    C = -(-T // L)
    a, b = _pad(a, b, C * L)
    a_blocks, b_blocks = a.reshape(B, C, L, H), b.reshape(B, C, L, H)
    a_steps, b_steps = a_blocks.unbind(2), b_blocks.unbind(2)  # L slabs (B, C, H)
    # 1. reduce: every block from a zero state, where its first step leaves b
    end = [b_steps[0], *_states(a_steps[1:], b_steps[1:], b_steps[0])][-1]  # (B, C, H)
    gain = a_blocks.prod(dim=2)  # (B, C, H): a block's combined a
    # 2. scan the blocks: the state entering each one
    h = torch.zeros_like(end[:, 0]) if h0 is None else h0.to(end.dtype)
    entering = [h, *_states(gain.unbind(1)[:-1], end.unbind(1)[:-1], h)]
    # 3. rescan every block from its entering state
    out = _states(a_steps, b_steps, torch.stack(entering, dim=1))
    return torch.stack(out, dim=2).reshape(B, C * L, H)[:, :T]


def log_space_scan(a, b, h0=None):
    """The closed form h(t) = sum_{s<=t} (prod_{r=s+1..t} a(r)) b(s), with cumulative ops.

    With A(t) = sum_{r<=t} log a(r), h(t) = exp(A(t)) sum_{s<=t} exp(log b(s) - A(s)): a
    ``logcumsumexp`` (minGRU's form), with the depth of ``torch.cumsum``. Needs real a > 0;
    b of either sign goes through the complex logarithm. float32 loses about |A(t)| * 1e-7
    of relative precision (use float64 or a tree scan for long sequences), and an exact
    zero in b gives NaN gradients. Arguments and result as ``linear_recurrence_loop``.
    """
    _check_ab(a, b, h0)
    if a.is_complex() or b.is_complex():
        raise TypeError("log_space_scan needs real a and b; use hillis_steele_scan for complex.")
    if bool((a <= 0).any()):
        raise ValueError("log_space_scan needs every a_t > 0 (for example gates in (0, 1)).")
    b = _fold_h0(a, b, h0)
    complex_dtype = torch.complex128 if b.dtype == torch.float64 else torch.complex64
    log_A = torch.cumsum(torch.log(a), dim=1)
    log_b = torch.log(b.to(complex_dtype))
    return torch.exp(log_A + torch.logcumsumexp(log_b - log_A, dim=1)).real


_METHODS = {
    "loop": linear_recurrence_loop,
    "hillis_steele": hillis_steele_scan,
    "blelloch": blelloch_scan,
    "blocked": blocked_scan,
    "log": log_space_scan,
}


def parallel_scan(a, b, h0=None, method: str = "hillis_steele"):
    """Compute h(t) = a(t) * h(t-1) + b(t) for all t with the chosen method.
    ``method``: ``"hillis_steele"`` (default), ``"blelloch"``, ``"blocked"``, ``"log"`` or
    ``"loop"``; arguments and result as ``linear_recurrence_loop``."""
    check_choice(method, "method", tuple(_METHODS))
    return _METHODS[method](a, b, h0)


def sequential_depth(T: int, method: str = "hillis_steele") -> int:
    """Number of dependent steps each method needs for length T (T for the loop)."""
    check_int(T, "T", min_value=1)
    check_choice(method, "method", tuple(_METHODS))
    levels = max(0, (T - 1).bit_length())
    if method == "blocked":
        L = math.isqrt(T - 1) + 1
        return 2 * L + -(-T // L) - 2  # reduce L - 1, scan the blocks C - 1, rescan L
    return {"loop": T, "hillis_steele": levels, "blelloch": 2 * levels, "log": levels}[method]


class MinGRU(nn.Module):
    """minGRU (Feng et al. 2024): a GRU whose gates see only the input, so it scans::

        z(t) = sigmoid(U_z x(t) + b_z)          update gate (``gate``), from x(t) only
        n(t) = U_n x(t) + b_n                   candidate (``candidate``): no tanh, no h(t-1)
        h(t) = (1 - z(t)) * h(t-1) + z(t) * n(t)

    ``step`` generates one step at a time. ``sequence_fn``, optional, is a whole-sequence
    function of yours, ``min_gru_forward(x (B, T, I), h0 (B, H), U_z (H, I), b_z (H,), U_n
    (H, I), b_n (H,)) -> hs (B, T, H)``: ``forward`` calls it with the layer's weights and
    biases as they are, so it trains as this layer.
    """

    def __init__(self, input_size: int, hidden_size: int, sequence_fn=None):
        super().__init__()
        self.input_size = check_int(input_size, "input_size", min_value=1)
        self.hidden_size = check_int(hidden_size, "hidden_size", min_value=1)
        if sequence_fn is not None and not callable(sequence_fn):
            raise TypeError(f"sequence_fn must be a function or None, got {sequence_fn!r}.")
        self.sequence_fn = sequence_fn
        self.gate = nn.Linear(input_size, hidden_size)
        self.candidate = nn.Linear(input_size, hidden_size)

    def coefficients(self, x):
        """x ``(B, T, I)`` -> (a, b) = (1 - z, z * n), each ``(B, T, H)``."""
        check_tensor(x, "x", ("B", "T", self.input_size))
        z = torch.sigmoid(self.gate(x))
        return 1 - z, z * self.candidate(x)

    def forward(self, x, h0=None, method: str = "hillis_steele"):
        """x ``(B, T, I)``, h0 ``(B, H)`` or None -> states ``(B, T, H)``."""
        if self.sequence_fn is None:
            a, b = self.coefficients(x)
            return parallel_scan(a, b, h0, method=method)
        x = check_tensor(x, "x", ("B", "T", self.input_size))
        shape = (x.shape[0], self.hidden_size)
        h0 = x.new_zeros(shape) if h0 is None else check_tensor(h0, "h0", shape)
        weights = (self.gate.weight, self.gate.bias, self.candidate.weight, self.candidate.bias)
        name = f"the states from {getattr(self.sequence_fn, '__name__', 'sequence_fn')}"
        return check_tensor(self.sequence_fn(x, h0, *weights), name, (*x.shape[:2], shape[1]))

    def step(self, x_t, h):
        """One sequential step: x(t) as ``x_t`` ``(B, I)``, h(t-1) ``(B, H)`` -> h(t) ``(B, H)``."""
        check_tensor(x_t, "x_t", ("B", self.input_size))
        z = torch.sigmoid(self.gate(x_t))
        return (1 - z) * h + z * self.candidate(x_t)


class LRU(nn.Module):
    """An LRU-style layer (after Orvieto et al. 2023): a diagonal complex linear recurrence::

        h(t) = lambda * h(t-1) + gamma * (B x(t))       h(t) complex, size N
        y(t) = Re(C h(t)) + D * x(t)                    y(t) real, size I (the paper's names)

    lambda = exp(-exp(nu_log) + i exp(theta_log)) (``nu_log``, ``theta_log`` ``(N,)``) lies
    inside the unit circle, initialised uniformly on the ring ``r_min <= |lambda| <= r_max
    < 1`` with phases in ``[0, max_phase]``; gamma = sqrt(1 - |lambda|^2) gives unit white
    noise a unit-variance state. ``seed`` (default 0) draws the initial parameters.
    """

    def __init__(
        self, input_size, state_size, r_min=0.4, r_max=0.99, max_phase=2 * math.pi, seed=0
    ):
        super().__init__()
        self.input_size = check_int(input_size, "input_size", min_value=1)
        self.state_size = check_int(state_size, "state_size", min_value=1)
        check_float(r_min, "r_min", min_value=0.0)
        check_float(r_max, "r_max", max_value=1.0)
        if not r_min < r_max < 1.0:
            raise ValueError(f"need 0 <= r_min < r_max < 1, got r_min={r_min}, r_max={r_max}.")
        gen = generator(seed)
        N, I = state_size, input_size
        # |lambda|^2 uniform between r_min^2 and r_max^2: uniform density on the ring.
        u1, u2 = torch.rand(N, generator=gen), torch.rand(N, generator=gen)
        mag = torch.sqrt(u1 * (r_max**2 - r_min**2) + r_min**2)
        self.nu_log = nn.Parameter(torch.log(-torch.log(mag)))
        self.theta_log = nn.Parameter(torch.log(max_phase * u2 + 1e-8))
        self.B_re = nn.Parameter(torch.randn(N, I, generator=gen) / math.sqrt(2 * I))
        self.B_im = nn.Parameter(torch.randn(N, I, generator=gen) / math.sqrt(2 * I))
        self.C_re = nn.Parameter(torch.randn(I, N, generator=gen) / math.sqrt(N))
        self.C_im = nn.Parameter(torch.randn(I, N, generator=gen) / math.sqrt(N))
        self.D = nn.Parameter(torch.randn(I, generator=gen))

    def eigenvalues(self):
        """lambda, complex ``(N,)``: the diagonal of the recurrent matrix."""
        return torch.exp(torch.complex(-torch.exp(self.nu_log), torch.exp(self.theta_log)))

    def forward(self, x, method: str = "hillis_steele"):
        """x ``(B, T, I)`` real -> y ``(B, T, I)`` real. ``method="loop"`` runs step by step."""
        check_tensor(x, "x", ("B", "T", self.input_size))
        check_choice(method, "method", ("hillis_steele", "blelloch", "blocked", "loop"))
        lam = self.eigenvalues()
        Bc, Cc = torch.complex(self.B_re, self.B_im), torch.complex(self.C_re, self.C_im)
        bx = torch.sqrt(1 - lam.abs() ** 2) * (x.to(Bc.dtype) @ Bc.T)  # gamma B x, (B, T, N)
        h = parallel_scan(lam.expand_as(bx), bx, method=method)
        return (h @ Cc.T).real + self.D * x
