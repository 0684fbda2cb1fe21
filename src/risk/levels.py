"""Levels, bands and readings: how a measured value becomes OK / WARNING / BREACH.

A ``Band`` classifies a "higher is worse" value. Reaching a level exactly enters it (a limit
reached exactly trips). Leaving WARNING needs the value to fall below ``release`` — the warning
level less ``HYSTERESIS`` of it — and leaving BREACH needs it to fall below the warning level, so
a value hovering on either line does not storm events or breaker writes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from typing import Final

from risk.breaker_state import Action
from risk.reason_codes import ReasonCode

__all__ = ["HYSTERESIS", "Band", "Level", "LevelChange", "Reading", "action_for"]

HYSTERESIS: Final = Decimal("0.10")

Number = Decimal | int


class Level(IntEnum):
    OK = 0
    WARNING = 1
    BREACH = 2


class Band:
    __slots__ = ("limit", "release", "warning")

    def __init__(self, warning: Number, limit: Number, release: Number | None = None) -> None:
        self.warning: Number = 0
        self.limit: Number = 0
        self.release: Number = 0
        self.set(warning, limit, release)

    def set(self, warning: Number, limit: Number, release: Number | None = None) -> None:
        """Move the levels in place (a new high-water mark, the broker's margin-call levels).

        ``release`` defaults to the warning less ``HYSTERESIS`` of its magnitude.
        """
        if warning >= limit:
            raise ValueError(f"warning {warning} must be below limit {limit}")
        if release is None:
            release = Decimal(warning) - abs(Decimal(warning)) * HYSTERESIS
            release = math.floor(release) if isinstance(warning, int) else release
        if release > warning:
            raise ValueError(f"release {release} must not exceed warning {warning}")
        self.warning, self.limit, self.release = warning, limit, release

    def classify(self, value: Number, current: Level) -> Level:
        if value >= self.limit or (current is Level.BREACH and value >= self.warning):
            return Level.BREACH
        if value >= self.warning or (current is not Level.OK and value >= self.release):
            return Level.WARNING
        return Level.OK


@dataclass(frozen=True, slots=True)
class Reading:
    """One rule's measurement in its own unit, as exact decimals."""

    code: ReasonCode
    level: Level
    value: Decimal
    warning: Decimal
    limit: Decimal
    unit: str

    def evidence(self) -> dict[str, str]:
        return {
            "rule": self.code.value,
            "level": self.level.name,
            "value": str(self.value),
            "warning": str(self.warning),
            "limit": str(self.limit),
            "unit": self.unit,
        }


@dataclass(frozen=True, slots=True)
class LevelChange:
    """A rule entered a new level. BREACH carries the breaker action from config."""

    reading: Reading
    previous: Level
    action: Action | None

    @property
    def code(self) -> ReasonCode:
        return self.reading.code


def action_for(configured: str) -> Action:
    """Config says HALTED or REDUCING (the state to end in); the breaker takes an action."""
    return Action.HALT if configured == "HALTED" else Action.REDUCE
