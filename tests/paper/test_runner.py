"""run_scenario drives a terminal from a background thread on an absolute schedule."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from execution.mt5.constants import COPY_TICKS_ALL, DealEntry, PositionType
from execution.paper import (
    CloseDirect,
    OpenDirect,
    PaperTerminal,
    Scenario,
    ScenarioFailed,
    TickEvent,
    build_scenario,
    run_scenario,
)
from execution.paper.events import Event
from execution.paper.runner import due_ns


def scripted(events: list[Event]) -> Scenario:
    def make(_rng: random.Random) -> Iterator[Event]:
        return iter(events)

    return Scenario("scripted", 0, make)


def test_due_ns_when_computed_then_absolute_from_start_not_from_previous_event() -> None:
    """Event n is due at start + at/speed whatever happened before: delays cannot accumulate."""
    assert due_ns(1_000, 2.5, 2.0) == 1_000 + 1_250_000_000
    assert due_ns(1_000, 2.5, 0.5) == 1_000 + 5_000_000_000
    assert due_ns(1_000, 1e6, float("inf")) == 1_000


def test_run_when_replay_at_high_speed_then_every_tick_lands_in_order() -> None:
    """A finite scenario runs to its end; the terminal holds its ticks in file order."""
    terminal = PaperTerminal()
    run = run_scenario(terminal, build_scenario("replay:EURUSD_sample.csv"), 1e6, threading.Event())

    run.join(timeout=10)

    rows = terminal.copy_ticks_from("EURUSD", 0, 5_000, COPY_TICKS_ALL)
    assert run.done.is_set() and not run.thread.is_alive()
    assert (run.ticks, run.actions, run.error) == (2000, 0, None)
    assert rows is not None and len(rows) == 2000
    assert (rows["time_msc"][1:] > rows["time_msc"][:-1]).all()


def test_run_when_paced_then_ends_on_schedule_without_drift() -> None:
    """200 ticks over 1 simulated second at speed 4 take about 0.25 s of wall time."""
    events: list[Event] = [
        TickEvent(i / 200, "EURUSD", 1.08, 1.0801 + i * 1e-5) for i in range(201)
    ]
    started = time.monotonic()

    run_scenario(PaperTerminal(), scripted(events), 4.0, threading.Event()).join(timeout=10)

    assert 0.2 <= time.monotonic() - started < 1.0


def test_run_when_stop_event_set_then_endless_scenario_stops_promptly() -> None:
    """Setting stop_event ends the thread within its current wait."""
    stop = threading.Event()
    run = run_scenario(PaperTerminal(), build_scenario("normal"), 1.0, stop)

    stop.set()
    run.join(timeout=2)

    assert not run.thread.is_alive() and run.done.is_set() and run.error is None


def test_run_when_actions_scripted_then_direct_positions_open_and_close() -> None:
    """OpenDirect/CloseDirect open and close by ref; closing one already gone is skipped."""
    terminal = PaperTerminal()
    events: list[Event] = [
        TickEvent(0.0, "EURUSD", 1.08, 1.0801),
        OpenDirect(0.1, "a", "EURUSD", PositionType.SELL, 2.0),
        OpenDirect(0.1, "b", "EURUSD", PositionType.BUY, 1.0),
        TickEvent(0.2, "EURUSD", 1.079, 1.0791),
        CloseDirect(0.3, "a"),
        CloseDirect(0.3, "a"),
        CloseDirect(0.3, "unknown"),
    ]

    run = run_scenario(terminal, scripted(events), float("inf"), threading.Event())
    run.join(timeout=5)

    out = [d for d in terminal.history_deals_get(0, 2**31) or () if d.entry == DealEntry.OUT]
    assert (run.ticks, run.actions) == (2, 5)
    assert [(d.volume, d.profit) for d in out] == [
        (2.0, float((Decimal("1.08") - Decimal("1.0791")) * 200_000))
    ]
    assert [p.volume for p in terminal.positions_get() or ()] == [1.0]


def test_run_when_scenario_breaks_then_join_raises_scenario_failed(tmp_path: Path) -> None:
    """A replay for a symbol the terminal lacks dies loudly: join() raises, cause chained."""
    path = tmp_path / "AUDUSD_x.csv"
    path.write_text("time_msc,bid,ask\n1000000000000,0.65,0.6501\n")
    run = run_scenario(PaperTerminal(), build_scenario(f"replay:{path}"), 1e6, threading.Event())

    with pytest.raises(ScenarioFailed) as failed:
        run.join(timeout=5)

    assert isinstance(failed.value.__cause__, KeyError) and run.done.is_set()


@pytest.mark.parametrize("speed", [0.0, -1.0, float("nan")])
def test_run_when_speed_not_positive_then_value_error(speed: float) -> None:
    """speed must be a positive number of simulated seconds per wall second."""
    with pytest.raises(ValueError, match="speed"):
        run_scenario(PaperTerminal(), build_scenario("normal"), speed, threading.Event())


def test_terminal_when_driven_and_polled_concurrently_then_books_stay_consistent() -> None:
    """While a scenario thread pushes ticks, trading and reads see equity = balance + profit."""
    terminal = PaperTerminal()
    terminal.push_tick("EURUSD", 1.08, 1.0801)
    stop = threading.Event()
    run = run_scenario(terminal, build_scenario("volatility", seed=1), 1e5, stop)
    try:
        for n in range(300):
            sent = terminal.order_send(
                {"action": 1, "symbol": "EURUSD", "volume": 0.1, "type": n % 2}
            )
            info = terminal.account_info()
            assert sent is not None and info is not None
            assert Decimal(repr(info.equity)) == Decimal(repr(info.balance)) + Decimal(
                repr(info.profit)
            )
    finally:
        stop.set()
        run.join(timeout=5)
    assert run.ticks > 0 and len(terminal.positions_get() or ()) == 300
