"""Reading the data files that ship inside the package (``rnncourse/data/``)."""

from __future__ import annotations

from importlib import resources


def read_packaged(filename: str, fix: str) -> bytes:
    """The bytes of ``rnncourse/data/<filename>``, from a wheel or an editable install.

    ``fix`` ends the error message when the file is missing (what to do about it).
    """
    try:
        return (resources.files("rnncourse") / "data" / filename).read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"rnncourse/data/{filename} is missing from this installation; {fix}"
        ) from None
