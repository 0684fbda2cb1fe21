"""Invariants over random sequences of ticks (good and bad), deals, account snapshots, timer beats
and resets: HALTED is left only by a reset; equity is always the independent valuation of the
last snapshot at the last good prices; bad ticks never move it; rule state survives a restart."""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import cast

from hypothesis import given, settings
from hypothesis import strategies as st

from risk.breaker_state import BreakerState, LastReset, Rebaseline
from risk.circuit_breaker import CircuitBreaker
from risk.clock import ManualClock
from risk.evaluator import NOTHING, Evaluator
from risk.models import AccountSnapshot, DealEntry, DealType, Position, PositionType, Tick
from risk.rule_state import RuleState
from tests.conftest import RecordingSink
from tests.kernel.helpers import (
    ALL_SPECS,
    MONDAY_10,
    account,
    deal,
    guard_for,
    operator_reset,
    position,
    shipped,
)

#: symbol -> (lowest, highest) price in points
RANGES = {"EURUSD": (100_000, 120_000), "GBPUSD": (125_000, 130_000), "US500": (500_000, 520_000)}
SYMBOLS = tuple(RANGES)
DEFECTS = ("nan", "inf", "zero", "negative", "crossed", "old", "dup")
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, database=None)


# ---------------------------------------------------------------------------- operations
@st.composite
def tick_ops(draw: st.DrawFn) -> tuple[object, ...]:
    symbol = draw(st.sampled_from(SYMBOLS))
    low, high = RANGES[symbol]
    defect = draw(st.one_of(st.none(), st.sampled_from(DEFECTS)))
    return ("tick", symbol, draw(st.integers(low, high)), draw(st.integers(0, 40)), defect)


@st.composite
def account_ops(draw: st.DrawFn) -> tuple[object, ...]:
    balance = Decimal(draw(st.integers(9_000_000, 11_000_000))).scaleb(-2)
    credit = Decimal(draw(st.sampled_from([0, 0, 50_000]))).scaleb(-2)
    marks = {s: draw(st.integers(*RANGES[s])) for s in SYMBOLS}
    positions = []
    for ticket in range(draw(st.integers(0, 4))):
        symbol = draw(st.sampled_from(SYMBOLS))
        low, high = RANGES[symbol]
        positions.append(
            position(
                ticket + 1,
                Decimal(draw(st.integers(1, 300))).scaleb(-2),
                side=draw(st.sampled_from(PositionType)),
                open_pts=draw(st.integers(low, high)),
                current_pts=marks[symbol],  # one current price per symbol in a snapshot
                symbol=symbol,
                swap=Decimal(draw(st.integers(-5000, 5000))).scaleb(-2),
                digits=ALL_SPECS[symbol].digits,
            )
        )
    margin = Decimal(draw(st.integers(0, 5_000_000))).scaleb(-2) if positions else Decimal(0)
    return ("account", account(balance, credit=credit, margin=margin), tuple(positions))


deal_ops = st.tuples(
    st.just("deal"),
    st.integers(1, 25),
    st.sampled_from(["in", "out", "balance"]),
    st.integers(-50_000, 50_000),
)
REBASELINES: list[tuple[Rebaseline, ...]] = [(), ("peak",), ("daily",), ("peak", "daily")]
reset_ops = st.tuples(st.just("reset"), st.sampled_from(REBASELINES))
timer_ops = st.just(("timer",))
gaps_ms = st.one_of(st.integers(0, 3000), st.sampled_from([60_000, 3_600_000, 86_400_000]))
steps = st.tuples(
    gaps_ms, st.one_of(tick_ops(), tick_ops(), account_ops(), deal_ops, reset_ops, timer_ops)
)
#: every sequence starts with a snapshot (the service's first poll), then anything
operations = st.builds(
    lambda first, rest: [(0, first), *rest], account_ops(), st.lists(steps, min_size=5, max_size=40)
)


# ---------------------------------------------------------------------------- the model
@dataclass
class Model:
    """An independent account of what the evaluator must hold."""

    accepted: dict[str, Tick] = field(default_factory=dict)
    snapshot: AccountSnapshot | None = None
    positions: tuple[Position, ...] = ()

    def is_bad(self, t: Tick) -> bool:
        if not (math.isfinite(t.bid) and math.isfinite(t.ask)) or min(t.bid, t.ask) <= 0:
            return True
        last = self.accepted.get(t.symbol)
        return t.ask < t.bid or (last is not None and (t.time_msc < last.time_msc or t == last))

    def equity(self) -> Decimal:
        """balance + credit + swaps + longs at the bid + shorts at the ask, where a symbol never
        ticked is marked at its positions' current price."""
        if self.snapshot is None:
            return Decimal(0)
        total = self.snapshot.balance + self.snapshot.credit
        for p in self.positions:
            spec = ALL_SPECS[p.symbol]
            per_point = spec.tick_value * spec.point / spec.tick_size * p.volume
            last = self.accepted.get(p.symbol)
            bid = Decimal(repr(last.bid)) if last else p.price_current
            ask = Decimal(repr(last.ask)) if last else p.price_current
            move = bid - p.price_open if p.type is PositionType.BUY else p.price_open - ask
            total += p.swap + move / spec.point * per_point
        return total


def _make_tick(op: tuple[object, ...], now_ms: int, model: Model) -> Tick | None:
    _, symbol, bid_pts, spread, defect = op
    assert isinstance(symbol, str) and isinstance(bid_pts, int) and isinstance(spread, int)
    scale = 10 ** ALL_SPECS[symbol].digits
    bid, ask = bid_pts / scale, (bid_pts + spread) / scale
    last = model.accepted.get(symbol)
    if defect == "dup":
        return last
    bad: dict[object, tuple[float, float]] = {
        "nan": (math.nan, ask),
        "inf": (bid, math.inf),
        "zero": (0.0, ask),
        "negative": (-bid, ask),
        "crossed": (ask + 1 / scale, bid),
    }
    bid, ask = bad.get(defect, (bid, ask))
    at = last.time_msc - 1 if defect == "old" and last is not None else now_ms
    return Tick(symbol, bid, ask, 0.0, 1, at, 0)


class Runner:
    """Feeds operations to an evaluator (and optionally a guard) and to the model."""

    def __init__(self, with_guard: Path | None = None) -> None:
        self.clock = ManualClock(datetime(2026, 3, 2, 10, tzinfo=UTC))
        self.ev = Evaluator(shipped(), ALL_SPECS, clock=self.clock)
        self.model = Model()
        self.now_ms = MONDAY_10
        self.reset_seq = 0
        self.sink = RecordingSink()
        self.breaker = self.guard = None
        if with_guard is not None:
            self.breaker = CircuitBreaker(
                with_guard, role="test", clock=self.clock, sink=self.sink, history_limit=5
            )
            self.breaker.initialise()
            self.guard = guard_for(self.ev, self.breaker, self.sink, with_guard)

    def apply(self, gap_ms: int, op: tuple[object, ...]) -> str:
        """Run one operation; returns what it was ("good", "bad", or the op name)."""
        self.now_ms += gap_ms
        self.clock.advance(ns=gap_ms * 1_000_000)
        kind, ev, changes = op[0], self.ev, NOTHING
        if kind == "tick":
            t = _make_tick(op, self.now_ms, self.model)
            if t is None:
                return "skipped"
            bad = self.model.is_bad(t)
            if not bad:
                self.model.accepted[t.symbol] = t
            changes = ev.on_tick(t, self.now_ms, self.clock.monotonic_ns())
            kind = "bad" if bad else "good"
        elif kind == "account":
            snapshot, positions = op[1], op[2]
            assert isinstance(snapshot, AccountSnapshot) and isinstance(positions, tuple)
            self.model.snapshot, self.model.positions = snapshot, positions
            changes = ev.on_account(snapshot, positions, self.now_ms)
        elif kind == "deal":
            _, ticket, what, cents = op
            assert isinstance(ticket, int) and isinstance(cents, int)
            entry = DealEntry.IN if what in ("in", "balance") else DealEntry.OUT
            dtype = DealType.BALANCE if what == "balance" else DealType.SELL
            d = deal(ticket, Decimal(cents).scaleb(-2), entry=entry, type=dtype)
            changes = ev.on_deal(d, self.now_ms)
        elif kind == "timer":
            changes = ev.on_timer(self.now_ms, self.clock.monotonic_ns())
        elif kind == "reset":
            self._reset(cast("tuple[Rebaseline, ...]", op[1]))
        if self.guard is not None:
            self.guard.handle(changes)
        return str(kind)

    def _reset(self, rebaseline: tuple[Rebaseline, ...]) -> None:
        if self.breaker is not None and self.guard is not None:
            if self.breaker.read().state is not BreakerState.ACTIVE:
                operator_reset(self.breaker, self.guard, rebaseline)
            return
        self.reset_seq += 1
        at = "2026-03-02T10:00:00.000000Z"
        reset = LastReset(seq=self.reset_seq, at=at, operator="op", rebaseline=rebaseline)
        self.ev.on_reset(reset)


# ---------------------------------------------------------------------------- properties
@PROPERTY_SETTINGS
@given(ops=operations)
def test_sequence_when_any_operations_then_equity_is_independent_valuation(
    ops: list[tuple[int, tuple[object, ...]]],
) -> None:
    """After every operation, equity equals the independent valuation of the last snapshot at
    the last good prices (longs at bid, shorts at ask, tick_value × point / tick_size)."""
    runner = Runner()

    for gap, op in ops:
        runner.apply(gap, op)
        assert runner.ev.book.equity_money() == runner.model.equity()


@PROPERTY_SETTINGS
@given(ops=operations)
def test_sequence_when_bad_tick_arrives_then_equity_and_prices_unchanged(
    ops: list[tuple[int, tuple[object, ...]]],
) -> None:
    """A rejected tick changes neither equity nor the marked prices, and is counted once."""
    runner = Runner()

    for gap, op in ops:
        equity, points = runner.ev.book.equity, {s: runner.ev.book.last_points(s) for s in SYMBOLS}
        counted = sum(runner.ev.bad_ticks.values())
        kind = runner.apply(gap, op)
        if kind == "bad":
            assert runner.ev.book.equity == equity
            assert {s: runner.ev.book.last_points(s) for s in SYMBOLS} == points
            assert sum(runner.ev.bad_ticks.values()) == counted + 1


@settings(max_examples=50, deadline=None, database=None)
@given(ops=operations)
def test_sequence_when_breaker_halted_then_only_a_reset_clears_it(
    ops: list[tuple[int, tuple[object, ...]]],
) -> None:
    """Through the Guard and a real breaker: once HALTED, no tick, deal, snapshot or timer beat
    leaves HALTED — only an operator reset does."""
    with tempfile.TemporaryDirectory() as tmp:
        runner = Runner(with_guard=Path(tmp) / "state")
        assert runner.breaker is not None
        runner.apply(0, ("account", account("100000.00"), ()))

        for gap, op in ops:
            halted_before = runner.breaker.read().state is BreakerState.HALTED
            kind = runner.apply(gap, op)
            if halted_before and kind != "reset":
                assert runner.breaker.read().state is BreakerState.HALTED
        runner.breaker.close()


@PROPERTY_SETTINGS
@given(ops=operations)
def test_sequence_when_restored_from_rule_state_then_anchors_and_counters_survive(
    ops: list[tuple[int, tuple[object, ...]]],
) -> None:
    """rule_state() → JSON → a new Evaluator restores high-water mark, baseline, trading day,
    streak, trades today and the deal tickets (a re-polled deal is not counted again)."""
    runner = Runner()
    for gap, op in ops:
        runner.apply(gap, op)
    state = runner.ev.rule_state()

    restored = Evaluator(
        shipped(),
        ALL_SPECS,
        clock=runner.clock,
        state=RuleState.model_validate_json(state.model_dump_json()),
    )

    assert restored.rule_state() == state
    assert (restored.hwm, restored.baseline, restored.trading_day) == (
        runner.ev.hwm,
        runner.ev.baseline,
        runner.ev.trading_day,
    )
    assert (restored.streak, restored.trades_today) == (runner.ev.streak, runner.ev.trades_today)
    for ticket in state.deal_tickets:
        assert restored.on_deal(deal(ticket, "-1.00"), runner.now_ms) == NOTHING
    assert (restored.streak, restored.trades_today) == (runner.ev.streak, runner.ev.trades_today)
