"""sd_notify from the real monitor process to a fake NOTIFY_SOCKET (issue: operations)."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.system.stack import running_stack, wait_for

pytestmark = [pytest.mark.multiprocess, pytest.mark.slow]

WATCHDOG_USEC = 400_000  # the monitor pings every 200 ms


class NotifySocket:
    """A datagram socket standing in for systemd's; collects (monotonic time, message)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.05)
        self.messages: list[tuple[float, str]] = []

    def drain(self) -> list[tuple[float, str]]:
        while True:
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                return self.messages
            self.messages.append((time.monotonic(), data.decode()))

    def lines(self, key: str) -> list[tuple[float, str]]:
        return [
            (t, m) for t, m in self.drain() if any(line.startswith(key) for line in m.split("\n"))
        ]


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifySocket]:
    sock = NotifySocket(Path(os.environ.get("RUNTIME_DIR", tmp_path)) / "notify.sock")
    yield sock
    sock.sock.close()


def test_monitor_when_supervised_then_ready_watchdog_status_and_stopping(
    tmp_path: Path, notify_socket: NotifySocket
) -> None:
    """READY after start, WATCHDOG at about half the interval with STATUS, STOPPING on SIGTERM."""
    with running_stack(tmp_path) as stack:
        stack.env.update(NOTIFY_SOCKET=str(notify_socket.path), WATCHDOG_USEC=str(WATCHDOG_USEC))
        stack.start_paper("normal")
        stack.start_monitor()
        wait_for(lambda: notify_socket.lines("READY=1"), 10, "READY=1")
        time.sleep(2.0)
        messages = [m for _, m in notify_socket.drain()]
        pings = [m for m in messages if "WATCHDOG=1" in m]
        # one ping per half interval (0.2 s): about 10 in 2 s, never one per 1 ms loop cycle
        assert 3 <= len(pings) <= 16
        assert "STATUS=state=ACTIVE" in pings[-1]
        assert messages.index(pings[0]) > next(i for i, m in enumerate(messages) if "READY=1" in m)
        stack.kill("monitor", signal.SIGTERM)
        assert notify_socket.lines("STOPPING=1")


def test_monitor_when_broker_hangs_then_watchdog_pings_stop(
    tmp_path: Path, notify_socket: NotifySocket
) -> None:
    """A loop that cannot complete a healthy cycle (terminal frozen) stops feeding the watchdog."""
    with running_stack(tmp_path, {"  call_timeout_ms: 2000": "  call_timeout_ms: 300"}) as stack:
        stack.env.update(NOTIFY_SOCKET=str(notify_socket.path), WATCHDOG_USEC=str(WATCHDOG_USEC))
        stack.start_paper("normal")
        stack.start_monitor()
        wait_for(lambda: len(notify_socket.lines("WATCHDOG=1")) >= 3, 20, "watchdog pings")
        stack.procs["paper"].send_signal(signal.SIGSTOP)
        try:
            time.sleep(1.0)  # let in-flight cycles finish (call timeout 0.3 s)
            notify_socket.drain()  # stamp everything sent so far before the frozen window
            frozen_at = time.monotonic()
            time.sleep(2.0)
            late = [t for t, _ in notify_socket.lines("WATCHDOG=1") if t > frozen_at]
            assert late == []
            assert stack.event("broker.disconnected") is not None
        finally:
            stack.procs["paper"].send_signal(signal.SIGCONT)
        wait_for(
            lambda: [t for t, _ in notify_socket.lines("WATCHDOG=1") if t > frozen_at + 2.0],
            20,
            "pings to resume after the terminal thaws",
        )
