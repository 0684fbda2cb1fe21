"""``riskguard verify [SCENARIO...]``: chaos scenarios against real processes.

Each scenario runs a paper terminal, a monitor and an engine (or whatever it needs) on a config
derived from ``--config`` — its limits, test-sized timeouts — in its own dir under
``paths.log_dir/verify/``. Results: a table (or ``--json``) on stdout and
``paths.log_dir/verify/results-<UTC>.json``. Exit 0 when nothing failed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from execution.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    config_path,
    print_json,
    require_config,
)
from execution.verify import report
from execution.verify.model import Result, RunContext
from execution.verify.runner import run_scenarios
from execution.verify.scenarios import SCENARIOS, by_name

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    verify = sub.add_parser("verify", help="run chaos scenarios against real processes")
    verify.add_argument("scenarios", nargs="*", metavar="SCENARIO", help="default: all")
    verify.add_argument("--json", action="store_true", help="print the results document")
    verify.add_argument("--list", action="store_true", help="list the scenarios and exit")
    verify.add_argument("--keep", action="store_true", help="keep every scenario's dir")
    verify.add_argument(
        "--kafka",
        metavar="embedded|HOST:PORT",
        help="broker for kafka_outage (default: kafka.bootstrap_servers / "
        "KAFKA_BOOTSTRAP_SERVERS); only an embedded one can be killed",
    )
    verify.set_defaults(handler=_verify)


def _verify(args: argparse.Namespace) -> int:
    try:
        chosen = by_name(args.scenarios)
    except KeyError as exc:
        known = ", ".join(s.name for s in SCENARIOS)
        sys.stderr.write(f"unknown scenario: {exc.args[0]}; choose from: {known}\n")
        return EXIT_USAGE
    if args.list:
        if args.json:
            print_json(
                [
                    {
                        "name": s.name,
                        "description": s.description,
                        "passes_when": s.passes_when,
                        "key_latency": s.key_latency,
                        "needs_kafka": s.needs_kafka,
                    }
                    for s in chosen
                ]
            )
        else:
            sys.stdout.write(report.listing(chosen))
        return EXIT_OK
    config = require_config(args)  # ConfigError -> exit 78 in main()
    kafka = args.kafka or config.kafka.bootstrap_servers.strip() or None
    verify_dir = config.paths.log_dir / "verify"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    context = RunContext(config_path(args).resolve(), verify_dir / f"run-{stamp}", kafka)
    if not args.json:
        sys.stdout.write(report.HEADER)
        sys.stdout.flush()

    def show(result: Result) -> None:
        if not args.json:
            sys.stdout.write(report.row(result))
            sys.stdout.flush()

    run = run_scenarios(chosen, context, results_dir=verify_dir, keep=args.keep, on_result=show)
    if args.json:
        print_json({**run.as_dict(), "results_file": str(run.results_file)})
    else:
        sys.stdout.write(report.summary(run))
    return EXIT_OK if run.passed else EXIT_FAILURE
