#!/usr/bin/env python3
"""Chaos verification against real processes: the same as ``riskguard verify``.

    scripts/verify_risk_trigger.py --config config/risk_limits.yaml [SCENARIO...] \
        [--json] [--list] [--keep] [--kafka embedded|HOST:PORT]

Prints a table (scenario, PASS/FAIL, key latency, detail), writes
``paths.log_dir/verify/results-<UTC>.json`` and exits non-zero if any scenario failed.
"""

from __future__ import annotations

import sys

from execution.cli import main

GLOBAL_OPTIONS = ("--config", "--state-dir")


def _split(argv: list[str]) -> tuple[list[str], list[str]]:
    """Global options go before the subcommand; everything else belongs to ``verify``."""
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
    sys.exit(main([*head, "verify", *tail]))
