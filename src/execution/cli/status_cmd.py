"""``riskguard status [--json]``: is trading allowed, why, and how close is each limit.

Breaker state and trigger, the engine's effective gate (monitor heartbeat age), the monitor's
latest figures against their limits, the feed age, and the evidence backlog not yet in Kafka.
Read-only; exit 0 whatever the state (the state is in the output).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from execution.cli.common import EXIT_OK, print_json, require_config, state_dir
from risk.circuit_breaker import CircuitBreaker
from risk.clock import SystemClock
from risk.events import NullSink
from risk.monitor_snapshot import load_snapshot
from risk.outbox import load_cursor, segment_files

__all__ = ["add_parser", "backlog_bytes"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    status = sub.add_parser("status", help="breaker, monitor liveness, limits and backlog")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=_status)


def backlog_bytes(log_dir: Path) -> int:
    """Evidence bytes written but not yet delivered to Kafka (all of it if never delivered)."""
    try:
        cursor = load_cursor(log_dir)
    except ValueError:
        cursor = None
    total = 0
    for number, path in segment_files(log_dir):
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            continue
        if cursor is None or number > cursor.segment:
            total += size
        elif number == cursor.segment:
            total += max(0, size - cursor.offset)
    return total


def _status(args: argparse.Namespace) -> int:
    config = require_config(args)
    directory = state_dir(args, config)
    breaker = CircuitBreaker(
        directory,
        role="cli",
        clock=SystemClock(),
        sink=NullSink(),
        heartbeat_timeout_ms=config.heartbeat.timeout_ms,
    )
    view, gate = breaker.read(), breaker.gate()
    snap = load_snapshot(directory)
    kafka_on = bool(config.kafka.bootstrap_servers)
    report: dict[str, Any] = {
        "state": view.state.value,
        "trigger": view.trigger.value,
        "reason": view.reason,
        "changed_at": view.changed_at,
        "seq": view.seq,
        "effective_state": gate.state.value,
        "effective_reason": gate.reason_code.value,
        "heartbeat_age_ms": breaker.heartbeat_age_ms(),
        "snapshot_at": snap.at if snap else None,
        "figures": dict(snap.figures) if snap else {},
        "rules": {code: rule.model_dump() for code, rule in snap.rules.items()} if snap else {},
        "kafka": config.kafka.bootstrap_servers or None,
        "backlog_bytes": backlog_bytes(config.paths.log_dir) if kafka_on else None,
    }
    if args.json:
        print_json(report)
        return EXIT_OK
    out = sys.stdout.write
    out(f"breaker  {view.state.value} ({view.trigger.value}) since {view.changed_at}\n")
    out(f"reason   {view.reason}\n")
    age = report["heartbeat_age_ms"]
    out(
        f"engine   {gate.state.value} ({gate.reason_code.value}); monitor heartbeat "
        f"{'missing' if age is None else f'{age:.0f} ms ago'}\n"
    )
    if snap is None:
        out("monitor  no snapshot: is the monitor running?\n")
    else:
        out(f"monitor  snapshot {snap.at}  equity {snap.figures.get('equity')}\n")
        out(f"  {'rule':<16}{'level':<9}{'value':>18}{'warning':>12}{'limit':>12}\n")
        for code, rule in sorted(snap.rules.items()):
            value = rule.value[:16]
            out(f"  {code:<16}{rule.level:<9}{value:>18}{rule.warning:>12}{rule.limit:>12}\n")
    if kafka_on:
        out(f"kafka    {config.kafka.bootstrap_servers}  backlog {report['backlog_bytes']} bytes\n")
    else:
        out("kafka    off (evidence log only)\n")
    return EXIT_OK
