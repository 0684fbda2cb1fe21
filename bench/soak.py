"""Soak: paper terminal + monitor + engine on an accelerated scenario, sampled every interval.

    .venv/bin/python bench/soak.py --minutes 3 --interval 30      # what CI runs (make soak)
    .venv/bin/python bench/soak.py --minutes 1440 --interval 60   # the documented 24 h run

Every interval it prints, per process, RSS and open file descriptors, plus the monitor's tick
count, its recent tick-processing p50/p99 and the evidence log size. At the end it fits a line
to the monitor's RSS after the warm-up and reports growth per 1M ticks and per hour, and fd drift.
Exit 1 on a gross leak (over 50 MiB per 1M ticks) or any fd growth; the 1 MiB per 1M ticks target is
reported PASS/MISS (short runs cannot separate a slow leak from caches warming up). Results JSON in
var/bench.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from execution.verify.stack import Stack  # noqa: E402 - the harness the verifier and tests use

TARGET_MIB_PER_1M = 1.0  # the target, reported PASS/MISS
LEAK_MIB_PER_1M = 50.0  # a gross leak (the original grew 405 MiB per 1M ticks): exit 1


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _slope(xs: list[float], ys: list[float]) -> float:
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return 0.0 if den == 0 else sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--interval", type=float, default=15.0, help="seconds between samples")
    parser.add_argument("--speed", type=float, default=500.0, help="scenario speed-up")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds before fitting")
    args = parser.parse_args()
    root = ROOT / "var" / "bench" / "soak"
    if root.exists():
        import shutil

        shutil.rmtree(root)
    root.mkdir(parents=True)
    print(f"soak: {' '.join(sys.argv)}  nproc={os.cpu_count()}  python={sys.version.split()[0]}")
    stack = Stack(
        root,
        ROOT / "config" / "risk_limits.yaml",
        replacements={"  stale_feed_seconds: 10": "  stale_feed_seconds: 60"},
    )
    samples: list[dict[str, float]] = []
    try:
        stack.start_paper("normal", speed=args.speed, position="EURUSD:buy:1")
        stack.start_monitor()
        stack.start_engine()
        start = time.monotonic()
        header = f"{'t_s':>6} {'ticks':>9} {'p50_us':>7} {'p99_us':>7}"
        header += "".join(
            f" {n + '_rss_MiB':>16} {n + '_fds':>11}" for n in ("monitor", "engine", "paper")
        )
        print(header + f" {'evidence_KiB':>13}")
        while (elapsed := time.monotonic() - start) < args.minutes * 60:
            time.sleep(min(args.interval, args.minutes * 60 - elapsed))
            for name, proc in stack.procs.items():
                if proc.poll() is not None:
                    print(f"{name} died with {proc.returncode}:\n{stack.output(name)}")
                    return 1
            snap = json.loads((stack.state_dir / "monitor.snapshot.json").read_text())
            row = {"t": time.monotonic() - start, "ticks": float(snap["figures"].get("ticks", 0))}
            for name, proc in stack.procs.items():
                row[f"{name}_rss"] = _rss_kib(proc.pid) / 1024
                row[f"{name}_fds"] = _fds(proc.pid)
            row["evidence_kib"] = (
                sum(p.stat().st_size for p in stack.log_dir.glob("*.jsonl")) / 1024
            )
            samples.append(row)
            figures = snap["figures"]
            line = f"{row['t']:6.0f} {row['ticks']:9.0f} {figures.get('tick_us_p50', '-'):>7} "
            line += f"{figures.get('tick_us_p99', '-'):>7}"
            for name in ("monitor", "engine", "paper"):
                line += f" {row[name + '_rss']:16.1f} {row[name + '_fds']:11.0f}"
            print(line + f" {row['evidence_kib']:13.0f}", flush=True)
    finally:
        stack.stop_all()
    steady = [s for s in samples if s["t"] >= args.warmup] or samples
    ticks, rss = [s["ticks"] for s in steady], [s["monitor_rss"] for s in steady]
    per_tick = _slope(ticks, rss)
    per_hour = _slope([s["t"] / 3600 for s in steady], rss)
    fd_drift = {
        n: steady[-1][f"{n}_fds"] - steady[0][f"{n}_fds"] for n in ("monitor", "engine", "paper")
    }
    result = {
        "minutes": args.minutes,
        "ticks": samples[-1]["ticks"] if samples else 0,
        "monitor_rss_mib_per_1m_ticks": per_tick * 1e6,
        "monitor_rss_mib_per_hour": per_hour,
        "fd_drift": fd_drift,
        "samples": samples,
    }
    (ROOT / "var" / "bench" / "soak.json").write_text(json.dumps(result, indent=2))
    growth = per_tick * 1e6
    target = "PASS" if growth <= TARGET_MIB_PER_1M else "MISS"
    ok = growth <= LEAK_MIB_PER_1M and all(v <= 2 for v in fd_drift.values())
    print(
        f"monitor RSS growth: {per_tick * 1e6:.3f} MiB per 1M ticks (target ≤ {TARGET_MIB_PER_1M}),"
        f" {per_hour:.2f} MiB per hour; fd drift {fd_drift}; ticks {result['ticks']:.0f}"
        f"; target {target}; leak check {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
