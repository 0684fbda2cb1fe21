"""The operator CLI contract (ARCHITECTURE §7), exercised as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from risk.clock import SystemClock
from risk.monitor_snapshot import RuleStatus, snapshot_now, write_snapshot
from tests.conftest import REPO, SHIPPED_CONFIG

pytestmark = pytest.mark.multiprocess


def _config(tmp_path: Path, cooldown: int = 60) -> Path:
    text = SHIPPED_CONFIG.read_text().replace(
        "recovery_cooldown_seconds: 60", f"recovery_cooldown_seconds: {cooldown}"
    )
    path = tmp_path / "risk_limits.yaml"
    path.write_text(text)
    return path


def _run(
    tmp_path: Path, *args: str, config: Path | None = None, stdin: str = "", script: bool = False
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "RISKGUARD_STATE_DIR": str(tmp_path / "state"),
        "RISKGUARD_LOG_DIR": str(tmp_path / "log"),
    }
    env.pop("RISKGUARD_CONFIG", None)
    head = (
        [sys.executable, str(REPO / "scripts/reset_breaker.py")]
        if script
        else [sys.executable, "-m", "execution.cli"]
    )
    cfg = ["--config", str(config)] if config else []
    return subprocess.run(
        [*head, *cfg, *args],
        capture_output=True,
        text=True,
        input=stdin,
        env=env,
        timeout=60,
        check=False,
    )


def _status(tmp_path: Path, config: Path) -> dict[str, object]:
    result = _run(tmp_path, "breaker", "status", "--json", config=config)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _events(tmp_path: Path) -> list[dict[str, object]]:
    lines = (tmp_path / "log" / "evidence.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def _ok_snapshot(tmp_path: Path, level: str = "ok") -> None:
    rule = RuleStatus(level=level, value="0.4", warning="1.0", limit="2.0")  # type: ignore[arg-type]
    snap = snapshot_now(SystemClock().now(), "1001", {"equity": "99600.00"}, {"DRAWDOWN": rule})
    write_snapshot(tmp_path / "state", snap, 0o660)


def test_config_check_when_shipped_file_then_ok_exit_0(tmp_path: Path) -> None:
    """The shipped config passes `config check`."""
    result = _run(tmp_path, "config", "check", str(SHIPPED_CONFIG))
    assert result.returncode == 0
    assert result.stdout.startswith("OK")


def test_config_check_when_bad_field_then_exit_78_naming_field_and_line(tmp_path: Path) -> None:
    """A bad value is reported with file, line and dotted field; exit code 78."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(SHIPPED_CONFIG.read_text().replace('limit_pct: "2.0"', 'limit_pct: "0.5"', 1))
    result = _run(tmp_path, "config", "check", str(bad))
    assert result.returncode == 78
    assert f"{bad}:" in result.stderr
    assert "drawdown" in result.stderr
    assert "must be below" in result.stderr


def test_breaker_command_when_config_missing_then_exit_78(tmp_path: Path) -> None:
    """No config file means no defaults: exit 78 with the reason."""
    result = _run(tmp_path, "breaker", "trip", "--reason", "x", config=tmp_path / "nope.yaml")
    assert result.returncode == 78
    assert "no config file" in result.stderr


def test_status_when_never_initialised_then_json_reports_halted(tmp_path: Path) -> None:
    """`breaker status --json` has the contract fields and fails closed on an empty dir."""
    status = _status(tmp_path, _config(tmp_path))
    assert {"state", "seq", "changed_at", "trigger", "reason"} <= status.keys()
    assert (status["state"], status["trigger"]) == ("HALTED", "BREAKER_UNREADABLE")


def test_trip_when_operator_trips_then_halted_and_evented(tmp_path: Path) -> None:
    """The operator's kill switch halts durably and writes an audit event."""
    cfg = _config(tmp_path)
    assert (
        _run(
            tmp_path, "breaker", "trip", "--reason", "news", "--operator", "bob", config=cfg
        ).returncode
        == 0
    )
    status = _status(tmp_path, cfg)
    assert (status["state"], status["trigger"], status["reason"]) == (
        "HALTED",
        "MANUAL_TRIP",
        "news",
    )
    assert status["effective_state"] == "HALTED"
    tripped = [e for e in _events(tmp_path) if e["event"] == "breaker.tripped"]
    assert len(tripped) == 1
    assert tripped[0]["actor"]["name"] == "bob"  # type: ignore[index]


def test_reset_when_inside_cooldown_then_exit_3_and_still_halted(tmp_path: Path) -> None:
    """A reset inside the cooldown is refused with exit 3, even with --force."""
    cfg = _config(tmp_path, cooldown=60)
    _run(tmp_path, "breaker", "trip", "--reason", "x", config=cfg)
    _ok_snapshot(tmp_path)
    result = _run(
        tmp_path,
        "breaker",
        "reset",
        "--operator",
        "al",
        "--reason",
        "r",
        "--force",
        "--yes",
        config=cfg,
    )
    assert result.returncode == 3
    assert "cooldown" in result.stdout
    assert _status(tmp_path, cfg)["state"] == "HALTED"
    assert any(e["event"] == "breaker.reset_refused" for e in _events(tmp_path))


def test_reset_when_snapshot_breaches_then_refused_and_force_accepts(tmp_path: Path) -> None:
    """While the monitor still sees a breach the reset is refused; --force overrides."""
    cfg = _config(tmp_path, cooldown=0)
    _run(tmp_path, "breaker", "trip", "--reason", "x", config=cfg)
    _ok_snapshot(tmp_path, level="breach")
    args = ("breaker", "reset", "--operator", "al", "--reason", "r", "--yes")
    refused = _run(tmp_path, *args, config=cfg)
    assert refused.returncode == 3
    assert "DRAWDOWN breaches now" in refused.stdout
    assert _run(tmp_path, *args, "--force", config=cfg).returncode == 0
    assert _status(tmp_path, cfg)["state"] == "ACTIVE"


def test_reset_when_not_confirmed_then_nothing_changes(tmp_path: Path) -> None:
    """Without --yes the operator must type RESET; anything else changes nothing."""
    cfg = _config(tmp_path, cooldown=0)
    _run(tmp_path, "breaker", "trip", "--reason", "x", config=cfg)
    _ok_snapshot(tmp_path)
    result = _run(
        tmp_path, "breaker", "reset", "--operator", "al", "--reason", "r", config=cfg, stdin="no\n"
    )
    assert result.returncode == 1
    assert "plan: state HALTED" in result.stdout
    assert _status(tmp_path, cfg)["state"] == "HALTED"


def test_reset_script_when_confirmed_then_active_with_exact_rebaseline(tmp_path: Path) -> None:
    """scripts/reset_breaker.py resets after confirmation and records only the flags given."""
    cfg = _config(tmp_path, cooldown=0)
    _run(tmp_path, "breaker", "trip", "--reason", "x", config=cfg)
    _ok_snapshot(tmp_path)
    result = _run(
        tmp_path,
        "--operator",
        "al",
        "--reason",
        "reviewed",
        "--rebaseline-peak",
        config=cfg,
        stdin="RESET\n",
        script=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads((tmp_path / "state" / "breaker.json").read_text())
    assert record["state"] == "ACTIVE"
    assert record["last_reset"]["rebaseline"] == ["peak"]
    assert record["last_reset"]["operator"] == "al"
    reset = [e for e in _events(tmp_path) if e["event"] == "breaker.reset"]
    assert reset[0]["rebaseline"] == ["peak"]


def test_reset_when_operator_missing_then_usage_exit_2(tmp_path: Path) -> None:
    """--operator and --reason are mandatory for an audited reset."""
    result = _run(tmp_path, "breaker", "reset", "--reason", "r", config=_config(tmp_path))
    assert result.returncode == 2
