"""Read the outbox in order from a :class:`~risk.outbox.Position`, following rotation.

The reader holds the file descriptor of the segment it is in, so a rename (sealing) does not
disturb it. At the end of a segment it moves on only once that segment is sealed, and only after
reading what was appended up to the seal. Which file is segment ``n`` is decided under the shared
lock that rotation takes exclusively.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Final

from risk.outbox import ACTIVE_FILE, LOCK_FILE, Position, sealed_path, sealed_segments

__all__ = ["OutboxReader"]

_CHUNK: Final = 1 << 20


class OutboxReader:
    """``read()`` returns complete lines with the position just after each one."""

    def __init__(self, log_dir: Path, start: Position) -> None:
        self.log_dir = log_dir
        self.position = start  # just after the last line handed out
        self.gaps: list[tuple[int, int]] = []  # (first, last) segment numbers found missing
        self._fd = -1
        self._sealed = False
        self._buffer = b""
        self.at_end = False  # the last read found nothing new

    def read(
        self, max_bytes: int = _CHUNK, max_lines: int | None = None
    ) -> list[tuple[bytes, Position]]:
        """The next complete lines (without newlines), at most ``max_lines``; empty when there
        is nothing new yet."""
        lines = self._read(max_bytes, max_lines)
        self.at_end = not lines
        return lines

    def _read(self, max_bytes: int, max_lines: int | None) -> list[tuple[bytes, Position]]:
        if b"\n" in self._buffer:  # lines left over from a read capped by max_lines
            return self._split(b"", max_lines)
        if self._fd < 0 and not self._open():
            return []
        while True:
            offset = self.position.offset + len(self._buffer)
            data = os.pread(self._fd, max_bytes, offset)
            if data:
                return self._split(data, max_lines)
            if not self._sealed:
                if not os.path.exists(sealed_path(self.log_dir, self.position.segment)):
                    return []
                self._sealed = True  # sealed since we opened it: read up to the seal first
                continue
            lines = self._flush_torn()
            self._next_segment()
            if lines or not self._open():
                return lines

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _split(self, data: bytes, max_lines: int | None) -> list[tuple[bytes, Position]]:
        data = self._buffer + data if self._buffer else data
        segment, offset = self.position
        lines: list[tuple[bytes, Position]] = []
        start = 0
        find = data.find
        room = max_lines if max_lines is not None else len(data)
        while len(lines) < room:
            end = find(b"\n", start)
            if end < 0:
                break
            lines.append((data[start:end], Position(segment, offset + end + 1)))
            start = end + 1
        self._buffer = data[start:]
        if lines:
            self.position = lines[-1][1]
        return lines

    def _flush_torn(self) -> list[tuple[bytes, Position]]:
        """A sealed segment ending without a newline: hand out the fragment (it will not parse)."""
        if not self._buffer:
            return []
        fragment, self._buffer = self._buffer, b""
        self.position = Position(self.position.segment, self.position.offset + len(fragment))
        return [(fragment, self.position)]

    def _next_segment(self) -> None:
        self.close()
        self.position = Position(self.position.segment + 1, 0)

    def _open(self) -> bool:
        """Open the file holding the current segment; False if it does not exist yet."""
        lock = _lock_fd(self.log_dir)
        try:
            if lock >= 0:
                fcntl.flock(lock, fcntl.LOCK_SH)
            sealed = sealed_segments(self.log_dir)
            top = sealed[-1] if sealed else 0
            wanted = self.position.segment
            if wanted <= top and wanted not in sealed:
                later = [n for n in sealed if n > wanted]
                found = later[0] if later else top + 1
                self.gaps.append((wanted, found - 1))
                self.position = Position(found, 0)
                self._buffer = b""
                wanted = found
            if wanted > top + 1:
                raise ValueError(
                    f"{self.log_dir}: position {self.position} is past the last segment {top + 1}"
                )
            self._sealed = wanted <= top
            path = sealed_path(self.log_dir, wanted) if self._sealed else self.log_dir / ACTIVE_FILE
            try:
                self._fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                return False
            return True
        finally:
            if lock >= 0:
                os.close(lock)


def _lock_fd(log_dir: Path) -> int:
    with contextlib.suppress(OSError):
        return os.open(log_dir / LOCK_FILE, os.O_RDONLY | os.O_CLOEXEC)
    return -1
