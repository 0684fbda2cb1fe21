"""The event envelope: fixed-width µs timestamps, dotted names, seq, unique event ids."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
import structlog
from freezegun import freeze_time

from risk.clock import SystemClock
from risk.config import RiskConfig
from risk.journal import EvidenceLog
from risk.logsetup import configure_logging, event_id_prefix
from tests.events.helpers import make_log, outbox_events

REPO = Path(__file__).resolve().parents[2]
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")

EMITTER = """
import sys
from pathlib import Path
from risk.clock import SystemClock
from risk.config import RiskConfig
from risk.journal import EvidenceLog
from risk.journal import EvidenceLog
log = EvidenceLog(Path(sys.argv[1]), component=sys.argv[2], clock=SystemClock(),
                  file_mode=0o660, dir_mode=0o770, account="1001", segment_bytes=8192,
                  delivery=True)
for i in range(int(sys.argv[3])):
    log.emit("risk.warning", reason_code="DRAWDOWN", i=i, pad="x" * (i % 50))
"""


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        ("2024-03-01 12:00:00", "2024-03-01T12:00:00.000000Z"),
        ("2024-03-01 12:00:00.000001", "2024-03-01T12:00:00.000001Z"),
        ("2030-12-31 23:59:59.999999", "2030-12-31T23:59:59.999999Z"),
    ],
    ids=["whole-second", "one-microsecond", "end-of-year"],
)
def test_emit_when_time_frozen_then_ts_is_fixed_width_microseconds(
    tmp_path: Path, instant: str, expected: str
) -> None:
    """Even on a whole second the ts keeps its six fractional digits (and the Z)."""
    log = make_log(tmp_path / "log", clock=SystemClock())

    with freeze_time(instant):
        log.emit("monitor.heartbeat")

    [(event, _)] = outbox_events(tmp_path / "log")
    assert event["ts"] == expected
    assert TS.match(event["ts"])


def test_structlog_when_time_frozen_on_whole_second_then_ts_has_six_digits() -> None:
    """The global structlog configuration renders the same fixed-width ts under freezegun."""
    stream = io.BytesIO()
    configure_logging("info", component="test", stream=stream, cache=False)
    try:
        with freeze_time("2024-03-01 12:00:00"):
            structlog.get_logger().info("feed.stale", symbol="EURUSD")
    finally:
        structlog.reset_defaults()

    line = orjson.loads(stream.getvalue())
    assert line["ts"] == "2024-03-01T12:00:00.000000Z"
    assert line["event"] == "feed.stale"
    assert list(line)[:4] == ["ts", "event", "event_id", "seq"]


def test_emit_when_called_then_envelope_first_and_context_bound(tmp_path: Path) -> None:
    """Each line starts with ts, event, event_id, seq and carries component/account/host/pid."""
    echo = io.BytesIO()
    log = make_log(tmp_path / "log", echo=echo)

    log.emit("breaker.tripped", reason_code="DRAWDOWN", value="2.10")
    log.emit("breaker.reset", reason_code="MANUAL_RESET")

    events = [event for event, _ in outbox_events(tmp_path / "log")]
    assert [list(e)[:8] for e in events] == [
        ["ts", "event", "event_id", "seq", "component", "account", "host", "pid"]
    ] * 2
    assert events[1]["seq"] == events[0]["seq"] + 1
    assert events[0]["event_id"] == f"{event_id_prefix()}{events[0]['seq']}"
    assert (events[0]["component"], events[0]["account"]) == ("test", "1001")
    outbox = (tmp_path / "log" / "evidence.jsonl").read_bytes()
    assert echo.getvalue().splitlines() == outbox.splitlines()


def test_emit_when_field_shadows_envelope_then_value_error(tmp_path: Path) -> None:
    """A field named like an envelope key is refused rather than silently overwritten."""
    log = make_log(tmp_path / "log")

    with pytest.raises(ValueError, match="shadow the envelope"):
        log.emit("risk.breach", seq=5)


@pytest.mark.multiprocess
def test_event_ids_when_two_processes_write_one_log_then_all_unique_and_lines_whole(
    tmp_path: Path,
) -> None:
    """Two processes appending (and rotating) at once: 2 x 1,500 whole lines, no id repeats."""
    log_dir = tmp_path / "log"
    cmd = [sys.executable, "-c", EMITTER, str(log_dir)]
    children = [
        subprocess.Popen([*cmd, name, "1500"], cwd=REPO, stderr=subprocess.PIPE)
        for name in ("monitor", "engine")
    ]
    errors = [child.communicate(timeout=60)[1] for child in children]

    assert [child.returncode for child in children] == [0, 0], errors
    events = [event for event, _ in outbox_events(log_dir)]
    ids = [event["event_id"] for event in events]
    assert len(events) == 3000
    assert len(set(ids)) == 3000
    for component in ("monitor", "engine"):
        seqs = [e["seq"] for e in events if e["component"] == component]
        assert seqs == list(range(1, 1501)), f"{component}: lines lost or out of order"
    assert len({e["pid"] for e in events}) == 2
    assert len(list(log_dir.glob("evidence-*.jsonl"))) > 2, "the test should rotate segments"


def test_process_logging_when_routed_through_evidence_log_then_outbox_first_and_level_filtered(
    tmp_path: Path, shipped_config: RiskConfig
) -> None:
    """structlog.get_logger() events land in the outbox and on stdout; debug is filtered out."""
    config = shipped_config.model_copy(
        update={"paths": shipped_config.paths.model_copy(update={"log_dir": tmp_path / "log"})}
    )
    log = EvidenceLog.from_config(config, component="monitor", account="1001")
    stream = io.BytesIO()
    log.configure_process_logging(stream=stream, cache=False)
    try:
        structlog.get_logger().info("feed.stale", symbol="EURUSD", token="abc")
        structlog.get_logger().debug("feed.poll")
    finally:
        structlog.reset_defaults()

    [(event, _)] = outbox_events(tmp_path / "log")
    assert event["event"] == "feed.stale"
    assert (event["component"], event["account"], event["token"]) == ("monitor", "1001", "***")
    assert stream.getvalue() == (tmp_path / "log" / "evidence.jsonl").read_bytes()
    assert log.level == config.logging.level
