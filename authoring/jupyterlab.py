"""A throwaway JupyterLab server on loopback, for the browser test and the Run All benchmark.

No token, its own Jupyter folders under ``home`` (nothing global read or written), no news
pop-up and no update check, and every kernel in the server's process group, so stopping the
server stops them too.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

START_S = 60  # JupyterLab up and answering /api/status

# Settings written to the temporary user-settings folder: no news pop-up, no update check.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


class LabDidNotStart(RuntimeError):
    """JupyterLab exited or did not answer in time; the message ends with its log."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(server: subprocess.Popen) -> None:
    """Stop the server and its kernels (they share the server's process group)."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=15)


@contextmanager
def lab_server(root: Path, home: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """Serve ``root`` with JupyterLab; yield its base URL (``http://127.0.0.1:PORT``).

    ``home`` receives the Jupyter folders and the server's log, ``jupyterlab.log``; ``env``
    adds variables that the kernels see (for example ``RNNCOURSE_THREADS``). Raises
    :class:`LabDidNotStart` when the server exits or does not answer within ``START_S``.
    """
    home.mkdir(parents=True, exist_ok=True)
    environ = dict(os.environ, **(env or {}))
    for name in ["JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"]:
        environ[name] = str(home / name.lower())
    environ["JUPYTERLAB_SETTINGS_DIR"] = str(home / "lab-settings")
    environ["JUPYTERLAB_WORKSPACES_DIR"] = str(home / "lab-workspaces")
    for file, values in LAB_SETTINGS.items():
        path = Path(environ["JUPYTERLAB_SETTINGS_DIR"]) / file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))

    port = _free_port()
    command = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.token=", "--ServerApp.password=",
        "--ServerApp.disable_check_xsrf=True",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.terminals_enabled=False",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]  # fmt: skip
    log_path = home / "jupyterlab.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            command, cwd=root, env=environ, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + START_S
            while True:
                if server.poll() is not None:
                    log.flush()
                    raise LabDidNotStart(
                        f"JupyterLab exited with code {server.returncode}:\n"
                        f"{log_path.read_text()[-3000:]}"
                    )
                try:
                    urllib.request.urlopen(f"{url}/api/status", timeout=2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        log.flush()
                        raise LabDidNotStart(
                            f"JupyterLab did not answer in {START_S} s:\n"
                            f"{log_path.read_text()[-3000:]}"
                        ) from None
                    time.sleep(0.25)
            yield url
        finally:
            _stop(server)
