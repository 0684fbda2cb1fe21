"""Data quality: bad ticks are rejected before any arithmetic and counted in a sliding window.

Bad: a non-finite or non-positive bid/ask, a crossed book (ask < bid), a tick older than the last
accepted one for its symbol, or an exact repeat of it. Too many in the last ``window_ticks``
trips ``BAD_FEED``.
"""

from __future__ import annotations

import math

from risk.config.schema import DataQualityConfig
from risk.levels import Band, action_for
from risk.models import Tick
from risk.reason_codes import ReasonCode

__all__ = ["BadTickWindow", "DataQualityRule", "tick_defect"]


def tick_defect(tick: Tick, last: Tick | None) -> str | None:
    """Why this tick must not be used, or None. Pure; floats only, no arithmetic on them."""
    bid, ask = tick.bid, tick.ask
    if not (math.isfinite(bid) and math.isfinite(ask)):
        return "non_finite"
    if bid <= 0.0 or ask <= 0.0:
        return "non_positive"
    if ask < bid:
        return "crossed"
    if last is not None:
        if tick.time_msc < last.time_msc:
            return "out_of_order"
        if tick == last:
            return "duplicate"
    return None


class BadTickWindow:
    """Count of bad ticks among the last ``size`` ticks (a ring of flags, O(1), fixed memory)."""

    def __init__(self, size: int) -> None:
        self._ring = bytearray(size)
        self._pos = 0
        self.count = 0

    def push(self, bad: bool) -> int:
        ring, pos = self._ring, self._pos
        self.count += bad - ring[pos]
        ring[pos] = bad
        self._pos = pos + 1 if pos + 1 < len(ring) else 0
        return self.count


class DataQualityRule:
    code = ReasonCode.BAD_FEED
    unit = "ticks"

    def __init__(self, cfg: DataQualityConfig) -> None:
        self.enabled = cfg.enabled
        self.window_ticks = cfg.window_ticks
        self.band = Band(cfg.bad_ticks_warning, cfg.bad_ticks_limit)
        self.action = action_for(cfg.action)
