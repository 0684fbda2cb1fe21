"""The suite's real Kafka broker: lossless produce/consume, and data kept across a SIGKILL."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, Message, Producer

from execution.verify.kafka_broker import EmbeddedKafka, create_topics

pytestmark = pytest.mark.kafka


def _unique_topic(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _produce_acked(bootstrap: str, topic: str, values: list[bytes]) -> None:
    """Produce with the lossless settings; fail unless every message is acked."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 1,
            "compression.type": "lz4",
            "message.timeout.ms": 30000,
        }
    )
    errors: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            errors.append(err)

    for value in values:
        producer.produce(topic, value=value, on_delivery=on_delivery)
        producer.poll(0)
    assert producer.flush(60) == 0, "messages still queued after flush"
    assert errors == []


def _consume(bootstrap: str, topic: str, count: int, timeout: float = 60.0) -> list[Message]:
    """Consume ``count`` messages from the beginning of ``topic`` with a fresh consumer group."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": _unique_topic("test-group"),
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    received: list[Message] = []
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + timeout
        while len(received) < count and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=count - len(received), timeout=1.0):
                assert msg.error() is None, msg.error()
                received.append(msg)
    finally:
        consumer.close()
    return received


def test_consume_when_100_messages_acked_by_idempotent_producer_then_exactly_those_in_order(
    kafka_bootstrap: str,
) -> None:
    """100 messages acked by an idempotent acks=all producer come back once each, in order."""
    topic = _unique_topic("broker-roundtrip")
    create_topics(kafka_bootstrap, [topic])
    sent = [f"event-{i:03d}".encode() for i in range(100)]

    _produce_acked(kafka_bootstrap, topic, sent)
    received = _consume(kafka_bootstrap, topic, len(sent))

    assert [msg.value() for msg in received] == sent
    assert [msg.offset() for msg in received] == list(range(100))


@pytest.mark.slow
def test_restart_when_broker_sigkilled_then_acked_messages_survive_and_produce_works(
    kafka_broker: EmbeddedKafka,
) -> None:
    """Messages acked before a SIGKILL are still there after a restart on the same port."""
    topic = _unique_topic("broker-restart")
    kafka_broker.create_topics([topic])
    before = [f"before-{i:02d}".encode() for i in range(50)]
    after = [f"after-{i:02d}".encode() for i in range(50)]
    _produce_acked(kafka_broker.bootstrap, topic, before)
    bootstrap, old_pid = kafka_broker.bootstrap, kafka_broker.pid

    kafka_broker.kill()
    assert not kafka_broker.is_running()
    kafka_broker.start()  # same ports and log dir; raises with the broker log tail on failure

    assert kafka_broker.bootstrap == bootstrap
    assert kafka_broker.pid not in (None, old_pid)
    _produce_acked(kafka_broker.bootstrap, topic, after)
    received = _consume(kafka_broker.bootstrap, topic, 100)
    assert [msg.value() for msg in received] == before + after
