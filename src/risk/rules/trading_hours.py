"""Trading hours and weekends: when new risk may be opened and when silence means a stale feed."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from risk.config.schema import TradingHoursConfig

__all__ = ["TradingHours"]

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class TradingHours:
    """``start``–``end`` local time on the listed days; an ``end`` before ``start`` runs overnight
    (the session belongs to the day it starts on); ``start == end`` is the whole day. Disabled
    means always open."""

    def __init__(self, cfg: TradingHoursConfig) -> None:
        self.enabled = cfg.enabled
        self._zone = ZoneInfo(cfg.timezone)
        self._days = frozenset(_DAYS.index(d) for d in cfg.days)
        self._start, self._end = cfg.start, cfg.end

    def is_open(self, utc_ms: int) -> bool:
        if not self.enabled:
            return True
        local = datetime.fromtimestamp(utc_ms / 1000, tz=UTC).astimezone(self._zone)
        now, weekday = local.time(), local.weekday()
        if self._start == self._end:
            return weekday in self._days
        if self._start < self._end:
            return weekday in self._days and self._start <= now < self._end
        if now >= self._start:
            return weekday in self._days
        return (weekday - 1) % 7 in self._days and now < self._end
