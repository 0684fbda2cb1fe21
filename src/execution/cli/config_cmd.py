"""``riskguard config check PATH``: OK, or every problem with its YAML path; exit 78."""

from __future__ import annotations

import argparse
import sys

from execution.cli.common import EXIT_OK
from risk.config import load_config

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    config = sub.add_parser("config", help="configuration tools")
    actions = config.add_subparsers(dest="config_action", required=True)
    check = actions.add_parser("check", help="validate a risk_limits.yaml")
    check.add_argument("path")
    check.set_defaults(handler=_check)


def _check(args: argparse.Namespace) -> int:
    cfg = load_config(args.path)  # ConfigError -> exit 78 in main()
    sections = len(type(cfg).model_fields) - 1
    sys.stdout.write(f"OK {args.path}: version {cfg.version}, {sections} sections\n")
    return EXIT_OK
