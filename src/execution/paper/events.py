"""What a scenario yields: ticks and terminal actions, each at a simulated time.

``at`` is simulated seconds since the scenario started; events come in non-decreasing ``at``.
The runner maps it to wall time through ``--speed`` and stamps ticks with the terminal's clock.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from execution.mt5.constants import PositionType

__all__ = ["CloseDirect", "Event", "OpenDirect", "Scenario", "ScenarioError", "TickEvent"]


class ScenarioError(ValueError):
    """An unknown scenario, a bad parameter or an unreadable replay file."""


@dataclass(frozen=True, slots=True)
class TickEvent:
    """A quote to deliver. Timing defects, for the latency and bad-tick scenarios:

    ``age_ms``: delivered late; ``time_msc`` is the terminal clock minus ``age_ms``, but never
    before the symbol's previous tick (old ticks delivered late, still in order).
    ``backdate_ms``: deliberately out of order; ``time_msc`` is the previous tick's minus this.
    """

    at: float
    symbol: str
    bid: float
    ask: float
    age_ms: int = 0
    backdate_ms: int = 0


@dataclass(frozen=True, slots=True)
class OpenDirect:
    """Open a position in the terminal "behind the engine's back"; ``ref`` names it for a close."""

    at: float
    ref: str
    symbol: str
    type: PositionType
    volume: float
    comment: str = ""


@dataclass(frozen=True, slots=True)
class CloseDirect:
    """Close the position opened as ``ref`` (skipped if it is already gone, e.g. flattened)."""

    at: float
    ref: str


Event = TickEvent | OpenDirect | CloseDirect


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named, seeded event stream. ``events()`` restarts it: same seed, same events."""

    name: str
    seed: int
    make: Callable[[random.Random], Iterator[Event]]

    def events(self) -> Iterator[Event]:
        return self.make(random.Random(self.seed))  # noqa: S311 - a seeded simulation
