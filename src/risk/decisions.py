"""Per-tick decisions for the ``riskguard.decisions`` topic: rate-limited, bounded, cheap.

The tick path calls :meth:`DecisionRecorder.offer` with one small tuple; nothing is serialised
there. A background thread (``execution.delivery``) drains the rows every ~100 ms and appends them
to the outbox as one ``risk.decisions`` line (columns + rows), which the producer delivers to the
decisions topic. ``per_second`` caps rows per wall-clock second (0 = off); ``capacity`` bounds the
memory between drains — rows past it are counted in ``overflowed``, never queued.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Final

__all__ = ["DECISIONS_EVENT", "DECISION_COLUMNS", "DecisionRecorder"]

DECISIONS_EVENT: Final = "risk.decisions"
DECISION_COLUMNS: Final = ("ts_us", "symbol", "bid", "ask", "equity", "changes")


class DecisionRecorder:
    def __init__(
        self,
        per_second: int,
        *,
        capacity: int = 100_000,
        columns: tuple[str, ...] = DECISION_COLUMNS,
    ) -> None:
        if per_second < 0 or capacity < 1:
            raise ValueError("per_second must be >= 0 and capacity >= 1")
        self.per_second = per_second
        self.capacity = capacity
        self.columns = columns
        self.enabled = per_second > 0
        self.overflowed = 0
        self.limited = 0
        self._rows: deque[tuple[Any, ...]] = deque()
        self._second = -1
        self._in_second = 0

    def offer(self, ts_us: int, row: tuple[Any, ...]) -> bool:
        """Keep ``row`` (whose first column is ``ts_us``) unless over the rate or the bound."""
        second = ts_us // 1_000_000
        if second != self._second:
            self._second = second
            self._in_second = 0
        if self._in_second >= self.per_second:
            self.limited += 1
            return False
        rows = self._rows
        if len(rows) >= self.capacity:
            self.overflowed += 1
            return False
        self._in_second += 1
        rows.append(row)
        return True

    def drain(self) -> list[tuple[Any, ...]]:
        """Take the kept rows, oldest first (deque append/popleft are thread-safe)."""
        rows = self._rows
        return [rows.popleft() for _ in range(len(rows))]
