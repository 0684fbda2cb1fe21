"""The replay engine: the live monitor's loop over a tick file, on the replay clock.

One ``ReplayRun`` is ``RiskMonitor.run_once`` with exactly one tick per cycle, plus (with a
strategy) the engine's gates, against an in-process paper terminal (``replay.broker``):

* the clock is the tick time (``replay.clock``): "now" is the tick's UTC time, processing time and
  tick age are 0, feed silence is the gap between tick times;
* the account is read as the monitor reads it — when it changed, at most every
  ``feed.account_poll_interval_ms`` (deals every ``deals_poll_interval_ms``) of tick time — and
  auto-liquidation (``emergency``) runs on those polls while HALTED, as in the monitor;
* each evaluation call's level changes go through ``replay.breaker.pick_trip`` (``Guard``'s
  choice) into an in-memory breaker applying the shared transition table;
* a silent feed is judged by timer beats inside the gap — when the silence reaches the warning
  (half the limit), the limit, and then every ``stale_feed_seconds`` until the next tick or the
  trip — because a live monitor's 1 ms timer would have judged it then; a beat right after a
  tick measures no silence, so beats are skipped between ticks (same result, less work);
* with a strategy the engine runs after the monitor on each tick: HALTED lets nothing through,
  REDUCING only position-reducing orders, trading hours and the per-symbol cooldown apply, a run
  of rejects trips ``ORDER_REJECTS``; orders fill in the paper terminal at the bid/ask (its
  margin check applies) and the engine sees its positions at once.

``replay_file`` streams the file once and feeds every run (the base config and each sweep
setting) tick by tick, so memory does not grow with the file.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import chain
from pathlib import Path
from typing import Final

from execution.mt5.constants import OrderType, TradeAction, TradeRetcode
from execution.paper.events import ScenarioError
from execution.paper.settings import DEFAULT_SYMBOLS
from execution.replay.breaker import MemoryBreaker, pick_trip
from execution.replay.broker import PositionSpec, ReplayBroker, first_quotes
from execution.replay.clock import ReplayClock
from execution.replay.recorder import Entry, Recorder
from execution.replay.source import TickFile, open_tick_file
from execution.strategy import OrderIntent, Strategy, make_strategy
from risk.breaker_state import Action, BreakerState
from risk.config import RiskConfig
from risk.evaluator import Evaluator
from risk.levels import Level, LevelChange, Reading
from risk.models import Position, Tick
from risk.reason_codes import ReasonCode
from risk.rules.data_quality import tick_defect

__all__ = ["LOOKAHEAD_TICKS", "ReplayRun", "RunSetup", "replay_file"]

#: ticks read ahead to find each symbol's first price (tick values, positions without @PRICE)
LOOKAHEAD_TICKS: Final = 50_000
_MS: Final = 1_000_000
_NEVER: Final = math.inf
C = ReasonCode
_ACCOUNT_CODES: Final = (C.OPEN_POSITIONS, C.LOTS_PER_SYMBOL)
_DEAL_CODES: Final = (C.TRADES_PER_DAY, C.LOSING_STREAK)
_HALTED = BreakerState.HALTED


@dataclass(frozen=True, slots=True)
class RunSetup:
    """One configuration to replay: the base one, or a sweep setting."""

    label: str
    config: RiskConfig
    charts: bool = False


@dataclass(slots=True)
class EngineStats:
    sent: int = 0
    filled: int = 0
    denied: int = 0
    rejected: int = 0


@dataclass(slots=True)
class _EngineState:
    strategy: Strategy
    stats: EngineStats = field(default_factory=EngineStats)
    mine: list[Position] = field(default_factory=list)
    version: int = -1
    rejects: int = 0
    locked_until: dict[str, int] = field(default_factory=dict)


class ReplayRun:
    """One configuration over the ticks; call ``on_tick`` for each, then ``finish``."""

    def __init__(
        self,
        setup: RunSetup,
        *,
        first: Tick,
        quotes: dict[str, Tick],
        positions: Sequence[PositionSpec],
        balance: Decimal,
        strategy: str | None,
    ) -> None:
        cfg = self.config = setup.config
        self.label = setup.label
        self._offset_ms = cfg.broker.server_utc_offset_seconds * 1000
        start = first.time_msc - self._offset_ms
        self.clock = ReplayClock(start)
        self.broker = ReplayBroker(cfg, self.clock, balance=balance, quotes=quotes)
        try:
            for spec in positions:
                self.broker.open_initial(spec)
        except ValueError:
            self.broker.close()
            raise
        self.evaluator = ev = Evaluator(cfg, self.broker.specs, clock=self.clock)
        self.breaker = MemoryBreaker()
        self.recorder = Recorder(ev, offset_ms=self._offset_ms, series=setup.charts)
        self.recorder.first_utc_ms = start
        self._automatic = cfg.kill_switch.mode == "automatic"
        self._liquidate = cfg.emergency.auto_liquidation_enabled
        self._account_ns = cfg.feed.account_poll_interval_ms * _MS
        self._deals_ns = cfg.feed.deals_poll_interval_ms * _MS
        self._account_due = 0
        self._deals_due = 0
        latency = cfg.latency
        self._stale_on = ev.feed_stale.enabled
        self._stale_ms = latency.stale_feed_seconds * 1000
        self._stale_warn_ms = self._stale_ms // 2
        self._last_ok: dict[str, Tick] = {}
        self._tradable = frozenset(self.broker.symbols)
        self._stop_out_x2 = self.broker.stop_out_x2
        self._last_valid_ms = start
        self._beat_at: float = start + self._stale_warn_ms if self._stale_on else _NEVER
        self._positions: list[Position] = []
        self.final_positions: list[Position] = []
        self._engine = _EngineState(make_strategy(strategy)) if strategy else None
        self._index = 0
        # the monitor's start(): the first snapshot anchors the high-water mark and the day
        account, self._positions = self.broker.snapshot()
        self._handle(ev.on_account(account, self._positions, start), None, "account")
        self.recorder.observe(_ACCOUNT_CODES, 0, start)

    # ------------------------------------------------------------------ the loop
    def on_tick(self, index: int, tick: Tick) -> None:
        self._index = index
        utc = tick.time_msc - self._offset_ms
        if utc >= self._beat_at:
            self._beats(utc)
        defect = tick_defect(tick, self._last_ok.get(tick.symbol))
        if defect is None:
            gap = utc - self._last_valid_ms
            if gap >= 1000:
                self._gap(gap, utc)
            self._last_ok[tick.symbol] = tick
            self._last_valid_ms = utc
            if self._stale_on:
                self._beat_at = utc + self._stale_warn_ms
            if tick.symbol in self._tradable:  # valid, so the terminal takes it as a quote
                self.broker.latest[tick.symbol] = tick
        clock = self.clock
        clock.advance_to(utc)
        now, mono = clock.utc_ms, clock.mono_ns
        ev = self.evaluator
        broker = self.broker
        book = ev.book
        margin = book.margin
        if margin and book.equity * 100 <= self._stop_out_x2 * margin:
            broker.sync()  # near the stop-out: the terminal's own check, on the current quotes
        if mono >= self._account_due:
            self._account_due = mono + self._account_ns
            self._poll_account(now)
        if mono >= self._deals_due:
            self._deals_due = mono + self._deals_ns
            if broker.deals_dirty:
                self._poll_deals(now)
        changes = ev.on_tick(tick, now, mono)
        if changes:
            self._handle(changes, tick, "tick")
        if defect is not None:
            self.recorder.bad(index, tick, defect)
            self.recorder.observe((C.BAD_FEED,), index, now)
        if self._engine is not None and tick.symbol in broker.symbols:
            self._engine_step(self._engine, tick, now, mono)
        self.recorder.tick(index, now)

    def finish(self) -> None:
        """End of the file: close the chart series, keep the final book, release the broker."""
        self.recorder.finish()
        try:
            self.final_positions = self.broker.positions()
        finally:
            self.broker.close()

    # ------------------------------------------------------------------ monitor parts
    def _poll_account(self, now: int) -> None:
        broker = self.broker
        if broker.account_dirty:
            account, self._positions = broker.snapshot()
            self._handle(self.evaluator.on_account(account, self._positions, now), None, "account")
            self.recorder.observe(_ACCOUNT_CODES, self._index, now)
        if self._liquidate and self.breaker.state is _HALTED:
            self._liquidate_all()

    def _liquidate_all(self) -> None:
        """The monitor's flatten-on-halt: each open position closed once, at market."""
        cfg = self.config
        for pos in self._positions:
            if pos.ticket in self.broker.liquidated:
                continue
            self.broker.liquidated.add(pos.ticket)
            request = self.broker.close_request(
                pos, magic=cfg.engine.magic, deviation=cfg.engine.deviation_points
            )
            self.broker.send(request)

    def _poll_deals(self, now: int) -> None:
        ev = self.evaluator
        for deal in self.broker.new_deals():
            self._handle(ev.on_deal(deal, now), None, "deal")
        self.recorder.observe(_DEAL_CODES, self._index, now)

    def _beats(self, until: int) -> None:
        """Timer beats inside a silent spell, up to (not including) ``until``."""
        ev = self.evaluator
        last = self._last_valid_ms
        while self._beat_at < until:
            at = int(self._beat_at)
            self.clock.advance_to(at)
            changes = ev.on_timer(at, at * _MS)
            if changes:
                self._handle(changes, None, "timer", at)
            if ev.levels[C.FEED_STALE] is Level.BREACH:
                self._beat_at = _NEVER  # stays breached until the next tick clears it
                return
            limit_at = last + self._stale_ms
            self._beat_at = limit_at if at < limit_at else at + self._stale_ms

    def _gap(self, gap: int, utc: int) -> None:
        hours = self.evaluator.hours if self._stale_on else None
        self.recorder.gap(self._index, self._last_valid_ms, utc, self._stale_ms, hours)

    def _handle(
        self,
        changes: Sequence[LevelChange],
        tick: Tick | None,
        source: str,
        at: int | None = None,
    ) -> None:
        """Record the level changes and make at most one trip (``Guard.handle``'s choice)."""
        if not changes:
            return
        utc = self.clock.utc_ms if at is None else at
        index = self._index
        rec = self.recorder

        def make(reading: Reading) -> Entry:
            return rec.entry(reading, index=index, utc_ms=utc, tick=tick, source=source)

        for change in changes:
            rec.change(change, make)
        picked = pick_trip(changes, automatic=self._automatic)
        if picked is None:
            return
        first, also = picked
        assert first.action is not None
        entry = make(first.reading)
        self._trip(entry, first.code, first.action, [c.code.value for c in also])

    def _trip(self, entry: Entry, trigger: ReasonCode, action: Action, also: list[str]) -> None:
        move = self.breaker.trip(trigger, action)
        entry.update(
            action=action.value,
            from_state=move.from_state.value,
            to_state=move.to_state.value,
            changed=move.changed,
            also=also,
        )
        self.recorder.trip(entry)

    # ------------------------------------------------------------------ engine parts
    def _engine_step(self, engine: _EngineState, tick: Tick, now: int, mono: int) -> None:
        """Gate 1, the strategy, gate 2 and the fills (``LiveEngine._cycle``/``_submit``)."""
        state = self.breaker.state
        if state is _HALTED:
            return
        broker = self.broker
        if engine.version != broker.version:
            magic = self.config.engine.magic
            engine.mine = [p for p in broker.positions() if p.magic == magic]
            engine.version = broker.version
        for intent in engine.strategy.on_tick(tick, engine.mine):
            self._submit(engine, intent, now, mono)

    def _submit(self, engine: _EngineState, intent: OrderIntent, now: int, mono: int) -> None:
        cfg = self.config
        state = self.breaker.state
        allowed = state is not _HALTED if intent.reduces else state is BreakerState.ACTIVE
        if allowed and not intent.reduces:
            locked = engine.locked_until.get(intent.symbol, 0) > mono
            allowed = not locked and self.evaluator.hours.is_open(now)
        if not allowed:
            engine.stats.denied += 1
            return
        request: dict[str, int | float | str] = {
            "action": int(TradeAction.DEAL),
            "symbol": intent.symbol,
            "volume": float(intent.volume),
            "type": int(OrderType.BUY if intent.side == "buy" else OrderType.SELL),
            "deviation": cfg.engine.deviation_points,
            "magic": cfg.engine.magic,
            "comment": "riskguard replay",
        }
        if intent.close_ticket is not None:
            request["position"] = intent.close_ticket
        retcode = self.broker.send(request)
        engine.stats.sent += 1
        known = retcode in TradeRetcode._value2member_map_
        outcome = TradeRetcode(retcode).classify() if known else "terminal"
        if outcome in ("success", "partial"):
            engine.stats.filled += 1
            engine.rejects = 0
            return
        engine.stats.rejected += 1
        engine.rejects += 1
        if outcome == "terminal":
            engine.locked_until[intent.symbol] = (
                mono + cfg.engine.order_cooldown_seconds * 1_000_000_000
            )
        limit = cfg.engine.max_consecutive_rejects
        if engine.rejects >= limit:
            self._engine_trip(engine.rejects, limit)

    def _engine_trip(self, rejects: int, limit: int) -> None:
        reading = Reading(
            C.ORDER_REJECTS,
            Level.BREACH,
            Decimal(rejects),
            Decimal(limit),
            Decimal(limit),
            "orders",
        )
        entry = self.recorder.entry(
            reading, index=self._index, utc_ms=self.clock.utc_ms, tick=None, source="engine"
        )
        self._trip(entry, C.ORDER_REJECTS, Action.HALT, [])

    @property
    def engine_stats(self) -> EngineStats | None:
        return self._engine.stats if self._engine is not None else None


def _lookahead(ticks: Iterator[Tick], wanted: set[str]) -> list[Tick]:
    """The first ticks, up to the first valid one of every wanted symbol (bounded)."""
    buffer: list[Tick] = []
    missing = set(wanted)
    for tick in ticks:
        buffer.append(tick)
        if tick.symbol in missing and 0.0 < tick.bid <= tick.ask < math.inf:
            missing.discard(tick.symbol)
        if not missing or len(buffer) >= LOOKAHEAD_TICKS:
            break
    return buffer


def replay_file(
    path: Path,
    setups: Sequence[RunSetup],
    *,
    positions: Sequence[PositionSpec] = (),
    balance: Decimal,
    strategy: str | None = None,
    progress: Callable[[TickFile, int], None] | None = None,
    progress_every: int = 65_536,
) -> tuple[TickFile, list[ReplayRun]]:
    """Stream ``path`` once through one run per setup. ``ScenarioError`` for a bad file,
    ``ValueError`` for positions the file cannot price."""
    tick_file = open_tick_file(path)
    currency = setups[0].config.account.currency
    tradable = {s.name for s in DEFAULT_SYMBOLS if currency in (s.currency_base, s.currency_profit)}
    wanted = tradable if tick_file.format.symbol is None else {tick_file.format.symbol} & tradable
    stream = tick_file.ticks()
    head = _lookahead(stream, wanted)
    if not head:
        raise ScenarioError(f"{path.name}: no ticks")
    quotes = first_quotes(head, wanted)
    runs: list[ReplayRun] = []
    try:
        for setup in setups:
            runs.append(
                ReplayRun(
                    setup,
                    first=head[0],
                    quotes=quotes,
                    positions=positions,
                    balance=balance,
                    strategy=strategy,
                )
            )
        for index, tick in enumerate(chain(head, stream)):
            for run in runs:
                run.on_tick(index, tick)
            if progress is not None and index % progress_every == 0:
                progress(tick_file, index)
    finally:
        for run in runs:
            run.finish()
    if progress is not None:
        progress(tick_file, runs[0].recorder.ticks if runs else 0)
    return tick_file, runs
