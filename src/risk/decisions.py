"""Per-tick decisions for the ``riskguard.decisions`` topic: one C call on the tick path.

The tick path calls ``recorder.record(row)`` — a bound ``deque.append``, no Python frame — with
one flat tuple of plain values (``DECISION_COLUMNS``; a tuple of atomic values is untracked by
the garbage collector, a tuple holding a ``Tick`` would not be). A background thread
(``execution.delivery``) drains the rows every ~100 ms, keeps at most ``per_second`` per
wall-clock second (by each row's ``ts_us``), and appends them to the outbox as ``risk.decisions``
lines. Memory is bounded by ``capacity`` rows: if the drain falls that far behind, the oldest
rows are dropped by the deque and the drain counts a ``saturated`` event.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, Final

__all__ = ["DECISIONS_EVENT", "DECISION_COLUMNS", "DecisionRecorder"]

DECISIONS_EVENT: Final = "risk.decisions"
DECISION_COLUMNS: Final = ("ts_us", "symbol", "bid", "ask", "equity", "changes")
_US_PER_S: Final = 1_000_000


class DecisionRecorder:
    def __init__(
        self,
        per_second: int,
        *,
        capacity: int = 200_000,
        columns: tuple[str, ...] = DECISION_COLUMNS,
    ) -> None:
        if per_second < 1 or capacity < 1:
            raise ValueError("per_second and capacity must be >= 1 (no recorder means off)")
        self.per_second = per_second
        self.capacity = capacity
        self.columns = columns
        self.limited = 0  # rows dropped by the per-second rate
        self.saturated = 0  # drains that found the buffer full (older rows were dropped)
        self._rows: deque[tuple[Any, ...]] = deque(maxlen=capacity)
        self.record: Callable[[tuple[Any, ...]], None] = self._rows.append
        self._second = -1
        self._in_second = 0

    def pending(self) -> int:
        return len(self._rows)

    def drain(self) -> list[tuple[Any, ...]]:
        """Take the recorded rows, oldest first, within the per-second rate (thread-safe:
        ``popleft`` and ``append`` are atomic)."""
        rows = self._rows
        count = len(rows)
        if count >= self.capacity:
            self.saturated += 1
        popleft = rows.popleft
        taken = [popleft() for _ in range(count)]
        if not taken:
            return taken
        first, last = taken[0][0] // _US_PER_S, taken[-1][0] // _US_PER_S
        if first == last:  # the usual drain: all in one second
            if first != self._second:
                self._second, self._in_second = first, 0
            room = self.per_second - self._in_second
            if room >= count:
                self._in_second += count
                return taken
        return self._limit(taken)

    def _limit(self, taken: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        kept: list[tuple[Any, ...]] = []
        limit = self.per_second
        for row in taken:
            second = row[0] // _US_PER_S
            if second != self._second:
                self._second, self._in_second = second, 0
            if self._in_second < limit:
                self._in_second += 1
                kept.append(row)
            else:
                self.limited += 1
        return kept
