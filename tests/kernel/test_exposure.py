"""Exposure (REDUCING): open positions (warn 8, limit 10), lots per symbol (warn 8, limit 10,
the largest symbol's gross lots), trades opened per trading day (warn 80, limit 100)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from risk.breaker_state import Action
from risk.clock import ManualClock
from risk.levels import Level
from risk.models import PositionType
from risk.reason_codes import ReasonCode
from tests.kernel.helpers import (
    ALL_SPECS,
    CAPITAL,
    MONDAY_10,
    Desk,
    account,
    deal,
    only,
    opening,
    position,
    shipped,
    utc_ms,
)

OPEN = ReasonCode.OPEN_POSITIONS
LOTS = ReasonCode.LOTS_PER_SYMBOL
TRADES = ReasonCode.TRADES_PER_DAY
#: Tuesday 2026-03-03 00:00 Europe/Prague (the shipped daily reset) in UTC
TUESDAY_RESET = utc_ms(2026, 3, 2, 23)


def _desk(clock: ManualClock) -> Desk:
    desk = Desk(only(shipped(), "exposure"), clock, specs=ALL_SPECS)
    desk.account(account(CAPITAL))
    return desk


@pytest.mark.parametrize(
    ("count", "expected"),
    [(7, Level.OK), (8, Level.WARNING), (9, Level.WARNING), (10, Level.BREACH), (11, Level.BREACH)],
    ids=["below-warning", "at-warning", "below-limit", "at-limit", "above-limit"],
)
def test_account_when_positions_open_then_open_positions_boundary(
    clock: ManualClock, count: int, expected: Level
) -> None:
    """Ten open positions (any symbol, any side) breach with REDUCE."""
    desk = _desk(clock)
    symbols = ("EURUSD", "GBPUSD")
    positions = [position(t, "0.10", symbol=symbols[t % 2]) for t in range(count)]

    desk.account(account(CAPITAL), positions)

    assert desk.ev.levels[OPEN] is expected
    if expected is Level.BREACH:
        assert desk.changes[-1].action is Action.REDUCE


@pytest.mark.parametrize(
    ("long_lots", "short_lots", "expected"),
    [
        ("7.99", "0", Level.OK),
        ("8.00", "0", Level.WARNING),
        ("9.99", "0", Level.WARNING),
        ("10.00", "0", Level.BREACH),
        ("10.01", "0", Level.BREACH),
        ("6.00", "4.00", Level.BREACH),
        ("5.00", "4.99", Level.WARNING),
    ],
    ids=[
        "below-warning",
        "at-warning",
        "below-limit",
        "at-limit",
        "above-limit",
        "long-plus-short-at-limit",
        "long-plus-short-below-limit",
    ],
)
def test_account_when_lots_on_one_symbol_then_lots_boundary(
    clock: ManualClock, long_lots: str, short_lots: str, expected: Level
) -> None:
    """Lots per symbol are gross (longs + shorts); 10.00 lots exactly breach."""
    desk = _desk(clock)
    positions = [position(1, long_lots)]
    if Decimal(short_lots):
        positions.append(position(2, short_lots, side=PositionType.SELL))

    desk.account(account(CAPITAL), positions)

    assert desk.ev.levels[LOTS] is expected


def test_account_when_lots_spread_over_symbols_then_largest_symbol_counts(
    clock: ManualClock,
) -> None:
    """6 lots EURUSD + 6 lots GBPUSD is 6 per symbol: OK, although 12 in total."""
    desk = _desk(clock)

    desk.account(account(CAPITAL), [position(1, "6"), position(2, "6", symbol="GBPUSD")])

    assert desk.ev.levels[LOTS] is Level.OK
    assert desk.ev.reading(LOTS).value == 6


def _open_trades(desk: Desk, first: int, count: int, at_ms: int) -> None:
    for ticket in range(first, first + count):
        desk.changes.extend(desk.ev.on_deal(opening(ticket), at_ms))


@pytest.mark.parametrize(
    ("trades", "expected"),
    [
        (79, Level.OK),
        (80, Level.WARNING),
        (99, Level.WARNING),
        (100, Level.BREACH),
        (101, Level.BREACH),
    ],
    ids=["below-warning", "at-warning", "below-limit", "at-limit", "above-limit"],
)
def test_deal_when_trades_opened_today_then_trades_per_day_boundary(
    clock: ManualClock, trades: int, expected: Level
) -> None:
    """The hundredth opening deal of the trading day breaches."""
    desk = _desk(clock)

    _open_trades(desk, 1, trades, MONDAY_10)

    assert desk.ev.trades_today == trades
    assert desk.ev.levels[TRADES] is expected


def test_deal_when_trades_repolled_or_closing_then_not_counted(clock: ManualClock) -> None:
    """Only new opening trade deals count: re-polled tickets and closes do not."""
    desk = _desk(clock)
    _open_trades(desk, 1, 5, MONDAY_10)

    _open_trades(desk, 1, 5, MONDAY_10)
    desk.ev.on_deal(deal(6, "10.00"), MONDAY_10)

    assert desk.ev.trades_today == 5


@pytest.mark.parametrize(
    ("roll_at", "expected_count"),
    [(TUESDAY_RESET - 1, 100), (TUESDAY_RESET, 0)],
    ids=["just-before-reset", "at-reset"],
)
def test_timer_when_trading_day_rolls_then_trade_count_restarts(
    clock: ManualClock, roll_at: int, expected_count: int
) -> None:
    """The count restarts at the daily reset (00:00 Prague) and the level follows it."""
    desk = _desk(clock)
    _open_trades(desk, 1, 100, MONDAY_10)

    desk.ev.on_timer(roll_at, clock.monotonic_ns())

    assert desk.ev.trades_today == expected_count
    assert desk.ev.reading(TRADES).value == expected_count
    assert desk.ev.levels[TRADES] is (Level.BREACH if expected_count else Level.OK)


def test_deal_when_new_day_then_limit_applies_afresh(clock: ManualClock) -> None:
    """After the reset a fresh 100 trades are allowed: the 100th of the new day breaches."""
    desk = _desk(clock)
    _open_trades(desk, 1, 100, MONDAY_10)

    _open_trades(desk, 101, 99, TUESDAY_RESET + 1)
    before_limit = desk.ev.levels[TRADES]
    _open_trades(desk, 200, 1, TUESDAY_RESET + 2)

    assert before_limit is Level.WARNING
    assert desk.ev.levels[TRADES] is Level.BREACH
