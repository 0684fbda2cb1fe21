"""`make run` is `riskguard demo`: three real processes on the flash crash, ending HALTED, and the
commands it prints at the end work as printed (no environment needed)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SHIPPED_CONFIG

pytestmark = [pytest.mark.multiprocess, pytest.mark.slow]


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RISKGUARD_", "KAFKA_"))}
    env["COLUMNS"] = "80"  # a narrow terminal must not break the printed commands
    return env


def _riskguard(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "execution.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=120,
        check=False,
    )


def _printed(output: str, label: str) -> list[str]:
    match = re.search(rf"^{label}:\s+riskguard (.+?)(\s{{3}}\(.*)?$", output, re.MULTILINE)
    assert match, f"no {label!r} line in:\n{output[-2000:]}"
    return shlex.split(match.group(1))


def test_demo_flash_crash_when_run_then_halted_and_printed_commands_work(tmp_path: Path) -> None:
    config = tmp_path / "risk_limits.yaml"
    config.write_text(
        SHIPPED_CONFIG.read_text().replace(
            "recovery_cooldown_seconds: 60", "recovery_cooldown_seconds: 0"
        )
    )
    run_dir = tmp_path / "demo"
    demo = _riskguard("--config", str(config), "demo", "--run-dir", str(run_dir), "--speed", "4")

    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr
    assert re.search(r"breaker: HALTED trigger (DRAWDOWN|DAILY_LOSS|VELOCITY)", demo.stdout)
    assert (run_dir / "state" / "breaker.json").exists()  # inside the run dir, not /var/lib

    status = _riskguard(*_printed(demo.stdout, "inspect"), "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["state"] == "HALTED"

    events = _riskguard(*_printed(demo.stdout, "events"), "--json")
    names = [json.loads(line)["event"] for line in events.stdout.splitlines()]
    assert "breaker.tripped" in names and "risk.breach" in names

    reset = [a if a != "..." else "demo reviewed" for a in _printed(demo.stdout, "reset")]
    reset[reset.index("you")] = "alice"
    done = _riskguard(*reset, stdin="RESET\n")  # the operator confirms at the prompt
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ACTIVE" in done.stdout
