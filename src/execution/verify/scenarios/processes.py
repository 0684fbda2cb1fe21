"""Process scenarios: a slow engine, SIGKILLed monitor or engine, several writers at once."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Final

import orjson

from execution.verify.evidence import ms_between
from execution.verify.model import Probe, Scenario
from execution.verify.scenarios.common import engine_gate_after, start_stack, trip_path
from execution.verify.stack import HEARTBEAT_TIMEOUT_MS, Stack
from risk.config import load_config
from risk.rule_state import load_rule_state

__all__ = ["CONCURRENT_TRIPS", "ENGINE_SIGKILL", "MONITOR_SIGKILL", "SLOW_STRATEGY"]

RACERS: Final = 4
#: the engine notices silence on its next tick: allow one tick gap on top of the timeout
SILENCE_SLACK_MS: Final = 500


def _now() -> datetime:
    return datetime.now(UTC)


def _operator_trip(probe: Probe, stack: Stack, reason: str) -> None:
    done = stack.cli("breaker", "trip", "--reason", reason, "--operator", "verify")
    probe.require(
        f"`breaker trip` ({reason}) exits 0", done.returncode == 0, done.stderr.strip()[-300:]
    )


def _run_slow_strategy(probe: Probe) -> None:
    base = load_config(probe.context.base_config, env={})
    timeout_ms = base.latency.tick_processing_timeout_ms
    delay_ms = timeout_ms * 3 // 2
    probe.fact("strategy", f"slow:{delay_ms}")
    stack = start_stack(probe, "normal", strategy=f"slow:{delay_ms}")
    tripped = probe.wait("the engine trips", lambda: stack.event("breaker.tripped"), 20)
    code = tripped["reason_code"]
    probe.require("trigger TICK_LATENCY", code == "TICK_LATENCY", code)
    probe.check("tripped by the engine", tripped["component"] == "engine", tripped["component"])
    elapsed = float(tripped["evidence"].get("elapsed_ms", 0))
    probe.latency("tick_processing", elapsed)
    probe.check(
        "measured processing time over tick_processing_timeout_ms",
        elapsed > timeout_ms,
        f"{elapsed:.1f} ms > {timeout_ms} ms",
    )
    # written right after trip() returns, so it may trail breaker.tripped by a moment
    probe.wait("engine.tripped event", lambda: stack.event("engine.tripped", reason_code=code), 5)
    trip_path(probe, stack, tripped)


def _run_monitor_sigkill(probe: Probe) -> None:
    stack = start_stack(probe, "normal")
    view0 = stack.view()
    before = load_rule_state(stack.state_dir)
    killed_at = _now()
    stack.kill("monitor")
    gate = probe.wait(
        "the engine gate reports MONITOR_SILENT",
        lambda: stack.event("engine.gate_changed", reason_code="MONITOR_SILENT"),
        HEARTBEAT_TIMEOUT_MS / 1000 + 10,
    )
    silent_ms = probe.latency("kill_to_engine_gate", ms_between(killed_at, gate))
    bound = HEARTBEAT_TIMEOUT_MS + SILENCE_SLACK_MS
    probe.check(
        "within heartbeat.timeout_ms (+ one tick)",
        gate["state"] == "HALTED" and silent_ms <= bound,
        f"{silent_ms:.0f} ms <= {bound} ms",
    )
    view1 = stack.view()
    probe.check(
        "silence is a view: breaker.json untouched",
        view1.state.value == "ACTIVE" and view1.seq == view0.seq,
        f"{view1.state.value} seq {view0.seq} -> {view1.seq}",
    )
    _operator_trip(probe, stack, "verify: trip while the monitor is down")
    tripped_seq = stack.view().seq
    restarted = time.monotonic()
    stack.start_monitor()
    probe.latency("monitor_restart", (time.monotonic() - restarted) * 1000)
    view2 = stack.view()
    probe.check(
        "the restarted monitor keeps HALTED (MANUAL_TRIP) and writes nothing",
        view2.state.value == "HALTED"
        and view2.trigger.value == "MANUAL_TRIP"
        and view2.seq == tripped_seq,
        f"{view2.state.value} {view2.trigger.value} seq {tripped_seq} -> {view2.seq}",
    )
    after = load_rule_state(stack.state_dir)
    kept = (
        before is not None
        and after is not None
        and after.daily_baseline == before.daily_baseline
        and after.high_water_mark >= before.high_water_mark
    )
    probe.check(
        "rule state survives (baseline kept, high-water mark not lower)",
        kept,
        f"{before and before.high_water_mark} -> {after and after.high_water_mark}",
    )


def _run_engine_sigkill(probe: Probe) -> None:
    stack = start_stack(probe, "normal")
    _operator_trip(probe, stack, "verify: halt before the engine dies")
    tripped = probe.wait("breaker.tripped", lambda: stack.event("breaker.tripped"), 5)
    probe.wait(
        "the engine gate reports HALTED",
        lambda: engine_gate_after(stack, tripped, "HALTED"),
        10,
    )
    view0 = stack.view()
    old_pid = stack.procs["engine"].pid
    stack.kill("engine")
    view1 = stack.view()
    probe.check(
        "breaker.json unchanged by the kill",
        (view1.state, view1.seq, view1.changed_at) == (view0.state, view0.seq, view0.changed_at),
        f"{view1.state.value} seq {view1.seq}",
    )
    probe.check("rule_state.json kept", (stack.state_dir / "rule_state.json").exists())
    started = time.monotonic()
    _operator_trip(probe, stack, "verify: the dead engine left no lock behind")
    probe.latency("trip_after_kill", (time.monotonic() - started) * 1000)
    probe.check(
        "a second trip is recorded, first trigger kept",
        stack.event("breaker.trip_recorded") is not None
        and stack.view().trigger.value == "MANUAL_TRIP",
    )
    restarted = time.monotonic()
    stack.start_engine()
    probe.latency("engine_restart", (time.monotonic() - restarted) * 1000)
    new = [e for e in stack.events("engine.started") if e["pid"] != old_pid]
    probe.require("a new engine started", bool(new))
    probe.check("the new engine starts HALTED", new[-1]["breaker"] == "HALTED", new[-1]["breaker"])
    sent = stack.events("engine.order_sent", pid=new[-1]["pid"])
    probe.check("the new engine sends nothing", not sent, f"{len(sent)} orders")


def _run_concurrent_trips(probe: Probe) -> None:
    stack = start_stack(probe, "normal")
    seq0 = stack.view().seq
    go = stack.root / "racers.go"
    ready = [stack.root / f"racer-{n}.ready" for n in range(RACERS)]
    for n, flag in enumerate(ready):
        args = ["--config", str(stack.config), "--name", f"racer-{n}"]
        args += ["--ready", str(flag), "--go", str(go)]
        stack.spawn(f"racer-{n}", *args, module="execution.verify.racer")
    probe.wait("every racer is ready", lambda: all(f.exists() for f in ready), 60)
    go.touch()
    procs = [stack.procs[f"racer-{n}"] for n in range(RACERS)]
    for proc in procs:
        proc.wait(timeout=30)
    codes = [proc.returncode for proc in procs]
    probe.require("every racer exits 0", codes == [0] * RACERS, str(codes))
    lines = [json.loads(stack.output(f"racer-{n}").splitlines()[-1]) for n in range(RACERS)]
    probe.latency(
        "go_spread", (max(r["go_ns"] for r in lines) - min(r["go_ns"] for r in lines)) / 1e6
    )
    probe.latency(
        "all_durable",
        (max(r["done_ns"] for r in lines) - min(r["go_ns"] for r in lines)) / 1e6,
    )
    mine = [e for e in stack.events() if e.get("component") == "racer"]
    changed = [e for e in mine if e["event"] == "breaker.tripped"]
    recorded = [e for e in mine if e["event"] == "breaker.trip_recorded"]
    probe.check("exactly one state change", len(changed) == 1, f"{len(changed)} breaker.tripped")
    probe.check(
        f"{RACERS - 1} trips recorded while HALTED",
        len(recorded) == RACERS - 1,
        f"{len(recorded)} breaker.trip_recorded",
    )
    record = stack.view().record
    probe.require("breaker.json readable", record is not None)
    assert record is not None
    history = [h for h in record.history if h.seq > seq0]
    seqs = [h.seq for h in history]
    probe.fact("history_seqs", seqs)
    probe.check(
        "every trip in the history, seq contiguous",
        seqs == list(range(seq0 + 1, seq0 + RACERS + 1))
        and sorted(h.actor.name or "" for h in history) == sorted(r["name"] for r in lines),
        str(seqs),
    )
    probe.check(
        "each writer got its own seq",
        sorted(r["seq"] for r in lines) == seqs,
        str(sorted(r["seq"] for r in lines)),
    )
    winner = changed[0] if changed else None
    probe.check(
        "HALTED with the winner's trip",
        record.state.value == "HALTED"
        and winner is not None
        and record.seq == seq0 + RACERS
        and record.actor.name == winner["actor"]["name"],
        f"{record.state.value} by {record.actor.name}",
    )
    if winner is not None:
        trip_path(probe, stack, winner)
    probe.fact("racers", [orjson.loads(orjson.dumps(r)) for r in lines])


SLOW_STRATEGY = Scenario(
    "slow_strategy",
    "the engine's strategy takes 1.5x tick_processing_timeout_ms per tick",
    "the engine (not the monitor) trips TICK_LATENCY with a measured processing time over the "
    "timeout; engine.tripped is logged; its gate reports HALTED; no new-risk order after that",
    "tick_processing",
    _run_slow_strategy,
)
MONITOR_SIGKILL = Scenario(
    "monitor_sigkill",
    "SIGKILL the monitor under a running engine, trip by hand, restart the monitor",
    "the engine's gate reports HALTED/MONITOR_SILENT within heartbeat.timeout_ms + 500 ms of the "
    "kill while breaker.json stays ACTIVE and unchanged; after an operator trip, the restarted "
    "monitor leaves breaker.json HALTED/MANUAL_TRIP at the same seq; rule state (daily baseline, "
    "high-water mark) survives",
    "kill_to_engine_gate",
    _run_monitor_sigkill,
)
ENGINE_SIGKILL = Scenario(
    "engine_sigkill",
    "SIGKILL a HALTED engine, trip again, start a new engine",
    "the kill changes nothing in breaker.json and leaves rule_state.json; the next writer gets "
    "the lock (a second trip is recorded, first trigger kept); the new engine logs "
    "engine.started with breaker HALTED and sends no order",
    "engine_restart",
    _run_engine_sigkill,
)
CONCURRENT_TRIPS = Scenario(
    "concurrent_trips",
    f"{RACERS} processes trip at the same instant while monitor and engine run",
    "exactly one breaker.tripped and "
    f"{RACERS - 1} breaker.trip_recorded; every trip is in the history with contiguous seqs, "
    "one per writer; breaker.json HALTED by the winner; the engine's gate reports HALTED",
    "all_durable",
    _run_concurrent_trips,
)
