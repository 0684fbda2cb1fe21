"""``riskguard breaker status|trip|reset``: the operator's view of and hand on the kill switch."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import Any

from execution.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_REFUSED,
    breaker_for,
    config_path,
    evidence_log,
    print_json,
    require_config,
    state_dir,
)
from risk import events
from risk.breaker_state import InvalidTransition, Rebaseline
from risk.circuit_breaker import BreakerView, BreakerWriteError, CircuitBreaker, StaleBreakerView
from risk.clock import SystemClock
from risk.config import load_config
from risk.events import NullSink
from risk.monitor_snapshot import load_snapshot
from risk.reason_codes import ReasonCode
from risk.reset_policy import decide_reset

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    breaker = sub.add_parser("breaker", help="inspect, trip or reset the circuit breaker")
    actions = breaker.add_subparsers(dest="breaker_action", required=True)

    status = actions.add_parser("status", help="show the breaker state")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(handler=_status)

    trip = actions.add_parser("trip", help="operator kill switch: HALT trading now")
    trip.add_argument("--reason", required=True)
    trip.add_argument("--operator", default=None)
    trip.set_defaults(handler=_trip)

    reset = actions.add_parser("reset", help="audited manual reset to ACTIVE")
    reset.add_argument("--operator", required=True)
    reset.add_argument("--reason", required=True)
    reset.add_argument("--rebaseline-daily", action="store_true", help="re-anchor daily loss")
    reset.add_argument("--rebaseline-peak", action="store_true", help="re-anchor high-water mark")
    reset.add_argument("--force", action="store_true", help="override a still-breaching rule")
    reset.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    reset.set_defaults(handler=_reset)


def _status(args: argparse.Namespace) -> int:
    """Read-only: needs only the state dir; the config (if any) adds the heartbeat timeout."""
    path = config_path(args)
    config = load_config(path) if (args.config or path.exists()) else None
    directory = state_dir(args, config)
    breaker = CircuitBreaker(
        directory,
        role="cli",
        clock=SystemClock(),
        sink=NullSink(),
        heartbeat_timeout_ms=config.heartbeat.timeout_ms if config else None,
    )
    view, gate = breaker.read(), breaker.gate()
    report: dict[str, Any] = {
        **view.as_dict(),
        "effective_state": gate.state.value,
        "effective_reason": gate.reason_code.value,
        "heartbeat_age_ms": breaker.heartbeat_age_ms(),
        "state_dir": str(directory),
        "history": [e.model_dump(mode="json") for e in view.record.history[-5:]]
        if view.record
        else [],
    }
    if args.json:
        print_json(report)
    else:
        _print_view(view)
        age = report["heartbeat_age_ms"]
        sys.stdout.write(
            f"effective: {gate.state.value} ({gate.reason_code.value}); monitor heartbeat "
            f"{'unknown' if age is None else f'{age:.0f} ms ago'}\n"
        )
        for entry in report["history"]:
            sys.stdout.write(
                f"  #{entry['seq']} {entry['at']} {entry['action']} {entry['trigger']} "
                f"by {entry['actor']['role']}"
                f"{'/' + entry['actor']['name'] if entry['actor']['name'] else ''}: "
                f"{entry['reason']}\n"
            )
    return EXIT_OK


def _print_view(view: BreakerView) -> None:
    sys.stdout.write(
        f"breaker: {view.state.value}  seq {view.seq}  trigger {view.trigger.value}  "
        f"since {view.changed_at or '-'}\nreason: {view.reason}\n"
    )


def _trip(args: argparse.Namespace) -> int:
    config = require_config(args)
    log = evidence_log(config, component="cli")
    breaker = breaker_for(args, config, role="operator", sink=log, operator=args.operator)
    breaker.initialise()
    try:
        view = breaker.trip(
            ReasonCode.MANUAL_TRIP, args.reason, evidence={"operator": args.operator}
        )
    except BreakerWriteError as exc:
        sys.stderr.write(f"TRIP NOT RECORDED: {exc}\n")
        return EXIT_FAILURE
    _print_view(view)
    return EXIT_OK


def _reset(args: argparse.Namespace) -> int:
    config = require_config(args)
    log = evidence_log(config, component="cli")
    breaker = breaker_for(args, config, role="operator", sink=log, operator=args.operator)
    rebaseline: tuple[Rebaseline, ...] = (
        *(("daily",) if args.rebaseline_daily else ()),
        *(("peak",) if args.rebaseline_peak else ()),
    )
    view = breaker.read()
    snapshot = load_snapshot(breaker.state_dir)
    decision = decide_reset(
        view,
        snapshot,
        now=SystemClock().now(),
        cooldown_seconds=config.kill_switch.recovery_cooldown_seconds,
        snapshot_max_age=timedelta(milliseconds=3 * config.heartbeat.timeout_ms),
        force=args.force,
        rebaseline=rebaseline,
    )
    _print_view(view)
    sys.stdout.write("".join(f"plan: {line}\n" for line in decision.plan))
    if not decision.allowed:
        for refusal in decision.refusals:
            sys.stdout.write(f"REFUSED: {refusal}\n")
        if decision.overridable:
            sys.stdout.write("(--force overrides this after you have checked the account)\n")
        log.emit(
            events.BREAKER_RESET_REFUSED,
            reason_code=view.trigger.value,
            operator=args.operator,
            refusals=list(decision.refusals),
        )
        return EXIT_REFUSED
    if not args.yes and not _confirmed():
        sys.stdout.write("not confirmed; nothing changed\n")
        return EXIT_FAILURE
    try:
        after = breaker.reset(
            operator=args.operator,
            reason=args.reason,
            rebaseline=rebaseline,
            evidence={
                "forced": args.force,
                "snapshot_at": snapshot.at if snapshot else None,
                "figures": dict(snapshot.figures) if snapshot else {},
            },
            expected_seq=view.seq,
        )
    except (InvalidTransition, StaleBreakerView) as exc:
        sys.stdout.write(f"REFUSED: {exc}\n")
        return EXIT_REFUSED
    except BreakerWriteError as exc:
        sys.stderr.write(f"RESET NOT RECORDED: {exc}\n")
        return EXIT_FAILURE
    _print_view(after)
    return EXIT_OK


def _confirmed() -> bool:
    sys.stdout.write("Type RESET to clear the breaker: ")
    sys.stdout.flush()
    try:
        return sys.stdin.readline().strip() == "RESET"
    except (OSError, ValueError):
        return False
