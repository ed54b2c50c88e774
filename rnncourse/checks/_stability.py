"""Checkers for notebook 05: Jacobian products, gain regimes, weights that keep the gradient."""

import math

import torch

from .. import dynamics
from .._random import generator
from .._validation import check_choice
from ._contract import call
from ._framework import CheckFailed, StudentCodeError, compare, exercise, randn

OTHER_DTYPE = (
    "a tensor made inside the function has another dtype than the inputs (torch.eye and "
    "torch.zeros default to float32); make it with the inputs' dtype."
)


def with_hint(err: StudentCodeError, hints: dict[str, str]) -> Exception:
    """``err`` as a failed check naming the likely mistake when its message holds one of
    ``hints``' keys (a known slip), else ``err`` itself."""
    why = next((hint for words, hint in hints.items() if words in str(err)), "")
    return CheckFailed(f"{err}\n  Likely mistake: {why}") if why else err


def must_raise(name: str, case: str, student_fn, *args, why: str) -> None:
    """Raise :class:`CheckFailed` unless ``student_fn(*args)`` raises ``ValueError``."""
    try:
        got = call(name, student_fn, *args)
    except StudentCodeError as err:
        if isinstance(err.__cause__, ValueError):
            return
        raise CheckFailed(
            f"{name}, {case}: raised {type(err.__cause__).__name__} ({err.__cause__}). "
            f"Likely mistake: {why}"
        ) from None
    raise CheckFailed(f"{name}, {case}: returned {got!r:.60}. Likely mistake: {why}")


def _slopes(hs, nonlinearity):
    """phi'(a(t)) read off the states hs (T, H): 1 - h**2 for tanh, 1 where h > 0 for relu."""
    if nonlinearity == "tanh":
        return 1 - hs**2
    if nonlinearity == "relu":
        return (hs > 0).to(hs.dtype)
    raise ValueError(f'nonlinearity must be "tanh" or "relu", got {nonlinearity!r}.')


def _product(factors, W):
    """factors[-1] ... factors[1] factors[0], (H, H) like W (the identity if there are none)."""
    J = torch.eye(W.shape[0], dtype=W.dtype)
    for f in factors:
        J = f @ J
    return J


def _chain(slopes, W, steps):
    """diag(slopes[t]) W multiplied over the ``steps`` t, the latest on the left: (H, H)."""
    return _product([slopes[t][:, None] * W for t in steps], W)


def _norm(J) -> float:
    return float(dynamics.spectral_norms(J))


def _jacobian_product_norm(W, hs, nonlinearity):
    """The reference: the spectral norm of dh(T)/dh(1), a float (W (H, H), hs (T, H))."""
    return _norm(_chain(_slopes(hs, nonlinearity), W, range(1, hs.shape[0])))


def _run(W, U, b, x, act, h):
    """h and the states after it of h(t) = act(W h(t-1) + U x(t) + b), x (T, I): (T + 1, H)."""
    hs = [h]
    for x_t in x:
        hs.append(act(W @ hs[-1] + U @ x_t + b))
    return torch.stack(hs)


@exercise(
    "05",
    reference=_jacobian_product_norm,
    forbidden=(dynamics.jacobian_products, dynamics.jacobian_norms),
)
def jacobian_product_norm(student_fn) -> int:
    """Check ``jacobian_product_norm(W, hs, nonlinearity) -> float``: W (H, H), hs (T, H) the
    states h(1) ... h(T) of h(t) = phi(W h(t-1) + U x(t) + b), nonlinearity "tanh" or "relu"
    (else ValueError); the spectral norm of dh(T)/dh(1), phi' read off the states. Compared
    with autograd's Jacobian, relatively, from T = 1 to T = 400 (float64, ~1e-176)."""
    f32, f64 = torch.float32, torch.float64
    cases = [  # H, T, nonlinearity, scale of W, scale of U, dtype
        (3, 4, "tanh", 1.0, 1.0, f32),
        (4, 6, "tanh", 1.6, 1.0, f32),
        (3, 5, "relu", 0.9, 1.0, f32),
        (2, 7, "relu", 1.2, 1.0, f32),
        (4, 1, "tanh", 1.0, 1.0, f32),
        (4, 400, "tanh", 1.0, 2.0, f64),
    ]
    for seed, (H, T, nl, scale, u_scale, dtype) in enumerate(cases):
        g = generator(130 + seed) if T < 400 else generator(302)
        W, U, b = randn(g, H, H, scale=scale), randn(g, H, 2, scale=u_scale), randn(g, H, scale=0.3)
        x = randn(g, T, 2)
        act = torch.tanh if nl == "tanh" else torch.relu
        hs = _run(W, U, b, x, act, torch.zeros(H, dtype=W.dtype))[1:]

        def last(h1, W=W, U=U, b=b, x=x, act=act):  # h(T) from h(1)
            return _run(W, U, b, x[1:], act, h1)[-1]

        expected = _norm(torch.autograd.functional.jacobian(last, hs[0]))
        case = f"case {seed + 1} (H={H}, T={T}, {nl}{', float64' if dtype == f64 else ''})"
        try:
            got = call("jacobian_product_norm", student_fn, W.clone(), hs.clone(), nl, dtype=dtype)
        except StudentCodeError as err:
            hints = {"dtype": OTHER_DTYPE} if dtype == f64 else {}
            if T == 1:
                hints = {
                    "": "with T = 1 there are no factors at all: dh(1)/dh(1) is the "
                    "identity, whose norm is 1. Start the product from the identity."
                }
            raise with_hint(err, hints) from err.__cause__
        d, steps = _slopes(hs, nl), range(1, T)
        factors = [d[t][:, None] * W for t in steps]
        mistakes = {}
        if dtype == f64:
            mistakes[
                "the product became 0: it was formed in single precision (float32), "
                "where numbers below about 1e-38 are 0. Keep the inputs' dtype (float64 "
                "here) for every tensor you make."
            ] = 0.0
        mistakes |= {
            "the slopes φ' are missing: each factor is diag(φ'(a(t))) W, not W.": (
                _norm(_product([W] * (T - 1), W))
            ),
            "one factor too many: dh(T)/dh(1) has T - 1 factors, for steps 2..T.": (
                _norm(_chain(d, W, range(T)))
            ),
            "each factor used the slopes of the step before: the factor of step t holds "
            "φ'(a(t)), read off h(t).": _norm(_chain(d[:-1], W, range(T - 1))),
            "the slopes scale the columns of W (W diag(φ')); they scale its rows: "
            "diag(φ'(a(t))) W, one slope per unit of the new state.": _norm(
                _product([W * d[t] for t in steps], W)
            ),
            "the norms of the factors were multiplied; take the norm of the "
            "product (it can be much smaller).": math.prod(_norm(f) for f in factors),
            "the Frobenius norm was used; the spectral norm is the largest singular value.": float(
                torch.linalg.matrix_norm(_product(factors, W), "fro")
            ),
            "the factors are multiplied in the wrong order: the latest step goes on "
            "the left, diag(φ'(a(T))) W ... diag(φ'(a(2))) W.": _norm(_product(factors[::-1], W)),
        }
        if nl == "tanh":
            mistakes[
                "tanh was applied again: h(t) already is tanh(a(t)), so the slope is 1 - h(t)**2."
            ] = _norm(_chain(1 - torch.tanh(hs) ** 2, W, steps))
        tol = 1e-6 if dtype == f64 else 1e-4
        compare("jacobian_product_norm", case, got, expected, mistakes=mistakes, atol=0.0, rtol=tol)
    g = generator(139)
    why = (
        "an unknown nonlinearity falls through to one of the two formulas; raise ValueError "
        'naming "tanh" and "relu", so that a typo fails loudly.'
    )
    W, hs = randn(g, 3, 3), torch.rand(4, 3, generator=g, dtype=torch.float64)
    case = 'case with nonlinearity="sigmoid"'
    must_raise("jacobian_product_norm", case, student_fn, W, hs, "sigmoid", why=why)
    return len(cases) + 1


BOUNDARY_TOL = 1e-6  # gamma * rho within this of 1 counts as the boundary
GAMMA = {k: dynamics._GAMMA[k] for k in ("linear", "tanh", "sigmoid")}  # the largest slopes


def _regime(gain: float, tol: float = BOUNDARY_TOL) -> str:
    if abs(gain - 1) <= tol:
        return "neither"
    return "explode" if gain > 1 else "vanish"


def _predict_regime(eigenvalues, nonlinearity):
    """The reference: the regime of gamma * rho(W), the linearisation at pre-activation 0."""
    gamma = GAMMA[check_choice(nonlinearity, "nonlinearity", tuple(GAMMA))]
    return _regime(gamma * float(eigenvalues.abs().max()))


def _rule(size=lambda lam: lam.abs().max(), tol=BOUNDARY_TOL, slope=True):
    """A wrong rule: (eigenvalues, nonlinearity) -> the regime of gamma * size(eigenvalues)."""
    return lambda lam, nl: _regime((GAMMA[nl] if slope else 1) * float(size(lam)), tol)


SWAP = {"explode": "vanish", "vanish": "explode", "neither": "neither"}
REGIME_MISTAKES = {
    "the nonlinearity's slope was ignored: sigmoid's largest slope is 1/4, so it shrinks the "
    "gain four times.": _rule(slope=False),
    "the real part of the eigenvalues was used; what compounds is their magnitude "
    "|eigenvalue| (a negative or complex one counts too).": _rule(lambda lam: lam.real.max()),
    "the mean |eigenvalue| was used; the largest one dominates (γ W)^n.": _rule(
        lambda lam: lam.abs().mean()
    ),
    "only the first eigenvalue was used; eigenvalues come in any order, and the one of "
    "largest magnitude dominates (γ W)^n.": _rule(lambda lam: lam[0].abs()),
    "the regimes are swapped: a gain above 1 explodes, below 1 vanishes.": (
        lambda lam, nl: SWAP[_predict_regime(lam, nl)]
    ),
    "the boundary was tested for exact equality; eigenvalues are rounded floats, so γ ρ(W) "
    "= 1 arrives as 1 ± 1e-7: compare with a tolerance of 1e-6.": _rule(tol=0.0),
    "the tolerance at the boundary is wider than 1e-6: a gain of 1.000003 already explodes.": (
        _rule(tol=1e-3)
    ),
}


@exercise("05", reference=_predict_regime)
def predict_regime(student_fn) -> int:
    """Check ``predict_regime(eigenvalues, nonlinearity) -> "vanish" | "explode" | "neither"``:
    eigenvalues (H,) of W, real or complex, any order; nonlinearity "linear", "tanh" or
    "sigmoid" (else ValueError), largest slope gamma. "explode" when gamma * max|eigenvalue| >
    1, "vanish" when < 1, "neither" within 1e-6; cases lie on and near every boundary."""
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
        ([0.3, -1.2], "linear"),
        ([0.5, 4.4], "sigmoid"),
        ([0.2, 1.0000002], "linear"),
        ([-0.9999995, 0.3], "tanh"),
        ([1.0, 4.000002], "sigmoid"),
        ([1.000003, 0.1], "linear"),
        ([0.3, -0.999997], "tanh"),
        ([complex(0.6000018, 0.8000024), 0.2], "tanh"),
    ]
    got, want = [], []
    for eig, nl in cases:
        lam = torch.tensor(eig)
        lam = lam.float() if not lam.is_complex() else lam
        got.append(call("predict_regime", student_fn, lam.clone(), nl))
        want.append(_predict_regime(lam.double() if not lam.is_complex() else lam, nl))
    answers = list(zip(cases, got, strict=True))
    for k, ((eig, nl), g, w) in enumerate(zip(cases, got, want, strict=True)):
        if g == w:
            continue
        follows = (
            m
            for m, rule in REGIME_MISTAKES.items()
            if all(rule(torch.tensor(e), n) == a for (e, n), a in answers)
        )
        likely = next(follows, "")
        raise CheckFailed(
            f"predict_regime, case {k + 1} (eigenvalues {eig}, {nl}): expected {w!r}, got "
            f"{g!r}." + (f" Likely mistake: {likely}" if likely else "")
        )
    why = (
        'an unknown nonlinearity must raise ValueError naming "linear", "tanh" and "sigmoid" (a '
        "dictionary lookup raises KeyError)."
    )
    case = 'case with nonlinearity="softplus"'
    must_raise("predict_regime", case, student_fn, torch.tensor([0.5, 0.2]), "softplus", why=why)
    return len(cases) + 1


STEPS, LOW, HIGH = 100, 0.5, 2.0  # the gradient's size over 100 steps must stay in [0.5, 2]
LAGS = (1, 10, 25, 50, STEPS)  # the lags k at which the checker measures dh(k)/dh(0)


def _steady_weights(H):
    """The reference: a random orthogonal (H, H) matrix, from the QR of a Gaussian one."""
    q, r = torch.linalg.qr(torch.randn(H, H, generator=generator(150 + H), dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r))  # signs fixed, so every orthogonal W is as likely


def _gradient_sizes(W):
    """Singular values of dh(k)/dh(0) = W^k of the linear RNN h(t) = W h(t-1) + U x(t), for
    k in LAGS: (len(LAGS), H)."""
    J, kept = torch.eye(W.shape[0], dtype=W.dtype), []
    for k in range(1, STEPS + 1):
        J = W @ J
        if k in LAGS:
            kept.append(J)
    return torch.linalg.svdvals(torch.stack(kept))


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
    power = torch.linalg.matrix_power(W, STEPS)
    powers = torch.linalg.svdvals(power) if bool(torch.isfinite(power).all()) else None
    if powers is not None and float(powers.max()) > HIGH and float(powers.min()) < LOW:
        return (
            f"W is not orthogonal: over {STEPS} steps some directions grow (by up to "
            f"{float(powers.max()):.3g}) while others shrink (to {float(powers.min()):.3g}), "
            "whatever ρ(W) is. An orthogonal W (W^T W = I) keeps the length of every direction."
        )
    if rho**STEPS > HIGH or rho**STEPS < LOW:
        return (
            f"ρ(W) = {rho:.4g} is {'above' if rho > 1 else 'below'} 1, so the product "
            f"{'grows' if rho > 1 else 'shrinks'} like ρ^{STEPS} = {rho**STEPS:.3g}: the "
            f"gradient {'explodes' if rho > 1 else 'vanishes'}."
        )
    return (
        f"ρ(W) = {rho:.4g} ≈ 1, but W is not orthogonal (W^T W ≠ I): the eigenvalues set the "
        "long run of the largest direction only, and the others still shrink or grow. An "
        "orthogonal W (W^T W = I) keeps the length of every direction."
    )


@exercise(
    "05",
    reference=_steady_weights,
    forbidden=((torch.nn.init.orthogonal_, "torch.nn.init.orthogonal_, torch's own"),),
)
def steady_weights(student_fn) -> int:
    """Check ``steady_weights(H) -> W`` (H, H): every singular value of dh(k)/dh(0) = W^k of the
    linear RNN h(t) = W h(t-1) + U x(t) lies in [0.5, 2] at the lags k in LAGS, up to 100, for
    H = 1 to 128. An orthogonal matrix passes, and so does the identity."""
    cases = [32, 8, 3, 1, 128]
    for k, H in enumerate(cases):
        with torch.random.fork_rng(devices=[]):  # a random answer leaves the global RNG alone
            W = call("steady_weights", student_fn, H)
        case = f"steady_weights, case {k + 1} (H={H})"
        if not isinstance(W, torch.Tensor) or tuple(W.shape) != (H, H):
            got = tuple(W.shape) if isinstance(W, torch.Tensor) else type(W).__name__
            raise CheckFailed(f"{case}: expected a tensor of shape ({H}, {H}), got {got}.")
        W = W.detach().double()
        if not torch.isfinite(W).all():
            raise CheckFailed(f"{case}: W holds NaN or infinite values.")
        sizes = _gradient_sizes(W)
        low, high = float(sizes.min()), float(sizes.max())
        if not (LOW <= low and high <= HIGH):
            raise CheckFailed(
                f"{case}: within {STEPS} steps a gradient is scaled by between {low:.3g} and "
                f"{high:.3g}; it must stay within [{LOW}, {HIGH}].\n"
                f"  Likely mistake: {_why_not_steady(W)}"
            )
    return len(cases)
