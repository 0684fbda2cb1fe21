"""The human table: one row per scenario, printed as each one finishes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from execution.verify.model import Result, Scenario
from execution.verify.runner import Run

__all__ = ["HEADER", "listing", "row", "summary"]

_W: Final = (18, 6, 42)
HEADER: Final = (
    f"{'scenario':<{_W[0]}} {'result':<{_W[1]}} {'key latency':<{_W[2]}} detail\n"
    f"{'-' * _W[0]} {'-' * _W[1]} {'-' * _W[2]} {'-' * 40}\n"
)


def _latency(result: Result) -> str:
    value = result.key_latency_ms
    if value is None:
        return "-"
    return f"{result.key_latency} {value:,.1f} ms"


def row(result: Result) -> str:
    return (
        f"{result.name:<{_W[0]}} {result.status.value:<{_W[1]}} "
        f"{_latency(result):<{_W[2]}} {result.detail} ({result.seconds:.1f} s)\n"
    )


def summary(run: Run) -> str:
    counts = run.as_dict()["counts"]
    seconds = (run.finished_at - run.started_at).total_seconds()
    text = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    if not run.passed:
        verdict = "FAILED"
    else:
        verdict = "all passed" if counts["PASS"] == len(run.results) else "no failures"
    lines = [f"\n{verdict}: {text} in {seconds:.0f} s", f"results: {run.results_file}"]
    kept = [r for r in run.results if r.work_dir]
    lines += [f"kept: {r.work_dir}" for r in kept]
    return "\n".join(lines) + "\n"


def listing(scenarios: Sequence[Scenario]) -> str:
    out = []
    for s in scenarios:
        needs = " [needs Kafka]" if s.needs_kafka else ""
        out.append(
            f"{s.name:<{_W[0]}} {s.description}{needs}\n{'':<{_W[0]}} pass: {s.passes_when}\n"
        )
    return "".join(out)
