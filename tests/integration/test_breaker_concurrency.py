"""The breaker under real concurrent processes: no lost, duplicated or torn transitions."""

from __future__ import annotations

import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from risk.breaker_state import (
    Action,
    BreakerRecord,
    BreakerState,
    InvalidTransition,
    next_state,
)
from risk.circuit_breaker import CircuitBreaker
from risk.clock import SystemClock
from risk.events import NullSink

pytestmark = pytest.mark.multiprocess

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 4
OPS_PER_WORKER = 2_500
HISTORY_LIMIT = 100
WORKER_TIMEOUT_S = 150


@dataclass(frozen=True, slots=True)
class Transition:
    seq: int
    action: Action
    to_state: BreakerState
    pid: int


@dataclass(frozen=True, slots=True)
class WorkerResult:
    summary: dict[str, object]
    transitions: list[Transition]


def _read_worker_log(path: Path) -> WorkerResult:
    lines = path.read_text(encoding="ascii").splitlines()
    assert lines, f"{path} is empty"
    assert lines[-1].startswith("S "), f"{path} has no summary line: {lines[-1]!r}"
    summary = json.loads(lines[-1][2:])
    pid = int(summary["pid"])
    transitions = []
    for line in lines[:-1]:
        tag, seq, action, to_state = line.split()
        assert tag == "T", line
        transitions.append(Transition(int(seq), Action(action), BreakerState(to_state), pid))
    return WorkerResult(summary, transitions)


def _run_workers(state_dir: Path, log_dir: Path, seed: int) -> list[WorkerResult]:
    """Start every worker, release them together, and collect their logs."""
    procs = []
    for worker_id in range(WORKERS):
        cmd = [
            sys.executable,
            "-m",
            "tests.support.breaker_worker",
            "mix",
            f"--state-dir={state_dir}",
            f"--out={log_dir / f'worker-{worker_id}.log'}",
            f"--worker-id={worker_id}",
            f"--ops={OPS_PER_WORKER}",
            f"--seed={seed + worker_id}",
            f"--history-limit={HISTORY_LIMIT}",
        ]
        procs.append(
            subprocess.Popen(
                cmd,
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    try:
        for proc in procs:  # start barrier: every worker has imported and initialised
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "READY", proc.stderr
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("GO\n")
            proc.stdin.flush()
        for proc in procs:
            _, err = proc.communicate(timeout=WORKER_TIMEOUT_S)
            assert proc.returncode == 0, f"worker exited {proc.returncode}: {err}"
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return [_read_worker_log(log_dir / f"worker-{i}.log") for i in range(WORKERS)]


@dataclass(frozen=True, slots=True)
class ConcurrentRun:
    results: list[WorkerResult]
    seed: int
    state_dir: Path


def _breaker(state_dir: Path) -> CircuitBreaker:
    return CircuitBreaker(
        state_dir, role="test", clock=SystemClock(), sink=NullSink(), history_limit=HISTORY_LIMIT
    )


def _all_transitions(run: ConcurrentRun) -> list[Transition]:
    return sorted((t for r in run.results for t in r.transitions), key=lambda t: t.seq)


@pytest.fixture(scope="module")
def run_dir() -> Iterator[Path]:
    """A private dir under ./var: the shared --basetemp is wiped by any other pytest session."""
    (ROOT / "var").mkdir(exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="test-breaker-concurrency-", dir=ROOT / "var"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def concurrent_run(run_dir: Path) -> ConcurrentRun:
    """Four workers × 2,500 mixed operations on one state dir; their logs, seed and state dir."""
    seed = int(os.environ.get("RISKGUARD_TEST_SEED", random.SystemRandom().randrange(2**31)))
    print(f"breaker concurrency seed: {seed} (set RISKGUARD_TEST_SEED to repeat)")
    state_dir, log_dir = run_dir / "state", run_dir / "logs"
    log_dir.mkdir()
    _breaker(state_dir).initialise()
    return ConcurrentRun(_run_workers(state_dir, log_dir, seed), seed, state_dir)


@pytest.fixture(scope="module")
def final_record(concurrent_run: ConcurrentRun) -> BreakerRecord:
    """The breaker.json the workers left behind, read by a fresh reader."""
    view = _breaker(concurrent_run.state_dir).read()
    assert view.readable, view.reason
    assert view.record is not None
    return view.record


def test_mixed_operations_when_four_processes_share_a_state_dir_then_all_complete_cleanly(
    concurrent_run: ConcurrentRun,
) -> None:
    """At least 10,000 operations ran in 4 processes with no failure, timeout or unreadable view."""
    # Arrange
    results, seed = concurrent_run.results, concurrent_run.seed

    # Act
    total_ops = sum(int(r.summary["ops"]) for r in results)
    failures = {int(r.summary["pid"]): r.summary["failures"] for r in results}
    failure_count = sum(int(r.summary["failure_count"]) for r in results)

    # Assert
    assert len(results) >= 4
    assert total_ops >= 10_000
    assert failure_count == 0, f"seed {seed}: {failures}"
    for r in results:  # each worker really mixed all three kinds of operation
        assert int(r.summary["trip"]) > 0, r.summary
        assert int(r.summary["reset"]) > 0, r.summary
        assert int(r.summary["read"]) > 0, r.summary


def test_transitions_when_logged_by_all_workers_then_seqs_are_exactly_one_to_n(
    concurrent_run: ConcurrentRun, final_record: BreakerRecord
) -> None:
    """Every successful transition got its own seq: the union is {1..N}, N the file's final seq."""
    # Arrange
    results, seed = concurrent_run.results, concurrent_run.seed

    # Act
    seqs = [t.seq for r in results for t in r.transitions]

    # Assert
    assert len(seqs) == len(set(seqs)), f"seed {seed}: duplicated seqs"
    assert set(seqs) == set(range(1, final_record.seq + 1)), f"seed {seed}"
    assert final_record.seq == len(seqs)
    assert final_record.seq == sum(
        int(r.summary["trip"]) + int(r.summary["reset"]) for r in results
    )


def test_transitions_when_replayed_in_seq_order_then_each_follows_the_table(
    concurrent_run: ConcurrentRun, final_record: BreakerRecord
) -> None:
    """Each writer read the latest state under the lock: a replay of the log reproduces it."""
    # Arrange
    transitions = _all_transitions(concurrent_run)
    state = BreakerState.ACTIVE

    # Act
    mismatches = []
    for t in transitions:
        try:
            expected: BreakerState | None = next_state(state, t.action)
        except InvalidTransition:
            expected = None
        if expected is not t.to_state:
            mismatches.append((t.seq, state, t.action, t.to_state))
        state = t.to_state

    # Assert
    assert mismatches == []
    assert final_record.state is state


def test_history_when_run_finishes_then_last_entries_match_last_transitions(
    concurrent_run: ConcurrentRun, final_record: BreakerRecord
) -> None:
    """The bounded history holds the newest transitions, in strictly increasing seq, as logged."""
    # Arrange
    by_seq = {t.seq: t for t in _all_transitions(concurrent_run)}
    history = final_record.history

    # Act
    history_seqs = [e.seq for e in history]
    observed = [(e.seq, e.action, e.to_state, e.actor.pid) for e in history]
    expected = [(s, by_seq[s].action, by_seq[s].to_state, by_seq[s].pid) for s in history_seqs]

    # Assert
    assert len(history) == min(HISTORY_LIMIT, final_record.seq)
    assert all(a < b for a, b in itertools.pairwise(history_seqs))
    assert history_seqs == list(range(final_record.seq - len(history) + 1, final_record.seq + 1))
    assert observed == expected
