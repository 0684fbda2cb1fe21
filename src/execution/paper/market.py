"""A synthetic FX market: one mean-reverting random walk per symbol, and scripted glides.

Prices are walked in integer points around an anchor. Each symbol ticks at exponential intervals
(Poisson arrivals). The walk is pulled back to its anchor and clamped to ``BAND`` around it, so
"normal" never strays more than 0.3 % (about 32 EURUSD pips). A glide moves one symbol to a target
over a duration, ticking every ``interval`` with noise that fades out, so the last tick lands
exactly on the target; the other symbols keep ticking meanwhile.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from execution.paper.events import ScenarioError, TickEvent

__all__ = ["BAND", "INSTRUMENTS", "Instrument", "Market"]

BAND = 0.003
THETA = 0.0005


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str
    price: float
    digits: int
    spread_points: int
    sigma_points: float
    mean_interval: float


INSTRUMENTS = {
    i.symbol: i
    for i in (
        Instrument("EURUSD", 1.08, 5, 8, 2.0, 0.25),
        Instrument("GBPUSD", 1.27, 5, 12, 2.5, 0.4),
        Instrument("USDJPY", 150.0, 3, 12, 2.5, 0.4),
    )
}


class Market:
    def __init__(self, rng: random.Random, symbols: tuple[str, ...]) -> None:
        unknown = [s for s in symbols if s not in INSTRUMENTS]
        if unknown:
            raise ScenarioError(f"no synthetic prices for {unknown}; known: {sorted(INSTRUMENTS)}")
        self.rng = rng
        self.t = 0.0
        self.inst = {s: INSTRUMENTS[s] for s in symbols}
        self.mid = {s: i.price * 10**i.digits for s, i in self.inst.items()}
        self.anchor = dict(self.mid)
        self.next_at = {s: self._gap(s) for s in symbols}

    def _gap(self, symbol: str) -> float:
        return self.rng.expovariate(1.0 / self.inst[symbol].mean_interval)

    def price(self, symbol: str, points: float) -> float:
        digits = self.inst[symbol].digits
        return round(round(points) / 10.0**digits, digits)

    def tick(self, symbol: str) -> TickEvent:
        """A quote around the current mid at the current time, with a jittered spread."""
        inst = self.inst[symbol]
        spread = max(1, inst.spread_points + self.rng.randint(-2, 2))
        bid = round(self.mid[symbol] - spread / 2)
        return TickEvent(
            round(self.t, 3), symbol, self.price(symbol, bid), self.price(symbol, bid + spread)
        )

    def _walk(self, symbol: str) -> None:
        anchor = self.anchor[symbol]
        dev = self.mid[symbol] - anchor
        dev += -THETA * dev + self.rng.gauss(0.0, self.inst[symbol].sigma_points)
        limit = BAND * anchor
        self.mid[symbol] = anchor + max(-limit, min(limit, dev))

    def ticks(self, until: float, exclude: frozenset[str] = frozenset()) -> Iterator[TickEvent]:
        """Random-walk ticks of every symbol (but ``exclude``) up to ``until``; time ends there."""
        while True:
            live = [s for s in self.next_at if s not in exclude]
            if not live:
                break
            symbol = min(live, key=self.next_at.__getitem__)
            if self.next_at[symbol] > until:
                break
            self.t = self.next_at[symbol]
            self._walk(symbol)
            yield self.tick(symbol)
            self.next_at[symbol] = self.t + self._gap(symbol)
        self.t = max(self.t, until)

    def silence(self, until: float) -> None:
        """No ticks at all until ``until`` (a dead feed)."""
        self.t = max(self.t, until)
        for s, at in self.next_at.items():
            if at < until:
                self.next_at[s] = until + self._gap(s)

    def glide(
        self, symbol: str, target: float, duration: float, interval: float = 0.05
    ) -> Iterator[TickEvent]:
        """Move ``symbol``'s mid to ``target`` points; it then walks around the target."""
        start, t0 = self.mid[symbol], self.t
        steps = max(1, round(duration / interval))
        sigma = self.inst[symbol].sigma_points
        for k in range(1, steps + 1):
            yield from self.ticks(t0 + k * interval, exclude=frozenset({symbol}))
            fade = 1.0 - k / steps
            self.mid[symbol] = (
                start + (target - start) * k / steps + self.rng.gauss(0, sigma) * fade
            )
            yield self.tick(symbol)
        self.anchor[symbol] = target
        self.next_at[symbol] = self.t + self._gap(symbol)
