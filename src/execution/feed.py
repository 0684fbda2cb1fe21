"""The feed: ticks per symbol since the last one seen (no gaps, no duplicates, in order), and the
account, positions and deals at their own cadences. Staleness is measured by the caller with the
local monotonic clock at receipt, never with the broker's tick time.
"""

from __future__ import annotations

from collections.abc import Sequence

from execution.gateway import Gateway
from risk.models import Tick

__all__ = ["TickCursor", "poll_ticks"]


class TickCursor:
    """Per-symbol position in the tick stream: the last ``time_msc`` delivered and how many
    ticks with exactly that time were delivered (MT5 can stamp several ticks in one ms)."""

    __slots__ = ("last_msc", "seen_at_last")

    def __init__(self, last_msc: int = 0) -> None:
        self.last_msc = last_msc
        self.seen_at_last = 0

    def take(self, ticks: Sequence[Tick]) -> list[Tick]:
        """The new ticks of an upstream answer that starts at or before ``last_msc``."""
        fresh: list[Tick] = []
        skip = self.seen_at_last
        for tick in ticks:
            if tick.time_msc < self.last_msc:
                continue
            if tick.time_msc == self.last_msc and skip:
                skip -= 1
                continue
            fresh.append(tick)
        for tick in fresh:
            if tick.time_msc == self.last_msc:
                self.seen_at_last += 1
            else:
                self.last_msc, self.seen_at_last = tick.time_msc, 1
        return fresh


def poll_ticks(gateway: Gateway, cursors: dict[str, TickCursor]) -> list[Tick]:
    """New ticks of every symbol, each symbol's in broker order."""
    out: list[Tick] = []
    for symbol, cursor in cursors.items():
        out.extend(cursor.take(gateway.ticks_since(symbol, cursor.last_msc)))
    return out
