"""Block network access from the test process, except to loopback addresses.

Nothing in the course may reach the network at run time: data sets are generated in
memory and notebooks run offline. ``block()`` replaces ``socket.socket.connect`` (and
``connect_ex``) with a guard that raises ``OSError`` for any address outside the
loopback range and Unix sockets, so an accidental download fails loudly instead of
silently working on a connected machine.
"""

from __future__ import annotations

import ipaddress
import socket

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


class NetworkBlockedError(OSError):
    """Raised when code under test tries to reach a non-loopback address."""


def _is_local(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: resolving it would already be network access
        return False


def _guard(real):
    def connect(self, address):
        if self.family == socket.AF_UNIX or _is_local(address):
            return real(self, address)
        raise NetworkBlockedError(
            f"network access to {address!r} is blocked: the course must run offline."
        )

    return connect


def block() -> None:
    socket.socket.connect = _guard(_real_connect)
    socket.socket.connect_ex = _guard(_real_connect_ex)


def unblock() -> None:
    socket.socket.connect = _real_connect
    socket.socket.connect_ex = _real_connect_ex
