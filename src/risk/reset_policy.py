"""When a manual reset is allowed. Pure: the CLI gathers the inputs and acts on the answer.

Refusals (ARCHITECTURE §4): nothing to reset; inside ``recovery_cooldown_seconds`` of the latest
trip, even one recorded while already HALTED (never overridable); the monitor's latest snapshot
shows a rule at its hard limit (the reset would only be tripped again) or there is no recent
snapshot to tell; an unreadable breaker file. ``--force`` overrides the last three. Rebaselining
is never implied.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from risk.breaker_state import Action, BreakerState, Rebaseline
from risk.circuit_breaker import BreakerView
from risk.clock import parse_ts
from risk.monitor_snapshot import MonitorSnapshot
from risk.reason_codes import ReasonCode

__all__ = ["REBASELINE_CLEARS", "ResetDecision", "decide_reset"]

#: the rule whose breach a rebaseline removes
REBASELINE_CLEARS: dict[Rebaseline, ReasonCode] = {
    "daily": ReasonCode.DAILY_LOSS,
    "peak": ReasonCode.DRAWDOWN,
}


@dataclass(frozen=True, slots=True)
class ResetDecision:
    allowed: bool
    refusals: tuple[str, ...]
    overridable: bool
    plan: tuple[str, ...]


def _latest_trip(view: BreakerView) -> datetime | None:
    """When the cooldown starts: the latest trip, including one recorded while already HALTED
    (a fresh breach restarts it), else the state change."""
    stamps = [parse_ts(view.changed_at)] if view.changed_at is not None else []
    if view.record is not None:
        stamps += [parse_ts(e.at) for e in view.record.history if e.action is not Action.RESET]
    return max(stamps, default=None)


def decide_reset(
    view: BreakerView,
    snapshot: MonitorSnapshot | None,
    *,
    now: datetime,
    cooldown_seconds: int,
    snapshot_max_age: timedelta,
    force: bool,
    rebaseline: Collection[Rebaseline],
) -> ResetDecision:
    hard: list[str] = []
    soft: list[str] = []
    plan = [f"state {view.state.value} (trigger {view.trigger.value}) -> ACTIVE"]
    if view.state is BreakerState.ACTIVE and view.readable:
        return ResetDecision(False, ("breaker is ACTIVE: nothing to reset",), False, ())
    if not view.readable:
        soft.append(f"breaker file unreadable ({view.reason}); --force writes a fresh record")
    elif (tripped_at := _latest_trip(view)) is not None:
        ready_at = tripped_at + timedelta(seconds=cooldown_seconds)
        if now < ready_at:
            left = (ready_at - now).total_seconds()
            hard.append(
                f"inside the recovery cooldown of the latest trip: {left:.1f} s left "
                f"(until {ready_at})"
            )
    cleared_by_rebaseline = {REBASELINE_CLEARS[r].value for r in rebaseline}
    if snapshot is None:
        soft.append("no monitor snapshot: cannot confirm the breach has cleared")
    elif now - snapshot.taken_at() > snapshot_max_age:
        soft.append(f"monitor snapshot is stale (taken {snapshot.at}): is the monitor running?")
    else:
        for code in sorted(snapshot.breaching() - cleared_by_rebaseline):
            rule = snapshot.rules[code]
            soft.append(
                f"{code} breaches now ({rule.value} against limit {rule.limit}): "
                "the monitor would trip again"
            )
    for choice in sorted(rebaseline):
        code = REBASELINE_CLEARS[choice].value
        plan.append(f"rebaseline {choice}: the monitor re-anchors {code} at current values")
    if not rebaseline:
        plan.append("no rebaseline: high-water mark and daily baseline stay as they are")
    refusals = tuple(hard + ([] if force else soft))
    return ResetDecision(not refusals, refusals, not hard, tuple(plan))
