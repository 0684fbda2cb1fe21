"""The breaker under SIGKILL: a kill at any instant inside trip/reset loses no acknowledged write.

Each lane is a fork server (``tests.support.breaker_worker zygote``) whose children loop trip/reset
on one shared state dir and ACK every transition after the call returns. The test lets a child get
0–3 of its transitions acknowledged, kills it 0–3 ms later (the span of one durable write here),
reaps it, and checks the file at once.
"""

from __future__ import annotations

import itertools
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest

from risk.breaker_state import Action, BreakerRecord, BreakerState
from risk.circuit_breaker import BREAKER_FILE, CircuitBreaker
from risk.clock import SystemClock
from risk.durable import TEMP_SUFFIX
from risk.events import NullSink

pytestmark = [pytest.mark.multiprocess, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
LANES = 4
KILLS_PER_LANE = 300
ACKS_BEFORE_KILL = (0, 0, 1, 2, 3)  # then 0–3 ms: inside the first write, or a later one
HISTORY_LIMIT = 256  # ≫ the transitions that can land between a kill and its check


@dataclass(frozen=True, slots=True)
class Ack:
    pid: int
    seq: int
    action: Action
    to_state: BreakerState


@dataclass(slots=True)
class LaneReport:
    kills: int = 0
    kills_after_ack: int = 0
    kills_mid_write: int = 0  # the child's temp file was left behind: killed inside atomic_write
    kills_between_write_and_ack: int = (
        0  # the child's last transition is on disk but was never acknowledged
    )
    acks: list[Ack] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def _breaker(state_dir: Path) -> CircuitBreaker:
    return CircuitBreaker(
        state_dir,
        role="verifier",
        clock=SystemClock(),
        sink=NullSink(),
        history_limit=HISTORY_LIMIT,
    )


def _temp_path(state_dir: Path, pid: int) -> Path:
    return state_dir / f".{BREAKER_FILE}.{pid}{TEMP_SUFFIX}"


def _check_after_kill(record: BreakerRecord, pid: int, acks: list[Ack]) -> list[str]:
    """Problems with the file as found right after ``pid`` died having acknowledged ``acks``."""
    problems = []
    seqs = [e.seq for e in record.history]
    if seqs != list(range(record.seq - len(seqs) + 1, record.seq + 1)):
        problems.append(f"history seqs not contiguous up to {record.seq}: {seqs[:3]}…{seqs[-3:]}")
    oldest = record.seq - len(seqs) + 1
    for ack in acks:
        if ack.seq > record.seq:
            problems.append(f"pid {pid}: acknowledged seq {ack.seq} lost, file at {record.seq}")
        elif ack.seq >= oldest:
            entry = record.history[ack.seq - oldest]
            got = (entry.action, entry.to_state, entry.actor.pid)
            if got != (ack.action, ack.to_state, pid):
                problems.append(f"pid {pid}: history {entry.seq} is {got}, acknowledged {ack}")
    if acks and acks[-1].seq == record.seq and record.state is not acks[-1].to_state:
        problems.append(f"pid {pid}: file state {record.state} after acknowledged {acks[-1]}")
    return problems


def _read_line(stream: IO[bytes]) -> list[str]:
    line = stream.readline().decode("ascii").split()
    if not line:
        raise AssertionError("zygote closed its stdout")
    return line


def _ack(line: list[str]) -> Ack:
    assert line[0] == "ACK", f"child failed: {' '.join(line)}"
    _, pid, seq, action, to_state = line
    return Ack(int(pid), int(seq), Action(action), BreakerState(to_state))


def _run_lane(state_dir: Path, seed: int) -> LaneReport:
    """Fork, kill, reap and check ``KILLS_PER_LANE`` children of one fork server."""
    rng = random.Random(seed)
    report = LaneReport()
    verifier = _breaker(state_dir)
    zygote = subprocess.Popen(
        [
            *(sys.executable, "-m", "tests.support.breaker_worker", "zygote"),
            f"--state-dir={state_dir}",
            f"--history-limit={HISTORY_LIMIT}",
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert zygote.stdin is not None
    assert zygote.stdout is not None
    live = 0  # the pid of a child not yet reaped
    try:
        for _ in range(KILLS_PER_LANE):
            zygote.stdin.write(f"fork {rng.randrange(2**31)}\n".encode())
            zygote.stdin.flush()
            tag, pid_text, *rest = _read_line(zygote.stdout)
            assert tag == "READY", (tag, pid_text, rest)
            pid = live = int(pid_text)
            acks = [_ack(_read_line(zygote.stdout)) for _ in range(rng.choice(ACKS_BEFORE_KILL))]
            time.sleep(rng.uniform(0, 0.003))  # the randomised kill point, not a wait for behaviour
            os.kill(pid, signal.SIGKILL)
            zygote.stdin.write(f"reap {pid}\n".encode())
            zygote.stdin.flush()
            while (line := _read_line(zygote.stdout))[0] != "REAPED":
                acks.append(_ack(line))
            assert line[1:] == [str(pid), str(signal.SIGKILL)], line  # died of our SIGKILL
            live = 0
            view = verifier.read()
            report.kills += 1
            report.kills_after_ack += bool(acks)
            report.kills_mid_write += _temp_path(state_dir, pid).exists()
            report.acks.extend(acks)
            if view.record is None:
                report.failures.append(f"after killing {pid}: unreadable: {view.reason}")
                continue
            report.failures.extend(_check_after_kill(view.record, pid, acks))
            last_acked = acks[-1].seq if acks else 0
            report.kills_between_write_and_ack += any(
                e.actor.pid == pid and e.seq > last_acked for e in view.record.history
            )
    finally:
        if live:  # a failed check left a child looping
            os.kill(live, signal.SIGKILL)
        zygote.stdin.close()
        try:
            if zygote.wait(timeout=30) != 0:
                report.failures.append(f"zygote exited {zygote.returncode}")
        except subprocess.TimeoutExpired:
            zygote.kill()
            raise
        finally:
            zygote.stdout.close()
    return report


@pytest.fixture(scope="module")
def run_dir() -> Iterator[Path]:
    """A private dir under ./var: the shared --basetemp is wiped by any other pytest session."""
    (ROOT / "var").mkdir(exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="test-breaker-crash-", dir=ROOT / "var"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def crash_run(run_dir: Path) -> tuple[list[LaneReport], Path, int]:
    """Four lanes × 300 SIGKILLs on one state dir; the lane reports, the dir and the seed."""
    seed = int(os.environ.get("RISKGUARD_TEST_SEED", random.SystemRandom().randrange(2**31)))
    print(f"breaker crash seed: {seed} (set RISKGUARD_TEST_SEED to repeat)")
    state_dir = run_dir / "state"
    _breaker(state_dir).initialise()
    with ThreadPoolExecutor(LANES) as pool:
        reports = list(pool.map(_run_lane, [state_dir] * LANES, range(seed, seed + LANES)))
    print(
        f"kills={sum(r.kills for r in reports)} "
        f"after_ack={sum(r.kills_after_ack for r in reports)} "
        f"mid_write={sum(r.kills_mid_write for r in reports)} "
        f"landed_unacknowledged={sum(r.kills_between_write_and_ack for r in reports)} "
        f"acks={sum(len(r.acks) for r in reports)}"
    )
    return reports, state_dir, seed


@pytest.mark.timeout(170)
def test_sigkill_when_inside_trip_or_reset_then_file_stays_whole_and_acks_survive(
    crash_run: tuple[list[LaneReport], Path, int],
) -> None:
    """After each of ≥1,000 kills the file parses and holds every acknowledged transition."""
    # Arrange
    reports, _, seed = crash_run

    # Act
    failures = [f for r in reports for f in r.failures]
    kills = sum(r.kills for r in reports)

    # Assert
    assert failures == [], f"seed {seed}: {failures[:10]}"
    assert kills >= 1_000
    assert sum(r.kills_after_ack for r in reports) > 0, "no kill came after an acknowledgement"
    assert sum(r.kills_mid_write for r in reports) > 0, "no kill landed inside a write"


def test_acks_when_collected_from_every_child_then_no_seq_was_acknowledged_twice(
    crash_run: tuple[list[LaneReport], Path, int],
) -> None:
    """Killed writers never make two processes believe they wrote the same seq."""
    # Arrange
    reports, _, seed = crash_run

    # Act
    counts = Counter(a.seq for r in reports for a in r.acks)

    # Assert
    assert counts, "no transition was acknowledged"
    assert [s for s, n in counts.items() if n > 1] == [], f"seed {seed}"


def test_final_file_when_all_children_are_dead_then_history_matches_every_recent_ack(
    crash_run: tuple[list[LaneReport], Path, int],
) -> None:
    """The final history is contiguous and agrees with every acknowledgement still inside it."""
    # Arrange
    reports, state_dir, seed = crash_run
    acks = sorted((a for r in reports for a in r.acks), key=lambda a: a.seq)

    # Act
    view = _breaker(state_dir).read()

    # Assert
    assert view.record is not None, view.reason
    record = view.record
    oldest = record.history[0].seq
    assert [e.seq for e in record.history] == list(range(oldest, record.seq + 1))
    assert record.seq >= acks[-1].seq
    for ack in itertools.dropwhile(lambda a: a.seq < oldest, acks):
        entry = record.history[ack.seq - oldest]
        assert (entry.action, entry.to_state, entry.actor.pid) == (
            ack.action,
            ack.to_state,
            ack.pid,
        ), f"seed {seed}: seq {ack.seq}"


def test_initialise_when_kills_left_temp_files_then_removes_them_and_keeps_the_state(
    crash_run: tuple[list[LaneReport], Path, int],
) -> None:
    """Re-initialising after the crashes removes orphaned temps and never overwrites the record."""
    # Arrange
    reports, state_dir, _ = crash_run
    before = _breaker(state_dir).read()
    orphans = list(state_dir.glob(f".{BREAKER_FILE}.*{TEMP_SUFFIX}"))

    # Act
    after = _breaker(state_dir).initialise()

    # Assert
    assert orphans, "the kills left no temp file to clean up"
    assert len(orphans) <= sum(r.kills_mid_write for r in reports)
    assert list(state_dir.glob(f".*{TEMP_SUFFIX}")) == []
    assert after.readable
    assert (after.seq, after.state, after.record) == (before.seq, before.state, before.record)
