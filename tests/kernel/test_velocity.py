"""Velocity (flash crash): equity falls X % from the peak of the last Y s of tick time.
Shipped: warning 2 %, limit 3 %, window 10 s; the window's peak is kept in 100 ms buckets."""

from __future__ import annotations

import pytest

from risk.clock import ManualClock
from risk.config import RiskConfig
from risk.levels import Level
from risk.reason_codes import ReasonCode
from tests.kernel.helpers import MONDAY_10, START_PTS, one_lot_desk, only, shipped, yaml_config

VEL = ReasonCode.VELOCITY
DD = ReasonCode.DRAWDOWN
SEC = 1000


def _velocity_only() -> RiskConfig:
    return only(shipped(), "velocity")


@pytest.mark.parametrize(
    ("fall_pts", "expected"),
    [
        (1999, Level.OK),
        (2000, Level.WARNING),
        (2999, Level.WARNING),
        (3000, Level.BREACH),
        (3001, Level.BREACH),
    ],
    ids=["below-warning", "at-warning", "below-limit", "at-limit", "above-limit"],
)
def test_tick_when_equity_falls_within_window_then_velocity_boundary(
    clock: ManualClock, fall_pts: int, expected: Level
) -> None:
    """A 3 % fall (3,000 points on 1 lot) five seconds after the peak trips."""
    desk = one_lot_desk(_velocity_only(), clock)

    desk.tick(START_PTS - fall_pts, at_ms=MONDAY_10 + 5 * SEC)

    assert desk.ev.levels[VEL] is expected


@pytest.mark.parametrize(
    ("crash_after_ms", "expected"),
    [
        (10 * SEC, Level.BREACH),
        (10 * SEC + 99, Level.BREACH),
        (10 * SEC + 100, Level.WARNING),
    ],
    ids=["at-window", "same-100ms-bucket", "peak-left-window"],
)
def test_tick_when_peak_leaves_window_then_fall_measured_from_window_peak(
    clock: ManualClock, crash_after_ms: int, expected: Level
) -> None:
    """Peak 100,000 at t0, 99,000 at t0+1 s, 97,000 later: 3 % from the t0 peak while it is in
    the window (to 100 ms resolution), else 2.02 % from 99,000."""
    desk = one_lot_desk(_velocity_only(), clock)  # anchored at 100,000.00 at t0
    desk.tick(START_PTS - 1000, at_ms=MONDAY_10 + SEC)

    desk.tick(START_PTS - 3000, at_ms=MONDAY_10 + crash_after_ms)

    assert desk.ev.levels[VEL] is expected


@pytest.mark.parametrize(
    ("seconds", "worst"),
    [(12, Level.WARNING), (20, Level.OK)],
    ids=["over-12s", "over-20s"],
)
def test_tick_when_same_fall_spread_over_longer_than_window_then_no_trip(
    clock: ManualClock, seconds: int, worst: Level
) -> None:
    """3 % spread evenly over 12 s is at most ~2.5 % in any 10 s window (warning only); over
    20 s at most ~1.5 % (nothing)."""
    desk = one_lot_desk(_velocity_only(), clock)
    steps = seconds * 10
    per_step = 3000 // steps

    desk.walk(START_PTS - per_step * i for i in range(1, steps + 1))

    assert desk.ev.book.equity_money() == 97_000
    assert max((c.reading.level for c in desk.changes), default=Level.OK) is worst


def test_tick_when_slow_three_percent_decline_over_an_hour_then_drawdown_not_velocity(
    clock: ManualClock,
) -> None:
    """An hour-long 3 % slide trips drawdown but never velocity."""
    desk = one_lot_desk(only(shipped(), "velocity", "drawdown"), clock, step_ms=SEC)

    desk.walk(START_PTS - (3000 * i) // 3600 for i in range(1, 3601))

    assert desk.ev.levels[DD] is Level.BREACH
    assert [c for c in desk.changes if c.code is VEL] == []


@pytest.mark.parametrize(
    ("fall_pts", "after_ms", "expected"),
    [
        (1499, 29 * SEC, Level.WARNING),
        (1500, 29 * SEC, Level.BREACH),
        (1500, 31 * SEC, Level.OK),
    ],
    ids=["below-limit", "at-limit", "outside-window"],
)
def test_tick_when_configured_window_then_x_pct_within_y_seconds_trips(
    clock: ManualClock, fall_pts: int, after_ms: int, expected: Level
) -> None:
    """Configured 1.5 % within 30 s (warning 1 %): the limit and the window both apply."""
    config = yaml_config(
        ('warning_pct: "2.0"\n  limit_pct: "3.0"', 'warning_pct: "1.0"\n  limit_pct: "1.5"'),
        ("window_seconds: 10", "window_seconds: 30"),
    )
    desk = one_lot_desk(only(config, "velocity"), clock)

    desk.tick(START_PTS - fall_pts, at_ms=MONDAY_10 + after_ms)

    assert desk.ev.levels[VEL] is expected
