"""The outbox producer's rules with a scripted client: retry in order, recreate, bounded window,
and a cursor that moves only over contiguous acks. (The real broker: test_delivery_kafka.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import orjson
from confluent_kafka import KafkaError, KafkaException

from execution.delivery import DeliverySettings, OutboxProducer
from risk.outbox import load_cursor
from tests.events.helpers import make_log, outbox_events

Delivery = Callable[[KafkaError | None, Any], None]


class ScriptedClient:
    """Stands in for confluent_kafka.Producer. ``verdict(value)`` decides each report at
    ``poll``: None (ack), a KafkaError, or "hold" (stays in flight)."""

    instances: ClassVar[list[ScriptedClient]] = []

    def __init__(self, config: dict[str, Any], verdict: Callable[[bytes], Any]) -> None:
        self.config = config
        self.verdict = verdict
        self.queue: list[tuple[bytes, Delivery]] = []
        self.acked: list[bytes] = []
        self.poll_raises: KafkaException | None = None
        ScriptedClient.instances.append(self)

    def produce(self, topic: str, *, value: bytes, on_delivery: Delivery, **_: Any) -> None:
        self.queue.append((value, on_delivery))

    def poll(self, _timeout: float = 0) -> int:
        if self.poll_raises is not None:
            raise self.poll_raises
        held = []
        for value, report in self.queue:
            outcome = self.verdict(value)
            if isinstance(outcome, str):  # "hold" (KafkaError.__eq__ must not meet a str)
                held.append((value, report))
                continue
            if outcome is None:
                self.acked.append(value)
            report(outcome, None)
        self.queue = held
        return 0

    def flush(self, _timeout: float = 0) -> int:
        return len(self.queue)

    def purge(self, **_: Any) -> None:
        for _value, report in self.queue:
            report(KafkaError(KafkaError._PURGE_QUEUE), None)
        self.queue = []


def _producer(log_dir: Path, verdict: Callable[[bytes], Any], **settings: Any) -> OutboxProducer:
    ScriptedClient.instances.clear()
    return OutboxProducer(
        log_dir,
        DeliverySettings("scripted:9092", **settings),
        producer_factory=lambda config: ScriptedClient(config, verdict),
    )


def _fill_outbox(log_dir: Path, count: int) -> list[str]:
    log = make_log(log_dir, delivery=True)
    for i in range(count):
        log.emit("risk.warning", i=i)
    return [event["event_id"] for event, _ in outbox_events(log_dir)]


def _acked_ids() -> list[str]:
    return [orjson.loads(v)["event_id"] for c in ScriptedClient.instances for v in c.acked]


def test_step_when_records_time_out_then_resent_in_order_and_all_acked(tmp_path: Path) -> None:
    """Timed-out records go again, oldest first, and none is skipped."""
    ids = _fill_outbox(tmp_path / "log", 30)
    attempts: dict[bytes, int] = {}

    def verdict(value: bytes) -> KafkaError | None:
        attempts[value] = attempts.get(value, 0) + 1
        return KafkaError(KafkaError._MSG_TIMED_OUT) if attempts[value] == 1 else None

    producer = _producer(tmp_path / "log", verdict)
    for _ in range(10):
        producer.step(0)
        producer._retry_at = 0  # no back-off wait in a unit test

    assert _acked_ids() == ids
    assert producer.stats["failed"] == 30
    assert producer.caught_up()
    assert load_cursor(tmp_path / "log") == producer.committed


def test_step_when_later_record_acked_first_then_cursor_waits_for_the_gap(
    tmp_path: Path,
) -> None:
    """The cursor never passes a record that is not acked, even if later ones are."""
    ids = _fill_outbox(tmp_path / "log", 5)
    first = ids[0].encode()
    holding = {"on": True}

    def verdict(value: bytes) -> str | None:
        return "hold" if first in value and holding["on"] else None

    producer = _producer(tmp_path / "log", verdict)
    producer.step(0)

    assert producer.committed.offset == 0
    assert producer.in_flight() == 5
    holding["on"] = False
    producer.step(0)
    assert producer.caught_up()


def test_step_when_client_never_acks_then_window_stays_bounded(tmp_path: Path) -> None:
    """A dead broker: at most max_in_flight records in the client; the rest wait on disk."""
    _fill_outbox(tmp_path / "log", 500)

    producer = _producer(tmp_path / "log", lambda _value: "hold", max_in_flight=64)
    for _ in range(20):
        producer.step(0)

    assert producer.in_flight() == 64
    assert sum(len(c.queue) for c in ScriptedClient.instances) == 64


def test_step_when_poll_raises_fatal_then_producer_recreated_and_records_resent(
    tmp_path: Path,
) -> None:
    """A fatal client error: purge, new client, everything unacked goes again."""
    ids = _fill_outbox(tmp_path / "log", 10)
    producer = _producer(tmp_path / "log", lambda _value: "hold")
    producer.step(0)
    broken = ScriptedClient.instances[0]
    broken.poll_raises = KafkaException(KafkaError(KafkaError._FATAL, fatal=True))

    producer.step(0)  # the poll raises: recreate, resend into the new client
    fresh = ScriptedClient.instances[-1]
    fresh.verdict = lambda _value: None
    producer.step(0)

    assert producer.stats["recreated"] == 1
    assert len(ScriptedClient.instances) == 2
    assert [orjson.loads(v)["event_id"] for v in fresh.acked][: len(ids)] == ids
    assert producer.caught_up()


def test_step_when_timeouts_run_long_then_producer_recreated(tmp_path: Path) -> None:
    """A run of stall_timeouts timeouts without a success recreates the client."""
    _fill_outbox(tmp_path / "log", 20)
    producer = _producer(
        tmp_path / "log", lambda _value: KafkaError(KafkaError._MSG_TIMED_OUT), stall_timeouts=20
    )

    producer.step(0)

    assert producer.stats["recreated"] == 1
