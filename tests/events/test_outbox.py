"""The evidence log as an outbox: segments, retention that spares undelivered events, fsync."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from risk import outbox
from risk.journal import is_durable
from risk.outbox import ACTIVE_FILE, Position, apply_retention, save_cursor, sealed_segments
from risk.outbox_reader import OutboxReader
from tests.events.helpers import make_log, outbox_events

SEGMENT = 4096


def _fill(log_dir: Path, count: int, **kwargs: object) -> None:
    log = make_log(log_dir, segment_bytes=SEGMENT, **kwargs)
    for i in range(count):
        log.emit("risk.warning", reason_code="DRAWDOWN", i=i, pad="x" * 100)
    log.close()


def test_rotation_when_segment_full_then_sealed_in_order_and_nothing_lost(tmp_path: Path) -> None:
    """Crossing segment_bytes seals numbered segments; reading them back gives every event once."""
    log_dir = tmp_path / "log"

    _fill(log_dir, 300, delivery=True)

    sealed = sealed_segments(log_dir)
    assert sealed == list(range(1, len(sealed) + 1))
    assert len(sealed) >= 5
    assert all((log_dir / f"evidence-{n:08d}.jsonl").stat().st_size >= SEGMENT for n in sealed)
    events = [event for event, _ in outbox_events(log_dir)]
    assert [event["i"] for event in events] == list(range(300))


def test_retention_when_delivery_on_and_no_cursor_then_nothing_deleted(tmp_path: Path) -> None:
    """Kafka configured but nothing delivered yet: every segment is kept, whatever the limit."""
    log_dir = tmp_path / "log"

    _fill(log_dir, 300, delivery=True, retention_segments=1)

    assert len(sealed_segments(log_dir)) >= 5
    assert len(outbox_events(log_dir)) == 300


@pytest.mark.parametrize(
    ("cursor_segment", "keep", "expected_first"),
    [(1, 1, 1), (3, 1, 2), (3, 0, 3), (5, 2, 3), (99, 2, None)],
    ids=["cursor-in-first", "keep-one-delivered", "keep-none", "keep-two", "cursor-ahead"],
)
def test_retention_when_cursor_saved_then_only_delivered_segments_beyond_keep_deleted(
    tmp_path: Path, cursor_segment: int, keep: int, expected_first: int | None
) -> None:
    """Segments before the cursor's segment are delivered; only those beyond ``keep`` go."""
    log_dir = tmp_path / "log"
    _fill(log_dir, 300, delivery=True, retention_segments=1000)
    before = sealed_segments(log_dir)
    save_cursor(log_dir, Position(cursor_segment, 10), 0o660)

    apply_retention(log_dir, keep, delivery=True)

    after = sealed_segments(log_dir)
    if expected_first is None:  # the cursor is past everything: all delivered, keep the newest
        assert after == before[-keep:]
    else:
        assert after == [n for n in before if n >= expected_first]
    assert all(n >= min(cursor_segment, before[-1] + 1) - keep for n in after)


def test_retention_when_rotating_with_cursor_behind_then_undelivered_segments_survive(
    tmp_path: Path,
) -> None:
    """Rotation applies retention, and the cursor stops it: a backlog is never thrown away."""
    log_dir = tmp_path / "log"
    _fill(log_dir, 60, delivery=True, retention_segments=1)
    save_cursor(log_dir, Position(2, 0), 0o660)  # segment 1 delivered, 2.. not

    _fill(log_dir, 300, delivery=True, retention_segments=1)

    assert sealed_segments(log_dir)[0] == 1  # one delivered segment kept (retention 1)
    assert [e["i"] for e, _ in outbox_events(log_dir)][-300:] == list(range(300))


def test_retention_when_delivery_off_and_never_on_then_old_segments_deleted(
    tmp_path: Path,
) -> None:
    """Without Kafka the log is only a log: the newest ``retention_segments`` sealed are kept."""
    log_dir = tmp_path / "log"

    _fill(log_dir, 300, delivery=False, retention_segments=2)

    assert len(sealed_segments(log_dir)) == 2


@pytest.mark.parametrize(
    ("event", "durable"),
    [
        ("breaker.tripped", True),
        ("breaker.reset", True),
        ("risk.breach", True),
        ("engine.tripped", True),
        ("risk.warning", False),
        ("monitor.heartbeat", False),
    ],
)
def test_emit_when_event_is_critical_then_fsynced_before_return(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, event: str, durable: bool
) -> None:
    """Breaker transitions, breaches and trips are on disk (fsync of the line) when emit returns."""
    log = make_log(tmp_path / "log")
    synced: list[bytes] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        real_fsync(fd)
        synced.append((tmp_path / "log" / ACTIVE_FILE).read_bytes())

    monkeypatch.setattr(outbox.os, "fsync", spy)

    log.emit(event, reason_code="DRAWDOWN")

    assert is_durable(event) is durable
    if durable:
        assert len(synced) == 1
        assert event.encode() in synced[0], "the fsync must cover the line just written"
    else:
        assert synced == []


def test_writer_when_previous_crash_left_torn_line_then_next_event_starts_a_new_line(
    tmp_path: Path,
) -> None:
    """A line cut by a crash is ended on open, so it costs only itself, not the next event."""
    log_dir = tmp_path / "log"
    log_dir.mkdir()
    (log_dir / ACTIVE_FILE).write_bytes(b'{"ts":"2026-01-01T00:00:00.000000Z","event":"risk.br')
    log = make_log(log_dir)

    log.emit("risk.breach", reason_code="DRAWDOWN")

    reader = OutboxReader(log_dir, Position(1, 0))
    lines = [line for line, _ in reader.read()]
    assert len(lines) == 2
    assert lines[0].endswith(b"risk.br")
    assert b'"event":"risk.breach"' in lines[1]


def test_reader_when_segment_sealed_while_reading_then_follows_to_next_segment(
    tmp_path: Path,
) -> None:
    """A reader at the end of the active segment continues into the next one after rotation."""
    log_dir = tmp_path / "log"
    log = make_log(log_dir, segment_bytes=SEGMENT, delivery=True)
    log.emit("risk.warning", i=0)
    reader = OutboxReader(log_dir, Position(1, 0))
    first = reader.read()

    for i in range(1, 80):
        log.emit("risk.warning", i=i, pad="x" * 100)
    rest = []
    while lines := reader.read():
        rest.extend(lines)

    assert len(first) + len(rest) == 80
    assert reader.position.segment == sealed_segments(log_dir)[-1] + 1


def test_segment_tail_when_log_rotates_between_reads_then_every_line_once_in_order(
    tmp_path: Path,
) -> None:
    """Readers that follow the log (verifier, demo, bench) see each complete line exactly once,
    across sealing (a segment keeps its number) and never half a line."""
    log_dir = tmp_path / "log"
    log = make_log(log_dir, segment_bytes=SEGMENT)
    tail = outbox.SegmentTail(log_dir)
    seen: list[int] = []
    for i in range(120):
        log.emit("risk.warning", reason_code="DRAWDOWN", i=i, pad="x" * 100)
        if i % 7 == 0:
            seen += [orjson.loads(line)["i"] for line in tail.new_lines()]
    log.close()
    with (log_dir / ACTIVE_FILE).open("ab") as active:
        active.write(b'{"event":"half a li')  # a writer mid-line: not returned yet
    seen += [orjson.loads(line)["i"] for line in tail.new_lines()]

    assert len(sealed_segments(log_dir)) >= 3
    assert seen == list(range(120))
    assert tail.new_lines() == []
