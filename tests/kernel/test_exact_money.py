"""Exact money: twenty losses of 100.00 on 100,000.00 reach a 2 % limit exactly at the
twentieth, however the prices were produced (no float boundary errors)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from risk.clock import ManualClock
from risk.levels import Level
from risk.models import PositionType
from risk.reason_codes import ReasonCode
from tests.kernel.helpers import (
    CAPITAL,
    START_PTS,
    Desk,
    account,
    one_lot_desk,
    only,
    position,
    raw_tick,
    shipped,
)

EQUITY_RULES = only(shipped(), "drawdown", "daily_loss")
CODES = (ReasonCode.DRAWDOWN, ReasonCode.DAILY_LOSS)


def _levels(desk: Desk) -> tuple[Level, ...]:
    return tuple(desk.ev.levels[c] for c in CODES)


@pytest.mark.parametrize(
    ("losses", "expected"),
    [(19, Level.WARNING), (20, Level.BREACH)],
    ids=["nineteen", "twentieth"],
)
def test_account_when_losing_deals_of_100_then_trip_exactly_at_twentieth(
    clock: ManualClock, losses: int, expected: Level
) -> None:
    """Realised losses (balance snapshots 100.00 lower each) trip drawdown and daily loss at
    exactly 98,000.00."""
    desk = Desk(EQUITY_RULES, clock)
    desk.account(account(CAPITAL))
    balance = CAPITAL

    for _ in range(losses):
        balance -= Decimal("100.00")
        desk.account(account(balance))

    assert _levels(desk) == (expected, expected)


def _float_bids(step: float, count: int) -> list[float]:
    """Bids produced the way a float feed produces them: 1.1 minus ``step`` repeatedly."""
    bids, bid = [], 1.1
    for _ in range(count):
        bid -= step
        bids.append(bid)
    return bids


@pytest.mark.parametrize(
    ("volume", "step"),
    [("1", 0.001), ("0.1", 0.01), ("10", 0.0001)],
    ids=["1-lot-100-points", "0.1-lot-1000-points", "10-lots-10-points"],
)
@pytest.mark.parametrize(
    ("losses", "expected"),
    [(19, Level.WARNING), (20, Level.BREACH)],
    ids=["nineteen", "twentieth"],
)
def test_tick_when_float_bids_lose_100_each_then_trip_exactly_at_twentieth(
    clock: ManualClock, volume: str, step: float, losses: int, expected: Level
) -> None:
    """Each tick marks the long 100.00 lower, bids made by repeated float subtraction
    (the twentieth 1-lot bid is 1.0800000000000023): 2 % is reached exactly at the twentieth."""
    desk = one_lot_desk(EQUITY_RULES, clock, volume=volume)

    for bid in _float_bids(step, losses):
        desk.now_ms += 100
        desk.ev.on_tick(
            raw_tick(bid, bid + 0.00002, desk.now_ms), desk.now_ms, clock.monotonic_ns()
        )

    assert desk.ev.book.equity_money() == CAPITAL - 100 * losses
    assert _levels(desk) == (expected, expected)


def test_tick_when_twentieth_loss_then_reading_is_exactly_two_percent(clock: ManualClock) -> None:
    """The breach reading is the exact decimal 2, not 1.9999999999999998."""
    desk = one_lot_desk(EQUITY_RULES, clock)

    desk.tick(START_PTS - 2000)

    assert [c.reading.value for c in desk.changes] == [Decimal(2), Decimal(2)]


def test_account_when_short_loses_100_twenty_times_then_trip_exactly_at_twentieth(
    clock: ManualClock,
) -> None:
    """Shorts are marked at the ask: twenty 100-point ask rises on 1 lot short trip exactly."""
    desk = Desk(EQUITY_RULES, clock)
    short = position(1, "1", side=PositionType.SELL)
    desk.account(account(CAPITAL), [short])
    levels = []

    for k in range(1, 21):
        desk.tick(START_PTS + 100 * k - 2, START_PTS + 100 * k)
        levels.append(_levels(desk)[0])

    assert levels.index(Level.BREACH) == 19
