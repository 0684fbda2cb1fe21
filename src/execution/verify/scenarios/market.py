"""Market scenarios: the paper terminal plays a named scenario; the monitor must (not) trip."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from execution.verify.evidence import Event, ms_between
from execution.verify.model import Probe, Scenario
from execution.verify.scenarios.common import (
    EQUITY_RULES,
    await_trip,
    start_stack,
    trip_path,
)
from execution.verify.stack import HEARTBEAT_TIMEOUT_MS, Stack
from risk.config import load_config
from risk.monitor_snapshot import load_snapshot

__all__ = [
    "BAD_TICKS",
    "FAT_FINGER",
    "FLASH_CRASH",
    "LOSING_STREAK",
    "NORMAL",
    "STALE_FEED",
    "VOLATILITY",
]

NORMAL_OBSERVE_S: Final = 8.0


def _run_normal(probe: Probe) -> None:
    stack = start_stack(probe, "normal", speed=4.0)
    seq0 = stack.view().seq
    worst_age = 0.0
    deadline = time.monotonic() + NORMAL_OBSERVE_S
    while time.monotonic() < deadline:  # an observation window, not a wait for behaviour
        age = stack.breaker.heartbeat_age_ms()
        worst_age = max(worst_age, age if age is not None else float("inf"))
        if stack.event("risk.warning") or stack.event("risk.breach"):
            break
        time.sleep(0.05)
    probe.latency("heartbeat_age_max", worst_age)
    for name in ("risk.warning", "risk.breach", "breaker.tripped", "engine.tripped"):
        found = stack.events(name)
        probe.check(
            f"no {name} in {NORMAL_OBSERVE_S:.0f} s",
            not found,
            f"{found[0].get('reason_code')} at {found[0]['ts']}" if found else "",
        )
    view = stack.view()
    probe.check(
        "breaker ACTIVE and unchanged",
        view.state.value == "ACTIVE" and view.seq == seq0,
        f"{view.state.value} seq {seq0} -> {view.seq}",
    )
    sent, denied = stack.events("engine.order_sent"), stack.events("engine.order_denied")
    probe.fact("orders_sent", len(sent))
    probe.check(
        "the engine's orders pass the gates", bool(sent) and not denied, f"{len(sent)} sent"
    )
    probe.check(
        "heartbeat never older than its timeout",
        worst_age < HEARTBEAT_TIMEOUT_MS,
        f"{worst_age:.0f} ms",
    )


def _from_msc(time_msc: int) -> datetime:
    return datetime.fromtimestamp(time_msc / 1000, tz=UTC)


def _monitor_trip(
    probe: Probe, codes: frozenset[str], *, timeout: float, **start: Any
) -> tuple[Stack, Event]:
    """Shared by the equity scenarios: a monitor trip with one of ``codes``, then its path."""
    stack = start_stack(probe, **start)
    tripped = await_trip(probe, stack, timeout)
    code = tripped["reason_code"]
    probe.fact("trigger", code)
    probe.require(f"trigger in {sorted(codes)}", code in codes, code)
    probe.check("tripped by the monitor", tripped["component"] == "monitor", tripped["component"])
    view = stack.view()
    probe.check(
        "breaker.json says HALTED with that trigger",
        view.state.value == "HALTED" and view.trigger.value == code,
        f"{view.state.value} {view.trigger.value}",
    )
    trip_path(probe, stack, tripped)
    return stack, tripped


def _run_flash_crash(probe: Probe) -> None:
    _monitor_trip(
        probe, frozenset({"DRAWDOWN", "DAILY_LOSS"}), timeout=30, paper="flash_crash", speed=4.0
    )


def _run_volatility(probe: Probe) -> None:
    codes = frozenset({"DRAWDOWN", "DAILY_LOSS", "VELOCITY"})
    stack, tripped = _monitor_trip(probe, codes, timeout=45, paper="volatility", speed=4.0)
    warnings = [e for e in stack.events("risk.warning") if e["ts"] < tripped["ts"]]
    probe.fact("warnings_before_trip", len(warnings))
    probe.check("warnings came before the trip", bool(warnings), f"{len(warnings)} warnings")
    if warnings:
        probe.latency("first_warning_to_durable", ms_between(warnings[0], tripped))


def _run_losing_streak(probe: Probe) -> None:
    stack, _ = _monitor_trip(
        probe, frozenset({"LOSING_STREAK"}), timeout=40, paper="losing_streak", speed=6.0
    )
    # the Guard halts first and writes the breach event right after the trip
    breach = probe.wait(
        "risk.breach LOSING_STREAK",
        lambda: stack.event("risk.breach", reason_code="LOSING_STREAK"),
        5,
    )
    warning = stack.event("risk.warning", reason_code="LOSING_STREAK")
    probe.check(
        "the streak reached its limit",
        breach is not None and int(breach["value"]) >= int(breach["limit"]),
        f"{breach['value']} of {breach['limit']}" if breach else "no risk.breach",
    )
    probe.check("a streak warning came first", warning is not None)


def _run_fat_finger(probe: Probe) -> None:
    stack = start_stack(probe, "fat_finger", speed=4.0)
    tripped = await_trip(probe, stack, 20)  # the fill is due 5 s after the terminal starts
    probe.require("trigger LEVERAGE", tripped["reason_code"] == "LEVERAGE", tripped["reason_code"])
    probe.check("tripped by the monitor", tripped["component"] == "monitor", tripped["component"])
    probe.require("breaker REDUCING", tripped["to_state"] == "REDUCING", tripped["to_state"])
    big = [p for p in stack.terminal().positions_get() or () if p.volume >= 50]
    if big:
        probe.latency("fill_to_durable", ms_between(_from_msc(big[0].time_msc), tripped))
    trip_path(probe, stack, tripped, gate_state="REDUCING")
    denied = probe.wait(
        "a new-risk order is denied with LEVERAGE",
        lambda: stack.event(
            "engine.order_denied", reason_code="LEVERAGE", state="REDUCING", reduces=False
        ),
        20,
    )
    probe.latency("durable_to_first_denial", ms_between(tripped, denied))


def _run_stale_feed(probe: Probe) -> None:
    stack = start_stack(probe, "stale_feed", speed=4.0)
    tripped = await_trip(probe, stack, 30)
    code = tripped["reason_code"]
    probe.require("trigger FEED_STALE", code == "FEED_STALE", code)
    probe.check("tripped by the monitor", tripped["component"] == "monitor", tripped["component"])
    limit_ms = load_config(stack.config).latency.stale_feed_seconds * 1000
    breach = probe.wait(
        "risk.breach FEED_STALE", lambda: stack.event("risk.breach", reason_code="FEED_STALE"), 5
    )
    probe.check(
        "tripped only once the feed was older than stale_feed_seconds",
        breach is not None and Decimal(breach["value"]) >= limit_ms,
        f"{breach['value']} ms >= {limit_ms} ms" if breach else "no risk.breach",
    )
    warned = stack.event("risk.warning", reason_code="FEED_STALE")
    probe.check("a FEED_STALE warning came first", warned is not None)
    client, symbols = stack.terminal(), load_config(stack.config).feed.symbols
    last_msc = max(client.symbol_info_tick(s).time_msc for s in symbols)  # what it watches
    probe.latency("silence_to_durable", ms_between(_from_msc(last_msc), tripped))


def _run_bad_ticks(probe: Probe) -> None:
    stack = start_stack(probe, "bad_ticks", speed=64.0)
    tripped = await_trip(probe, stack, 30)
    probe.require("trigger BAD_FEED", tripped["reason_code"] == "BAD_FEED", tripped["reason_code"])
    probe.check("tripped by the monitor", tripped["component"] == "monitor", tripped["component"])
    trip_path(probe, stack, tripped)
    moved = [
        e
        for e in stack.events()
        if e["event"] in ("risk.warning", "risk.breach") and e.get("reason_code") in EQUITY_RULES
    ]
    probe.check(
        "no equity rule moved (no bad tick reached the arithmetic)",
        not moved,
        f"{moved[0]['reason_code']} {moved[0]['value']}" if moved else "",
    )
    capital = load_config(stack.config).account.initial_capital
    snapshot = probe.wait(
        "a monitor snapshot after the trip",
        lambda: (s := load_snapshot(stack.state_dir)) and s.at > tripped["ts"] and s,
        5,
    )
    mine = Decimal(snapshot.figures["equity"])
    theirs = Decimal(str(stack.terminal().account_info().equity))
    probe.fact("equity_monitor", str(mine))
    probe.fact("equity_terminal", str(theirs))
    probe.fact("bad_ticks_counted", snapshot.figures["bad_ticks"])
    probe.check(
        "monitor equity equals the terminal's (within 0.5 % of capital)",
        mine.is_finite() and abs(mine - theirs) <= capital * Decimal("0.005"),
        f"monitor {mine} vs terminal {theirs}",
    )
    probe.check("bad ticks were counted", int(snapshot.figures["bad_ticks"]) > 0)


NORMAL = Scenario(
    "normal",
    "calm market at 4x: nothing trips, nothing warns, the engine trades",
    f"over {NORMAL_OBSERVE_S:.0f} s: no risk.warning, risk.breach, breaker.tripped or "
    "engine.tripped event; breaker.json ACTIVE with its seq unchanged; the engine sent orders "
    "and none was denied; the monitor heartbeat never older than heartbeat.timeout_ms",
    "heartbeat_age_max",
    _run_normal,
)
FLASH_CRASH = Scenario(
    "flash_crash",
    "EURUSD -2.6 % in 4 s (4x) against a 1-lot long",
    "the monitor trips DRAWDOWN or DAILY_LOSS (breaker.json HALTED with that trigger); the "
    "engine's gate reports HALTED within 10 s; the engine sends no new-risk order after its "
    "gate saw HALTED",
    "decided_to_engine_gate",
    _run_flash_crash,
)
FAT_FINGER = Scenario(
    "fat_finger",
    "a 100-lot EURUSD buy opened by hand in the terminal (4x)",
    "the monitor trips LEVERAGE to REDUCING; the engine's gate reports REDUCING; a new-risk "
    "order is denied with reason LEVERAGE; no new-risk order is sent after the gate saw REDUCING",
    "fill_to_durable",
    _run_fat_finger,
)
VOLATILITY = Scenario(
    "volatility",
    "EURUSD swings of 1-2.5 % each way (4x) against a 1-lot long",
    "at least one risk.warning precedes the trip; the monitor trips DRAWDOWN, DAILY_LOSS or "
    "VELOCITY; the engine's gate reports HALTED; no new-risk order after that",
    "decided_to_engine_gate",
    _run_volatility,
)
LOSING_STREAK = Scenario(
    "losing_streak",
    "twelve losing round trips in a row (6x)",
    "a LOSING_STREAK warning, then the monitor trips LOSING_STREAK with the streak at its "
    "limit; the engine's gate reports HALTED; no new-risk order after that",
    "decided_to_engine_gate",
    _run_losing_streak,
)
STALE_FEED = Scenario(
    "stale_feed",
    "no tick at all for 35 simulated s (4x), stale_feed_seconds = 3",
    "a FEED_STALE warning, then the monitor trips FEED_STALE with a measured feed age of at "
    "least stale_feed_seconds (the engine, without ticks, sends nothing either way)",
    "silence_to_durable",
    _run_stale_feed,
)
BAD_TICKS = Scenario(
    "bad_ticks",
    "every 12th tick NaN, inf, zero, negative, crossed or back-dated (64x)",
    "the monitor trips BAD_FEED; no equity rule (drawdown, daily loss, velocity, leverage, "
    "margin) warns or breaches; the monitor's equity equals the terminal's within 0.5 % of "
    "capital; the bad ticks were counted",
    "decided_to_durable",
    _run_bad_ticks,
)
