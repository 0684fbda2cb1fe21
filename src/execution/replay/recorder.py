"""What one replay run remembers: trips and warnings as they happen, exact extremes for the
report (max drawdown, worst daily loss per trading day, peak leverage, ...), the worst value of
every rule for its headroom, stale gaps, bad ticks, and the downsampled chart series.

Everything is bounded: at most ``MAX_EVENTS`` trips and warnings are listed (all are counted),
the ``TOP_GAPS`` longest gaps, the first ``BAD_EXAMPLES`` bad ticks, one entry per trading day.
The per-tick work is float comparisons; exact values are taken only when an extreme moves.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final

from execution.replay.series import Series
from risk.evaluator import Evaluator
from risk.levels import Level, LevelChange, Reading
from risk.models import Tick
from risk.reason_codes import ReasonCode
from risk.rules.leverage import UNBOUNDED
from risk.rules.trading_hours import TradingHours
from risk.units import MONEY_SCALE, RATIO_SCALE, from_units

__all__ = ["BAD_EXAMPLES", "MAX_EVENTS", "TOP_GAPS", "Recorder", "RuleTally", "iso_ms"]

MAX_EVENTS: Final = 10_000
TOP_GAPS: Final = 20
BAD_EXAMPLES: Final = 20
C = ReasonCode
_SIX: Final = Decimal("0.000001")
_REPLAY_CLOCK_CODES: Final = frozenset({C.TICK_LATENCY, C.TICK_AGE})
Entry = dict[str, Any]


def iso_ms(utc_ms: int) -> str:
    """UTC ISO-8601 with milliseconds, e.g. ``2024-03-01T10:00:00.123Z``."""
    when = datetime.fromtimestamp(utc_ms / 1000, tz=UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _pct(fall: int, basis: int) -> Decimal:
    return (Decimal(fall) * 100 / basis).quantize(_SIX) if basis > 0 and fall > 0 else Decimal(0)


@dataclass(slots=True)
class RuleTally:
    warnings: int = 0
    breaches: int = 0
    first_breach: Entry | None = None


@dataclass(slots=True)
class _Fall:
    """An exact worst fall (``fall`` money units of ``basis``) and where it happened."""

    ratio: float = 0.0
    fall: int = 0
    basis: int = 0
    tick_index: int = -1
    utc_ms: int = 0

    def pct(self) -> Decimal:
        return _pct(self.fall, self.basis)


@dataclass(slots=True)
class _Worst:
    raw: int | Decimal = 0
    tick_index: int = -1
    utc_ms: int = 0
    seen: bool = False


@dataclass(slots=True)
class _Day:
    day: date
    worst: _Fall = field(default_factory=_Fall)
    trips: int = 0


class Recorder:
    def __init__(self, evaluator: Evaluator, *, offset_ms: int, series: bool) -> None:
        self.ev = evaluator
        self.offset_ms = offset_ms
        self.series = Series() if series else None
        self.ticks = 0
        self.trips: list[Entry] = []
        self.warnings: list[Entry] = []
        self.trip_count = 0
        self.warning_count = 0
        self.tally: dict[ReasonCode, RuleTally] = {code: RuleTally() for code in evaluator.levels}
        self.drawdown = _Fall()
        self.velocity = _Fall()
        self.days: list[_Day] = []
        self._day: _Day | None = None
        self.worst: dict[ReasonCode, _Worst] = {code: _Worst() for code in evaluator.levels}
        self.gaps: list[tuple[int, int, int, int, bool]] = []  # heap: (ms, start, end, index, in)
        self.gap_count = 0
        self.bad_kinds: dict[str, int] = {}
        self.bad_examples: list[Entry] = []
        self.first_utc_ms: int | None = None
        self.last_utc_ms = 0
        self._lev_raw = 0
        self._margin_raw = -UNBOUNDED

    # ------------------------------------------------------------------ per tick (hot)
    def tick(self, index: int, utc_ms: int) -> None:
        ev = self.ev
        eq = ev.book.equity
        self.ticks += 1
        self.last_utc_ms = utc_ms
        hwm = ev.hwm
        dd = (hwm - eq) / hwm if hwm > 0 else 0.0
        if dd > self.drawdown.ratio:
            self._fall(self.drawdown, dd, hwm - eq, hwm, index, utc_ms)
        daily = ev.daily
        basis = daily.basis
        dl = (daily.reference - eq) / basis if basis > 0 else 0.0
        day = self._day
        if day is None or day.day is not ev.trading_day:
            day = self._new_day(ev.trading_day)
        if dl > day.worst.ratio:
            self._fall(day.worst, dl, daily.reference - eq, basis, index, utc_ms)
        peak = ev.velocity.peak
        if peak > 0 and eq < peak:
            v = (peak - eq) / peak
            if v > self.velocity.ratio:
                self._fall(self.velocity, v, peak - eq, peak, index, utc_ms)
        values: dict[ReasonCode, Any] = ev.values  # leverage and margin level are ints
        lev: int = values.get(C.LEVERAGE, 0)
        if lev > self._lev_raw:
            self._lev_raw = lev
            self._note(C.LEVERAGE, lev, index, utc_ms)
        margin: int = values.get(C.MARGIN_LEVEL, -UNBOUNDED)
        if margin > self._margin_raw:
            self._margin_raw = margin
            self._note(C.MARGIN_LEVEL, margin, index, utc_ms)
        series = self.series
        if series is not None:
            series.add(
                utc_ms,
                eq / MONEY_SCALE,
                hwm / MONEY_SCALE,
                dd * 100,
                dl * 100,
                lev / RATIO_SCALE if lev < UNBOUNDED else float("inf"),
                -margin / RATIO_SCALE if margin > -UNBOUNDED else float("nan"),
            )

    @staticmethod
    def _fall(slot: _Fall, ratio: float, fall: int, basis: int, index: int, utc_ms: int) -> None:
        slot.ratio, slot.fall, slot.basis = ratio, fall, basis
        slot.tick_index, slot.utc_ms = index, utc_ms

    def _new_day(self, trading_day: date) -> _Day:
        day = self._day = _Day(trading_day)
        self.days.append(day)
        return day

    def _note(self, code: ReasonCode, raw: int | Decimal, index: int, utc_ms: int) -> None:
        worst = self.worst[code]
        if not worst.seen or raw > worst.raw:
            worst.raw, worst.tick_index, worst.utc_ms, worst.seen = raw, index, utc_ms, True

    # ------------------------------------------------------------------ other inputs
    def observe(self, codes: tuple[ReasonCode, ...], index: int, utc_ms: int) -> None:
        """After an account, deal, bad tick or timer beat: the worst of these rules' values."""
        values = self.ev.values
        for code in codes:
            raw = values.get(code)
            if raw is not None:
                self._note(code, raw, index, utc_ms)

    def gap(
        self, index: int, start_ms: int, end_ms: int, limit_ms: int, hours: TradingHours | None
    ) -> None:
        """A feed gap between two valid ticks (UTC ms). ``hours``: the stale-feed rule's
        trading hours (None: the rule is off); silence counts only when they are open."""
        length = end_ms - start_ms
        if self.series is not None:
            self.series.note_gap(length / 1000)
        if hours is None:
            return
        worst = self.worst[C.FEED_STALE]
        if length < limit_ms and worst.seen and length * 1_000_000 <= worst.raw:
            return
        in_hours = hours.is_open(end_ms)
        if in_hours:
            self._note(C.FEED_STALE, length * 1_000_000, index, end_ms)
        if length >= limit_ms:
            self.gap_count += 1
            item = (length, start_ms, end_ms, index, in_hours)
            if len(self.gaps) < TOP_GAPS:
                heapq.heappush(self.gaps, item)
            else:
                heapq.heappushpop(self.gaps, item)

    def bad(self, index: int, tick: Tick, kind: str) -> None:
        self.bad_kinds[kind] = self.bad_kinds.get(kind, 0) + 1
        if self.series is not None:
            self.series.note_bad()
        if len(self.bad_examples) < BAD_EXAMPLES:
            self.bad_examples.append(
                {
                    "tick_index": index,
                    "time_msc": tick.time_msc,
                    "symbol": tick.symbol,
                    "bid": repr(tick.bid),
                    "ask": repr(tick.ask),
                    "kind": kind,
                }
            )

    # ------------------------------------------------------------------ level changes
    def entry(
        self,
        reading: Reading,
        *,
        index: int,
        utc_ms: int,
        tick: Tick | None,
        source: str,
    ) -> Entry:
        """The common shape of a trip and a warning."""
        ev = self.ev
        return {
            "tick_index": index,
            "time_msc": utc_ms + self.offset_ms,
            "time": iso_ms(utc_ms),
            "source": source,
            "symbol": tick.symbol if tick is not None else None,
            "bid": repr(tick.bid) if tick is not None else None,
            "ask": repr(tick.ask) if tick is not None else None,
            "trigger": reading.code.value,
            "level": reading.level.name,
            "value": str(reading.value),
            "warning": str(reading.warning),
            "limit": str(reading.limit),
            "unit": reading.unit,
            "equity": str(ev.book.equity_money()),
            "high_water_mark": str(from_units(ev.hwm)),
        }

    def change(self, change: LevelChange, make: Callable[[Reading], Entry]) -> None:
        tally = self.tally[change.code]
        level = change.reading.level
        if level is Level.BREACH:
            tally.breaches += 1
            if tally.first_breach is None:
                tally.first_breach = make(change.reading)
        elif level is Level.WARNING and change.previous is Level.OK:
            tally.warnings += 1
            self.warning_count += 1
            if len(self.warnings) < MAX_EVENTS:
                self.warnings.append(make(change.reading))

    def trip(self, entry: Entry) -> None:
        self.trip_count += 1
        if self._day is not None:
            self._day.trips += 1
        if len(self.trips) < MAX_EVENTS:
            self.trips.append(entry)

    def finish(self) -> None:
        if self.series is not None:
            self.series.close_bucket()

    # ------------------------------------------------------------------ results
    def worst_daily(self) -> _Fall:
        return max((d.worst for d in self.days), key=lambda f: f.ratio, default=_Fall())

    def daily_table(self) -> list[Entry]:
        return [
            {"day": d.day.isoformat(), "worst_loss_pct": str(d.worst.pct()), "trips": d.trips}
            for d in self.days
        ]

    def longest_gaps(self) -> list[Entry]:
        return [
            {
                "tick_index": index,
                "start_time_msc": start + self.offset_ms,
                "end_time_msc": end + self.offset_ms,
                "start": iso_ms(start),
                "seconds": length / 1000,
                "in_trading_hours": in_hours,
            }
            for length, start, end, index, in_hours in sorted(self.gaps, reverse=True)
        ]

    def headroom(self) -> dict[str, Entry]:
        """Per rule: its worst value over the run against its warning and hard level.

        ``headroom`` = limit - worst (margin level, lower is worse: worst - limit), in the rule's
        unit; below 0 means it was crossed. ``headroom_pct`` is that as a percentage of the limit.
        """
        ev = self.ev
        out: dict[str, Entry] = {}
        falls = {
            C.DRAWDOWN: self.drawdown,
            C.DAILY_LOSS: self.worst_daily(),
            C.VELOCITY: self.velocity,
        }
        for code, enabled in _enabled(ev).items():
            tally = self.tally[code]
            reading = ev.reading(code)
            worst = self.worst[code]
            where: tuple[int, int] | None = None
            value: Decimal | None
            if code in falls:
                fall = falls[code]
                value = fall.pct()
                where = (fall.tick_index, fall.utc_ms) if fall.tick_index >= 0 else None
            elif code in _REPLAY_CLOCK_CODES:
                value = None
            elif code is C.MARGIN_LEVEL and worst.raw <= -UNBOUNDED:
                value = None  # never any margin in use
            elif worst.seen:
                value = _unit_value(ev, code, worst.raw)
                where = (worst.tick_index, worst.utc_ms)
            else:
                value = Decimal(0)
            lower_is_worse = code is C.MARGIN_LEVEL
            room = None
            room_pct = None
            if value is not None and enabled:
                room = value - reading.limit if lower_is_worse else reading.limit - value
                room_pct = (room * 100 / reading.limit).quantize(Decimal("0.01"))
            out[code.value] = {
                "enabled": enabled,
                "unit": reading.unit,
                "warning": str(reading.warning),
                "limit": str(reading.limit),
                "worst": _text(value),
                "worst_tick_index": where[0] if where else None,
                "worst_time_msc": where[1] + self.offset_ms if where else None,
                "headroom": _text(room),
                "headroom_pct": _text(room_pct),
                "warnings": tally.warnings,
                "breaches": tally.breaches,
                "first_breach": tally.first_breach,
                "note": _note_for(code, value),
            }
        return out


def _text(value: Decimal | None) -> str | None:
    if value is None:
        return None
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return str(value.quantize(_SIX).normalize())


def _note_for(code: ReasonCode, value: Decimal | None) -> str | None:
    if code in _REPLAY_CLOCK_CODES:
        return "not measured: the replay clock follows tick time (processing time and age are 0)"
    if code is C.MARGIN_LEVEL and value is None:
        return "no margin in use during the replay"
    return None


def _enabled(ev: Evaluator) -> dict[ReasonCode, bool]:
    ex = ev.exposure.enabled
    return {
        C.DRAWDOWN: ev.drawdown.enabled,
        C.DAILY_LOSS: ev.daily.enabled,
        C.VELOCITY: ev.velocity.enabled,
        C.LEVERAGE: ev.leverage.enabled,
        C.MARGIN_LEVEL: ev.margin.enabled,
        C.TICK_LATENCY: ev.tick_latency.enabled,
        C.FEED_STALE: ev.feed_stale.enabled,
        C.TICK_AGE: ev.tick_age.enabled,
        C.LOSING_STREAK: ev.streak_rule.enabled,
        C.OPEN_POSITIONS: ex,
        C.LOTS_PER_SYMBOL: ex,
        C.TRADES_PER_DAY: ex,
        C.BAD_FEED: ev.quality.enabled,
    }


def _unit_value(ev: Evaluator, code: ReasonCode, raw: int | Decimal) -> Decimal:
    """A raw band value in the rule's own unit, converted by the evaluator's ``reading``."""
    saved = ev.values.get(code)
    ev.values[code] = raw
    try:
        return ev.reading(code).value
    finally:
        if saved is None:
            del ev.values[code]
        else:
            ev.values[code] = saved
