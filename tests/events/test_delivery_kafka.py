"""Outbox → Kafka against the real broker: exactly the events, in order, with their metadata."""

from __future__ import annotations

import json
import re
from pathlib import Path

import orjson
import pytest
from confluent_kafka.admin import AdminClient

from execution.cli import main
from execution.delivery import Delivery, DeliverySettings, make_recorder, start_delivery
from execution.delivery.records import ts_to_ms
from risk.config import RiskConfig, load_config
from risk.decisions import DECISION_COLUMNS, DecisionRecorder
from risk.outbox import load_cursor
from tests.conftest import SHIPPED_CONFIG
from tests.events.helpers import (
    consume,
    delivery_state,
    header,
    make_log,
    new_topics,
    outbox_events,
    wait_for,
)

pytestmark = pytest.mark.kafka

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
ACCOUNTS = ("1001", "2002", "3003")


def test_deliver_when_n_events_in_outbox_then_exactly_those_event_ids_on_topic(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    """3 accounts x 1,000 events: each event_id once, per-account order kept, µs ts, headers."""
    topics = new_topics(kafka_bootstrap, "deliver")
    log_dir = tmp_path / "log"
    logs = [make_log(log_dir, account=a, delivery=True, segment_bytes=65536) for a in ACCOUNTS]
    for i in range(1000):
        for log in logs:
            log.emit("risk.warning", reason_code="DRAWDOWN", i=i, value=f"{i / 1000:.3f}")
    written = {e["event_id"]: e for e, _ in outbox_events(log_dir)}

    delivery = Delivery(logs[0], topics.settings(kafka_bootstrap)).start()
    wait_for(
        delivery.caught_up,
        60,
        "the outbox to be delivered",
        detail=lambda: delivery_state(delivery),
    )
    delivery.stop()
    records = consume(kafka_bootstrap, topics.events, len(written) + 1)

    by_id = {header(m, "event_id").decode(): m for m in records}
    ours = [m for m in records if header(m, "event").decode() == "risk.warning"]
    assert len(ours) == 3000
    assert len({header(m, "event_id") for m in ours}) == 3000, "duplicates on the topic"
    assert set(written) <= set(by_id), "events missing from the topic"
    for account in ACCOUNTS:
        mine = [m for m in ours if m.key() == account.encode()]
        assert len({m.partition() for m in mine}) == 1, "one key, one partition"
        assert [orjson.loads(m.value())["i"] for m in sorted(mine, key=lambda m: m.offset())] == (
            list(range(1000))
        )
    for msg in ours[:50]:
        event = orjson.loads(msg.value())
        assert TS.match(event["ts"])
        assert msg.timestamp()[1] == ts_to_ms(event["ts"])
        assert header(msg, "schema") == b"1"
        assert msg.value() == orjson.dumps(written[event["event_id"]])
    assert load_cursor(log_dir) is not None


def test_decisions_when_recorded_on_tick_path_then_batched_onto_decisions_topic(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    """Rows recorded by the tick path arrive on the decisions topic, at most N per second."""
    topics = new_topics(kafka_bootstrap, "decisions")
    log = make_log(tmp_path / "log", delivery=True)
    recorder = DecisionRecorder(per_second=500)
    delivery = Delivery(log, topics.settings(kafka_bootstrap), recorder=recorder).start()

    second = 1_900_000_000_000_000
    for i in range(800):
        recorder.record((second + i, "EURUSD", 1.1, 1.1002, 100_000_00, 0))
    recorder.record((second + 1_000_000, "EURUSD", 1.1, 1.1002, 100_000_00, 1))  # next second
    wait_for(lambda: recorder.pending() == 0 and delivery.caught_up(), 30, "decisions delivered")
    delivery.stop()
    records = consume(kafka_bootstrap, topics.decisions, 1, timeout=30)

    rows = [row for m in records for row in orjson.loads(m.value())["rows"]]
    assert len(rows) == 501
    assert recorder.limited == 300
    assert rows[-1] == [second + 1_000_000, "EURUSD", 1.1, 1.1002, 100_000_00, 1]
    assert {header(m, "event") for m in records} == {b"risk.decisions"}
    assert orjson.loads(records[0].value())["columns"] == list(DECISION_COLUMNS)


def _config_file(tmp_path: Path, topics_prefix: str) -> Path:
    text = SHIPPED_CONFIG.read_text()
    text = text.replace("/var/lib/riskguard", str(tmp_path / "state"))
    text = text.replace("/var/log/riskguard", str(tmp_path / "log"))
    text = text.replace("riskguard.events", f"{topics_prefix}.events")
    text = text.replace("riskguard.decisions", f"{topics_prefix}.decisions")
    path = tmp_path / "risk_limits.yaml"
    path.write_text(text)
    return path


def test_kafka_init_when_run_twice_then_creates_then_reports_existing(
    tmp_path: Path,
    kafka_bootstrap: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`riskguard kafka init` creates both topics with the configured partitions; rerun is ok."""
    prefix = f"init-{tmp_path.name[-8:]}"
    config = _config_file(tmp_path, prefix)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)

    first = main(["--config", str(config), "kafka", "init", "--json"])
    created = json.loads(capsys.readouterr().out)
    second = main(["--config", str(config), "kafka", "init"])
    again = capsys.readouterr().out

    assert (first, second) == (0, 0)
    assert created["topics"] == {f"{prefix}.events": "created", f"{prefix}.decisions": "created"}
    assert again.count(": exists (3 partitions, replication 1)") == 2
    metadata = AdminClient({"bootstrap.servers": kafka_bootstrap}).list_topics(timeout=10)
    assert len(metadata.topics[f"{prefix}.events"].partitions) == 3


def test_kafka_init_when_kafka_unset_then_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no bootstrap servers there is nothing to initialise: exit 78 naming the key."""
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)

    code = main(["--config", str(_config_file(tmp_path, "unset")), "kafka", "init"])

    assert code == 78
    assert "kafka.bootstrap_servers" in capsys.readouterr().err


def test_logs_when_source_kafka_then_each_event_once_in_ts_order(
    tmp_path: Path,
    kafka_bootstrap: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`logs --source kafka` reads the topic back, drops replayed duplicates, orders by ts."""
    prefix = f"review-{tmp_path.name[-8:]}"
    config_path = _config_file(tmp_path, prefix)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    assert main(["--config", str(config_path), "kafka", "init"]) == 0
    log = make_log(tmp_path / "log", delivery=True)
    for name in ("risk.breach", "breaker.tripped", "breaker.reset"):
        log.emit(name, reason_code="DAILY_LOSS")
    delivery = Delivery(log, _settings(config_path)).start()
    wait_for(delivery.caught_up, 60, "delivery")
    delivery.stop()
    (tmp_path / "log" / "delivery.cursor").unlink()  # the next run replays everything: duplicates
    delivery = Delivery(log, _settings(config_path)).start()
    wait_for(delivery.caught_up, 60, "the replay")
    delivery.stop()
    capsys.readouterr()

    code = main(
        [
            "--config",
            str(config_path),
            "logs",
            "--source",
            "kafka",
            "--json",
            "--event",
            "b*",
            "--event",
            "risk.*",
        ]
    )

    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert [json.loads(line)["event"] for line in lines] == [
        "risk.breach",
        "breaker.tripped",
        "breaker.reset",
    ]


def _settings(config_path: Path) -> DeliverySettings:
    return DeliverySettings.from_config(load_config(config_path))


def test_start_delivery_when_kafka_unset_then_no_thread_and_no_recorder(
    tmp_path: Path, shipped_config: RiskConfig
) -> None:
    """Kafka off (the shipped default): the outbox alone, no thread, no decision recorder."""
    log = make_log(tmp_path / "log")

    assert start_delivery(shipped_config, log) is None
    assert make_recorder(shipped_config) is None
