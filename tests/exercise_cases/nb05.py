"""Right and wrong answers for notebook 05's recurrent weights that keep the gradient."""

from __future__ import annotations

import torch

from rnncourse import dynamics


def orthogonal(H):
    q, _ = torch.linalg.qr(torch.randn(H, H))
    return q


def singular(H):
    return torch.diag(torch.tensor([0.0] + [1.0] * (H - 1)))


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
}
