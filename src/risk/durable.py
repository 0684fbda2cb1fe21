"""Crash-safe file writes: temp file in the same dir, fsync, atomic replace, fsync of the dir.

After a crash at any instant the target is either the old or the new complete content.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

__all__ = ["TEMP_SUFFIX", "atomic_write", "ensure_dir", "fsync_dir"]

TEMP_SUFFIX = ".tmp"


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _mtime_ns(path: Path) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return 0


def ensure_dir(directory: Path, mode: int) -> None:
    """Create ``directory`` (and parents) with ``mode``; tighten an existing one that is looser."""
    if not directory.exists():
        directory.mkdir(parents=True, mode=mode)
        os.chmod(directory, mode)  # mkdir applies the umask; the shared group needs the exact mode
        return
    current = directory.stat().st_mode & 0o777
    if current & ~mode:
        with contextlib.suppress(PermissionError):
            os.chmod(directory, current & mode)


def atomic_write(
    target: Path, data: bytes, mode: int, *, durable: bool = True, mtime_after: Path | None = None
) -> None:
    """Replace ``target`` with ``data``. ``durable=False`` skips the fsyncs (heartbeats only).

    ``mtime_after``: stamp the new file with an mtime strictly after that file's, so readers that
    key a cache on (inode, mtime_ns, size) see every write even if an inode number is reused
    within the file system's coarse timestamp granularity.
    """
    temp = target.with_name(f".{target.name}.{os.getpid()}{TEMP_SUFFIX}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        os.fchmod(fd, mode)  # the umask must not loosen or tighten the shared group's access
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if mtime_after is not None:
            stamp = max(time.time_ns(), _mtime_ns(mtime_after) + 1)
            os.utime(fd, ns=(stamp, stamp))
        if durable:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    os.close(fd)
    os.replace(temp, target)
    if durable:
        fsync_dir(target.parent)
