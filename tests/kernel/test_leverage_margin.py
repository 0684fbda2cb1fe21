"""Leverage (gross notional / equity: warning 3×, limit 5×, REDUCING) and margin level
(equity / margin × 100: warn at margin call + 20, trip at stop-out + 30; broker levels first)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from risk.breaker_state import Action
from risk.clock import ManualClock
from risk.config import RiskConfig
from risk.levels import Level
from risk.models import PositionType
from risk.reason_codes import ReasonCode
from tests.kernel.helpers import CAPITAL, Desk, account, only, position, shipped, yaml_config

LEV = ReasonCode.LEVERAGE
ML = ReasonCode.MARGIN_LEVEL


def _leverage_desk(clock: ManualClock, volume: str, price_pts: int, side: PositionType) -> Desk:
    """100,000.00 equity; the position's open price equals its current price (no P/L)."""
    desk = Desk(only(shipped(), "leverage"), clock)
    desk.account(account(CAPITAL), [position(1, volume, side=side, open_pts=price_pts)])
    return desk


@pytest.mark.parametrize("side", [PositionType.BUY, PositionType.SELL], ids=["long", "short"])
@pytest.mark.parametrize(
    ("volume", "price_pts", "expected"),
    [
        ("2.39", 125_000, Level.OK),
        ("2.40", 125_000, Level.WARNING),
        ("4.00", 124_999, Level.WARNING),
        ("4.00", 125_000, Level.BREACH),
        ("4.00", 125_001, Level.BREACH),
    ],
    ids=["below-warning", "at-warning", "below-limit", "at-limit", "above-limit"],
)
def test_evaluate_when_notional_near_multiple_of_equity_then_leverage_boundary(
    clock: ManualClock, side: PositionType, volume: str, price_pts: int, expected: Level
) -> None:
    """4 lots at 1.25000 is 500,000.00 notional on 100,000.00: exactly 5× breaches."""
    desk = _leverage_desk(clock, volume, price_pts, side)

    assert desk.ev.levels[LEV] is expected


def test_evaluate_when_leverage_breaches_then_action_is_reduce(clock: ManualClock) -> None:
    """The shipped leverage action is REDUCING, and the reading is exactly 5×."""
    desk = Desk(only(shipped(), "leverage"), clock)

    (change,) = desk.account(account(CAPITAL), [position(1, "4", open_pts=125_000)])

    assert change.action is Action.REDUCE
    assert change.reading.value == Decimal(5)


def _margin_desk(
    clock: ManualClock, config: RiskConfig, equity: str, margin: str, so: tuple[str, str]
) -> Desk:
    desk = Desk(only(config, "margin"), clock)
    # margin in use without positions in the snapshot: the rule reads only equity and margin
    desk.account(account(equity, margin=margin, so_call=so[0], so_so=so[1]))
    return desk


NO_BROKER_LEVELS = ("0", "0")


@pytest.mark.parametrize(
    ("equity", "margin", "expected"),
    [
        ("120000.00", "99999.99", Level.OK),
        ("120000.00", "100000.00", Level.WARNING),
        ("100000.00", "124999.99", Level.WARNING),
        ("100000.00", "125000.00", Level.BREACH),
        ("100000.00", "125000.01", Level.BREACH),
    ],
    ids=["above-warning", "at-warning", "above-limit", "at-limit", "below-limit"],
)
def test_evaluate_when_margin_level_near_configured_levels_then_boundary(
    clock: ManualClock, equity: str, margin: str, expected: Level
) -> None:
    """Configured 100/50 with buffers 20/30: warn at 120 %, trip at exactly 80 %."""
    desk = _margin_desk(clock, shipped(), equity, margin, NO_BROKER_LEVELS)

    assert desk.ev.levels[ML] is expected


@pytest.mark.parametrize(
    ("so", "use_broker", "margin", "expected", "limit"),
    [
        (("70", "30"), "true", "166666.66", Level.WARNING, "60"),
        (("70", "30"), "true", "166666.67", Level.BREACH, "60"),
        (("70", "30"), "true", "142857.14", Level.WARNING, "60"),
        (("70", "30"), "false", "142857.14", Level.BREACH, "80"),
        (("0", "0"), "true", "142857.14", Level.BREACH, "80"),
        (("70", "0"), "true", "142857.14", Level.BREACH, "80"),
        (("45", "40"), "true", "142857.14", Level.BREACH, "80"),
    ],
    ids=[
        "broker-just-above-trip",
        "broker-just-below-trip",
        "broker-70pct-warns",
        "broker-ignored-by-config",
        "broker-not-reported",
        "broker-stop-out-missing",
        "broker-inconsistent",
    ],
)
def test_evaluate_when_broker_reports_levels_then_adopted_only_if_usable(
    clock: ManualClock,
    so: tuple[str, str],
    use_broker: str,
    margin: str,
    expected: Level,
    limit: str,
) -> None:
    """margin_so_call/margin_so_so (70/30 → trip at 60 %) replace 100/50 when reported,
    enabled and consistent; otherwise the configured trip at 80 % holds."""
    config = yaml_config(("use_broker_levels: true", f"use_broker_levels: {use_broker}"))

    desk = _margin_desk(clock, config, "100000.00", margin, so)

    reading = desk.ev.reading(ML)
    assert reading.level is expected
    assert reading.limit == Decimal(limit)


def test_evaluate_when_flat_with_zero_margin_then_margin_level_never_trips(
    clock: ManualClock,
) -> None:
    """Margin level 0 with no positions means flat, not a stop-out: the rule stays OK."""
    desk = Desk(only(shipped(), "margin"), clock)

    for balance in (CAPITAL, Decimal("1.00"), Decimal("0.00")):
        snapshot = account(balance)
        assert snapshot.margin_level == 0
        desk.account(snapshot)

    assert desk.changes == []
    assert desk.ev.levels[ML] is Level.OK
    assert desk.ev.reading(ML).value == 0


def test_evaluate_when_margin_released_then_level_clears(clock: ManualClock) -> None:
    """Closing everything (margin back to 0) clears a margin-level breach."""
    desk = _margin_desk(clock, shipped(), "100000.00", "125000.00", NO_BROKER_LEVELS)

    desk.account(account("100000.00"))

    assert desk.ev.levels[ML] is Level.OK
