"""The evidence log as an outbox: size-based JSONL segments, a delivered cursor, safe retention.

Files in ``log_dir``:

- ``evidence.jsonl`` — the active segment. Every process appends whole lines to it (O_APPEND,
  one ``write`` per line, so lines from several processes never interleave).
- ``evidence-00000001.jsonl``... — sealed segments. When the active one reaches
  ``segment_bytes`` it is fsynced and renamed to the next number. The active segment's number is
  therefore always *the highest sealed number + 1*, which is how a cursor names it.
- ``evidence.lock`` — never replaced. Appends hold it shared, rotation holds it exclusive, so no
  line is ever written to a segment after it is sealed.
- ``delivery.cursor`` — ``{"segment": n, "offset": bytes}``: everything before it is delivered.
  Written by the Kafka producer (atomic replace); read by retention.

Retention keeps ``retention_segments`` delivered sealed segments and deletes older delivered
ones. A segment at or after the cursor is never deleted. With no cursor file and delivery off,
every sealed segment counts as delivered (the log is then only a log).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Final, NamedTuple

import orjson

from risk.durable import atomic_write, ensure_dir, fsync_dir

__all__ = [
    "ACTIVE_FILE",
    "CURSOR_FILE",
    "LOCK_FILE",
    "OutboxWriter",
    "Position",
    "SegmentTail",
    "apply_retention",
    "load_cursor",
    "open_lock",
    "save_cursor",
    "sealed_path",
    "sealed_segments",
    "segment_files",
]

ACTIVE_FILE: Final = "evidence.jsonl"
LOCK_FILE: Final = "evidence.lock"
CURSOR_FILE: Final = "delivery.cursor"
_SEALED: Final = re.compile(r"^evidence-(\d{8,})\.jsonl$")


class Position(NamedTuple):
    """A place in the outbox: segment number (the active one is highest sealed + 1), byte offset."""

    segment: int
    offset: int


def sealed_path(log_dir: Path, number: int) -> Path:
    return log_dir / f"evidence-{number:08d}.jsonl"


def sealed_segments(log_dir: Path) -> list[int]:
    """Numbers of the sealed segments, ascending."""
    try:
        names = os.listdir(log_dir)
    except FileNotFoundError:
        return []
    return sorted(int(m[1]) for m in map(_SEALED.match, names) if m)


def segment_files(log_dir: Path) -> list[tuple[int, Path]]:
    """Every segment in order, the active one last: ``(number, path)``."""
    sealed = sealed_segments(log_dir)
    files = [(n, sealed_path(log_dir, n)) for n in sealed]
    files.append(((sealed[-1] if sealed else 0) + 1, log_dir / ACTIVE_FILE))
    return files


class SegmentTail:
    """Complete lines appended to the outbox since the last call, over every segment in order.
    A segment keeps its number when the active file is sealed, so offsets carry over; a line
    still being written is returned by a later call."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self._offsets: dict[int, int] = {}

    def new_lines(self) -> list[bytes]:
        lines: list[bytes] = []
        for number, path in segment_files(self.log_dir):
            offset = self._offsets.get(number, 0)
            try:
                with path.open("rb") as handle:
                    handle.seek(offset)
                    data = handle.read()
            except FileNotFoundError:  # sealed or removed by retention since the listing
                continue
            end = data.rfind(b"\n") + 1
            if end:
                self._offsets[number] = offset + end
                lines.extend(line for line in data[:end].splitlines() if line.strip())
        return lines


def load_cursor(log_dir: Path) -> Position | None:
    """The delivered cursor, or None if none was ever written. A damaged one raises ValueError."""
    try:
        data = orjson.loads((log_dir / CURSOR_FILE).read_bytes())
    except FileNotFoundError:
        return None
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"{log_dir / CURSOR_FILE}: not JSON: {exc}") from None
    segment, offset = data.get("segment"), data.get("offset")
    valid = isinstance(segment, int) and isinstance(offset, int) and segment >= 1 and offset >= 0
    if not valid:
        raise ValueError(f"{log_dir / CURSOR_FILE}: bad cursor {data!r}")
    return Position(segment, offset)


def save_cursor(log_dir: Path, position: Position, file_mode: int) -> None:
    """Durably replace the cursor (temp file, fsync, rename, dir fsync)."""
    data = orjson.dumps({"segment": position.segment, "offset": position.offset})
    atomic_write(log_dir / CURSOR_FILE, data + b"\n", file_mode)


def apply_retention(log_dir: Path, keep: int, *, delivery: bool) -> list[Path]:
    """Delete delivered sealed segments beyond the newest ``keep``; return what was deleted.

    Delivered means: before the cursor's segment. No cursor file counts as "nothing delivered"
    when ``delivery`` is on, and as "all delivered" when it is off and never was.
    """
    sealed = sealed_segments(log_dir)
    try:
        cursor = load_cursor(log_dir)
    except ValueError:
        return []  # an unreadable cursor: delete nothing
    if cursor is None:
        limit = 1 if delivery else (sealed[-1] + 1 if sealed else 1)
    else:
        limit = cursor.segment
    delivered = [n for n in sealed if n < limit]
    doomed = delivered[: max(0, len(delivered) - keep)]
    removed = []
    for number in doomed:
        path = sealed_path(log_dir, number)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path)
    return removed


class OutboxWriter:
    """Appends whole lines to the active segment; rotates it by size; applies retention.

    Not thread-safe by itself: the caller serialises ``append`` (EvidenceLog holds a lock).
    """

    def __init__(
        self,
        log_dir: Path,
        *,
        file_mode: int,
        dir_mode: int,
        segment_bytes: int = 16 * 1024 * 1024,
        retention_segments: int = 20,
        delivery: bool = False,
    ) -> None:
        ensure_dir(log_dir, dir_mode)
        self.log_dir = log_dir
        self.path = log_dir / ACTIVE_FILE
        self.segment_bytes = segment_bytes
        self.retention_segments = retention_segments
        self.delivery = delivery
        self._file_mode = file_mode
        self._lock_fd = open_lock(log_dir / LOCK_FILE, file_mode)
        self._fd = -1
        self._ino = -1
        with self._locked(fcntl.LOCK_EX):
            self._open()
            self._terminate_torn_line()

    def append(self, line: bytes, *, durable: bool) -> None:
        """Write one complete line (ending in ``\\n``); fsync it first if ``durable``."""
        fcntl.flock(self._lock_fd, fcntl.LOCK_SH)
        try:
            try:
                current = os.stat(self.path).st_ino
            except FileNotFoundError:
                current = -1
            if current != self._ino:
                self._open()  # another process rotated the segment (or it was removed)
            _write_all(self._fd, line)
            if durable:
                os.fsync(self._fd)
            size = os.lseek(self._fd, 0, os.SEEK_CUR)  # O_APPEND: the end of the file
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        if size >= self.segment_bytes:
            self.rotate()

    def rotate(self) -> None:
        """Seal the active segment if it is still over size (another process may have)."""
        with self._locked(fcntl.LOCK_EX):
            try:
                stat = os.stat(self.path)
            except FileNotFoundError:
                stat = None
            if stat is None or stat.st_ino != self._ino:
                self._open()
                return
            if stat.st_size < self.segment_bytes:
                return
            os.fsync(self._fd)
            sealed = sealed_segments(self.log_dir)
            os.rename(self.path, sealed_path(self.log_dir, (sealed[-1] if sealed else 0) + 1))
            self._open()
            fsync_dir(self.log_dir)
            apply_retention(self.log_dir, self.retention_segments, delivery=self.delivery)

    def sync(self) -> None:
        os.fsync(self._fd)

    def close(self) -> None:
        for fd in (self._fd, self._lock_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fd = self._lock_fd = -1

    def _open(self) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        stat = os.fstat(fd)
        if stat.st_size == 0:
            with contextlib.suppress(PermissionError):
                os.fchmod(fd, self._file_mode)  # the umask must not change the group's access
        if self._fd >= 0:
            os.close(self._fd)
        self._fd, self._ino = fd, stat.st_ino

    def _terminate_torn_line(self) -> None:
        """A crash mid-write can leave a line without its newline: end it, so the next is whole."""
        size = os.fstat(self._fd).st_size
        if size == 0:
            return
        reader = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            last = os.pread(reader, 1, size - 1)
        finally:
            os.close(reader)
        if last != b"\n":
            _write_all(self._fd, b"\n")

    @contextlib.contextmanager
    def _locked(self, mode: int) -> Iterator[None]:
        fcntl.flock(self._lock_fd, mode)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)


def open_lock(path: Path, file_mode: int) -> int:
    """A read-only descriptor for ``flock`` on ``path`` (created with exactly ``file_mode``, so
    a process of the shared group running as another user can lock it too)."""
    fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, file_mode)
    with contextlib.suppress(PermissionError):  # not ours: its creator set the mode
        if os.fstat(fd).st_mode & 0o777 != file_mode:
            os.fchmod(fd, file_mode)
    return fd


def _write_all(fd: int, data: bytes) -> None:
    written = os.write(fd, data)
    if written != len(data):  # a short write on a full disk: finish it or raise ENOSPC
        view = memoryview(data)[written:]
        while view:
            view = view[os.write(fd, view) :]
