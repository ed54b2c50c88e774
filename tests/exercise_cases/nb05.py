"""Right and wrong answers for notebook 05's recurrent weights that keep the gradient."""

from __future__ import annotations

import torch

from rnncourse import dynamics


def orthogonal(H):
    q, _ = torch.linalg.qr(torch.randn(H, H))
    return q


def singular(H):
    return torch.diag(torch.tensor([0.0] + [1.0] * (H - 1)))


def jac_norm(W, hs, nonlinearity, mode="right"):
    d = 1 - hs**2 if nonlinearity == "tanh" else (hs > 0).to(hs.dtype)
    if mode == "no_slope":
        d = torch.ones_like(d)
    J = torch.eye(W.shape[0], dtype=W.dtype)
    norms = 1.0
    for t in range(0 if mode == "extra" else 1, hs.shape[0]):
        J = torch.diag(d[t]) @ W @ J
        norms = norms * torch.linalg.matrix_norm(torch.diag(d[t]) @ W, 2)
    if mode == "norms":
        return norms
    return torch.linalg.matrix_norm(J, "fro" if mode == "fro" else 2)


def clip(grads, max_norm, mode="right"):
    norms = [g.norm() for g in grads]
    if mode == "per_tensor":
        return [g * min(1.0, max_norm / (n + 1e-6)) for g, n in zip(grads, norms, strict=True)]
    total = sum(norms) if mode == "sum" else torch.sqrt(sum(n**2 for n in norms))
    coef = max_norm / (total + 1e-6)
    if mode != "always":
        coef = min(coef, 1.0)
    return [g * coef for g in grads]


def regime(eigenvalues, nonlinearity, mode="right"):
    slope = {"linear": 1.0, "tanh": 1.0, "sigmoid": 0.25}[nonlinearity]
    if mode == "ignore":
        slope = 1.0
    mags = eigenvalues.real if mode == "real" else eigenvalues.abs()
    gain = slope * float(mags.max())
    if abs(gain - 1) <= 1e-6 and mode != "old_rule":
        return "neither"  # the boundary: the linearised product keeps its size
    if mode == "swap":
        return "vanish" if gain > 1 else "explode"
    return "explode" if gain > 1 else "vanish"


CASES = {
    "steady_weights": (
        orthogonal,
        [
            (lambda H: 1.1 * torch.eye(H), "is above 1"),
            (lambda H: 0.9 * torch.eye(H), "is below 1"),
            (lambda H: torch.randn(H, H), "N(0, 1) entries"),
            (singular, "singular"),
            (lambda H: dynamics.random_recurrent_matrix(H, 1.0, seed=0), "not orthogonal"),
        ],
    ),
    "jacobian_product_norm": (
        jac_norm,
        [
            (lambda *a: jac_norm(*a, mode="no_slope"), "slopes φ' are missing"),
            (lambda *a: jac_norm(*a, mode="extra"), "one factor too many"),
            (lambda *a: jac_norm(*a, mode="norms"), "norms of the factors"),
            (lambda *a: jac_norm(*a, mode="fro"), "Frobenius"),
        ],
    ),
    "clip_global_norm": (
        clip,
        [
            (lambda *a: clip(*a, mode="per_tensor"), "clipped on its own"),
            (lambda *a: clip(*a, mode="always"), "scaled up"),
            (lambda *a: clip(*a, mode="sum"), "norms of the tensors were added"),
        ],
    ),
    "predict_regime": (
        regime,
        [
            (lambda *a: regime(*a, mode="ignore"), "slope was ignored"),
            (lambda *a: regime(*a, mode="real"), "real part"),
            (lambda *a: regime(*a, mode="swap"), "swapped"),
            (lambda *a: regime(*a, mode="old_rule"), 'return "neither" there'),
        ],
    ),
}
