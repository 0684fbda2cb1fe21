"""Helpers for the event tests: evidence logs in tmp dirs, unique topics, reading topics back."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from execution.delivery import DeliverySettings
from execution.verify.kafka_broker import create_topics
from risk.clock import Clock, SystemClock
from risk.journal import EvidenceLog
from risk.outbox import Position, segment_files
from risk.outbox_reader import OutboxReader

PARTITIONS = 3


def make_log(log_dir: Path, *, clock: Clock | None = None, **kwargs: Any) -> EvidenceLog:
    options: dict[str, Any] = {"component": "test", "account": "1001", **kwargs}
    return EvidenceLog(
        log_dir, clock=clock or SystemClock(), file_mode=0o660, dir_mode=0o770, **options
    )


def outbox_events(log_dir: Path) -> list[tuple[dict[str, Any], Position]]:
    """Every event in the outbox, in order, with the position just after its line."""
    reader = OutboxReader(log_dir, Position(segment_files(log_dir)[0][0], 0))
    found = []
    while lines := reader.read():
        found.extend((orjson.loads(line), end) for line, end in lines)
    reader.close()
    return found


@dataclass(frozen=True)
class Topics:
    events: str
    decisions: str

    def settings(self, bootstrap: str, **overrides: Any) -> DeliverySettings:
        return DeliverySettings(
            bootstrap, events_topic=self.events, decisions_topic=self.decisions, **overrides
        )


def new_topics(bootstrap: str, prefix: str) -> Topics:
    tag = uuid.uuid4().hex[:10]
    topics = Topics(f"{prefix}-events-{tag}", f"{prefix}-decisions-{tag}")
    create_topics(bootstrap, [topics.events, topics.decisions], partitions=PARTITIONS)
    return topics


def consume(bootstrap: str, topic: str, count: int = 0, timeout: float = 60.0) -> list[Message]:
    """Every record of ``topic`` up to its end offsets as of now (at least ``count``); no group
    join: partitions are assigned directly."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )
    partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    ends = {tp.partition: consumer.get_watermark_offsets(tp, timeout=30)[1] for tp in partitions}
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    received: list[Message] = []
    done = {p: end == 0 for p, end in ends.items()}
    deadline = time.monotonic() + timeout
    try:
        while not (all(done.values()) and len(received) >= count):
            if time.monotonic() > deadline:
                raise AssertionError(f"{topic}: {len(received)} records, ends {ends}")
            for msg in consumer.consume(num_messages=10_000, timeout=0.5):
                error = msg.error()
                if error is not None and error.code() != KafkaError._PARTITION_EOF:
                    raise AssertionError(f"consume {topic}: {error}")
                if error is None:
                    received.append(msg)
                    done[msg.partition()] = msg.offset() + 1 >= ends[msg.partition()]
    finally:
        consumer.close()
    return received


def header(msg: Message, name: str) -> bytes:
    return dict(msg.headers() or [])[name]


def wait_for(
    predicate: Any, timeout: float, what: str, interval: float = 0.02, detail: Any = None
) -> None:
    """Poll ``predicate`` until true; fail with ``what`` (and ``detail()``) after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            extra = f": {detail()}" if detail is not None else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{extra}")
        time.sleep(interval)


def delivery_state(delivery: Any) -> str:
    """What a Delivery is doing, for failure messages."""
    producer = delivery.producer
    if producer is None:
        return f"not leading (alive={delivery.is_alive()}, error={delivery.error!r})"
    return (
        f"alive={delivery.is_alive()} error={delivery.error!r} stats={producer.stats} "
        f"in_flight={producer.in_flight()} committed={producer.committed} "
        f"read={producer._reader.position} at_end={producer._reader.at_end} "
        f"pending={producer._pending} failed={producer._failed} fatal={producer._fatal} "
        f"timeouts={producer._timeouts}"
    )
