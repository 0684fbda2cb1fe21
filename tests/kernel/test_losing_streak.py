"""Losing streak: consecutive losing closed deals (net = profit + swap + commission + fee < 0);
warning 7, limit 10. A win resets, break-even keeps, non-results are ignored, tickets count once."""

from __future__ import annotations

import pytest

from risk.breaker_state import Action
from risk.clock import ManualClock
from risk.levels import Level
from risk.models import Deal, DealEntry, DealType
from risk.reason_codes import ReasonCode
from tests.kernel.helpers import CAPITAL, Desk, account, deal, only, opening, shipped

LS = ReasonCode.LOSING_STREAK


def _desk(clock: ManualClock) -> Desk:
    desk = Desk(only(shipped(), "losing_streak"), clock)
    desk.account(account(CAPITAL))
    return desk


def _feed(desk: Desk, deals: list[Deal]) -> None:
    for d in deals:
        desk.changes.extend(desk.ev.on_deal(d, desk.now_ms))


def _losses(first: int, count: int) -> list[Deal]:
    return [deal(t, "-100.00") for t in range(first, first + count)]


@pytest.mark.parametrize(
    ("losses", "expected"),
    [(6, Level.OK), (7, Level.WARNING), (9, Level.WARNING), (10, Level.BREACH), (11, Level.BREACH)],
    ids=["below-warning", "at-warning", "below-limit", "at-limit", "above-limit"],
)
def test_deal_when_consecutive_losses_then_streak_boundary(
    clock: ManualClock, losses: int, expected: Level
) -> None:
    """The tenth consecutive losing close breaches."""
    desk = _desk(clock)

    _feed(desk, _losses(1, losses))

    assert desk.ev.streak == losses
    assert desk.ev.levels[LS] is expected


def test_deal_when_tenth_loss_then_one_breach_with_halt(clock: ManualClock) -> None:
    """One warning at 7, one breach (HALT) at 10: no event per deal in between."""
    desk = _desk(clock)

    _feed(desk, _losses(1, 10))

    assert [(c.reading.level, c.action) for c in desk.changes] == [
        (Level.WARNING, None),
        (Level.BREACH, Action.HALT),
    ]


@pytest.mark.parametrize(
    ("interruption", "streak_after"),
    [
        (deal(100, "0.01"), 0),
        (deal(100, "1.50", commission="-1.50"), 9),
        (deal(100, "0.00"), 9),
        (deal(100, "5.00", swap="-2.00", commission="-2.00", fee="-1.01"), 10),
        (deal(100, "-500.00", entry=DealEntry.IN, type=DealType.BUY), 9),
        (deal(100, "-5000.00", entry=DealEntry.IN, type=DealType.BALANCE), 9),
        (deal(100, "-25.00", entry=DealEntry.IN, type=DealType.CHARGE), 9),
        (deal(100, "-3.00", entry=DealEntry.IN, type=DealType.COMMISSION), 9),
        (deal(100, "-1.00", entry=DealEntry.OUT_BY), 10),
    ],
    ids=[
        "win-resets",
        "break-even-after-costs-keeps",
        "zero-keeps",
        "costs-turn-win-into-loss",
        "opening-ignored",
        "balance-ignored",
        "charge-ignored",
        "commission-deal-ignored",
        "close-by-counts",
    ],
)
def test_deal_when_nine_losses_then_next_deal_updates_streak_by_its_net_result(
    clock: ManualClock, interruption: Deal, streak_after: int
) -> None:
    """Only closing trade deals are results; the net includes swap, commission and fee."""
    desk = _desk(clock)
    _feed(desk, _losses(1, 9))

    _feed(desk, [interruption])

    assert desk.ev.streak == streak_after


def test_deal_when_win_after_warning_then_level_clears(clock: ManualClock) -> None:
    """A winning close resets the streak to 0 and clears the warning."""
    desk = _desk(clock)
    _feed(desk, _losses(1, 9))

    _feed(desk, [deal(50, "10.00")])

    assert desk.ev.levels[LS] is Level.OK


def test_deal_when_break_even_then_next_loss_still_trips(clock: ManualClock) -> None:
    """Break-even neither resets nor extends: 9 losses, a flat close, a loss → breach."""
    desk = _desk(clock)
    _feed(desk, [*_losses(1, 9), deal(50, "0.00"), deal(51, "-1.00")])

    assert desk.ev.levels[LS] is Level.BREACH


def test_deal_when_balance_operation_between_losses_then_streak_continues(
    clock: ManualClock,
) -> None:
    """A withdrawal between losses is not a result: the streak runs through it."""
    desk = _desk(clock)
    withdrawal = deal(50, "-5000.00", entry=DealEntry.IN, type=DealType.BALANCE)

    _feed(desk, [*_losses(1, 5), withdrawal, opening(51), *_losses(6, 5)])

    assert desk.ev.streak == 10
    assert desk.ev.levels[LS] is Level.BREACH


def test_deal_when_same_ticket_polled_again_then_counted_once(clock: ManualClock) -> None:
    """Re-polled history: ten copies of one losing ticket are one loss."""
    desk = _desk(clock)

    _feed(desk, [deal(7, "-100.00")] * 10)

    assert desk.ev.streak == 1
    assert desk.ev.levels[LS] is Level.OK


def test_deal_when_win_repolled_then_it_does_not_reset_again(clock: ManualClock) -> None:
    """A win seen again after later losses does not reset the streak a second time."""
    desk = _desk(clock)
    win = deal(1, "50.00")
    _feed(desk, [win, *_losses(2, 3)])

    _feed(desk, [win])

    assert desk.ev.streak == 3
