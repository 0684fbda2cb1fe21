"""Shared CLI plumbing: exit codes, config and state-dir resolution, output helpers."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Final

import orjson

from risk.circuit_breaker import CircuitBreaker
from risk.clock import Clock, SystemClock
from risk.config import ConfigError, ConfigIssue, RiskConfig, load_config
from risk.config.schema import check_state_path
from risk.events import EventSink
from risk.journal import EvidenceLog

__all__ = [
    "DEFAULT_CONFIG",
    "EXIT_CONFIG",
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_USAGE",
    "breaker_for",
    "config_path",
    "evidence_log",
    "print_json",
    "require_config",
    "state_dir",
]

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2
EXIT_REFUSED: Final = 3
EXIT_CONFIG: Final = 78
DEFAULT_CONFIG: Final = Path("/etc/riskguard/risk_limits.yaml")

#: how long a thread may hold the GIL while another waits (CPython's default is 5 ms). The
#: services and the paper terminal set it so that a background thread (delivery, scenario) never
#: holds up the polling loop for longer than a poll interval.
GIL_SWITCH_INTERVAL_S: Final = 0.0005


def config_path(args: argparse.Namespace) -> Path:
    given = args.config or os.environ.get("RISKGUARD_CONFIG")
    return Path(given) if given else DEFAULT_CONFIG


def require_config(args: argparse.Namespace) -> RiskConfig:
    """Load the config named by --config / RISKGUARD_CONFIG / the default; never invent one."""
    path = config_path(args)
    if not path.exists():
        raise ConfigError(
            str(path), [ConfigIssue("", "no config file (use --config PATH or RISKGUARD_CONFIG)")]
        )
    return load_config(path)


def state_dir(args: argparse.Namespace, config: RiskConfig | None) -> Path:
    """--state-dir, then RISKGUARD_STATE_DIR (already applied to the config), then the config."""
    for source, given in (
        ("--state-dir", args.state_dir),
        ("RISKGUARD_STATE_DIR", os.environ.get("RISKGUARD_STATE_DIR")),
    ):
        if given is not None:
            try:
                check_state_path(Path(given))
            except ValueError as exc:
                raise ConfigError(source, [ConfigIssue("paths.state_dir", str(exc))]) from None
            return Path(given)
    if config is None:
        raise ConfigError("<cli>", [ConfigIssue("paths.state_dir", "no --state-dir and no config")])
    return config.paths.state_dir


def breaker_for(
    args: argparse.Namespace,
    config: RiskConfig,
    *,
    role: str,
    sink: EventSink,
    clock: Clock | None = None,
    operator: str | None = None,
) -> CircuitBreaker:
    return CircuitBreaker.from_config(
        config,
        role=role,
        clock=clock or SystemClock(),
        sink=sink,
        state_dir=state_dir(args, config),
        watch_heartbeat=True,
        operator=operator,
    )


def evidence_log(config: RiskConfig, *, component: str) -> EvidenceLog:
    """The operator commands' audit log: the same outbox (segments, retention) the services use."""
    return EvidenceLog.from_config(config, component=component)


def print_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
