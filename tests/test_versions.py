"""The version claims: declared lower bounds agree, and CONTRIBUTING.md's version table is true."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _minimum_versions():
    spec = importlib.util.spec_from_file_location(
        "minimum_versions", ROOT / ".ci/minimum_versions.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _release(version: str) -> tuple[int, ...]:
    return _minimum_versions()._release(version)


def _readme_table() -> dict[str, dict[str, str]]:
    text = (ROOT / "CONTRIBUTING.md").read_text()
    block = text[text.index("**Tested versions**") :]
    lines = block.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[first:]:  # the table: the run of "|" lines after the heading
        if not line.startswith("|"):
            break
        rows.append(line)
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    table = {}
    for row in rows[2:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        table[cells[0]] = dict(zip(header[1:], cells[1:], strict=True))
    return table


def test_lower_bounds_agree_between_the_files():
    declared = _minimum_versions().declared_bounds(ROOT)
    pins = _minimum_versions().minimum_pins(ROOT)
    for name in ["torch", "numpy", "matplotlib", "ipywidgets", "jupyterlab", "ipykernel"]:
        files = [source for _, source in declared[name]]
        assert len(files) >= 2, f"{name} is bounded only in {files}"
        bounds = {_release(version) for version, _ in declared[name]}
        assert bounds == {_release(pins[name])}, f"{name}: {declared[name]}"


def test_disagreeing_bounds_are_reported(tmp_path):
    for name in ("pyproject.toml", "requirements.txt", "environment.yml"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    env = (tmp_path / "environment.yml").read_text().replace("numpy>=", "numpy>=9.9,<99  # ")
    (tmp_path / "environment.yml").write_text(env)
    with pytest.raises(ValueError, match=r"numpy: .*9\.9 in environment\.yml"):
        _minimum_versions().minimum_pins(tmp_path)


def test_readme_oldest_column_is_what_the_minimum_stage_installs():
    pins = _minimum_versions().minimum_pins(ROOT)
    table = _readme_table()
    assert table.pop("Python")["oldest tested"] == _minimum_versions().minimum_python(ROOT)
    assert set(table) <= set(pins)
    for name, row in table.items():
        assert _release(row["oldest tested"]) == _release(pins[name]), name


def test_readme_colab_and_pinned_columns_are_what_ci_installs():
    colab = dict(
        line.split("==")
        for line in (ROOT / ".ci/colab-constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    table = _readme_table()
    del table["Python"]  # the interpreter is not a pip package
    for name, row in table.items():
        if row["Colab"] != "not used":
            assert row["Colab"] == colab[name], name
    pinned_torch = re.search(r"pip install -q torch==([\d.]+)", (ROOT / ".ci/run").read_text())
    assert table["torch"]["pinned"] == pinned_torch.group(1)


def test_verify_names_what_is_installed_wrongly(tmp_path):
    pins = tmp_path / "pins.txt"
    pins.write_text("pytest==0.1\nnot-a-package-here==1.0\n")
    wrong = _minimum_versions().verify(pins)
    assert wrong[0].startswith("pytest: want 0.1, got ")
    assert wrong[1] == "not-a-package-here: want 1.0, got not installed"
