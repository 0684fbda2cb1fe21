"""Drawdown: equity below the high-water mark; warning 1 %, limit 2 %, release 0.9 % (shipped)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from risk.breaker_state import Action
from risk.clock import ManualClock
from risk.levels import Level
from risk.reason_codes import ReasonCode
from tests.kernel.helpers import CAPITAL, START_PTS, Desk, account, one_lot_desk, only, shipped

DD = ReasonCode.DRAWDOWN


def _desk(clock: ManualClock) -> Desk:
    desk = Desk(only(shipped(), "drawdown"), clock)
    desk.account(account(CAPITAL))
    return desk


@pytest.mark.parametrize(
    ("equity", "expected"),
    [
        ("99000.01", Level.OK),
        ("99000.00", Level.WARNING),
        ("98999.99", Level.WARNING),
        ("98000.01", Level.WARNING),
        ("98000.00", Level.BREACH),
        ("97999.99", Level.BREACH),
    ],
    ids=[
        "below-warning",
        "at-warning",
        "above-warning",
        "below-limit",
        "at-limit",
        "above-limit",
    ],
)
def test_evaluate_when_equity_falls_from_peak_then_level_follows_boundaries(
    clock: ManualClock, equity: str, expected: Level
) -> None:
    """A fall of exactly 1 % warns and exactly 2 % breaches; a cent less does not."""
    desk = _desk(clock)

    desk.account(account(equity))

    assert desk.ev.levels[DD] is expected


def test_evaluate_when_limit_reached_then_breach_carries_halt_and_exact_reading(
    clock: ManualClock,
) -> None:
    """The breach carries the configured HALT and reads exactly 2 % of the mark."""
    desk = _desk(clock)

    changes = desk.account(account("98000.00"))

    (change,) = changes
    assert change.action is Action.HALT
    assert change.previous is Level.OK
    assert change.reading.value == Decimal(2)
    assert (change.reading.warning, change.reading.limit) == (Decimal("1.0"), Decimal("2.0"))


@pytest.mark.parametrize(
    ("recovered_to", "expected"),
    [("99100.00", Level.WARNING), ("99100.01", Level.OK)],
    ids=["at-release", "above-release"],
)
def test_evaluate_when_warning_recovers_then_clears_only_below_release(
    clock: ManualClock, recovered_to: str, expected: Level
) -> None:
    """Leaving WARNING needs the fall below 0.9 % (hysteresis), not just below 1 %."""
    desk = _desk(clock)
    desk.account(account("99000.00"))

    desk.account(account(recovered_to))

    assert desk.ev.levels[DD] is expected


@pytest.mark.parametrize(
    ("equity", "expected"),
    [("107800.01", Level.WARNING), ("107800.00", Level.BREACH)],
    ids=["just-inside", "at-limit"],
)
def test_evaluate_when_peak_rises_then_limit_follows_new_high_water_mark(
    clock: ManualClock, equity: str, expected: Level
) -> None:
    """A new high (110,000) moves the 2 % trip line to 107,800."""
    desk = _desk(clock)
    desk.account(account("110000.00"))

    desk.account(account(equity))

    assert desk.ev.levels[DD] is expected


@pytest.mark.parametrize(
    ("fall_pts", "expected"),
    [(1999, Level.WARNING), (2000, Level.BREACH), (2001, Level.BREACH)],
    ids=["below-limit", "at-limit", "above-limit"],
)
def test_tick_when_long_marked_down_then_drawdown_boundary_in_points(
    clock: ManualClock, fall_pts: int, expected: Level
) -> None:
    """On ticks: 1 lot EURUSD is 1.00 a point, so 2,000 points is exactly 2 %."""
    desk = one_lot_desk(only(shipped(), "drawdown"), clock)

    desk.tick(START_PTS - fall_pts)

    assert desk.ev.levels[DD] is expected
