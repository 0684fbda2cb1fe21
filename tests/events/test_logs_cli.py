"""``riskguard logs`` over the evidence log: filters, table and JSON output, rotation."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from execution.cli import main
from execution.cli.logs_cmd import parse_time
from risk.clock import ManualClock
from tests.events.helpers import make_log

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    """A trip from breach to reset for account 1001, noise for 2002, spread over segments."""
    directory = tmp_path / "log"
    clock = ManualClock(START)
    one = make_log(directory, clock=clock, account="1001", segment_bytes=2048, delivery=True)
    two = make_log(directory, clock=clock, account="2002", segment_bytes=2048, delivery=True)
    script = [
        (one, "monitor.heartbeat", {}),
        (two, "risk.warning", {"reason_code": "LEVERAGE", "value": "3.1"}),
        (one, "risk.breach", {"reason_code": "DAILY_LOSS", "value": "2.05", "limit": "2.0"}),
        (one, "breaker.tripped", {"reason_code": "DAILY_LOSS", "to_state": "HALTED"}),
        (one, "risk.decisions", {"columns": ["ts_us"], "rows": [[1]], "count": 1}),
        (two, "monitor.heartbeat", {}),
        (one, "breaker.reset", {"reason_code": "MANUAL_RESET", "operator": "alice"}),
    ]
    for minute, (log, event, fields) in enumerate(script):
        for _ in range(5):
            log.emit("feed.tick_noise", pad="x" * 200)  # forces several segments
        clock.set_wall(START.replace(minute=minute + 1))
        log.emit(event, **fields)
    return directory


def _run(capsys: pytest.CaptureFixture[str], log_dir: Path, *args: str) -> list[str]:
    code = main(["logs", "--log-dir", str(log_dir), *args])
    out = capsys.readouterr().out
    assert code == 0
    return out.splitlines()


def _events(lines: list[str]) -> list[str]:
    return [json.loads(line)["event"] for line in lines]


def test_logs_when_event_glob_then_only_matching_events_in_order(
    capsys: pytest.CaptureFixture[str], log_dir: Path
) -> None:
    """--event takes exact names and globs; the trip reads from breach to reset."""
    lines = _run(capsys, log_dir, "--json", "--event", "breaker.*", "--event", "risk.breach")

    assert _events(lines) == ["risk.breach", "breaker.tripped", "breaker.reset"]


def test_logs_when_account_given_then_other_accounts_hidden(
    capsys: pytest.CaptureFixture[str], log_dir: Path
) -> None:
    """--account keeps one account's events (decision batches are left out by default)."""
    lines = _run(capsys, log_dir, "--json", "--account", "2002", "--event", "[!f]*")

    assert _events(lines) == ["risk.warning", "monitor.heartbeat"]


def test_logs_when_since_and_until_then_half_open_window(
    capsys: pytest.CaptureFixture[str], log_dir: Path
) -> None:
    """--since is inclusive, --until exclusive, both as fixed-width UTC text comparisons."""
    lines = _run(
        capsys,
        log_dir,
        "--json",
        "--since",
        "2026-03-02T09:03:00Z",
        "--until",
        "2026-03-02T09:07:00+00:00",
        "--event",
        "[!f]*",
    )

    assert _events(lines) == [
        "risk.breach",
        "breaker.tripped",
        "risk.decisions",
        "monitor.heartbeat",
    ]


def test_logs_when_no_event_filter_then_decision_batches_hidden(
    capsys: pytest.CaptureFixture[str], log_dir: Path
) -> None:
    """Per-tick decision batches appear only when asked for by --event."""
    everything = _events(_run(capsys, log_dir, "--json"))

    assert "risk.decisions" not in everything
    assert len(everything) == 7 * 5 + 6


def test_logs_when_table_then_header_and_readable_columns(
    capsys: pytest.CaptureFixture[str], log_dir: Path
) -> None:
    """The default output is a table: ts, event, account, component, reason and values."""
    lines = _run(capsys, log_dir, "--event", "breaker.tripped")

    assert lines[0].split() == ["TS", "EVENT", "ACCOUNT", "COMPONENT", "DETAILS"]
    assert lines[1].split()[:5] == [
        "2026-03-02T09:04:00.000000Z",
        "breaker.tripped",
        "1001",
        "test",
        "DAILY_LOSS",
    ]
    assert "to_state=HALTED" in lines[1]


def test_logs_when_nothing_matches_then_says_so(
    capsys: pytest.CaptureFixture[str], log_dir: Path
) -> None:
    """An empty result is stated, not a blank screen."""
    assert _run(capsys, log_dir, "--event", "engine.nothing") == ["no events"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-02T09:03:00Z", "2026-03-02T09:03:00.000000Z"),
        ("2026-03-02T10:03:00+01:00", "2026-03-02T09:03:00.000000Z"),
        ("2026-03-02", "2026-03-02T00:00:00.000000Z"),
        ("15m", "2026-03-02T09:15:00.000000Z"),
        ("2h", "2026-03-02T07:30:00.000000Z"),
    ],
    ids=["utc", "offset", "date", "minutes-ago", "hours-ago"],
)
def test_parse_time_when_valid_then_fixed_width_utc(text: str, expected: str) -> None:
    """Absolute times become UTC; ages count back from now."""
    assert parse_time(text, now=datetime(2026, 3, 2, 9, 30, tzinfo=UTC)) == expected


def test_logs_when_time_naive_then_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """A time without a zone is refused (exit 2), never guessed."""
    with pytest.raises(SystemExit) as exc:
        main(["logs", "--since", "2026-03-02T09:00:00"])

    assert exc.value.code == 2
    assert "with a zone" in capsys.readouterr().err


@pytest.mark.multiprocess
def test_logs_when_follow_then_prints_events_appended_later_across_rotation(
    tmp_path: Path,
) -> None:
    """--follow keeps tailing the outbox, into the next segment when the active one is sealed."""
    directory = tmp_path / "log"
    log = make_log(directory, segment_bytes=2048, delivery=True)
    log.emit("monitor.started")
    cmd = [sys.executable, "-m", "execution.cli", "logs", "--follow", "--json"]
    child = subprocess.Popen(
        [*cmd, "--log-dir", str(directory), "--event", "risk.*"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = threading.Timer(30, child.kill)  # a silent child must not hang the suite
    deadline.start()
    try:
        for i in range(40):
            log.emit("risk.warning", i=i, pad="x" * 200)
        assert child.stdout is not None
        seen = [json.loads(child.stdout.readline() or "{}").get("i") for _ in range(40)]
    finally:
        deadline.cancel()
        child.send_signal(signal.SIGINT)
        child.communicate(timeout=10)

    assert seen == list(range(40))
    assert len(list(directory.glob("evidence-*.jsonl"))) >= 3
