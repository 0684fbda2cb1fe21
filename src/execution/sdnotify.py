"""sd_notify without a dependency: one datagram of KEY=VALUE lines to ``$NOTIFY_SOCKET``.

Outside systemd (no NOTIFY_SOCKET) every call is a no-op. The watchdog interval is honoured only
when ``$WATCHDOG_PID`` is unset or ours, and pings are meant every half interval.
"""

from __future__ import annotations

import os
import socket

__all__ = ["notify", "watchdog_interval_ns"]


def notify(*assignments: str) -> bool:
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return False
    if addr[0] == "@":
        addr = "\0" + addr[1:]
    elif addr[0] != "/":
        raise OSError(f"unsupported NOTIFY_SOCKET {addr!r}")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        sock.connect(addr)
        sock.sendall("\n".join(assignments).encode("utf-8"))
    return True


def watchdog_interval_ns() -> int | None:
    """Half of ``$WATCHDOG_USEC`` in ns (the ping cadence), or None when no watchdog is set."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and int(pid) != os.getpid()):
        return None
    return int(usec) * 1000 // 2
