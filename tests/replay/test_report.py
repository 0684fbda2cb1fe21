"""``riskguard replay``: report.json schema, report.md, charts, sweep table, exit codes."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from execution.cli import main
from tests.conftest import REPO, SHIPPED_CONFIG
from tests.replay.ticks import Row, expected_trip

REPORT_KEYS = {
    "schema", "generated_at", "source", "config", "period", "ticks", "start", "final",
    "first_trip", "trips", "warnings", "counts", "max_drawdown_pct", "worst_daily_loss_pct",
    "peak_leverage", "min_margin_level_pct", "longest_losing_streak", "headroom", "daily",
    "stale_gaps", "bad_ticks", "strategy", "sweep", "charts", "notes", "performance",
}  # fmt: skip
ENTRY_KEYS = {
    "tick_index", "time_msc", "time", "source", "symbol", "bid", "ask", "trigger", "level",
    "value", "warning", "limit", "unit", "equity", "high_water_mark",
}  # fmt: skip
TRIP_KEYS = ENTRY_KEYS | {"action", "from_state", "to_state", "changed", "also"}
HEADROOM_KEYS = {
    "enabled", "unit", "warning", "limit", "worst", "worst_tick_index", "worst_time_msc",
    "headroom", "headroom_pct", "warnings", "breaches", "first_breach", "note",
}  # fmt: skip
RULES = {
    "DRAWDOWN", "DAILY_LOSS", "VELOCITY", "LEVERAGE", "MARGIN_LEVEL", "TICK_LATENCY",
    "FEED_STALE", "TICK_AGE", "LOSING_STREAK", "OPEN_POSITIONS", "LOTS_PER_SYMBOL",
    "TRADES_PER_DAY", "BAD_FEED",
}  # fmt: skip
CHARTS = {
    "equity": ("equity.png", (1200, 450)),
    "drawdown": ("drawdown.png", (1200, 700)),
    "leverage": ("leverage.png", (1200, 700)),
    "feed_gaps": ("feed_gaps.png", (1200, 700)),
}


def _replay(tmp_path: Path, ticks: Path, *extra: str, config: Path = SHIPPED_CONFIG) -> int:
    out = tmp_path / "out"
    args = ["replay", str(ticks), "--config", str(config), "--out", str(out), "--no-progress"]
    return main([*args, *extra])


def _report(tmp_path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((tmp_path / "out" / "report.json").read_text())
    return data


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_replay_cli_when_crash_file_then_report_json_has_the_stable_schema(
    tmp_path: Path, crash_file: Path, rows: list[Row]
) -> None:
    """The exact top-level key set, trip/warning/headroom shapes and the contract fields."""
    assert _replay(tmp_path, crash_file, "--position", "EURUSD:buy:1") == 0

    report = _report(tmp_path)
    assert set(report) == REPORT_KEYS
    assert report["schema"] == "riskguard.replay/1"
    assert report["ticks"] == len(rows)
    assert report["trips"] and all(set(t) == TRIP_KEYS for t in report["trips"])
    assert report["warnings"] and all(set(w) == ENTRY_KEYS for w in report["warnings"])
    assert set(report["headroom"]) == RULES
    assert all(set(h) == HEADROOM_KEYS for h in report["headroom"].values())
    index, trigger = expected_trip(rows)
    assert report["first_trip"] == report["trips"][0]
    assert (report["first_trip"]["tick_index"], report["first_trip"]["trigger"]) == (index, trigger)
    assert report["first_trip"]["time_msc"] == rows[index].time_msc
    assert float(report["max_drawdown_pct"]) > 2
    assert report["final"]["state"] == "HALTED"
    assert report["sweep"] is None and report["strategy"] is None


def test_replay_cli_when_run_then_charts_exist_with_their_dimensions(
    tmp_path: Path, crash_file: Path
) -> None:
    """Four PNGs, listed in the report, of the documented size and not empty."""
    assert _replay(tmp_path, crash_file, "--position", "EURUSD:buy:1") == 0

    report = _report(tmp_path)
    assert report["charts"] == {name: file for name, (file, _) in CHARTS.items()}
    for file, size in CHARTS.values():
        path = tmp_path / "out" / file
        assert _png_size(path) == size
        assert path.stat().st_size > 10_000


def test_replay_cli_when_run_then_report_md_summarises_the_first_trip(
    tmp_path: Path, crash_file: Path, rows: list[Row]
) -> None:
    """report.md names the first trip with its tick and links the charts."""
    assert _replay(tmp_path, crash_file, "--position", "EURUSD:buy:1") == 0

    text = (tmp_path / "out" / "report.md").read_text()
    index, trigger = expected_trip(rows)
    assert f"**First trip:** {trigger} at tick {index:,}" in text
    assert "## Headroom" in text and "![equity](equity.png)" in text


def test_replay_cli_when_sweep_then_one_row_per_value_with_its_trips(
    tmp_path: Path, crash_file: Path, rows: list[Row], capsys: pytest.CaptureFixture[str]
) -> None:
    """daily_loss.limit_pct=1,1.5,3: 1 is invalid (not above its warning), 1.5 trips earlier
    on DAILY_LOSS, 3 leaves the drawdown limit to trip; each as the model computes."""
    sweep_arg = "daily_loss.limit_pct=1,1.5%,3"
    assert _replay(tmp_path, crash_file, "--position", "EURUSD:buy:1", "--sweep", sweep_arg) == 0

    sweep = _report(tmp_path)["sweep"]
    settings = [row["setting"] for row in sweep]
    assert settings == [f"daily_loss.limit_pct={v}" for v in ("1", "1.5", "3")]
    invalid, tight, loose = sweep
    assert invalid["valid"] is False and "warning level" in invalid["error"]
    for row, pct in ((tight, "1.5"), (loose, "3")):
        index, trigger = expected_trip(rows, daily_pct=Decimal(pct))
        assert (row["first_trip"]["tick_index"], row["first_trip"]["trigger"]) == (index, trigger)
        assert row["final_state"] == "HALTED" and row["trips"] >= 1
    assert tight["first_trip"]["trigger"] == "DAILY_LOSS"
    assert loose["first_trip"]["trigger"] == "DRAWDOWN"
    out = capsys.readouterr().out
    assert "daily_loss.limit_pct=1 " in out and "invalid" in out


def test_replay_cli_when_positions_file_then_same_as_position_options(
    tmp_path: Path, crash_file: Path
) -> None:
    """``--positions FILE`` (one spec a line, comments) equals the same ``--position``s."""
    book = tmp_path / "book.txt"
    book.write_text("# the morning book\nEURUSD:buy:1\n\nEURUSD:sell:0.3@1.10100  # hedge\n")
    assert _replay(tmp_path, crash_file, "--positions", str(book)) == 0
    from_file = _report(tmp_path)
    options = ["--position", "EURUSD:buy:1", "--position", "EURUSD:sell:0.3@1.10100"]
    assert _replay(tmp_path, crash_file, *options) == 0
    from_options = _report(tmp_path)

    assert from_file["start"]["positions"] == ["EURUSD:buy:1", "EURUSD:sell:0.3@1.10100"]
    assert from_file["trips"] == from_options["trips"]


def test_replay_cli_when_strategy_then_report_has_order_counts(
    tmp_path: Path, crash_file: Path
) -> None:
    """``--strategy sample_momentum`` fills in the strategy section."""
    assert _replay(tmp_path, crash_file, "--strategy", "sample_momentum") == 0

    strategy = _report(tmp_path)["strategy"]
    assert strategy["name"] == "sample_momentum"
    orders = {"orders_sent", "orders_filled", "orders_denied", "orders_rejected"}
    assert set(strategy) == {"name", *orders}


@pytest.mark.parametrize(
    ("content", "code", "message"),
    [
        (None, 2, "tick file not found"),
        ("date,price\n1,2\n", 2, "header is neither"),
        ("time_msc,bid,ask\n1709542800000,1.1,1.10002\nnot-a-time,1.1,1.2\n", 1, ":3:"),
        ("time_msc,bid,ask\n", 1, "no ticks"),
    ],
    ids=["missing", "bad-header", "malformed-row", "empty"],
)
def test_replay_cli_when_bad_tick_file_then_exit_code_and_clear_message(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str | None,
    code: int,
    message: str,
) -> None:
    """Not a tick file: 2 (before anything runs); broken during the run: 1, naming the line."""
    path = tmp_path / "EURUSD_bad.csv"
    if content is not None:
        path.write_text(content)

    assert _replay(tmp_path, path) == code

    err = capsys.readouterr().err
    assert err.startswith("replay: ") and message in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--position", "EURUSD:hold:1"], "expected SYMBOL:buy|sell:LOTS"),
        (["--position", "XAUUSD:buy:1"], "unknown symbol"),
        (["--position", "GBPUSD:buy:1"], "no valid tick of GBPUSD"),
        (["--strategy", "martingale"], "unknown strategy"),
        (["--sweep", "drawdown.limit=1,2"], "not a setting"),
        (["--sweep", "drawdown.limit_pct"], "expected SECTION.KEY=V1,V2"),
        (["--balance", "lots"], "not an amount"),
        (["--positions", "/nonexistent/book.txt"], "book.txt"),
    ],
    ids=["side", "symbol", "no-tick", "strategy", "sweep-key", "sweep-syntax", "balance", "book"],
)
def test_replay_cli_when_bad_argument_then_exit_2_with_message(
    tmp_path: Path,
    crash_file: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    """Usage errors are exit 2 and say what is wrong."""
    assert _replay(tmp_path, crash_file, *args) == 2

    assert message in capsys.readouterr().err


def test_replay_cli_when_config_invalid_then_exit_78_naming_the_field(
    tmp_path: Path, crash_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A config whose drawdown limit is below its warning is exit 78 with the field named."""
    bad = tmp_path / "risk_limits.yaml"
    drawdown_limit = 'limit_pct: "2.0"\n  action: HALTED'
    text = SHIPPED_CONFIG.read_text()
    assert drawdown_limit in text
    bad.write_text(text.replace(drawdown_limit, 'limit_pct: "0.5"\n  action: HALTED', 1))

    assert _replay(tmp_path, crash_file, config=bad) == 78

    assert "drawdown.warning_pct" in capsys.readouterr().err


def test_replay_cli_when_config_missing_then_exit_78(
    tmp_path: Path, crash_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No config file at the given path: 78, not a silent default."""
    assert _replay(tmp_path, crash_file, config=tmp_path / "nope.yaml") == 78

    assert "no config file" in capsys.readouterr().err


@pytest.mark.multiprocess
def test_riskguard_replay_when_run_as_a_command_then_exit_codes_hold(
    tmp_path: Path, crash_file: Path
) -> None:
    """The installed entry point: 0 with report.json written, 78 for a broken config."""
    env = {k: v for k, v in os.environ.items() if k != "RISKGUARD_CONFIG"}
    command = [sys.executable, "-m", "execution.cli", "replay", str(crash_file)]
    command += ["--position", "EURUSD:buy:1", "--out", str(tmp_path / "out")]

    def run(config: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, "--config", str(config)],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    ok = run(SHIPPED_CONFIG)
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\ndrawdown: [\n")
    bad = run(broken)

    assert ok.returncode == 0, ok.stderr
    assert "first trip: DAILY_LOSS" in ok.stdout
    assert (tmp_path / "out" / "report.json").is_file()
    assert bad.returncode == 78 and "invalid YAML" in bad.stderr
