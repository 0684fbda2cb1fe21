"""Benchmark ``riskguard replay``: throughput in ticks/s and peak RSS on a generated tick file.

    .venv/bin/python bench/bench_replay.py                 # 1,000,000 ticks
    .venv/bin/python bench/bench_replay.py --ticks 200000

The file (``var/bench/replay/EURUSD_bench_<N>.csv`` and a gzip copy; regenerated only when
missing) is one EURUSD tick every 20–400 ms of tick time — a random walk with a 2.5 % crash in the
middle, a 25 s feed gap and a burst of bad ticks — so the replay trips, warns and records gaps on
the way, as real data would. Each case runs in its own child process, so its peak RSS (VmHWM) is
its own:

* ``parse``      — reading the file only (the floor for any replay);
* ``book``       — ``replay_file`` with one lot bought at the first price, chart series on;
* ``gzip``       — the same from the ``.gz`` copy;
* ``strategy``   — the same plus ``sample_momentum`` trading through the paper terminal;
* ``sweep x3``   — base + 3 ``drawdown.limit_pct`` settings in one pass (4 runs per tick);
* ``cli``        — ``riskguard replay`` as a process, end to end: replay, report.json/md and the
  4 charts (its own peak RSS and CPU time, from ``getrusage``);
* ``book (N/5)`` — the ``book`` case on the first fifth of the ticks: peak RSS must not grow
  with the file (streaming, bounded series).

Results: a table on stdout and ``var/bench/replay.json``: wall-clock ticks/s and ticks per CPU
second (steadier on a shared machine), and the load average, since wall-clock throughput on a
shared box moves with it.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
DATA_DIR = BENCH_DIR / "replay"
RESULT_FILE = BENCH_DIR / "replay.json"
CONFIG = ROOT / "config" / "risk_limits.yaml"
START_MS = 1_709_542_800_000  # 2024-03-04T09:00:00Z, a Monday
TARGET_TICKS_PER_S = 20_000  # book case: 1M ticks within a minute on a busy box (MISS: no fail)


def generate(path: Path, ticks: int, seed: int = 7) -> None:
    """Write the benchmark file (plain CSV) and a gzip copy next to it."""
    rng = random.Random(seed)  # synthetic prices, not crypto
    path.parent.mkdir(parents=True, exist_ok=True)
    crash_at, gap_at, bad_at = ticks // 2, ticks // 3, (2 * ticks) // 3
    mid, t = 1.10000, START_MS
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="ascii") as out:
        out.write("time_msc,bid,ask\n")
        for i in range(ticks):
            t += rng.randint(20, 400) + (25_000 if i == gap_at else 0)
            mid += rng.gauss(0.0, 0.00002)
            if crash_at <= i < crash_at + 500:
                mid -= 0.00006  # 500 ticks x 6 points: about 2.7 %
            if bad_at <= i < bad_at + 600 and i % 10 == 0:
                out.write(f"{t},nan,{mid:.5f}\n")
                continue
            out.write(f"{t},{mid:.5f},{mid + 0.00002:.5f}\n")
    tmp.replace(path)
    with path.open("rb") as src, gzip.open(path.with_suffix(".csv.gz"), "wb", 6) as dst:
        while block := src.read(1 << 20):
            dst.write(block)


def _vm_hwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(case: str, path: Path, out: Path) -> dict[str, Any]:
    """One case, in this (fresh) process."""
    from execution.replay import RunSetup, parse_position, replay_file
    from execution.replay.source import open_tick_file
    from execution.replay.sweep import parse_sweep, sweep_settings
    from risk.config import load_config

    config = load_config(CONFIG, env={})
    setups = [RunSetup("base", config, charts=True)]
    strategy = None
    if case == "sweep":
        settings = sweep_settings([parse_sweep("drawdown.limit_pct=1.5,3,5")], CONFIG, env={})
        setups += [RunSetup(s.label, s.config) for s in settings if s.config is not None]
    if case == "strategy":
        strategy = "sample_momentum"
    started, cpu_started = time.perf_counter(), time.process_time()
    trips = 0
    peak_mib, cpu_override = 0.0, None
    if case == "parse":
        ticks = sum(1 for _ in open_tick_file(path).ticks())
    elif case == "cli":  # the command itself, as its own process (nothing imports the CLI)
        command = [sys.executable, "-m", "execution.cli", "replay", str(path), "--out", str(out)]
        command += ["--config", str(CONFIG), "--position", "EURUSD:buy:1", "--no-progress"]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"riskguard replay exited {done.returncode}: {done.stderr[-2000:]}")
        report = json.loads((out / "report.json").read_text())
        ticks, trips = report["ticks"], report["counts"]["trips"]
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_mib, cpu_override = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
    else:
        _, runs = replay_file(
            path,
            setups,
            positions=[parse_position("EURUSD:buy:1")],
            balance=Decimal("100000.00"),
            strategy=strategy,
        )
        ticks, trips = runs[0].recorder.ticks, runs[0].recorder.trip_count
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started if cpu_override is None else cpu_override
    return {
        "case": case,
        "file": path.name,
        "runs": len(setups) if case not in ("parse", "cli") else 1,
        "ticks": ticks,
        "seconds": round(seconds, 3),
        "ticks_per_s": round(ticks / seconds),
        "cpu_seconds": round(cpu, 3),
        "ticks_per_cpu_s": round(ticks / cpu),
        "peak_rss_mib": round(peak_mib or _vm_hwm_mib(), 1),
        "trips": trips,
    }


def _run_child(case: str, path: Path, label: str) -> dict[str, Any]:
    out = BENCH_DIR / "replay" / f"out-{case}"
    proc = subprocess.run(
        [sys.executable, __file__, "--child", case, str(path), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"case {label} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["label"] = label
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--ticks", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=3, metavar=("CASE", "FILE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        case, file, out = args.child
        print(json.dumps(child(case, Path(file), Path(out))))
        return 0

    big = DATA_DIR / f"EURUSD_bench_{args.ticks}.csv"
    small = DATA_DIR / f"EURUSD_bench_{args.ticks // 5}.csv"
    for path, n in ((big, args.ticks), (small, args.ticks // 5)):
        if not path.exists() or not path.with_suffix(".csv.gz").exists():
            started = time.perf_counter()
            generate(path, n)
            print(
                f"generated {path.relative_to(ROOT)} ({n:,} ticks) in "
                f"{time.perf_counter() - started:.1f} s"
            )
    load_before = os.getloadavg()
    cases = [
        ("parse", big, "parse"),
        ("book", big, "book"),
        ("book", big.with_suffix(".csv.gz"), "gzip"),
        ("strategy", big, "strategy"),
        ("sweep", big, "sweep x3"),
        ("cli", big, "cli (report+charts)"),
        ("book", small, f"book ({args.ticks // 5:,})"),
    ]
    results = []
    print(
        f"{'case':<22}{'ticks':>11}{'runs':>6}{'seconds':>10}{'ticks/s':>11}"
        f"{'ticks/CPU-s':>13}{'peak RSS MiB':>14}{'trips':>7}"
    )
    for case, path, label in cases:
        r = _run_child(case, path, label)
        results.append(r)
        row = f"{label:<22}{r['ticks']:>11,}{r['runs']:>6}{r['seconds']:>10.1f}"
        row += f"{r['ticks_per_s']:>11,}{r['ticks_per_cpu_s']:>13,}"
        row += f"{r['peak_rss_mib']:>14.1f}{r['trips']:>7}"
        print(row, flush=True)
    load_after = os.getloadavg()
    book = next(r for r in results if r["label"] == "book")
    small_book = results[-1]
    growth = book["peak_rss_mib"] - small_book["peak_rss_mib"]
    verdict = "PASS" if book["ticks_per_s"] >= TARGET_TICKS_PER_S else "MISS"
    print(
        f"\nbook: {book['ticks_per_s']:,} ticks/s (target >= {TARGET_TICKS_PER_S:,}: {verdict}); "
        f"peak RSS {small_book['peak_rss_mib']:.1f} MiB at {small_book['ticks']:,} ticks, "
        f"{book['peak_rss_mib']:.1f} MiB at {book['ticks']:,} ({growth:+.1f} MiB)"
    )
    print(
        f"load average before/after: {load_before[0]:.2f} / {load_after[0]:.2f} "
        f"on {os.cpu_count()} CPUs"
    )
    RESULT_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULT_FILE.write_text(
        json.dumps(
            {
                "benchmark": "replay",
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "python": platform.python_version(),
                "machine": platform.machine(),
                "cpus": os.cpu_count(),
                "load_average": {"before": load_before, "after": load_after},
                "ticks": args.ticks,
                "target_ticks_per_s": TARGET_TICKS_PER_S,
                "verdict": verdict,
                "rss_growth_mib_small_to_full": round(growth, 1),
                "cases": results,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULT_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
