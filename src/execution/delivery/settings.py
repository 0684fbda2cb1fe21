"""Kafka client settings from ``config.kafka``: the lossless producer profile and SASL/SSL.

The SASL password is read from ``sasl_password_file`` when a client is built, kept only in the
librdkafka config dict, and never logged (its key is masked by :mod:`risk.masking` anyway).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from risk.config import RiskConfig
from risk.config.schema import KafkaConfig

__all__ = ["DeliverySettings", "client_config", "producer_config", "read_secret"]

STALL_TIMEOUTS: Final = 200  # consecutive timeouts with no success: recreate the producer


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """What the producer needs; built from the config or directly in tests and benchmarks."""

    bootstrap_servers: str
    events_topic: str = "riskguard.events"
    decisions_topic: str = "riskguard.decisions"
    decisions_per_second: int = 0
    partitions: int = 3
    replication_factor: int = 1
    message_timeout_ms: int = 10_000
    linger_ms: int = 2
    compression: str = "lz4"
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password_file: Path | None = None
    ssl_ca_location: Path | None = None
    max_in_flight: int = 20_000  # outbox records handed to the client and not yet acked
    max_in_flight_bytes: int = 32 * 1024 * 1024  # ... and their bytes (decision batches are big)
    cursor_interval_s: float = 0.2  # how often a moved cursor is made durable
    stall_timeouts: int = STALL_TIMEOUTS

    @property
    def enabled(self) -> bool:
        return bool(self.bootstrap_servers.strip())

    @classmethod
    def from_kafka(cls, kafka: KafkaConfig, **overrides: Any) -> DeliverySettings:
        values: dict[str, Any] = {
            "bootstrap_servers": kafka.bootstrap_servers,
            "events_topic": kafka.events_topic,
            "decisions_topic": kafka.decisions_topic,
            "decisions_per_second": kafka.decisions_per_second,
            "partitions": kafka.partitions,
            "replication_factor": kafka.replication_factor,
            "message_timeout_ms": kafka.message_timeout_ms,
            "linger_ms": kafka.linger_ms,
            "compression": kafka.compression,
            "security_protocol": kafka.security_protocol,
            "sasl_mechanism": kafka.sasl_mechanism,
            "sasl_username": kafka.sasl_username,
            "sasl_password_file": kafka.sasl_password_file,
            "ssl_ca_location": kafka.ssl_ca_location,
        }
        values.update(overrides)
        return cls(**values)

    @classmethod
    def from_config(cls, config: RiskConfig, **overrides: Any) -> DeliverySettings:
        return cls.from_kafka(config.kafka, **overrides)


def read_secret(path: Path) -> str:
    """The secret in ``path`` without its trailing newline (systemd LoadCredential style)."""
    return path.read_text(encoding="utf-8").rstrip("\r\n")


def client_config(settings: DeliverySettings) -> dict[str, Any]:
    """Connection and security settings shared by producer, consumer and admin clients."""
    config: dict[str, Any] = {
        "bootstrap.servers": settings.bootstrap_servers,
        "security.protocol": settings.security_protocol,
        "reconnect.backoff.max.ms": 1000,
        "socket.keepalive.enable": True,
        "log_level": 2,  # critical only on stderr: errors are reported as events via error_cb
    }
    if settings.security_protocol.startswith("SASL"):
        if settings.sasl_password_file is None:
            raise ValueError("SASL needs kafka.sasl_password_file")
        config["sasl.mechanism"] = settings.sasl_mechanism
        config["sasl.username"] = settings.sasl_username
        config["sasl.password"] = read_secret(settings.sasl_password_file)
    if settings.ssl_ca_location is not None:
        config["ssl.ca.location"] = str(settings.ssl_ca_location)
    return config


def producer_config(settings: DeliverySettings) -> dict[str, Any]:
    """The lossless profile (reference kafka.md §3): idempotent, acks=all, bounded timeout."""
    return {
        **client_config(settings),
        "enable.idempotence": True,
        "acks": "all",
        "message.timeout.ms": settings.message_timeout_ms,
        "linger.ms": settings.linger_ms,
        "compression.type": settings.compression,
        "queue.buffering.max.messages": max(100_000, settings.max_in_flight * 2),
        "queue.buffering.max.kbytes": 262_144,
    }
