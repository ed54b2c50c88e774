"""The notation lives once, in the package's docstring, and the website shows that text."""

import re
from pathlib import Path

import rnncourse
from authoring import site

ROOT = Path(__file__).resolve().parent.parent


def _rows() -> dict[str, str]:
    """{symbols: meaning} of the docstring's notation table."""
    doc = rnncourse.__doc__
    table = doc[doc.index("Notation") :].split("::", 1)[1]
    rows, last = {}, None
    for line in table.splitlines():
        if re.match(r"^    \S", line):
            symbols, meaning = re.split(r"\s{2,}", line.strip(), maxsplit=1)
            rows[symbols], last = meaning, symbols
        elif line.strip() and last is not None:
            rows[last] += " " + line.strip()
    return rows


def test_the_notation_table_names_the_course_s_symbols():
    rows = _rows()
    for symbol in ["U, W, b", "V, b_o", "rho", "s(t), theta", "r, z, n", "temperature"]:
        assert symbol in rows, f"{symbol} missing from the notation table"
    assert all(len(meaning.split()) >= 3 for meaning in rows.values())


def test_the_website_shows_the_docstring_and_the_readme_does_not_repeat_it():
    page = site._package_text()
    assert rnncourse.__doc__.strip().splitlines()[0] in page
    assert all(symbols in page for symbols in _rows())
    assert "Notation" not in (ROOT / "README.md").read_text()
