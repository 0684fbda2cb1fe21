"""State scenarios: a corrupted breaker file, a broken config, the reset policy end to end."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import orjson

from execution.verify.derive import derive_config
from execution.verify.evidence import ms_between
from execution.verify.model import Probe, Scenario
from execution.verify.scenarios.common import (
    TEST_TIMEOUTS,
    await_trip,
    engine_gate_after,
    start_stack,
)
from execution.verify.stack import Stack, free_port, stack_overrides
from risk.circuit_breaker import BREAKER_FILE
from risk.clock import parse_ts
from risk.config import load_config

__all__ = ["CORRUPTED_BREAKER", "INVALID_CONFIG", "RESET_POLICY"]

GARBAGE: Final = b"\x00\x17{not a breaker record"
EXIT_CONFIG: Final = 78
EXIT_REFUSED: Final = 3
#: broken configs: (name, dotted overrides, text appended, what the error must name)
BROKEN: Final[tuple[tuple[str, dict[str, object], str, str], ...]] = (
    ("warning_above_limit", {"drawdown.warning_pct": "3.0"}, "", "drawdown.warning_pct"),
    ("unknown_key", {"drawdown.limit_percent": "2.0"}, "", "drawdown.limit_percent"),
    ("not_yaml", {}, "\ndrawdown: [unclosed\n", "invalid YAML"),
)
REARM_OBSERVE_S: Final = 2.0


def _reset(stack: Stack, *flags: str) -> subprocess.CompletedProcess[str]:
    return stack.cli(
        "breaker",
        "reset",
        "--operator",
        "verify",
        "--reason",
        "verify: reset drill",
        "--yes",
        *flags,
    )


def _said(done: subprocess.CompletedProcess[str]) -> str:
    return " | ".join(line for line in done.stdout.splitlines() if line.startswith("REFUSED"))


def _run_corrupted_breaker(probe: Probe) -> None:
    stack = start_stack(probe, "normal")
    view0 = stack.view()
    probe.fact("seq_before", view0.seq)
    path = stack.state_dir / BREAKER_FILE
    corrupted_at = datetime.now(UTC)
    with path.open("r+b") as handle:  # in place, as a bad disk or a stray editor would
        handle.write(GARBAGE)
        handle.truncate()
        os.fsync(handle.fileno())
    gate = probe.wait(
        "the engine gate reports HALTED/BREAKER_UNREADABLE",
        lambda: stack.event("engine.gate_changed", reason_code="BREAKER_UNREADABLE"),
        10,
    )
    probe.latency("corrupt_to_engine_gate", ms_between(corrupted_at, gate))
    probe.check("the engine's gate is HALTED", gate["state"] == "HALTED", gate["state"])
    status = stack.cli("breaker", "status", "--json")
    shown = orjson.loads(status.stdout) if status.returncode == 0 else {}
    probe.check(
        "`breaker status` reads HALTED/BREAKER_UNREADABLE",
        shown.get("state") == "HALTED"
        and shown.get("trigger") == "BREAKER_UNREADABLE"
        and shown.get("readable") is False,
        f"exit {status.returncode}: {shown.get('state')} {shown.get('trigger')}",
    )
    probe.check(
        "nobody rewrote the file on their own (no silent fail-open)",
        path.read_bytes() == GARBAGE and stack.alive("monitor") and stack.alive("engine"),
    )
    plain = _reset(stack)
    probe.check(
        "a reset without --force is refused (exit 3)",
        plain.returncode == EXIT_REFUSED,
        f"exit {plain.returncode}: {_said(plain)}",
    )
    forced = _reset(stack, "--force")
    ok = forced.returncode == 0
    probe.require("the forced reset exits 0", ok, "" if ok else forced.stdout[-300:])
    reset = probe.wait("breaker.reset", lambda: stack.event("breaker.reset"), 5)
    view1 = stack.view()
    probe.fact("seq_after", view1.seq)
    recovered = view1.record is not None and "recovered_from" in view1.record.history[-1].evidence
    probe.check(
        "breaker.json readable and ACTIVE, recovery recorded",
        view1.readable and view1.state.value == "ACTIVE" and recovered,
        f"{view1.state.value} seq {view1.seq}",
    )
    active = probe.wait(
        "the engine gate reports ACTIVE again",
        lambda: next(
            (
                e
                for e in stack.events("engine.gate_changed", state="ACTIVE")
                if e["ts"] > gate["ts"]
            ),
            None,
        ),
        10,
    )
    probe.latency("reset_to_engine_active", ms_between(reset, active))


def _run_invalid_config(probe: Probe) -> None:
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    runs: list[tuple[str, str, Path, str, float, subprocess.Popen[str]]] = []
    for name, overrides, appended, named in BROKEN:
        root = probe.root / name
        config = derive_config(
            probe.context.base_config,
            root / "risk_limits.yaml",
            overrides={**stack_overrides(root, free_port()), **overrides},
        )
        if appended:
            config.write_text(config.read_text() + appended)
        child_env = {
            **env,
            "RISKGUARD_STATE_DIR": str(root / "state"),
            "RISKGUARD_LOG_DIR": str(root / "log"),
        }
        commands = {
            "config check": ["config", "check", str(config)],
            "monitor": ["--config", str(config), "monitor"],
        }
        if name == BROKEN[0][0]:  # the engine reads the same loader: one case is enough
            commands["engine"] = ["--config", str(config), "engine"]
        for label, args in commands.items():
            proc = subprocess.Popen(
                [sys.executable, "-m", "execution.cli", *args],
                env=child_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            runs.append((name, label, root, named, time.monotonic(), proc))
    slowest = 0.0
    for name, label, _root, named, started, proc in runs:
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        slowest = max(slowest, time.monotonic() - started)
        probe.check(
            f"{name}: `{label}` exits 78 naming {named}",
            proc.returncode == EXIT_CONFIG and named in out,
            f"exit {proc.returncode}: {out.strip().splitlines()[-1] if out.strip() else ''}",
        )
    for name, _, _, _ in BROKEN:
        root = probe.root / name
        written = [
            p.name for d in (root / "state", root / "log") if d.exists() for p in d.iterdir()
        ]
        probe.check(f"{name}: nothing started, no state written", not written, str(written))
    probe.latency("slowest_exit", slowest * 1000)


def _run_reset_policy(probe: Probe) -> None:
    cooldown = int(str(TEST_TIMEOUTS["kill_switch.recovery_cooldown_seconds"]))
    stack = start_stack(probe, "flash_crash", speed=4.0, position="EURUSD:buy:2")
    tripped = await_trip(probe, stack, 30)
    probe.fact("trigger", tripped["reason_code"])
    early = _reset(stack, "--rebaseline-peak", "--rebaseline-daily", "--force")
    probe.check(
        "inside the cooldown: refused (exit 3) even with --force",
        early.returncode == EXIT_REFUSED and "cooldown" in _said(early),
        f"exit {early.returncode}: {_said(early)}",
    )
    ready_at = parse_ts(stack.view().changed_at or tripped["ts"]) + timedelta(seconds=cooldown)
    probe.wait("the cooldown to pass", lambda: datetime.now(UTC) >= ready_at, cooldown + 5)
    breached = _reset(stack)
    said = _said(breached)
    probe.check(
        "after the cooldown, while the snapshot breaches: refused (exit 3)",
        breached.returncode == EXIT_REFUSED and "breaches now" in said and "cooldown" not in said,
        f"exit {breached.returncode}: {said}",
    )
    peak_only = _reset(stack, "--rebaseline-peak")
    said = _said(peak_only)
    probe.check(
        "--rebaseline-peak alone: still refused for DAILY_LOSS, no longer for DRAWDOWN",
        peak_only.returncode == EXIT_REFUSED and "DAILY_LOSS" in said and "DRAWDOWN" not in said,
        f"exit {peak_only.returncode}: {said}",
    )
    accepted_at = datetime.now(UTC)
    accepted = _reset(stack, "--rebaseline-peak", "--rebaseline-daily")
    probe.require(
        "--rebaseline-peak --rebaseline-daily: accepted (exit 0)",
        accepted.returncode == 0,
        f"exit {accepted.returncode}: {_said(accepted) or accepted.stderr[-200:]}",
    )
    probe.latency("trip_to_accepted_reset", ms_between(tripped, accepted_at))
    reset = probe.wait("breaker.reset", lambda: stack.event("breaker.reset"), 5)
    probe.check("breaker.json ACTIVE", stack.view().state.value == "ACTIVE")
    refused = stack.events("breaker.reset_refused")
    probe.check("each refusal is an event", len(refused) == 3, f"{len(refused)} events")
    rearmed = probe.wait(
        "the monitor re-arms (risk.rearmed for this reset)",
        lambda: stack.event("risk.rearmed", reset_seq=reset["breaker_seq"]),
        10,
    )
    probe.latency("reset_to_rearmed", ms_between(reset, rearmed))
    active = probe.wait(
        "the engine gate reports ACTIVE",
        lambda: engine_gate_after(stack, reset, "ACTIVE"),
        10,
    )
    probe.latency("reset_to_engine_active", ms_between(reset, active))
    deadline = time.monotonic() + REARM_OBSERVE_S
    while time.monotonic() < deadline and stack.view().state.value == "ACTIVE":
        time.sleep(0.05)  # an observation window: re-anchored, nothing should re-trip
    probe.check(
        f"re-anchored: still ACTIVE {REARM_OBSERVE_S:.0f} s after the re-arm",
        stack.view().state.value == "ACTIVE",
        stack.view().trigger.value,
    )
    limits = load_config(stack.config).kill_switch
    probe.fact("cooldown_s", limits.recovery_cooldown_seconds)


CORRUPTED_BREAKER = Scenario(
    "corrupted_breaker",
    "garbage written into breaker.json in place under a running monitor and engine",
    "the engine's gate reports HALTED/BREAKER_UNREADABLE; `breaker status --json` shows HALTED, "
    "BREAKER_UNREADABLE, readable false; no process rewrites the file; a reset without --force "
    "exits 3; `breaker reset --force` exits 0, breaker.json is ACTIVE and readable with the "
    "recovery in its history, and the engine's gate reports ACTIVE again",
    "corrupt_to_engine_gate",
    _run_corrupted_breaker,
)
INVALID_CONFIG = Scenario(
    "invalid_config",
    "a warning above its limit, an unknown key, broken YAML",
    "for each broken file, `config check` and `monitor` (and `engine`, for the first) exit 78 "
    "and name the field (or invalid YAML); their state and log dirs stay absent",
    "slowest_exit",
    _run_invalid_config,
)
RESET_POLICY = Scenario(
    "reset_policy",
    "flash crash against a 2-lot long, then resets: too early, still breached, re-anchored",
    "inside recovery_cooldown_seconds a reset is refused with exit 3 even with --force; after it, "
    "a plain reset is refused (exit 3) because the snapshot breaches, and --rebaseline-peak alone "
    "still for DAILY_LOSS; --rebaseline-peak --rebaseline-daily exits 0; breaker.json ACTIVE; "
    "three breaker.reset_refused events; risk.rearmed for the reset's seq; the engine's gate "
    "ACTIVE; no re-trip for 2 s",
    "reset_to_rearmed",
    _run_reset_policy,
)
