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


def pytest_report_header(config):
    import torch

    return f"torch {torch.__version__}, threads {torch.get_num_threads()}, cpus {os.cpu_count()}"
