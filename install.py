"""Set up the course in the current Python environment: ``python install.py``.

Installs ``requirements.txt`` (this package, JupyterLab and the kernel) with pip. On
Linux, PyPI's torch is the CUDA build (about 5.8 GB with its libraries), while the course
runs on the CPU and needs only the CPU build (about 1.3 GB in all); so where no torch is
installed yet, the CPU build comes first from PyTorch's own index, if that answers within
two seconds. An installed torch (Colab's, a conda one, a CUDA build you chose) is never
replaced, and where the index cannot be reached pip installs from its usual index.
Arguments are passed to pip, e.g. ``python install.py --user``.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
WAIT_S = 2.0
ROOT = Path(__file__).resolve().parent


def reachable(url: str, wait: float = WAIT_S) -> bool:
    """Whether ``url`` answers within ``wait`` seconds (name lookup included)."""
    answered = []

    def ask():
        try:
            with urllib.request.urlopen(url, timeout=wait):
                answered.append(True)
        except (OSError, ValueError):
            pass

    thread = threading.Thread(target=ask, daemon=True)  # a lookup that hangs is left behind
    thread.start()
    thread.join(wait)
    return bool(answered)


def pip(*args: str) -> int:
    """``pip install ARGS`` in this Python, from the clone's root (``-e .`` means it)."""
    return subprocess.call([sys.executable, "-m", "pip", "install", *args], cwd=ROOT)


def torch_installed() -> bool:
    return importlib.util.find_spec("torch") is not None


def main(pip_args: list[str]) -> int:
    if torch_installed():
        print("install.py: torch is installed already; it is kept.")
    elif not sys.platform.startswith("linux"):
        print("install.py: PyPI's torch for this system is the CPU build.")
    elif not reachable(f"{CPU_INDEX}/torch/"):
        print(f"install.py: {CPU_INDEX} did not answer; torch comes from pip's usual index.")
    elif pip("torch", "--index-url", CPU_INDEX, *pip_args) != 0:
        print("install.py: the CPU build did not install; torch comes from pip's usual index.")
    return pip("-r", "requirements.txt", *pip_args)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
