"""Running ``riskguard verify`` as a real process against the shipped config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import REPO, SHIPPED_CONFIG

__all__ = ["run_verify"]


def run_verify(
    tmp_path: Path, *args: str, config: Path = SHIPPED_CONFIG, script: bool = False
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any] | None]:
    """``riskguard --config CONFIG verify ARGS --json``; the results file it wrote (if any)."""
    env = {
        **os.environ,
        "RISKGUARD_STATE_DIR": str(tmp_path / "state"),
        "RISKGUARD_LOG_DIR": str(tmp_path / "log"),
    }
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    head = (
        [sys.executable, str(REPO / "scripts" / "verify_risk_trigger.py"), "--config", str(config)]
        if script
        else [sys.executable, "-m", "execution.cli", "--config", str(config), "verify"]
    )
    proc = subprocess.run(
        [*head, *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    files = sorted((tmp_path / "log" / "verify").glob("results-*.json"))
    return proc, (json.loads(files[-1].read_text()) if files else None)
