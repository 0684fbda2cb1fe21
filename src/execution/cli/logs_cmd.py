"""``riskguard logs``: review events from the evidence log (default) or from Kafka.

Filters: ``--since``/``--until`` (ISO-8601 UTC such as ``2026-11-21T04:22:54Z``, a date, or an
age such as ``90s``/``15m``/``2h``/``1d``), ``--event`` (repeatable; exact name or glob such as
``breaker.*``), ``--account``. Output: a readable table, or the JSON lines as stored (``--json``).
Per-tick ``risk.decisions`` batches are left out unless ``--event`` asks for them. From Kafka,
events are shown once each (deduplicated by ``event_id``) and ordered by ``ts`` and ``seq``.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import re
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import orjson

from execution.cli.common import EXIT_OK, EXIT_USAGE, require_config
from risk.clock import format_ts, parse_ts
from risk.config import ConfigError, ConfigIssue
from risk.decisions import DECISIONS_EVENT
from risk.outbox import Position, segment_files
from risk.outbox_reader import OutboxReader

__all__ = ["Filter", "add_parser", "parse_time"]

_AGE: Final = re.compile(r"^(\d+)([smhd])$")
_UNITS: Final = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_FOLLOW_POLL_S: Final = 0.2
_DEDUP_WINDOW: Final = 200_000
_ENVELOPE: Final = ("ts", "event", "event_id", "seq", "component", "account", "host", "pid")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    logs = sub.add_parser("logs", help="review events (evidence log or Kafka)")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing new events")
    logs.add_argument("--since", type=parse_time, help="from this time (ISO-8601 UTC or 15m)")
    logs.add_argument("--until", type=parse_time, help="up to this time (exclusive)")
    logs.add_argument("--event", action="append", default=[], help="name or glob (repeatable)")
    logs.add_argument("--account", help="only this account")
    logs.add_argument("--source", choices=("file", "kafka"), default="file")
    logs.add_argument("--json", action="store_true", help="JSON lines as stored")
    logs.add_argument("--log-dir", type=Path, help="evidence log dir (default: paths.log_dir)")
    logs.set_defaults(handler=_logs)


def parse_time(text: str, now: datetime | None = None) -> str:
    """A fixed-width UTC timestamp string (comparable with event ``ts`` as text)."""
    now = now or datetime.now(UTC)
    age = _AGE.match(text.strip())
    if age:
        return format_ts(now - timedelta(**{_UNITS[age[2]]: int(age[1])}))
    try:
        if len(text) == 10:
            text += "T00:00:00Z"
        return format_ts(parse_ts(text.replace("z", "Z")))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r}: use ISO-8601 with a zone (2026-11-21T04:22:54Z), a date, or 90s/15m/2h/1d"
            f" ({exc})"
        ) from None


@dataclass(frozen=True, slots=True)
class Filter:
    since: str | None = None
    until: str | None = None
    events: tuple[str, ...] = ()
    account: str | None = None

    def wants_decisions(self) -> bool:
        return any(fnmatch.fnmatchcase(DECISIONS_EVENT, p) for p in self.events)

    def match(self, event: dict[str, Any]) -> bool:
        ts, name = event.get("ts", ""), event.get("event", "")
        if not isinstance(ts, str) or not isinstance(name, str):
            return False
        if self.since is not None and ts < self.since:
            return False
        if self.until is not None and ts >= self.until:
            return False
        if self.account is not None and str(event.get("account", "")) != self.account:
            return False
        if self.events:
            return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.events)
        return name != DECISIONS_EVENT


def _logs(args: argparse.Namespace) -> int:
    if args.since and args.until and args.since >= args.until:
        sys.stderr.write("error: --since must be before --until\n")
        return EXIT_USAGE
    wanted = Filter(args.since, args.until, tuple(args.event), args.account)
    out = _JsonOut() if args.json else _TableOut()
    if args.source == "kafka":
        lines = _kafka_lines(args, wanted)
    else:
        log_dir = args.log_dir or require_config(args).paths.log_dir
        lines = file_lines(log_dir, since=wanted.since, follow=args.follow)
    try:
        for line, event in _parsed(lines):
            if wanted.match(event):
                out.write(line, event)
        out.close()
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:  # `riskguard logs | head`: the reader has seen enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_OK


def _parsed(lines: Iterable[bytes]) -> Iterator[tuple[bytes, dict[str, Any]]]:
    for line in lines:
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue  # a torn line from a crash: not an event
        if isinstance(event, dict):
            yield line, event


def file_lines(
    log_dir: Path,
    *,
    since: str | None = None,
    follow: bool = False,
    stop: Callable[[], bool] = lambda: False,
) -> Iterator[bytes]:
    """Every line of the evidence log in append order, following rotation with ``follow``."""
    if not log_dir.is_dir():
        raise ConfigError(str(log_dir), [ConfigIssue("paths.log_dir", "no evidence log here")])
    reader = OutboxReader(log_dir, Position(_first_segment(log_dir, since), 0))
    try:
        while True:
            lines = reader.read()
            for line, _ in lines:
                if line:
                    yield line
            if not lines:
                if not follow or stop():
                    return
                time.sleep(_FOLLOW_POLL_S)  # tailing a file: nothing to wait on but the clock
    finally:
        reader.close()


def _first_segment(log_dir: Path, since: str | None) -> int:
    """The first segment that can hold events at or after ``since`` (sealed ones end earlier)."""
    files = segment_files(log_dir)
    first = files[0][0]
    if since is None:
        return first
    for number, path in files[:-1]:
        last = _last_ts(path)
        if last is None or last >= since:
            return number
        first = number + 1
    return first


def _last_ts(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(max(0, size - 65536))
            tail = handle.read().rstrip(b"\n").rsplit(b"\n", 1)[-1]
        ts = orjson.loads(tail).get("ts")
    except (OSError, orjson.JSONDecodeError, AttributeError):
        return None
    return ts if isinstance(ts, str) else None


def _kafka_lines(args: argparse.Namespace, wanted: Filter) -> Iterator[bytes]:
    from execution.delivery import DeliverySettings  # noqa: PLC0415 - only for --source kafka
    from execution.delivery.records import ts_to_ms  # noqa: PLC0415
    from execution.delivery.review import read_topics  # noqa: PLC0415

    config = require_config(args)
    settings = DeliverySettings.from_config(config)
    if not settings.enabled:
        raise ConfigError("kafka", [ConfigIssue("kafka.bootstrap_servers", "empty: Kafka is off")])
    topics = [settings.events_topic]
    if wanted.wants_decisions():
        topics.append(settings.decisions_topic)
    since_ms = ts_to_ms(wanted.since) if wanted.since else None
    records = read_topics(settings, topics, since_ms=since_ms, follow=args.follow)
    seen: set[str] = set()
    if args.follow:
        yield from _unique(records, seen, _DEDUP_WINDOW)  # --follow: bounded memory
        return
    events = sorted(_parsed(_unique(records, seen, None)), key=lambda pair: _order(pair[1]))
    for line, _ in events:
        yield line


def _unique(records: Iterable[bytes], seen: set[str], window: int | None) -> Iterator[bytes]:
    """Drop replayed duplicates (same ``event_id``), remembering the last ``window`` ids."""
    order: deque[str] = deque()
    for value in records:
        try:
            event_id = orjson.loads(value).get("event_id")
        except (orjson.JSONDecodeError, AttributeError):
            continue
        if not isinstance(event_id, str) or event_id in seen:
            continue  # at-least-once delivery: a replayed duplicate
        seen.add(event_id)
        if window is not None:
            order.append(event_id)
            if len(order) > window:
                seen.discard(order.popleft())
        yield value


def _order(event: dict[str, Any]) -> tuple[str, str, int]:
    seq = event.get("seq")
    return str(event.get("ts", "")), str(event.get("host", "")), seq if isinstance(seq, int) else 0


class _JsonOut:
    def write(self, line: bytes, _event: dict[str, Any]) -> None:
        sys.stdout.buffer.write(line + b"\n")
        sys.stdout.buffer.flush()

    def close(self) -> None:
        sys.stdout.flush()


class _TableOut:
    _HEADER: Final = f"{'TS':<27} {'EVENT':<24} {'ACCOUNT':<10} {'COMPONENT':<10} DETAILS"

    def __init__(self) -> None:
        self._count = 0

    def write(self, _line: bytes, event: dict[str, Any]) -> None:
        if self._count == 0:
            sys.stdout.write(self._HEADER + "\n")
        self._count += 1
        details = _details(event)
        sys.stdout.write(
            f"{event.get('ts', ''):<27} {event.get('event', ''):<24} "
            f"{event.get('account', '')!s:<10} {event.get('component', '')!s:<10} {details}\n"
        )
        sys.stdout.flush()

    def close(self) -> None:
        if self._count == 0:
            sys.stdout.write("no events\n")


def _details(event: dict[str, Any], width: int = 120) -> str:
    if event.get("event") == DECISIONS_EVENT:
        return f"{event.get('count', '?')} decisions"
    parts = []
    reason = event.get("reason_code")
    if reason:
        parts.append(str(reason))
    for key, value in event.items():
        if key in _ENVELOPE or key == "reason_code":
            continue
        text = value if isinstance(value, str) else orjson.dumps(value).decode()
        parts.append(f"{key}={text}")
    details = " ".join(parts)
    return details if len(details) <= width else details[: width - 1] + "…"
