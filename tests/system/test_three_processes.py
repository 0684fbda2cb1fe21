"""Paper terminal, monitor and engine as real processes sharing one breaker (issue: execution)."""

from __future__ import annotations

import signal
from datetime import datetime
from pathlib import Path

import pytest

from risk.breaker_state import BreakerState
from risk.reason_codes import ReasonCode
from tests.system.stack import running_stack, wait_for

pytestmark = [pytest.mark.multiprocess, pytest.mark.slow]

HALTED = BreakerState.HALTED


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_flash_crash_when_three_processes_run_then_monitor_trips_and_engine_stops(
    tmp_path: Path,
) -> None:
    """The monitor trips DRAWDOWN on the crash; the engine's gate halts and sends nothing after."""
    with running_stack(tmp_path) as stack:
        stack.start_paper("flash_crash", speed=4.0)
        stack.start_monitor()
        stack.start_engine()
        wait_for(lambda: stack.view().state is HALTED, 60, "the breaker to trip")
        view = stack.view()
        assert view.trigger.value in ("DRAWDOWN", "DAILY_LOSS")
        assert view.record is not None and view.record.actor.role == "monitor"
        gate = wait_for(
            lambda: stack.event("engine.gate_changed", state="HALTED"), 10, "engine gate"
        )
        tripped_at = _ts(view.changed_at or "")
        latency_ms = (_ts(gate["ts"]) - tripped_at).total_seconds() * 1000
        print(f"trip -> engine gate HALTED: {latency_ms:.1f} ms")
        assert latency_ms >= 0
        late_orders = [
            e
            for e in stack.events("engine.order_sent")
            if _ts(e["ts"]) > tripped_at and not e["reduces"]
        ]
        assert late_orders == []
        breach = wait_for(
            lambda: stack.event("risk.breach"), 5, "risk.breach (written after the halt)"
        )
        assert breach is not None and breach["reason_code"] == view.trigger.value
        # the breaching tick is named in the breach event and the durable record (tick-to-halt
        # latency can be read from evidence); the engine names the tick its gate halted on, or
        # null when it read the gate in a poll that brought no tick
        assert isinstance(breach["tick_time_msc"], int)
        assert view.record.evidence["tick_time_msc"] == breach["tick_time_msc"]
        named = gate["symbol"] == "EURUSD" and isinstance(gate["tick_time_msc"], int)
        assert named or (gate["symbol"] is None and gate["tick_time_msc"] is None), gate


def test_monitor_sigkill_when_engine_running_then_engine_halts_and_restart_keeps_halted(
    tmp_path: Path,
) -> None:
    """Dead-man: a SIGKILLed monitor halts the engine within heartbeat_timeout; a restarted
    monitor does not clear the HALTED state it finds."""
    with running_stack(tmp_path) as stack:
        stack.start_paper("normal", speed=1.0)
        stack.start_monitor()
        stack.start_engine()
        assert stack.breaker.gate().state is BreakerState.ACTIVE
        stack.kill("monitor")
        gate = wait_for(
            lambda: stack.event("engine.gate_changed", reason_code="MONITOR_SILENT"),
            20,
            "the engine to see MONITOR_SILENT",
        )
        assert gate["state"] == "HALTED"
        assert stack.view().state is BreakerState.ACTIVE  # silence is a view, never a write
        # an operator trips while the monitor is down; a restarted monitor must keep it
        stack.breaker.trip(ReasonCode.MANUAL_TRIP, "drill")
        stack.start_monitor()
        assert stack.view().state is HALTED
        assert stack.view().trigger is ReasonCode.MANUAL_TRIP


def test_engine_sigkill_when_halted_then_state_persists_and_new_engine_starts_halted(
    tmp_path: Path,
) -> None:
    """Breaker and rule state survive an engine SIGKILL; the next engine starts HALTED."""
    with running_stack(tmp_path) as stack:
        stack.start_paper("flash_crash", speed=4.0)
        stack.start_monitor()
        stack.start_engine()
        wait_for(lambda: stack.view().state is HALTED, 60, "the breaker to trip")
        stack.kill("engine")
        assert (stack.state_dir / "rule_state.json").exists()
        stack.start_engine()
        started = stack.events("engine.started")
        assert len(started) == 2
        assert started[-1]["breaker"] == "HALTED"


def test_paper_terminal_killed_when_both_sides_connected_then_feed_stale_trips(
    tmp_path: Path,
) -> None:
    """Killing the terminal blinds both sides; the monitor trips as configured."""
    replacements = {
        "  stale_feed_seconds: 10": "  stale_feed_seconds: 2",
        "  unreachable_grace_seconds: 10": "  unreachable_grace_seconds: 3",
    }
    with running_stack(tmp_path, replacements) as stack:
        stack.start_paper("normal", speed=1.0)
        stack.start_monitor()
        stack.start_engine()
        stack.kill("paper")
        wait_for(lambda: stack.view().state is HALTED, 30, "the breaker to trip")
        assert stack.view().trigger.value in ("BROKER_UNREACHABLE", "FEED_STALE")
        assert stack.event("broker.disconnected") is not None


def test_slow_strategy_when_ticks_arrive_then_engine_trips_its_own_latency(tmp_path: Path) -> None:
    """A strategy slower than tick_processing_timeout_ms makes the engine trip TICK_LATENCY."""
    with running_stack(tmp_path) as stack:
        stack.start_paper("normal", speed=1.0)
        stack.start_monitor()
        stack.start_engine(strategy="slow:150")
        wait_for(lambda: stack.view().state is HALTED, 30, "the engine to trip")
        view = stack.view()
        assert view.trigger.value == "TICK_LATENCY"
        assert view.record is not None and view.record.actor.role == "engine"
        wait_for(
            lambda: stack.event("engine.tripped", reason_code="TICK_LATENCY"), 5, "engine.tripped"
        )


def test_sigterm_when_monitor_running_then_clean_exit_and_breaker_untouched(tmp_path: Path) -> None:
    """A graceful stop exits 0 and leaves the breaker as it was."""
    with running_stack(tmp_path) as stack:
        stack.start_paper("normal")
        stack.start_monitor()
        before = stack.view().seq
        stack.kill("monitor", signal.SIGTERM)
        assert stack.procs["monitor"].returncode == 0
        assert stack.view().seq == before
        assert stack.event("monitor.stopped") is not None
