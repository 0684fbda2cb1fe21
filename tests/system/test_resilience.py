"""Resilience with real processes: a frozen terminal, a position opened behind the engine's back."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from execution.mt5.bridge import BridgeClient
from execution.mt5.constants import OrderType, TradeAction, TradeRetcode
from execution.verify.evidence import Event
from risk.breaker_state import BreakerState
from tests.system.stack import Stack, running_stack, wait_for

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
        # the engine trades first, so there are deals to re-read after the outage
        wait_for(lambda: _engine_opened(stack), 60, "the engine to open a position")
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


@pytest.mark.parametrize(
    ("grace", "trips"),
    [("30", False), ("3", True)],
    ids=["outage-shorter-than-grace", "outage-longer-than-grace"],
)
def test_terminal_killed_and_restarted_after_5s_when_account_file_kept_then_account_continues(
    tmp_path: Path, grace: str, trips: bool
) -> None:
    """SIGKILL the paper terminal, restart it 5 s later on the same port and account file: the
    monitor sees the outage and the reconnect, trips BROKER_UNREACHABLE iff the outage outlasts
    the grace, reconciles the surviving positions without a mismatch, counts no deal twice (the
    restarted terminal re-serves the same deal tickets) and follows the restarted feed; the
    engine keeps running. The outage is the 5 s wait plus the terminal's start-up and the
    monitor's reconnect backoff (some 8-9 s), hence a grace of 30 s for the short case."""
    replacements = {
        "  unreachable_grace_seconds: 10": f"  unreachable_grace_seconds: {grace}",
        "  stale_feed_seconds: 10": "  stale_feed_seconds: 30",
        "  call_timeout_ms: 2000": "  call_timeout_ms: 500",
    }
    account = tmp_path / "paper-account.json"
    with running_stack(tmp_path, replacements) as stack:
        stack.start_paper("normal", account_file=account)
        stack.start_monitor()
        stack.start_engine()
        wait_for(lambda: _engine_opened(stack), 60, "the engine to open a position")
        stack.kill("paper")  # SIGKILL: no chance to save anything on the way out
        survivors = {p["ticket"] for p in json.loads(account.read_text())["positions"]}
        time.sleep(5.0)
        stack.start_paper("normal", account_file=account)
        reconnected = wait_for(
            lambda: stack.event("broker.reconnected", component="monitor"), 30, "the reconnect"
        )
        reconciled = wait_for(
            lambda: _later(stack, reconnected, "risk.reconciled"),
            30,
            "a reconciliation after the reconnect",
        )
        assert stack.event("broker.disconnected", component="monitor") is not None
        assert _later(stack, reconnected, "risk.reconcile_mismatch") == []
        assert reconciled[0]["epoch"] >= 1
        tripped = stack.view().state is BreakerState.HALTED
        assert tripped is trips, stack.view()
        assert (reconnected["blind_ms"] >= int(grace) * 1000) is trips, reconnected
        if trips:
            assert stack.view().trigger.value == "BROKER_UNREACHABLE"
        # the monitor follows the restarted terminal's ticks (the scenario started over, stamped
        # with the wall clock): its snapshot's tick count keeps growing
        ticks = _monitor_ticks(stack)
        wait_for(lambda: _monitor_ticks(stack) > ticks, 15, "ticks after the restart")
        assert stack.alive("engine") and stack.alive("monitor")
        terminal = stack.terminal()
        restored = {p.ticket for p in terminal.positions_get() or ()}
        assert survivors and survivors <= restored | _closed_since(account, survivors)
        # every opening deal counted exactly once, though the whole history was re-served
        stack.kill("engine", signal.SIGTERM)
        time.sleep(1.5)  # one more deals poll by the monitor
        state = json.loads((stack.state_dir / "rule_state.json").read_text())
        assert state["trades_today"] == len(_engine_opened(stack)) + 1  # + the book, opened once
        assert len(state["deal_tickets"]) == len(set(state["deal_tickets"]))
        deals = json.loads(account.read_text())["deals"]
        assert sorted(state["deal_tickets"]) == sorted(d["ticket"] for d in deals)


def _engine_opened(stack: Stack) -> list[Event]:
    """The engine's filled opening orders."""
    sent = stack.events("engine.order_sent")
    return [e for e in sent if not e["reduces"] and e["retcode"] == TradeRetcode.DONE]


def _later(stack: Stack, mark: Event, name: str) -> list[Event]:
    """The ``name`` events logged after ``mark``."""
    events = stack.events()
    ids = [e["event_id"] for e in events]
    return [e for e in events[ids.index(mark["event_id"]) + 1 :] if e["event"] == name]


def _monitor_ticks(stack: Stack) -> int:
    snapshot = json.loads((stack.state_dir / "monitor.snapshot.json").read_text())
    return int(snapshot["figures"]["ticks"])


def _closed_since(account: Path, tickets: set[int]) -> set[int]:
    """Which of ``tickets`` have an OUT deal closing them (the engine may close after restart)."""
    deals = json.loads(account.read_text())["deals"]
    return {d["position_id"] for d in deals if d["entry"] == 1 and d["position_id"] in tickets}
