"""Specification of the manual-reset policy and of rebaselining (pure, injected time)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from risk.breaker_state import LastReset, Rebaseline
from risk.circuit_breaker import CircuitBreaker
from risk.clock import ManualClock
from risk.monitor_snapshot import MonitorSnapshot, RuleStatus, snapshot_now
from risk.reason_codes import ReasonCode
from risk.reset_policy import ResetDecision, decide_reset
from risk.rule_state import RuleState, apply_reset

COOLDOWN = 60
MAX_AGE = timedelta(seconds=9)


def _snapshot(clock: ManualClock, **levels: str) -> MonitorSnapshot:
    rules = {
        code: RuleStatus(level=lvl, value="2.5", warning="1", limit="2")
        for code, lvl in levels.items()
    }  # type: ignore[arg-type]
    return snapshot_now(clock.now(), "1001", {"equity": "97500.00"}, rules)


def _decide(
    breaker: CircuitBreaker,
    clock: ManualClock,
    snapshot: MonitorSnapshot | None,
    *,
    force: bool = False,
    rebaseline: tuple[Rebaseline, ...] = (),
) -> ResetDecision:
    return decide_reset(
        breaker.read(),
        snapshot,
        now=clock.now(),
        cooldown_seconds=COOLDOWN,
        snapshot_max_age=MAX_AGE,
        force=force,
        rebaseline=rebaseline,
    )


@pytest.mark.parametrize(
    ("elapsed", "allowed"),
    [(0.0, False), (59.999, False), (60.0, True), (61.0, True)],
    ids=["at-trip", "just-inside", "exactly-at-cooldown", "after"],
)
def test_reset_when_inside_or_after_cooldown_then_refused_or_allowed(
    breaker: CircuitBreaker, clock: ManualClock, elapsed: float, allowed: bool
) -> None:
    """The cooldown counts from the trip; reaching it exactly allows the reset."""
    breaker.trip(ReasonCode.MANUAL_TRIP, "op")
    clock.advance(elapsed)
    decision = _decide(breaker, clock, _snapshot(clock, DRAWDOWN="ok"))
    assert decision.allowed is allowed


def test_reset_when_a_second_trip_lands_while_halted_then_cooldown_restarts_from_it(
    breaker: CircuitBreaker, clock: ManualClock
) -> None:
    """A fresh breach recorded while already HALTED (state unchanged) restarts the cooldown."""
    breaker.trip(ReasonCode.DRAWDOWN, "dd")
    clock.advance(50)
    breaker.trip(ReasonCode.DAILY_LOSS, "a new breach while halted")
    clock.advance(20)  # 70 s after the first trip, 20 s after the second

    inside = _decide(breaker, clock, _snapshot(clock, DRAWDOWN="ok"))
    clock.advance(40)
    after = _decide(breaker, clock, _snapshot(clock, DRAWDOWN="ok"))

    assert not inside.allowed and "cooldown" in inside.refusals[0]
    assert after.allowed


def test_reset_when_inside_cooldown_then_force_does_not_override(
    breaker: CircuitBreaker, clock: ManualClock
) -> None:
    """--force never shortens the recovery cooldown."""
    breaker.trip(ReasonCode.DRAWDOWN, "dd")
    decision = _decide(breaker, clock, None, force=True)
    assert not decision.allowed
    assert not decision.overridable
    assert "cooldown" in decision.refusals[0]


def test_reset_when_tripping_rule_still_breaches_then_refused_unless_forced(
    breaker: CircuitBreaker, clock: ManualClock
) -> None:
    """A reset that the monitor would immediately undo is refused; --force overrides it."""
    breaker.trip(ReasonCode.DRAWDOWN, "dd")
    clock.advance(COOLDOWN)
    snap = _snapshot(clock, DRAWDOWN="breach", LEVERAGE="ok")
    refused = _decide(breaker, clock, snap)
    assert not refused.allowed
    assert refused.overridable
    assert any("DRAWDOWN" in r for r in refused.refusals)
    assert _decide(breaker, clock, snap, force=True).allowed


def test_reset_when_other_rule_breaches_now_then_refused(
    breaker: CircuitBreaker, clock: ManualClock
) -> None:
    """Any rule at its hard limit would re-trip at once, so it blocks the reset too."""
    breaker.trip(ReasonCode.MANUAL_TRIP, "op")
    clock.advance(COOLDOWN)
    assert not _decide(breaker, clock, _snapshot(clock, LEVERAGE="breach")).allowed


def test_reset_when_rebaseline_peak_then_drawdown_breach_no_longer_blocks(
    breaker: CircuitBreaker, clock: ManualClock
) -> None:
    """--rebaseline-peak clears exactly the drawdown breach, not the daily-loss one."""
    breaker.trip(ReasonCode.DRAWDOWN, "dd")
    clock.advance(COOLDOWN)
    only_dd = _snapshot(clock, DRAWDOWN="breach")
    both = _snapshot(clock, DRAWDOWN="breach", DAILY_LOSS="breach")
    assert _decide(breaker, clock, only_dd, rebaseline=("peak",)).allowed
    assert not _decide(breaker, clock, both, rebaseline=("peak",)).allowed
    assert _decide(breaker, clock, both, rebaseline=("daily", "peak")).allowed


@pytest.mark.parametrize(
    ("snapshot_age", "allowed"),
    [(None, False), (10.0, False), (8.0, True)],
    ids=["no-snapshot", "stale-snapshot", "recent-snapshot"],
)
def test_reset_when_monitor_snapshot_missing_or_stale_then_refused(
    breaker: CircuitBreaker, clock: ManualClock, snapshot_age: float | None, allowed: bool
) -> None:
    """Without a recent monitor snapshot nobody can confirm the breach cleared: fail closed."""
    breaker.trip(ReasonCode.MANUAL_TRIP, "op")
    clock.advance(COOLDOWN)
    snap = None if snapshot_age is None else _snapshot(clock, DRAWDOWN="ok")
    clock.advance(snapshot_age or 0)
    assert _decide(breaker, clock, snap).allowed is allowed


def test_reset_when_breaker_active_then_nothing_to_reset(
    breaker: CircuitBreaker, clock: ManualClock
) -> None:
    """Resetting an ACTIVE breaker is refused even with --force."""
    decision = _decide(breaker, clock, _snapshot(clock), force=True)
    assert not decision.allowed
    assert "nothing to reset" in decision.refusals[0]


def test_reset_when_file_unreadable_then_refused_unless_forced(
    breaker: CircuitBreaker, clock: ManualClock
) -> None:
    """A corrupt breaker file is only replaced by an explicit, forced reset."""
    (breaker.state_dir / "breaker.json").write_bytes(b"garbage")
    assert not _decide(breaker, clock, _snapshot(clock)).allowed
    assert _decide(breaker, clock, _snapshot(clock), force=True).allowed


ANCHORS = RuleState(
    high_water_mark=Decimal("102000.00"),
    daily_baseline=Decimal("101000.00"),
    trading_day="2026-03-02",
    applied_reset_seq=3,
)


@pytest.mark.parametrize(
    ("rebaseline", "hwm", "baseline"),
    [
        ((), "102000.00", "101000.00"),
        (("peak",), "97500.00", "101000.00"),
        (("daily",), "102000.00", "98000.00"),
        (("daily", "peak"), "97500.00", "98000.00"),
    ],
    ids=["none", "peak-only", "daily-only", "both"],
)
def test_apply_reset_when_rebaseline_flags_then_only_those_anchors_move(
    rebaseline: tuple[Rebaseline, ...], hwm: str, baseline: str
) -> None:
    """Rebaseline flags only do what they say, and a reset is applied once."""
    reset = LastReset(seq=7, at="2026-03-02T10:00:00.000000Z", operator="op", rebaseline=rebaseline)
    after = apply_reset(ANCHORS, reset, equity=Decimal("97500.00"), baseline=Decimal("98000.00"))
    assert (after.high_water_mark, after.daily_baseline) == (Decimal(hwm), Decimal(baseline))
    assert after.applied_reset_seq == 7
    again = apply_reset(after, reset, equity=Decimal("1"), baseline=Decimal("1"))
    assert again == after


def test_apply_reset_when_reset_already_applied_then_unchanged() -> None:
    """An old reset (seq not newer than the applied one) changes nothing."""
    old = LastReset(seq=3, at="2026-03-02T10:00:00.000000Z", operator="op", rebaseline=("peak",))
    assert apply_reset(ANCHORS, old, equity=Decimal("1"), baseline=Decimal("1")) == ANCHORS
