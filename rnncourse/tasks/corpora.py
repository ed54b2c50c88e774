"""Real text shipped gzip-compressed in ``rnncourse/data/`` (origin and licence in its
README), read offline and checked against ``CORPUS_SHA256`` once a process."""

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

_REINSTALL = "reinstall rnncourse (pip install --force-reinstall rnncourse)."


def read_packaged(filename: str, fix: str) -> bytes:
    """The bytes of ``rnncourse/data/<filename>``; ``fix`` ends the message when it is missing."""
    try:
        return (resources.files("rnncourse") / "data" / filename).read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"rnncourse/data/{filename} is missing from this installation; {fix}"
        ) from None


def _checked(name: str) -> bytes:
    """The decompressed bytes of ``rnncourse/data/<name>.txt.gz``, checked by their digest."""
    data = gzip.decompress(read_packaged(f"{name}.txt.gz", _REINSTALL))
    digest = hashlib.sha256(data).hexdigest()
    if digest != CORPUS_SHA256[name]:
        raise ValueError(
            f"the corpus {name!r} is damaged: its sha256 is {digest}, expected "
            f"{CORPUS_SHA256[name]}; {_REINSTALL}"
        )
    return data


@functools.cache
def _text(name: str) -> str:
    return _checked(name).decode("utf-8")


def verify_corpora() -> dict[str, str]:
    """Check every corpus against ``CORPUS_SHA256`` again (nothing cached); return the digests
    by name. Raises ``ValueError`` naming a corpus that does not match."""
    return {name: hashlib.sha256(_checked(name)).hexdigest() for name in CORPUS_SHA256}


def load_names() -> list[str]:
    """The 32,033 first names of US births in 2018 (public domain), most frequent first, as
    a new list: lower case ``a``-``z``, 2 to 15 letters; 2,539 names occur twice."""
    return _text("names").split("\n")


def load_shakespeare() -> str:
    """The tiny Shakespeare corpus as one str: 1,115,394 characters (65 distinct)."""
    return _text("tinyshakespeare")
