#!/usr/bin/env python3
"""Manual breaker reset for operators: the same as ``riskguard breaker reset``.

    scripts/reset_breaker.py --config /etc/riskguard/risk_limits.yaml \
        --operator alice --reason "reviewed drawdown, positions flat" [--rebaseline-peak] [--yes]

Shows the state and what will be cleared, asks for confirmation, refuses (exit 3) inside the
recovery cooldown or while the monitor's latest snapshot still breaches (unless --force).
"""

from __future__ import annotations

import sys

from execution.cli import main

GLOBAL_OPTIONS = ("--config", "--state-dir")


def _split(argv: list[str]) -> tuple[list[str], list[str]]:
    """Global options go before the subcommand; everything else belongs to ``breaker reset``."""
    globals_, rest = [], []
    it = iter(argv)
    for arg in it:
        name = arg.split("=", 1)[0]
        if name in GLOBAL_OPTIONS:
            globals_.append(arg)
            if "=" not in arg:
                globals_.append(next(it, ""))
        else:
            rest.append(arg)
    return globals_, rest


if __name__ == "__main__":
    head, tail = _split(sys.argv[1:])
    sys.exit(main([*head, "breaker", "reset", *tail]))
