"""Outbox → Kafka: in order, from a durable cursor, with a bounded in-flight window.

Rules (reference kafka.md §3): a delivery callback on every record; the cursor moves only over
a contiguous run of acked records and is made durable at most every ``cursor_interval_s``; a
failed record (timeout, purge) is produced again, in outbox order, once nothing is in flight; a
fatal error or a run of ``stall_timeouts`` timeouts recreates the producer. During an outage the
window stays at ``max_in_flight`` records and the backlog waits in the outbox, not in memory.
Idempotence holds within one producer; a recreate or a restart may write a record twice, which
consumers drop by ``event_id``.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Callable
from enum import Enum
from functools import partial
from pathlib import Path
from typing import Any, Final

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from execution.delivery.records import OutRecord, UnreadableLine, to_record
from execution.delivery.settings import DeliverySettings, producer_config
from risk.outbox import Position, load_cursor, save_cursor, segment_files
from risk.outbox_reader import OutboxReader

__all__ = ["OutboxProducer", "Report"]

Report = Callable[..., None]
_READ_BYTES: Final = 256 * 1024
_RETRY_BACKOFF_S: Final = 0.5
_ERROR_REPORT_S: Final = 60.0
_PERMANENT: Final = frozenset({KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.INVALID_RECORD})


class _State(Enum):
    PENDING = 1
    ACKED = 2
    FAILED = 3


class _Entry:
    __slots__ = ("end", "generation", "record", "size", "state")

    def __init__(self, end: Position, record: OutRecord | None) -> None:
        self.end = end
        self.record = record
        self.size = len(record.value) if record is not None else 0
        self.state = _State.ACKED if record is None else _State.PENDING
        self.generation = 0


def _ignore(*_args: Any, **_kwargs: Any) -> None:
    return None


class OutboxProducer:
    """One producer session over the outbox in ``log_dir``; drive it with :meth:`step`."""

    def __init__(
        self,
        log_dir: Path,
        settings: DeliverySettings,
        *,
        file_mode: int = 0o660,
        report: Report = _ignore,
        producer_factory: Callable[[dict[str, Any]], Producer] = Producer,
    ) -> None:
        self.log_dir = log_dir
        self.settings = settings
        self._file_mode = file_mode
        self._report = report
        self._factory = producer_factory
        self.start = self._start_position()
        self._reader = OutboxReader(log_dir, self.start)
        self._window: deque[_Entry] = deque()
        self._window_bytes = 0  # bytes of records held for a possible resend
        self._pending = 0
        self._failed = 0
        self._fatal: str | None = None
        self._timeouts = 0
        self._retry_at = 0.0
        self._failing_since: float | None = None
        self.committed = self.start
        self._saved = self.start
        self._saved_at = time.monotonic()
        self._generation = 0
        self._error_reported: dict[int, float] = {}
        self.stats = {"produced": 0, "acked": 0, "failed": 0, "recreated": 0, "skipped": 0}
        self._producer = self._new_producer()

    # ------------------------------------------------------------------ driving
    def step(self, timeout: float = 0.05) -> int:
        """Read and produce what fits, serve callbacks, retry, move the cursor; records read."""
        read = self._fill()
        self._poll(0 if read else timeout)
        self._advance()
        if self._fatal is not None or self._timeouts >= self.settings.stall_timeouts:
            self._recreate(self._fatal or f"{self._timeouts} consecutive timeouts")
        elif self._failed and not self._pending and time.monotonic() >= self._retry_at:
            self._resend()
        self._maybe_save(force=not self._window)
        return read

    def caught_up(self) -> bool:
        """Nothing in flight and nothing left in the outbox right now."""
        reader = self._reader
        return not self._window and reader.at_end and self.committed == reader.position

    def in_flight(self) -> int:
        return len(self._window)

    def in_flight_bytes(self) -> int:
        return self._window_bytes

    def close(self, timeout: float = 5.0) -> None:
        """Flush what is in flight for up to ``timeout`` s, then make the cursor durable."""
        with contextlib.suppress(KafkaException):
            self._producer.flush(timeout)
        self._advance()
        self._maybe_save(force=True)
        self._reader.close()

    # ------------------------------------------------------------------ reading + producing
    def _fill(self) -> int:
        if self._failed or self._fatal is not None:
            return 0  # keep order: the failed records go again before anything newer
        settings = self.settings
        if len(self._window) >= settings.max_in_flight:
            return 0
        if self._window_bytes >= settings.max_in_flight_bytes:
            return 0
        lines = self._reader.read(_READ_BYTES, settings.max_in_flight - len(self._window))
        for line, end in lines:
            entry = _Entry(end, self._record(line, end))
            self._window.append(entry)
            self._window_bytes += entry.size
            if entry.record is not None:
                self._produce(entry)
        return len(lines)

    def _record(self, line: bytes, end: Position) -> OutRecord | None:
        if not line.strip():
            return None
        try:
            return to_record(line, self.settings.events_topic, self.settings.decisions_topic)
        except UnreadableLine as exc:
            self.stats["skipped"] += 1
            self._report("outbox.unreadable_line", position=list(end), error=str(exc))
            return None

    def _produce(self, entry: _Entry) -> None:
        record = entry.record
        assert record is not None
        entry.generation = self._generation
        try:
            self._producer.produce(
                record.topic,
                value=record.value,
                key=record.key,
                headers=record.headers,
                timestamp=record.timestamp_ms,
                on_delivery=partial(self._on_delivery, entry, self._generation),
            )
        except BufferError:
            self._mark_failed(entry, "client queue full")
            return
        except KafkaException as exc:
            error = exc.args[0]
            if isinstance(error, KafkaError) and error.code() in _PERMANENT:
                self._reject(entry, error)
                return
            self._mark_failed(entry, str(exc))
            if isinstance(error, KafkaError) and error.fatal():
                self._fatal = str(error)
            return
        entry.state = _State.PENDING
        self._pending += 1
        self.stats["produced"] += 1

    def _on_delivery(
        self, entry: _Entry, generation: int, err: KafkaError | None, _m: Message
    ) -> None:
        if generation != entry.generation or entry.state is not _State.PENDING:
            return  # a report from a producer that was replaced
        self._pending -= 1
        if err is None:
            entry.state = _State.ACKED
            entry.record = None
            self._window_bytes -= entry.size
            self._timeouts = 0
            self.stats["acked"] += 1
            if self._failing_since is not None:
                down = time.monotonic() - self._failing_since
                self._failing_since = None
                self._report("kafka.delivery_recovered", failing_s=round(down, 3))
            return
        if err.code() in _PERMANENT:
            self._reject(entry, err)
            return
        if err.code() == KafkaError._MSG_TIMED_OUT:
            self._timeouts += 1
        if err.fatal():
            self._fatal = str(err)
        self._mark_failed(entry, str(err))

    def _mark_failed(self, entry: _Entry, reason: str) -> None:
        entry.state = _State.FAILED
        self._failed += 1
        self.stats["failed"] += 1
        self._retry_at = time.monotonic() + _RETRY_BACKOFF_S
        if self._failing_since is None:
            self._failing_since = time.monotonic()
            self._report("kafka.delivery_failing", error=reason, in_flight=len(self._window))

    def _reject(self, entry: _Entry, error: KafkaError) -> None:
        """The broker will never take this record (too large): record that, and move on."""
        record = entry.record
        entry.state = _State.ACKED
        entry.record = None
        self._window_bytes -= entry.size
        self.stats["skipped"] += 1
        self._report(
            "kafka.record_rejected",
            event_ref=record.event_id if record else None,
            error=error.str(),
            position=list(entry.end),
        )

    # ------------------------------------------------------------------ recovery
    def _poll(self, timeout: float) -> None:
        try:
            self._producer.poll(timeout)
        except KafkaException as exc:
            self._fatal = str(exc)

    def _resend(self) -> None:
        for entry in self._window:
            if entry.state is _State.FAILED:
                self._failed -= 1
                self._produce(entry)

    def _recreate(self, reason: str) -> None:
        old = self._producer
        try:
            # queued records go back to us; in-flight ones get their answer first (purging
            # them too would turn every record the broker did take into a duplicate)
            old.purge(in_queue=True, in_flight=False, blocking=False)
            old.flush(2.0)
        except KafkaException:
            pass
        self._generation += 1
        for entry in self._window:
            if entry.state is _State.PENDING:
                entry.state = _State.FAILED
                self._failed += 1
        self._pending = 0
        self._fatal = None
        self._timeouts = 0
        self.stats["recreated"] += 1
        self._report("kafka.producer_recreated", reason=reason, in_flight=len(self._window))
        self._producer = self._new_producer()
        self._resend()

    def _new_producer(self) -> Producer:
        config = producer_config(self.settings)
        config["error_cb"] = self._on_error
        return self._factory(config)

    def _on_error(self, err: KafkaError) -> None:
        """librdkafka's client-level errors: fatal ones recreate, the rest are reported (once a
        minute per kind: "all brokers down" repeats every reconnect during an outage)."""
        if err.fatal():
            self._fatal = str(err)
        now = time.monotonic()
        if now >= self._error_reported.get(err.code(), 0.0):
            self._error_reported[err.code()] = now + _ERROR_REPORT_S
            self._report("kafka.client_error", error=err.str(), fatal=err.fatal())

    # ------------------------------------------------------------------ cursor
    def _advance(self) -> None:
        window = self._window
        while window and window[0].state is _State.ACKED:
            self.committed = window.popleft().end
        if not window:
            self.committed = max(self.committed, self._reader.position)

    def _maybe_save(self, *, force: bool) -> None:
        if self.committed == self._saved:
            return
        now = time.monotonic()
        if not force and now - self._saved_at < self.settings.cursor_interval_s:
            return
        try:
            save_cursor(self.log_dir, self.committed, self._file_mode)
        except OSError as exc:
            self._report("outbox.cursor_write_failed", error=str(exc))
            self._saved_at = now
            return
        self._saved, self._saved_at = self.committed, now

    def _start_position(self) -> Position:
        """The saved cursor, checked against the files; the first segment if there is none."""
        files = segment_files(self.log_dir)
        first, active = files[0][0], files[-1][0]
        try:
            cursor = load_cursor(self.log_dir)
        except ValueError as exc:  # damaged by hand: resend from the oldest segment kept
            self._report("outbox.cursor_unreadable", error=str(exc), restart=[first, 0])
            return Position(first, 0)
        if cursor is None:
            return Position(first, 0)
        if cursor.segment > active:
            self._report("outbox.cursor_ahead", cursor=list(cursor), active=active)
            return Position(active, 0)
        return cursor
