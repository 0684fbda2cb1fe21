"""`riskguard verify` without running scenarios: listing, selection, the script wrapper."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from execution.verify.scenarios import SCENARIOS
from tests.verify.cli_run import run_verify

pytestmark = pytest.mark.multiprocess

ALL = [s.name for s in SCENARIOS]


def test_list_when_json_then_every_scenario_with_its_pass_condition(tmp_path: Path) -> None:
    """--list --json names each scenario once, with a description and a pass condition."""
    proc, doc = run_verify(tmp_path, "--list", "--json")

    assert proc.returncode == 0, proc.stderr
    listed = json.loads(proc.stdout)
    assert [s["name"] for s in listed] == ALL
    assert all(s["description"] and s["passes_when"] and s["key_latency"] for s in listed)
    assert doc is None  # listing runs nothing and writes nothing


def test_verify_when_scenario_unknown_then_usage_error_naming_the_choices(tmp_path: Path) -> None:
    """An unknown name exits 2 and lists the known ones; nothing runs."""
    proc, doc = run_verify(tmp_path, "flash_crsh")

    assert proc.returncode == 2
    assert "flash_crsh" in proc.stderr and "flash_crash" in proc.stderr
    assert doc is None


def test_script_when_listing_then_same_scenarios_as_the_command(tmp_path: Path) -> None:
    """scripts/verify_risk_trigger.py is the same command (global options before it)."""
    proc, _ = run_verify(tmp_path, "--list", script=True)

    assert proc.returncode == 0, proc.stderr
    assert [line.split()[0] for line in proc.stdout.splitlines() if not line[0].isspace()] == ALL


def test_verify_when_config_invalid_then_exit_78_and_nothing_runs(tmp_path: Path) -> None:
    """The verifier's own --config is validated first: a broken one exits 78."""
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\n")

    proc, doc = run_verify(tmp_path, "normal", config=broken)

    assert proc.returncode == 78
    assert doc is None
