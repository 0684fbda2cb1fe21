"""Bounded memory: after 200,000 ticks (a tenth of them bad) and 10,000 deals, every history the
evaluator keeps is within its documented bound, and steady state allocates nothing lasting.

The bounds live in private attributes; they are inspected here on purpose (the documented
contract is "bounded buffers", STYLE §7), so a rename must update this test.
"""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime

from risk.clock import ManualClock
from risk.evaluator import Evaluator
from risk.models import Tick
from tests.kernel.helpers import (
    CAPITAL,
    MONDAY_10,
    SPECS,
    account,
    deal,
    position,
    yaml_config,
)

TICKS = 200_000
BAD_EVERY = 10
DEALS = 10_000
START = 400_000  # 4.00000: a strictly falling bid for 200,000 ticks stays positive
VELOCITY_BOUND = 10_000 // 100 + 1  # window / 100 ms buckets, both ends inclusive
TRAILING_BOUND = 24 * 60  # one-minute buckets in 24 h
LEDGER_BOUND = 4096


def _feed(ev: Evaluator, clock: ManualClock, first: int, last: int, step_ms: int) -> dict[str, int]:
    """Ticks ``first``..``last``; equity strictly falls (worst case for monotonic deques)."""
    widest = {"velocity": 0, "trailing": 0}
    now = ev._last_tick["EURUSD"].time_msc if "EURUSD" in ev._last_tick else MONDAY_10
    for i in range(first, last):
        now += step_ms
        bid = (START - i) / 100_000
        if i % BAD_EVERY == BAD_EVERY - 1:
            t = Tick("EURUSD", bid, bid - 0.001, 0.0, 1, now, 0)  # crossed: rejected
        else:
            t = Tick("EURUSD", bid, bid + 0.00002, 0.0, 1, now, 0)
        ev.on_tick(t, now, clock.monotonic_ns())
        if i % 97 == 0:
            widest["velocity"] = max(widest["velocity"], len(ev._peak._buckets))
            assert ev._trailing is not None
            widest["trailing"] = max(widest["trailing"], len(ev._trailing._buckets))
    return widest


def test_ticks_when_200k_processed_then_every_history_within_its_bound() -> None:
    """Velocity peak ≤ 101 buckets, trailing 24 h peak ≤ 1,440, bad-tick ring = window, deal
    ledger ≤ 4,096, per-symbol and per-rule maps no larger than their key sets."""
    clock = ManualClock(datetime(2026, 3, 2, 10, tzinfo=UTC))
    config = yaml_config(("rolling_24h: false", "rolling_24h: true"))
    ev = Evaluator(config, SPECS, clock=clock)
    ev.on_account(account(CAPITAL), [position(1, "0.01", open_pts=START)], MONDAY_10)
    for ticket in range(1, DEALS + 1):
        ev.on_deal(deal(ticket, "-1.00"), MONDAY_10)

    fast = _feed(ev, clock, 0, TICKS // 2, 100)  # 100 ms apart: ~2.8 h
    slow = _feed(ev, clock, TICKS // 2, TICKS, 1000)  # 1 s apart: ~27.8 h

    assert ev._trailing is not None
    # a tenth of the 100 ms buckets hold only a rejected tick, so ~90 % of the bound is reached
    assert VELOCITY_BOUND * 8 // 10 <= fast["velocity"] <= VELOCITY_BOUND
    assert slow["trailing"] <= TRAILING_BOUND
    assert len(ev._trailing._buckets) >= TRAILING_BOUND - 1  # the bound was really reached
    assert len(ev._window._ring) == config.data_quality.window_ticks
    assert ev._window.count == config.data_quality.window_ticks // BAD_EVERY
    assert len(ev._ledger._order) == len(ev._ledger._seen) == LEDGER_BOUND
    assert len(ev.rule_state().deal_tickets) == LEDGER_BOUND
    assert set(ev._last_tick) == {"EURUSD"}
    assert set(ev.bad_ticks) == {"crossed"}
    assert sum(ev.bad_ticks.values()) == TICKS // BAD_EVERY
    assert len(ev.values) <= len(ev.levels)
    assert len(ev._pending) <= len(ev.levels)


def test_ticks_when_in_steady_state_then_no_lasting_allocation() -> None:
    """Once the windows are full, another 20,000 ticks leave traced memory flat."""
    clock = ManualClock(datetime(2026, 3, 2, 10, tzinfo=UTC))
    ev = Evaluator(yaml_config(("rolling_24h: false", "rolling_24h: true")), SPECS, clock=clock)
    ev.on_account(account(CAPITAL), [position(1, "0.01", open_pts=START)], MONDAY_10)
    _feed(ev, clock, 0, 20_000, 100)

    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        _feed(ev, clock, 20_000, 40_000, 100)
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert after - before < 64 * 1024
