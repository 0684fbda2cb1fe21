"""Drive a terminal from a scenario on a background thread, on schedule.

Each event is due at ``start + at / speed`` on the monotonic clock, computed from the start and
never from the previous event, so delays do not accumulate (no drift); a late event is applied at
once. ``speed`` is simulated seconds per wall second (``math.inf``: as fast as possible). Ticks are
stamped with the terminal's clock on delivery, so a speed above 1 compresses the tick timestamps
too: ``stale_feed`` and ``latency_spike`` mean their name to a monitor only at speed 1.
"""

from __future__ import annotations

import contextlib
import math
import threading
from dataclasses import dataclass, field

from execution.paper.events import CloseDirect, Event, OpenDirect, Scenario, TickEvent
from execution.paper.terminal import PaperTerminal
from risk.clock import Clock, SystemClock

__all__ = ["ScenarioFailed", "ScenarioRun", "apply_event", "due_ns", "run_scenario"]


class ScenarioFailed(RuntimeError):
    """The scenario thread died; the cause is chained."""


@dataclass
class ScenarioRun:
    """A handle on a running scenario. ``done`` is set when it ends, for any reason."""

    scenario: Scenario
    thread: threading.Thread = field(init=False)
    done: threading.Event = field(default_factory=threading.Event)
    ticks: int = 0
    actions: int = 0
    error: BaseException | None = None

    def join(self, timeout: float | None = None) -> None:
        """Wait for the end; raise ``ScenarioFailed`` if the thread died of an exception."""
        self.thread.join(timeout)
        if self.error is not None:
            raise ScenarioFailed(f"scenario {self.scenario.name} failed") from self.error


def due_ns(start_ns: int, at: float, speed: float) -> int:
    """When an event at simulated ``at`` seconds is due, on the clock that read ``start_ns``."""
    return start_ns if math.isinf(speed) else start_ns + round(at * 1e9 / speed)


def apply_event(terminal: PaperTerminal, event: Event, tickets: dict[str, int]) -> None:
    """Deliver one event; ``tickets`` maps ``OpenDirect.ref`` to the opened position's ticket."""
    if isinstance(event, TickEvent):
        time_msc = None
        if event.backdate_ms:
            last = terminal.last_time_msc(event.symbol)
            time_msc = last - event.backdate_ms if last >= 0 else None
        elif event.age_ms:
            late = terminal.server_time_msc() - event.age_ms
            time_msc = max(late, terminal.last_time_msc(event.symbol) + 1)
        terminal.push_tick(event.symbol, event.bid, event.ask, time_msc)
    elif isinstance(event, OpenDirect):
        pos = terminal.open_position_directly(
            event.symbol, event.type, event.volume, comment=event.comment
        )
        tickets[event.ref] = pos.ticket
    elif isinstance(event, CloseDirect):
        ticket = tickets.pop(event.ref, None)
        # already closed is fine (a stop-out, or the monitor flattened it)
        with contextlib.suppress(KeyError):
            if ticket is not None:
                terminal.close_position_directly(ticket)


def run_scenario(
    terminal: PaperTerminal,
    scenario: Scenario,
    speed: float,
    stop_event: threading.Event,
    *,
    clock: Clock | None = None,
) -> ScenarioRun:
    """Start ``scenario`` against ``terminal`` on a daemon thread; it ends when the scenario
    does or when ``stop_event`` is set (promptly: waits are on the event)."""
    if not speed > 0:
        raise ValueError(f"speed must be > 0, not {speed}")
    mono: Clock = clock or SystemClock()
    run = ScenarioRun(scenario)

    def drive() -> None:
        tickets: dict[str, int] = {}
        start = mono.monotonic_ns()
        try:
            for event in scenario.events():
                wait_ns = due_ns(start, event.at, speed) - mono.monotonic_ns()
                if stop_event.wait(wait_ns / 1e9) if wait_ns > 0 else stop_event.is_set():
                    return
                apply_event(terminal, event, tickets)
                if isinstance(event, TickEvent):
                    run.ticks += 1
                else:
                    run.actions += 1
        except Exception as exc:  # surfaced by join(); the thread ends quietly
            run.error = exc
        finally:
            run.done.set()

    run.thread = threading.Thread(target=drive, name=f"paper-{scenario.name}", daemon=True)
    run.thread.start()
    return run
