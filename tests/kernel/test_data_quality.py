"""Data quality: NaN / inf / non-positive / crossed / out-of-order / duplicate ticks are rejected
before any arithmetic and counted; too many in the last ``window_ticks`` trips BAD_FEED."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from risk.breaker_state import Action
from risk.clock import ManualClock
from risk.levels import Level
from risk.models import Tick
from risk.reason_codes import ReasonCode
from tests.kernel.helpers import (
    START_PTS,
    Desk,
    one_lot_desk,
    only,
    price,
    raw_tick,
    shipped,
    tick,
    yaml_config,
)

BAD = ReasonCode.BAD_FEED
BID, ASK = price(START_PTS - 500), price(START_PTS - 498)


def _desk(clock: ManualClock, *, small_window: bool = False) -> Desk:
    config = shipped()
    if small_window:  # 20-tick window, warn at 3, trip at 5
        config = yaml_config(
            ("window_ticks: 1000", "window_ticks: 20"),
            ("bad_ticks_warning: 10 ", "bad_ticks_warning: 3 "),
            ("bad_ticks_limit: 50", "bad_ticks_limit: 5"),
        )
    desk = one_lot_desk(only(config, "data_quality"), clock)
    desk.tick(START_PTS)
    return desk


def _send(desk: Desk, t: Tick) -> None:
    desk.changes.extend(desk.ev.on_tick(t, desk.now_ms, desk.clock.monotonic_ns()))


@pytest.mark.parametrize(
    ("make", "defect"),
    [
        (lambda last: raw_tick(math.nan, ASK, last.time_msc + 1), "non_finite"),
        (lambda last: raw_tick(BID, math.nan, last.time_msc + 1), "non_finite"),
        (lambda last: raw_tick(math.inf, math.inf, last.time_msc + 1), "non_finite"),
        (lambda last: raw_tick(BID, -math.inf, last.time_msc + 1), "non_finite"),
        (lambda last: raw_tick(0.0, ASK, last.time_msc + 1), "non_positive"),
        (lambda last: raw_tick(-BID, ASK, last.time_msc + 1), "non_positive"),
        (lambda last: raw_tick(BID, 0.0, last.time_msc + 1), "non_positive"),
        (lambda last: raw_tick(BID, BID - 0.00001, last.time_msc + 1), "crossed"),
        (lambda last: raw_tick(BID, ASK, last.time_msc - 1), "out_of_order"),
        (lambda last: last, "duplicate"),
    ],
    ids=[
        "nan-bid",
        "nan-ask",
        "inf",
        "minus-inf-ask",
        "zero-bid",
        "negative-bid",
        "zero-ask",
        "crossed",
        "out-of-order",
        "duplicate",
    ],
)
def test_tick_when_defective_then_rejected_counted_and_equity_unchanged(
    clock: ManualClock, make: Callable[[Tick], Tick], defect: str
) -> None:
    """A bad tick is counted under its defect and never moves equity or the last price."""
    desk = _desk(clock)
    last = desk.ev._last_tick["EURUSD"]  # private: the last accepted tick of the symbol
    equity, points = desk.ev.book.equity, desk.ev.book.last_points("EURUSD")

    _send(desk, make(last))

    assert desk.ev.bad_ticks == {defect: 1}
    assert desk.ev.book.equity == equity
    assert desk.ev.book.last_points("EURUSD") == points
    assert desk.ev._last_tick["EURUSD"] is last


@pytest.mark.parametrize(
    "make",
    [
        lambda last: raw_tick(BID, BID, last.time_msc + 1),
        lambda last: raw_tick(BID, ASK, last.time_msc),
        lambda last: last._replace(flags=last.flags + 2),
    ],
    ids=["locked-book", "same-millisecond", "same-time-other-flags"],
)
def test_tick_when_unusual_but_valid_then_accepted(
    clock: ManualClock, make: Callable[[Tick], Tick]
) -> None:
    """bid == ask, a second tick in the same millisecond and a re-flagged tick are good."""
    desk = _desk(clock)
    last = desk.ev._last_tick["EURUSD"]

    _send(desk, make(last))

    assert desk.ev.bad_ticks == {}


@pytest.mark.parametrize(
    ("bad_count", "expected"),
    [
        (9, Level.OK),
        (10, Level.WARNING),
        (49, Level.WARNING),
        (50, Level.BREACH),
        (51, Level.BREACH),
    ],
    ids=["below-warning", "at-warning", "below-limit", "at-limit", "above-limit"],
)
def test_tick_when_bad_ticks_in_window_then_bad_feed_boundary(
    clock: ManualClock, bad_count: int, expected: Level
) -> None:
    """Shipped: 50 bad ticks within the last 1,000 trip BAD_FEED (HALT)."""
    desk = _desk(clock)

    for i in range(bad_count):
        _send(desk, raw_tick(math.nan, ASK, desk.now_ms + i))

    assert desk.ev.levels[BAD] is expected
    assert sum(desk.ev.bad_ticks.values()) == bad_count
    if expected is Level.BREACH:
        assert [c.action for c in desk.changes if c.reading.level is Level.BREACH] == [Action.HALT]


def _bad(desk: Desk) -> None:
    _send(desk, raw_tick(BID, BID - 0.001, desk.now_ms))


def _good(desk: Desk, n: int) -> None:
    for _ in range(n):
        desk.tick(START_PTS)


@pytest.mark.parametrize(
    ("good_between", "expected"),
    [(14, Level.BREACH), (15, Level.BREACH), (16, Level.WARNING)],
    ids=["fifth-inside-window", "fifth-at-window-edge", "first-slid-out"],
)
def test_tick_when_window_slides_then_old_bad_ticks_stop_counting(
    clock: ManualClock, good_between: int, expected: Level
) -> None:
    """Window 20, limit 5: 4 bad, n good, 1 bad trips only while all five lie in 20 ticks."""
    desk = _desk(clock, small_window=True)
    _good(desk, 19)  # the window is full of good ticks

    for _ in range(4):
        _bad(desk)
    _good(desk, good_between)
    _bad(desk)

    assert desk.ev.levels[BAD] is expected


def test_tick_when_bad_ticks_slide_out_then_bad_feed_clears(clock: ManualClock) -> None:
    """Once the bad ticks have left the window the level returns to OK (one event each way)."""
    desk = _desk(clock, small_window=True)
    for _ in range(5):
        _bad(desk)

    _good(desk, 20)

    assert desk.ev.levels[BAD] is Level.OK
    assert [c.reading.level for c in desk.changes] == [
        Level.WARNING,
        Level.BREACH,
        Level.WARNING,
        Level.OK,
    ]


def test_tick_when_good_tick_follows_rejects_then_equity_from_good_prices_only(
    clock: ManualClock,
) -> None:
    """Equity after a mix is marked from the last good bid only (1 lot: 1.00 per point)."""
    desk = _desk(clock)

    _send(desk, raw_tick(0.6, 0.5, desk.now_ms + 1))
    desk.tick(START_PTS - 300)
    _send(desk, raw_tick(math.inf, math.inf, desk.now_ms + 1))
    _send(desk, tick(START_PTS + 900, at_ms=desk.now_ms - 50))

    assert desk.ev.book.equity_money() == 100_000 - 300
