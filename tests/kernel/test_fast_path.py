"""The per-tick fast path of ``Evaluator.on_tick`` against the straightforward evaluation.

``Straightforward`` is the evaluator with the tick code the fast path replaced: every tick is
classified by ``tick_defect`` and pushed into the bad-tick window, and every rule is checked on its
own (no shared gate for drawdown, daily loss and velocity). Over random sequences — good and bad
ticks, snapshots, deals, timer beats, resets, day rolls — and over equity walks that land exactly
on, one unit either side of, the warning, release and limit lines of the three "fall" rules, both
must return the same level changes and hold the same levels, values and anchors after every step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from risk.book import Book
from risk.breaker_state import LastReset, Rebaseline
from risk.clock import ManualClock
from risk.config import RiskConfig
from risk.evaluator import NOTHING, Evaluator
from risk.levels import Level, LevelChange
from risk.models import AccountSnapshot, DealEntry, DealType, Position, PositionType, Tick
from risk.reason_codes import ReasonCode
from risk.rules.data_quality import tick_defect
from tests.kernel.helpers import (
    ALL_SPECS,
    CAPITAL,
    MONDAY_10,
    START_PTS,
    account,
    deal,
    only,
    position,
    price,
    shipped,
    yaml_config,
)
from tests.kernel.test_properties import Model, _make_tick, operations

C = ReasonCode
FALL_CODES = (C.DRAWDOWN, C.DAILY_LOSS, C.VELOCITY)
DAY_MS = 86_400_000


class Straightforward(Evaluator):
    """Every tick through ``tick_defect`` and the window; every rule checked one by one."""

    def on_tick(self, tick: Tick, now_ms: int, received_ns: int) -> tuple[LevelChange, ...]:
        pending = self._pending
        pending.clear()
        levels = self.levels
        symbol = tick.symbol
        defect = tick_defect(tick, self._last_tick.get(symbol))
        bad = self._window.push(defect is not None)
        if self.quality.enabled and (bad or levels[C.BAD_FEED] is not Level.OK):
            self._observe(C.BAD_FEED, self.quality.band, bad)
        if defect is not None:
            self.bad_ticks[defect] = self.bad_ticks.get(defect, 0) + 1
            return tuple(pending) if pending else NOTHING
        self._last_tick[symbol] = tick
        self._last_tick_ns = received_ns
        if levels[C.FEED_STALE] is not Level.OK:
            self._observe(C.FEED_STALE, self.feed_stale.band, 0)
        scale = self._scale.get(symbol)
        if scale is not None:
            self.book.on_price(symbol, round(tick.bid * scale), round(tick.ask * scale))
        tick_ms = tick.time_msc - self._offset_ms
        if self._ready:
            if now_ms >= self._next_reset_ms:
                self._roll_day(now_ms)
            self._equity_rules(tick_ms)
        if self.tick_age.enabled:
            self._check(C.TICK_AGE, self.tick_age.band, now_ms - tick_ms)
        if self.tick_latency.enabled:
            self._check(C.TICK_LATENCY, self.tick_latency.band, self._monotonic_ns() - received_ns)
        return tuple(pending) if pending else NOTHING

    def _equity_rules(self, utc_ms: int) -> None:
        book = self.book
        equity = book.equity
        fallen = -equity
        check = self._check
        if equity > self.hwm:
            self.hwm = equity
            self.drawdown.rearm(equity)
            self.dirty = True
        if self.drawdown.enabled:
            check(C.DRAWDOWN, self.drawdown.band, fallen)
        daily = self.daily
        if daily.enabled:
            if self._trailing is not None:
                peak = self._trailing.update(utc_ms, equity)
                if max(peak, self.baseline) != daily.reference:
                    daily.rearm(self.baseline, peak)
            check(C.DAILY_LOSS, daily.band, fallen)
        velocity = self.velocity
        if velocity.enabled:
            peak_now = self._peak.update(utc_ms, equity)
            if peak_now != velocity.peak:
                velocity.rearm(peak_now)
            check(C.VELOCITY, velocity.band, fallen)
        if self.leverage.enabled:
            check(C.LEVERAGE, self.leverage.band, self.leverage.value(book.notional, equity))
        if self.margin.enabled:
            check(C.MARGIN_LEVEL, self.margin.band, self.margin.value(equity, book.margin))


def _state(ev: Evaluator) -> dict[str, Any]:
    """Everything a tick may change that anyone can observe."""
    bands = {
        code: (rule.band.warning, rule.band.limit, rule.band.release)
        for code, rule in zip(FALL_CODES, (ev.drawdown, ev.daily, ev.velocity), strict=True)
    }
    return {
        "levels": dict(ev.levels),
        "values": dict(ev.values),
        "anchors": (ev.hwm, ev.baseline, ev.trading_day, ev.velocity.peak, ev.daily.reference),
        "bands": bands,
        "book": (ev.book.equity, ev.book.notional, ev.book.floating),
        "bad_ticks": dict(ev.bad_ticks),
        "bad_in_window": ev._window.count,
        "dirty": ev.dirty,
    }


@dataclass
class Pair:
    """The same inputs to the fast evaluator and the straightforward one, compared each step."""

    config: RiskConfig
    clock: ManualClock = field(
        default_factory=lambda: ManualClock(datetime(2026, 3, 2, 10, tzinfo=UTC))
    )
    now_ms: int = MONDAY_10
    seq: int = 0
    fast_changes: list[LevelChange] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.fast = Evaluator(self.config, ALL_SPECS, clock=self.clock)
        self.ref = Straightforward(self.config, ALL_SPECS, clock=self.clock)

    def _same(self, fast: tuple[LevelChange, ...], ref: tuple[LevelChange, ...]) -> None:
        assert fast == ref
        assert _state(self.fast) == _state(self.ref)
        self.fast_changes.extend(fast)

    def advance(self, gap_ms: int) -> None:
        self.now_ms += gap_ms
        self.clock.advance(ns=gap_ms * 1_000_000)

    def tick(self, t: Tick, now_ms: int | None = None) -> None:
        now = self.now_ms if now_ms is None else now_ms
        mono = self.clock.monotonic_ns()
        self._same(self.fast.on_tick(t, now, mono), self.ref.on_tick(t, now, mono))

    def account(self, snapshot: AccountSnapshot, positions: tuple[Position, ...]) -> None:
        self._same(
            self.fast.on_account(snapshot, positions, self.now_ms),
            self.ref.on_account(snapshot, positions, self.now_ms),
        )

    def deal(self, ticket: int, cents: int, what: str) -> None:
        entry = DealEntry.IN if what in ("in", "balance") else DealEntry.OUT
        kind = DealType.BALANCE if what == "balance" else DealType.SELL
        d = deal(ticket, Decimal(cents).scaleb(-2), entry=entry, type=kind)
        self._same(self.fast.on_deal(d, self.now_ms), self.ref.on_deal(d, self.now_ms))

    def timer(self) -> None:
        mono = self.clock.monotonic_ns()
        self._same(self.fast.on_timer(self.now_ms, mono), self.ref.on_timer(self.now_ms, mono))

    def reset(self, rebaseline: tuple[Rebaseline, ...]) -> None:
        self.seq += 1
        at = "2026-03-02T10:00:00.000000Z"
        reset = LastReset(seq=self.seq, at=at, operator="op", rebaseline=rebaseline)
        self.fast.on_reset(reset)
        self.ref.on_reset(reset)
        self._same(NOTHING, NOTHING)


ROLLING = ("rolling_24h: false", "rolling_24h: true")
#: a window of 5 ticks: bad ticks age out (and BAD_FEED clears) within a short sequence
SMALL_WINDOW = (
    ("window_ticks: 1000", "window_ticks: 5"),
    ("bad_ticks_warning: 10 ", "bad_ticks_warning: 2 "),
    ("bad_ticks_limit: 50", "bad_ticks_limit: 3"),
)
#: each fall rule alone (so it is the one that sets the shared gate), and all of them together
CONFIGS = {
    "shipped": shipped(),
    "drawdown only": only(shipped(), "drawdown"),
    "daily only": only(shipped(), "daily_loss"),
    "daily only, rolling 24 h": only(yaml_config(ROLLING), "daily_loss"),
    "daily only, balance baseline": only(
        yaml_config(("baseline: max ", "baseline: balance ")), "daily_loss"
    ),
    "velocity only": only(shipped(), "velocity"),
    "no fall rules": only(shipped(), "leverage", "margin", "latency", "data_quality"),
    "rolling 24 h": yaml_config(ROLLING),
    "initial-capital basis": yaml_config(
        ("limit_basis: baseline ", "limit_basis: initial_capital "),
        ("baseline: max ", "baseline: equity "),
    ),
    "small bad-tick window": yaml_config(*SMALL_WINDOW),
    # warning at 1 bad tick: its release is 0, so BAD_FEED stays WARNING on a clean window
    "small window, warn at one": yaml_config(
        SMALL_WINDOW[0], ("bad_ticks_warning: 10 ", "bad_ticks_warning: 1 "), SMALL_WINDOW[2]
    ),
}
SETTINGS = settings(max_examples=300, deadline=None, database=None)


# ------------------------------------------------------------------ random mixed sequences
@SETTINGS
@given(config=st.sampled_from(sorted(CONFIGS)), ops=operations)
def test_sequence_when_any_operations_then_fast_path_matches_straightforward(
    config: str, ops: list[tuple[int, tuple[object, ...]]]
) -> None:
    """Multi-symbol books, bad ticks of every kind, snapshots, deals, timer beats and resets:
    the same level changes, levels, values, anchors and bands after every operation."""
    pair, model = Pair(CONFIGS[config]), Model()

    for gap, op in ops:
        pair.advance(gap)
        kind = op[0]
        if kind == "tick":
            t = _make_tick(op, pair.now_ms, model)
            if t is None:
                continue
            if not model.is_bad(t):
                model.accepted[t.symbol] = t
            pair.tick(t)
        elif kind == "account":
            snapshot, positions = op[1], op[2]
            assert isinstance(snapshot, AccountSnapshot) and isinstance(positions, tuple)
            pair.account(snapshot, positions)
        elif kind == "deal":
            _, ticket, what, cents = op
            assert isinstance(ticket, int) and isinstance(cents, int) and isinstance(what, str)
            pair.deal(ticket, cents, what)
        elif kind == "timer":
            pair.timer()
        else:
            pair.reset(op[1])  # type: ignore[arg-type]


# ------------------------------------------------------------------ walks along the fall lines
#: fractions of the reference at which the shipped rules warn, release and trip (drawdown and
#: daily loss 1 % / 0.9 % / 2 %, velocity 2 % / 1.8 % / 3 %)
LINES = (Decimal("0.009"), Decimal("0.01"), Decimal("0.018"), Decimal("0.02"), Decimal("0.03"))

step = st.one_of(
    st.tuples(st.just("move"), st.integers(-400, 400)),  # points on the 1-lot long (1.00 a point)
    st.tuples(  # land exactly on a line (or one point either side) below a reference
        st.just("line"),
        st.sampled_from(["hwm", "peak", "daily"]),
        st.sampled_from(LINES),
        st.integers(-1, 1),
    ),
    st.tuples(st.just("bad"), st.sampled_from(["nan", "inf", "zero", "crossed", "old", "dup"])),
    st.tuples(  # a resize and/or a deposit or withdrawal: the balance baseline moves
        st.just("snapshot"), st.sampled_from(["0.5", "1", "2"]), st.integers(-3000, 3000)
    ),
    st.tuples(st.just("reset"), st.sampled_from([(), ("peak",), ("daily",)])),
    st.tuples(st.just("timer")),
)
gap = st.one_of(st.integers(0, 400), st.integers(9_000, 11_000), st.sampled_from([60_000, DAY_MS]))
walks = st.lists(st.tuples(gap, step), min_size=10, max_size=80)


@dataclass
class Walk:
    """A 1-lot EURUSD long (1.00 a point) on 100,000.00, ticked at chosen points."""

    pair: Pair
    bid: int = START_PTS
    volume: str = "1"
    last: Tick | None = None

    def send(self, bid: int) -> None:
        self.bid = max(bid, 2)
        t = Tick("EURUSD", price(self.bid), price(self.bid + 2), 0.0, 1, self.pair.now_ms, 0)
        self.pair.tick(t)
        self.last = t

    def line(self, anchor: str, fraction: Decimal, nudge: int) -> None:
        """Tick at the bid where equity is ``fraction`` below the anchor, ``nudge`` points off."""
        ev = self.pair.fast
        reference = {"hwm": ev.hwm, "peak": ev.velocity.peak, "daily": ev.daily.reference}[anchor]
        if reference <= 0:
            return
        per_point = 10**10 * Decimal(self.volume)  # money units per point
        target_equity = Decimal(reference) * (1 - fraction)
        points = (Decimal(ev.book.equity) - target_equity) / per_point
        self.send(self.bid - math.ceil(points) + nudge)

    def bad(self, kind: str) -> None:
        p, last = self.pair, self.last
        at = p.now_ms
        ticks = {
            "nan": Tick("EURUSD", math.nan, price(self.bid), 0.0, 1, at, 0),
            "inf": Tick("EURUSD", price(self.bid), math.inf, 0.0, 1, at, 0),
            "zero": Tick("EURUSD", 0.0, price(self.bid), 0.0, 1, at, 0),
            "crossed": Tick("EURUSD", price(self.bid + 5), price(self.bid), 0.0, 1, at, 0),
        }
        if kind in ("old", "dup"):
            if last is None:
                return
            t = last if kind == "dup" else last._replace(time_msc=last.time_msc - 1)
        else:
            t = ticks[kind]
        p.tick(t)

    def snapshot(self, volume: str, deposit: int = 0) -> None:
        """The engine resized the position (and/or money moved); the account reports it."""
        self.volume = volume
        pos = position(1, volume, current_pts=self.bid)
        balance = CAPITAL + deposit
        equity = balance + (self.bid - START_PTS) * Decimal(volume)
        self.pair.account(account(balance, equity=equity, margin="1100.00"), (pos,))


@SETTINGS
@given(config=st.sampled_from(sorted(CONFIGS)), steps=walks)
def test_walk_when_equity_lands_on_fall_lines_then_fast_path_matches_straightforward(
    config: str, steps: list[tuple[int, tuple[Any, ...]]]
) -> None:
    """Equity paths that land exactly on, and one point either side of, the warning, release
    and limit of drawdown, daily loss and velocity (from the high-water mark, the window peak and
    the daily reference) — with gaps across the velocity window and the daily reset, bad ticks,
    resizes and resets — classify exactly as rule-by-rule checks do."""
    walk = Walk(Pair(CONFIGS[config]))
    walk.snapshot("1")

    for gap_ms, (kind, *args) in steps:
        walk.pair.advance(gap_ms)
        if kind == "move":
            walk.send(walk.bid + args[0])
        elif kind == "line":
            walk.line(*args)
        elif kind == "bad":
            walk.bad(args[0])
        elif kind == "snapshot":
            walk.snapshot(*args)
        elif kind == "reset":
            walk.pair.reset(args[0])
        else:
            walk.pair.timer()


def test_walk_when_equity_steps_through_every_line_then_each_fall_rule_enters_each_level() -> None:
    """A deterministic descent through the lines and back: the fast path must not hide a single
    transition (the boundary tables of each rule, all rules on at once)."""
    walk = Walk(Pair(shipped()))
    walk.snapshot("1")
    for fraction in LINES:
        for nudge in (1, 0):
            walk.pair.advance(50)
            walk.line("hwm", fraction, nudge)
    for _ in range(3):
        walk.pair.advance(50)
        walk.send(START_PTS)

    seen = {(c.code, c.previous, c.reading.level) for c in walk.pair.fast_changes}
    for code in FALL_CODES:
        assert (code, Level.OK, Level.WARNING) in seen
        assert (code, Level.WARNING, Level.BREACH) in seen


# ------------------------------------------------------------------ each re-arm re-opens the gate
def _walk(config: str) -> Walk:
    walk = Walk(Pair(CONFIGS[config]))
    walk.snapshot("1")
    return walk


def _level(walk: Walk, code: ReasonCode) -> Level:
    return walk.pair.fast.levels[code]


def test_tick_when_new_high_then_drawdown_warns_from_the_new_mark() -> None:
    """+2,000 points moves the mark to 102,000.00: 1 % of it below warns, a point less not."""
    walk = _walk("drawdown only")
    walk.pair.advance(100)
    walk.send(START_PTS + 2000)

    walk.pair.advance(100)
    walk.line("hwm", Decimal("0.01"), 1)
    assert _level(walk, C.DRAWDOWN) is Level.OK
    walk.pair.advance(100)
    walk.line("hwm", Decimal("0.01"), 0)
    assert _level(walk, C.DRAWDOWN) is Level.WARNING


def test_tick_when_window_peak_rises_then_velocity_warns_from_the_new_peak() -> None:
    walk = _walk("velocity only")
    walk.pair.advance(100)
    walk.send(START_PTS + 2000)

    walk.pair.advance(100)
    walk.line("peak", Decimal("0.02"), 0)
    assert _level(walk, C.VELOCITY) is Level.WARNING


def test_tick_when_day_rolls_to_higher_baseline_then_daily_loss_warns_from_it() -> None:
    """Equity 102,000.00 at the reset becomes the baseline (max of balance and equity): a 1 %
    fall from it warns the next day — a gate left at yesterday's 100,000.00 would hide it."""
    walk = _walk("daily only")
    walk.pair.advance(100)
    walk.send(START_PTS + 2000)
    walk.pair.advance(DAY_MS)
    walk.send(START_PTS + 2000)
    assert walk.pair.fast.daily.reference == 102_000 * 10**10

    walk.pair.advance(100)
    walk.line("daily", Decimal("0.01"), 0)
    assert _level(walk, C.DAILY_LOSS) is Level.WARNING


def test_tick_when_trailing_peak_rises_then_rolling_daily_loss_warns_from_it() -> None:
    walk = _walk("daily only, rolling 24 h")
    walk.pair.advance(100)
    walk.send(START_PTS + 2000)
    assert walk.pair.fast.daily.reference == 102_000 * 10**10

    walk.pair.advance(100)
    walk.line("daily", Decimal("0.01"), 0)
    assert _level(walk, C.DAILY_LOSS) is Level.WARNING


def test_tick_when_bad_ticks_age_out_of_window_then_bad_feed_clears() -> None:
    """With a 5-tick window (warn at 2 bad): two bad ticks warn; five good ones later the
    window is clean again and the next good tick clears BAD_FEED."""
    walk = _walk("small bad-tick window")
    for kind in ("nan", "crossed"):
        walk.pair.advance(100)
        walk.bad(kind)
    assert _level(walk, C.BAD_FEED) is Level.WARNING

    for _ in range(5):
        walk.pair.advance(100)
        walk.send(walk.bid + 1)
    assert walk.pair.fast._window.count == 0
    assert _level(walk, C.BAD_FEED) is Level.OK


def test_reset_when_levels_cleared_then_fall_gate_reopens() -> None:
    """After a breach and an operator reset the shared gate is the lowest warning again, so a
    quiet tick costs one comparison (an always-closed gate would be correct, but slow)."""
    walk = _walk("shipped")
    walk.pair.advance(100)
    walk.line("hwm", Decimal("0.03"), 0)
    assert walk.pair.fast._fall_gate == -math.inf
    walk.pair.reset(("peak", "daily"))

    walk.pair.advance(100)
    walk.send(walk.bid)
    ev = walk.pair.fast
    lowest = min(rule.band.warning for rule in (ev.drawdown, ev.daily, ev.velocity))
    assert ev._fall_gate == lowest


# ------------------------------------------------------------------ incremental marking
quotes = st.lists(
    st.tuples(st.sampled_from(sorted(ALL_SPECS)), st.integers(1, 600_000), st.integers(0, 50)),
    max_size=40,
)
books = st.lists(
    st.tuples(
        st.sampled_from(sorted(ALL_SPECS)),
        st.sampled_from(PositionType),
        st.integers(1, 500),
        st.integers(1, 600_000),
    ),
    max_size=6,
)


@settings(max_examples=200, deadline=None, database=None)
@given(positions=books, before=quotes, after=quotes)
def test_prices_when_marked_by_deltas_then_equal_to_full_revaluation(
    positions: list[tuple[str, PositionType, int, int]],
    before: list[tuple[str, int, int]],
    after: list[tuple[str, int, int]],
) -> None:
    """``Book.on_price`` moves floating P/L and notional by price change × value per point; after
    any quotes, before and after a snapshot, both equal a full revaluation of every symbol."""
    book = Book(ALL_SPECS)
    for symbol, bid, spread in before:
        book.on_price(symbol, bid, bid + spread)
    book.set_positions(
        [
            position(
                n + 1,
                Decimal(cents).scaleb(-2),
                side=side,
                open_pts=open_pts,
                symbol=symbol,
                digits=ALL_SPECS[symbol].digits,
            )
            for n, (symbol, side, cents, open_pts) in enumerate(positions)
        ]
    )
    for symbol, bid, spread in after:
        book.on_price(symbol, bid, bid + spread)

        sides = book._sides.values()
        assert book.floating == sum(side.mark() for side in sides)
        assert book.notional == sum(side.notional() for side in sides)
