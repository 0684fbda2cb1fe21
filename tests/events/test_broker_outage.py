"""Broker SIGKILL and restart under 1,000 events/s: every event reaches the topic."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from execution.delivery import Delivery
from execution.verify.kafka_broker import EmbeddedKafka
from tests.events.helpers import (
    consume,
    delivery_state,
    header,
    make_log,
    new_topics,
    outbox_events,
    wait_for,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

RATE = 1000  # events per second
DURATION_S = 22.0
KILL_AFTER_S = 4.0


class _Emitter(threading.Thread):
    """Appends RATE events/s to the outbox, paced by the monotonic clock, for DURATION_S."""

    def __init__(self, log_dir: Path) -> None:
        super().__init__(name="emitter", daemon=True)
        self.log = make_log(log_dir, delivery=True, segment_bytes=1 << 20)
        self.count = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            start = time.monotonic()
            while (elapsed := time.monotonic() - start) < DURATION_S:
                due = int(elapsed * RATE) + 1
                while self.count < due:
                    self.log.emit("risk.warning", reason_code="DRAWDOWN", n=self.count)
                    self.count += 1
                time.sleep(0.002)  # pacing a producer, not waiting for a result
        except BaseException as exc:
            self.error = exc
            raise


def test_deliver_when_broker_sigkilled_and_restarted_under_load_then_no_event_lost(
    tmp_path: Path, kafka_broker: EmbeddedKafka
) -> None:
    """≥20 s at 1,000 events/s with a broker SIGKILL + restart: 0 lost; duplicates reported."""
    topics = new_topics(kafka_broker.bootstrap, "outage")
    log_dir = tmp_path / "log"
    emitter = _Emitter(log_dir)
    # message timeout (3 s) well inside the outage: records time out, are re-sent, and the run
    # of timeouts recreates the producer: the hard path, not only librdkafka's own retries.
    settings = topics.settings(kafka_broker.bootstrap, message_timeout_ms=3000)
    delivery = Delivery(emitter.log, settings).start()
    emitter.start()
    wait_for(lambda: emitter.count >= KILL_AFTER_S * RATE, 30, "load to build up")
    wait_for(
        lambda: delivery.producer is not None and delivery.producer.stats["acked"] > 0,
        30,
        "first deliveries",
        detail=lambda: delivery_state(delivery),
    )
    killed_at = time.monotonic()

    kafka_broker.kill()
    kafka_broker.start()  # same port and data; blocks until it serves metadata
    back_at = time.monotonic()
    acked_then = delivery.producer.stats["acked"] if delivery.producer else 0
    wait_for(
        lambda: delivery.producer is not None and delivery.producer.stats["acked"] > acked_then,
        60,
        "delivery to resume",
        detail=lambda: delivery_state(delivery),
    )
    resumed_at = time.monotonic()
    emitter.join(DURATION_S + 30)
    emitted_at = time.monotonic()
    wait_for(delivery.caught_up, 90, "the backlog", detail=lambda: delivery_state(delivery))
    caught_up_at = time.monotonic()
    stats = dict(delivery.producer.stats) if delivery.producer else {}
    delivery.stop()

    assert emitter.error is None
    sent = {e["event_id"] for e, _ in outbox_events(log_dir) if e["event"] == "risk.warning"}
    records = consume(kafka_broker.bootstrap, topics.events, len(sent), timeout=90)
    ids = [header(m, "event_id").decode() for m in records if header(m, "event") == b"risk.warning"]
    lost = sent - set(ids)
    duplicates = len(ids) - len(set(ids))
    print(
        f"\noutage: produced {len(sent)} events at {RATE}/s over {DURATION_S:.0f} s; "
        f"broker down {back_at - killed_at:.1f} s; delivery resumed {resumed_at - back_at:.1f} s "
        f"after restart; backlog cleared {caught_up_at - emitted_at:.1f} s after the last event; "
        f"lost {len(lost)}; duplicates {duplicates}; producer {stats}"
    )
    assert len(sent) >= DURATION_S * RATE * 0.95
    assert lost == set(), f"{len(lost)} events never reached the topic"
