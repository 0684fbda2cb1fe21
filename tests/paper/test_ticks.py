"""Tick history: copy_ticks_from/_range by seconds, datetime and (our extension) milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from execution.mt5.constants import COPY_TICKS_ALL, COPY_TICKS_INFO, COPY_TICKS_TRADE, TickFlag
from execution.paper import PaperTerminal
from risk.clock import ManualClock

T0 = 1_772_443_800_000  # 2026-03-02 09:30:00 UTC in ms, the shared clock fixture's start


def fresh(clock: ManualClock, history: int = 100_000) -> PaperTerminal:
    return PaperTerminal(clock=clock, tick_history=history)


def push_series(t: PaperTerminal, times: list[int]) -> None:
    for n, ms in enumerate(times):
        t.push_tick("EURUSD", 1.08 + n * 1e-5, 1.0801 + n * 1e-5, time_msc=ms)


def test_copy_ticks_from_when_since_a_millisecond_then_exactly_the_ticks_from_it_in_order(
    clock: ManualClock,
) -> None:
    """An int above 10**11 is epoch ms: the ticks at or after it, oldest first, nothing else."""
    t = fresh(clock)
    times = [T0 + 10, T0 + 250, T0 + 251, T0 + 999, T0 + 1_000, T0 + 4_321]
    push_series(t, times)

    after = t.copy_ticks_from("EURUSD", T0 + 251, 100, COPY_TICKS_ALL)
    strictly_after = t.copy_ticks_from("EURUSD", T0 + 252, 100, COPY_TICKS_ALL)
    none = t.copy_ticks_from("EURUSD", T0 + 4_322, 100, COPY_TICKS_ALL)

    assert after is not None and strictly_after is not None and none is not None
    assert after["time_msc"].tolist() == times[2:]
    assert strictly_after["time_msc"].tolist() == times[3:]
    assert len(none) == 0 and none.dtype == after.dtype
    assert t.last_error() == (1, "Success")


def test_copy_ticks_from_when_seconds_or_datetime_then_whole_second_from(
    clock: ManualClock,
) -> None:
    """MT5's own forms: epoch seconds and tz-aware datetimes, the same instant."""
    t = fresh(clock)
    push_series(t, [T0 - 1, T0, T0 + 1_500])

    by_seconds = t.copy_ticks_from("EURUSD", T0 // 1000, 10, COPY_TICKS_ALL)
    by_datetime = t.copy_ticks_from("EURUSD", datetime(2026, 3, 2, 9, 30, tzinfo=UTC), 10, -1)

    assert by_seconds is not None and by_datetime is not None
    assert by_seconds["time_msc"].tolist() == by_datetime["time_msc"].tolist() == [T0, T0 + 1500]
    assert by_seconds["time"].tolist() == [T0 // 1000, T0 // 1000 + 1]


def test_copy_ticks_from_when_count_smaller_then_first_count_ticks(clock: ManualClock) -> None:
    """``count`` caps the answer from the start, keeping the oldest."""
    t = fresh(clock)
    push_series(t, [T0 + i for i in range(10)])

    got = t.copy_ticks_from("EURUSD", T0 + 2, 3, COPY_TICKS_INFO)

    assert got is not None and got["time_msc"].tolist() == [T0 + 2, T0 + 3, T0 + 4]


def test_copy_ticks_range_when_bounded_then_inclusive_both_ends(clock: ManualClock) -> None:
    """copy_ticks_range includes both ends; a whole-second end covers its last millisecond."""
    t = fresh(clock)
    push_series(t, [T0, T0 + 500, T0 + 999, T0 + 1_000, T0 + 2_000])

    in_ms = t.copy_ticks_range("EURUSD", T0 + 500, T0 + 1_000, COPY_TICKS_ALL)
    in_seconds = t.copy_ticks_range("EURUSD", T0 // 1000, T0 // 1000, COPY_TICKS_ALL)

    assert in_ms is not None and in_seconds is not None
    assert in_ms["time_msc"].tolist() == [T0 + 500, T0 + 999, T0 + 1_000]
    assert in_seconds["time_msc"].tolist() == [T0, T0 + 500, T0 + 999]


def test_copy_ticks_when_trade_flag_then_empty_because_fx_ticks_carry_no_last(
    clock: ManualClock,
) -> None:
    """COPY_TICKS_TRADE selects last/volume changes, which bid/ask quotes never are."""
    t = fresh(clock)
    push_series(t, [T0, T0 + 1])
    got = t.copy_ticks_from("EURUSD", 0, 10, COPY_TICKS_TRADE)
    assert got is not None and len(got) == 0


def test_push_tick_when_only_bid_changes_then_flags_say_bid(clock: ManualClock) -> None:
    """Tick flags mark what changed: BID, ASK, or both."""
    t = fresh(clock)
    t.push_tick("EURUSD", 1.08000, 1.08010)
    t.push_tick("EURUSD", 1.08001, 1.08010)
    t.push_tick("EURUSD", 1.08001, 1.08011)

    got = t.copy_ticks_from("EURUSD", 0, 10, COPY_TICKS_ALL)

    assert got is not None
    both, bid, ask = int(TickFlag.BID | TickFlag.ASK), int(TickFlag.BID), int(TickFlag.ASK)
    assert got["flags"].tolist() == [both, bid, ask]


def test_push_tick_when_clock_frozen_then_stamps_stay_strictly_increasing(
    clock: ManualClock,
) -> None:
    """Auto-stamped ticks never share a millisecond, so polling from last+1 loses none."""
    t = fresh(clock)
    stamps = [t.push_tick("EURUSD", 1.08, 1.0801).time_msc for _ in range(5)]
    assert stamps == [T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4]


def test_copy_ticks_from_when_back_dated_tick_arrives_then_delivered_after_the_cursor(
    clock: ManualClock,
) -> None:
    """An out-of-order tick is kept in arrival order, so a poll from the newest time sees it."""
    t = fresh(clock)
    push_series(t, [T0 + 100, T0 + 200])
    t.push_tick("EURUSD", 1.07, 1.0701, time_msc=T0 + 150)
    t.push_tick("EURUSD", 1.07, 1.0702, time_msc=T0 + 300)

    got = t.copy_ticks_from("EURUSD", T0 + 200, 10, COPY_TICKS_ALL)

    assert got is not None and got["time_msc"].tolist() == [T0 + 200, T0 + 150, T0 + 300]


def test_tick_history_when_full_then_keeps_only_the_newest(clock: ManualClock) -> None:
    """The ring is bounded: after 3x capacity ticks only the last ``capacity`` remain."""
    t = fresh(clock, history=5)
    push_series(t, [T0 + i for i in range(15)])

    got = t.copy_ticks_from("EURUSD", 0, 100, COPY_TICKS_ALL)

    assert got is not None and got["time_msc"].tolist() == [T0 + i for i in range(10, 15)]


def test_bad_tick_when_delivered_then_visible_but_fills_use_last_valid_quote(
    terminal: PaperTerminal,
) -> None:
    """NaN/zero/crossed ticks reach symbol_info_tick and history but never price a fill."""
    terminal.push_tick("EURUSD", float("nan"), 1.0801)
    tick = terminal.symbol_info_tick("EURUSD")
    terminal.push_tick("EURUSD", 1.09, 1.08)  # crossed

    sent = terminal.order_send({"action": 1, "symbol": "EURUSD", "volume": 0.1, "type": 0})
    info = terminal.symbol_info("EURUSD")

    assert tick is not None and np.isnan(tick.bid)
    assert sent is not None and sent.price == 1.0801
    assert info is not None and (info.bid, info.ask) == (1.08, 1.0801)


def test_copy_ticks_from_when_numpy_integers_passed_then_accepted(clock: ManualClock) -> None:
    """A feed can pass time_msc and count straight from a previous tick array (numpy ints)."""
    t = fresh(clock)
    push_series(t, [T0, T0 + 1, T0 + 2])
    first = t.copy_ticks_from("EURUSD", T0, 2, COPY_TICKS_ALL)
    assert first is not None

    rest = t.copy_ticks_from("EURUSD", first["time_msc"][-1] + 1, np.int64(10), COPY_TICKS_ALL)

    assert rest is not None and rest["time_msc"].tolist() == [T0 + 2]
