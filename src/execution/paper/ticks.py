"""A bounded tick history per symbol: the last ``capacity`` ticks in arrival order.

Stored as a ``TICK_DTYPE`` array twice the capacity, appended to at the end and compacted (the
newest ``capacity`` rows moved to the front) when full: O(1) amortised appends, and the live
window is always one contiguous slice, so queries are a binary search plus one copy.

Ticks are kept in arrival order, even the out-of-order ones a bad feed delivers. A parallel
column holds the running maximum of ``time_msc``, which is non-decreasing, so "from time T" means
"from the first arrival whose running maximum reaches T, then everything that arrived after it".
For an ordered feed that is exactly ``time_msc >= T``; a late, back-dated tick is returned together
with the ticks that arrived around it instead of vanishing behind the poll cursor.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from execution.mt5.constants import TickFlag
from execution.mt5.types import TICK_DTYPE, Tick

__all__ = ["TickRing"]

_INFO = int(TickFlag.BID | TickFlag.ASK)


class TickRing:
    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.capacity = capacity
        self._rows = np.zeros(2 * capacity, dtype=TICK_DTYPE)
        self._runmax = np.zeros(2 * capacity, dtype=np.int64)
        self._lo = 0
        self._hi = 0
        self.max_time_msc = -1
        self.appended = 0

    def __len__(self) -> int:
        return self._hi - self._lo

    def append(self, time_msc: int, bid: float, ask: float) -> Tick:
        """Store one tick; flags mark which of bid/ask changed (both on the first or a repeat)."""
        if self._hi == len(self._rows):
            keep = slice(self._hi - self.capacity, self._hi)
            self._rows[: self.capacity] = self._rows[keep]
            self._runmax[: self.capacity] = self._runmax[keep]
            self._lo, self._hi = 0, self.capacity
        flags = 0
        if self._hi > self._lo:
            last = self._rows[self._hi - 1]
            flags = (int(TickFlag.BID) if last["bid"] != bid else 0) | (
                int(TickFlag.ASK) if last["ask"] != ask else 0
            )
        flags = flags or _INFO
        i = self._hi
        self._rows[i] = (time_msc // 1000, bid, ask, 0.0, 0, time_msc, flags, 0.0)
        self.max_time_msc = max(self.max_time_msc, time_msc)
        self._runmax[i] = self.max_time_msc
        self._hi += 1
        if self._hi - self._lo > self.capacity:
            self._lo += 1
        self.appended += 1
        return Tick(time_msc // 1000, bid, ask, 0.0, 0, time_msc, flags, 0.0)

    def _start(self, from_msc: int) -> int:
        return self._lo + int(
            np.searchsorted(self._runmax[self._lo : self._hi], from_msc, side="left")
        )

    def since(self, from_msc: int, count: int) -> np.ndarray[Any, Any]:
        """Up to ``count`` ticks from the first arrival at or after ``from_msc`` (a copy)."""
        start = self._start(from_msc)
        return self._rows[start : min(self._hi, start + count)].copy()

    def between(self, from_msc: int, to_msc: int) -> np.ndarray[Any, Any]:
        """Ticks from ``from_msc`` up to (including) ``to_msc``, in arrival order (a copy)."""
        start = self._start(from_msc)
        end = self._lo + int(
            np.searchsorted(self._runmax[self._lo : self._hi], to_msc, side="right")
        )
        return self._rows[start : max(start, end)].copy()
