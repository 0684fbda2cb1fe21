"""Read events back from Kafka for ``riskguard logs --source kafka`` (no consumer group join).

Partitions are assigned directly (no group coordinator, no commit), from the first offset at or
after ``since`` (``offsets_for_times``) or from the beginning, up to the end offsets seen at the
start — or for ever with ``follow``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any, Final

from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, KafkaError, TopicPartition

from execution.delivery.settings import DeliverySettings, client_config

__all__ = ["read_topics"]

_POLL_S: Final = 0.5


def read_topics(
    settings: DeliverySettings,
    topics: list[str],
    *,
    since_ms: int | None = None,
    follow: bool = False,
    stop: Callable[[], bool] = lambda: False,
    timeout: float = 15.0,
) -> Iterator[bytes]:
    """Yield record values of ``topics`` in partition order (interleaved across partitions)."""
    config: dict[str, Any] = {
        **client_config(settings),
        "group.id": f"riskguard-logs-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
        "enable.partition.eof": True,
    }
    consumer = Consumer(config)
    try:
        assigned = _assignment(consumer, topics, since_ms, timeout)
        remaining = {(tp.topic, tp.partition) for tp in assigned if tp.offset != OFFSET_END}
        if not remaining and not follow:
            return
        consumer.assign(assigned)
        while follow or remaining:
            if stop():
                return
            for msg in consumer.consume(num_messages=500, timeout=_POLL_S):
                error = msg.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        remaining.discard((msg.topic(), msg.partition()))
                        continue
                    raise RuntimeError(f"consuming {msg.topic()}: {error}")
                value = msg.value()
                if value is not None:
                    yield value
    finally:
        consumer.close()


def _assignment(
    consumer: Consumer, topics: list[str], since_ms: int | None, timeout: float
) -> list[TopicPartition]:
    """Start offsets: the beginning, or the first record at/after ``since_ms``; an empty
    partition, or one with nothing that recent, starts at the end (OFFSET_END)."""
    metadata = consumer.list_topics(timeout=timeout)
    partitions: list[TopicPartition] = []
    for topic in topics:
        info = metadata.topics.get(topic)
        if info is None or info.error is not None:
            raise RuntimeError(f"topic {topic} not found (run `riskguard kafka init`)")
        for number in sorted(info.partitions):
            low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, number), timeout=timeout
            )
            start = OFFSET_BEGINNING if high > low else OFFSET_END
            partitions.append(TopicPartition(topic, number, start))
    if since_ms is not None and partitions:
        wanted = [TopicPartition(tp.topic, tp.partition, since_ms) for tp in partitions]
        found = consumer.offsets_for_times(wanted, timeout=timeout)
        for tp, hit in zip(partitions, found, strict=True):
            if tp.offset != OFFSET_END:
                tp.offset = hit.offset if hit.offset >= 0 else OFFSET_END
    return partitions
