import os

import matplotlib
import pytest

from tests import offline

matplotlib.use("Agg")


@pytest.fixture(autouse=True, scope="session")
def _offline():
    """Every test runs with non-loopback network access blocked."""
    offline.block()
    yield
    offline.unblock()


@pytest.fixture(autouse=True)
def _no_figure_leaks():
    """Close pyplot figures a test left open, so one test cannot slow the next."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture
def progress_file(tmp_path, monkeypatch):
    """A fresh progress file for the exercise checkers, and nothing passed in this session.

    Yields the file's path (it exists once a checker has recorded a pass).
    """
    from rnncourse.checks import _framework, _progress

    path = tmp_path / "progress.json"
    monkeypatch.setenv(_progress.ENV_VAR, str(path))
    monkeypatch.setattr(_progress, "SESSION_PASSED", set())
    _framework.LAST.clear()  # no function was checked in this session
    yield path
    _framework.LAST.clear()


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a module of tiny-matrix tests: on a 2-core machine a second
    thread only adds contention. Restores the previous setting afterwards."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def pytest_report_header(config):
    import torch

    return f"torch {torch.__version__}, threads {torch.get_num_threads()}, cpus {os.cpu_count()}"
