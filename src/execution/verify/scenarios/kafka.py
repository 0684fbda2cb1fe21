"""Kafka outage: kill the broker mid-run, restart it, and find every outbox event on the topic.

The contract under test is docs/kafka.md "Delivery guarantees": the outbox is written first, a
broker outage only grows the backlog, delivery resumes from the cursor, at least once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

import orjson

from execution.verify.evidence import Event, ms_between, ts_of
from execution.verify.model import Probe, Scenario, Skipped
from execution.verify.scenarios.common import start_stack
from execution.verify.stack import Stack
from risk.config import load_config
from risk.outbox import CURSOR_FILE

if TYPE_CHECKING:
    from execution.delivery import DeliverySettings

__all__ = ["KAFKA_OUTAGE"]

MESSAGE_TIMEOUT_MS: Final = 3000  # test-sized kafka.message_timeout_ms: failures show quickly
DECISIONS_PER_SECOND: Final = 100  # per-tick decision batches: outbox lines every ~100 ms


def _topic_ids(settings: DeliverySettings) -> list[str]:
    """Every event_id on the events and decisions topics now (a full read from the start)."""
    from execution.delivery.review import read_topics  # noqa: PLC0415 - librdkafka on demand

    ids = []
    topics = [settings.events_topic, settings.decisions_topic]
    for value in read_topics(settings, topics, timeout=15.0):
        try:
            ids.append(str(orjson.loads(value)["event_id"]))
        except (orjson.JSONDecodeError, KeyError, TypeError):
            continue
    return ids


def _after(stack: Stack, name: str, when: datetime) -> Event | None:
    return next((e for e in stack.events(name) if ts_of(e) > when), None)


def _run_kafka_outage(probe: Probe) -> None:
    from execution.delivery import DeliverySettings, create_topics  # noqa: PLC0415 - librdkafka
    from execution.verify.kafka_broker import EmbeddedKafka  # noqa: PLC0415

    kafka = probe.context.kafka
    if kafka is None:
        raise Skipped("Kafka not configured: use --kafka embedded (or a broker it may kill)")
    if kafka != "embedded":
        raise Skipped(f"{kafka} is not a broker the verifier can kill: use --kafka embedded")
    broker = EmbeddedKafka(probe.root / "kafka")
    probe.on_cleanup(broker.close)
    broker.start()
    base = load_config(probe.context.base_config, env={})
    settings = DeliverySettings.from_config(base, bootstrap_servers=broker.bootstrap)
    outcome = create_topics(settings, timeout=30)  # before anyone produces: no auto-create
    probe.require("topics created", all(v in ("created", "exists") for v in outcome.values()))
    overrides: dict[str, object] = {
        "kafka.bootstrap_servers": broker.bootstrap,
        "kafka.message_timeout_ms": MESSAGE_TIMEOUT_MS,
        "kafka.decisions_per_second": DECISIONS_PER_SECOND,  # a steady backlog while it is down
    }
    stack = start_stack(probe, "normal", speed=4.0, overrides=overrides)
    probe.wait("a process delivers the outbox", lambda: stack.event("kafka.delivery_started"), 20)
    probe.wait(
        "the first events reach the topic",
        lambda: (stack.log_dir / CURSOR_FILE).exists() and bool(_topic_ids(settings)),
        30,
    )
    killed_at = datetime.now(UTC)
    broker.kill()
    done = stack.cli("breaker", "trip", "--reason", "verify: trip during the Kafka outage")
    probe.require("`breaker trip` during the outage exits 0", done.returncode == 0, done.stderr)
    during = probe.wait("breaker.tripped", lambda: stack.event("breaker.tripped"), 5)
    probe.wait(
        "kafka.delivery_failing after the kill",
        lambda: _after(stack, "kafka.delivery_failing", killed_at),
        30,
    )
    broker.start()
    ready_at = datetime.now(UTC)
    probe.latency("outage", ms_between(killed_at, ready_at))
    recovered = probe.wait(
        "kafka.delivery_recovered after the restart",
        lambda: _after(stack, "kafka.delivery_recovered", killed_at),
        60,
    )
    probe.latency("broker_ready_to_recovered", ms_between(ready_at, recovered))
    written = [e["event_id"] for e in stack.events()]  # everything up to now, outage included
    probe.fact("events_during_outage", sum(killed_at < ts_of(e) < ready_at for e in stack.events()))
    seen: set[str] = set()

    def all_delivered() -> bool:
        seen.update(_topic_ids(settings))
        return seen.issuperset(written)

    try:
        probe.wait("every outbox event on the topics", all_delivered, 60)
    finally:
        lost = [i for i in written if i not in seen]
        probe.fact("outbox_events", len(written))
        probe.fact("lost", len(lost))
        probe.fact("lost_sample", lost[:5])
    probe.latency("broker_ready_to_all_delivered", ms_between(ready_at, datetime.now(UTC)))
    probe.check("the trip made during the outage is on the topic", during["event_id"] in seen)
    ids = _topic_ids(settings)
    probe.fact("duplicates_on_topics", len(ids) - len(set(ids)))


KAFKA_OUTAGE = Scenario(
    "kafka_outage",
    "SIGKILL the Kafka broker mid-run (decisions on: a steady backlog), trip, restart it",
    "delivery starts (kafka.delivery_started) and reaches the topic; during the outage the trip "
    "still succeeds and kafka.delivery_failing is logged; after the restart "
    "kafka.delivery_recovered is logged and every event_id in the outbox up to then is on the "
    "events or decisions topic: 0 lost (duplicates allowed: at least once)",
    "broker_ready_to_all_delivered",
    _run_kafka_outage,
    needs_kafka=True,
)
