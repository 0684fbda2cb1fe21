"""Strategies: ``on_tick`` → order intents. The engine, not the strategy, decides what is sent."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

from risk.models import Position, PositionType, Tick

__all__ = ["OrderIntent", "SampleMomentum", "SlowStrategy", "Strategy", "make_strategy"]


@dataclass(frozen=True, slots=True)
class OrderIntent:
    symbol: str
    side: Literal["buy", "sell"]
    volume: Decimal
    close_ticket: int | None = None  # set: closes (reduces) that position

    @property
    def reduces(self) -> bool:
        return self.close_ticket is not None


class Strategy(Protocol):
    def on_tick(self, tick: Tick, positions: Sequence[Position]) -> Sequence[OrderIntent]: ...


class SampleMomentum:
    """Buys after ``window`` rising ticks, closes after ``hold`` ticks. A demo, not alpha."""

    def __init__(self, volume: Decimal = Decimal("0.10"), window: int = 20, hold: int = 50) -> None:
        self._volume, self._hold = volume, hold
        self._mids: deque[float] = deque(maxlen=window)
        self._held: dict[int, int] = {}

    def on_tick(self, tick: Tick, positions: Sequence[Position]) -> Sequence[OrderIntent]:
        self._mids.append((tick.bid + tick.ask) / 2)
        mine = [p for p in positions if p.symbol == tick.symbol]
        open_tickets = {p.ticket for p in positions}
        for gone in [t for t in self._held if t not in open_tickets]:
            del self._held[gone]  # bounded by the open positions, not by every trade ever
        intents: list[OrderIntent] = []
        for pos in mine:
            age = self._held[pos.ticket] = self._held.get(pos.ticket, 0) + 1
            if age >= self._hold:
                side: Literal["buy", "sell"] = "sell" if pos.type is PositionType.BUY else "buy"
                intents.append(OrderIntent(tick.symbol, side, pos.volume, pos.ticket))
        full = len(self._mids) == self._mids.maxlen
        if not mine and full and self._mids[-1] > self._mids[0]:
            intents.append(OrderIntent(tick.symbol, "buy", self._volume))
            self._mids.clear()
        return intents


class SlowStrategy(SampleMomentum):
    """The sample strategy, ``delay_ms`` slower per tick: for latency drills."""

    def __init__(self, delay_ms: int) -> None:
        super().__init__()
        self._delay = delay_ms / 1000

    def on_tick(self, tick: Tick, positions: Sequence[Position]) -> Sequence[OrderIntent]:
        time.sleep(self._delay)
        return super().on_tick(tick, positions)


def make_strategy(name: str) -> Strategy:
    """``sample_momentum`` or ``slow:<ms>``."""
    if name == "sample_momentum":
        return SampleMomentum()
    if name.startswith("slow:") and name[5:].isdigit():
        return SlowStrategy(int(name[5:]))
    raise ValueError(f"unknown strategy {name!r} (sample_momentum, slow:<ms>)")
