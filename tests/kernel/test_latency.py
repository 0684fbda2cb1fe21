"""Latency: tick processing time (warn 50 ms, limit 100 ms), a stale feed inside trading hours
(limit 10 s, warn at half) and tick age against the broker clock (limit 5 s, warn at half)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from risk.clock import ManualClock
from risk.evaluator import Evaluator
from risk.levels import Level
from risk.reason_codes import ReasonCode
from tests.kernel.helpers import (
    CAPITAL,
    MONDAY_10,
    SPECS,
    START_PTS,
    Desk,
    TickingClock,
    account,
    only,
    raw_tick,
    shipped,
    tick,
    utc_ms,
    yaml_config,
)

LAT = ReasonCode.TICK_LATENCY
STALE = ReasonCode.FEED_STALE
AGE = ReasonCode.TICK_AGE
MS = 1_000_000
SEC = 1_000_000_000


def _desk(clock: ManualClock) -> Desk:
    desk = Desk(only(shipped(), "latency"), clock)
    desk.account(account(CAPITAL))
    return desk


@pytest.mark.parametrize(
    ("elapsed_ns", "expected"),
    [
        (50 * MS - 1, Level.OK),
        (50 * MS, Level.WARNING),
        (100 * MS - 1, Level.WARNING),
        (100 * MS, Level.BREACH),
        (100 * MS + 1, Level.BREACH),
    ],
    ids=["below-warning", "at-warning", "below-limit", "at-limit", "above-limit"],
)
def test_tick_when_processing_time_near_timeout_then_latency_boundary(
    clock: ManualClock, elapsed_ns: int, expected: Level
) -> None:
    """Processing time is receipt → end of evaluation on the monotonic clock; 100 ms trips."""
    desk = _desk(clock)
    received_ns = clock.monotonic_ns()
    clock.advance(ns=elapsed_ns)

    desk.ev.on_tick(tick(START_PTS, at_ms=MONDAY_10), MONDAY_10, received_ns)

    assert desk.ev.levels[LAT] is expected


@pytest.mark.parametrize(
    ("cost_ns", "expected"),
    [(100 * MS - 1, Level.WARNING), (100 * MS, Level.BREACH)],
    ids=["below-limit", "at-limit"],
)
def test_tick_when_evaluation_itself_is_slow_then_measured_inside(
    cost_ns: int, expected: Level
) -> None:
    """A clock that advances when read: the evaluator's own reading measures the cost."""
    clock = TickingClock(datetime(2026, 3, 2, 10, tzinfo=UTC), cost_ns)
    ev = Evaluator(only(shipped(), "latency"), SPECS, clock=clock)
    ev.on_account(account(CAPITAL), [], MONDAY_10)

    ev.on_tick(tick(START_PTS, at_ms=MONDAY_10), MONDAY_10, clock.monotonic_ns())

    assert ev.levels[LAT] is expected
    assert ev.reading(LAT).value == Decimal(cost_ns) / MS


@pytest.mark.parametrize(
    ("silent_ns", "expected"),
    [
        (5 * SEC - 1, Level.OK),
        (5 * SEC, Level.WARNING),
        (10 * SEC - 1, Level.WARNING),
        (10 * SEC, Level.BREACH),
        (10 * SEC + 1, Level.BREACH),
    ],
    ids=["below-warning", "at-warning", "below-limit", "at-limit", "above-limit"],
)
def test_timer_when_feed_silent_inside_hours_then_stale_boundary(
    clock: ManualClock, silent_ns: int, expected: Level
) -> None:
    """No good tick for exactly stale_feed_seconds (10 s) inside trading hours trips."""
    desk = _desk(clock)
    desk.tick(START_PTS)

    desk.ev.on_timer(MONDAY_10 + 10_000, clock.monotonic_ns() + silent_ns)

    assert desk.ev.levels[STALE] is expected


def test_timer_when_feed_silent_on_weekend_then_not_stale(clock: ManualClock) -> None:
    """Saturday is outside the shipped trading hours: an hour of silence is not a stale feed."""
    desk = _desk(clock)
    desk.tick(START_PTS)

    changes = desk.ev.on_timer(utc_ms(2026, 3, 7, 12), clock.monotonic_ns() + 3600 * SEC)

    assert changes == ()
    assert desk.ev.levels[STALE] is Level.OK


def test_timer_when_only_bad_ticks_arrive_then_feed_still_stale(clock: ManualClock) -> None:
    """Rejected ticks are not a live feed: silence is measured from the last good tick."""
    desk = _desk(clock)
    desk.tick(START_PTS)
    clock.advance(10)
    desk.ev.on_tick(
        raw_tick(1.1, 1.0, MONDAY_10 + 10_000), MONDAY_10 + 10_000, clock.monotonic_ns()
    )

    desk.ev.on_timer(MONDAY_10 + 10_000, clock.monotonic_ns())

    assert desk.ev.levels[STALE] is Level.BREACH


def test_tick_when_feed_resumes_then_stale_clears(clock: ManualClock) -> None:
    """The next good tick clears a stale-feed breach at once."""
    desk = _desk(clock)
    desk.ev.on_timer(MONDAY_10, clock.monotonic_ns() + 10 * SEC)
    clock.advance(10)

    changes = desk.tick(START_PTS, at_ms=MONDAY_10 + 10_000)

    assert [(c.code, c.reading.level) for c in changes] == [(STALE, Level.OK)]


@pytest.mark.parametrize(
    ("age_ms", "expected"),
    [
        (2499, Level.OK),
        (2500, Level.WARNING),
        (4999, Level.WARNING),
        (5000, Level.BREACH),
        (5001, Level.BREACH),
    ],
    ids=["below-warning", "at-warning", "below-limit", "at-limit", "above-limit"],
)
def test_tick_when_tick_old_then_age_boundary(
    clock: ManualClock, age_ms: int, expected: Level
) -> None:
    """Tick age = wall time − tick time (UTC); 5,000 ms exactly trips."""
    desk = _desk(clock)

    desk.ev.on_tick(tick(START_PTS, at_ms=MONDAY_10 - age_ms), MONDAY_10, clock.monotonic_ns())

    assert desk.ev.levels[AGE] is expected


@pytest.mark.parametrize(
    ("age_ms", "expected"),
    [(0, Level.OK), (4999, Level.WARNING), (5000, Level.BREACH)],
    ids=["fresh", "below-limit", "at-limit"],
)
def test_tick_when_broker_clock_offset_then_age_measured_after_offset(
    clock: ManualClock, age_ms: int, expected: Level
) -> None:
    """An EET broker (server time = UTC + 2 h): the offset is removed before measuring age."""
    config = only(
        yaml_config(("server_utc_offset_seconds: 0 ", "server_utc_offset_seconds: 7200 ")),
        "latency",
    )
    desk = Desk(config, clock)
    desk.account(account(CAPITAL))
    server_ms = MONDAY_10 + 7_200_000 - age_ms

    desk.ev.on_tick(tick(START_PTS, at_ms=server_ms), MONDAY_10, clock.monotonic_ns())

    assert desk.ev.levels[AGE] is expected
