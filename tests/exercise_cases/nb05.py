"""Right and wrong answers for notebook 05: Jacobian products, gain regimes, weights that keep
the gradient, clipping by the global norm, and the gradient by lag during training."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from rnncourse import dynamics, training

# --- jacobian_product_norm ----------------------------------------------------------------


def jac_norm(W, hs, nonlinearity):
    """The answer as the notebook writes it: one factor at a time, newest on the left."""
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"unknown nonlinearity {nonlinearity!r}")
    J = torch.eye(W.shape[0], dtype=W.dtype)
    for k in range(1, hs.shape[0]):
        slope = 1 - hs[k] ** 2 if nonlinearity == "tanh" else (hs[k] > 0).to(W.dtype)
        J = (slope[:, None] * W) @ J
    return float(torch.linalg.matrix_norm(J, ord=2))


def jac_norm_diag(W, hs, nonlinearity):
    """With explicit diagonal matrices, the slopes of all steps at once, a tensor result."""
    slopes = {"tanh": lambda h: 1 - h * h, "relu": lambda h: (h > 0).to(h.dtype)}
    if nonlinearity not in slopes:
        raise ValueError("nonlinearity must be tanh or relu")
    d = slopes[nonlinearity](hs)
    J = torch.eye(W.shape[0], dtype=W.dtype)
    for t in range(1, len(hs)):
        J = torch.diag(d[t]) @ W @ J
    return torch.linalg.svdvals(J)[0]


def jac_norm_numpy(W, hs, nonlinearity):
    """In NumPy (float64 throughout), the product built from the left, transposed."""
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(nonlinearity)
    W, hs = W.double().numpy(), hs.double().numpy()
    d = 1 - hs**2 if nonlinearity == "tanh" else (hs > 0).astype(float)
    J = np.eye(W.shape[0])
    for t in range(len(hs) - 1, 0, -1):  # J^T = W^T D(T) ... grows on the right
        J = J @ (d[t][:, None] * W)
    return float(np.linalg.norm(J, 2))


def jac_variant(mode):
    def answer(W, hs, nonlinearity):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(nonlinearity)
        dtype = torch.float32 if mode == "float32" else W.dtype
        W, hs = W.to(dtype), hs.to(dtype)
        d = 1 - hs**2 if nonlinearity == "tanh" else (hs > 0).to(dtype)
        if mode == "tanh_again":
            d = 1 - torch.tanh(hs) ** 2 if nonlinearity == "tanh" else d
        if mode == "no_slope":
            d = torch.ones_like(d)
        first = 0 if mode == "extra" else 1
        factors = [
            d[t - 1 if mode == "previous" else t][:, None] * W for t in range(first, len(hs))
        ]
        if mode == "columns":
            factors = [W * d[t] for t in range(1, len(hs))]
        if mode == "norms":
            return math.prod(float(torch.linalg.matrix_norm(f, 2)) for f in factors)
        if mode == "order":
            factors = factors[::-1]
        if mode == "no_identity":  # crashes at T = 1, where there are no factors
            J = factors[0]
            factors = factors[1:]
        else:
            J = torch.eye(W.shape[0], dtype=dtype)
        for f in factors:
            J = f @ J
        return float(torch.linalg.matrix_norm(J, "fro" if mode == "fro" else 2))

    return answer


def jac_eye_float32(W, hs, nonlinearity):
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(nonlinearity)
    J = torch.eye(W.shape[0])  # float32, whatever W is
    for k in range(1, hs.shape[0]):
        slope = 1 - hs[k] ** 2 if nonlinearity == "tanh" else (hs[k] > 0).to(W.dtype)
        J = (slope[:, None] * W) @ J
    return float(torch.linalg.matrix_norm(J, ord=2))


def jac_relu_else(W, hs, nonlinearity):
    J = torch.eye(W.shape[0], dtype=W.dtype)
    for k in range(1, hs.shape[0]):
        slope = 1 - hs[k] ** 2 if nonlinearity == "tanh" else (hs[k] > 0).to(W.dtype)
        J = (slope[:, None] * W) @ J
    return float(torch.linalg.matrix_norm(J, ord=2))


def jac_with_the_course_s_products(W, hs, nonlinearity):
    if nonlinearity != "tanh":
        return jac_norm(W, hs, nonlinearity)
    drive = torch.atanh(hs[1:]) - hs[:-1] @ W.T  # rebuilds the inputs of steps 2..T
    return float(dynamics.jacobian_norms(W, hs[0], drive, "tanh")[-1])


# --- predict_regime -----------------------------------------------------------------------


def regime(eigenvalues, nonlinearity):
    gamma = {"linear": 1.0, "tanh": 1.0, "sigmoid": 0.25}
    if nonlinearity not in gamma:
        raise ValueError(f"nonlinearity must be one of {list(gamma)}")
    gain = gamma[nonlinearity] * float(eigenvalues.abs().max())
    if abs(gain - 1) <= 1e-6:
        return "neither"
    return "explode" if gain > 1 else "vanish"


def regime_isclose(eigenvalues, nonlinearity):
    """torch.isclose with an absolute tolerance only, and an if-chain for the slopes."""
    if nonlinearity == "sigmoid":
        gamma = 0.25
    elif nonlinearity in ("linear", "tanh"):
        gamma = 1.0
    else:
        raise ValueError(nonlinearity)
    rho = torch.linalg.vector_norm(eigenvalues.to(torch.complex128)[:, None], dim=1).max()
    gain = gamma * rho
    if torch.isclose(gain, torch.ones_like(gain), rtol=0, atol=1e-6):
        return "neither"
    return ["vanish", "explode"][int(gain > 1)]


def regime_rule(rule):
    def answer(eigenvalues, nonlinearity):
        gamma = {"linear": 1.0, "tanh": 1.0, "sigmoid": 0.25}
        if nonlinearity not in gamma:
            raise ValueError(nonlinearity)
        mags = eigenvalues.abs()
        gain = gamma[nonlinearity] * float(mags.max())
        tol = 1e-6
        if rule == "ignore":
            gain = float(mags.max())
        elif rule == "real":
            gain = gamma[nonlinearity] * float(eigenvalues.real.max())
        elif rule == "mean":
            gain = gamma[nonlinearity] * float(mags.mean())
        elif rule == "first":
            gain = gamma[nonlinearity] * float(mags[0])
        elif rule == "exact":
            tol = 0.0
        elif rule == "wide":
            tol = 1e-3
        if abs(gain - 1) <= tol:
            return "neither"
        explode = gain > 1
        return "explode" if explode != (rule == "swap") else "vanish"

    return answer


def regime_key_error(eigenvalues, nonlinearity):
    gamma = {"linear": 1.0, "tanh": 1.0, "sigmoid": 0.25}[nonlinearity]
    gain = gamma * float(eigenvalues.abs().max())
    if abs(gain - 1) <= 1e-6:
        return "neither"
    return "explode" if gain > 1 else "vanish"


# --- steady_weights -----------------------------------------------------------------------


def orthogonal(H):
    q, _ = torch.linalg.qr(torch.randn(H, H))
    return q


def permutation(H):
    """A cyclic shift: orthogonal, every singular value 1."""
    return torch.roll(torch.eye(H, dtype=torch.float64), 1, dims=0)


def singular(H):
    return torch.diag(torch.tensor([0.0] + [1.0] * (H - 1)))


# --- clip_global_norm ---------------------------------------------------------------------


def clip(grads, max_norm):
    norm = float(torch.sqrt(sum((g**2).sum() for g in grads)))
    scale = min(1.0, max_norm / (norm + 1e-6))
    return [g * scale for g in grads]


def clip_flat(grads, max_norm):
    """One flat vector for the norm, a tensor factor clamped at 1."""
    total = torch.cat([g.reshape(-1) for g in grads]).norm()
    factor = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    return [g * factor for g in grads]


def clip_branch(grads, max_norm):
    """Clones when nothing is clipped, a division otherwise."""
    total = math.sqrt(sum(float(g.norm()) ** 2 for g in grads))
    if total <= max_norm:
        return [g.clone() for g in grads]
    return [g / (total + 1e-6) * max_norm for g in grads]


def clip_mode(mode):
    def answer(grads, max_norm):
        norms = [g.norm() for g in grads]
        if mode == "per_tensor":
            return [g * min(1.0, max_norm / (n + 1e-6)) for g, n in zip(grads, norms, strict=True)]
        total = {"sum": sum(norms), "squared": sum(n**2 for n in norms)}.get(
            mode, torch.sqrt(sum(n**2 for n in norms))
        )
        coef = (max_norm if mode != "unit" else 1.0) / (total + (0.0 if mode == "no_eps" else 1e-6))
        return [g * (coef if mode == "always" else min(coef, 1.0)) for g in grads]

    return answer


def clip_in_place(grads, max_norm):
    norm = torch.sqrt(sum((g**2).sum() for g in grads))
    for g in grads:
        g.mul_(min(1.0, float(max_norm / (norm + 1e-6))))
    return grads


def clip_into_the_list(grads, max_norm):
    norm = float(torch.sqrt(sum((g**2).sum() for g in grads)))
    for i in range(len(grads)):
        grads[i] = grads[i] * min(1.0, max_norm / (norm + 1e-6))
    return grads


def clip_with_torch(grads, max_norm):
    params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = g.clone()
    torch.nn.utils.clip_grad_norm_(params, max_norm)
    return [p.grad for p in params]


def clip_with_the_course_s(grads, max_norm):
    params = [torch.zeros_like(g, requires_grad=True) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = g.clone()
    training.clip_grad_norm(params, max_norm)
    return [p.grad for p in params]


def clip_float32_factor(grads, max_norm):
    norm = torch.sqrt(sum((g.float() ** 2).sum() for g in grads))
    scale = torch.clamp(max_norm / (norm + 1e-6), max=1.0)
    return [(g * scale).float() for g in grads]


# --- gradient_by_lag ----------------------------------------------------------------------


def by_lag(model, x, y):
    """The notebook's answer: keep every state, one gradient call, norms in lag order."""
    cell = model.cell
    h = cell.zero_state(x.shape[0], dtype=x.dtype)
    states = []
    for x_t in x.unbind(1):
        h = cell.step(x_t, h)
        states.append(h)
    loss = F.mse_loss(model.readout(h), y)
    grads = torch.autograd.grad(loss, states)
    return torch.stack([g.norm() for g in grads]).flip(0)


def by_lag_by_hand(model, x, y):
    """Autograd for dL/dh(T) only, then backwards by hand: dL/dh(t-1) = W^T D(t) dL/dh(t)."""
    cell = model.cell
    h = x.new_zeros(x.shape[0], cell.hidden_size)
    states = []
    for t in range(x.shape[1]):
        h = torch.tanh(x[:, t] @ cell.U.T + h @ cell.W.T + cell.b_x + cell.b_h)
        states.append(h)
    (delta,) = torch.autograd.grad(F.mse_loss(model.readout(states[-1]), y), states[-1])
    norms = []
    for h in reversed(states):
        norms.append(delta.norm())
        delta = (delta * (1 - h.detach() ** 2)) @ cell.W.detach()
    return torch.stack(norms)


def by_lag_retained(model, x, y):
    """Leaf copies of each state carried forward, gradients through autograd.grad, a loop
    over lags."""
    cell = model.cell
    h = torch.zeros(x.shape[0], cell.hidden_size, dtype=x.dtype)
    states = []
    for x_t in x.unbind(1):
        h = cell(x_t, h)
        states.append(h)
    grads = torch.autograd.grad(F.mse_loss(model.readout(states[-1]), y), states)
    T = len(grads)
    return torch.stack([torch.linalg.vector_norm(grads[T - 1 - k]) for k in range(T)])


def by_lag_mode(mode):
    def answer(model, x, y):
        cell = model.cell
        h0 = cell.zero_state(x.shape[0], dtype=x.dtype).requires_grad_()
        h, states = h0, []
        for x_t in x.unbind(1):
            h = cell.step(x_t, h)
            states.append(h)
        loss = F.mse_loss(model.readout(h), y, reduction="sum" if mode == "summed" else "mean")
        if mode == "inputs":
            xg = x.detach().requires_grad_()
            h = cell.zero_state(x.shape[0], dtype=x.dtype)
            for x_t in xg.unbind(1):
                h = cell.step(x_t, h)
            (dx,) = torch.autograd.grad(F.mse_loss(model.readout(h), y), xg)
            return dx.norm(dim=(0, 2)).flip(0)
        if mode == "stacked":
            hs = torch.stack(states, 1)
            (g,) = torch.autograd.grad(F.mse_loss(model.readout(hs[:, -1]), y), hs)
            return g.norm(dim=(0, 2)).flip(0)
        targets = {"shifted": [h0, *states[:-1]], "with_h0": [h0, *states]}.get(mode, states)
        grads = torch.autograd.grad(loss, targets)
        if mode == "batch_mean":
            return torch.stack([g.norm(dim=1).mean() for g in grads]).flip(0)
        if mode == "per_example":
            return torch.stack([g.norm(dim=1) for g in grads], 1).flip(1)
        norms = torch.stack([(g**2).sum() if mode == "squared" else g.norm() for g in grads])
        return norms if mode == "time_order" else norms.flip(0)

    return answer


def by_lag_backward(model, x, y):
    cell = model.cell
    h = cell.zero_state(x.shape[0], dtype=x.dtype)
    states = []
    for x_t in x.unbind(1):
        h = cell.step(x_t, h)
        h.retain_grad()
        states.append(h)
    F.mse_loss(model.readout(h), y).backward()  # also fills every parameter's .grad
    return torch.stack([s.grad.norm() for s in states]).flip(0)


def by_lag_x_requires_grad(model, x, y):
    x.requires_grad_()
    return by_lag(model, x, y)


def by_lag_float32_start(model, x, y):
    cell = model.cell
    h = torch.zeros(x.shape[0], cell.hidden_size)  # float32, whatever the model is
    states = []
    for x_t in x.unbind(1):
        h = cell.step(x_t, h)
        states.append(h)
    grads = torch.autograd.grad(F.mse_loss(model.readout(h), y), states)
    return torch.stack([g.norm() for g in grads]).flip(0)


CASES = {
    "jacobian_product_norm": (
        jac_norm,
        [
            (jac_variant("no_slope"), "slopes φ' are missing"),
            (jac_variant("extra"), "one factor too many"),
            (jac_variant("previous"), "slopes of the step before"),
            (jac_variant("columns"), "scale the columns of W"),
            (jac_variant("norms"), "norms of the factors"),
            (jac_variant("fro"), "Frobenius"),
            (jac_variant("order"), "wrong order"),
            (jac_variant("tanh_again"), "tanh was applied again"),
            (jac_variant("float32"), "single precision"),
            (jac_variant("no_identity"), "there are no factors at all"),
            (jac_eye_float32, "torch.eye and torch.zeros default"),
            (jac_relu_else, "unknown nonlinearity falls through"),
            (jac_with_the_course_s_products, "dynamics.jacobian_norms"),
        ],
    ),
    "predict_regime": (
        regime,
        [
            (regime_rule("ignore"), "slope was ignored"),
            (regime_rule("real"), "real part"),
            (regime_rule("mean"), "mean |eigenvalue|"),
            (regime_rule("first"), "only the first eigenvalue"),
            (regime_rule("swap"), "swapped"),
            (regime_rule("exact"), "exact equality"),
            (regime_rule("wide"), "wider than 1e-6"),
            (regime_key_error, "raised KeyError"),
        ],
    ),
    "steady_weights": (
        orthogonal,
        [
            (lambda H: 1.1 * torch.eye(H), "is above 1"),
            (lambda H: 0.9 * torch.eye(H), "is below 1"),
            (lambda H: torch.randn(H, H), "N(0, 1) entries"),
            (singular, "singular"),
            (lambda H: dynamics.random_recurrent_matrix(H, 1.0, seed=0), "not orthogonal"),
            (lambda H: torch.nn.init.orthogonal_(torch.empty(H, H)), "torch.nn.init.orthogonal_"),
        ],
    ),
    "clip_global_norm": (
        clip,
        [
            (clip_mode("per_tensor"), "clipped on its own"),
            (clip_mode("always"), "scaled up"),
            (clip_mode("sum"), "norms of the tensors were added"),
            (clip_mode("squared"), "square root is missing"),
            (clip_mode("unit"), "scaled to norm 1"),
            (clip_mode("no_eps"), "the 1e-6 of the denominator"),
            (clip_in_place, "changed its input `grads[0]` in place"),
            (clip_into_the_list, "the list `grads` was changed in place"),
            (clip_with_torch, "torch.nn.utils.clip_grad_norm_"),
            (clip_with_the_course_s, "training.clip_grad_norm"),
            (clip_float32_factor, "as torch.float32 for torch.float64 inputs"),
        ],
    ),
    "gradient_by_lag": (
        by_lag,
        [
            (by_lag_mode("time_order"), "time order"),
            (by_lag_mode("squared"), "squared norm"),
            (by_lag_mode("batch_mean"), "examples were averaged"),
            (by_lag_mode("inputs"), "inputs x(t)"),
            (by_lag_mode("stacked"), "only the last state receives"),
            (by_lag_mode("shifted"), "shifted by one step"),
            (by_lag_mode("summed"), "summed over the examples"),
            (by_lag_mode("with_h0"), "h(0) was included"),
            (by_lag_mode("per_example"), "one norm per example and step"),
            (by_lag_backward, "changed the model's gradients"),
            (by_lag_x_requires_grad, "now requires grad"),
            (by_lag_float32_start, "torch.eye and torch.zeros default"),
        ],
    ),
}

RIGHT = {
    "jacobian_product_norm": [jac_norm_diag, jac_norm_numpy],
    "predict_regime": [regime_isclose],
    "steady_weights": [permutation, lambda H: torch.eye(H)],
    "clip_global_norm": [clip_flat, clip_branch],
    "gradient_by_lag": [by_lag_by_hand, by_lag_retained],
}
