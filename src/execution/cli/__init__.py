"""The ``riskguard`` command. Exit codes: 0 ok, 1 failure, 2 usage, 3 refused, 78 config."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from execution.cli import (
    breaker_cmd,
    config_cmd,
    demo_cmd,
    kafka_cmd,
    logs_cmd,
    paper_cmd,
    replay_cmd,
    service_cmd,
    status_cmd,
    verify_cmd,
)
from execution.cli.common import EXIT_CONFIG, EXIT_FAILURE
from risk.config import ConfigError

__all__ = ["build_parser", "main", "run_subcommand"]

_GLOBAL_OPTIONS = ("--config", "--state-dir")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="riskguard", description="Risk-monitor sidecar and circuit breaker for MT5 engines."
    )
    parser.add_argument("--config", help="risk_limits.yaml (or RISKGUARD_CONFIG)")
    parser.add_argument("--state-dir", help="breaker state dir (or RISKGUARD_STATE_DIR)")
    sub = parser.add_subparsers(dest="command", required=True)
    breaker_cmd.add_parser(sub)
    config_cmd.add_parser(sub)
    kafka_cmd.add_parser(sub)
    logs_cmd.add_parser(sub)
    service_cmd.add_parser(sub)
    paper_cmd.add_parser(sub)
    demo_cmd.add_parser(sub)
    status_cmd.add_parser(sub)
    replay_cmd.add_parser(sub)
    verify_cmd.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except ConfigError as exc:
        sys.stderr.write(f"configuration error:\n{exc}\n")
        return EXIT_CONFIG
    except OSError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_FAILURE
    return code


def run_subcommand(subcommand: Sequence[str], argv: Sequence[str]) -> int:
    """``main`` for a thin script: global options anywhere in ``argv`` go before ``subcommand``,
    everything else after it (``scripts/reset_breaker.py``, ``scripts/verify_risk_trigger.py``)."""
    head: list[str] = []
    tail: list[str] = []
    it = iter(argv)
    for arg in it:
        if arg.split("=", 1)[0] in _GLOBAL_OPTIONS:
            head.append(arg)
            if "=" not in arg:
                head.append(next(it, ""))
        else:
            tail.append(arg)
    return main([*head, *subcommand, *tail])
