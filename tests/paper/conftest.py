"""Paper-terminal fixtures: a terminal on the shared manual clock, and a sim-time player."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from execution.paper import PaperTerminal, apply_event
from execution.paper.events import Event
from risk.clock import ManualClock


@pytest.fixture
def terminal(clock: ManualClock) -> PaperTerminal:
    """The default account (100 000 USD, 1:100) with EURUSD, GBPUSD and USDJPY quoted."""
    t = PaperTerminal(clock=clock)
    t.push_tick("EURUSD", 1.08000, 1.08010)
    t.push_tick("GBPUSD", 1.27000, 1.27012)
    t.push_tick("USDJPY", 150.000, 150.012)
    return t


class Player:
    """Applies a scenario's events in simulated time, moving the manual clock to each ``at``."""

    def __init__(self, terminal: PaperTerminal, clock: ManualClock, events: Iterable[Event]):
        self.terminal, self.clock = terminal, clock
        self._events = iter(events)
        self._pending: Event | None = None
        self._elapsed = 0.0
        self._tickets: dict[str, int] = {}

    def until(self, at: float) -> list[Event]:
        """Apply the events up to simulated ``at`` seconds; the stream can be continued."""
        applied: list[Event] = []
        while True:
            event = self._pending if self._pending is not None else next(self._events, None)
            self._pending = None
            if event is None:
                return applied
            if event.at > at:
                self._pending = event
                return applied
            self.clock.advance(event.at - self._elapsed)
            self._elapsed = event.at
            apply_event(self.terminal, event, self._tickets)
            applied.append(event)


def play(
    terminal: PaperTerminal, clock: ManualClock, events: Iterable[Event], until: float
) -> list[Event]:
    """Apply events up to simulated ``until`` seconds (see ``Player``)."""
    return Player(terminal, clock, events).until(until)


def take(events: Iterable[Event], until: float) -> list[Event]:
    """The events of a (possibly endless) stream up to simulated ``until`` seconds."""
    out: list[Event] = []
    for event in events:
        if event.at > until:
            break
        out.append(event)
    return out
