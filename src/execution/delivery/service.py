"""The background delivery thread: decisions into the outbox, the outbox into Kafka.

Every process that evaluates ticks runs one (``start_delivery``); only the one holding the
exclusive ``delivery.lock`` in the log dir produces to Kafka, so engine and monitor sharing a
log dir never deliver the same outbox twice, and a survivor takes over from the cursor when the
holder dies (the kernel drops the lock with the process). The tick path only appends a tuple to
a :class:`~risk.decisions.DecisionRecorder`; nothing here blocks it. Kafka unset → no thread.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from pathlib import Path
from typing import Any, Final

from execution.delivery.producer import OutboxProducer
from execution.delivery.settings import DeliverySettings
from risk.config import RiskConfig
from risk.decisions import DECISIONS_EVENT, DecisionRecorder
from risk.journal import EvidenceLog
from risk.outbox import open_lock

__all__ = ["LEADER_LOCK", "Delivery", "make_recorder", "start_delivery"]

LEADER_LOCK: Final = "delivery.lock"
_DECISION_FLUSH_S: Final = 0.1
_ROWS_PER_LINE: Final = 2000  # one outbox line = one Kafka record: stay far below 1 MB
_LEADER_RETRY_S: Final = 1.0
_RESTART_BACKOFF_S: Final = 5.0


def make_recorder(config: RiskConfig) -> DecisionRecorder | None:
    """A decision recorder when Kafka is configured and ``decisions_per_second`` > 0."""
    kafka = config.kafka
    if not kafka.bootstrap_servers.strip() or kafka.decisions_per_second == 0:
        return None
    return DecisionRecorder(kafka.decisions_per_second)


class Delivery:
    """A daemon thread; ``start()`` once, ``stop()`` at shutdown (flushes, saves the cursor)."""

    def __init__(
        self,
        log: EvidenceLog,
        settings: DeliverySettings,
        *,
        recorder: DecisionRecorder | None = None,
        close_timeout: float = 5.0,
    ) -> None:
        self.log = log
        self.settings = settings
        self.recorder = recorder
        self.close_timeout = close_timeout
        self.producer: OutboxProducer | None = None
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="riskguard-delivery", daemon=True)
        self._flushed_at = 0.0

    @property
    def log_dir(self) -> Path:
        return self.log.log_dir

    def start(self) -> Delivery:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Flush decisions, flush in-flight records (``close_timeout``), save the cursor."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def is_leader(self) -> bool:
        return self.producer is not None

    def caught_up(self) -> bool:
        producer = self.producer
        return producer is not None and producer.caught_up()

    def _report(self, event: str, **fields: Any) -> None:
        self.log.emit(event, **fields)

    def _run(self) -> None:
        lock_fd = open_lock(self.log_dir / LEADER_LOCK, self.log.file_mode)
        next_try = 0.0
        try:
            while not self._stop.is_set():
                try:
                    self._flush_decisions()
                    if self.producer is None and time.monotonic() >= next_try:
                        if _try_lock(lock_fd):
                            self._lead()
                        else:
                            next_try = time.monotonic() + _LEADER_RETRY_S
                    if self.producer is not None:
                        self.producer.step(_DECISION_FLUSH_S / 2)
                    else:
                        self._stop.wait(_DECISION_FLUSH_S)
                except Exception as exc:  # a disk or client error: start over from the cursor
                    self.error = exc
                    self._report("kafka.delivery_error", error=f"{type(exc).__name__}: {exc}")
                    self._drop_producer(timeout=1.0)
                    next_try = time.monotonic() + _RESTART_BACKOFF_S
                    self._stop.wait(_RESTART_BACKOFF_S)
        finally:
            with contextlib.suppress(Exception):
                self._flush_decisions(force=True)
                if self.producer is not None:
                    self.producer.step(0)  # pick up the last decisions and reports
            self._drop_producer(timeout=self.close_timeout)
            os.close(lock_fd)  # releases the leader lock

    def _lead(self) -> None:
        self.producer = OutboxProducer(
            self.log_dir, self.settings, file_mode=self.log.file_mode, report=self._report
        )
        self._report("kafka.delivery_started", cursor=list(self.producer.start))

    def _drop_producer(self, timeout: float) -> None:
        producer, self.producer = self.producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                producer.close(timeout)

    def _flush_decisions(self, *, force: bool = False) -> None:
        recorder = self.recorder
        if recorder is None:
            return
        now = time.monotonic()
        if not force and now - self._flushed_at < _DECISION_FLUSH_S:
            return
        self._flushed_at = now
        rows = recorder.drain()
        columns = list(recorder.columns)
        for start in range(0, len(rows), _ROWS_PER_LINE):
            chunk = rows[start : start + _ROWS_PER_LINE]
            self.log.append_batch(DECISIONS_EVENT, columns=columns, count=len(chunk), rows=chunk)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def start_delivery(
    config: RiskConfig, log: EvidenceLog, *, recorder: DecisionRecorder | None = None
) -> Delivery | None:
    """Start the delivery thread when ``kafka.bootstrap_servers`` is set; else None, silently."""
    settings = DeliverySettings.from_config(config)
    if not settings.enabled:
        return None
    return Delivery(log, settings, recorder=recorder).start()
