"""The systemd units, checked by the real systemd-analyze (verify with errors fatal, security)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from risk.config import RiskConfig
from tests.conftest import REPO

pytestmark = pytest.mark.systemd

UNITS = (
    "riskguard-monitor.service",
    "riskguard-engine.service",
    "riskguard-paper-terminal.service",
)
EXPOSURE_LIMIT = 2.0


@pytest.fixture(scope="module")
def analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        pytest.fail("systemd-analyze is required (apt-get install systemd); .ci/run installs it")
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A stub root: the units plus an executable where ExecStart points."""
    binary = tmp_path / "opt/riskguard/.venv/bin/riskguard"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\nexit 0\n")
    binary.chmod(0o755)
    units = tmp_path / "etc/systemd/system"
    units.mkdir(parents=True)
    for unit in (REPO / "systemd").glob("*.service"):
        shutil.copy(unit, units / unit.name)
    return tmp_path


def _verify(analyze: str, root: Path, unit: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [analyze, "verify", f"--root={root}", "--man=no", "--recursive-errors=no", unit],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("unit", [*UNITS, "riskguard-alert@riskguard-monitor.service.service"])
def test_verify_when_unit_shipped_then_no_error_or_warning(
    analyze: str, root: Path, unit: str
) -> None:
    """Every shipped unit passes `systemd-analyze verify` with warnings made fatal."""
    result = _verify(analyze, root, unit)
    assert result.returncode == 0, result.stderr
    assert "riskguard" not in result.stderr, result.stderr


def test_verify_when_unit_has_a_typo_then_fails(analyze: str, root: Path) -> None:
    """The check can fail: a misspelt key makes verify exit non-zero."""
    unit = root / "etc/systemd/system/riskguard-monitor.service"
    unit.write_text(unit.read_text().replace("Type=notify", "Typ=notify"))
    assert _verify(analyze, root, "riskguard-monitor.service").returncode != 0


@pytest.mark.parametrize("unit", UNITS)
def test_security_when_analyzed_offline_then_exposure_at_most_2(
    analyze: str, root: Path, unit: str
) -> None:
    """Hardening regressions fail: offline exposure level stays ≤ 2.0."""
    result = subprocess.run(
        [analyze, "security", "--offline=yes", f"--root={root}", unit],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout + result.stderr)
    assert match is not None, result.stdout + result.stderr
    assert float(match.group(1)) <= EXPOSURE_LIMIT


def test_monitor_unit_when_read_then_watchdog_restart_policy_and_no_crash_loop_on_config() -> None:
    """The monitor is Type=notify with a watchdog, restarts on failure, not on exit 78."""
    text = (REPO / "systemd/riskguard-monitor.service").read_text()
    for line in (
        "Type=notify",
        "WatchdogSec=30s",
        "Restart=on-failure",
        "RestartPreventExitStatus=78",
        "StartLimitBurst=5",
        "OnFailure=riskguard-alert@%n.service",
    ):
        assert line in text


def test_engine_unit_when_read_then_ordered_after_and_requiring_the_monitor() -> None:
    """The engine never starts without the monitor unit."""
    text = (REPO / "systemd/riskguard-engine.service").read_text()
    assert "After=network-online.target riskguard-monitor.service" in text
    assert "Requires=riskguard-monitor.service" in text


def test_paper_terminal_unit_when_read_then_account_kept_in_its_state_directory() -> None:
    """A restarted paper terminal continues the same account (ProtectSystem=strict: the account
    file must live in the unit's own StateDirectory, the only writable place)."""
    text = (REPO / "systemd/riskguard-paper-terminal.service").read_text()
    assert "StateDirectory=riskguard-paper" in text
    assert "--account-file /var/lib/riskguard-paper/account.json" in text


def test_monitor_watchdog_when_broker_unreachable_then_grace_trip_comes_before_the_kill(
    shipped_config: RiskConfig,
) -> None:
    """A blind monitor stops pinging the watchdog (pings come from healthy cycles only) but must
    live to trip BROKER_UNREACHABLE: the last ping can precede the outage by half of WatchdogSec,
    detecting it takes up to one call timeout, then the grace runs; 1 s of slack for the loop."""
    text = (REPO / "systemd/riskguard-monitor.service").read_text()
    watchdog_s = int(re.search(r"^WatchdogSec=(\d+)s$", text, re.MULTILINE)[1])  # type: ignore[index]
    broker = shipped_config.broker
    needed = watchdog_s / 2 + broker.call_timeout_ms / 1000 + broker.unreachable_grace_seconds + 1

    assert needed < watchdog_s
