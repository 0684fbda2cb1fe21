"""Event names and the sink protocol every side effect goes through."""

from __future__ import annotations

from typing import Any, Final, Protocol

__all__ = ["BREAKER_EVENTS", "EventSink", "NullSink"]


class EventSink(Protocol):
    def emit(self, event: str, /, **fields: Any) -> None:
        """Record one decision or change. Critical events are durable when this returns."""
        ...


class NullSink:
    """Discards events; for read-only tools that must not write an evidence log."""

    def emit(self, event: str, /, **fields: Any) -> None:
        return None


BREAKER_INITIALISED: Final = "breaker.initialised"
BREAKER_TRIPPED: Final = "breaker.tripped"
BREAKER_TRIP_RECORDED: Final = "breaker.trip_recorded"
BREAKER_RESET: Final = "breaker.reset"
BREAKER_WRITE_FAILED: Final = "breaker.write_failed"
BREAKER_UNREADABLE: Final = "breaker.unreadable"
BREAKER_RESET_REFUSED: Final = "breaker.reset_refused"

BREAKER_EVENTS: Final = frozenset(
    {
        BREAKER_INITIALISED,
        BREAKER_TRIPPED,
        BREAKER_TRIP_RECORDED,
        BREAKER_RESET,
        BREAKER_WRITE_FAILED,
        BREAKER_UNREADABLE,
        BREAKER_RESET_REFUSED,
    }
)
