"""Steps and checks the scenarios share: start a stack, wait for a trip, measure its path."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from execution.verify.evidence import Event, ms_between, ts_of
from execution.verify.model import Probe
from execution.verify.stack import Stack

__all__ = [
    "EQUITY_RULES",
    "TEST_TIMEOUTS",
    "await_trip",
    "engine_gate_after",
    "new_risk_sent_after",
    "start_stack",
    "trip_path",
]

#: test-sized timeouts on top of the stack's (heartbeat 1.5 s); limits stay the base config's
TEST_TIMEOUTS: Final[dict[str, object]] = {
    "latency.stale_feed_seconds": 3,
    "broker.unreachable_grace_seconds": 3,
    "kill_switch.recovery_cooldown_seconds": 6,
}
#: rules that read equity: a bad tick that reached the arithmetic would move one of them
EQUITY_RULES: Final = frozenset({"DRAWDOWN", "DAILY_LOSS", "VELOCITY", "LEVERAGE", "MARGIN_LEVEL"})


def start_stack(
    probe: Probe,
    paper: str,
    *,
    speed: float = 1.0,
    position: str | None = "EURUSD:buy:1",
    strategy: str | None = None,
    engine: bool = True,
    overrides: dict[str, object] | None = None,
) -> Stack:
    """Paper terminal, monitor and (unless ``engine=False``) engine, all started."""
    stack = probe.stack(overrides={**TEST_TIMEOUTS, **(overrides or {})})
    stack.start_paper(paper, speed=speed, position=position)
    stack.start_monitor()
    if engine:
        stack.start_engine(strategy)
    return stack


def await_trip(probe: Probe, stack: Stack, timeout: float) -> Event:
    """The first ``breaker.tripped`` event (the one state change away from ACTIVE)."""
    return probe.wait("the breaker trips", lambda: stack.event("breaker.tripped"), timeout)


def decided_at(stack: Stack, change: Event) -> datetime:
    """When the breaker change behind ``change`` (a ``breaker.tripped``/``breaker.reset`` event)
    was decided: its history entry's ``at``, stamped under the lock before the write. Another
    process can see the new state from the moment the file is replaced, before the writer's
    directory fsync and its event, so "after the change" means after this instant."""
    record = stack.view().record
    for entry in record.history if record is not None else ():
        if entry.seq == change["breaker_seq"]:
            return ts_of(entry.at)
    return ts_of(change)


def engine_gate_after(stack: Stack, change: Event, state: str) -> Event | None:
    """The engine's first ``engine.gate_changed`` to ``state`` after the breaker change."""
    since = decided_at(stack, change)
    for event in stack.events("engine.gate_changed", state=state):
        if ts_of(event) >= since:
            return event
    return None


def new_risk_sent_after(stack: Stack, gate: Event) -> list[Event]:
    """Non-reducing orders the engine sent after its gate reported ``gate`` (same process:
    its own event order, so no clock comparison and no race with the trip's write)."""
    return [
        e
        for e in stack.events("engine.order_sent", pid=gate["pid"])
        if e["seq"] > gate["seq"] and not e["reduces"]
    ]


def trip_path(probe: Probe, stack: Stack, tripped: Event, *, gate_state: str = "HALTED") -> None:
    """Measure decided → durable → engine gate, and check the engine sends no new risk after.

    *Decided* is the history entry's ``at`` (stamped under the lock, before the write);
    *durable* is the ``breaker.tripped`` event, emitted once the new file is fsynced; the gate
    is the engine's own ``engine.gate_changed`` event.
    """
    record = stack.view().record
    entries = [h for h in record.history if h.seq == tripped["breaker_seq"]] if record else []
    if entries:
        probe.latency("decided_to_durable", ms_between(entries[0].at, tripped))
    gate = probe.wait(
        f"the engine gate reports {gate_state}",
        lambda: engine_gate_after(stack, tripped, gate_state),
        10,
    )
    probe.latency("durable_to_engine_gate", ms_between(tripped, gate))
    if entries:
        probe.latency("decided_to_engine_gate", ms_between(entries[0].at, gate))
    late = new_risk_sent_after(stack, gate)
    probe.check(
        f"no new-risk order sent after the engine saw {gate_state}",
        not late,
        f"{len(late)} sent, first at {late[0]['ts']}" if late else "",
    )
