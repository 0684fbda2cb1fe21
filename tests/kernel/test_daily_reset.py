"""The daily reset across DST: the trading day starts at the local reset time (Europe/Prague,
America/New_York), exactly once per day, at the right UTC instant, and never goes back."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from risk.breaker_state import BreakerState
from risk.circuit_breaker import CircuitBreaker
from risk.clock import ManualClock
from risk.config import RiskConfig
from risk.evaluator import Evaluator
from risk.levels import Level
from risk.reason_codes import ReasonCode
from risk.rules.daily_loss import DailyCalendar
from risk.units import to_units
from tests.conftest import RecordingSink
from tests.kernel.helpers import (
    CAPITAL,
    SPECS,
    account,
    clock_ms,
    guard_for,
    only,
    shipped,
    utc_ms,
    yaml_config,
)

DL = ReasonCode.DAILY_LOSS
HOUR = 3_600_000
MINUTE = 60_000


def _config(zone: str, reset: str, *, rolling: bool = False) -> RiskConfig:
    return only(
        yaml_config(
            ("timezone: Europe/Prague", f"timezone: {zone}"),
            ('reset_time: "00:00"', f'reset_time: "{reset}"'),
            ("rolling_24h: false", f"rolling_24h: {str(rolling).lower()}"),
        ),
        "daily_loss",
    )


PRG, NY = "Europe/Prague", "America/New_York"
# (zone, reset time, trading day, its first UTC instant, the next day's first UTC instant), all
# 2026, worked out by hand from the transitions: Europe 29 Mar / 25 Oct 01:00 UTC, New York
# 8 Mar 07:00 UTC / 1 Nov 06:00 UTC.
DAYS = [
    pytest.param(PRG, "00:00", "03-29", "03-28T23:00", "03-29T22:00", id="prague-spring-23h"),
    pytest.param(PRG, "00:00", "10-25", "10-24T22:00", "10-25T23:00", id="prague-autumn-25h"),
    pytest.param(NY, "17:00", "03-07", "03-07T22:00", "03-08T21:00", id="new-york-17-spring"),
    pytest.param(NY, "17:00", "10-31", "10-31T21:00", "11-01T22:00", id="new-york-17-autumn"),
    pytest.param(NY, "00:00", "03-08", "03-08T05:00", "03-09T04:00", id="new-york-0-spring"),
    pytest.param(NY, "00:00", "11-01", "11-01T04:00", "11-02T05:00", id="new-york-0-autumn"),
    # reset time inside the spring gap: the day starts when the gap ends (wall clock 03:00)
    pytest.param(PRG, "02:30", "03-29", "03-29T01:00", "03-30T00:30", id="prague-in-gap"),
    pytest.param(NY, "02:30", "03-08", "03-08T07:00", "03-09T06:30", id="new-york-in-gap"),
    # reset time inside the repeated autumn hour: its first occurrence, once
    pytest.param(PRG, "02:30", "10-25", "10-25T00:30", "10-26T01:30", id="prague-repeated"),
    pytest.param(NY, "01:30", "11-01", "11-01T05:30", "11-02T06:30", id="new-york-repeated"),
]


def _utc(text: str) -> int:
    return int(datetime.fromisoformat(f"2026-{text}+00:00").timestamp() * 1000)


@pytest.mark.parametrize(("zone", "reset", "local_day", "first", "following"), DAYS)
def test_roll_when_clock_passes_local_reset_on_dst_day_then_rolls_once_at_utc_instant(
    clock: ManualClock, zone: str, reset: str, local_day: str, first: str, following: str
) -> None:
    """Probes at start−1 ms, start, start+1 h (the repeated hour), next−1 ms and next: the day
    and the baseline (the balance at the roll) change exactly at start and at next."""
    day, start, next_start = date.fromisoformat(f"2026-{local_day}"), _utc(first), _utc(following)
    ev = Evaluator(_config(zone, reset), SPECS, clock=clock)
    ev.on_account(account(CAPITAL), [], start - 6 * HOUR)
    probes = [start - 1, start, start + HOUR, next_start - 1, next_start]
    seen = []

    for i, at in enumerate(probes):
        ev.on_account(account(CAPITAL + 10 * i), [], at)
        seen.append((ev.trading_day, ev.baseline))

    before = date.fromordinal(day.toordinal() - 1)
    after = date.fromordinal(day.toordinal() + 1)
    rolled_at_start, rolled_at_next = to_units(CAPITAL + 10), to_units(CAPITAL + 40)
    assert seen == [
        (before, to_units(CAPITAL)),
        (day, rolled_at_start),
        (day, rolled_at_start),
        (day, rolled_at_start),
        (after, rolled_at_next),
    ]


def _wall(clock: ManualClock, at_ms: int) -> None:
    clock.set_wall(datetime.fromtimestamp(at_ms / 1000, tz=UTC))


PRAGUE_AUTUMN_START = utc_ms(2026, 10, 24, 22)


@pytest.mark.parametrize(
    "steps",
    [
        [-MINUTE, MINUTE, -30 * MINUTE, 2 * MINUTE, 3 * HOUR],
        [-2 * HOUR, 5 * MINUTE, -2 * HOUR + 1000, 1000, 4 * HOUR],
        [-HOUR, HOUR, -HOUR, HOUR, -HOUR, HOUR],
    ],
    ids=["stepped-back-across-reset", "stepped-forward-then-back", "flapping-wall-clock"],
)
def test_roll_when_wall_clock_steps_back_and_forth_then_exactly_one_roll(
    clock: ManualClock, steps: list[int]
) -> None:
    """NTP steps around the reset (Prague, the 25 h autumn day) roll the day exactly once; the
    baseline is the one taken at that single roll."""
    ev = Evaluator(_config("Europe/Prague", "00:00"), SPECS, clock=clock)
    _wall(clock, PRAGUE_AUTUMN_START - 3 * HOUR)
    ev.on_account(account(CAPITAL), [], clock_ms(clock))
    days = []

    for i, offset in enumerate(steps, start=1):
        _wall(clock, PRAGUE_AUTUMN_START + offset)
        ev.on_account(account(CAPITAL + i), [], clock_ms(clock))
        days.append(ev.trading_day)

    first_roll = next(i for i, offset in enumerate(steps, start=1) if offset >= 0)
    assert len(set(days)) == 2
    assert days[first_roll - 1 :] == [date(2026, 10, 25)] * (len(steps) - first_roll + 1)
    assert ev.baseline == to_units(CAPITAL + first_roll)


@pytest.mark.parametrize(
    ("rolling", "level_after_roll"),
    [(True, Level.BREACH), (False, Level.OK)],
    ids=["rolling-24h-keeps-breach", "fixed-day-clears-level"],
)
def test_roll_when_loss_just_before_reset_then_breaker_stays_halted(
    clock: ManualClock,
    breaker: CircuitBreaker,
    sink: RecordingSink,
    state_dir: Path,
    rolling: bool,
    level_after_roll: Level,
) -> None:
    """A 2.5 % realised loss a minute before midnight Prague trips; after the roll the breaker
    is still HALTED. Rolling 24 h keeps DAILY_LOSS in breach; a fixed day clears the level."""
    ev = Evaluator(_config("Europe/Prague", "00:00", rolling=rolling), SPECS, clock=clock)
    guard = guard_for(ev, breaker, sink, state_dir)
    guard.handle(ev.on_account(account(CAPITAL), [], PRAGUE_AUTUMN_START - 3 * HOUR))
    tripped = guard.handle(ev.on_account(account("97500.00"), [], PRAGUE_AUTUMN_START - MINUTE))
    events_before_roll = len(sink.events)

    guard.handle(ev.on_account(account("97500.00"), [], PRAGUE_AUTUMN_START + MINUTE))

    assert tripped is not None and tripped.trigger is DL
    assert ev.trading_day == date(2026, 10, 25)
    assert ev.baseline == to_units(Decimal("97500.00"))
    assert ev.levels[DL] is level_after_roll
    assert breaker.read().state is BreakerState.HALTED
    new_events = sink.names()[events_before_roll:]
    assert new_events == ([] if rolling else ["risk.cleared"])


def test_roll_when_timer_crosses_reset_without_ticks_then_next_evaluation_uses_new_day(
    clock: ManualClock,
) -> None:
    """A timer beat rolls the day in a quiet market; the following evaluation uses the new
    baseline and does not roll again."""
    ev = Evaluator(_config("America/New_York", "17:00"), SPECS, clock=clock)
    start = utc_ms(2026, 3, 8, 21)
    ev.on_account(account(CAPITAL), [], start - HOUR)
    ev.on_account(account("98500.00"), [], start - MINUTE)

    ev.on_timer(start, clock.monotonic_ns())
    ev.on_account(account("99000.00"), [], start + MINUTE)

    assert ev.trading_day == date(2026, 3, 8)
    assert ev.baseline == to_units(Decimal("98500.00"))


ZONES = [
    "Europe/Prague",
    "America/New_York",
    "America/Santiago",  # midnight falls in the spring gap
    "Australia/Lord_Howe",  # 30-minute DST shift
    "Asia/Kolkata",
    "UTC",
]


def _transition_days(zone: str, year: int) -> list[date]:
    """The local days (and their neighbours) on which the zone's UTC offset changes."""
    tz = ZoneInfo(zone)
    days = []
    for n in range(366):
        day = date.fromordinal(date(year, 1, 1).toordinal() + n)
        at_start = datetime.combine(day, time(0), tzinfo=tz).utcoffset()
        at_end = datetime.combine(day, time(23, 59), tzinfo=tz).utcoffset()
        if at_start != at_end:
            days += [date.fromordinal(day.toordinal() + k) for k in (-1, 0, 1)]
    return days


ZONE_DAYS = [(z, d) for z in ZONES for year in (2026, 2027) for d in _transition_days(z, year)]


@settings(max_examples=400, deadline=None, database=None)
@given(
    zone_day=st.sampled_from(ZONE_DAYS),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 1, 15, 30, 59]),
)
@example(zone_day=("Europe/Prague", date(2026, 3, 29)), hour=2, minute=30)
@example(zone_day=("America/New_York", date(2026, 3, 8)), hour=2, minute=0)
@example(zone_day=("America/Santiago", date(2026, 9, 6)), hour=0, minute=0)
@example(zone_day=("Australia/Lord_Howe", date(2026, 10, 4)), hour=2, minute=15)
@example(zone_day=("America/New_York", date(2026, 11, 1)), hour=1, minute=30)
def test_day_start_when_dst_day_and_any_reset_time_then_first_instant_of_that_trading_day(
    zone_day: tuple[str, date], hour: int, minute: int
) -> None:
    """The roll instant and the calendar agree around every DST change: the day starts exactly
    where ``trading_day`` first returns it (gaps and repeated hours included)."""
    zone, day = zone_day
    section = shipped().daily_loss.model_copy(
        update={"timezone": zone, "reset_time": time(hour, minute)}
    )
    calendar = DailyCalendar(section)

    start = calendar.day_start_ms(day)

    assert calendar.trading_day(start) == day
    assert calendar.trading_day(start - 1) < day
    assert calendar.next_reset_ms(day) > start
