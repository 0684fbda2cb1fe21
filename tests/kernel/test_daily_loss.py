"""Daily loss: baseline at the reset (balance / equity / max), limit in % of the baseline or of
the initial capital, equity tested continuously, optional trailing 24 h peak."""

from __future__ import annotations

from decimal import Decimal

import pytest

from risk.clock import ManualClock
from risk.config import RiskConfig
from risk.levels import Level
from risk.models import Position
from risk.reason_codes import ReasonCode
from risk.units import to_units
from tests.kernel.helpers import (
    CAPITAL,
    MONDAY_10,
    START_PTS,
    Desk,
    account,
    only,
    position,
    utc_ms,
    yaml_config,
)

DL = ReasonCode.DAILY_LOSS
#: Tuesday 2026-03-03 00:00 in Europe/Prague (CET, UTC+1)
TUESDAY_RESET = utc_ms(2026, 3, 2, 23)
HOUR = 3_600_000


def _config(*, baseline: str = "max", basis: str = "baseline", rolling: bool = False) -> RiskConfig:
    return only(
        yaml_config(
            ("limit_basis: baseline", f"limit_basis: {basis}"),
            ("baseline: max ", f"baseline: {baseline} "),
            ("rolling_24h: false", f"rolling_24h: {str(rolling).lower()}"),
        ),
        "daily_loss",
    )


def _rolled_desk(clock: ManualClock, config: RiskConfig, floating_pts: int) -> Desk:
    """Anchored flat on Monday; at Tuesday's reset the balance is 80,000.00 and a 1-lot long
    shows ``floating_pts`` points (1.00 each) of floating P/L."""
    desk = Desk(config, clock)
    desk.account(account(CAPITAL), at_ms=MONDAY_10)
    desk.account(account("80000.00"), _long(floating_pts), at_ms=TUESDAY_RESET)
    return desk


def _long(floating_pts: int) -> list[Position]:
    return [position(1, "1", current_pts=START_PTS + floating_pts)]


@pytest.mark.parametrize(
    ("kind", "floating_pts", "expected"),
    [
        ("balance", 1000, "80000.00"),
        ("balance", -1000, "80000.00"),
        ("equity", 1000, "81000.00"),
        ("equity", -1000, "79000.00"),
        ("max", 1000, "81000.00"),
        ("max", -1000, "80000.00"),
    ],
    ids=[
        "balance-gain",
        "balance-loss",
        "equity-gain",
        "equity-loss",
        "max-gain",
        "max-loss",
    ],
)
def test_roll_when_day_starts_then_baseline_is_the_configured_kind(
    clock: ManualClock, kind: str, floating_pts: int, expected: str
) -> None:
    """At the reset the baseline is the balance, the equity or the larger of the two."""
    config = _config(baseline=kind)

    desk = _rolled_desk(clock, config, floating_pts)

    assert desk.ev.trading_day.isoformat() == "2026-03-03"
    assert desk.ev.baseline == to_units(Decimal(expected))


@pytest.mark.parametrize("kind", ["balance", "equity", "max"])
@pytest.mark.parametrize(
    ("basis", "allowed_loss"),
    [("baseline", None), ("initial_capital", Decimal("2000.00"))],
    ids=["basis-baseline", "basis-initial"],
)
@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (Decimal("0.01"), Level.WARNING),
        (Decimal(0), Level.BREACH),
        (Decimal("-0.01"), Level.BREACH),
    ],
    ids=["below-limit", "at-limit", "above-limit"],
)
def test_evaluate_when_equity_near_daily_limit_then_boundary_per_basis_and_kind(
    clock: ManualClock,
    kind: str,
    basis: str,
    allowed_loss: Decimal | None,
    offset: Decimal,
    expected: Level,
) -> None:
    """The trip line is baseline − 2 % × basis (basis: the baseline or 100,000.00 capital)."""
    desk = _rolled_desk(clock, _config(baseline=kind, basis=basis), 1000)
    baseline = Decimal(desk.ev.baseline).scaleb(-10)
    loss = baseline * Decimal("0.02") if allowed_loss is None else allowed_loss
    trip_equity = baseline - loss + offset

    desk.account(account(trip_equity - 1000), _long(1000), at_ms=TUESDAY_RESET + HOUR)

    assert desk.ev.levels[DL] is expected


def test_evaluate_when_loss_at_limit_then_reading_is_exact_percent_of_basis(
    clock: ManualClock,
) -> None:
    """Basis initial capital: a 2,000.00 loss from an 80,000.00 baseline reads exactly 2 %."""
    desk = _rolled_desk(clock, _config(baseline="balance", basis="initial_capital"), 0)

    desk.account(account("78000.00"), _long(0), at_ms=TUESDAY_RESET + HOUR)

    reading = desk.ev.reading(DL)
    assert reading.level is Level.BREACH
    assert reading.value == Decimal(2)


def test_evaluate_when_rolling_and_peak_within_24h_then_loss_from_peak_counts(
    clock: ManualClock,
) -> None:
    """With rolling_24h the loss from yesterday evening's peak survives the reset."""
    desk = Desk(_config(rolling=True), clock)
    desk.account(account(CAPITAL), at_ms=TUESDAY_RESET - 5 * HOUR)
    desk.account(account("102000.00"), at_ms=TUESDAY_RESET - 2 * HOUR)
    desk.account(account("100500.00"), at_ms=TUESDAY_RESET - HOUR)

    desk.account(account("100500.00"), at_ms=TUESDAY_RESET + HOUR)

    assert desk.ev.baseline == to_units(Decimal("100500.00"))
    assert desk.ev.levels[DL] is Level.WARNING  # 1,500 below the 102,000 peak


def test_evaluate_when_rolling_peak_ages_out_then_it_no_longer_counts(clock: ManualClock) -> None:
    """The rolling reference is the trailing 24 h peak: once older than 24 h it stops counting."""
    desk = Desk(_config(rolling=True), clock)
    peak_at = TUESDAY_RESET - 14 * HOUR
    desk.account(account(CAPITAL), at_ms=peak_at - HOUR)
    desk.account(account("102000.00"), at_ms=peak_at)
    desk.account(account("100500.00"), at_ms=peak_at + HOUR)
    desk.account(account("100500.00"), at_ms=peak_at + 23 * HOUR)  # new day, peak still inside
    inside = desk.ev.levels[DL]

    desk.account(account("100500.00"), at_ms=peak_at + 25 * HOUR)

    assert inside is Level.WARNING
    assert desk.ev.levels[DL] is Level.OK
    assert desk.ev.reading(DL).value == 0


def test_evaluate_when_not_rolling_then_yesterdays_peak_is_forgotten_at_reset(
    clock: ManualClock,
) -> None:
    """Without rolling_24h the new day measures only from its own baseline."""
    desk = Desk(_config(rolling=False), clock)
    desk.account(account("102000.00"), at_ms=TUESDAY_RESET - 2 * HOUR)
    desk.account(account("100500.00"), at_ms=TUESDAY_RESET - HOUR)

    desk.account(account("100500.00"), at_ms=TUESDAY_RESET + HOUR)

    assert desk.ev.levels[DL] is Level.OK
