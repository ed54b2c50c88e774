"""One-hot encoding of integer tokens, with all-zero rows at padding."""

import torch
import torch.nn.functional as F

from rnncourse._validation import check_int, check_tensor
from rnncourse.sequences import length_mask

__all__ = ["one_hot"]


def one_hot(tokens: torch.Tensor, num_classes: int, lengths=None) -> torch.Tensor:
    """One-hot encode integer ``tokens`` in ``[0, num_classes)``: float32
    ``(*tokens.shape, num_classes)``. With ``lengths`` ``(B,)`` (``tokens`` then ``(B, T)``),
    steps at or past a sequence's length become all-zero rows."""
    tokens = check_tensor(tokens, "tokens", floating=False)
    if tokens.is_floating_point() or tokens.dtype == torch.bool:
        raise TypeError(f"tokens must be an integer tensor, got {tokens.dtype}. Use tokens.long().")
    num_classes = check_int(num_classes, "num_classes", min_value=1)
    if tokens.min() < 0 or tokens.max() >= num_classes:
        raise ValueError(
            f"tokens must lie in [0, {num_classes}), got values from {int(tokens.min())} to "
            f"{int(tokens.max())}; raise num_classes or fix the tokens."
        )
    out = F.one_hot(tokens.long(), num_classes).float()
    if lengths is not None:
        check_tensor(tokens, "tokens", ("B", "T"), floating=False)
        B, T = tokens.shape
        out = out * length_mask(lengths, T, min_length=0, batch_size=B).unsqueeze(-1)
    return out
