"""Trading hours: ``start``–``end`` local time on listed days (end exclusive); an end before the
start runs overnight and belongs to the day it starts on; weekends are simply unlisted days."""

from __future__ import annotations

import pytest

from risk.clock import ManualClock
from risk.config import RiskConfig
from risk.levels import Level
from risk.reason_codes import ReasonCode
from risk.rules.trading_hours import TradingHours
from tests.kernel.helpers import CAPITAL, Desk, account, only, utc_ms, with_section, yaml_config

SEC_NS = 1_000_000_000


def _config(
    zone: str = "UTC",
    days: str = "mon, tue, wed, thu, fri",
    start: str = "00:00",
    end: str = "00:00",
) -> RiskConfig:
    return yaml_config(
        ("  timezone: UTC\n", f"  timezone: {zone}\n"),
        ("days: [mon, tue, wed, thu, fri]", f"days: [{days}]"),
        ('start: "00:00"', f'start: "{start}"'),
        ('end: "00:00"', f'end: "{end}"'),
    )


SHIPPED = TradingHours(_config().trading_hours)
OVERNIGHT = TradingHours(_config(start="22:00", end="06:00").trading_hours)
FX_WEEK = TradingHours(
    _config("America/New_York", "sun, mon, tue, wed, thu", "17:00", "16:59").trading_hours
)


@pytest.mark.parametrize(
    ("hours", "at", "expected"),
    [
        (SHIPPED, utc_ms(2026, 3, 2), True),
        (SHIPPED, utc_ms(2026, 3, 6, 23, 59), True),
        (SHIPPED, utc_ms(2026, 3, 7) - 1, True),
        (SHIPPED, utc_ms(2026, 3, 7), False),
        (SHIPPED, utc_ms(2026, 3, 7, 12), False),
        (SHIPPED, utc_ms(2026, 3, 9) - 1, False),
        (SHIPPED, utc_ms(2026, 3, 9), True),
        (OVERNIGHT, utc_ms(2026, 3, 2, 22) - 1, False),
        (OVERNIGHT, utc_ms(2026, 3, 2, 22), True),
        (OVERNIGHT, utc_ms(2026, 3, 3, 6) - 1, True),
        (OVERNIGHT, utc_ms(2026, 3, 3, 6), False),
        (OVERNIGHT, utc_ms(2026, 3, 7, 5, 59), True),
        (OVERNIGHT, utc_ms(2026, 3, 7, 6), False),
        (OVERNIGHT, utc_ms(2026, 3, 7, 22), False),
        (OVERNIGHT, utc_ms(2026, 3, 8, 22), False),
        (OVERNIGHT, utc_ms(2026, 3, 2, 5, 59), False),
        (FX_WEEK, utc_ms(2026, 3, 6, 21, 58), True),
        (FX_WEEK, utc_ms(2026, 3, 6, 21, 59), False),
        (FX_WEEK, utc_ms(2026, 3, 7, 15), False),
        (FX_WEEK, utc_ms(2026, 3, 8, 21) - 1, False),
        (FX_WEEK, utc_ms(2026, 3, 8, 21), True),
        (FX_WEEK, utc_ms(2026, 11, 1, 22) - 1, False),
        (FX_WEEK, utc_ms(2026, 11, 1, 22), True),
    ],
    ids=[
        "shipped-monday-open",
        "shipped-friday-last-minute",
        "shipped-friday-last-ms",
        "shipped-saturday-midnight",
        "shipped-saturday",
        "shipped-sunday-last-ms",
        "shipped-monday-again",
        "overnight-before-start",
        "overnight-at-start",
        "overnight-next-morning-last-ms",
        "overnight-at-end",
        "overnight-friday-session-on-saturday",
        "overnight-saturday-end",
        "overnight-saturday-start-unlisted",
        "overnight-sunday-start-unlisted",
        "overnight-monday-morning-belongs-to-sunday",
        "fx-friday-before-close",
        "fx-friday-close",
        "fx-saturday",
        "fx-sunday-before-open-edt",
        "fx-sunday-open-edt",
        "fx-sunday-before-open-est",
        "fx-sunday-open-est",
    ],
)
def test_is_open_when_instant_near_session_edges_then_open_or_closed(
    hours: TradingHours, at: int, expected: bool
) -> None:
    """Session edges: start inclusive, end exclusive, overnight sessions, weekends, DST."""
    assert hours.is_open(at) is expected


def test_is_open_when_disabled_then_always_open() -> None:
    """Disabled trading hours impose nothing, weekends included."""
    hours = TradingHours(with_section(_config(), "trading_hours", enabled=False).trading_hours)

    assert hours.is_open(utc_ms(2026, 3, 7, 12))


@pytest.mark.parametrize(
    ("at", "expected"),
    [(utc_ms(2026, 3, 7, 3), Level.BREACH), (utc_ms(2026, 3, 7, 7), Level.OK)],
    ids=["inside-friday-overnight-session", "after-session-on-saturday"],
)
def test_timer_when_silent_feed_then_stale_only_inside_overnight_session(
    clock: ManualClock, at: int, expected: Level
) -> None:
    """The stale-feed rule follows the (overnight) session, not the calendar day."""
    desk = Desk(only(_config(start="22:00", end="06:00"), "latency"), clock)
    desk.account(account(CAPITAL), at_ms=at - 20_000)

    desk.ev.on_timer(at, clock.monotonic_ns() + 20 * SEC_NS)

    assert desk.ev.levels[ReasonCode.FEED_STALE] is expected
