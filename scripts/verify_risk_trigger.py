#!/usr/bin/env python3
"""Chaos verification against real processes: the same as ``riskguard verify``.

    scripts/verify_risk_trigger.py --config config/risk_limits.yaml [SCENARIO...] \
        [--json] [--list] [--keep] [--kafka embedded|HOST:PORT]

Prints a table (scenario, PASS/FAIL, key latency, detail), writes
``paths.log_dir/verify/results-<UTC>.json`` and exits non-zero if any scenario failed.
"""

from __future__ import annotations

import sys

from execution.cli import run_subcommand

if __name__ == "__main__":
    sys.exit(run_subcommand(["verify"], sys.argv[1:]))
