"""Mark-to-market: longs at the bid, shorts at the ask. A spread widening around a constant mid
moves equity (and so drawdown) by exactly the marked change, and by nothing else."""

from __future__ import annotations

from decimal import Decimal

import pytest

from risk.clock import ManualClock
from risk.levels import Level
from risk.models import PositionType
from risk.reason_codes import ReasonCode
from tests.kernel.helpers import (
    CAPITAL,
    EURUSD,
    START_PTS,
    Desk,
    account,
    only,
    position,
    shipped,
)

DD = ReasonCode.DRAWDOWN
LONG_OPEN, SHORT_OPEN = START_PTS, START_PTS + 10
VALUE_PER_POINT = EURUSD.tick_value * EURUSD.point / EURUSD.tick_size  # 1.00 per lot


def _expected_equity(long_lots: Decimal, short_lots: Decimal, bid: int, ask: int) -> Decimal:
    """Independent valuation: longs at the bid, shorts at the ask, exact decimals."""
    long_pnl = (bid - LONG_OPEN) * VALUE_PER_POINT * long_lots
    short_pnl = (SHORT_OPEN - ask) * VALUE_PER_POINT * short_lots
    return CAPITAL + long_pnl + short_pnl


@pytest.mark.parametrize(
    ("long_lots", "short_lots"),
    [(Decimal(1), Decimal(0)), (Decimal(0), Decimal("0.5")), (Decimal(1), Decimal("0.5"))],
    ids=["long-only", "short-only", "long-and-short"],
)
@pytest.mark.parametrize("widen", [0, 1, 10, 137, 500], ids=lambda w: f"widen-{w}")
def test_tick_when_spread_widens_around_constant_mid_then_drawdown_moves_by_marked_change(
    clock: ManualClock, long_lots: Decimal, short_lots: Decimal, widen: int
) -> None:
    """bid − w, ask + w (mid constant): equity and the drawdown reading are exactly those of the
    independent bid/ask valuation — no more, no less."""
    desk = Desk(only(shipped(), "drawdown"), clock)
    bid0, ask0 = START_PTS, START_PTS + 2
    desk.tick(bid0, ask0)  # priced before the first snapshot: the mark is this tick
    positions = []
    if long_lots:
        positions.append(position(1, long_lots))
    if short_lots:
        positions.append(position(2, short_lots, side=PositionType.SELL, open_pts=SHORT_OPEN))
    desk.account(account(CAPITAL), positions)
    peak = _expected_equity(long_lots, short_lots, bid0, ask0)

    desk.tick(bid0 - widen, ask0 + widen)

    equity = _expected_equity(long_lots, short_lots, bid0 - widen, ask0 + widen)
    assert desk.ev.book.equity_money() == equity
    assert peak - equity == widen * (long_lots + short_lots) * VALUE_PER_POINT
    assert desk.ev.reading(DD).value == (peak - equity) * 100 / peak


@pytest.mark.parametrize(
    ("half_spread", "expected"),
    [(1999, Level.WARNING), (2000, Level.BREACH)],
    ids=["below-limit", "at-limit"],
)
def test_tick_when_spread_alone_costs_two_percent_then_drawdown_trips(
    clock: ManualClock, half_spread: int, expected: Level
) -> None:
    """1 lot long marked at a bid 2,000 points under an unchanged mid is a 2 % drawdown."""
    desk = Desk(only(shipped(), "drawdown"), clock)
    desk.tick(START_PTS, START_PTS)
    desk.account(account(CAPITAL), [position(1, "1")])

    desk.tick(START_PTS - half_spread, START_PTS + half_spread)

    assert desk.ev.levels[DD] is expected


def test_tick_when_spread_narrows_again_then_equity_returns_exactly(clock: ManualClock) -> None:
    """Widening then narrowing back restores equity to the unit; the peak is unchanged."""
    desk = Desk(only(shipped(), "drawdown"), clock)
    desk.tick(START_PTS, START_PTS + 2)
    desk.account(account(CAPITAL), [position(1, "1"), position(2, "0.5", side=PositionType.SELL)])
    equity, peak = desk.ev.book.equity, desk.ev.hwm

    desk.tick(START_PTS - 300, START_PTS + 302)
    desk.tick(START_PTS, START_PTS + 2)

    assert (desk.ev.book.equity, desk.ev.hwm) == (equity, peak)
    assert desk.ev.reading(DD).value == 0
