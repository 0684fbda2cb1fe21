"""Run scenarios one after another, each in its own work dir; collect and save the results."""

from __future__ import annotations

import shutil
import socket
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import orjson

from execution.verify.model import Failed, Probe, Result, RunContext, Scenario, Skipped, Status
from risk.clock import format_ts

__all__ = ["RESULTS_SCHEMA", "Run", "run_scenario", "run_scenarios"]

RESULTS_SCHEMA: Final = "riskguard.verify.results/1"


@dataclass(slots=True)
class Run:
    started_at: datetime
    finished_at: datetime
    context: RunContext
    results: list[Result]
    results_file: Path | None = None

    @property
    def passed(self) -> bool:
        return all(r.status is not Status.FAIL for r in self.results)

    def as_dict(self) -> dict[str, Any]:
        counts = {s.value: sum(r.status is s for r in self.results) for s in Status}
        return {
            "schema": RESULTS_SCHEMA,
            "started_at": format_ts(self.started_at),
            "finished_at": format_ts(self.finished_at),
            "seconds": round((self.finished_at - self.started_at).total_seconds(), 3),
            "host": socket.gethostname(),
            "base_config": str(self.context.base_config),
            "kafka": self.context.kafka,
            "work_dir": str(self.context.work_dir),
            "passed": self.passed,
            "counts": counts,
            "results": [r.as_dict() for r in self.results],
        }


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


def run_scenario(scenario: Scenario, context: RunContext) -> Result:
    """Run one scenario to the end; any exception is a FAIL (or SKIP), never a crash."""
    root = context.work_dir / scenario.name
    root.mkdir(parents=True, exist_ok=True)
    probe = Probe(scenario, context, root)
    started = time.monotonic()
    status, detail = Status.PASS, ""
    try:
        scenario.run(probe)
    except Skipped as exc:
        status, detail = Status.SKIP, str(exc)
    except Failed as exc:
        status, detail = Status.FAIL, str(exc)
    except Exception as exc:
        status, detail = Status.FAIL, _first_line(exc)
        (root / "error.txt").write_text(traceback.format_exc())
    finally:
        try:
            probe.close()
        except Exception as exc:
            (root / "cleanup-error.txt").write_text(traceback.format_exc())
            if status is Status.PASS:
                status, detail = Status.FAIL, f"cleanup: {_first_line(exc)}"
    failed = [c for c in probe.checks if not c.ok]
    if status is Status.PASS and failed:
        status = Status.FAIL
    if status is Status.FAIL and failed and not detail:
        detail = failed[0].name + (f": {failed[0].detail}" if failed[0].detail else "")
    if status is Status.PASS:
        trigger = probe.facts.get("trigger")
        detail = f"{trigger}; " if trigger else ""
        detail += f"{len(probe.checks)} checks ok"
    elif failed and detail != failed[0].name:
        detail += f" ({len(failed)} of {len(probe.checks)} checks failed)"
    return Result(
        name=scenario.name,
        status=status,
        seconds=time.monotonic() - started,
        key_latency=scenario.key_latency,
        latencies_ms=probe.latencies_ms,
        checks=probe.checks,
        detail=detail,
        facts=probe.facts,
        work_dir=str(root),
    )


def run_scenarios(
    scenarios: Sequence[Scenario],
    context: RunContext,
    *,
    results_dir: Path,
    keep: bool = False,
    on_result: Callable[[Result], None] = lambda _r: None,
) -> Run:
    """Run in order; save ``results-<UTC>.json`` in ``results_dir``. Work dirs of passed and
    skipped scenarios are removed unless ``keep``; a failed one's is always kept."""
    started = datetime.now(UTC)
    results: list[Result] = []
    for scenario in scenarios:
        result = run_scenario(scenario, context)
        if result.status is not Status.FAIL and not keep:
            shutil.rmtree(result.work_dir or "", ignore_errors=True)
            result.work_dir = None
        results.append(result)
        on_result(result)
    with_files = context.work_dir.exists() and any(context.work_dir.iterdir())
    if not with_files:
        shutil.rmtree(context.work_dir, ignore_errors=True)
    run = Run(started, datetime.now(UTC), context, results)
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%S.%fZ")
    run.results_file = results_dir / f"results-{stamp}.json"
    run.results_file.write_bytes(orjson.dumps(run.as_dict(), option=orjson.OPT_INDENT_2) + b"\n")
    return run
