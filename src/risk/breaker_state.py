"""The breaker's state machine as data, and the schema of ``breaker.json``.

States and actions are enums; ``TRANSITIONS`` is the whole table. HALTED is left only by RESET.
A trip while already HALTED (or REDUCE while REDUCING) keeps the state and its first trigger and
only adds to the history.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from risk.reason_codes import ReasonCode

__all__ = [
    "SCHEMA",
    "TRANSITIONS",
    "Action",
    "Actor",
    "BreakerRecord",
    "BreakerState",
    "HistoryEntry",
    "InvalidTransition",
    "LastReset",
    "Rebaseline",
    "next_state",
]

SCHEMA: Final = "riskguard.breaker/1"


class BreakerState(StrEnum):
    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


class Action(StrEnum):
    HALT = "HALT"
    REDUCE = "REDUCE"
    RESET = "RESET"


S, A = BreakerState, Action
TRANSITIONS: Final[Mapping[tuple[BreakerState, Action], BreakerState]] = {
    (S.ACTIVE, A.HALT): S.HALTED,
    (S.ACTIVE, A.REDUCE): S.REDUCING,
    (S.REDUCING, A.HALT): S.HALTED,
    (S.REDUCING, A.REDUCE): S.REDUCING,
    (S.REDUCING, A.RESET): S.ACTIVE,
    (S.HALTED, A.HALT): S.HALTED,
    (S.HALTED, A.REDUCE): S.HALTED,
    (S.HALTED, A.RESET): S.ACTIVE,
}
del S, A


class InvalidTransition(Exception):
    """The (state, action) pair is not in the table, e.g. resetting an ACTIVE breaker."""


def next_state(state: BreakerState, action: Action) -> BreakerState:
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise InvalidTransition(f"{action.value} is not allowed while {state.value}") from None


Rebaseline = Literal["daily", "peak"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Actor(_Frozen):
    role: str = Field(min_length=1)
    pid: int
    host: str
    name: str | None = None


class HistoryEntry(_Frozen):
    seq: int = Field(ge=0)
    at: str
    action: Action
    from_state: BreakerState
    to_state: BreakerState
    trigger: ReasonCode
    reason: str
    actor: Actor
    evidence: dict[str, JsonValue]
    rebaseline: tuple[Rebaseline, ...] = ()


class LastReset(_Frozen):
    seq: int = Field(ge=1)
    at: str
    operator: str
    rebaseline: tuple[Rebaseline, ...]


class BreakerRecord(_Frozen):
    """The full content of ``breaker.json``; re-validated (strict JSON mode) on every change."""

    schema_: Literal["riskguard.breaker/1"] = Field(alias="schema")
    state: BreakerState
    seq: int = Field(ge=0)
    changed_at: str
    trigger: ReasonCode
    reason: str
    actor: Actor
    evidence: dict[str, JsonValue]
    last_reset: LastReset | None
    history: tuple[HistoryEntry, ...]
