"""The evaluator: every rule over every tick, account snapshot, deal and timer beat.

It owns rule state (high-water mark, day baseline, streak, counters) in plain attributes on the
hot path and hands out a ``RuleState`` for persistence. Each call returns the level changes it
caused — usually none, as a shared empty tuple — and never touches files, the breaker or logs:
``risk.guard`` does that. Bad ticks are rejected before any arithmetic.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Final

from risk.book import Book
from risk.breaker_state import Action, LastReset
from risk.clock import Clock, SystemClock
from risk.config import RiskConfig
from risk.levels import Band, Level, LevelChange, Reading
from risk.models import AccountSnapshot, Deal, DealEntry, DealType, Position, SymbolSpec, Tick
from risk.reason_codes import ReasonCode
from risk.rule_state import RuleState
from risk.rules.daily_loss import DailyCalendar, DailyLossRule, TrailingPeak
from risk.rules.data_quality import BadTickWindow, DataQualityRule, tick_defect
from risk.rules.drawdown import DrawdownRule
from risk.rules.exposure import ExposureRules
from risk.rules.fall import fall_pct
from risk.rules.latency import FeedStaleRule, TickAgeRule, TickLatencyRule
from risk.rules.leverage import UNBOUNDED, LeverageRule, MarginLevelRule
from risk.rules.losing_streak import DealLedger, LosingStreakRule
from risk.rules.trading_hours import TradingHours
from risk.rules.velocity import VelocityRule, WindowPeak
from risk.units import RATIO_SCALE, from_units, to_units

__all__ = ["NOTHING", "Evaluator"]

NOTHING: Final[tuple[LevelChange, ...]] = ()
C = ReasonCode
_NS_PER_MS = Decimal(1_000_000)
_NS_CODES = frozenset({C.TICK_LATENCY, C.FEED_STALE})  # measured in ns, shown in ms
# Enum member lookups cost ~100 ns each on CPython 3.11; the tick path uses module constants.
_OK = Level.OK
_DRAWDOWN, _DAILY, _VELOCITY = C.DRAWDOWN, C.DAILY_LOSS, C.VELOCITY
_LEVERAGE, _MARGIN, _AGE, _LATENCY = C.LEVERAGE, C.MARGIN_LEVEL, C.TICK_AGE, C.TICK_LATENCY
_BAD_FEED, _STALE = C.BAD_FEED, C.FEED_STALE
_FALL_CODES: Final = frozenset({C.DRAWDOWN, C.DAILY_LOSS, C.VELOCITY})
_INF: Final = math.inf


class Evaluator:
    def __init__(
        self,
        config: RiskConfig,
        specs: Mapping[str, SymbolSpec],
        *,
        clock: Clock,
        state: RuleState | None = None,
    ) -> None:
        self.config = config
        self.book = Book(specs)
        self._clock = clock
        self._offset_ms = config.broker.server_utc_offset_seconds * 1000
        self._scale = {name: 10**spec.digits for name, spec in specs.items()}
        self.drawdown = DrawdownRule(config.drawdown)
        self.daily = DailyLossRule(config.daily_loss, config.account.initial_capital)
        self.calendar = DailyCalendar(config.daily_loss)
        self.leverage = LeverageRule(config.leverage)
        self.margin = MarginLevelRule(config.margin)
        self.tick_latency = TickLatencyRule(config.latency)
        self.feed_stale = FeedStaleRule(config.latency)
        self.tick_age = TickAgeRule(config.latency)
        self.streak_rule = LosingStreakRule(config.losing_streak)
        self.exposure = ExposureRules(config.exposure)
        self.velocity = VelocityRule(config.velocity)
        self.quality = DataQualityRule(config.data_quality)
        self.hours = TradingHours(config.trading_hours)
        self._bands = self._band_table()
        self.levels: dict[ReasonCode, Level] = dict.fromkeys(self._bands, Level.OK)
        self.values: dict[ReasonCode, int | Decimal] = {}
        self._window = BadTickWindow(config.data_quality.window_ticks)
        self._peak = WindowPeak(self.velocity.window_ms)
        self._trailing = TrailingPeak() if self.daily.rolling else None
        self._last_tick: dict[str, Tick] = {}
        self._last_tick_ns: int = clock.monotonic_ns()
        # SystemClock.monotonic_ns only wraps time.monotonic_ns: call the builtin directly
        mono = time.monotonic_ns if type(clock) is SystemClock else clock.monotonic_ns
        self._monotonic_ns: Callable[[], int] = mono
        self.bad_ticks: dict[str, int] = {}
        self._pending: list[LevelChange] = []
        self._ready = False
        self.hwm = 0  # integer money units (risk.units)
        self.baseline = 0
        self.trading_day = date.min
        self._next_reset_ms = 0
        self.applied_reset_seq = 0
        self.applied_reset: LastReset | None = None  # the reset behind applied_reset_seq, if seen
        self._deferred_reset: LastReset | None = None  # seen before the first snapshot
        self.streak = 0
        self.trades_today = 0
        self._ledger = DealLedger()
        self.dirty = False
        rules = (
            (C.DRAWDOWN, self.drawdown),
            (C.DAILY_LOSS, self.daily),
            (C.VELOCITY, self.velocity),
        )
        # enabled flags are configuration: fixed for the evaluator's life
        self._fall_bands = tuple((code, rule.band) for code, rule in rules if rule.enabled)
        self._fall_codes = tuple(code for code, _ in self._fall_bands)
        self._fall_gate: Decimal | int | float = -_INF
        self._arm_fall_gate()
        if state is not None:
            self._restore(state)

    def add_symbol(self, spec: SymbolSpec) -> None:
        """Value positions and ticks of one more symbol (e.g. a position opened elsewhere)."""
        self.book.add_spec(spec)
        self._scale[spec.name] = 10**spec.digits

    # ------------------------------------------------------------------ inputs
    def on_tick(self, tick: Tick, now_ms: int, received_ns: int) -> tuple[LevelChange, ...]:
        """One tick. ``now_ms``: UTC wall ms; ``received_ns``: monotonic receipt time.

        The hot path: each rule is one integer comparison while it is OK and below its warning
        level (the three "fall" rules share one, see ``_arm_fall_gate``); ``_observe``
        (classification, events) runs only near or past a level.
        """
        pending = self._pending
        pending.clear()
        levels = self.levels
        symbol, bid, ask, _, _, time_msc, _ = tick
        last = self._last_tick.get(symbol)
        # The common case, proven by comparisons alone (no arithmetic on the floats): finite,
        # positive, not crossed (NaN fails every comparison, inf fails ``< _INF``), newer than the
        # symbol's last tick (so not a duplicate either). With no bad tick in the window, pushing
        # a good one changes nothing, and BAD_FEED stays OK. Anything else: ``_screen``.
        if not (
            0.0 < bid <= ask < _INF
            and (last is None or time_msc > last.time_msc)
            and not self._window.count
            and levels[_BAD_FEED] is _OK
        ):
            rejected = self._screen(tick, last)
            if rejected:
                return tuple(pending) if pending else NOTHING
        self._last_tick[symbol] = tick
        self._last_tick_ns = received_ns
        if levels[_STALE] is not _OK:
            self._observe(_STALE, self.feed_stale.band, 0)
        scale = self._scale.get(symbol)
        if scale is not None:
            self.book.on_price(symbol, round(bid * scale), round(ask * scale))
        tick_ms = time_msc - self._offset_ms
        if self._ready:
            if now_ms >= self._next_reset_ms:
                self._roll_day(now_ms)
            self._equity_rules(tick_ms)
        # ``_check`` inlined (a call per rule was ~10 % of a quiet tick)
        values = self.values
        age = self.tick_age
        if age.enabled:
            value = now_ms - tick_ms
            if value >= age.band.warning or levels[_AGE] is not _OK:
                self._observe(_AGE, age.band, value)
            else:
                values[_AGE] = value
        latency = self.tick_latency
        if latency.enabled:
            value = self._monotonic_ns() - received_ns
            if value >= latency.band.warning or levels[_LATENCY] is not _OK:
                self._observe(_LATENCY, latency.band, value)
            else:
                values[_LATENCY] = value
        return tuple(pending) if pending else NOTHING

    def _screen(self, tick: Tick, last: Tick | None) -> bool:
        """The full data-quality step for a tick the fast test did not clear: classify it, count
        it in the window, observe BAD_FEED. True when the tick is bad (rejected)."""
        defect = tick_defect(tick, last)
        bad = self._window.push(defect is not None)
        if self.quality.enabled and (bad or self.levels[_BAD_FEED] is not _OK):
            self._observe(_BAD_FEED, self.quality.band, bad)
        if defect is None:
            return False
        self.bad_ticks[defect] = self.bad_ticks.get(defect, 0) + 1
        return True

    def _check(self, code: ReasonCode, band: Band, value: Decimal | int) -> None:
        """Observe only near a level; otherwise just remember the value."""
        if value >= band.warning or self.levels[code] is not _OK:
            self._observe(code, band, value)
        else:
            self.values[code] = value

    def on_account(
        self, account: AccountSnapshot, positions: Sequence[Position], now_ms: int
    ) -> tuple[LevelChange, ...]:
        """A broker snapshot: adopt balance, margin and positions; anchor on the first one."""
        self._pending.clear()
        self.book.set_account(account)
        self.book.set_positions(positions)
        self.margin.adopt_broker_levels(account.margin_so_call, account.margin_so_so)
        equity = self.book.equity
        if not self._ready:
            self._ready = True
            if self.hwm == 0:
                self.hwm = equity
                self.trading_day = self.calendar.trading_day(now_ms)
                self.baseline = self.daily.baseline(self.book.balance, equity)
                self.dirty = True
            self._next_reset_ms = self.calendar.next_reset_ms(self.trading_day)
            self._rearm()
            deferred, self._deferred_reset = self._deferred_reset, None
            if deferred is not None and deferred.seq > self.applied_reset_seq:
                self._apply_reset(deferred)
        self._roll_day(now_ms)
        self._equity_rules(now_ms)
        self._exposure_rules()
        return tuple(self._pending) if self._pending else NOTHING

    def on_deal(self, deal: Deal, now_ms: int) -> tuple[LevelChange, ...]:
        """A deal from history; each ticket counts once."""
        self._pending.clear()
        if not self._ledger.first_time(deal.ticket):
            return NOTHING
        self.dirty = True
        if self._ready:
            self._roll_day(now_ms)
        if deal.entry is DealEntry.IN and deal.type in (DealType.BUY, DealType.SELL):
            self.trades_today += 1
            if self.exposure.enabled:
                self._observe(C.TRADES_PER_DAY, self.exposure.trades_per_day, self.trades_today)
        self.streak = self.streak_rule.next_streak(self.streak, deal)
        if self.streak_rule.enabled:
            self._observe(C.LOSING_STREAK, self.streak_rule.band, self.streak)
        return tuple(self._pending) if self._pending else NOTHING

    def on_timer(self, now_ms: int, now_ns: int) -> tuple[LevelChange, ...]:
        """Periodic beat: a silent feed inside trading hours, a day boundary without ticks."""
        self._pending.clear()
        if self._ready:
            self._roll_day(now_ms)
        if self.feed_stale.enabled and self.hours.is_open(now_ms):
            self._observe(C.FEED_STALE, self.feed_stale.band, now_ns - self._last_tick_ns)
        return tuple(self._pending) if self._pending else NOTHING

    def on_reset(self, reset: LastReset) -> None:
        """An operator reset: re-anchor what it asked for, then re-arm every rule so anything
        still in breach trips again.

        Before the first account snapshot the book is empty (equity 0): a re-anchor then would
        set the mark or the baseline to 0 (a zero baseline switches the daily-loss rule off; a
        zero mark makes the first snapshot re-anchor everything). The reset is kept and applied
        by that snapshot, after the book is known and before any rule is judged.
        """
        if reset.seq <= self.applied_reset_seq:
            return
        if not self._ready:
            self._deferred_reset = reset
            return
        self._apply_reset(reset)

    def _apply_reset(self, reset: LastReset) -> None:
        self.applied_reset_seq = reset.seq
        self.applied_reset = reset
        if "peak" in reset.rebaseline:
            self.hwm = self.book.equity
        if "daily" in reset.rebaseline:
            self.baseline = self.book.equity  # re-anchor where the account stands now
            if self._trailing is not None:
                self._trailing = TrailingPeak()
        self.streak = 0  # the operator has seen the streak; the next loss starts a new one
        self._peak.clear()
        self._rearm()
        for code in self.levels:
            self.levels[code] = Level.OK
        self._arm_fall_gate()
        self.dirty = True

    def _rearm(self) -> None:
        self.drawdown.rearm(self.hwm)
        self.daily.rearm(self.baseline, None)
        self.velocity.rearm(0)
        self._arm_fall_gate()

    # ------------------------------------------------------------------ rules
    def _equity_rules(self, utc_ms: int) -> None:
        """All equity rules: integer comparisons against thresholds re-armed on anchor moves."""
        book = self.book
        equity = book.balance + book.credit + book.swap + book.floating  # Book.equity, inlined
        fallen = -equity
        levels, values = self.levels, self.values
        if equity > self.hwm:
            self.hwm = equity
            self.drawdown.rearm(equity)
            self.dirty = True
            self._arm_fall_gate()
        daily = self.daily
        if daily.enabled and self._trailing is not None:
            peak = self._trailing.update(utc_ms, equity)
            if max(peak, self.baseline) != daily.reference:  # peaks also age out of 24 h
                daily.rearm(self.baseline, peak)
                self._arm_fall_gate()
        velocity = self.velocity
        if velocity.enabled:
            peak_now = self._peak.update(utc_ms, equity)
            if peak_now != velocity.peak:
                velocity.rearm(peak_now)
                self._arm_fall_gate()
        # one comparison while equity is above every fall rule's warning line and all are OK
        # (tests/kernel/test_fast_path.py checks it against rule-by-rule checks)
        if fallen < self._fall_gate:
            for code in self._fall_codes:
                values[code] = fallen
        else:
            self._fall_rules(fallen)
        leverage = self.leverage
        if leverage.enabled:
            value = leverage.value(book.notional, equity)
            if value >= leverage.band.warning or levels[_LEVERAGE] is not _OK:
                self._observe(_LEVERAGE, leverage.band, value)
            else:
                values[_LEVERAGE] = value
        margin = self.margin
        if margin.enabled:
            value = margin.value(equity, book.margin)
            if value >= margin.band.warning or levels[_MARGIN] is not _OK:
                self._observe(_MARGIN, margin.band, value)
            else:
                values[_MARGIN] = value

    def _fall_rules(self, fallen: int) -> None:
        """Drawdown, daily loss and velocity one by one: some are near or past a level."""
        if self.drawdown.enabled:
            self._check(_DRAWDOWN, self.drawdown.band, fallen)
        if self.daily.enabled:
            self._check(_DAILY, self.daily.band, fallen)
        if self.velocity.enabled:
            self._check(_VELOCITY, self.velocity.band, fallen)

    def _arm_fall_gate(self) -> None:
        """One comparison for the three "fall" rules on a quiet tick.

        Each classifies the same value (``-equity``) and, while OK, needs ``_observe`` only from
        its warning up; so while all enabled ones are OK, ``-equity`` below the lowest of their
        warnings means none needs it. Any of them not OK closes the gate (-inf: check each).
        Must run after anything that moves their bands (a re-arm) or their levels.
        """
        gate: Decimal | int | float = _INF
        levels = self.levels
        for code, band in self._fall_bands:
            if levels[code] is not _OK:
                gate = -_INF
                break
            gate = min(gate, band.warning)
        self._fall_gate = gate

    def _exposure_rules(self) -> None:
        if not self.exposure.enabled:
            return
        book = self.book
        self._observe(C.OPEN_POSITIONS, self.exposure.open_positions, book.open_positions())
        lots = max(book.lots_by_symbol().values(), default=Decimal(0))

        self._observe(C.LOTS_PER_SYMBOL, self.exposure.lots_per_symbol, lots)

    def _roll_day(self, now_ms: int) -> None:
        """Start a new trading day at most once per day; never go back to an earlier one."""
        if now_ms < self._next_reset_ms:
            return
        day = self.calendar.trading_day(now_ms)
        if day > self.trading_day:
            self.trading_day = day
            self.baseline = self.daily.baseline(self.book.balance, self.book.equity)
            trailing = self._trailing
            peak = trailing.update(now_ms, self.book.equity) if trailing is not None else None
            self.daily.rearm(self.baseline, peak)
            self._arm_fall_gate()
            self.trades_today = 0
            if self.exposure.enabled:
                self._observe(C.TRADES_PER_DAY, self.exposure.trades_per_day, 0)
            if self.daily.enabled:  # a quiet roll (timer, no tick) must not show yesterday's loss
                self._observe(C.DAILY_LOSS, self.daily.band, -self.book.equity)
            self.dirty = True
        self._next_reset_ms = self.calendar.next_reset_ms(self.trading_day)

    def _observe(self, code: ReasonCode, band: Band, value: Decimal | int) -> None:
        """Classify ``value`` (``Band.classify`` inlined: this runs ~7 times per tick)."""
        self.values[code] = value
        current = self.levels[code]
        if value >= band.limit or (current is Level.BREACH and value >= band.warning):
            new = Level.BREACH
        elif value >= band.warning or (current and value >= band.release):
            new = Level.WARNING
        else:
            new = Level.OK
        if new is not current:
            self.levels[code] = new
            if code in _FALL_CODES:
                self._arm_fall_gate()
            action = self._bands[code][2] if new is Level.BREACH else None
            self._pending.append(LevelChange(self.reading(code), current, action))

    # ------------------------------------------------------------------ views
    def reading(self, code: ReasonCode) -> Reading:
        """The rule's latest value in its own unit, as exact decimals (slow path: events,
        snapshots)."""
        band, unit, _ = self._bands[code]
        raw = self.values.get(code, 0)
        level = self.levels[code]
        equity = self.book.equity
        if code is C.DRAWDOWN:
            rule = self.drawdown
            return Reading(
                code, level, fall_pct(self.hwm, self.hwm, equity), rule.warning, rule.limit, unit
            )
        if code is C.DAILY_LOSS:
            d = self.daily
            return Reading(
                code, level, fall_pct(d.reference, d.basis, equity), d.warning, d.limit, unit
            )
        if code is C.VELOCITY:
            v = self.velocity
            return Reading(code, level, fall_pct(v.peak, v.peak, equity), v.warning, v.limit, unit)
        value, warning, limit = (Decimal(x) for x in (raw, band.warning, band.limit))
        if code is C.LEVERAGE:
            value, warning, limit = (x / RATIO_SCALE for x in (value, warning, limit))
        elif code is C.MARGIN_LEVEL:
            value = Decimal(0) if raw <= -UNBOUNDED else -value / RATIO_SCALE
            warning, limit = -warning / RATIO_SCALE, -limit / RATIO_SCALE
        elif code in _NS_CODES:
            value, warning, limit = value / _NS_PER_MS, warning / _NS_PER_MS, limit / _NS_PER_MS
        return Reading(code, level, value, warning, limit, unit)

    def readings(self) -> dict[ReasonCode, Reading]:
        return {code: self.reading(code) for code in self.levels}

    def rule_state(self) -> RuleState:
        return RuleState(
            high_water_mark=from_units(self.hwm),
            daily_baseline=from_units(self.baseline),
            trading_day=self.trading_day.isoformat(),
            applied_reset_seq=self.applied_reset_seq,
            losing_streak=self.streak,
            trades_today=self.trades_today,
            deal_tickets=self._ledger.tickets(),
        )

    def _restore(self, state: RuleState) -> None:
        self.hwm = to_units(state.high_water_mark)
        self.baseline = to_units(state.daily_baseline)
        self.trading_day = date.fromisoformat(state.trading_day)
        self.applied_reset_seq = state.applied_reset_seq
        self.streak, self.trades_today = state.losing_streak, state.trades_today
        self._ledger = DealLedger(seen=state.deal_tickets)

    def _band_table(self) -> dict[ReasonCode, tuple[Band, str, Action]]:
        ex = self.exposure
        return {
            C.DRAWDOWN: (self.drawdown.band, "%", self.drawdown.action),
            C.DAILY_LOSS: (self.daily.band, "%", self.daily.action),
            C.VELOCITY: (self.velocity.band, "%", self.velocity.action),
            C.LEVERAGE: (self.leverage.band, "x", self.leverage.action),
            C.MARGIN_LEVEL: (self.margin.band, "%", self.margin.action),
            C.TICK_LATENCY: (self.tick_latency.band, "ms", self.tick_latency.action),
            C.FEED_STALE: (self.feed_stale.band, "ms", self.feed_stale.action),
            C.TICK_AGE: (self.tick_age.band, "ms", self.tick_age.action),
            C.LOSING_STREAK: (self.streak_rule.band, "deals", self.streak_rule.action),
            C.OPEN_POSITIONS: (ex.open_positions, "positions", ex.action),
            C.LOTS_PER_SYMBOL: (ex.lots_per_symbol, "lots", ex.action),
            C.TRADES_PER_DAY: (ex.trades_per_day, "trades", ex.action),
            C.BAD_FEED: (self.quality.band, "ticks", self.quality.action),
        }
