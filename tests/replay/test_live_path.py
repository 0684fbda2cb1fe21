"""The same ticks through the live three-process path trip at the same tick as the replay.

The paper terminal replays the file (``replay:FILE``) to a real monitor process; both see one lot
EURUSD bought at the first tick's ask. The terminal stamps each tick with its own clock (the file's
``time_msc`` is not kept on that path), so the breaching tick is identified by what the monitor
recorded about it: the trigger, the measured value, the equity — hence the bid, every tick of the
decline having its own — and the high-water mark (which also proves the monitor joined during the
flat lead-in, before the decline).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from execution.replay import RunSetup, parse_position, replay_file
from risk.breaker_state import BreakerState
from risk.config import load_config
from tests.replay.ticks import CONTRACT, crash_rows, expected_trip, write_plain
from tests.system.stack import running_stack, wait_for

pytestmark = [pytest.mark.multiprocess, pytest.mark.slow]

LEAD_TICKS = 600  # 60 s of flat quotes (15 s at speed 4): time for the monitor to start
SPEED = 4.0


def test_live_path_when_same_ticks_then_monitor_trips_at_the_replay_trip_tick(
    tmp_path: Path,
) -> None:
    """Monitor breaker evidence and risk.breach match the replay's first trip exactly."""
    rows = crash_rows(lead=LEAD_TICKS, decline=150, tail=50)
    path = write_plain(tmp_path / "EURUSD_live.csv", rows)
    index, trigger = expected_trip(rows)

    with running_stack(tmp_path / "stack") as stack:
        stack.start_paper(f"replay:{path}", speed=SPEED, position="EURUSD:buy:1")
        stack.start_monitor()
        wait_for(lambda: stack.view().state is BreakerState.HALTED, 120, "the monitor to trip")
        record = stack.view().record
        breach = wait_for(
            lambda: stack.event("risk.breach", reason_code=trigger), 10, "risk.breach"
        )
        config = load_config(stack.config, env={})

    _, runs = replay_file(
        path,
        [RunSetup("live", config)],
        positions=[parse_position("EURUSD:buy:1")],
        balance=Decimal("100000.00"),
    )
    trip = runs[0].recorder.trips[0]
    assert record is not None
    evidence = record.evidence
    assert evidence["high_water_mark"] == trip["high_water_mark"], "monitor joined too late"
    assert (trip["tick_index"], trip["trigger"]) == (index, trigger)
    assert record.trigger.value == trip["trigger"]
    assert (evidence["value"], evidence["limit"]) == (trip["value"], trip["limit"])
    assert evidence["equity"] == trip["equity"]
    live_bid = rows[0].ask + (Decimal(str(evidence["equity"])) - Decimal("100000")) / CONTRACT
    assert live_bid == Decimal(trip["bid"]) == rows[index].bid
    assert trip["time_msc"] == rows[index].time_msc
    assert (breach["value"], breach["limit"]) == (trip["value"], trip["limit"])
