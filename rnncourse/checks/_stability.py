"""Checkers for notebook 05: Jacobian products, gain regimes, weights that keep the gradient,
gradient clipping."""

from __future__ import annotations

import math

import torch

from .._random import generator
from ._contract import call
from ._framework import compare, exercise, randn

_ACT = {"tanh": torch.tanh, "relu": torch.relu, "linear": lambda a: a, "sigmoid": torch.sigmoid}


def _run(W, U, b, x, act):
    h, hs = torch.zeros(W.shape[0], dtype=W.dtype), []
    for t in range(x.shape[0]):
        h = act(W @ h + U @ x[t] + b)
        hs.append(h)
    return torch.stack(hs)


def _product(W, hs, nonlinearity, bug=""):
    """Factors diag(phi'(a(t))) W for t = 2..T (or 1..T), combined as ``bug`` says."""
    if nonlinearity == "tanh":
        d = 1 - torch.tanh(hs) ** 2 if bug == "tanh_again" else 1 - hs**2
    else:
        d = (hs > 0).double()
    if bug == "no_derivative":
        d = torch.ones_like(d)
    first = 0 if bug == "extra_factor" else 1
    factors = [d[t][:, None] * W for t in range(first, hs.shape[0])]
    if bug == "product_of_norms":
        return torch.stack([torch.linalg.matrix_norm(f, 2) for f in factors]).prod()
    if bug == "wrong_order":
        factors = factors[::-1]
    J = torch.linalg.multi_dot(factors[::-1]) if len(factors) > 1 else factors[0]
    return torch.linalg.matrix_norm(J, "fro" if bug == "frobenius" else 2)


def _jacobian_product_norm(W, hs, nonlinearity):
    """The reference: the spectral norm of dh(T)/dh(1), a float (W (H, H), hs (T, H))."""
    return float(_product(W, hs, nonlinearity))


@exercise("05", reference=_jacobian_product_norm)
def jacobian_product_norm(student_fn) -> int:
    """Check ``jacobian_product_norm(W, hs, nonlinearity) -> float``.

    For h(t) = phi(W h(t-1) + U x(t) + b): W (H, H); hs (T, H), the states h(1) ... h(T)
    of one sequence; nonlinearity "tanh" or "relu". Returns the spectral norm (ord=2) of
    dh(T)/dh(1) = diag(phi'(a(T))) W ... diag(phi'(a(2))) W, the slopes phi' written
    with the states (tanh: 1 - h(t)**2; relu: 1 where h(t) > 0). Compared with the
    Jacobian that torch autograd computes.
    """
    cases = [(3, 4, "tanh", 1.0), (4, 6, "tanh", 1.6), (3, 5, "relu", 0.9), (2, 7, "relu", 1.2)]
    for seed, (H, T, nl, scale) in enumerate(cases):
        g = generator(130 + seed)
        W, U, b = randn(g, H, H, scale=scale), randn(g, H, 2), randn(g, H, scale=0.3)
        x = randn(g, T, 2)
        act = _ACT[nl]
        hs = _run(W, U, b, x, act)

        def rest(h1, W=W, U=U, b=b, x=x, act=act):
            for t in range(1, x.shape[0]):
                h1 = act(W @ h1 + U @ x[t] + b)
            return h1

        J = torch.autograd.functional.jacobian(rest, hs[0])
        got = call("jacobian_product_norm", student_fn, W.clone(), hs.clone(), nl)
        # Every checker ends in one compare(...) with its own likely mistakes; the calls look
        # alike across checkers by design (same shape, different mistakes).
        compare(
            "jacobian_product_norm",
            f"case {seed + 1} (H={H}, T={T}, {nl})",
            got,
            torch.linalg.matrix_norm(J, 2),
            mistakes={
                "the slopes φ' are missing: each factor is diag(φ'(a(t))) W, not W.": (
                    _product(W, hs, nl, "no_derivative")
                ),
                "one factor too many: dh(T)/dh(1) has T - 1 factors, for steps 2..T.": (
                    _product(W, hs, nl, "extra_factor")
                ),
                "the norms of the factors were multiplied; take the norm of the "
                "product (it can be much smaller).": _product(W, hs, nl, "product_of_norms"),
                "the Frobenius norm was used; use the spectral norm, "
                "torch.linalg.matrix_norm(J, ord=2).": _product(W, hs, nl, "frobenius"),
                "tanh was applied again: h(t) already is tanh(a(t)), so the slope is "
                "1 - h(t)**2.": _product(W, hs, nl, "tanh_again"),
                "the factors are multiplied in the wrong order: the latest step goes on "
                "the left, diag(φ'(a(T))) W ... diag(φ'(a(2))) W.": _product(
                    W, hs, nl, "wrong_order"
                ),
            },
        )
    return len(cases)


def _clip(grads, max_norm, bug=""):
    norms = torch.stack([gr.norm() for gr in grads])
    if bug == "per_tensor":
        return [gr * min(1.0, max_norm / (n + 1e-6)) for gr, n in zip(grads, norms, strict=True)]
    total = norms.sum() if bug == "sum_of_norms" else norms.norm()
    coef = max_norm / (total + 1e-6)
    coef = coef if bug == "always" else coef.clamp(max=1.0)
    return [gr * coef for gr in grads]


def _clip_global_norm(grads, max_norm):
    """The reference: a new list, every tensor scaled by min(1, max_norm / (norm + 1e-6))."""
    return _clip(list(grads), max_norm)


@exercise("05", reference=_clip_global_norm)
def clip_global_norm(student_fn) -> int:
    """Check ``clip_global_norm(grads, max_norm) -> clipped``.

    grads: a list of tensors of any shapes; max_norm: a float. If the global norm
    sqrt(sum of all squared entries) exceeds max_norm, every tensor is scaled by
    max_norm / (norm + 1e-6); otherwise they are returned unchanged. Returns a list of
    tensors with the same shapes, compared with ``torch.nn.utils.clip_grad_norm_``.
    """
    cases = [([(3, 4), (4,)], 1.0, 3.0), ([(2, 2), (5,), (2, 3)], 2.0, 1.0), ([(6,)], 5.0, 0.5)]
    for seed, (shapes, max_norm, scale) in enumerate(cases):
        g = generator(140 + seed)
        grads = [randn(g, *s, scale=scale) for s in shapes]
        grads[0][0] *= 4  # one tensor much larger than the others
        params = [torch.nn.Parameter(torch.zeros_like(gr)) for gr in grads]
        for p, gr in zip(params, grads, strict=True):
            p.grad = gr.clone()
        torch.nn.utils.clip_grad_norm_(params, max_norm)
        got = call("clip_global_norm", student_fn, [gr.clone() for gr in grads], max_norm)
        case = f"case {seed + 1} (shapes {shapes}, max_norm={max_norm})"
        if not isinstance(got, list | tuple) or len(got) != len(grads):
            raise AssertionError(
                f"clip_global_norm, {case}: expected a list of {len(grads)} tensors, got "
                f"{type(got).__name__} {got!r:.60}."
            )
        for k, (gr_got, p) in enumerate(zip(got, params, strict=True)):
            compare(
                "clip_global_norm",
                case,
                gr_got,
                p.grad,
                what=f"tensor {k}",
                mistakes={
                    "each tensor was clipped on its own; clip by the GLOBAL norm of all "
                    "tensors together, so their directions stay consistent.": _clip(
                        grads, max_norm, "per_tensor"
                    )[k],
                    "small gradients were scaled up; only scale when the norm exceeds "
                    "max_norm (a factor of at most 1).": _clip(grads, max_norm, "always")[k],
                    "the norms of the tensors were added; the global norm is "
                    "sqrt(sum of squared norms).": _clip(grads, max_norm, "sum_of_norms")[k],
                },
            )
    return len(cases)


# gamma * rho within this of 1 counts as the boundary (eigenvalues arrive as float32)
BOUNDARY_TOL = 1e-6


def _regime(eigenvalues, nonlinearity, bug=""):
    """The regime ("explode", "vanish" or "neither") from gamma * rho(W), with mistake ``bug``."""
    grid = torch.linspace(-6, 6, 2401, dtype=torch.float64, requires_grad=True)
    (slope,) = torch.autograd.grad(_ACT[nonlinearity](grid).sum(), grid)
    gamma = 1.0 if bug == "ignore_nonlinearity" else float(slope.max())
    mags = eigenvalues.real if bug == "real_part" else eigenvalues.abs()
    gain = gamma * float(mags.mean() if bug == "mean" else mags.max())
    if abs(gain - 1) <= BOUNDARY_TOL and bug not in ("boundary_vanish", "boundary_explode"):
        return "neither"
    explode = gain >= 1 if bug == "boundary_explode" else gain > 1
    if bug == "swapped":
        explode = not explode
    return "explode" if explode else "vanish"


def _predict_regime(eigenvalues, nonlinearity):
    """The reference: the regime of the linearisation at pre-activation 0."""
    return _regime(eigenvalues, nonlinearity)


@exercise("05", reference=_predict_regime)
def predict_regime(student_fn) -> int:
    """Check ``predict_regime(eigenvalues, nonlinearity) -> "vanish" | "explode" | "neither"``.

    eigenvalues: a (H,) tensor (real or complex) of the recurrent weights W;
    nonlinearity: "linear", "tanh" or "sigmoid". Linearised at pre-activation 0, where
    every slope is the nonlinearity's largest, gamma, the gradient over many steps
    behaves like (gamma W)^n: it explodes when gamma * rho(W) > 1 (rho(W) =
    max|eigenvalue|), vanishes when it is < 1, and does neither at gamma * rho(W) = 1
    (within 1e-6): there the linearised product keeps its size.
    """
    cases = [
        ([0.5, 0.9], "linear"),
        ([1.2, 0.3], "linear"),
        ([-1.5, 0.2], "tanh"),
        ([2.0, 1.5], "sigmoid"),
        ([6.0, 0.1], "sigmoid"),
        ([complex(0.3, 1.1), complex(0.3, -1.1)], "tanh"),
        ([0.95, -0.5], "tanh"),
        ([1.0, 0.3], "linear"),
        ([4.0, -0.5], "sigmoid"),
        ([complex(0.6, 0.8), complex(0.6, -0.8)], "tanh"),
    ]
    bugs = ("", "ignore_nonlinearity", "real_part", "mean", "swapped")
    bugs += ("boundary_vanish", "boundary_explode")
    got, answers = [], {b: [] for b in bugs}
    for eig, nl in cases:
        lam = torch.tensor(eig)
        got.append(call("predict_regime", student_fn, lam.clone(), nl))
        for bug, out in answers.items():
            out.append(_regime(lam, nl, bug))
    messages = {
        "ignore_nonlinearity": "the nonlinearity's slope was ignored: sigmoid's largest "
        "slope is 1/4, so it shrinks the gain four times.",
        "real_part": "the real part of the eigenvalues was used; what compounds is their "
        "magnitude |eigenvalue| (a negative or complex one counts too).",
        "mean": "the mean |eigenvalue| was used; the largest one dominates (γ W)^n.",
        "swapped": "the regimes are swapped: a gain above 1 explodes, below 1 vanishes.",
        "boundary_vanish": "at γ ρ(W) = 1 exactly the linearised product keeps its size: "
        'return "neither" there (compare with a tolerance of 1e-6, not ==).',
        "boundary_explode": "γ ρ(W) = 1 was counted as exploding (>= instead of >); at "
        'exactly 1 the answer is "neither".',
    }
    for k, ((eig, nl), g, want) in enumerate(zip(cases, got, answers[""], strict=True)):
        if g != want:
            likely = next((m for b, m in messages.items() if got == answers[b]), "")
            raise AssertionError(
                f"predict_regime, case {k + 1} (eigenvalues {eig}, {nl}): expected "
                f"{want!r}, got {g!r}." + (f" Likely mistake: {likely}" if likely else "")
            )
    return len(cases)


STEPS, LOW, HIGH = 100, 0.5, 2.0  # the gradient's size over 100 steps must stay in [0.5, 2]


def _steady_weights(H):
    """The reference: a random orthogonal (H, H) matrix, from the QR of a Gaussian one."""
    q, r = torch.linalg.qr(torch.randn(H, H, generator=generator(150 + H), dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r))  # signs fixed, so every orthogonal W is as likely


LAGS = (1, 10, 25, 50, STEPS)  # the lags k at which the checker measures dh(k)/dh(0)


def _gradient_sizes(W, g):
    """Singular values of dh(k)/dh(0) for k in LAGS, for h(t) = W h(t-1) + U x(t): (len(LAGS), H).

    The Jacobians come from autograd (one backward pass per state entry), over seeded inputs
    x(t) with 2 features.
    """
    H = W.shape[0]
    U, xs, h = randn(g, H, 2), randn(g, STEPS, 2), randn(g, H).requires_grad_()
    states, state = [], h
    for x in xs:
        state = W @ state + U @ x
        states.append(state)
    jacobians = [
        torch.stack(
            [torch.autograd.grad(states[k - 1][i], h, retain_graph=True)[0] for i in range(H)]
        )
        for k in LAGS
    ]
    return torch.linalg.svdvals(torch.stack(jacobians))


def _why_not_steady(W) -> str:
    """The likely mistake behind a W (H, H) whose gradients vanish or explode."""
    H = W.shape[0]
    rho = float(torch.linalg.eigvals(W).abs().max())
    if float(torch.linalg.svdvals(W).min()) < 1e-6:
        return (
            "W is singular: it maps some direction to 0, so the gradient along it is lost at "
            "the first step. Use a matrix with every singular value 1, such as an orthogonal one."
        )
    if H >= 8 and rho > 1 and abs(rho / math.sqrt(H) - 1) < 0.35:
        return (
            f"W has N(0, 1) entries: its spectral radius is about √H = {math.sqrt(H):.2g}, "
            f"here ρ(W) = {rho:.3g}, and ρ^{STEPS} is astronomically large. Scaling matters."
        )
    if rho**STEPS > HIGH:
        return (
            f"ρ(W) = {rho:.4g} is above 1, so the product grows like ρ^{STEPS} = "
            f"{rho**STEPS:.3g}: the gradient explodes."
        )
    if rho**STEPS < LOW:
        return (
            f"ρ(W) = {rho:.4g} is below 1, so the product shrinks like ρ^{STEPS} = "
            f"{rho**STEPS:.3g}: the gradient vanishes."
        )
    return (
        f"ρ(W) = {rho:.4g} ≈ 1, but W is not orthogonal (W^T W ≠ I): the eigenvalues set the "
        "long run of the largest direction only, and the others still shrink or grow. An "
        "orthogonal W (W^T W = I) keeps the length of every direction."
    )


@exercise("05", reference=_steady_weights)
def steady_weights(student_fn) -> int:
    """Check ``steady_weights(H) -> W``, a (H, H) tensor.

    For the linear RNN h(t) = W h(t-1) + U x(t) (a tanh RNN near h = 0 behaves the same),
    every singular value of dh(k)/dh(0) = W^k must lie in [0.5, 2] up to k = 100: no
    gradient direction vanishes or explodes over 100 steps. The Jacobians are measured
    with autograd over seeded inputs, at the lags k in LAGS. An orthogonal matrix
    passes, and so does the identity (scaled by at most 2^(1/100)).
    """
    cases = [32, 8, 3]
    for k, H in enumerate(cases):
        with torch.random.fork_rng(devices=[]):  # a random answer leaves the global RNG alone
            W = call("steady_weights", student_fn, H)
        case = f"steady_weights, case {k + 1} (H={H})"
        if not isinstance(W, torch.Tensor) or tuple(W.shape) != (H, H):
            got = tuple(W.shape) if isinstance(W, torch.Tensor) else type(W).__name__
            raise AssertionError(f"{case}: expected a tensor of shape ({H}, {H}), got {got}.")
        W = W.detach().double()
        if not torch.isfinite(W).all():
            raise AssertionError(f"{case}: W holds NaN or infinite values.")
        sizes = _gradient_sizes(W, generator(150 + k))
        low, high = float(sizes.min()), float(sizes.max())
        if not (LOW <= low and high <= HIGH):
            raise AssertionError(
                f"{case}: within {STEPS} steps a gradient is scaled by between {low:.3g} and "
                f"{high:.3g}; it must stay within [{LOW}, {HIGH}].\n"
                f"  Likely mistake: {_why_not_steady(W)}"
            )
    return len(cases)
