"""The replay keeps the live semantics: Guard's trip choice, the breaker's transition table, the
replay clock, stale feeds on tick time, bad ticks, the engine's gates."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from execution.replay import ReplayClock, pick_trip
from execution.replay.broker import ReplayBroker
from execution.replay.series import Series
from risk.breaker_state import Action, BreakerState
from risk.clock import ManualClock
from risk.config import RiskConfig
from risk.evaluator import Evaluator
from risk.events import NullSink
from risk.guard import Guard
from risk.levels import Level, LevelChange, Reading
from risk.models import Tick
from risk.reason_codes import ReasonCode
from tests.replay.conftest import Replay
from tests.replay.ticks import T0, Row, crash_rows, write_plain

C = ReasonCode


class _FakeBreaker:
    def __init__(self) -> None:
        self.calls: list[tuple[ReasonCode, Action, list[str]]] = []

    def trip(self, trigger: ReasonCode, reason: str, *, evidence: Any, action: Action) -> None:
        self.calls.append((trigger, action, list(evidence["also"])))


def _change(code: ReasonCode, level: Level, action: Action | None) -> LevelChange:
    reading = Reading(code, level, Decimal(1), Decimal(1), Decimal(2), "%")
    return LevelChange(reading, Level.OK, action)


HALT, REDUCE = Action.HALT, Action.REDUCE
CASES = {
    "warnings only": [_change(C.DRAWDOWN, Level.WARNING, None)],
    "one halt": [_change(C.DAILY_LOSS, Level.BREACH, HALT)],
    "reduce then halt": [
        _change(C.LEVERAGE, Level.BREACH, REDUCE),
        _change(C.DRAWDOWN, Level.WARNING, None),
        _change(C.MARGIN_LEVEL, Level.BREACH, HALT),
    ],
    "two halts keep rule order": [
        _change(C.DRAWDOWN, Level.BREACH, HALT),
        _change(C.DAILY_LOSS, Level.BREACH, HALT),
    ],
    "reduce only": [
        _change(C.OPEN_POSITIONS, Level.BREACH, REDUCE),
        _change(C.LOTS_PER_SYMBOL, Level.BREACH, REDUCE),
    ],
}


@pytest.mark.parametrize("automatic", [True, False], ids=["automatic", "alert_only"])
@pytest.mark.parametrize("changes", list(CASES.values()), ids=list(CASES))
def test_pick_trip_when_changes_given_then_same_choice_as_guard(
    tmp_path: Path, shipped_config: RiskConfig, changes: list[LevelChange], automatic: bool
) -> None:
    """The replay's trip choice is Guard.handle's: same trigger, action and ``also``."""
    mode = "automatic" if automatic else "alert_only"
    config = shipped_config.model_copy(
        update={"kill_switch": shipped_config.kill_switch.model_copy(update={"mode": mode})}
    )
    clock = ManualClock(datetime(2024, 3, 4, tzinfo=UTC))
    breaker = _FakeBreaker()
    guard = Guard(
        Evaluator(config, {}, clock=clock),
        breaker,  # type: ignore[arg-type]
        NullSink(),
        state_dir=tmp_path,
        account="1",
    )

    guard.handle(changes)
    picked = pick_trip(changes, automatic=automatic)

    replayed = (
        []
        if picked is None
        else [(picked[0].code, picked[0].action, [c.code.value for c in picked[1]])]
    )
    assert replayed == breaker.calls


def test_replay_when_second_rule_breaches_later_then_first_trigger_stays(
    crash_file: Path, replay: Replay
) -> None:
    """HALTED then another breach: recorded as history (changed false), trigger unchanged."""
    run = replay(crash_file)

    first, second = run.recorder.trips[:2]
    assert (first["trigger"], first["changed"]) == ("DAILY_LOSS", True)
    assert (second["trigger"], second["changed"]) == ("DRAWDOWN", False)
    assert (second["from_state"], second["to_state"]) == ("HALTED", "HALTED")
    assert run.breaker.trigger is C.DAILY_LOSS
    assert second["tick_index"] > first["tick_index"]


def test_replay_when_reduce_then_halt_then_state_moves_twice(
    crash_file: Path, replay: Replay
) -> None:
    """Leverage over 5x trips REDUCING at the start; the crash then moves it to HALTED."""
    run = replay(crash_file, ["EURUSD:buy:4.6"])

    moves = [
        (t["trigger"], t["from_state"], t["to_state"]) for t in run.recorder.trips if t["changed"]
    ]
    assert moves[0] == ("LEVERAGE", "ACTIVE", "REDUCING")
    assert moves[1][1:] == ("REDUCING", "HALTED")
    assert run.recorder.trips[0]["source"] == "account"
    assert run.breaker.state is BreakerState.HALTED


def test_replay_when_alert_only_then_breaches_counted_but_nothing_trips(
    crash_file: Path, replay: Replay, shipped_config: RiskConfig
) -> None:
    """``kill_switch.mode: alert_only``: no trip, the breaches still show in the headroom."""
    config = shipped_config.model_copy(
        update={"kill_switch": replace_mode(shipped_config, "alert_only")}
    )

    run = replay(crash_file, config=config)

    assert run.recorder.trips == []
    assert run.breaker.state is BreakerState.ACTIVE
    assert run.recorder.headroom()["DAILY_LOSS"]["breaches"] == 1


def replace_mode(config: RiskConfig, mode: str) -> Any:
    return config.kill_switch.model_copy(update={"mode": mode})


def _gap_rows(before: int, gap_ms: int, after: int, t0: int = T0) -> list[Row]:
    rows = crash_rows(lead=before + after, decline=0, tail=0, t0=t0)
    return [
        replace(r, time_msc=r.time_msc + (gap_ms if i >= before else 0)) for i, r in enumerate(rows)
    ]


def test_replay_when_feed_silent_in_trading_hours_then_stale_trips_at_limit_on_tick_time(
    tmp_path: Path, replay: Replay
) -> None:
    """A 25 s hole: warning at +5 s, trip at +10 s of tick time; tick index = the tick after."""
    rows = _gap_rows(50, 25_000, 20)
    path = write_plain(tmp_path / "EURUSD_gap.csv", rows)
    last_before = rows[49].time_msc

    run = replay(path)

    trip = run.recorder.trips[0]
    assert (trip["trigger"], trip["source"], trip["tick_index"]) == ("FEED_STALE", "timer", 50)
    assert trip["time_msc"] == last_before + 10_000
    warning = run.recorder.warnings[0]
    assert (warning["trigger"], warning["time_msc"]) == ("FEED_STALE", last_before + 5_000)
    gap = run.recorder.longest_gaps()[0]
    assert gap["seconds"] == 25.1
    assert gap["in_trading_hours"] is True


def test_replay_when_weekend_gap_then_stale_trips_only_after_the_monday_open(
    tmp_path: Path, replay: Replay
) -> None:
    """Trading hours are Mon–Fri (UTC): silence on Saturday/Sunday counts from Monday 00:00."""
    friday = int(datetime(2024, 3, 8, 23, 59, 50, tzinfo=UTC).timestamp() * 1000)
    monday = int(datetime(2024, 3, 11, tzinfo=UTC).timestamp() * 1000)
    rows = _gap_rows(50, monday + 60_000 - (friday + 50 * 100), 20, t0=friday)
    path = write_plain(tmp_path / "EURUSD_weekend.csv", rows)

    run = replay(path)

    stale = [t for t in run.recorder.trips if t["trigger"] == "FEED_STALE"]
    assert len(stale) == 1
    assert monday <= stale[0]["time_msc"] <= monday + 10_000


def test_replay_when_bad_ticks_then_counted_by_kind_and_burst_trips_bad_feed(
    tmp_path: Path, replay: Replay
) -> None:
    """NaN, crossed and out-of-order rows are rejected and counted; 50 in the window trip."""
    rows = crash_rows(lead=200, decline=0, tail=0)
    lines = ["time_msc,bid,ask"] + [f"{r.time_msc},{r.bid},{r.ask}" for r in rows[:100]]
    t = rows[99].time_msc
    for i in range(60):
        t += 10
        kind = i % 3
        if kind == 0:
            lines.append(f"{t},nan,1.1")
        elif kind == 1:
            lines.append(f"{t},1.2,1.1")
        else:
            lines.append(f"{t - 5000},1.1,1.10002")
    lines += [f"{t + 10 + r.time_msc - rows[100].time_msc},{r.bid},{r.ask}" for r in rows[100:]]
    path = tmp_path / "EURUSD_bad.csv"
    path.write_text("\n".join(lines) + "\n")

    run = replay(path, [])

    assert run.recorder.bad_kinds == {"non_finite": 20, "crossed": 20, "out_of_order": 20}
    assert run.evaluator.bad_ticks == run.recorder.bad_kinds
    trip = run.recorder.trips[0]
    assert (trip["trigger"], trip["tick_index"]) == ("BAD_FEED", 100 + 49)


def test_replay_when_strategy_is_slow_then_tick_latency_never_trips(
    crash_file: Path, replay: Replay
) -> None:
    """Processing time is measured on the replay clock: a 2 ms-per-tick strategy is 0 ms."""
    path = write_plain(crash_file.with_name("EURUSD_short.csv"), crash_rows(lead=150, decline=0))

    run = replay(path, [], strategy="slow:2")

    assert run.recorder.trips == []
    assert run.recorder.tally[C.TICK_LATENCY].warnings == 0


def _trend_rows() -> list[Row]:
    """Up 400 ticks, a crash, then up again (where the strategy would buy if it could)."""
    up = [Decimal("1.10000") + i * Decimal("0.00002") for i in range(400)]
    rows = [Row(T0 + i * 100, bid, bid + Decimal("0.00002")) for i, bid in enumerate(up)]
    rows += crash_rows(
        lead=0, decline=300, tail=0, step_points=40, start=str(up[-1]), t0=T0 + 40_000
    )
    bottom = rows[-1]
    rows += [
        Row(bottom.time_msc + (i + 1) * 100, bid, bid + Decimal("0.00002"))
        for i, bid in enumerate(bottom.bid + (i + 1) * Decimal("0.00002") for i in range(300))
    ]
    return rows


@pytest.mark.parametrize("mode", ["automatic", "alert_only"])
def test_replay_when_strategy_trades_then_no_new_trade_after_the_halt(
    tmp_path: Path, replay: Replay, shipped_config: RiskConfig, mode: str
) -> None:
    """The sample strategy trades the rise; once HALTED the engine's gate stops it (with
    ``alert_only`` nothing trips, so it trades the second rise too: the check can fail)."""
    path = write_plain(tmp_path / "EURUSD_trend.csv", _trend_rows())
    config = shipped_config.model_copy(update={"kill_switch": replace_mode(shipped_config, mode)})

    run = replay(path, ["EURUSD:buy:1"], config=config, strategy="sample_momentum")

    stats = run.engine_stats
    assert stats is not None and stats.filled >= 4 and stats.rejected == 0
    breach = run.recorder.headroom()["DAILY_LOSS"]["first_breach"]
    assert breach is not None
    last_trade = run.recorder.headroom()["TRADES_PER_DAY"]["worst_tick_index"]
    if mode == "automatic":
        assert last_trade < breach["tick_index"]
    else:
        assert last_trade > breach["tick_index"]


def test_broker_when_engine_orders_then_fills_at_ask_and_closes_at_bid(
    shipped_config: RiskConfig,
) -> None:
    """A buy opens at the ask; closing it sells at the bid; the deals say so."""
    tick = Tick("EURUSD", 1.1, 1.10007, 0.0, 0, T0, 0)
    broker = ReplayBroker(
        shipped_config, ReplayClock(T0), balance=Decimal(100_000), quotes={"EURUSD": tick}
    )
    try:
        request = {"action": 1, "symbol": "EURUSD", "volume": 0.5, "type": 0, "magic": 9}
        assert broker.send(request) == 10009
        (pos,) = broker.positions()
        assert pos.price_open == Decimal("1.10007")
        broker.quote(Tick("EURUSD", 1.1002, 1.1003, 0.0, 0, T0 + 100, 0))
        assert broker.send(broker.close_request(pos, magic=9, deviation=10)) == 10009
        deals = broker.new_deals()
        assert [(d.entry.name, d.price) for d in deals if d.symbol] == [
            ("IN", Decimal("1.10007")),
            ("OUT", Decimal("1.10020")),
        ]
        assert broker.positions() == []
    finally:
        broker.close()


def test_series_when_many_points_then_memory_bounded_and_extremes_kept() -> None:
    """100k points into 64 buckets: at most 64 kept, the global low and high survive."""
    series = Series(capacity=64)
    for i in range(100_000):
        equity = 100_000.0 + (i % 1000) - (5000.0 if i == 77_777 else 0.0)
        series.add(i, equity, 101_000.0, 0.1, 0.2, 1.5, 900.0)
    series.close_bucket()

    assert len(series) <= 64
    assert min(series.columns["equity_min"]) == 100_000.0 + 777 - 5000.0
    assert max(series.columns["equity_max"]) == 100_999.0
    assert series.columns["time_ms"][0] == 0
