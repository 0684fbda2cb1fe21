"""Run every ``bench/bench_*.py`` as its own process; exit non-zero if any of them failed.

    .venv/bin/python bench/run_all.py        # what `make bench` runs

Each benchmark prints its own table and PASS/MISS verdicts; a MISS is not a failure here, a crash
or a non-zero exit is.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_TIMEOUT_S = 1800


def main() -> int:
    benches = sorted((ROOT / "bench").glob("bench_*.py"))
    if not benches:
        print("run_all: no bench/bench_*.py found", file=sys.stderr)
        return 1
    results: list[tuple[str, str, float]] = []
    for bench in benches:
        name = bench.relative_to(ROOT).as_posix()
        print(f"=== {name}", flush=True)
        started = time.monotonic()
        try:
            run = subprocess.run(
                [sys.executable, str(bench)], check=False, cwd=ROOT, timeout=BENCH_TIMEOUT_S
            )
            outcome = "ok" if run.returncode == 0 else f"FAILED (exit {run.returncode})"
        except subprocess.TimeoutExpired:
            outcome = f"FAILED (timeout after {BENCH_TIMEOUT_S} s)"
        results.append((name, outcome, time.monotonic() - started))
    print("=== summary")
    for name, outcome, seconds in results:
        print(f"  {name:<40} {outcome:<24} {seconds:7.1f} s")
    failed = [name for name, outcome, _ in results if outcome != "ok"]
    if failed:
        print(f"run_all: {len(failed)} benchmark(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
