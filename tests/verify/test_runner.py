"""The runner's verdicts, with stand-in scenarios (no processes)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from execution.verify.derive import derive_config
from execution.verify.model import Probe, RunContext, Scenario, Skipped, Status
from execution.verify.runner import run_scenario, run_scenarios
from execution.verify.scenarios import by_name
from tests.conftest import SHIPPED_CONFIG


def _scenario(run: Callable[[Probe], None], name: str = "stand_in") -> Scenario:
    return Scenario(name, "a stand-in", "never", "x", run)


def _passes(probe: Probe) -> None:
    probe.latency("x", 1.5)
    probe.check("holds", True)


def _one_check_fails(probe: Probe) -> None:
    probe.check("holds", True)
    probe.check("breaks", False, "2 > 1")
    probe.check("holds too", True)


def _raises(probe: Probe) -> None:
    raise RuntimeError("boom")


def _skips(probe: Probe) -> None:
    raise Skipped("no broker")


def _times_out(probe: Probe) -> None:
    probe.wait("never true", lambda: False, 0.05)
    probe.check("not reached", True)


@pytest.fixture
def context(tmp_path: Path) -> RunContext:
    return RunContext(SHIPPED_CONFIG, tmp_path / "work")


@pytest.mark.parametrize(
    ("run", "status", "detail"),
    [
        (_passes, Status.PASS, "1 checks ok"),
        (_one_check_fails, Status.FAIL, "breaks: 2 > 1"),
        (_raises, Status.FAIL, "RuntimeError: boom"),
        (_skips, Status.SKIP, "no broker"),
        (_times_out, Status.FAIL, "never true: not within 0 s"),
    ],
    ids=["checks-hold", "one-check-fails", "raises", "skipped", "wait-times-out"],
)
def test_run_scenario_when_it_ends_then_verdict_and_detail(
    context: RunContext, run: Callable[[Probe], None], status: Status, detail: str
) -> None:
    """Any failed check or exception is a FAIL, Skipped is a SKIP, else PASS."""
    result = run_scenario(_scenario(run), context)

    assert result.status is status
    assert result.detail.startswith(detail)


def test_run_scenarios_when_one_fails_then_its_dir_is_kept_and_the_file_written(
    context: RunContext, tmp_path: Path
) -> None:
    """Passed scenarios' dirs are removed, a failed one's kept; results-<UTC>.json has both."""
    scenarios = [_scenario(_passes, "good"), _scenario(_one_check_fails, "bad")]

    run = run_scenarios(scenarios, context, results_dir=tmp_path / "out")

    assert not run.passed
    assert run.results_file is not None and run.results_file.parent == tmp_path / "out"
    doc = json.loads(run.results_file.read_text())
    assert [(r["name"], r["status"]) for r in doc["results"]] == [("good", "PASS"), ("bad", "FAIL")]
    assert doc["results"][0]["key_latency_ms"] == 1.5
    assert not (context.work_dir / "good").exists()
    assert (context.work_dir / "bad").is_dir()


def test_by_name_when_names_given_then_run_order_kept_and_unknown_refused() -> None:
    """Selection keeps the registry's order; an unknown name raises KeyError naming it."""
    assert [s.name for s in by_name(["reset_policy", "normal"])] == ["normal", "reset_policy"]
    with pytest.raises(KeyError, match="nope"):
        by_name(["normal", "nope"])


def test_derive_config_when_text_edit_not_unique_then_value_error(tmp_path: Path) -> None:
    """A text replacement must match exactly once, or the derived config would lie."""
    with pytest.raises(ValueError, match="occurs 0 times"):
        derive_config(SHIPPED_CONFIG, tmp_path / "x.yaml", replacements={"no such line": "x"})
