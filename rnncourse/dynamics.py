"""Recurrent gain of ``h(t) = phi(W h(t-1) + U x(t) + b)`` on one sequence (states
``(H,)``, inputs ``(T, I)``): eigenvalues, exact Jacobian products ``dh(T)/dh(t)``, their
growth rate, fixed points, and a gate's time constant."""

import math
from typing import NamedTuple

import torch

from rnncourse._random import generator
from rnncourse._validation import check_choice, check_float, check_int, check_tensor

__all__ = [
    "NONLINEARITIES", "eigenvalues", "spectral_radius", "scale_to_spectral_radius",
    "random_recurrent_matrix", "jacobian_products", "jacobian_norms", "spectral_norms",
    "log_growth_rate", "time_constant", "half_life", "FixedPoint", "fixed_points",
    "PascanuBound", "pascanu_bound"
]  # fmt: skip

NONLINEARITIES = ("tanh", "relu", "linear", "sigmoid")
# gamma, the largest slope of each nonlinearity
_GAMMA = {"tanh": 1.0, "relu": 1.0, "linear": 1.0, "sigmoid": 0.25}


def _act(a: torch.Tensor, nonlinearity: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``(phi(a), phi'(a))`` for the named nonlinearity."""
    if nonlinearity == "tanh":
        h = torch.tanh(a)
        return h, 1 - h**2
    if nonlinearity == "relu":
        return torch.relu(a), (a > 0).to(a.dtype)
    if nonlinearity == "sigmoid":
        h = torch.sigmoid(a)
        return h, h * (1 - h)
    return a, torch.ones_like(a)


def _check_square(W) -> torch.Tensor:
    W = check_tensor(W, "W", ("H", "H"))
    if W.shape[0] != W.shape[1]:
        raise ValueError(
            f"W must be square (H, H), got shape {tuple(W.shape)}. A recurrent weight "
            f"matrix maps the state to the state, so it has as many rows as columns."
        )
    return W


def eigenvalues(W: torch.Tensor) -> torch.Tensor:
    """Eigenvalues of ``W`` (H, H), complex (H,)."""
    return torch.linalg.eigvals(_check_square(W))


def spectral_radius(W: torch.Tensor) -> float:
    """rho(W), the largest absolute eigenvalue of ``W`` (H, H): the long-run gain per step."""
    return float(eigenvalues(W).abs().max())


def scale_to_spectral_radius(W: torch.Tensor, radius: float) -> torch.Tensor:
    """``W * radius / rho(W)``: ``W`` (H, H) rescaled to spectral radius ``radius``."""
    radius = check_float(radius, "radius", min_value=0.0)
    rho = spectral_radius(W)
    if rho < 1e-12:
        raise ValueError(
            f"W has spectral radius {rho:.3g} (all eigenvalues are zero, e.g. a zero or "
            f"nilpotent matrix), so it cannot be rescaled to radius {radius}. "
            f"Start from a random matrix, e.g. random_recurrent_matrix(n, gain)."
        )
    return W * (radius / rho)


def random_recurrent_matrix(
    n: int, gain: float, *, seed: int | torch.Generator | None = None, dtype=torch.float64
) -> torch.Tensor:
    """Random weights (n, n): N(0, 1/n) entries rescaled to spectral radius ``gain``, drawn
    from ``seed`` (an int, a ``torch.Generator`` or ``None``), the global RNG untouched."""
    n = check_int(n, "n", min_value=1)
    gain = check_float(gain, "gain", min_value=0.0)
    W0 = torch.randn(n, n, generator=generator(seed), dtype=dtype) / math.sqrt(n)
    return scale_to_spectral_radius(W0, gain)


def _drive(W, xs, U, b, steps) -> torch.Tensor:
    """The input term ``U x(t) + b`` for every step, shape (T, H)."""
    H = W.shape[0]
    if xs is None:
        if steps is None:
            raise ValueError("Give either the inputs xs (T, I) or the number of steps.")
        drive = torch.zeros(check_int(steps, "steps", min_value=1), H, dtype=W.dtype)
    else:
        xs = check_tensor(xs, "xs", ("T", "I"))
        if U is None:
            check_tensor(xs, "xs", ("T", H), hint="Without U the input is added to a(t) directly.")
            drive = xs.to(W.dtype)
        else:
            U = check_tensor(U, "U", (H, xs.shape[1]), hint="U maps x(t) (I,) to the state (H,).")
            drive = xs.to(W.dtype) @ U.to(W.dtype).T
        if steps is not None and check_int(steps, "steps") != xs.shape[0]:
            raise ValueError(f"steps={steps} but xs has {xs.shape[0]} steps; give one of them.")
    if b is not None:
        drive = drive + check_tensor(b, "b", (H,)).to(W.dtype)
    return drive


def jacobian_products(
    W: torch.Tensor,
    h0: torch.Tensor,
    xs: torch.Tensor | None = None,
    nonlinearity: str = "tanh",
    U: torch.Tensor | None = None,
    b: torch.Tensor | None = None,
    *,
    steps: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``h(t) = phi(W h(t-1) + U x(t) + b)``; return every exact Jacobian dh(T)/dh(t).

    ``W`` (H, H), ``h0`` (H,), ``xs`` (T, I) or ``None`` (zero input for ``steps``), ``U``
    (H, I) or ``None`` (``xs`` (T, H) added directly), ``b`` (H,) or ``None``. Returns
    ``(hs (T + 1, H), jacs (T + 1, H, H))``, ``hs[0] = h0``, ``jacs[t] = dh(T)/dh(t)``.
    """
    W = _check_square(W)
    H = W.shape[0]
    h0 = check_tensor(h0, "h0", (H,), hint="h0 is one state vector of the H units.").to(W.dtype)
    nonlinearity = check_choice(nonlinearity, "nonlinearity", NONLINEARITIES)
    drive = _drive(W, xs, U, b, steps)
    hs, slopes = [h0], []
    for u in drive:
        h, slope = _act(W @ hs[-1] + u, nonlinearity)
        hs.append(h)
        slopes.append(slope)
    jacs = [torch.eye(H, dtype=W.dtype)]  # from dh(T)/dh(T) back to dh(T)/dh(0)
    for slope in reversed(slopes):
        jacs.append((jacs[-1] * slope) @ W)  # dh(T)/dh(t-1) = dh(T)/dh(t) diag(phi'(a(t))) W
    return torch.stack(hs), torch.stack(jacs[::-1])


def jacobian_norms(
    W, h0, xs=None, nonlinearity="tanh", U=None, b=None, *, steps=None, ord="spectral"
) -> torch.Tensor:
    """Norm (T + 1,) of dh(T)/dh(T-k) for lags k = 0..T, ``ord`` "spectral" or "fro"; the
    other arguments as :func:`jacobian_products`."""
    ord = check_choice(ord, "ord", ("spectral", "fro"))
    _, jacs = jacobian_products(W, h0, xs, nonlinearity, U, b, steps=steps)
    norms = spectral_norms(jacs) if ord == "spectral" else torch.linalg.matrix_norm(jacs, "fro")
    return norms.flip(0)


def spectral_norms(J: torch.Tensor) -> torch.Tensor:
    """Largest singular value (...) of each matrix in J (..., H, H): sqrt of the top
    eigenvalue of J^T J (quicker), or the SVD where J^T J would under- or overflow."""
    J = check_tensor(J, "J")
    if J.ndim < 2 or J.shape[-1] != J.shape[-2]:
        raise ValueError(
            f"J must hold square matrices (..., H, H), got shape {tuple(J.shape)}; "
            "pass e.g. the Jacobians jacobian_products(...)[1]."
        )
    top = torch.linalg.eigvalsh(J.mT @ J)[..., -1]
    info = torch.finfo(J.dtype)
    unsafe = ~torch.isfinite(top) | (top < info.tiny / info.eps)
    norms = top.clamp_min(0).sqrt()
    if bool(unsafe.any()):
        norms[unsafe] = torch.linalg.matrix_norm(J[unsafe], ord=2)
    return norms


def log_growth_rate(norms: torch.Tensor, *, skip: int = 0) -> float:
    """Least-squares slope r of log ``norms`` (L,) against lag, the first ``skip`` lags left
    out: the norm grows about e^r per step. A zero norm gives ``-inf``."""
    norms = check_tensor(norms, "norms", ("L",))
    skip = check_int(skip, "skip", min_value=0, max_value=norms.shape[0] - 2)
    y = norms[skip:].double()
    if bool((y <= 0).any()):
        return -math.inf
    lag = torch.arange(skip, norms.shape[0], dtype=torch.float64)
    lag, logy = lag - lag.mean(), y.log() - y.log().mean()
    return float((lag * logy).sum() / (lag**2).sum())


def _gate_to_log(gate, theta) -> torch.Tensor:
    """ln(gate) as a float64 tensor, from the gate value or its logit theta."""
    if (gate is None) == (theta is None):
        raise ValueError("Give exactly one of gate (the value sigmoid(theta)) or theta.")
    if theta is not None:
        theta = torch.as_tensor(theta, dtype=torch.float64)
        if not torch.isfinite(theta).all():
            raise ValueError(f"theta must be finite, got {theta}.")
        return torch.nn.functional.logsigmoid(theta)
    gate = torch.as_tensor(gate, dtype=torch.float64)
    if not bool(((gate > 0) & (gate < 1)).all()):
        raise ValueError(
            f"gate values must lie strictly between 0 and 1, got {gate.tolist()}. "
            f"At 1 the state is kept forever (infinite time constant); at 0 it is "
            f"discarded at once (zero time constant); pass theta to work with logits."
        )
    return gate.log()


def _as_input_type(value: torch.Tensor, like):
    return float(value) if value.ndim == 0 and not isinstance(like, torch.Tensor) else value


def time_constant(gate=None, *, theta=None):
    """Time constant tau = -1 / ln(gate) of s(t) = gate s(t-1) + x(t), from ``gate`` in
    (0, 1) or its logit ``theta`` (safer near 1); a tensor gives a float64 tensor."""
    return _as_input_type(-1.0 / _gate_to_log(gate, theta), theta if gate is None else gate)


def half_life(gate=None, *, theta=None):
    """Steps until an input's contribution has halved: tau * ln 2. Arguments as time_constant."""
    return _as_input_type(-math.log(2) / _gate_to_log(gate, theta), theta if gate is None else gate)


class FixedPoint(NamedTuple):
    """A fixed point ``h`` (H,), its Jacobian's eigenvalues (H,), and whether it is stable
    (all of them inside the unit circle)."""

    h: torch.Tensor
    eigenvalues: torch.Tensor
    stable: bool


def fixed_points(
    W: torch.Tensor,
    U: torch.Tensor | None = None,
    b: torch.Tensor | None = None,
    x: torch.Tensor | None = None,
    nonlinearity: str = "tanh",
    *,
    n_starts: int = 32,
    seed: int | torch.Generator | None = 0,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> list[FixedPoint]:
    """Fixed points h* = phi(W h* + U x + b), sorted by h*[0], found by Newton's method from
    zero and ``n_starts`` states drawn from ``seed``; ``W`` (H, H), ``U`` (H, I), ``b``
    (H,), ``x`` (I,) or ``None``. Points closer than 1e-6 count as one."""
    W = _check_square(W)
    H = W.shape[0]
    nonlinearity = check_choice(nonlinearity, "nonlinearity", NONLINEARITIES)
    n_starts = check_int(n_starts, "n_starts", min_value=1)
    xs = None if x is None else check_tensor(x, "x", ("I",))[None]
    if xs is not None and U is None:
        raise ValueError("x was given without U; pass U (H, I) to map it into the state.")
    u = _drive(W, xs, U, b, 1 if xs is None else None)[0]
    gen = generator(seed)
    if nonlinearity in ("tanh", "sigmoid"):
        starts = torch.rand(n_starts, H, generator=gen, dtype=W.dtype) * 2 - 1
    else:
        starts = 2 * torch.randn(n_starts, H, generator=gen, dtype=W.dtype)
    eye = torch.eye(H, dtype=W.dtype)
    found: list[FixedPoint] = []
    for h in torch.cat([torch.zeros(1, H, dtype=W.dtype), starts]):
        for _ in range(max_iter):
            g, slope = _act(W @ h + u, nonlinearity)
            F = g - h
            if float(F.norm()) < tol:
                break
            try:
                h = h - torch.linalg.solve(slope[:, None] * W - eye, F)
            except RuntimeError:  # singular Jacobian: give up on this start
                break
        g, slope = _act(W @ h + u, nonlinearity)
        converged = float((g - h).norm()) < max(tol, 1e-8) * 10
        if not converged or any(float((p.h - h).norm()) < 1e-6 for p in found):
            continue
        eig = torch.linalg.eigvals(slope[:, None] * W)
        found.append(FixedPoint(h, eig, bool(eig.abs().max() < 1)))
    return sorted(found, key=lambda p: float(p.h[0]))


class PascanuBound(NamedTuple):
    """sigma_max of W, gamma (largest slope of phi), bound = 1 / gamma, vanishing =
    sigma_max < bound; ratios ``(steps + 1,)``: ||dh(T)/dh(t)|| / (gamma sigma_max)^(T - t)
    at lags 0..steps (0 where the bound is 0), max_ratio their largest at lags >= 1."""

    sigma_max: float
    gamma: float
    bound: float
    vanishing: bool
    max_ratio: float
    ratios: torch.Tensor


def pascanu_bound(
    W: torch.Tensor,
    nonlinearity: str = "tanh",
    *,
    steps: int = 30,
    seed: int | torch.Generator | None = 0,
) -> PascanuBound:
    """Pascanu et al. (2013): sigma_max(W) < 1/gamma makes the gradient vanish, since
    ||dh(T)/dh(t)|| <= (gamma sigma_max)^(T - t). Checked on a ``steps``-step run from a
    random state and inputs drawn from ``seed`` (default 0: the same every call)."""
    W = _check_square(W)
    nonlinearity = check_choice(nonlinearity, "nonlinearity", NONLINEARITIES)
    steps = check_int(steps, "steps", min_value=1)
    gen = generator(seed)
    H = W.shape[0]
    sigma, gamma = float(torch.linalg.matrix_norm(W, ord=2)), _GAMMA[nonlinearity]
    h0 = torch.randn(H, generator=gen, dtype=W.dtype)
    xs = torch.randn(steps, H, generator=gen, dtype=W.dtype)
    norms = jacobian_norms(W, h0, xs, nonlinearity)
    bounds = (gamma * sigma) ** torch.arange(steps + 1, dtype=torch.float64)
    ratios = torch.where(bounds > 0, norms.double() / bounds, torch.zeros_like(bounds))
    return PascanuBound(
        sigma, gamma, 1.0 / gamma, sigma < 1.0 / gamma, float(ratios[1:].max()), ratios
    )
