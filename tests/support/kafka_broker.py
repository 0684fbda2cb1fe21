"""The suite's real Kafka broker: fixtures over ``execution.verify.kafka_broker.EmbeddedKafka``.

- ``kafka_bootstrap`` (session): bootstrap string of ``KAFKA_BOOTSTRAP_SERVERS`` if set (checked
  for reachability), else of an embedded broker started for the session.
- ``kafka_broker`` (session): the embedded broker itself, for kill/restart tests.

A broker that cannot start fails the run with the reason; Kafka tests are never skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from confluent_kafka import KafkaException

from execution.verify.kafka_broker import EmbeddedKafka, create_topics, quiet_admin

__all__ = ["EXTERNAL_ENV", "check_reachable", "create_topics"]

EXTERNAL_ENV = "KAFKA_BOOTSTRAP_SERVERS"


def check_reachable(bootstrap: str, timeout: float = 15.0) -> None:
    """Raise RuntimeError unless a broker at ``bootstrap`` answers a metadata request."""
    try:
        quiet_admin(bootstrap).list_topics(timeout=timeout)
    except KafkaException as exc:
        raise RuntimeError(f"{EXTERNAL_ENV}={bootstrap} is not reachable: {exc}") from exc


@pytest.fixture(scope="session")
def _embedded_kafka() -> Iterator[EmbeddedKafka]:
    broker = EmbeddedKafka()  # its own temp dir, deleted by close()
    try:
        broker.start()
    except Exception as exc:
        broker.close()
        message = f"could not start the embedded Kafka broker: {exc}"
        raise pytest.fail.Exception(message, pytrace=False) from None
    try:
        yield broker
    finally:
        broker.close()


@pytest.fixture(scope="session")
def kafka_bootstrap(request: pytest.FixtureRequest) -> str:
    """Bootstrap servers: ``KAFKA_BOOTSTRAP_SERVERS`` if set, else an embedded session broker."""
    external = os.environ.get(EXTERNAL_ENV)
    if external:
        try:
            check_reachable(external)
        except RuntimeError as exc:
            raise pytest.fail.Exception(str(exc), pytrace=False) from None
        return external
    broker: EmbeddedKafka = request.getfixturevalue("_embedded_kafka")
    return broker.bootstrap


@pytest.fixture(scope="session")
def kafka_broker(request: pytest.FixtureRequest) -> EmbeddedKafka:
    """The embedded session broker, for tests that kill and restart it."""
    if os.environ.get(EXTERNAL_ENV):
        pytest.fail(
            f"{EXTERNAL_ENV} is set, but this test kills and restarts the broker, which needs "
            f"the embedded one: unset {EXTERNAL_ENV} to run it",
            pytrace=False,
        )
    broker: EmbeddedKafka = request.getfixturevalue("_embedded_kafka")
    return broker
