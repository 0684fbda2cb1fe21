"""A bounded, downsampled time series for the charts.

Ticks are folded into buckets of ``width`` consecutive ticks, each keeping the extremes that a
chart must not lose (equity low and high, the worst drawdown, daily loss, leverage, margin level
and feed gap in it, the bad ticks). When ``capacity`` buckets are full, neighbours are merged
pairwise and the width doubles, so memory is ``O(capacity)`` for any file length and every tick
costs a few float comparisons.
"""

# ruff: noqa: PLR1730 - per-tick path: a comparison is cheaper than a min()/max() call

from __future__ import annotations

import math
from array import array
from typing import Final

__all__ = ["COLUMNS", "Series"]

#: column -> how two neighbouring buckets merge
COLUMNS: Final = {
    "time_ms": "first",
    "equity_min": "min",
    "equity_max": "max",
    "equity": "last",
    "high_water_mark": "last",
    "drawdown_pct": "max",
    "daily_loss_pct": "max",
    "leverage": "max",
    "margin_level_pct": "min",
    "gap_s": "max",
    "bad_ticks": "sum",
}
_NAN: Final = math.nan


class Series:
    def __init__(self, capacity: int = 2048) -> None:
        if capacity < 2 or capacity % 2:
            raise ValueError("capacity must be an even number >= 2")
        self.capacity = capacity
        self.width = 1
        self.columns: dict[str, array[float]] = {name: array("d") for name in COLUMNS}
        self._open = False
        self._n = 0
        self._reset()

    def _reset(self) -> None:
        self.t = 0.0
        self.lo = math.inf
        self.hi = -math.inf
        self.last = 0.0
        self.hwm = 0.0
        self.dd = 0.0
        self.daily = 0.0
        self.lev = 0.0
        self.margin = _NAN
        self.gap = 0.0
        self.bad = 0.0

    def add(
        self,
        utc_ms: int,
        equity: float,
        hwm: float,
        drawdown_pct: float,
        daily_pct: float,
        leverage: float,
        margin_pct: float,
    ) -> None:
        """One tick's figures (floats: for pictures only)."""
        if not self._open:
            self._open = True
            self.t = utc_ms
        if equity < self.lo:
            self.lo = equity
        if equity > self.hi:
            self.hi = equity
        self.last, self.hwm = equity, hwm
        if drawdown_pct > self.dd:
            self.dd = drawdown_pct
        if daily_pct > self.daily:
            self.daily = daily_pct
        if leverage > self.lev:
            self.lev = leverage
        if margin_pct < self.margin or math.isnan(self.margin):  # NaN: none yet
            self.margin = margin_pct
        self._n += 1
        if self._n >= self.width:
            self.close_bucket()

    def note_gap(self, seconds: float) -> None:
        if seconds > self.gap:
            self.gap = seconds

    def note_bad(self) -> None:
        self.bad += 1

    def close_bucket(self) -> None:
        if not self._open:
            return
        values = (
            self.t, self.lo, self.hi, self.last, self.hwm, self.dd, self.daily, self.lev,
            self.margin, self.gap, self.bad,
        )  # fmt: skip
        for column, value in zip(self.columns.values(), values, strict=True):
            column.append(value)
        self._open = False
        self._n = 0
        self._reset()
        if len(self.columns["time_ms"]) >= self.capacity:
            self._halve()

    def _halve(self) -> None:
        for name, how in COLUMNS.items():
            old = self.columns[name]
            pairs = zip(old[0::2], old[1::2], strict=True)
            if how == "first":
                merged = array("d", (a for a, _ in pairs))
            elif how == "last":
                merged = array("d", (b for _, b in pairs))
            elif how == "min":
                merged = array("d", (_nanmin(a, b) for a, b in pairs))
            elif how == "max":
                merged = array("d", (max(a, b) for a, b in pairs))
            else:
                merged = array("d", (a + b for a, b in pairs))
            self.columns[name] = merged
        self.width *= 2

    def __len__(self) -> int:
        return len(self.columns["time_ms"])


def _nanmin(a: float, b: float) -> float:
    if math.isnan(a):
        return b
    if math.isnan(b):
        return a
    return min(a, b)
