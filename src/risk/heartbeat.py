"""The monitor's dead-man heartbeat: ``monitor.heartbeat`` in the state dir.

The writer stamps its CLOCK_MONOTONIC reading and the boot id; the reader compares with its own
monotonic clock (system-wide on Linux), so wall-clock steps cannot fake freshness. The reader
re-reads the file only when its cached beat would have expired: a fresh check is one clock read.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Final

import orjson

from risk.clock import Clock, format_ts
from risk.durable import atomic_write

__all__ = ["HEARTBEAT_FILE", "HeartbeatReader", "HeartbeatWriter", "boot_id"]

HEARTBEAT_FILE: Final = "monitor.heartbeat"
_BOOT_ID_PATH: Final = Path("/proc/sys/kernel/random/boot_id")


def boot_id() -> str:
    try:
        return _BOOT_ID_PATH.read_text(encoding="ascii").strip()
    except OSError:
        return "unknown"


class HeartbeatWriter:
    def __init__(self, state_dir: Path, *, clock: Clock, file_mode: int) -> None:
        self._path = state_dir / HEARTBEAT_FILE
        self._clock = clock
        self._mode = file_mode
        self._fixed = {"pid": os.getpid(), "host": socket.gethostname(), "boot_id": boot_id()}

    def beat(self) -> None:
        """Refresh the heartbeat. Call only from a healthy evaluation loop."""
        body = {
            **self._fixed,
            "mono_ns": self._clock.monotonic_ns(),
            "at": format_ts(self._clock.now()),
        }
        atomic_write(self._path, orjson.dumps(body), self._mode, durable=False)


class HeartbeatReader:
    """Answers "is the monitor alive?" within ``timeout_ms``; anything odd counts as silent."""

    def __init__(self, state_dir: Path, *, clock: Clock, timeout_ms: int) -> None:
        self._path = state_dir / HEARTBEAT_FILE
        self._clock = clock
        self._timeout_ns = timeout_ms * 1_000_000
        self._boot_id = boot_id()
        self._key: tuple[int, int, int] | None = None
        self._beat_ns: int | None = None
        self._fresh_until = -1

    def is_fresh(self) -> bool:
        now = self._clock.monotonic_ns()
        if now < self._fresh_until:
            return True
        self._refresh()
        return now < self._fresh_until

    def age_ms(self) -> float | None:
        """Milliseconds since the last beat seen, or None when there is no valid beat."""
        self._refresh()
        if self._beat_ns is None:
            return None
        return (self._clock.monotonic_ns() - self._beat_ns) / 1e6

    def _refresh(self) -> None:
        try:
            st = os.stat(self._path)
        except OSError:
            self._forget()
            return
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if key == self._key:
            return
        self._key = key
        try:
            body = orjson.loads(Path(self._path).read_bytes())
            beat_ns = body["mono_ns"]
            same_boot = body["boot_id"] == self._boot_id
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
            self._forget(keep_key=True)
            return
        if not same_boot or not isinstance(beat_ns, int) or beat_ns > self._clock.monotonic_ns():
            self._forget(keep_key=True)
            return
        self._beat_ns = beat_ns
        self._fresh_until = beat_ns + self._timeout_ns

    def _forget(self, *, keep_key: bool = False) -> None:
        if not keep_key:
            self._key = None
        self._beat_ns = None
        self._fresh_until = -1
