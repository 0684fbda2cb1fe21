"""A tick file as a stream of ``risk.models.Tick``, in bounded memory, with a progress position.

The parsing is the paper terminal's (``execution.paper.replay.replay_rows``: MT5 tick export or
plain CSV, UTF-8/UTF-16/BOM, gzip detected by its magic bytes); this module only keeps what the
terminal's scenario drops — each row's own ``time_msc`` (broker server time, as in the file, never
clamped: an out-of-order row reaches the evaluator as an out-of-order tick) — and counts rows. An
empty BID or ASK carries the previous value over; rows before both are known are skipped, as in the
paper terminal. A malformed row raises ``ScenarioError`` naming the file and line.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import IO, Any

from execution.paper.events import ScenarioError
from execution.paper.replay import ReplayFormat, inspect_replay, replay_rows
from risk.models import Tick

__all__ = ["TickFile", "open_tick_file"]


class _Tracked(Traversable):
    """A file path that remembers the raw (compressed) handle it opened, for progress."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self.raw: IO[bytes] | None = None

    @property
    def name(self) -> str:
        return self._path.name

    def open(self, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = self._path.open(mode, *args, **kwargs)
        if "b" in mode:
            self.raw = handle
        return handle

    def iterdir(self) -> Iterator[Traversable]:
        return iter(())

    def is_dir(self) -> bool:
        return False

    def is_file(self) -> bool:
        return self._path.is_file()

    def joinpath(self, *descendants: str | os.PathLike[str]) -> Traversable:
        raise NotADirectoryError(str(self._path))

    def __truediv__(self, child: str | os.PathLike[str]) -> Traversable:
        return self.joinpath(child)

    def read_bytes(self) -> bytes:
        return self._path.read_bytes()

    def read_text(self, encoding: str | None = None) -> str:
        return self._path.read_text(encoding=encoding)


@dataclass
class TickFile:
    """One pass over a tick file. ``ticks()`` streams; the counters fill as it goes."""

    path: Path
    format: ReplayFormat
    gzip: bool
    size: int
    rows: int = 0
    skipped: int = 0
    symbols: set[str] = field(default_factory=set)
    _source: _Tracked | None = None

    @property
    def position(self) -> int:
        """Bytes of the file (compressed, for gzip) consumed so far."""
        raw = self._source.raw if self._source is not None else None
        if raw is None or raw.closed:
            return self.size if self.rows else 0
        return raw.tell()

    def ticks(self) -> Iterator[Tick]:
        """Every tick of the file in file order; ``Tick.time_msc`` is the row's own time."""
        try:
            yield from self._rows()
        except (OSError, EOFError, UnicodeDecodeError) as exc:  # truncated gzip, bad bytes
            raise ScenarioError(f"{self.path.name}: cannot read: {exc}") from exc

    def _rows(self) -> Iterator[Tick]:
        source = self._source = _Tracked(self.path)
        symbols = self.symbols
        for time_msc, symbol, bid, ask in replay_rows(source):
            self.rows += 1
            if bid is None or ask is None:
                self.skipped += 1
                continue
            if symbol not in symbols:
                symbols.add(symbol)
            yield Tick(symbol, bid, ask, 0.0, 0, time_msc, 0)


def open_tick_file(path: Path) -> TickFile:
    """Check that ``path`` is a readable tick file (header only); ``ScenarioError`` if not."""
    if not path.is_file():
        raise ScenarioError(f"tick file not found: {path}")
    try:
        fmt = inspect_replay(path)
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path.name}: cannot read: {exc}") from exc
    return TickFile(path, fmt, fmt.gzip, path.stat().st_size)
