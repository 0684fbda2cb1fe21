"""A delivery process SIGKILLed with a backlog: its successor resumes from the durable cursor."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from risk.outbox import Position, load_cursor
from tests.events.helpers import consume, header, make_log, new_topics, outbox_events, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.multiprocess]

REPO = Path(__file__).resolve().parents[2]
BACKLOG = 40_000
WINDOW = 500  # the child's max in-flight records: slows it down enough to catch it mid-backlog


def _worker(log_dir: Path, bootstrap: str, events: str, decisions: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "tests.events.delivery_worker", str(log_dir), bootstrap]
    with (log_dir.parent / "worker.err").open("a") as errors:
        return subprocess.Popen(
            [*cmd, events, decisions, str(WINDOW)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )


def _progress(log_dir: Path) -> str:
    events = [e for e, _ in outbox_events(log_dir) if not e["event"].startswith("risk.")]
    errors = (log_dir.parent / "worker.err").read_text()[-2000:]
    return f"cursor {load_cursor(log_dir)}; worker events {events}; stderr {errors}"


def _start_of(child: subprocess.Popen[str]) -> Position:
    assert child.stdout is not None
    line = child.stdout.readline()  # the worker prints this as soon as it leads delivery
    assert line, f"worker exited with {child.wait(10)} before leading delivery"
    return Position(*json.loads(line)["start"])


def test_restart_when_producer_sigkilled_with_backlog_then_resumes_from_cursor(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    """Events before the durable cursor are never sent again; every event arrives."""
    topics = new_topics(kafka_bootstrap, "crash")
    log_dir = tmp_path / "log"
    log = make_log(log_dir, delivery=True, segment_bytes=1 << 20)
    for i in range(BACKLOG):
        log.emit("risk.warning", reason_code="DRAWDOWN", n=i)
    ours = [(e["event_id"], end) for e, end in outbox_events(log_dir)]

    first = _worker(log_dir, kafka_bootstrap, topics.events, topics.decisions)
    try:
        assert _start_of(first) == Position(1, 0)
        wait_for(
            lambda: (load_cursor(log_dir) or Position(1, 0)) > Position(1, 0),
            60,
            "progress",
            detail=lambda: _progress(log_dir),
        )
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.communicate(timeout=10)
    cursor = load_cursor(log_dir)
    assert cursor is not None
    delivered_before = [event_id for event_id, end in ours if end <= cursor]
    assert 0 < len(delivered_before) < BACKLOG, "the kill must land in the middle of the backlog"

    second = _worker(log_dir, kafka_bootstrap, topics.events, topics.decisions)
    try:
        assert _start_of(second) == cursor
        end_of_backlog = ours[-1][1]
        wait_for(
            lambda: (load_cursor(log_dir) or cursor) >= end_of_backlog,
            60,
            "the backlog",
            detail=lambda: _progress(log_dir),
        )
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            second.kill()
            second.communicate()
    records = consume(kafka_bootstrap, topics.events, BACKLOG, timeout=60)

    seen = Counter(
        header(m, "event_id").decode() for m in records if header(m, "event") == b"risk.warning"
    )
    missing = [event_id for event_id, _ in ours if event_id not in seen]
    replayed_before_cursor = [event_id for event_id in delivered_before if seen[event_id] > 1]
    duplicates = sum(count - 1 for count in seen.values())
    print(
        f"\ncrash: backlog {BACKLOG}; cursor at kill {cursor} = {len(delivered_before)} events; "
        f"missing {len(missing)}; duplicates {duplicates} (acked after the last cursor save)"
    )
    assert second.returncode == 0
    assert missing == []
    assert replayed_before_cursor == [], "events before the durable cursor were sent again"
