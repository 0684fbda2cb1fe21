"""``riskguard kafka init``: create the events and decisions topics as configured."""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from execution.delivery.settings import DeliverySettings, client_config

__all__ = ["create_topics"]


def create_topics(settings: DeliverySettings, timeout: float = 30.0) -> dict[str, str]:
    """Create both topics; topic → ``created`` | ``exists`` | the error. Never deletes."""
    config: dict[str, Any] = {**client_config(settings), "error_cb": _ignore}
    admin = AdminClient(config)
    partitions, replication = settings.partitions, settings.replication_factor
    topics = [
        NewTopic(name, num_partitions=partitions, replication_factor=replication)
        for name in (settings.events_topic, settings.decisions_topic)
    ]
    futures = admin.create_topics(topics, operation_timeout=timeout, request_timeout=timeout)
    outcome: dict[str, str] = {}
    for name, future in futures.items():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            error = exc.args[0]
            code = error.code() if isinstance(error, KafkaError) else None
            exists = code == KafkaError.TOPIC_ALREADY_EXISTS
            outcome[name] = "exists" if exists else f"error: {error}"
        else:
            outcome[name] = "created"
    return outcome


def _ignore(_err: KafkaError) -> None:
    """Connection errors surface as the futures' errors; librdkafka need not print them."""
