"""The notation table is written twice (README and package docstring); they must agree."""

import re
from pathlib import Path

import rnncourse

ROOT = Path(__file__).resolve().parent.parent


def _readme_code_names() -> set[str]:
    text = (ROOT / "README.md").read_text()
    table = text[text.index("### Notation") :].split("\n\n### ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| $")]
    assert len(rows) >= 10
    return {name for row in rows for name in re.findall(r"`([A-Za-z_]+)`", row.split("|")[2])}


def test_every_name_of_the_readme_table_is_in_the_package_docstring():
    doc = rnncourse.__doc__[rnncourse.__doc__.index("Notation") :]
    words = set(re.findall(r"[A-Za-z_]+", doc))
    missing = sorted(_readme_code_names() - words)
    assert not missing, f"in README's notation table but not in rnncourse's docstring: {missing}"
