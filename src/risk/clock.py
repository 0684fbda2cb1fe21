"""Injected time: wall clock (tz-aware UTC, for calendars and audit) and monotonic (durations)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock", "format_ts", "parse_ts"]


class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, tz-aware UTC."""
        ...

    def monotonic_ns(self) -> int:
        """Monotonic nanoseconds (system-wide CLOCK_MONOTONIC on Linux)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic_ns(self) -> int:
        return time.monotonic_ns()


class ManualClock:
    """A clock that moves only when told to; for tests and replays."""

    def __init__(self, start: datetime, monotonic_ns: int = 1_000_000_000) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a tz-aware start time")
        self._now = start.astimezone(UTC)
        self._mono = monotonic_ns

    def now(self) -> datetime:
        return self._now

    def monotonic_ns(self) -> int:
        return self._mono

    def advance(self, seconds: float = 0.0, *, ns: int = 0) -> None:
        step = int(seconds * 1_000_000_000) + ns
        if step < 0:
            raise ValueError("a monotonic clock cannot go back")
        self._mono += step
        self._now += timedelta(microseconds=step // 1000)

    def set_wall(self, when: datetime) -> None:
        """Step the wall clock only (NTP step, manual change); monotonic time is untouched."""
        self._now = when.astimezone(UTC)


def format_ts(when: datetime) -> str:
    """Fixed-width microsecond UTC ISO-8601, e.g. ``2026-11-21T04:22:54.000000Z``."""
    if when.tzinfo is None:
        raise ValueError("naive datetime")
    return when.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_ts(text: str) -> datetime:
    """Inverse of :func:`format_ts`; refuses naive timestamps."""
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError(f"timestamp without a zone: {text!r}")
    return when.astimezone(UTC)
