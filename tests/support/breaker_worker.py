"""Child processes for the breaker's multi-process tests (``-m tests.support.breaker_worker``).

``mix``: one worker of the concurrency test. Prints ``READY``, waits for ``GO`` on stdin, then does
``--ops`` seeded random trip/reset/read calls on the shared state dir. Every successful transition
is logged as ``T <seq> <action> <to_state>``; every read is checked (readable, seq never backwards
within this process). The last line is ``S <json summary>``.

``zygote``: the crash test's fork server. Importing pydantic costs ~0.25 s per interpreter, so one
process per lane imports once and forks a fresh child per kill. Commands on stdin:
``fork <seed>`` starts a child that prints ``READY <pid>`` and then loops trip/reset as fast as it
can, printing ``ACK <pid> <seq> <action> <to_state>`` once each call has returned;
``reap <pid>`` waits for that (killed) child and prints ``REAPED <pid> <status>``. Every line goes
to the shared stdout pipe with one unbuffered ``os.write``, so after ``REAPED`` the parent has every
ACK the child produced. Anything unexpected in a child prints ``ERR <pid> <repr>``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

from risk.breaker_state import Action, InvalidTransition
from risk.circuit_breaker import BreakerLockTimeout, BreakerWriteError, CircuitBreaker
from risk.clock import SystemClock
from risk.events import NullSink
from risk.reason_codes import ReasonCode

__all__ = ["main"]

_TRIP_ACTIONS = (Action.HALT, Action.HALT, Action.REDUCE)
_MAX_FAILURES_KEPT = 20


def _breaker(state_dir: Path, role: str, history_limit: int) -> CircuitBreaker:
    return CircuitBreaker(
        state_dir, role=role, clock=SystemClock(), sink=NullSink(), history_limit=history_limit
    )


def _say(line: str) -> None:
    os.write(1, f"{line}\n".encode())


# ---------------------------------------------------------------------------------------- mix
def _run_mix(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    cb = _breaker(args.state_dir, f"worker-{args.worker_id}", args.history_limit)
    cb.initialise()  # as every real process does at start-up, concurrently with the others
    counts = {"trip": 0, "reset": 0, "rejected": 0, "read": 0, "lock_timeout": 0, "write_error": 0}
    failures: list[str] = []
    failure_count = 0
    last_seq = 0

    def fail(text: str) -> None:
        nonlocal failure_count
        failure_count += 1
        if len(failures) < _MAX_FAILURES_KEPT:
            failures.append(text)

    _say("READY")
    if sys.stdin.readline().strip() != "GO":
        return 2
    with args.out.open("w", encoding="ascii") as out:
        for op in range(args.ops):
            roll = rng.random()
            try:
                if roll < args.trip_share:
                    action = rng.choice(_TRIP_ACTIONS)
                    view = cb.trip(
                        ReasonCode.MANUAL_TRIP, f"op {op}", evidence={"op": op}, action=action
                    )
                    counts["trip"] += 1
                elif roll < args.trip_share + args.reset_share:
                    action = Action.RESET
                    view = cb.reset(operator=f"worker-{args.worker_id}", reason=f"op {op}")
                    counts["reset"] += 1
                else:
                    view = cb.read()
                    cb.is_safe()
                    counts["read"] += 1
                    if not view.readable or view.trigger is ReasonCode.BREAKER_UNREADABLE:
                        fail(f"op {op}: unreadable view: {view.reason}")
                    if view.seq < last_seq:
                        fail(f"op {op}: read seq {view.seq} after {last_seq}")
                    last_seq = max(last_seq, view.seq)
                    continue
            except InvalidTransition:
                counts["rejected"] += 1  # reset while ACTIVE: nothing written
                continue
            except BreakerLockTimeout as exc:
                counts["lock_timeout"] += 1
                fail(f"op {op}: {exc}")
                continue
            except BreakerWriteError as exc:
                counts["write_error"] += 1
                fail(f"op {op}: {exc}")
                continue
            if view.seq <= last_seq:
                fail(f"op {op}: {action.value} wrote seq {view.seq} after seeing {last_seq}")
            last_seq = max(last_seq, view.seq)
            out.write(f"T {view.seq} {action.value} {view.state.value}\n")
        summary = {
            "pid": os.getpid(),
            "ops": args.ops,
            **counts,
            "last_seq": last_seq,
            "failure_count": failure_count,
            "failures": failures,
        }
        out.write(f"S {json.dumps(summary)}\n")
    return 0


# ------------------------------------------------------------------------------------ zygote
def _crash_child(state_dir: Path, history_limit: int, seed: int) -> None:
    """Loop trip/reset until SIGKILLed; ACK each transition only after the call has returned."""
    pid = os.getpid()
    rng = random.Random(seed)
    cb = _breaker(state_dir, "crash-child", history_limit)  # after fork: the actor has our pid
    _say(f"READY {pid}")
    while True:
        action = rng.choice(_TRIP_ACTIONS)
        view = cb.trip(ReasonCode.MANUAL_TRIP, "crash test", evidence={"pid": pid}, action=action)
        _say(f"ACK {pid} {view.seq} {action.value} {view.state.value}")
        try:
            view = cb.reset(operator="crash-test", reason="crash test")
        except InvalidTransition:
            continue  # another lane's child reset first
        _say(f"ACK {pid} {view.seq} {Action.RESET.value} {view.state.value}")


def _run_zygote(args: argparse.Namespace) -> int:
    for raw in sys.stdin.buffer:
        command, _, operand = raw.decode("ascii").strip().partition(" ")
        if command == "fork":
            pid = os.fork()
            if pid == 0:
                status = 0
                try:
                    _crash_child(args.state_dir, args.history_limit, int(operand))
                except BaseException as exc:
                    _say(f"ERR {os.getpid()} {exc!r}")
                    status = 3
                finally:
                    os._exit(status)  # never run the zygote's loop or flush its buffers
        elif command == "reap":
            _, status = os.waitpid(int(operand), 0)
            _say(f"REAPED {operand} {status}")
        else:
            _say(f"ERR {os.getpid()} unknown command {command!r}")
            return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="breaker_worker")
    sub = parser.add_subparsers(dest="mode", required=True)
    mix = sub.add_parser("mix")
    mix.add_argument("--state-dir", type=Path, required=True)
    mix.add_argument("--out", type=Path, required=True)
    mix.add_argument("--worker-id", type=int, required=True)
    mix.add_argument("--ops", type=int, required=True)
    mix.add_argument("--seed", type=int, required=True)
    mix.add_argument("--trip-share", type=float, default=0.3)
    mix.add_argument("--reset-share", type=float, default=0.3)
    mix.add_argument("--history-limit", type=int, default=100)
    zygote = sub.add_parser("zygote")
    zygote.add_argument("--state-dir", type=Path, required=True)
    zygote.add_argument("--history-limit", type=int, default=100)
    args = parser.parse_args(argv)
    return _run_mix(args) if args.mode == "mix" else _run_zygote(args)


if __name__ == "__main__":
    raise SystemExit(main())
