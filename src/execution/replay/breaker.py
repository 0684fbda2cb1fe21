"""The breaker of a replay: ``risk.guard`` semantics on an in-memory state.

``pick_trip`` is the choice ``Guard.handle`` makes for one evaluation call: nothing unless some
change is a BREACH and the kill switch is automatic; otherwise the most severe breach (HALT before
REDUCE, then the order the rules ran in — a stable sort) trips, with the other breaches of the
call as ``also``. ``MemoryBreaker`` applies ``risk.breaker_state.next_state`` exactly as the file
breaker does: the trip that changes the state sets the trigger; a trip that does not (HALTED then
anything, REDUCING then REDUCE) keeps the first trigger and is only history. There is no operator
in a replay, so nothing ever resets it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from risk.breaker_state import Action, BreakerState, next_state
from risk.levels import Level, LevelChange
from risk.reason_codes import ReasonCode

__all__ = ["MemoryBreaker", "Transition", "pick_trip"]


def pick_trip(
    changes: Sequence[LevelChange], *, automatic: bool
) -> tuple[LevelChange, list[LevelChange]] | None:
    """The breach ``Guard.handle`` trips on, and the other breaches of the same call."""
    breaches = [c for c in changes if c.reading.level is Level.BREACH]
    if not breaches or not automatic:
        return None
    breaches.sort(key=lambda c: c.action is not Action.HALT)
    return breaches[0], breaches[1:]


@dataclass(frozen=True, slots=True)
class Transition:
    action: Action
    from_state: BreakerState
    to_state: BreakerState

    @property
    def changed(self) -> bool:
        return self.from_state is not self.to_state


class MemoryBreaker:
    """ACTIVE → (REDUCING) → HALTED through the shared transition table; never persisted."""

    def __init__(self) -> None:
        self.state = BreakerState.ACTIVE
        self.trigger: ReasonCode | None = None
        self.trips = 0

    def trip(self, trigger: ReasonCode, action: Action) -> Transition:
        if action is Action.RESET:
            raise ValueError("a replay never resets")
        before = self.state
        self.state = next_state(before, action)
        self.trips += 1
        if self.state is not before:
            self.trigger = trigger
        return Transition(action, before, self.state)
