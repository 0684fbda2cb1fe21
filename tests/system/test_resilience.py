"""Resilience with real processes: a frozen terminal, a position opened behind the engine's back."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from execution.mt5.bridge import BridgeClient
from execution.mt5.constants import OrderType, TradeAction, TradeRetcode
from risk.breaker_state import BreakerState
from tests.system.stack import running_stack, wait_for

pytestmark = [pytest.mark.multiprocess, pytest.mark.slow]


@pytest.mark.parametrize(
    ("grace", "trips"),
    [("10", False), ("3", True)],
    ids=["outage-shorter-than-grace", "outage-longer-than-grace"],
)
def test_terminal_frozen_5s_when_grace_configured_then_trips_exactly_as_configured(
    tmp_path: Path, grace: str, trips: bool
) -> None:
    """A 5 s terminal outage: BROKER_UNREACHABLE iff longer than the grace; the outage, the
    reconnect and a reconciliation are events; no deal is counted twice."""
    replacements = {
        "  unreachable_grace_seconds: 10": f"  unreachable_grace_seconds: {grace}",
        "  stale_feed_seconds: 10": "  stale_feed_seconds: 30",
        "  call_timeout_ms: 2000": "  call_timeout_ms: 500",
    }
    with running_stack(tmp_path, replacements) as stack:
        stack.start_paper("normal")
        stack.start_monitor()
        stack.start_engine()
        time.sleep(2.0)  # let the engine trade a little so there are deals to re-read
        stack.procs["paper"].send_signal(signal.SIGSTOP)
        time.sleep(5.0)
        stack.procs["paper"].send_signal(signal.SIGCONT)
        wait_for(lambda: stack.event("broker.reconnected"), 30, "broker.reconnected")
        wait_for(lambda: len(stack.events("risk.reconciled")) >= 2, 30, "a reconciliation after")
        assert stack.event("broker.disconnected") is not None
        tripped = stack.view().state is BreakerState.HALTED
        assert tripped is trips, stack.view()
        if trips:
            assert stack.view().trigger.value == "BROKER_UNREACHABLE"
        # every opening deal counted exactly once, though history was re-read after the outage
        stack.kill("engine", signal.SIGTERM)
        time.sleep(1.5)  # one more deals poll by the monitor
        opened = [
            e
            for e in stack.events("engine.order_sent")
            if not e["reduces"] and e["retcode"] == 10009
        ]
        state = json.loads((stack.state_dir / "rule_state.json").read_text())
        assert state["trades_today"] == len(opened) + 1  # + the initial book position
        assert len(state["deal_tickets"]) == len(set(state["deal_tickets"]))


def test_position_opened_elsewhere_when_monitor_running_then_adopted_and_counted(
    tmp_path: Path,
) -> None:
    """A position opened by another program (magic 0) is adopted within one account poll."""
    with running_stack(tmp_path) as stack:
        stack.start_paper("normal", position=None)
        stack.start_monitor()
        client = BridgeClient("127.0.0.1", stack.port, timeout_s=2.0)
        try:
            result = client.order_send(
                {
                    "action": int(TradeAction.DEAL),
                    "symbol": "EURUSD",
                    "volume": 2.0,
                    "type": int(OrderType.BUY),
                    "magic": 0,
                    "comment": "manual",
                }
            )
        finally:
            client.close()
        assert result is not None and result.retcode == TradeRetcode.DONE
        adopted = wait_for(lambda: stack.event("risk.position_adopted"), 10, "adoption")
        assert adopted["symbol"] == "EURUSD" and adopted["volume"] == "2.00"

        def counted() -> bool:
            text = (stack.state_dir / "monitor.snapshot.json").read_text()
            return '"OPEN_POSITIONS":{"level":"ok","value":"1"' in text.replace(" ", "")

        wait_for(counted, 10, "the snapshot to count the adopted position")


def test_position_in_unwatched_symbol_when_monitor_starts_then_valued_not_crashed(
    tmp_path: Path,
) -> None:
    """A position in a symbol outside feed.symbols is valued (spec fetched, ticks polled)."""
    with running_stack(tmp_path) as stack:
        stack.start_paper("normal", position="GBPUSD:buy:1")
        stack.start_monitor()
        added = wait_for(lambda: stack.event("monitor.symbol_added"), 10, "symbol_added")
        assert added["symbol"] == "GBPUSD"
        wait_for(lambda: stack.event("risk.reconciled"), 10, "a reconciliation")
        assert stack.procs["monitor"].poll() is None
        assert stack.view().state is BreakerState.ACTIVE


@pytest.mark.parametrize(
    ("configured", "agrees"), [("0", True), ("7200", False)], ids=["matching", "off-by-2h"]
)
def test_broker_clock_offset_when_ticks_arrive_then_estimated_and_compared(
    tmp_path: Path, configured: str, agrees: bool
) -> None:
    """The monitor estimates the server clock offset from ticks and flags a wrong config."""
    replacements = {"  server_utc_offset_seconds: 0": f"  server_utc_offset_seconds: {configured}"}
    with running_stack(tmp_path, replacements) as stack:
        stack.start_paper("normal")
        stack.start_monitor()
        event = wait_for(lambda: stack.event("broker.clock_offset"), 15, "an offset estimate")
        assert event["estimated_seconds"] == 0  # the paper terminal's server runs on UTC
        assert event["agrees"] is agrees
