"""One way to turn a ``seed`` argument into a random-number generator.

Every function of the package that draws random numbers passes its ``seed`` through
:func:`generator`: an ``int`` (>= 0) gives a new private ``torch.Generator`` seeded with
it (same seed, same numbers, whatever else was drawn); a ``torch.Generator`` is used as
it is (and advanced); ``None`` gives a private generator seeded from the operating
system's entropy (different numbers on every call). The global generator
(``torch.manual_seed``) is never read or advanced.
"""

import numbers

import torch

__all__ = ["generator"]


def generator(seed: int | torch.Generator | None) -> torch.Generator:
    """A private ``torch.Generator`` for ``seed`` (an int >= 0, a Generator, or None)."""
    if isinstance(seed, torch.Generator):
        return seed
    g = torch.Generator()
    if seed is None:
        g.seed()
        return g
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(
            f"seed must be an int >= 0, a torch.Generator or None, got {type(seed).__name__} "
            f"({seed!r})."
        )
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}.")
    return g.manual_seed(int(seed))
