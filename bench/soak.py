"""Soak: paper terminal + monitor + engine (+ a Kafka broker) on an accelerated feed, sampled.

    .venv/bin/python bench/soak.py --minutes 4 --kafka embedded      # what CI runs (make soak)
    .venv/bin/python bench/soak.py --minutes 1440 --interval 60      # the documented 24 h run
    .venv/bin/python bench/soak.py --minutes 10 --tracemalloc engine # where does memory go?

Every interval it prints, per process, RSS and open file descriptors, plus the monitor's tick
count and recent tick-processing p50/p99, the evidence log size and (with Kafka) the backlog not
yet delivered. After the warm-up it fits a line to each guard process's RSS and reports growth
per 1M ticks and per hour. Exit 1 when the monitor or the engine grows more than 1 MiB per 1M
ticks, any guard process's fd count grows, the delivery backlog is left behind, a process dies,
or too few ticks were seen after the warm-up to judge (``--min-ticks``; a slow machine runs on
past ``--minutes`` for them, up to ``--max-minutes``). The paper
terminal is the broker's stand-in: reported, not judged. Results JSON in var/bench/soak.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from execution.cli.status_cmd import backlog_bytes  # noqa: E402
from execution.verify.stack import Stack  # noqa: E402 - the harness the verifier and tests use

TARGET_MIB_PER_1M = 1.0
GUARDS = ("monitor", "engine")
PROCS = (*GUARDS, "paper")
BACKLOG_LEFT_BEHIND = 1 << 20  # bytes undelivered at the end that mean delivery fell behind
DECISIONS_PER_SECOND = 50  # with Kafka: a steady event stream through the outbox


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _slope(xs: list[float], ys: list[float]) -> float:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return 0.0 if den == 0 else sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den


@contextlib.contextmanager
def _kafka(choice: str, root: Path) -> Iterator[dict[str, object]]:
    """Config overrides for the chosen broker; an embedded one lives as long as the block."""
    if choice == "none":
        yield {}
        return
    from execution.delivery import DeliverySettings, create_topics
    from execution.verify.kafka_broker import EmbeddedKafka
    from risk.config import load_config

    broker = EmbeddedKafka(root / "kafka") if choice == "embedded" else None
    try:
        if broker is not None:
            broker.start()
        bootstrap = broker.bootstrap if broker is not None else choice
        base = load_config(ROOT / "config" / "risk_limits.yaml", env={})
        settings = DeliverySettings.from_config(base, bootstrap_servers=bootstrap)
        outcome = create_topics(settings, timeout=30)
        if not all(v in ("created", "exists") for v in outcome.values()):
            raise SystemExit(f"soak: topics not created: {outcome}")
        yield {
            "kafka.bootstrap_servers": bootstrap,
            "kafka.decisions_per_second": DECISIONS_PER_SECOND,
        }
    finally:
        if broker is not None:
            broker.close()


def _memtrace(root: Path, every: float, only: str) -> Path:
    """Make one child trace its allocations (bench/memtrace/sitecustomize.py)."""
    directory = root / "memtrace"
    directory.mkdir()
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "bench" / "memtrace"), os.environ.get("PYTHONPATH")) if p
    )
    os.environ["RISKGUARD_MEMTRACE_DIR"] = str(directory)
    os.environ["RISKGUARD_MEMTRACE_EVERY"] = str(every)
    os.environ["RISKGUARD_MEMTRACE_ONLY"] = only
    return directory


def _memtrace_report(directory: Path, pids: dict[str, int], warmup_index: int) -> None:
    """Traced Python memory per snapshot (a leak climbs; in-flight batches wobble), then the
    allocation sites that grew most between the first snapshot after the warm-up and the last."""
    import tracemalloc

    for name, pid in pids.items():
        snaps = sorted(directory.glob(f"{pid}-*.snap"))
        if len(snaps) <= warmup_index + 1:
            print(f"memtrace {name}: too few snapshots ({len(snaps)})")
            continue
        loaded = [tracemalloc.Snapshot.load(str(p)) for p in snaps[warmup_index:]]
        totals = [sum(t.size for t in s.traces) / 1024 for s in loaded]
        print(f"memtrace {name}: traced KiB per snapshot " + " ".join(f"{t:.0f}" for t in totals))
        for stat in loaded[-1].compare_to(loaded[0], "traceback")[:6]:
            frames = list(stat.traceback)[::-1][:3]  # innermost first
            where = " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in frames)
            print(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks  {where}")


def _sample(stack: Stack, start: float, kafka: bool) -> dict[str, float]:
    for name, proc in stack.procs.items():
        if proc.poll() is not None:
            raise SystemExit(f"soak: {name} died with {proc.returncode}:\n{stack.output(name)}")
    figures = json.loads((stack.state_dir / "monitor.snapshot.json").read_text())["figures"]
    row: dict[str, float] = {"t": time.monotonic() - start, "ticks": float(figures.get("ticks", 0))}
    row["p50_us"] = float(figures.get("tick_us_p50") or 0)
    row["p99_us"] = float(figures.get("tick_us_p99") or 0)
    for name in PROCS:
        pid = stack.procs[name].pid
        row[f"{name}_rss"] = _rss_mib(pid)
        row[f"{name}_fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    row["evidence_kib"] = sum(p.stat().st_size for p in stack.log_dir.glob("*.jsonl")) / 1024
    row["backlog_kib"] = backlog_bytes(stack.log_dir) / 1024 if kafka else -1.0
    return row


def _print_row(row: dict[str, float], header: bool) -> None:
    cols = ["t_s", "ticks", "p50_us", "p99_us"]
    cols += [f"{n}_{m}" for n in PROCS for m in ("rss_MiB", "fds")]
    cols += ["evidence_KiB", "backlog_KiB"]
    if header:
        print(" ".join(f"{c:>{max(8, len(c))}}" for c in cols))
    values = [row["t"], row["ticks"], row["p50_us"], row["p99_us"]]
    values += [row[f"{n}_{m}"] for n in PROCS for m in ("rss", "fds")]
    values += [row["evidence_kib"], row["backlog_kib"]]
    out = []
    for col, value in zip(cols, values, strict=True):
        text = f"{value:.1f}" if col.endswith(("MiB", "_us")) else f"{value:.0f}"
        out.append(f"{text:>{max(8, len(col))}}")
    print(" ".join(out), flush=True)


def _done(samples: list[dict[str, float]], args: argparse.Namespace, elapsed: float) -> bool:
    """``--minutes`` at least; longer, up to ``--max-minutes``, while the ticks seen after the
    warm-up are fewer than ``--min-ticks`` (a slow machine runs longer rather than unjudged)."""
    if elapsed >= args.max_minutes * 60:
        return True
    if elapsed < args.minutes * 60:
        return False
    steady = [s["ticks"] for s in samples if s["t"] >= args.warmup]
    return len(steady) >= 3 and steady[-1] - steady[0] >= args.min_ticks


def _judge(samples: list[dict[str, float]], args: argparse.Namespace) -> dict[str, Any]:
    steady = [s for s in samples if s["t"] >= args.warmup]
    failures: list[str] = []
    if len(steady) < 3:
        return {"failures": [f"only {len(steady)} samples after the warm-up; run longer"]}
    ticks = [s["ticks"] for s in steady]
    hours = [s["t"] / 3600 for s in steady]
    span = ticks[-1] - ticks[0]
    if span < args.min_ticks:
        failures.append(f"{span:.0f} ticks after the warm-up, {args.min_ticks} needed to judge")
    verdict: dict[str, Any] = {"steady_ticks": span, "processes": {}}
    for name in PROCS:
        rss = [s[f"{name}_rss"] for s in steady]
        per_1m = _slope(ticks, rss) * 1e6
        fds = [s[f"{name}_fds"] for s in steady]
        half = len(fds) // 2
        # the floor of each half: a temp file or socket open at the moment of one sample is not
        # a leak, a descriptor that stays open is
        fd_drift = min(fds[half:]) - min(fds[:half])
        verdict["processes"][name] = {
            "rss_mib_first": rss[0],
            "rss_mib_last": rss[-1],
            "rss_mib_per_1m_ticks": per_1m,
            "rss_mib_per_hour": _slope(hours, rss),
            "fd_drift": fd_drift,
        }
        if name in GUARDS and per_1m > TARGET_MIB_PER_1M:
            failures.append(f"{name} RSS grows {per_1m:.3f} MiB per 1M ticks")
        if name in GUARDS and fd_drift > 0:
            failures.append(f"{name} fds grew by {fd_drift:.0f}")
    if args.kafka != "none" and steady[-1]["backlog_kib"] * 1024 > BACKLOG_LEFT_BEHIND:
        failures.append(f"delivery left {steady[-1]['backlog_kib']:.0f} KiB behind")
    verdict["failures"] = failures
    return verdict


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument(
        "--max-minutes", type=float, help="run on until --min-ticks (default 2 x --minutes)"
    )
    parser.add_argument("--interval", type=float, default=15.0, help="seconds between samples")
    parser.add_argument("--speed", type=float, default=2500.0, help="scenario speed-up")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds before fitting")
    parser.add_argument("--min-ticks", type=int, default=1_000_000, help="ticks needed to judge")
    parser.add_argument("--kafka", default="none", help="none | embedded | HOST:PORT")
    parser.add_argument(
        "--tracemalloc", choices=PROCS, help="diff this process's Python allocations (slow)"
    )
    args = parser.parse_args()
    args.max_minutes = max(args.max_minutes or 2 * args.minutes, args.minutes)
    root = ROOT / "var" / "bench" / "soak"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    print(
        f"soak: {' '.join(sys.argv[1:])}  nproc={os.cpu_count()}",
        f"python={sys.version.split()[0]}",
    )
    memtrace = _memtrace(root, args.interval, args.tracemalloc) if args.tracemalloc else None
    samples: list[dict[str, float]] = []
    with _kafka(args.kafka, root) as overrides:
        stack = Stack(
            root,
            ROOT / "config" / "risk_limits.yaml",
            overrides=overrides,
            replacements={"  stale_feed_seconds: 10": "  stale_feed_seconds: 60"},
        )
        try:
            stack.start_paper("normal", speed=args.speed, position="EURUSD:buy:1")
            stack.start_monitor()
            stack.start_engine()
            pids = {name: stack.procs[name].pid for name in PROCS}
            start = time.monotonic()
            while not _done(samples, args, time.monotonic() - start):
                time.sleep(args.interval)
                samples.append(_sample(stack, start, args.kafka != "none"))
                _print_row(samples[-1], header=len(samples) == 1)
        finally:
            stack.stop_all()
            stack.breaker.close()
    verdict = _judge(samples, args)
    (ROOT / "var" / "bench" / "soak.json").write_text(
        json.dumps({"args": vars(args), "verdict": verdict, "samples": samples}, indent=2)
    )
    for name, v in verdict.get("processes", {}).items():
        print(
            f"{name:8} RSS {v['rss_mib_first']:.1f} -> {v['rss_mib_last']:.1f} MiB: "
            f"{v['rss_mib_per_1m_ticks']:+.3f} MiB per 1M ticks, {v['rss_mib_per_hour']:+.2f} MiB"
            f" per hour; fd drift {v['fd_drift']:+.0f}"
        )
    if memtrace is not None:
        traced = {args.tracemalloc: pids[args.tracemalloc]}
        _memtrace_report(memtrace, traced, warmup_index=int(args.warmup // args.interval))
    ticks = verdict.get("steady_ticks", 0)
    print(f"judged over {ticks:.0f} ticks after a {args.warmup:.0f} s warm-up", end="; ")
    if verdict["failures"]:
        print("FAIL: " + "; ".join(verdict["failures"]))
        return 1
    print(f"PASS (guard processes ≤ {TARGET_MIB_PER_1M} MiB per 1M ticks, fds flat)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
