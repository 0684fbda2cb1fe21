#!/usr/bin/env python3
"""Manual breaker reset for operators: the same as ``riskguard breaker reset``.

    scripts/reset_breaker.py --config /etc/riskguard/risk_limits.yaml \
        --operator alice --reason "reviewed drawdown, positions flat" [--rebaseline-peak] [--yes]

Shows the state and what will be cleared, asks for confirmation, refuses (exit 3) inside the
recovery cooldown or while the monitor's latest snapshot still breaches (unless --force).
"""

from __future__ import annotations

import sys

from execution.cli import run_subcommand

if __name__ == "__main__":
    sys.exit(run_subcommand(["breaker", "reset"], sys.argv[1:]))
