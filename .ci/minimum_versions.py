"""The declared lower bounds, as exact pins: what the minimum-versions CI stage installs.

Reads every ``>=`` bound in ``pyproject.toml`` (dependencies and the extras that the minimum
environment installs: every extra but ``site`` and ``grading``, which .ci/grading.sh installs
in an environment of their own at their newest versions), ``requirements.txt`` and
``environment.yml``, checks that a package bounded in more than one file has the same bound
everywhere, and prints one ``name==version`` line per package, for ``pip install -c``.
Conda names map to pip names (``pytorch-cpu`` is ``torch``, ``matplotlib-base`` is
``matplotlib``).

Usage: ``python .ci/minimum_versions.py [ROOT] > minimums.txt`` (exit status 1 and a
message naming the files when two bounds disagree); ``python .ci/minimum_versions.py
--verify minimums.txt`` checks that the running environment has exactly those versions;
``--python`` prints the oldest Python that ``requires-python`` admits.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

CONDA_TO_PIP = {"pytorch-cpu": "torch", "pytorch": "torch", "matplotlib-base": "matplotlib"}
NOT_PIP = {"python", "pip"}  # bounds on the interpreter and installer, not packages
OWN_ENVIRONMENT = {"site", "grading"}  # extras that .ci/grading.sh installs, not the minimum
BOUND = re.compile(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*((?:[<>=!~]=?[^,;#\s]+\s*,?\s*)*)")


def _normal(name: str) -> str:
    name = re.sub(r"[-_.]+", "-", name).lower()
    return CONDA_TO_PIP.get(name, name)


def _lower_bound(spec: str) -> str | None:
    found = re.search(r">=\s*([0-9][^,;\s]*)", spec)
    return found.group(1) if found else None


def _requirements(lines, source: str, into: dict) -> None:
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = BOUND.match(line)
        if not match:
            continue
        name, version = _normal(match.group(1)), _lower_bound(match.group(2))
        if version and name not in NOT_PIP:
            into.setdefault(name, []).append((version, source))


def declared_bounds(root: Path) -> dict[str, list[tuple[str, str]]]:
    """``{pip name: [(lower bound, file it is declared in), ...]}`` for every ``>=`` bound."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10, where pytest brings tomli
        import tomli as tomllib

    bounds: dict[str, list[tuple[str, str]]] = {}
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    _requirements(project["dependencies"], "pyproject.toml", bounds)
    for extra, deps in project.get("optional-dependencies", {}).items():
        if extra not in OWN_ENVIRONMENT:
            _requirements(deps, f"pyproject.toml [{extra}]", bounds)
    _requirements((root / "requirements.txt").read_text().splitlines(), "requirements.txt", bounds)
    env_lines = []
    for line in (root / "environment.yml").read_text().splitlines():
        item = re.match(r"^\s*-\s+([A-Za-z0-9_.\-]+\s*[<>=!].*)$", line)
        if item:  # conda's single "=" pins (python=3.11) carry no lower bound and are skipped
            env_lines.append(item.group(1))
    _requirements(env_lines, "environment.yml", bounds)
    return bounds


def minimum_pins(root: Path) -> dict[str, str]:
    """``{pip name: version}``; raises ValueError when files declare different bounds."""
    pins, clashes = {}, []
    for name, found in sorted(declared_bounds(root).items()):
        versions = {v for v, _ in found}
        if len(versions) > 1:
            clashes.append(f"{name}: " + ", ".join(f"{v} in {src}" for v, src in found))
        pins[name] = found[0][0]
    if clashes:
        raise ValueError("lower bounds disagree between files:\n  " + "\n  ".join(clashes))
    return pins


def minimum_python(root: Path) -> str:
    """The lower bound of ``requires-python`` in pyproject.toml, e.g. ``"3.10"``."""
    text = (root / "pyproject.toml").read_text()
    found = re.search(r'^requires-python\s*=\s*"\s*>=\s*([0-9.]+)', text, re.MULTILINE)
    if not found:
        raise ValueError('pyproject.toml declares no requires-python = ">=X.Y"')
    return found.group(1)


def _release(version: str) -> tuple[int, ...]:
    """(2, 1) for "2.1", "2.1.0" or "2.1.0+cu121": trailing zeros and local tags dropped."""
    parts = [int(p) for p in re.findall(r"\d+", version.split("+")[0])]
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def verify(pins_file: Path) -> list[str]:
    """The pins in ``pins_file`` that the running environment does not have exactly."""
    from importlib.metadata import PackageNotFoundError, version

    wrong = []
    for line in pins_file.read_text().split():
        name, want = line.split("==")
        try:
            got = version(name)
        except PackageNotFoundError:
            got = "not installed"
        if _release(got) != _release(want):
            wrong.append(f"{name}: want {want}, got {got}")
    return wrong


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[1] == "--python":
        print(minimum_python(Path(__file__).resolve().parent.parent))
        return 0
    if len(argv) == 3 and argv[1] == "--verify":
        wrong = verify(Path(argv[2]))
        print("\n".join(wrong) or f"all {argv[2]} versions installed exactly")
        return 1 if wrong else 0
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent
    try:
        pins = minimum_pins(root)
    except ValueError as err:
        print(err, file=sys.stderr)
        return 1
    print("\n".join(f"{name}=={version}" for name, version in pins.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
