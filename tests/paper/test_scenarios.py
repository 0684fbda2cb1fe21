"""Scenarios are deterministic for a seed and do what their names say, in simulated time."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from execution.mt5.constants import COPY_TICKS_ALL, DealEntry, PositionType
from execution.paper import (
    SCENARIOS,
    OpenDirect,
    PaperTerminal,
    ScenarioError,
    TickEvent,
    apply_event,
    build_scenario,
)
from execution.paper.events import Event
from risk.clock import ManualClock
from risk.models import Tick
from risk.rules.data_quality import tick_defect
from tests.paper.conftest import Player, play, take


def eurusd(events: list[Event]) -> list[TickEvent]:
    return [e for e in events if isinstance(e, TickEvent) and e.symbol == "EURUSD"]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_events_when_same_seed_then_identical_and_other_seed_differs(name: str) -> None:
    """Same seed, same stream (ticks and actions); another seed, another stream."""
    first = take(build_scenario(name, seed=11).events(), 90.0)
    again = take(build_scenario(name, seed=11).events(), 90.0)
    other = take(build_scenario(name, seed=12).events(), 90.0)

    assert [repr(e) for e in first] == [repr(e) for e in again]
    assert [repr(e) for e in first] != [repr(e) for e in other]
    times = [e.at for e in first]
    assert times == sorted(times) and len(first) > 300


def test_build_when_name_unknown_then_scenario_error_lists_choices() -> None:
    """An unknown scenario fails at build time, naming the valid ones."""
    with pytest.raises(ScenarioError, match=r"flash_crash.*replay:FILE"):
        build_scenario("flash-crash")


def test_normal_when_run_an_hour_then_one_lot_never_near_a_two_percent_loss() -> None:
    """A 1-lot EURUSD position on 100 000 USD never loses 1 % (half the 2 % limits) in an hour."""
    ticks = eurusd(take(build_scenario("normal", seed=3).events(), 3600.0))
    start = ticks[0]

    worst_long = (start.ask - min(t.bid for t in ticks)) * 100_000
    worst_short = (max(t.ask for t in ticks) - start.bid) * 100_000

    assert len(ticks) > 10_000
    assert max(worst_long, worst_short) < 1_000


def test_flash_crash_when_run_then_eurusd_drops_two_and_a_half_percent_and_half_rebounds(
    clock: ManualClock,
) -> None:
    """EURUSD falls >= 2.5 % within seconds, then recovers part of it; a 1-lot long loses > 2 %."""
    events = take(build_scenario("flash_crash", seed=5).events(), 60.0)
    calm = [e for e in eurusd(events) if e.at < 30.0]
    pre = calm[-1].bid
    crash = [e for e in eurusd(events) if 30.0 <= e.at <= 36.0]
    later = [e for e in eurusd(events) if 50.0 <= e.at <= 60.0]
    trough = min(e.bid for e in crash)

    assert min(e.bid for e in calm) > pre * 0.995
    assert trough <= pre * 0.975
    assert crash[-1].at - crash[0].at < 7.0
    assert min(e.bid for e in later) > trough + 0.3 * (pre - trough)

    terminal = PaperTerminal(clock=clock)
    play(terminal, clock, [e for e in events if e.at < 30.0], 30.0)
    terminal.order_send({"action": 1, "symbol": "EURUSD", "volume": 1.0, "type": 0})
    lowest = Decimal(100_000)
    for event in (e for e in events if 30.0 <= e.at <= 36.0):
        apply_event(terminal, event, {})
        info = terminal.account_info()
        assert info is not None
        lowest = min(lowest, Decimal(repr(info.equity)))
    assert lowest < Decimal("98000")


def test_fat_finger_when_run_then_a_100_lot_position_appears_behind_the_engine(
    clock: ManualClock,
) -> None:
    """After the calm spell the terminal holds a 100-lot EURUSD buy with magic 0."""
    player = Player(
        PaperTerminal(clock=clock), clock, build_scenario("fat_finger", seed=2).events()
    )
    terminal = player.terminal

    player.until(19.0)
    before = terminal.positions_get()
    player.until(24.0)

    assert before == ()
    (pos,) = terminal.positions_get() or ()
    assert (pos.symbol, pos.type, pos.volume, pos.magic) == ("EURUSD", 0, 100.0, 0)


def test_volatility_when_run_then_eurusd_swings_one_to_two_and_a_half_percent() -> None:
    """After 10 s EURUSD swings both ways by at least 1 % and never beyond 2.5 %."""
    events = take(build_scenario("volatility", seed=4).events(), 130.0)
    ticks = eurusd(events)
    base = next(e for e in reversed(ticks) if e.at <= 10.0)
    mids = np.array([(e.bid + e.ask) / 2 for e in ticks if e.at > 10.0])
    dev = mids / ((base.bid + base.ask) / 2) - 1

    assert dev.min() <= -0.01 and dev.max() >= 0.01
    assert np.abs(dev).max() <= 0.0255


def test_losing_streak_when_run_then_twelve_losing_closes_in_a_row(clock: ManualClock) -> None:
    """Twelve positions opened by hand are each closed at a loss, one after another."""
    terminal = PaperTerminal(clock=clock)
    events = play(terminal, clock, build_scenario("losing_streak", seed=6).events(), 80.0)

    deals = terminal.history_deals_get(0, 2**31) or ()
    closes = [d for d in deals if d.entry == DealEntry.OUT]
    opens = [e for e in events if isinstance(e, OpenDirect)]

    assert len(opens) == len(closes) == 12
    assert all(d.profit + d.swap + d.commission + d.fee < 0 for d in closes)
    assert all(o.type is PositionType.BUY and o.volume == 0.1 for o in opens)
    assert terminal.positions_get() == ()


def test_stale_feed_when_run_then_no_tick_for_more_than_ten_seconds_then_resumes() -> None:
    """Ticks stop for > 10 s (all symbols) after a while and then come back."""
    times = [e.at for e in take(build_scenario("stale_feed", seed=7).events(), 60.0)]
    gaps = np.diff(times)
    longest = int(np.argmax(gaps))

    assert gaps[longest] > 10.0
    assert 19.0 <= times[longest] <= 20.0
    assert times[-1] > times[longest + 1] + 10.0


def test_latency_spike_when_run_then_ticks_arrive_over_five_seconds_late_in_order(
    clock: ManualClock,
) -> None:
    """Delivered ticks lag the terminal clock by > 5 s, yet their times never go back."""
    terminal = PaperTerminal(clock=clock)
    lags: list[int] = []
    last_seen: dict[str, int] = {}
    events = take(build_scenario("latency_spike", seed=8).events(), 60.0)
    elapsed = 0.0
    for event in events:
        clock.advance(event.at - elapsed)
        elapsed = event.at
        apply_event(terminal, event, {})
        assert isinstance(event, TickEvent)
        tick = terminal.symbol_info_tick(event.symbol)
        assert tick is not None
        assert tick.time_msc > last_seen.get(event.symbol, 0)
        last_seen[event.symbol] = tick.time_msc
        lags.append(terminal.server_time_msc() - tick.time_msc)

    assert max(lags) >= 7_900
    assert max(e.age_ms for e in events if isinstance(e, TickEvent)) == 8_000
    assert max(np.diff([e.at for e in events])) < 3.0


def test_bad_ticks_when_run_then_more_than_50_per_1000_are_rejected_by_data_quality(
    clock: ManualClock,
) -> None:
    """Read back through copy_ticks_from, every 1000 EURUSD ticks after 10 s hold > 50 bad ones."""
    terminal = PaperTerminal(clock=clock)
    start = terminal.server_time_msc()
    play(terminal, clock, build_scenario("bad_ticks", seed=9).events(), 300.0)
    rows = terminal.copy_ticks_from("EURUSD", start + 10_000, 10_000, COPY_TICKS_ALL)
    assert rows is not None and len(rows) > 1000

    last: Tick | None = None
    flags = []
    kinds = set()
    for r in rows:
        tick = Tick("EURUSD", float(r["bid"]), float(r["ask"]), 0.0, 0, int(r["time_msc"]), 6)
        defect = tick_defect(tick, last)
        flags.append(defect is not None)
        kinds.add(defect)
        last = last if defect else tick
    per_window = np.convolve(np.array(flags, dtype=int), np.ones(1000, dtype=int), "valid")

    assert per_window.min() > 50
    assert kinds >= {None, "non_finite", "non_positive", "crossed", "out_of_order"}
