"""A generated crash trips at exactly the tick the rules say, whatever the file's encoding."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from risk.breaker_state import BreakerState
from tests.replay.conftest import Replay
from tests.replay.ticks import Row, crash_rows, expected_trip, write_mt5, write_plain


def test_replay_when_crash_file_then_trip_is_at_the_independently_computed_tick(
    crash_file: Path, rows: list[Row], replay: Replay
) -> None:
    """The first trip's tick index, time, price, trigger and limit match the Decimal model."""
    index, trigger = expected_trip(rows)

    run = replay(crash_file)

    first = run.recorder.trips[0]
    assert (first["tick_index"], first["trigger"]) == (index, trigger)
    assert first["time_msc"] == rows[index].time_msc
    assert Decimal(first["bid"]) == rows[index].bid
    assert first["limit"] == "2.0"
    assert Decimal(first["value"]) >= Decimal(2)
    assert first["changed"] is True
    assert (first["from_state"], first["to_state"]) == ("ACTIVE", "HALTED")
    assert run.breaker.state is BreakerState.HALTED


def test_replay_when_tick_before_the_breach_then_no_trip_yet(
    tmp_path: Path, rows: list[Row], replay: Replay
) -> None:
    """Cut one tick before the computed breach: nothing trips (the boundary is exact)."""
    index, _ = expected_trip(rows)
    path = write_plain(tmp_path / "EURUSD_cut.csv", rows[:index])

    run = replay(path)

    assert run.recorder.trips == []
    assert run.breaker.state is BreakerState.ACTIVE


@pytest.mark.parametrize("step", [7, 13, 20, 33])
def test_replay_when_decline_speed_varies_then_trip_tick_still_matches_the_model(
    tmp_path: Path, replay: Replay, step: int
) -> None:
    """Different slopes move the breach (and which rule breaches first); replay follows."""
    rows = crash_rows(step_points=step, decline=400)
    path = write_plain(tmp_path / f"EURUSD_{step}.csv", rows)

    first = replay(path).recorder.trips[0]

    assert (first["tick_index"], first["trigger"]) == expected_trip(rows)


def test_replay_when_gzip_file_then_same_trip_as_plain(
    tmp_path: Path, rows: list[Row], crash_file: Path, replay: Replay
) -> None:
    """A gzip-compressed copy (detected by its magic bytes) gives the identical trip."""
    gz = write_plain(tmp_path / "EURUSD_crash.csv.gz", rows, gz=True)
    assert gz.read_bytes()[:2] == b"\x1f\x8b"

    assert replay(gz).recorder.trips == replay(crash_file).recorder.trips


def test_replay_when_mt5_export_then_same_trip_as_plain(
    tmp_path: Path, rows: list[Row], crash_file: Path, replay: Replay
) -> None:
    """An MT5 UTF-16 tick export of the same ticks gives the identical trip."""
    mt5 = write_mt5(tmp_path / "EURUSD_export.csv", rows)

    assert replay(mt5).recorder.trips == replay(crash_file).recorder.trips


def test_replay_when_position_has_price_then_it_opens_there(
    tmp_path: Path, rows: list[Row], replay: Replay
) -> None:
    """``@PRICE`` opens at that price: a higher entry breaches earlier, as the model says."""
    price = Decimal("1.10300")
    expected = expected_trip(rows, open_price=price)
    assert expected != expected_trip(rows)
    path = write_plain(tmp_path / "EURUSD_crash.csv", rows)

    run = replay(path, [f"EURUSD:buy:1@{price}"])

    first = run.recorder.trips[0]
    assert (first["tick_index"], first["trigger"]) == expected
    assert run.final_positions[0].price_open == price


def test_replay_when_position_has_no_price_then_it_opens_at_first_tick_ask(
    crash_file: Path, rows: list[Row], replay: Replay
) -> None:
    """Without ``@PRICE`` a buy opens at the first tick's ask (a sell would take the bid)."""
    run = replay(crash_file, ["EURUSD:buy:1", "EURUSD:sell:0.5"])

    opened = {p.type.name: p.price_open for p in run.final_positions}
    assert opened == {"BUY": rows[0].ask, "SELL": rows[0].bid}


def test_replay_when_no_position_then_nothing_to_lose_and_no_trip(
    crash_file: Path, replay: Replay
) -> None:
    """A flat book cannot lose: the crash trips nothing and drawdown stays 0."""
    run = replay(crash_file, [])

    assert run.recorder.trips == []
    assert run.recorder.drawdown.pct() == 0
