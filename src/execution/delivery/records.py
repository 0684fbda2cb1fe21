"""An outbox line becomes a Kafka record: topic, key, exact bytes, headers, event-time stamp.

- topic: ``risk.decisions`` lines go to the decisions topic, everything else to the events topic;
- key: the event's ``account`` (per-account order on one partition);
- value: the line exactly as the outbox holds it (no re-serialisation);
- headers: ``event`` (dotted name), ``schema`` (event schema version), ``event_id`` (dedup);
- timestamp: the event's ``ts`` in epoch milliseconds (the µs stay in the payload).
"""

from __future__ import annotations

import calendar
import re
import time
from typing import Final, NamedTuple

import orjson

from risk.decisions import DECISIONS_EVENT
from risk.logsetup import EVENT_SCHEMA_VERSION

__all__ = ["OutRecord", "UnreadableLine", "to_record", "ts_to_ms"]

_SCHEMA: Final = str(EVENT_SCHEMA_VERSION).encode()
_SECONDS: dict[str, int] = {}
_PREFIX: Final = re.compile(
    rb'\{"ts":"([0-9T:.Z-]{27})","event":"([^"]*)","event_id":"([^"]*)","seq":\d+,'
    rb'"component":"[^"]*","account":"([^"]*)",'
)


class UnreadableLine(ValueError):
    """A line that is not an event (a torn write, a hand edit): reported and skipped."""


class OutRecord(NamedTuple):
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, str | bytes | None]]
    timestamp_ms: int
    event_id: str


def ts_to_ms(ts: str) -> int:
    """``2026-11-21T04:22:54.106086Z`` → epoch ms (the whole-second part is cached)."""
    head = ts[:19]
    seconds = _SECONDS.get(head)
    if seconds is None:
        seconds = calendar.timegm(time.strptime(head, "%Y-%m-%dT%H:%M:%S"))
        if len(_SECONDS) > 100_000:
            _SECONDS.clear()
        _SECONDS[head] = seconds
    return seconds * 1000 + int(ts[20:23])


def _envelope(line: bytes) -> tuple[str, str, str, object]:
    """(ts, event, event_id, account): from the fixed envelope prefix that EvidenceLog writes
    (no parse of a large decisions batch), else from a full parse."""
    match = _PREFIX.match(line)
    if match is not None and b"\\" not in match[0]:
        ts, name, event_id, account = (group.decode() for group in match.groups())
        return ts, name, event_id, account
    event = orjson.loads(line)
    ts, name, event_id = event["ts"], event["event"], event["event_id"]
    if not (isinstance(name, str) and isinstance(ts, str) and isinstance(event_id, str)):
        raise TypeError("event, ts and event_id must be strings")
    return ts, name, event_id, event.get("account")


def to_record(line: bytes, events_topic: str, decisions_topic: str) -> OutRecord:
    try:
        ts, name, event_id, account = _envelope(line)
        timestamp_ms = ts_to_ms(ts)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise UnreadableLine(f"{type(exc).__name__}: {exc}") from None
    topic = decisions_topic if name == DECISIONS_EVENT else events_topic
    key = str(account).encode() if account not in (None, "") else b""
    headers: list[tuple[str, str | bytes | None]] = [
        ("event", name.encode()),
        ("schema", _SCHEMA),
        ("event_id", event_id.encode()),
    ]
    return OutRecord(topic, key, line, headers, timestamp_ms, event_id)
