"""Tick files to replay: an MT5 tick export or a plain CSV, optionally gzip-compressed.

MT5 export (Symbols window, Ticks tab, Export): a header ``<DATE> <TIME> <BID> <ASK> <LAST>
<VOLUME> <FLAGS>``, tab- or comma-separated, rows like ``2024.03.01  00:00:00.123  1.08012
1.08019    6``. An empty BID or ASK means "unchanged since the previous row"; rows before both
are known are skipped. Times are the broker server's. The symbol is not in the file: it is taken
from the file name (``EURUSD_...csv``). UTF-8, UTF-8 with BOM and UTF-16 (as MT5 writes) are read.

Plain CSV: a header ``time_msc,bid,ask`` with an optional ``symbol`` column; ``time_msc`` in
epoch milliseconds.

Events are paced by the file's timestamps (``at`` = seconds since the first row, never
decreasing); the runner stamps them with the terminal clock on delivery. Values are not
validated: a file with bad ticks replays bad ticks. A malformed row raises ``ScenarioError``
with the file, line and reason.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import IO, TypeAlias, cast

from execution.paper.events import ScenarioError, TickEvent
from execution.paper.timeconv import epoch_msc

__all__ = [
    "ReplayFormat",
    "ReplayRow",
    "inspect_replay",
    "replay_events",
    "replay_rows",
    "resolve_replay_path",
]

_SYMBOL_IN_NAME = re.compile(r"[A-Za-z]{6}")
_GZIP_MAGIC = b"\x1f\x8b"

# One data row: (time_msc, symbol, bid, ask). time_msc is the row's own (broker server) time, as
# in the file; an empty BID or ASK is carried over from the symbol's previous row, and is None
# while no earlier row of that symbol had one. A plain tuple: one is made per row.
ReplayRow: TypeAlias = tuple[int, str, float | None, float | None]


@dataclass(frozen=True, slots=True)
class ReplayFormat:
    kind: str  # "mt5" | "plain"
    delimiter: str
    columns: dict[str, int]
    symbol: str | None  # None: per-row symbol column
    gzip: bool = False  # the file is gzip-compressed (detected by its magic bytes)


def resolve_replay_path(name: str) -> Traversable:
    """A file path, or else the name of a packaged sample (``EURUSD_sample.csv``)."""
    path = Path(name).expanduser()
    if path.is_file():
        return path
    packaged = resources.files("execution.paper") / "data" / name
    if packaged.is_file():
        return packaged
    raise ScenarioError(f"replay file not found: {name}")


@contextmanager
def _text(source: Traversable) -> Iterator[tuple[IO[str], bool]]:
    """The file as text, streamed: gunzipped if it starts with the gzip magic, BOM-aware; and
    whether it was gzip."""
    with source.open("rb") as raw:
        stream: IO[bytes] = raw
        compressed = raw.read(2) == _GZIP_MAGIC
        if compressed:
            stream = cast(IO[bytes], gzip.GzipFile(fileobj=raw))
        raw.seek(0)
        head = stream.read(3)
        stream.seek(0)
        encoding = "utf-8"
        if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
            encoding = "utf-16"
        elif head == b"\xef\xbb\xbf":
            encoding = "utf-8-sig"
        with io.TextIOWrapper(stream, encoding=encoding, newline="") as text:
            yield text, compressed


def _format(source: Traversable, header: str, compressed: bool) -> ReplayFormat:
    delimiter = "\t" if "\t" in header else ","
    names = [c.strip().upper() for c in header.rstrip("\r\n").split(delimiter)]
    columns = {n: i for i, n in enumerate(names)}
    if {"<DATE>", "<TIME>", "<BID>", "<ASK>"} <= set(columns):
        kind = "mt5"
    elif {"TIME_MSC", "BID", "ASK"} <= set(columns):
        kind = "plain"
    else:
        raise ScenarioError(
            f"{source.name}: header is neither an MT5 tick export (<DATE> <TIME> <BID> <ASK> ...)"
            " nor time_msc,bid,ask[,symbol]"
        )
    symbol = None
    if "SYMBOL" not in columns:
        match = _SYMBOL_IN_NAME.match(source.name)
        if match is None:
            raise ScenarioError(
                f"{source.name}: no symbol column; name the file SYMBOL_*.csv (e.g. EURUSD_1.csv)"
            )
        symbol = match.group(0).upper()
    return ReplayFormat(kind, delimiter, columns, symbol, compressed)


def inspect_replay(source: Traversable) -> ReplayFormat:
    """Read and check the header only (so a bad file fails when the scenario is built)."""
    with _text(source) as (f, compressed):
        return _format(source, f.readline(), compressed)


def replay_rows(source: Traversable) -> Iterator[ReplayRow]:
    """Every non-blank data row, in file order, streamed; a malformed one raises
    ``ScenarioError`` with the file and line. Rows whose BID or ASK is still unknown (None) are
    yielded too, for the caller to skip (and count)."""
    with _text(source) as (f, compressed):
        fmt = _format(source, f.readline(), compressed)
        parse = _mt5_row if fmt.kind == "mt5" else _plain_row
        prev: dict[str, tuple[float | None, float | None]] = {}
        for line, row in enumerate(csv.reader(f, delimiter=fmt.delimiter), start=2):
            if not row or not "".join(row).strip():
                continue
            try:
                time_msc, symbol, bid, ask = parse(fmt, row)
            except (ValueError, IndexError) as exc:
                raise ScenarioError(f"{source.name}:{line}: {exc}") from exc
            if bid is None or ask is None:
                last_bid, last_ask = prev.get(symbol, (None, None))
                bid = last_bid if bid is None else bid
                ask = last_ask if ask is None else ask
            prev[symbol] = (bid, ask)
            yield time_msc, symbol, bid, ask


def replay_events(source: Traversable) -> Iterator[TickEvent]:
    """The file's ticks as paced events; rows before both BID and ASK are known are skipped."""
    first: int | None = None
    at = 0.0
    for time_msc, symbol, bid, ask in replay_rows(source):
        if bid is None or ask is None:
            continue
        first = time_msc if first is None else first
        at = max(at, (time_msc - first) / 1000)
        yield TickEvent(at, symbol, bid, ask)


def _number(text: str) -> float | None:
    text = text.strip()
    return float(text) if text else None


@lru_cache(maxsize=64)
def _day_msc(date: str) -> int:
    y, m, d = (int(p) for p in date.split("."))
    return epoch_msc(datetime(y, m, d, tzinfo=UTC))


def _mt5_row(fmt: ReplayFormat, row: list[str]) -> tuple[int, str, float | None, float | None]:
    c = fmt.columns
    date, clock = row[c["<DATE>"]].strip(), row[c["<TIME>"]].strip()
    day = _day_msc(date)
    hh, mm, ss = clock.split(":")
    seconds, _, frac = ss.partition(".")
    msc = (int(hh) * 3600 + int(mm) * 60 + int(seconds)) * 1000 + int((frac + "000")[:3])
    assert fmt.symbol is not None
    return day + msc, fmt.symbol, _number(row[c["<BID>"]]), _number(row[c["<ASK>"]])


def _plain_row(fmt: ReplayFormat, row: list[str]) -> tuple[int, str, float | None, float | None]:
    c = fmt.columns
    symbol = row[c["SYMBOL"]].strip() if fmt.symbol is None else fmt.symbol
    if not symbol:
        raise ValueError("empty symbol")
    return int(row[c["TIME_MSC"]]), symbol, _number(row[c["BID"]]), _number(row[c["ASK"]])
