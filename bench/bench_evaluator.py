"""Benchmark the Evaluator: per-tick latency, throughput and memory growth, quiet and alerting.

    .venv/bin/python bench/bench_evaluator.py              # 1,000,000 ticks per phase
    .venv/bin/python bench/bench_evaluator.py --ticks 200000

Setup: the shipped ``config/risk_limits.yaml`` (every rule on), 10 open positions on EURUSD,
GBPUSD and USDJPY, ticks round-robin across the three symbols, one every 5–45 ms of tick time.
Ticks are made one at a time right before each call, as a live feed would: the price paths are
precomputed as ``array('d')`` (not GC-tracked), never as a list of ``Tick`` objects, which would
make every cyclic collection traverse millions of tuples and inflate the per-tick time ~5x.

Phases (each on a fresh Evaluator, after a warm-up of ``--warmup`` ticks):

1. quiet, timed — ``perf_counter_ns`` around every ``on_tick``: p50 / p99 / p99.9 / max.
2. quiet, untimed — throughput of the feed loop (make the Tick, call ``on_tick``), the same loop
   with a no-op instead of ``on_tick`` (harness cost), and RSS growth (whole run, second half).
3. alerting, timed — a path that keeps entering and leaving warnings and breaching, every change
   routed through a ``Guard`` with a real ``CircuitBreaker`` (``var/bench/state``) and an
   ``EvidenceLog`` (``var/bench/log``; breaches fsync); at each swing top the engine resizes
   one position (``on_account``), so the leverage warning flips. RSS growth, events, trips.

Targets are reported PASS/MISS; a MISS never fails the process. Results also go to
``var/bench/evaluator.json``. No tracemalloc anywhere: memory is RSS from /proc/self/statm (after
``gc.collect()``), plus CPython's allocated-block count and GC-tracked object count.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import random
import resource
import shlex
import shutil
import sys
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from risk.circuit_breaker import CircuitBreaker
from risk.clock import SystemClock
from risk.config import RiskConfig, load_config
from risk.evaluator import Evaluator
from risk.events import EventSink
from risk.guard import Guard
from risk.journal import EvidenceLog
from risk.levels import LevelChange
from risk.models import AccountSnapshot, Position, PositionType, SymbolSpec, Tick

ROOT = Path(__file__).resolve().parent.parent
CONFIG_FILE = ROOT / "config" / "risk_limits.yaml"
BENCH_DIR = ROOT / "var" / "bench"
STATE_DIR = BENCH_DIR / "state"
LOG_DIR = BENCH_DIR / "log"
RESULT_FILE = BENCH_DIR / "evaluator.json"

TARGET_P50_NS = 4_000
TARGET_P99_NS = 15_000
TARGET_TICKS_PER_S = 250_000
TARGET_GROWTH_MIB_PER_M = 1.0
TARGET_WORST_NS = 2_000_000
BASELINE_NOTE = "original system: 85–89k ticks/s with two rules, +405 MiB per 1M alerting ticks"

START_MS = 1_741_075_200_000  # 2025-03-04T08:00:00Z, a Tuesday: no day roll for ~15 h of ticks
RECEIPT_DELAY_MS = 3  # wall clock ("now") is this far behind the tick's server time
CHUNK = 100_000  # throughput is also reported per chunk of this many ticks
SLOW_TICK_NS = 50_000  # timed ticks slower than this are kept (index, start) to match with GC
SLOW_KEEP = 10_000

ACCOUNT = "1001"
BALANCE = Decimal("100000.00")
SO_CALL, SO_SO = Decimal(100), Decimal(50)
BROKER_LEVERAGE = 100  # margin = notional / 100


# --------------------------------------------------------------------------------- instruments
@dataclass(frozen=True)
class Instrument:
    spec: SymbolSpec
    base_points: int  # starting bid in points
    spread: tuple[int, int]  # min, max spread in points
    sigma: float  # random-walk step (points, per tick of this symbol)


def _usd_quote(name: str) -> SymbolSpec:
    return SymbolSpec(name, 5, Decimal(100000), Decimal("0.00001"), Decimal(1))


def _usdjpy(price: Decimal) -> SymbolSpec:
    """USD is the base currency: a 0.001 move of one lot is worth tick_size × contract / price
    USD (rounded to 8 decimals, as an adapter would take MT5's float)."""
    tick_size, contract = Decimal("0.001"), Decimal(100000)
    tick_value = (tick_size * contract / price).quantize(Decimal("0.00000001"))
    return SymbolSpec("USDJPY", 3, contract, tick_size, tick_value)


INSTRUMENTS = (
    Instrument(_usd_quote("EURUSD"), 108_000, (2, 12), 1.5),
    Instrument(_usd_quote("GBPUSD"), 127_000, (4, 18), 1.8),
    Instrument(_usdjpy(Decimal("150.000")), 150_000, (3, 15), 1.6),
)
SPECS = {ins.spec.name: ins.spec for ins in INSTRUMENTS}
SYMBOLS = tuple(SPECS)
EURUSD, GBPUSD, USDJPY = SYMBOLS

# ticket, symbol, side, lots, open offset (points from the starting bid)
QUIET_POSITIONS: tuple[tuple[int, str, PositionType, str, int], ...] = (
    (1, EURUSD, PositionType.BUY, "0.50", -40),
    (2, EURUSD, PositionType.BUY, "0.30", 25),
    (3, EURUSD, PositionType.SELL, "0.20", 60),
    (4, EURUSD, PositionType.BUY, "0.10", -5),
    (5, GBPUSD, PositionType.SELL, "0.30", 35),
    (6, GBPUSD, PositionType.BUY, "0.20", -70),
    (7, GBPUSD, PositionType.SELL, "0.10", 10),
    (8, USDJPY, PositionType.BUY, "0.20", -45),
    (9, USDJPY, PositionType.SELL, "0.10", 30),
    (10, USDJPY, PositionType.BUY, "0.10", -15),
)
# alerting: ticket 1 is the big EURUSD long, opened at the top of every swing; the engine scales
# it between these sizes at each swing top (leverage ~2.5x <-> ~3.3x: the 3x warning flips)
ALERT_LOTS = (Decimal("0.60"), Decimal("1.40"))
SWING_TICKS = 1_200  # EURUSD ticks per slow swing (x3 symbols x 25 ms = 90 s of tick time)
FLASH_TICKS = 100  # EURUSD ticks of a flash-crash descent (~7.5 s)
DEPTH_WARN, DEPTH_BREACH, DEPTH_FLASH = 0.013, 0.023, 0.032  # equity fall per swing


def _money(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"))


def _positions(
    rows: Sequence[tuple[int, str, PositionType, str, int]], overrides: dict[int, Decimal]
) -> list[tuple[Position, int]]:
    """Positions (priced at the starting bid) with their open price in points."""
    out = []
    for ticket, symbol, side, lots, offset in rows:
        ins = next(i for i in INSTRUMENTS if i.spec.name == symbol)
        scale = Decimal(1).scaleb(-ins.spec.digits)
        open_pts = ins.base_points + offset
        volume = overrides.get(ticket, Decimal(lots))
        pos = Position(
            ticket=ticket,
            symbol=symbol,
            type=side,
            volume=volume,
            price_open=open_pts * scale,
            price_current=ins.base_points * scale,
            swap=Decimal(0),
            profit=Decimal(0),
            time_msc=START_MS - 3_600_000,
        )
        out.append((pos, open_pts))
    return out


def _account(positions: Sequence[Position]) -> AccountSnapshot:
    notional = Decimal(0)
    for pos in positions:
        spec = SPECS[pos.symbol]
        notional += pos.volume * spec.value_per_point * spec.to_points(pos.price_current)
    margin = _money(notional / BROKER_LEVERAGE)
    return AccountSnapshot(
        login=int(ACCOUNT),
        trade_mode=0,
        leverage=BROKER_LEVERAGE,
        balance=BALANCE,
        credit=Decimal(0),
        profit=Decimal(0),
        equity=BALANCE,
        margin=margin,
        margin_free=BALANCE - margin,
        margin_level=_money(BALANCE / margin * 100),
        margin_so_call=SO_CALL,
        margin_so_so=SO_SO,
        currency="USD",
    )


# ----------------------------------------------------------------------------------- the feed
@dataclass
class Feed:
    """Precomputed tick fields: plain floats and ints in arrays, nothing GC-tracked."""

    times: array[int]
    bids: array[float]
    asks: array[float]
    # alerting only: at tick index i (a swing top), the engine resizes ticket 1
    resize_at: array[int] = field(default_factory=lambda: array("q"))
    resize_lots: list[Decimal] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.times)


def _times(rng: random.Random, n: int) -> array[int]:
    times, t = array("q", bytes(8 * n)), START_MS
    for i in range(n):
        t += 5 + int(rng.random() * 41)  # 5–45 ms
        times[i] = t
    return times


def _fill(feed: Feed, i: int, ins: Instrument, bid_pts: float, rng: random.Random) -> None:
    bid = round(bid_pts)
    scale = 10**ins.spec.digits
    feed.bids[i] = bid / scale
    low, high = ins.spread
    feed.asks[i] = (bid + low + int(rng.random() * (high - low + 1))) / scale


def quiet_feed(n: int, seed: int) -> Feed:
    """Mean-reverting random walks (Ornstein–Uhlenbeck in points, ~±25–30 points typical):
    realistic tick-to-tick steps and spreads, never near a warning with the quiet book."""
    rng = random.Random(seed)
    feed = Feed(_times(rng, n), array("d", bytes(8 * n)), array("d", bytes(8 * n)))
    theta = 0.002
    dev = [0.0] * len(INSTRUMENTS)
    for i in range(n):
        k = i % len(INSTRUMENTS)
        ins = INSTRUMENTS[k]
        dev[k] += -theta * dev[k] + rng.gauss(0.0, ins.sigma)
        _fill(feed, i, ins, ins.base_points + dev[k], rng)
    return feed


def alerting_feed(n: int, seed: int, top_pts: int, per_point: tuple[float, float]) -> Feed:
    """EURUSD swings down from ``top_pts`` and back: most swings fall 1.3 % of equity (warning
    in, warning out), every 5th 2.3 % (drawdown and daily-loss breach), every 10th a 3.2 % flash
    crash in ~7.5 s (velocity breach too). The engine resizes ticket 1 at each swing top, so the
    leverage warning flips. The other symbols walk quietly. ``per_point``: equity change per
    EURUSD point for each ticket-1 size."""
    rng = random.Random(seed)
    feed = Feed(_times(rng, n), array("d", bytes(8 * n)), array("d", bytes(8 * n)))
    theta = 0.002
    dev = [0.0] * len(INSTRUMENTS)
    swing, pos, length, depth_pts, descent = -1, 0, 0, 0.0, 1
    equity = float(BALANCE)
    for i in range(n):
        k = i % len(INSTRUMENTS)
        ins = INSTRUMENTS[k]
        if ins.spec.name != EURUSD:
            dev[k] += -theta * dev[k] + rng.gauss(0.0, ins.sigma)
            _fill(feed, i, ins, ins.base_points + dev[k], rng)
            continue
        if pos >= length:  # a new swing starts at the top: resize ticket 1 first
            swing += 1
            size = swing % 2
            feed.resize_at.append(i)
            feed.resize_lots.append(ALERT_LOTS[size])
            if swing % 10 == 9:
                depth, descent = DEPTH_FLASH, FLASH_TICKS
            elif swing % 5 == 4:
                depth, descent = DEPTH_BREACH, SWING_TICKS // 2
            else:
                depth, descent = DEPTH_WARN, SWING_TICKS // 2
            depth_pts = depth * equity / per_point[size]
            length, pos = descent + SWING_TICKS // 2, 0
        if pos < descent:
            fall = depth_pts * pos / descent
        else:
            fall = depth_pts * (1 - (pos - descent) / (length - descent))
        pos += 1
        noise = rng.gauss(0.0, 1.0)
        _fill(feed, i, ins, top_pts - fall + noise, rng)
    return feed


# ---------------------------------------------------------------------------------- measuring
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class MemProbe:
    rss: int
    blocks: int
    tracked: int

    @staticmethod
    def take() -> MemProbe:
        gc.collect()
        with open("/proc/self/statm", encoding="ascii") as f:
            rss = int(f.read().split()[1]) * PAGE
        return MemProbe(rss, sys.getallocatedblocks(), len(gc.get_objects()))


def _growth(before: MemProbe, mid: MemProbe, after: MemProbe, ticks: int) -> dict[str, float]:
    """Growth over the whole run, and over its second half alone: a one-off step (an arena, a
    bounded history filling up) shows in the first, steady growth in both."""
    per_m = 1_000_000 / ticks
    second = ticks - ticks // 2
    return {
        "rss_before_mib": before.rss / 2**20,
        "rss_mid_mib": mid.rss / 2**20,
        "rss_after_mib": after.rss / 2**20,
        "rss_growth_mib": (after.rss - before.rss) / 2**20,
        "rss_growth_mib_per_1m": (after.rss - before.rss) / 2**20 * per_m,
        "rss_growth_second_half_mib_per_1m": (after.rss - mid.rss) / 2**20 * 1_000_000 / second,
        "allocated_blocks_growth": after.blocks - before.blocks,
        "gc_tracked_objects_growth": after.tracked - before.tracked,
    }


@dataclass(frozen=True)
class CpuProbe:
    """What else the machine was doing: our CPU time vs wall, involuntary context switches
    (preempted by another runnable task) and hypervisor steal, from /proc/stat."""

    wall_ns: int
    cpu_ns: int
    nivcsw: int
    steal: int
    total: int

    @staticmethod
    def take() -> CpuProbe:
        fields = [0] * 8
        try:
            with open("/proc/stat", encoding="ascii") as f:
                fields = [int(x) for x in f.readline().split()[1:9]]
        except (OSError, ValueError):
            pass
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return CpuProbe(
            time.perf_counter_ns(), time.process_time_ns(), usage.ru_nivcsw, fields[7], sum(fields)
        )

    def since(self, before: CpuProbe) -> dict[str, float]:
        total = self.total - before.total
        return {
            "cpu_share": (self.cpu_ns - before.cpu_ns) / max(1, self.wall_ns - before.wall_ns),
            "involuntary_switches": self.nivcsw - before.nivcsw,
            "steal_pct": 100 * (self.steal - before.steal) / total if total else 0.0,
            "load_avg_after": os.getloadavg()[0],
        }


def _percentile(ordered: Sequence[int], q: float) -> int:
    """Nearest rank."""
    rank = min(max(1, math.ceil(q / 100 * len(ordered))), len(ordered))
    return ordered[rank - 1]


def _stats(samples: Sequence[int]) -> dict[str, float]:
    if not samples:
        return {"count": 0}
    ordered = sorted(samples)
    return {
        "count": len(ordered),
        "mean_ns": sum(ordered) / len(ordered),
        "p50_ns": _percentile(ordered, 50),
        "p99_ns": _percentile(ordered, 99),
        "p99_9_ns": _percentile(ordered, 99.9),
        "max_ns": ordered[-1],
        "min_ns": ordered[0],
    }


class GcWatch:
    """Wall intervals of every cyclic collection (via gc.callbacks; costs nothing between them)."""

    def __init__(self) -> None:
        self.spans: list[tuple[int, int, int]] = []
        self._start = 0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.perf_counter_ns()
        else:
            self.spans.append((self._start, time.perf_counter_ns(), info["generation"]))

    def __enter__(self) -> GcWatch:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)

    def by_generation(self) -> dict[str, int]:
        counts = {"gen0": 0, "gen1": 0, "gen2": 0}
        for _, _, gen in self.spans:
            counts[f"gen{gen}"] += 1
        return counts

    def overlapping(self, start: int, duration: int) -> list[int]:
        end = start + duration
        return [gen for s, e, gen in self.spans if s < end and e > start]


class CountingSink:
    """Counts the events that reach the evidence log (its file layout is the journal's)."""

    def __init__(self, inner: EventSink) -> None:
        self.inner = inner
        self.count = 0

    def emit(self, event: str, /, **fields: Any) -> None:
        self.count += 1
        self.inner.emit(event, **fields)


def _noop(tick: Tick, now_ms: int, received_ns: int) -> tuple[LevelChange, ...]:
    return ()


def timer_overhead(samples: int = 200_000) -> dict[str, float]:
    """``perf_counter_ns`` pair with nothing between, and around an empty Python call."""
    perf = time.perf_counter_ns
    bare, empty = array("q", bytes(8 * samples)), array("q", bytes(8 * samples))
    tick = Tick(EURUSD, 1.08, 1.08001, 0.0, 0, START_MS, 6)
    for i in range(samples):
        t0 = perf()
        bare[i] = perf() - t0
    noop = _noop
    for i in range(samples):
        t0 = perf()
        noop(tick, START_MS, 0)
        empty[i] = perf() - t0
    return {"bare_p50_ns": _stats(bare)["p50_ns"], "empty_call_p50_ns": _stats(empty)["p50_ns"]}


# --------------------------------------------------------------------------------------- setup
def _evaluator(cfg: RiskConfig, positions: Sequence[Position]) -> tuple[Evaluator, list[str]]:
    ev = Evaluator(cfg, SPECS, clock=SystemClock())
    changes = ev.on_account(_account(positions), positions, START_MS)
    return ev, [f"{c.code.value} {c.reading.level.name}" for c in changes]


def _quiet_positions() -> list[Position]:
    return [p for p, _ in _positions(QUIET_POSITIONS, {})]


def _alert_positions(lots: Decimal) -> list[Position]:
    """Ticket 1 opened exactly at EURUSD's starting bid (the swing top): resizing it at a top
    moves no equity."""
    rows = list(QUIET_POSITIONS)
    ticket, symbol, side, _, _ = rows[0]
    rows[0] = (ticket, symbol, side, str(lots), 0)
    return [p for p, _ in _positions(rows, {1: lots})]


def _per_point(positions: Sequence[Position]) -> float:
    """Equity change (USD) per EURUSD point of the EURUSD positions."""
    net = sum(
        (p.volume if p.type is PositionType.BUY else -p.volume)
        for p in positions
        if p.symbol == EURUSD
    )
    return float(net * SPECS[EURUSD].value_per_point)


# ---------------------------------------------------------------------------------------- runs
def run_quiet_timed(cfg: RiskConfig, feed: Feed, warmup: int, n: int) -> dict[str, Any]:
    ev, setup = _evaluator(cfg, _quiet_positions())
    on_tick, perf, mono = ev.on_tick, time.perf_counter_ns, time.monotonic_ns
    times, bids, asks = feed.times, feed.bids, feed.asks
    syms, nsym = SYMBOLS, len(SYMBOLS)
    lat = array("q", bytes(8 * n))
    slow: list[tuple[int, int, int]] = []
    warm: dict[str, int] = {}
    changes: dict[str, int] = {}
    _feed_loop(on_tick, feed, 0, warmup, warm)
    cpu = CpuProbe.take()
    with GcWatch() as watch:
        started = perf()
        for j in range(n):
            i = warmup + j
            t = times[i]
            tick = Tick(syms[i % nsym], bids[i], asks[i], 0.0, 0, t, 6)
            now, received = t + RECEIPT_DELAY_MS, mono()
            t0 = perf()
            out = on_tick(tick, now, received)
            d = perf() - t0
            lat[j] = d
            if out:
                _tally(out, changes)
            if d > SLOW_TICK_NS and len(slow) < SLOW_KEEP:
                slow.append((d, j, t0))
        elapsed = perf() - started
    contention = CpuProbe.take().since(cpu)
    stats = _stats(lat)
    slow.sort(reverse=True)
    worst = [
        {
            "ns": d,
            "tick": j,
            "symbol": syms[(warmup + j) % nsym],
            "during_gc": watch.overlapping(t0, d),
        }
        for d, j, t0 in slow[:10]
    ]
    over = {f"over_{us}us": sum(1 for x in lat if x > us * 1000) for us in (15, 50, 100, 1000)}
    return {
        "setup_levels": setup,
        "latency": stats,
        "counts": over,
        "worst": worst,
        "slow_ticks_over_50us": len(slow),
        "gc_collections": watch.by_generation(),
        "gc_time_ms": sum(e - s for s, e, _ in watch.spans) / 1e6,
        "level_changes": changes,
        "warmup_level_changes": warm,
        "contention": contention,
        "loop_ticks_per_s": n / (elapsed / 1e9),
        "bad_ticks": dict(ev.bad_ticks),
    }


def _tally(changes: Sequence[LevelChange], into: dict[str, int]) -> None:
    for c in changes:
        key = f"{c.code.value}:{c.previous.name}->{c.reading.level.name}"
        into[key] = into.get(key, 0) + 1


def _feed_loop(
    call: Callable[[Tick, int, int], tuple[LevelChange, ...]],
    feed: Feed,
    lo: int,
    hi: int,
    tally: dict[str, int],
) -> None:
    """The feed as a service would run it: make the Tick, stamp receipt, call. Level changes
    are tallied (the truthiness test is the only extra work on a quiet tick)."""
    times, bids, asks = feed.times, feed.bids, feed.asks
    syms, nsym, mono = SYMBOLS, len(SYMBOLS), time.monotonic_ns
    for i in range(lo, hi):
        t = times[i]
        out = call(
            Tick(syms[i % nsym], bids[i], asks[i], 0.0, 0, t, 6), t + RECEIPT_DELAY_MS, mono()
        )
        if out:
            _tally(out, tally)


def _chunked(
    call: Callable[[Tick, int, int], tuple[LevelChange, ...]],
    feed: Feed,
    lo: int,
    n: int,
    tally: dict[str, int],
) -> tuple[float, list[float]]:
    perf = time.perf_counter_ns
    rates, started = [], perf()
    for c0 in range(lo, lo + n, CHUNK):
        c1 = min(c0 + CHUNK, lo + n)
        t0 = perf()
        _feed_loop(call, feed, c0, c1, tally)
        rates.append((c1 - c0) / ((perf() - t0) / 1e9))
    return (perf() - started) / 1e9, rates


def run_quiet_throughput(cfg: RiskConfig, feed: Feed, warmup: int, n: int) -> dict[str, Any]:
    ev, setup = _evaluator(cfg, _quiet_positions())
    warm: dict[str, int] = {}
    changes: dict[str, int] = {}
    _feed_loop(ev.on_tick, feed, 0, warmup, warm)
    before = MemProbe.take()
    cpu = CpuProbe.take()
    half = n // 2
    with GcWatch() as watch:
        seconds, rates = _chunked(ev.on_tick, feed, warmup, half, changes)
        mid = MemProbe.take()  # between the halves, outside the timed loops
        seconds2, rates2 = _chunked(ev.on_tick, feed, warmup + half, n - half, changes)
    contention = CpuProbe.take().since(cpu)
    after = MemProbe.take()
    seconds, rates = seconds + seconds2, rates + rates2
    harness_s, _ = _chunked(_noop, feed, warmup, n, {})
    net_s = seconds - harness_s
    rates.sort()
    return {
        "setup_levels": setup,
        "seconds": seconds,
        "ticks_per_s": n / seconds,
        "chunk_ticks_per_s": {"min": rates[0], "median": rates[len(rates) // 2], "max": rates[-1]},
        "harness_seconds": harness_s,
        "harness_ns_per_tick": harness_s / n * 1e9,
        "net_on_tick_ns": net_s / n * 1e9,
        "net_ticks_per_s": n / net_s if net_s > 0 else float("inf"),
        "level_changes": changes,
        "warmup_level_changes": warm,
        "contention": contention,
        "gc_collections": watch.by_generation(),
        "memory": _growth(before, mid, after, n),
    }


def run_alerting(cfg: RiskConfig, feed: Feed, warmup: int, n: int) -> dict[str, Any]:
    for directory in (STATE_DIR, LOG_DIR):
        shutil.rmtree(directory, ignore_errors=True)
    clock = SystemClock()
    mode, dmode = cfg.paths.file_mode, cfg.paths.dir_mode
    log = EvidenceLog(
        LOG_DIR, component="bench", clock=clock, file_mode=mode, dir_mode=dmode, account=ACCOUNT
    )
    sink = CountingSink(log)
    breaker = CircuitBreaker(
        STATE_DIR,
        role="monitor",
        clock=clock,
        sink=sink,
        history_limit=cfg.kill_switch.history_limit,
        lock_timeout_ms=cfg.kill_switch.lock_timeout_ms,
        file_mode=mode,
        dir_mode=dmode,
    )
    breaker.initialise()
    positions = {lots: _alert_positions(lots) for lots in ALERT_LOTS}
    ev, setup = _evaluator(cfg, positions[ALERT_LOTS[0]])
    guard = Guard(ev, breaker, sink, state_dir=STATE_DIR, account=ACCOUNT)
    accounts = {lots: _account(p) for lots, p in positions.items()}

    on_tick, on_account, handle = ev.on_tick, ev.on_account, guard.handle
    persist, perf, mono = guard.persist, time.perf_counter_ns, time.monotonic_ns
    times, bids, asks = feed.times, feed.bids, feed.asks
    syms, nsym = SYMBOLS, len(SYMBOLS)
    resize_at, resize_lots = feed.resize_at, feed.resize_lots
    lat = array("q", bytes(8 * n))
    guard_ns, account_ns = array("q"), array("q")
    by_change: dict[str, int] = {}
    trips = 0

    def account_update(r: int, now: int) -> tuple[bool, bool]:
        """The engine resized ticket 1: a new account snapshot. (tripped, wrote evidence)"""
        lots = resize_lots[r]
        t0 = perf()
        out = on_account(accounts[lots], positions[lots], now)
        handled = handle(out) if out else None
        account_ns.append(perf() - t0)
        _tally(out, by_change)
        return handled is not None, bool(out)

    r = 0
    before = mid = None
    cpu, started = CpuProbe.take(), 0
    # slow ticks as (ns, tick, changes, ticks since Guard I/O) in a preallocated array: the
    # bench's own bookkeeping must not show up as evaluator memory growth
    slow, nslow = array("q", bytes(8 * 4 * SLOW_KEEP)), 0
    last_io = -(10**9)
    for i in range(warmup + n):
        if i == warmup:
            before = MemProbe.take()
            cpu = CpuProbe.take()
            started = perf()
        elif i == warmup + n // 2:
            mid = MemProbe.take()  # ~0.1 s inside the alerting wall time; not in any sample
        t = times[i]
        if r < len(resize_at) and resize_at[r] == i:
            tripped, wrote = account_update(r, t + RECEIPT_DELAY_MS)
            trips += tripped
            last_io = i if wrote else last_io
            r += 1
        tick = Tick(syms[i % nsym], bids[i], asks[i], 0.0, 0, t, 6)
        now, received = t + RECEIPT_DELAY_MS, mono()
        t0 = perf()
        out = on_tick(tick, now, received)
        t1 = perf()
        if i >= warmup:
            d = t1 - t0
            lat[i - warmup] = d
            if d > SLOW_TICK_NS and nslow < SLOW_KEEP:
                k, nslow = 4 * nslow, nslow + 1
                slow[k], slow[k + 1], slow[k + 2], slow[k + 3] = (
                    d,
                    i - warmup,
                    len(out),
                    i - last_io,
                )
        if out:
            trips += handle(out) is not None
            guard_ns.append(perf() - t1)
            last_io = i
            _tally(out, by_change)
        persist(now_ns=received)
    elapsed = perf() - started
    contention = CpuProbe.take().since(cpu)
    assert before is not None
    mid = mid or before
    after = MemProbe.take()
    view = breaker.read()
    breaker.close()
    log.close()
    evidence_bytes = sum(p.stat().st_size for p in LOG_DIR.rglob("*") if p.is_file())
    breaches = sum(v for k, v in by_change.items() if k.endswith("->BREACH"))
    slow_rows = sorted((tuple(slow[4 * k : 4 * k + 4]) for k in range(nslow)), reverse=True)
    worst = [
        {"ns": d, "tick": j, "changes": c, "ticks_since_guard_io": gap}
        for d, j, c, gap in slow_rows[:10]
    ]
    return {
        "setup_levels": setup,
        "latency": _stats(lat),
        "guard_handle": _stats(guard_ns),
        "worst": worst,
        "slow_ticks_over_50us": nslow,
        "slow_ticks_within_3_of_guard_io": sum(1 for *_, gap in slow_rows if gap <= 3),
        "account_updates": _stats(account_ns),
        "level_changes": by_change,
        "breaches": breaches,
        "breaker_trips": trips,
        "breaker_state": view.state.value,
        "breaker_seq": view.seq,
        "evidence_events": sink.count,
        "evidence_bytes": evidence_bytes,
        "seconds": elapsed / 1e9,
        "ticks_per_s_with_guard": n / (elapsed / 1e9),
        "contention": contention,
        "memory": _growth(before, mid, after, n),
    }


# ------------------------------------------------------------------------------------ reporting
def _fmt(ns: float) -> str:
    if ns >= 1_000_000:
        return f"{ns / 1e6:.2f} ms"
    return f"{ns / 1e3:.2f} µs"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "load_avg": os.getloadavg(),
        "command": shlex.join([sys.executable, *sys.argv]),
        "gc_thresholds": gc.get_threshold(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--ticks", type=int, default=1_000_000, help="measured ticks per phase")
    parser.add_argument("--warmup", type=int, default=100_000, help="ticks before measuring")
    parser.add_argument("--seed", type=int, default=20261121)
    args = parser.parse_args(argv)
    n, warmup = args.ticks, args.warmup
    if n < 1 or warmup < 0:
        parser.error("--ticks must be positive and --warmup non-negative")

    wall_start = time.monotonic()
    machine = _machine()
    print(f"bench_evaluator  {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}")
    print(f"  command : {machine['command']}")
    print(
        f"  machine : nproc {machine['nproc']} ({machine['cpu_model']}), {machine['python']}, "
        f"{machine['platform']}, load avg {' '.join(f'{x:.2f}' for x in machine['load_avg'])}"
    )
    cfg = load_config(CONFIG_FILE, env={})
    lo_book, hi_book = (_alert_positions(lots) for lots in ALERT_LOTS)
    print(
        f"  setup   : {CONFIG_FILE.relative_to(ROOT)} as shipped (all rules on); 10 positions on "
        f"{', '.join(SYMBOLS)}; ticks round-robin, 5–45 ms apart; {n:,} measured ticks per "
        f"phase after {warmup:,} warm-up; USDJPY tick_value {SPECS[USDJPY].tick_value}"
    )

    t0 = time.monotonic()
    quiet = quiet_feed(warmup + n, args.seed)
    top = INSTRUMENTS[0].base_points
    alert = alerting_feed(
        warmup + n, args.seed + 1, top, (_per_point(lo_book), _per_point(hi_book))
    )
    print(f"  feeds   : precomputed in {time.monotonic() - t0:.1f} s (array('d'), not GC-tracked)")
    BENCH_DIR.mkdir(parents=True, exist_ok=True)

    overhead = timer_overhead()
    print("  running : quiet timed ...", flush=True)
    qt = run_quiet_timed(cfg, quiet, warmup, n)
    print("  running : quiet throughput ...", flush=True)
    qp = run_quiet_throughput(cfg, quiet, warmup, n)
    print("  running : alerting (Guard + CircuitBreaker + EvidenceLog) ...", flush=True)
    al = run_alerting(cfg, alert, warmup, n)
    wall = time.monotonic() - wall_start

    lq, la = qt["latency"], al["latency"]
    verdicts = {
        "p50": _verdict(lq["p50_ns"] <= TARGET_P50_NS),
        "p99": _verdict(lq["p99_ns"] <= TARGET_P99_NS),
        "throughput": _verdict(qp["ticks_per_s"] >= TARGET_TICKS_PER_S),
        "growth_quiet": _verdict(qp["memory"]["rss_growth_mib_per_1m"] <= TARGET_GROWTH_MIB_PER_M),
        "growth_alerting": _verdict(
            al["memory"]["rss_growth_mib_per_1m"] <= TARGET_GROWTH_MIB_PER_M
        ),
        "worst_quiet": _verdict(lq["max_ns"] <= TARGET_WORST_NS),
        "worst_alerting": _verdict(la["max_ns"] <= TARGET_WORST_NS),
    }

    print()
    print(
        f"timer overhead: perf_counter_ns pair {_fmt(overhead['bare_p50_ns'])}, around an empty "
        f"call {_fmt(overhead['empty_call_p50_ns'])} (p50; included in every sample below)"
    )
    print(f"setup on_account levels (not on the tick path): quiet {qt['setup_levels'] or 'none'}")
    print()
    head = f"  {'on_tick latency':<28} {'count':>9} {'p50':>9} {'p99':>9} {'p99.9':>9} {'max':>10}"
    print(head)

    def row(label: str, s: dict[str, float]) -> str:
        if not s.get("count"):
            return f"  {label:<28} {0:>9}"
        return (
            f"  {label:<28} {s['count']:>9,.0f} {_fmt(s['p50_ns']):>9} {_fmt(s['p99_ns']):>9} "
            f"{_fmt(s['p99_9_ns']):>9} {_fmt(s['max_ns']):>10}"
        )

    print(row("quiet", lq))
    print(row("alerting (on_tick only)", la))
    print(row("alerting Guard.handle", al["guard_handle"]))
    print(row("alerting on_account+handle", al["account_updates"]))
    print(
        f"  quiet: {qt['counts']['over_15us']:,} ticks > 15 µs, {qt['counts']['over_50us']:,} "
        f"> 50 µs, {qt['counts']['over_100us']:,} > 100 µs, {qt['counts']['over_1000us']:,} "
        f"> 1 ms; GC during timed run {qt['gc_collections']} ({qt['gc_time_ms']:.1f} ms)"
    )
    quiet_changes = {
        "timed": qt["level_changes"],
        "untimed": qp["level_changes"],
        "warm-up": {**qt["warmup_level_changes"], **qp["warmup_level_changes"]},
    }
    print(
        "  level changes on the quiet path: "
        + "; ".join(f"{k} {v or 'none'}" for k, v in quiet_changes.items())
        + (
            "  (TICK_LATENCY = the process was stalled ≥ 50 ms between receipt and evaluation)"
            if any("TICK_LATENCY" in key for v in quiet_changes.values() for key in v)
            else ""
        )
    )
    print("  worst quiet ticks (index in measured run, symbol, GC generations overlapping):")
    for w in qt["worst"][:5]:
        gcs = ",".join(f"gen{g}" for g in w["during_gc"]) or "-"
        print(f"    {_fmt(w['ns']):>10}  #{w['tick']:<9} {w['symbol']}  gc {gcs}")
    print()
    chunks = qp["chunk_ticks_per_s"]
    print(
        f"throughput (quiet, untimed, {n:,} ticks): {qp['ticks_per_s']:,.0f} ticks/s "
        f"(feed loop: make Tick + monotonic_ns + on_tick); per {CHUNK:,}-tick chunk "
        f"min {chunks['min']:,.0f} / median {chunks['median']:,.0f} / max {chunks['max']:,.0f}"
    )
    print(
        f"  harness alone (same loop, no-op call) {qp['harness_ns_per_tick']:.0f} ns/tick → "
        f"on_tick itself {qp['net_on_tick_ns']:.0f} ns/tick = {qp['net_ticks_per_s']:,.0f} ticks/s"
    )
    print()
    print("contention (our CPU time / wall, involuntary context switches, VM steal, load after):")
    for label, c in (
        ("quiet timed", qt["contention"]),
        ("quiet untimed", qp["contention"]),
        ("alerting", al["contention"]),
    ):
        print(
            f"  {label:<14} CPU/wall {c['cpu_share']:.3f}  preempted "
            f"{c['involuntary_switches']:>6,} x  steal {c['steal_pct']:4.1f} %  "
            f"load {c['load_avg_after']:.2f}"
        )
    print()
    print(
        f"  {'memory':<10} {'RSS before':>11} {'half-way':>11} {'after':>11} {'per 1M':>10} "
        f"{'2nd half/1M':>12} {'blocks':>8} {'objects':>8}"
    )
    for label, mem in (("quiet", qp["memory"]), ("alerting", al["memory"])):
        print(
            f"  {label:<10} {mem['rss_before_mib']:>7.1f} MiB {mem['rss_mid_mib']:>7.1f} MiB "
            f"{mem['rss_after_mib']:>7.1f} MiB {mem['rss_growth_mib_per_1m']:>+6.2f} MiB "
            f"{mem['rss_growth_second_half_mib_per_1m']:>+8.2f} MiB "
            f"{mem['allocated_blocks_growth']:>+8,} {mem['gc_tracked_objects_growth']:>+8,}"
        )
    print(
        f"  (RSS from /proc/self/statm after gc.collect(), after {warmup:,} warm-up ticks, "
        f"half-way and after {n:,} more; blocks = sys.getallocatedblocks() delta, objects = "
        "GC-tracked objects delta; alerting includes the breaker's history filling to its "
        f"limit of {cfg.kill_switch.history_limit})"
    )
    print()
    print(
        f"alerting: {sum(al['level_changes'].values()):,} level changes, {al['breaches']} "
        f"breaches, {al['breaker_trips']} breaker trips (final {al['breaker_state']} seq "
        f"{al['breaker_seq']}), {al['evidence_events']:,} evidence events "
        f"({al['evidence_bytes'] / 2**20:.1f} MiB), {al['ticks_per_s_with_guard']:,.0f} ticks/s "
        "incl. Guard I/O and per-call timers"
    )
    print(
        f"  alerting on_tick > 50 µs: {al['slow_ticks_over_50us']:,}, of which "
        f"{al['slow_ticks_within_3_of_guard_io']:,} within 3 ticks after a Guard write; worst:"
    )
    for w in al["worst"][:5]:
        print(
            f"    {_fmt(w['ns']):>10}  #{w['tick']:<9} changes {w['changes']}  "
            f"{w['ticks_since_guard_io']:,} ticks after the last Guard write"
        )
    for key, count in sorted(al["level_changes"].items()):
        print(f"    {key:<40} {count:>6,}")
    print()
    print(f"targets ({BASELINE_NOTE}):")
    targets = (
        ("p50 ≤ 4 µs (quiet)", _fmt(lq["p50_ns"]), verdicts["p50"]),
        ("p99 ≤ 15 µs (quiet)", _fmt(lq["p99_ns"]), verdicts["p99"]),
        ("≥ 250k ticks/s (quiet)", f"{qp['ticks_per_s']:,.0f}/s", verdicts["throughput"]),
        (
            "growth ≤ 1 MiB/1M (quiet)",
            f"{qp['memory']['rss_growth_mib_per_1m']:+.2f} MiB",
            verdicts["growth_quiet"],
        ),
        (
            "growth ≤ 1 MiB/1M (alerting)",
            f"{al['memory']['rss_growth_mib_per_1m']:+.2f} MiB",
            verdicts["growth_alerting"],
        ),
        ("worst tick ≤ 2 ms (quiet)", _fmt(lq["max_ns"]), verdicts["worst_quiet"]),
        ("worst on_tick ≤ 2 ms (alerting)", _fmt(la["max_ns"]), verdicts["worst_alerting"]),
    )
    for label, value, verdict in targets:
        print(f"  {label:<32} {value:>14}  {verdict}")
    print(
        f"wall time {wall:.1f} s; peak RSS {_peak_rss_mib():.1f} MiB (MISS is reported, not failed)"
    )

    result = {
        "bench": "evaluator",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "ticks": n,
        "warmup": warmup,
        "seed": args.seed,
        "timer_overhead": overhead,
        "quiet_timed": qt,
        "quiet_throughput": qp,
        "alerting": al,
        "targets": {
            "p50_ns": TARGET_P50_NS,
            "p99_ns": TARGET_P99_NS,
            "ticks_per_s": TARGET_TICKS_PER_S,
            "growth_mib_per_1m": TARGET_GROWTH_MIB_PER_M,
            "worst_ns": TARGET_WORST_NS,
        },
        "verdicts": verdicts,
        "wall_seconds": wall,
        "peak_rss_mib": _peak_rss_mib(),
    }
    RESULT_FILE.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"wrote {RESULT_FILE.relative_to(ROOT)}")
    return 0


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    raise SystemExit(main())
