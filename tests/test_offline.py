import socket
import threading

import pytest

from tests.offline import NetworkBlockedError


def test_non_loopback_connect_is_blocked():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(NetworkBlockedError, match="offline"):
            s.connect(("93.184.216.34", 80))
    finally:
        s.close()


def test_loopback_still_works():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    received = []

    def serve():
        conn, _ = server.accept()
        with conn:
            received.append(conn.recv(5))
            conn.sendall(b"pong")

    t = threading.Thread(target=serve)
    t.start()
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        client.settimeout(5)
        client.connect(("127.0.0.1", port))  # not blocked: a loopback address
        client.sendall(b"ping!")
        assert client.recv(4) == b"pong"
    finally:
        client.close()
        t.join(5)
        server.close()
    assert not t.is_alive(), "the server thread did not finish"
    assert received == [b"ping!"]


def test_package_imports_offline():
    import importlib

    import rnncourse

    importlib.reload(rnncourse)
    assert rnncourse.__version__
