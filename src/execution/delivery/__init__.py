"""Delivery of the evidence outbox to Kafka (reference kafka.md §3) and topic administration."""

from execution.delivery.producer import OutboxProducer
from execution.delivery.service import Delivery, make_recorder, start_delivery
from execution.delivery.settings import DeliverySettings, client_config, producer_config
from execution.delivery.topics import create_topics

__all__ = [
    "Delivery",
    "DeliverySettings",
    "OutboxProducer",
    "client_config",
    "create_topics",
    "make_recorder",
    "producer_config",
    "start_delivery",
]
