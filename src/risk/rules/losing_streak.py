"""Losing streak: consecutive losing closed deals (profit + swap + commission + fee < 0).

A win resets the streak; a break-even close leaves it; balance operations and openings are not
results. Each deal counts once (tickets are remembered, bounded).
"""

from __future__ import annotations

from collections import deque

from risk.config.schema import LosingStreakConfig
from risk.levels import Band, action_for
from risk.models import Deal
from risk.reason_codes import ReasonCode

__all__ = ["DealLedger", "LosingStreakRule"]


class LosingStreakRule:
    code = ReasonCode.LOSING_STREAK
    unit = "deals"

    def __init__(self, cfg: LosingStreakConfig) -> None:
        self.enabled = cfg.enabled
        self.band = Band(cfg.warning, cfg.limit)
        self.action = action_for(cfg.action)

    @staticmethod
    def next_streak(streak: int, deal: Deal) -> int:
        if not deal.is_trade_close:
            return streak
        net = deal.net
        if net < 0:
            return streak + 1
        return 0 if net > 0 else streak


class DealLedger:
    """Remembers the last ``capacity`` deal tickets so a re-polled deal is never counted twice."""

    def __init__(self, capacity: int = 4096, seen: tuple[int, ...] = ()) -> None:
        self._order: deque[int] = deque(seen[-capacity:], maxlen=capacity)
        self._seen = set(self._order)

    def first_time(self, ticket: int) -> bool:
        if ticket in self._seen:
            return False
        if len(self._order) == self._order.maxlen:
            self._seen.discard(self._order[0])
        self._order.append(ticket)
        self._seen.add(ticket)
        return True

    def tickets(self) -> tuple[int, ...]:
        return tuple(self._order)
