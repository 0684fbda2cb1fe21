"""Every chaos scenario passes against real processes; a limit that cannot trip fails the run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from execution.verify.derive import derive_config
from execution.verify.runner import RESULTS_SCHEMA
from execution.verify.scenarios import SCENARIOS
from tests.conftest import SHIPPED_CONFIG
from tests.verify.cli_run import run_verify

pytestmark = [pytest.mark.multiprocess, pytest.mark.slow]


def _case(name: str) -> Any:
    marks = [pytest.mark.kafka] if name == "kafka_outage" else []
    return pytest.param(name, marks=marks, id=name)


def _explain(doc: dict[str, Any] | None, stderr: str) -> str:
    if doc is None:
        return f"no results file; stderr:\n{stderr[-2000:]}"
    lines = []
    for result in doc["results"]:
        lines.append(f"{result['name']} {result['status']}: {result['detail']}")
        lines += [f"  FAILED {c['name']}: {c['detail']}" for c in result["checks"] if not c["ok"]]
        if result["work_dir"]:
            lines.append(f"  kept {result['work_dir']}")
    return "\n".join(lines)


@pytest.mark.parametrize("name", [_case(s.name) for s in SCENARIOS])
def test_verify_when_scenario_runs_then_it_passes_and_the_results_file_says_so(
    tmp_path: Path, name: str
) -> None:
    """One scenario through `riskguard verify NAME --json`: exit 0, PASS, every check held."""
    extra = ["--kafka", "embedded"] if name == "kafka_outage" else []

    proc, doc = run_verify(tmp_path, name, "--json", *extra)

    assert doc is not None and proc.returncode == 0, _explain(doc, proc.stderr)
    printed = json.loads(proc.stdout)
    assert Path(printed["results_file"]).parent == tmp_path / "log" / "verify"
    assert doc["schema"] == RESULTS_SCHEMA
    assert doc["passed"] is True
    assert doc["counts"] == {"PASS": 1, "FAIL": 0, "SKIP": 0}
    (result,) = doc["results"]
    assert result["name"] == name
    assert result["status"] == "PASS"
    assert result["checks"] and all(check["ok"] for check in result["checks"])
    assert result["key_latency_ms"] is not None and result["key_latency_ms"] >= 0
    assert result["key_latency_ms"] == result["latencies_ms"][result["key_latency"]]
    assert result["work_dir"] is None  # a passed scenario cleans up after itself
    assert not any(Path(doc["work_dir"]).glob("*"))


def test_verify_when_limit_cannot_be_reached_then_scenario_fails_and_exit_is_nonzero(
    tmp_path: Path,
) -> None:
    """fat_finger against leverage and lots-per-symbol limits of 1000: FAIL, exit 1, dir kept."""
    config = derive_config(
        SHIPPED_CONFIG,
        tmp_path / "unreachable.yaml",
        overrides={
            "leverage.warning": "900",
            "leverage.limit": "1000",
            "exposure.lots_per_symbol_warning": "900",
            "exposure.lots_per_symbol_limit": "1000",
        },
    )

    proc, doc = run_verify(tmp_path, "fat_finger", "normal", config=config)

    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert doc is not None and doc["passed"] is False
    assert doc["counts"] == {"PASS": 1, "FAIL": 1, "SKIP": 0}, _explain(doc, proc.stderr)
    failed = next(r for r in doc["results"] if r["name"] == "fat_finger")
    assert failed["status"] == "FAIL"
    # no LEVERAGE trip: nothing trips in time, or another rule (drawdown on the fill) does
    broken = {c["name"] for c in failed["checks"] if not c["ok"]}
    assert broken and broken <= {"the breaker trips", "trigger LEVERAGE"}, failed["checks"]
    assert failed["work_dir"] is not None and Path(failed["work_dir"], "monitor.out").exists()
    assert "fat_finger         FAIL" in proc.stdout  # the human table
    assert "FAILED: 1 PASS, 1 FAIL" in proc.stdout
