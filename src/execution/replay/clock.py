"""The replay clock: wall and monotonic time both follow the tick time.

Live, "now" is the wall clock and durations (tick processing time, feed silence) are measured on
the monotonic clock. In a replay both are the tick time: ``now()`` is the current tick's UTC time
(broker time minus ``broker.server_utc_offset_seconds``) and ``monotonic_ns()`` is the same
instant in nanoseconds. So a tick's processing time is always 0 (a slow CPU never trips
``TICK_LATENCY``), a tick's age is always 0 (``TICK_AGE``), and feed silence is the gap between
tick times. The clock never goes back: an out-of-order tick leaves it where it is.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["ReplayClock"]

_NS_PER_MS = 1_000_000


class ReplayClock:
    """A ``risk.clock.Clock`` moved by the replay, one tick (or timer beat) at a time."""

    __slots__ = ("mono_ns", "utc_ms")

    def __init__(self, utc_ms: int = 0) -> None:
        self.utc_ms = utc_ms
        self.mono_ns = utc_ms * _NS_PER_MS

    def advance_to(self, utc_ms: int) -> None:
        """Move to ``utc_ms`` if that is later; earlier times are ignored (never backwards)."""
        if utc_ms > self.utc_ms:
            self.utc_ms = utc_ms
            self.mono_ns = utc_ms * _NS_PER_MS

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.utc_ms / 1000, tz=UTC)

    def monotonic_ns(self) -> int:
        return self.mono_ns
