"""The student workspace: copying notebooks without losing work, launching, packaging."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import nbformat
import pytest

from rnncourse import cli, workspace

REPO = Path(__file__).resolve().parent.parent
V1 = {"01_a.ipynb": b'{"v": 1}', "02_b.ipynb": b'{"v": 1, "b": true}'}


def test_first_copy_writes_everything_and_a_manifest(tmp_path):
    report = workspace.copy_notebooks(tmp_path / "ws", V1)
    assert report.new == ["01_a.ipynb", "02_b.ipynb"]
    for name, data in V1.items():
        assert (tmp_path / "ws" / name).read_bytes() == data
    manifest = json.loads((tmp_path / "ws" / workspace.MANIFEST).read_text())
    assert set(manifest) == set(V1)


def test_unchanged_copies_are_updated_in_place_silently(tmp_path, capsys):
    workspace.copy_notebooks(tmp_path, V1)
    capsys.readouterr()
    v2 = dict(V1, **{"01_a.ipynb": b'{"v": 2}'})
    report = workspace.copy_notebooks(tmp_path, v2)
    assert report.updated == ["01_a.ipynb"] and report.unchanged == ["02_b.ipynb"]
    assert (tmp_path / "01_a.ipynb").read_bytes() == b'{"v": 2}'
    assert capsys.readouterr().out == ""
    assert not list(tmp_path.glob("*.updated.ipynb"))


def test_student_changes_are_never_overwritten(tmp_path, capsys):
    workspace.copy_notebooks(tmp_path, V1)
    (tmp_path / "01_a.ipynb").write_bytes(b'{"v": 1, "mine": "my work"}')
    # nothing new shipped: nothing happens
    report = workspace.copy_notebooks(tmp_path, V1)
    assert report.kept == ["01_a.ipynb"] and not list(tmp_path.glob("*.updated.ipynb"))
    # a newer version ships: it arrives beside the student's copy, with a message
    v2 = dict(V1, **{"01_a.ipynb": b'{"v": 2}'})
    capsys.readouterr()
    report = workspace.copy_notebooks(tmp_path, v2)
    assert (tmp_path / "01_a.ipynb").read_bytes() == b'{"v": 1, "mine": "my work"}'
    assert (tmp_path / "01_a.updated.ipynb").read_bytes() == b'{"v": 2}'
    out = capsys.readouterr().out
    assert "01_a.ipynb" in out and "01_a.updated.ipynb" in out
    # and again, still kept
    workspace.copy_notebooks(tmp_path, v2)
    assert (tmp_path / "01_a.ipynb").read_bytes() == b'{"v": 1, "mine": "my work"}'


def test_a_file_never_copied_by_us_is_kept(tmp_path):
    (tmp_path / "01_a.ipynb").write_bytes(b"student's own file")
    report = workspace.copy_notebooks(tmp_path, V1)
    assert report.kept == ["01_a.ipynb"]
    assert (tmp_path / "01_a.ipynb").read_bytes() == b"student's own file"
    assert (tmp_path / "01_a.updated.ipynb").read_bytes() == V1["01_a.ipynb"]


def test_damaged_manifest_is_treated_as_empty(tmp_path):
    workspace.copy_notebooks(tmp_path, V1)
    (tmp_path / workspace.MANIFEST).write_text("[broken")
    report = workspace.copy_notebooks(tmp_path, V1)
    assert report.unchanged == ["01_a.ipynb", "02_b.ipynb"]


def test_bad_destination(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="is not a folder"):
        workspace.copy_notebooks(tmp_path / "file", V1)
    with pytest.raises(TypeError, match="dest must be a folder path"):
        workspace.copy_notebooks(3, V1)


def test_shipped_notebooks_fall_back_to_the_repository_in_a_dev_install():
    shipped = workspace.shipped_notebooks()
    expected = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
    expected = [n for n in expected if not n.endswith(".updated.ipynb")]
    assert sorted(shipped) == expected


def _record_calls(monkeypatch, *, root: bool) -> list:
    calls = []
    monkeypatch.setattr(workspace, "shipped_notebooks", lambda: V1)
    monkeypatch.setattr(workspace, "_running_as_root", lambda: root)
    monkeypatch.setattr(
        workspace.subprocess, "call", lambda cmd, cwd: calls.append((cmd, cwd)) or 0
    )
    return calls


def test_start_launches_jupyterlab_in_the_workspace(tmp_path, monkeypatch):
    calls = _record_calls(monkeypatch, root=False)
    assert cli.main(["start", str(tmp_path / "ws"), "--no-browser"]) == 0
    ((cmd, cwd),) = calls
    assert cmd == [sys.executable, "-m", "jupyter", "lab", "--no-browser"]
    assert Path(cwd) == tmp_path / "ws" and (tmp_path / "ws" / "01_a.ipynb").exists()
    calls.clear()
    assert cli.main(["start", str(tmp_path / "ws")]) == 0
    assert calls[0][0] == [sys.executable, "-m", "jupyter", "lab"]


def test_start_passes_arguments_after_double_dash_to_jupyter(tmp_path, monkeypatch):
    calls = _record_calls(monkeypatch, root=False)
    argv = ["start", str(tmp_path / "ws"), "--", "--port=8889", "--ServerApp.token=abc"]
    assert cli.main(argv) == 0
    assert calls[0][0][3:] == ["lab", "--port=8889", "--ServerApp.token=abc"]
    assert Path(calls[0][1]) == tmp_path / "ws"
    calls.clear()
    monkeypatch.chdir(tmp_path)  # no folder named: the default one, not "--port=1"
    assert cli.main(["start", "--no-browser", "--", "--port=1"]) == 0
    assert calls[0][0][3:] == ["lab", "--no-browser", "--port=1"]
    assert Path(calls[0][1]) == Path(workspace.DEFAULT_DIR)
    with pytest.raises(SystemExit):
        cli.main(["release", "--check", "--", "--port=1"])


def test_start_as_root_adds_allow_root_and_says_so(tmp_path, monkeypatch, capsys):
    calls = _record_calls(monkeypatch, root=True)
    assert cli.main(["start", str(tmp_path / "ws")]) == 0
    assert calls[0][0][-1] == "--allow-root"
    assert "--allow-root" in capsys.readouterr().out
    calls.clear()
    assert cli.main(["start", str(tmp_path / "ws"), "--", "--allow-root"]) == 0
    assert calls[0][0].count("--allow-root") == 1


def test_jupyter_command_rejects_a_string_of_arguments():
    with pytest.raises(TypeError, match="list of strings"):
        workspace.jupyter_command("--port=8889")


def test_start_copy_only_does_not_launch(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(workspace, "shipped_notebooks", lambda: V1)
    monkeypatch.setattr(workspace.subprocess, "call", pytest.fail)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["start", "--copy-only"]) == 0
    assert (tmp_path / workspace.DEFAULT_DIR / "02_b.ipynb").exists()
    assert "2 notebooks (2 new, 0 updated)" in capsys.readouterr().out


def test_pyproject_lists_every_package():
    """The packages are listed by hand in pyproject.toml; a new subpackage must be added."""
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {
        ".".join(p.parent.relative_to(REPO).parts)
        for p in (REPO / "rnncourse").rglob("__init__.py")
    }
    assert set(config["packages"]) == found | {"rnncourse.notebooks", "rnncourse.data"}
    assert config["package-dir"] == {"rnncourse.notebooks": "notebooks"}


@pytest.mark.slow
def test_wheel_ships_the_student_notebooks(tmp_path):
    """Build the sdist, and the wheel from it, from a copy of the repository plus a dummy."""
    src = tmp_path / "src"
    skip = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO / "rnncourse", src / "rnncourse", ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    (src / "notebooks" / "solutions").mkdir(parents=True)
    for nb in (REPO / "notebooks").glob("*.ipynb"):
        shutil.copy2(nb, src / "notebooks" / nb.name)
    (src / "notebooks" / "99_dummy.ipynb").write_text('{"cells": []}')
    (src / "notebooks" / "solutions" / "99_dummy.ipynb").write_text('{"cells": ["secret"]}')
    (src / "notebooks" / "99_dummy.updated.ipynb").write_text('{"cells": ["newer"]}')
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",  # no --wheel: the wheel is built from the sdist, as pip does
            "--no-isolation",
            "--skip-dependency-check",
            "--outdir",
            str(tmp_path / "dist"),
            str(src),
        ],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(n for n in names if n.startswith("rnncourse/notebooks/"))
    expected = sorted(
        f"rnncourse/notebooks/{p.name}"
        for p in (src / "notebooks").glob("*.ipynb")
        if ".updated." not in p.name
    )
    assert shipped == expected and "rnncourse/notebooks/99_dummy.ipynb" in shipped
    assert not any("solutions" in n for n in names)
    (sdist,) = (tmp_path / "dist").glob("*.tar.gz")
    assert not any("solutions" in n for n in tarfile.open(sdist).getnames())
    assert not list((REPO / "notebooks").glob("99_dummy*"))


def _notebook(*sources: str, outputs: int = 0) -> bytes:
    """A real notebook with one code cell per source (and ``outputs`` stream outputs)."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    for k, cell in enumerate(nb.cells):
        cell.id = f"cell-{k}"
        cell.outputs = [nbformat.v4.new_output("stream", text=f"{i}\n") for i in range(outputs)]
        cell.execution_count = k + 1 if outputs else None
    return nbformat.writes(nb).encode()


def test_a_notebook_only_run_is_not_edited_and_takes_the_new_version(tmp_path, capsys):
    workspace.copy_notebooks(tmp_path, {"01_a.ipynb": _notebook("x = 1")})
    ran = _notebook("x = 1", outputs=2)  # outputs, execution counts: run, not edited
    (tmp_path / "01_a.ipynb").write_bytes(ran)
    assert workspace.copy_notebooks(tmp_path, {"01_a.ipynb": _notebook("x = 1")}).unchanged
    assert (tmp_path / "01_a.ipynb").read_bytes() == ran  # nothing new: left as it is
    report = workspace.copy_notebooks(tmp_path, {"01_a.ipynb": _notebook("x = 2")})
    assert report.updated == ["01_a.ipynb"] and not report.kept
    assert b"x = 2" in (tmp_path / "01_a.ipynb").read_bytes()
    assert "changed" not in capsys.readouterr().out


def test_an_edited_notebook_is_announced_once_per_new_version(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(workspace, "shipped_notebooks", lambda: {"01_a.ipynb": _notebook("v2")})
    workspace.copy_notebooks(tmp_path, {"01_a.ipynb": _notebook("v1")})
    (tmp_path / "01_a.ipynb").write_bytes(_notebook("v1", "my answer"))
    capsys.readouterr()
    for start in range(2):
        assert cli.main(["start", str(tmp_path), "--copy-only"]) == 0
        out = capsys.readouterr().out
        assert out.count("you have changed this notebook") == (start == 0)
        assert "(0 new, 0 updated, 1 newer beside yours as .updated.ipynb)" in out
    assert b"my answer" in (tmp_path / "01_a.ipynb").read_bytes()
    v3 = {"01_a.ipynb": _notebook("v3")}  # another version: announced again
    assert workspace.copy_notebooks(tmp_path, v3).beside == ["01_a.ipynb"]
    assert "01_a.updated.ipynb" in capsys.readouterr().out
    assert b"v3" in (tmp_path / "01_a.updated.ipynb").read_bytes()


def test_a_manifest_of_file_digests_still_protects_edits(tmp_path):
    old = {"01_a.ipynb": workspace._digest(_notebook("v1"))}  # as written before cells counted
    (tmp_path / workspace.MANIFEST).write_text(json.dumps(old))
    (tmp_path / "01_a.ipynb").write_bytes(_notebook("v1", "mine"))
    report = workspace.copy_notebooks(tmp_path, {"01_a.ipynb": _notebook("v2")})
    assert report.kept == ["01_a.ipynb"] and b"mine" in (tmp_path / "01_a.ipynb").read_bytes()


def test_version_is_printed(capsys):
    from rnncourse import __version__

    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out == f"rnncourse {__version__}\n"
    tomllib = pytest.importorskip("tomllib")
    assert tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"] == __version__


@pytest.mark.parametrize(
    "platform, has_torch, answers, cpu_first",
    [("linux", False, True, True), ("linux", True, True, False),
     ("linux", False, False, False), ("darwin", False, True, False)],
)  # fmt: skip
def test_install_puts_the_cpu_build_first_only_on_linux_without_torch(
    monkeypatch, platform, has_torch, answers, cpu_first
):
    install = pytest.importorskip("install")  # install.py at the clone's root
    calls = []
    monkeypatch.setattr(install, "pip", lambda *args: calls.append(args) or 0)
    monkeypatch.setattr(install, "torch_installed", lambda: has_torch)
    monkeypatch.setattr(install, "reachable", lambda url: answers)
    monkeypatch.setattr(install.sys, "platform", platform)
    assert install.main(["--user"]) == 0
    cpu = [("torch", "--index-url", install.CPU_INDEX, "--user")] if cpu_first else []
    assert calls == [*cpu, ("-r", "requirements.txt", "--user")]


def test_install_gives_up_on_an_index_that_does_not_answer_in_time():
    install = pytest.importorskip("install")
    assert not install.reachable("http://127.0.0.1:9/", wait=1.0)  # the discard port: refused
