"""One contender of the ``concurrent_trips`` scenario: ``python -m execution.verify.racer``.

It imports everything, opens the breaker, says it is ready (creates ``--ready``), spins until
``--go`` exists, trips, and prints one JSON line: when it went, when its trip was durable, and
the seq and state its write produced. The start spread is a fraction of a millisecond, well
under one fsynced breaker write, so the writers really contend for ``breaker.lock``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import orjson

from risk.circuit_breaker import CircuitBreaker
from risk.clock import SystemClock
from risk.config import load_config
from risk.journal import EvidenceLog
from risk.reason_codes import ReasonCode

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="racer")
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--name", required=True)
    parser.add_argument("--ready", required=True, type=Path)
    parser.add_argument("--go", required=True, type=Path)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    config = load_config(args.config)
    paths, clock = config.paths, SystemClock()
    sink = EvidenceLog(
        paths.log_dir,
        component="racer",
        clock=clock,
        file_mode=paths.file_mode,
        dir_mode=paths.dir_mode,
    )
    breaker = CircuitBreaker(
        paths.state_dir,
        role="racer",
        clock=clock,
        sink=sink,
        history_limit=config.kill_switch.history_limit,
        lock_timeout_ms=config.kill_switch.lock_timeout_ms,
        file_mode=paths.file_mode,
        dir_mode=paths.dir_mode,
        operator=args.name,
    )
    breaker.read()
    args.ready.touch()
    deadline = time.monotonic() + args.timeout
    while not os.path.exists(args.go):
        if time.monotonic() > deadline:
            sys.stderr.write("racer: no go signal\n")
            return 1
        time.sleep(0.0002)  # a barrier, not a wait for behaviour: ~0.2 ms start spread
    go_ns = time.time_ns()
    view = breaker.trip(ReasonCode.MANUAL_TRIP, f"{args.name}: concurrent trip drill")
    done_ns = time.time_ns()
    line = {"name": args.name, "go_ns": go_ns, "done_ns": done_ns, "seq": view.seq}
    sys.stdout.write(orjson.dumps({**line, "state": view.state.value}).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
