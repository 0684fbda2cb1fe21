"""Reading the evidence log (the outbox) as a verifier: incrementally, whole lines only.

Every process appends whole lines; a reader may still catch a line half written, so a trailing
fragment without its newline is left for the next read. Segments are followed by number, which
survives rotation (the active segment keeps its number when it is sealed).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from risk.clock import parse_ts
from risk.outbox import SegmentTail

__all__ = ["Event", "EvidenceTail", "ms_between", "ts_of"]

Event = dict[str, Any]


def ts_of(event_or_text: Event | str) -> datetime:
    """The event's ``ts`` (or a µs UTC timestamp string) as an aware datetime."""
    text = event_or_text if isinstance(event_or_text, str) else event_or_text["ts"]
    return parse_ts(text)


def ms_between(start: Event | str | datetime, end: Event | str | datetime) -> float:
    """Milliseconds from ``start`` to ``end`` (events, timestamp strings or datetimes)."""
    a = start if isinstance(start, datetime) else ts_of(start)
    b = end if isinstance(end, datetime) else ts_of(end)
    return round((b - a).total_seconds() * 1000, 3)


class EvidenceTail:
    """Every event of one log dir, read incrementally; ``events()`` is cheap to call in a loop."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self._tail = SegmentTail(log_dir)
        self._events: list[Event] = []

    def refresh(self) -> list[Event]:
        self._events.extend(orjson.loads(line) for line in self._tail.new_lines())
        return self._events

    def events(self, name: str | None = None, **match: Any) -> list[Event]:
        """Events in log order, optionally only ``name`` and those whose fields equal ``match``."""
        return list(_matching(self.refresh(), name, match))

    def first(self, name: str, **match: Any) -> Event | None:
        return next(_matching(self.refresh(), name, match), None)


def _matching(events: Iterable[Event], name: str | None, match: dict[str, Any]) -> Iterator[Event]:
    for event in events:
        if name is not None and event["event"] != name:
            continue
        if all(event.get(key) == value for key, value in match.items()):
            yield event
