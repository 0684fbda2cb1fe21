"""Kafka outage: kill the broker mid-run, restart it, and find every outbox event on the topic.

The contract under test is docs/kafka.md "Delivery guarantees": the outbox is written first, a
broker outage only grows the backlog, delivery resumes from the cursor, at least once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

import orjson

from execution.verify.evidence import ms_between
from execution.verify.model import Probe, Scenario, Skipped
from execution.verify.scenarios.common import start_stack
from execution.verify.stack import Stack
from risk.config import load_config
from risk.outbox import CURSOR_FILE

__all__ = ["KAFKA_OUTAGE"]

MESSAGE_TIMEOUT_MS: Final = 3000  # test-sized kafka.message_timeout_ms: failures show quickly


def _topic_ids(stack: Stack, topic: str) -> list[str]:
    """Every event_id on ``topic`` now (a full read from the beginning)."""
    from execution.delivery import DeliverySettings  # noqa: PLC0415 - librdkafka on demand
    from execution.delivery.review import read_topics  # noqa: PLC0415

    settings = DeliverySettings.from_config(load_config(stack.config, env={}))
    ids = []
    for value in read_topics(settings, [topic], timeout=15.0):
        try:
            ids.append(str(orjson.loads(value)["event_id"]))
        except (orjson.JSONDecodeError, KeyError, TypeError):
            continue
    return ids


def _run_kafka_outage(probe: Probe) -> None:
    from execution.delivery import DeliverySettings, create_topics  # noqa: PLC0415
    from execution.verify.kafka_broker import EmbeddedKafka  # noqa: PLC0415

    kafka = probe.context.kafka
    if kafka is None:
        raise Skipped("Kafka not configured: use --kafka embedded (or a broker it may kill)")
    if kafka != "embedded":
        raise Skipped(f"{kafka} is not a broker the verifier can kill: use --kafka embedded")
    broker = EmbeddedKafka(probe.root / "kafka")
    probe.on_cleanup(broker.close)
    broker.start()
    overrides: dict[str, object] = {
        "kafka.bootstrap_servers": broker.bootstrap,
        "kafka.message_timeout_ms": MESSAGE_TIMEOUT_MS,
    }
    stack = start_stack(probe, "normal", overrides=overrides)
    config = load_config(stack.config, env={})
    topic = config.kafka.events_topic
    outcome = create_topics(DeliverySettings.from_config(config), timeout=30)
    probe.require("topics created", all(v in ("created", "exists") for v in outcome.values()))
    probe.wait("a process delivers the outbox", lambda: stack.event("kafka.delivery_started"), 20)
    probe.wait(
        "the delivered cursor moves",
        lambda: (stack.log_dir / CURSOR_FILE).exists() and bool(_topic_ids(stack, topic)),
        30,
    )
    killed_at = datetime.now(UTC)
    broker.kill()
    done = stack.cli("breaker", "trip", "--reason", "verify: trip during the Kafka outage")
    probe.require("`breaker trip` during the outage exits 0", done.returncode == 0, done.stderr)
    during = probe.wait("breaker.tripped", lambda: stack.event("breaker.tripped"), 5)
    probe.wait("kafka.delivery_failing", lambda: stack.event("kafka.delivery_failing"), 30)
    restarted_at = datetime.now(UTC)
    probe.latency("outage", ms_between(killed_at, restarted_at))
    broker.start()
    recovered = probe.wait(
        "kafka.delivery_recovered", lambda: stack.event("kafka.delivery_recovered"), 60
    )
    probe.latency("restart_to_recovered", ms_between(restarted_at, recovered))
    written = [e["event_id"] for e in stack.events()]  # everything up to now, outage included
    seen: set[str] = set()

    def all_delivered() -> bool:
        seen.update(_topic_ids(stack, topic))
        return seen.issuperset(written)

    try:
        probe.wait("every outbox event on the topic", all_delivered, 60)
    finally:
        lost = [i for i in written if i not in seen]
        probe.fact("outbox_events", len(written))
        probe.fact("lost", len(lost))
        probe.fact("lost_sample", lost[:5])
    probe.latency("restart_to_all_delivered", ms_between(restarted_at, datetime.now(UTC)))
    probe.check("the trip made during the outage is on the topic", during["event_id"] in seen)
    ids = _topic_ids(stack, topic)
    probe.fact("duplicates_on_topic", len(ids) - len(set(ids)))


KAFKA_OUTAGE = Scenario(
    "kafka_outage",
    "SIGKILL the Kafka broker mid-run, trip during the outage, restart the broker",
    "delivery starts (kafka.delivery_started) and reaches the topic; during the outage the trip "
    "still succeeds and kafka.delivery_failing is logged; after the restart "
    "kafka.delivery_recovered is logged and every event_id in the outbox up to then is on the "
    "events topic: 0 lost (duplicates allowed: at least once)",
    "restart_to_all_delivered",
    _run_kafka_outage,
    needs_kafka=True,
)
