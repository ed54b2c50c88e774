"""Real text shipped inside the package, read offline.

``load_names`` (32,033 first names, US births of 2018, public domain) and
``load_shakespeare`` (1,115,394 characters of the plays); ``verify_corpora`` checks both
against their SHA-256 digests (``CORPUS_SHA256``). The files lie gzip-compressed in
``rnncourse/data/`` (origin and licence in its README), found with ``importlib.resources``
from a wheel, an editable install or a checkout, decompressed and checked once a process.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
from importlib import resources

__all__ = ["CORPUS_SHA256", "load_names", "load_shakespeare", "verify_corpora"]

CORPUS_SHA256 = {
    "names": "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d",
    "tinyshakespeare": "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
}
"""SHA-256 of each corpus's decompressed bytes, by corpus name."""


def read_packaged(filename: str, fix: str) -> bytes:
    """The bytes of ``rnncourse/data/<filename>``; ``fix`` ends the message when it is missing."""
    try:
        return (resources.files("rnncourse") / "data" / filename).read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"rnncourse/data/{filename} is missing from this installation; {fix}"
        ) from None


def _read(name: str) -> bytes:
    """The decompressed bytes of ``rnncourse/data/<name>.txt.gz``."""
    fix = "reinstall rnncourse (pip install --force-reinstall rnncourse)."
    return gzip.decompress(read_packaged(f"{name}.txt.gz", fix))


def _check(name: str, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    if digest != CORPUS_SHA256[name]:
        raise ValueError(
            f"the corpus {name!r} is damaged: its sha256 is {digest}, expected "
            f"{CORPUS_SHA256[name]}; reinstall rnncourse (pip install --force-reinstall rnncourse)."
        )
    return digest


@functools.cache
def _text(name: str) -> str:
    data = _read(name)
    _check(name, data)
    return data.decode("utf-8")


def verify_corpora() -> dict[str, str]:
    """Check every shipped corpus against ``CORPUS_SHA256``; return the digests by name.

    Reads and decompresses the files again (nothing cached), so it also sees a file
    changed after the first load. Raises ``ValueError`` naming the corpus that does not match.
    """
    return {name: _check(name, _read(name)) for name in CORPUS_SHA256}


def load_names() -> list[str]:
    """The 32,033 names of ``names.txt``, in file order (most frequent first), as a new list.

    Each name is lower case ``a``-``z``, 2 to 15 letters; 2,539 names occur twice.
    Split them with ``split_names``.
    """
    return _text("names").split("\n")


def load_shakespeare() -> str:
    """The whole ``tinyshakespeare.txt`` as one str of 1,115,394 characters (65 distinct).

    Split it by position with ``split_text``.
    """
    return _text("tinyshakespeare")
