"""The original system's five scenarios, end to end: 1 lot EURUSD long on 100,000.00, shipped
limits, the evaluator behind a Guard and a real CircuitBreaker in a temporary state dir."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import pytest

from risk.breaker_state import Action, BreakerState, Rebaseline
from risk.circuit_breaker import BreakerView, CircuitBreaker
from risk.clock import ManualClock
from risk.guard import Guard
from risk.levels import Level
from risk.models import AccountSnapshot
from risk.reason_codes import ReasonCode
from tests.conftest import RecordingSink
from tests.kernel.helpers import (
    CAPITAL,
    START_PTS,
    Desk,
    account,
    guard_for,
    operator_reset,
    position,
    shipped,
    utc_ms,
)

C = ReasonCode
#: Tuesday 2026-03-03 00:00 Europe/Prague (the shipped daily reset) in UTC
TUESDAY_RESET = utc_ms(2026, 3, 2, 23)


def _snapshot(balance: Decimal | str = CAPITAL, margin: str = "1100.00") -> AccountSnapshot:
    return account(balance, margin=margin, so_call="100", so_so="50", leverage=100)


@pytest.fixture
def rig(
    clock: ManualClock, breaker: CircuitBreaker, sink: RecordingSink, state_dir: Path
) -> tuple[Desk, Guard]:
    desk = Desk(shipped(), clock)
    guard = guard_for(desk.ev, breaker, sink, state_dir)
    guard.handle(desk.account(_snapshot(), [position(1, "1")]))
    return desk, guard


def _run(desk: Desk, guard: Guard, bids: list[int]) -> list[BreakerView | None]:
    return [guard.handle(desk.tick(b)) for b in bids]


def _equity(bid: int) -> Decimal:
    """Independent valuation of the 1-lot long opened at 1.10000: 1.00 per point."""
    return CAPITAL + (bid - START_PTS)


def _first_drawdown_breach(bids: list[int]) -> int:
    """Index of the first tick whose drawdown from the running peak is at least 2 %."""
    peak = CAPITAL
    for i, bid in enumerate(bids):
        equity = _equity(bid)
        peak = max(peak, equity)
        if (peak - equity) * 100 >= 2 * peak:
            return i
    raise AssertionError("the path never reaches 2 %")


def test_ticks_when_normal_drift_then_no_change_at_all(
    rig: tuple[Desk, Guard], breaker: CircuitBreaker, sink: RecordingSink
) -> None:
    """A quiet market (±45 points around 1.10000) changes no level, emits nothing."""
    desk, guard = rig
    events_before = list(sink.names())
    bids = [START_PTS + round(40 * math.sin(i / 15)) + i % 7 - 3 for i in range(600)]

    views = _run(desk, guard, bids)

    assert desk.changes == []
    assert views == [None] * len(bids)
    assert sink.names() == events_before
    assert breaker.read().state is BreakerState.ACTIVE


FLASH_CRASH = [START_PTS + 3 * i for i in range(50)] + [
    START_PTS + 147 - 125 * k for k in range(1, 21)
]


def test_ticks_when_flash_crash_then_drawdown_trips_on_first_breaching_tick(
    rig: tuple[Desk, Guard], breaker: CircuitBreaker
) -> None:
    """A 2.5 % crash after a small rise: DRAWDOWN (from the 100,147 peak, not 100,000) halts on
    exactly the first tick at or past 2 %, computed independently."""
    desk, guard = rig
    expected = _first_drawdown_breach(FLASH_CRASH)

    views = _run(desk, guard, FLASH_CRASH)

    tripped_at = next(i for i, v in enumerate(views) if v is not None)
    assert tripped_at == expected == 66  # 17th crash tick: 2,125 ≥ 2 % of 100,147 > 2,000
    view = breaker.read()
    assert (view.state, view.trigger) == (BreakerState.HALTED, C.DRAWDOWN)
    assert view.record is not None and view.record.evidence["also"] == []
    assert desk.ev.levels[C.VELOCITY] is Level.WARNING  # 2.5 % in 2 s: a warning, not 3 %


def test_account_when_fat_finger_100_lots_then_leverage_reduces(
    rig: tuple[Desk, Guard], breaker: CircuitBreaker
) -> None:
    """A 100-lot order on 100,000.00 (111× leverage): LEVERAGE breaches with REDUCE, the breaker
    goes REDUCING (lots per symbol breaches too, as evidence)."""
    desk, guard = rig
    fat = position(2, "100", open_pts=START_PTS + 2, current_pts=START_PTS)

    changes = desk.account(
        account(CAPITAL, margin="22220.00", so_call="100", so_so="50", leverage=500),
        [position(1, "1"), fat],
    )
    view = guard.handle(changes)

    breaches = {c.code: c.action for c in changes if c.reading.level is Level.BREACH}
    assert breaches == {C.LEVERAGE: Action.REDUCE, C.LOTS_PER_SYMBOL: Action.REDUCE}
    assert view is not None
    assert (view.state, view.trigger) == (BreakerState.REDUCING, C.LEVERAGE)
    assert view.record is not None and view.record.evidence["also"] == ["LOTS_PER_SYMBOL"]
    assert breaker.read().state is BreakerState.REDUCING


# points below 1.10000: around the 1 % warning line (never under the 0.9 % release), then 2 %
OSCILLATION_FALLS = [0, 500, 1000, 950, 1050, 920, 1100, 905, 1300, 950, 1500, 1000, 1800, 1200]
OSCILLATION_FALLS += [1999, 1500, 2000, 2500]


def test_ticks_when_oscillating_around_warning_then_one_warning_and_trip_at_two_percent(
    clock: ManualClock, breaker: CircuitBreaker, sink: RecordingSink, state_dir: Path
) -> None:
    """Swinging 0.9–2.5 % below the peak: hysteresis gives one warning per rule (no storm);
    the trip comes exactly on the first tick at 2 %."""
    desk = Desk(shipped(), clock, step_ms=2000)
    guard = guard_for(desk.ev, breaker, sink, state_dir)
    guard.handle(desk.account(_snapshot(), [position(1, "1")]))
    bids = [START_PTS - f for f in OSCILLATION_FALLS]
    expected = _first_drawdown_breach(bids)
    start = len(sink.events)

    views = _run(desk, guard, bids)

    tripped_at = next(i for i, v in enumerate(views) if v is not None)
    assert tripped_at == expected == OSCILLATION_FALLS.index(2000)
    before_trip = [(n, f["rule"]) for n, f in sink.events[start:] if n.startswith("risk.")]
    assert before_trip[:2] == [("risk.warning", "DRAWDOWN"), ("risk.warning", "DAILY_LOSS")]
    assert before_trip[2:4] == [("risk.breach", "DRAWDOWN"), ("risk.breach", "DAILY_LOSS")]
    assert sink.names().count("breaker.tripped") == 1


def _crash_and_halt(desk: Desk, guard: Guard, breaker: CircuitBreaker) -> None:
    _run(desk, guard, FLASH_CRASH)
    assert breaker.read().state is BreakerState.HALTED


def test_reset_when_rebaselined_peak_next_day_then_active_and_rearmed_from_new_peak(
    rig: tuple[Desk, Guard], breaker: CircuitBreaker, clock: ManualClock
) -> None:
    """After the crash the position is closed; next morning the operator resets with
    rebaseline=peak: trading is ACTIVE, and drawdown is re-armed 2 % below the new peak."""
    desk, guard = rig
    _crash_and_halt(desk, guard, breaker)
    equity = CAPITAL + 147 - 2500
    guard.handle(desk.account(_snapshot(equity, "0"), [], at_ms=desk.now_ms + 1000))
    clock.advance(60)
    guard.handle(desk.account(_snapshot(equity, "0"), [], at_ms=TUESDAY_RESET + 60_000))
    assert desk.ev.levels[C.DAILY_LOSS] is Level.OK  # the new day starts from 97,647.00

    operator_reset(breaker, guard, rebaseline=("peak",))
    reopened = position(3, "1", open_pts=START_PTS - 2353)
    guard.handle(desk.account(_snapshot(equity), [reopened], at_ms=TUESDAY_RESET + 120_000))
    quiet = _run(desk, guard, [START_PTS - 2353 - f for f in (0, 500, 1952)])

    assert desk.ev.hwm == equity.scaleb(10)
    assert quiet == [None, None, None]
    assert breaker.read().state is BreakerState.ACTIVE
    assert Level.BREACH not in desk.ev.levels.values()
    tripped = guard.handle(desk.tick(START_PTS - 2353 - 1953))  # 2 % of 97,647.00 is 1,952.94
    assert tripped is not None and tripped.trigger is C.DRAWDOWN


@pytest.mark.parametrize(
    ("rebaseline", "trips_again_on"),
    [((), C.DRAWDOWN), (("peak",), C.DAILY_LOSS)],
    ids=["no-rebaseline", "peak-only-same-day"],
)
def test_reset_when_rule_still_breaching_then_trips_again_on_next_tick(
    rig: tuple[Desk, Guard],
    breaker: CircuitBreaker,
    rebaseline: tuple[Rebaseline, ...],
    trips_again_on: ReasonCode,
) -> None:
    """A reset re-arms every rule: whatever still breaches (the drawdown without a rebaseline,
    the same day's 2.35 % daily loss with only the peak rebaselined) halts again at once."""
    desk, guard = rig
    _crash_and_halt(desk, guard, breaker)

    operator_reset(breaker, guard, rebaseline)
    assert breaker.read().state is BreakerState.ACTIVE
    view = guard.handle(desk.tick(FLASH_CRASH[-1]))

    assert view is not None
    assert (view.state, view.trigger) == (BreakerState.HALTED, trips_again_on)


def test_breach_with_trigger_then_breach_events_and_trip_evidence_name_the_tick(
    rig: tuple[Desk, Guard], breaker: CircuitBreaker, sink: RecordingSink
) -> None:
    """The input that caused a trip travels with it: every risk.* event of the call and the
    breaker record carry the trigger (the monitor passes the tick's symbol and time_msc)."""
    desk, guard = rig
    trigger = {"symbol": "EURUSD", "tick_time_msc": 1_772_443_800_123}
    start = len(sink.events)

    view = guard.handle(desk.tick(FLASH_CRASH[-1]), trigger)

    assert view is not None and view.record is not None
    assert view.record.evidence["tick_time_msc"] == 1_772_443_800_123
    assert view.record.evidence["symbol"] == "EURUSD"
    risk_events = [f for n, f in sink.events[start:] if n.startswith("risk.")]
    assert risk_events and all(f["tick_time_msc"] == 1_772_443_800_123 for f in risk_events)


def test_trip_reason_when_reading_has_many_digits_then_shows_four_decimals_and_exact_evidence(
    rig: tuple[Desk, Guard],
) -> None:
    """The human reason is short; the exact reading stays in the evidence."""
    desk, guard = rig

    view = guard.handle(desk.tick(FLASH_CRASH[-1]))

    assert view is not None and view.record is not None
    shown = view.reason.split()[1]
    assert len(shown.split(".")[1]) <= 5  # "2.0357%": four decimals and the unit
    assert Decimal(view.record.evidence["value"]).quantize(Decimal("0.0001")) == Decimal(
        shown.rstrip("%")
    )
