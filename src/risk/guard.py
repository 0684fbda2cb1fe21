"""The edge of the kernel: evaluator level changes become events, breaker trips and saved state.

One evaluation call yields at most one breaker transition: the most severe breach (HALT before
REDUCE, then the order the rules ran in) trips with every breach of the call as evidence. In
``alert_only`` mode breaches are events only. An operator reset seen on the breaker re-anchors
and re-arms the evaluator before the next tick is judged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from pydantic import JsonValue

from risk.breaker_state import Action
from risk.circuit_breaker import BreakerView, CircuitBreaker
from risk.evaluator import Evaluator
from risk.events import EventSink
from risk.levels import Level, LevelChange
from risk.monitor_snapshot import MonitorSnapshot, RuleStatus, snapshot_now
from risk.rule_state import save_rule_state
from risk.units import from_units

__all__ = ["Guard"]

_EVENT = {Level.BREACH: "risk.breach", Level.WARNING: "risk.warning", Level.OK: "risk.cleared"}
_LEVEL_NAME = {Level.OK: "ok", Level.WARNING: "warning", Level.BREACH: "breach"}


def _shown(value: Decimal | int) -> str:
    """A reading for the human reason text: 4 decimals at most (the exact value is evidence)."""
    if isinstance(value, int):
        return str(value)
    return f"{value:.4f}".rstrip("0").rstrip(".")


class Guard:
    def __init__(
        self,
        evaluator: Evaluator,
        breaker: CircuitBreaker,
        sink: EventSink,
        *,
        state_dir: Path,
        account: str,
        persist_interval_ns: int = 1_000_000_000,
    ) -> None:
        cfg = evaluator.config
        self.evaluator = evaluator
        self.breaker = breaker
        self._sink = sink
        self._state_dir = state_dir
        self._file_mode = cfg.paths.file_mode
        self._automatic = cfg.kill_switch.mode == "automatic"
        self._account = account
        self._persist_interval_ns = persist_interval_ns
        self._persisted_ns = 0
        self._announced_reset_seq = evaluator.applied_reset_seq  # restored: announced before

    def handle(
        self, changes: Sequence[LevelChange], trigger: Mapping[str, JsonValue] | None = None
    ) -> BreakerView | None:
        """Make at most one breaker transition, then one event per level change.

        The halt comes first: the breaker write (durable when it returns) is the only thing
        between a breaching tick and the engine's gate, so the breach events and the rule state
        are written right after it, not before. ``trigger`` names the input that caused the
        changes (e.g. the tick's symbol and ``time_msc``); it goes into every event and the trip
        evidence, so tick-to-halt latency can be read from the evidence log.
        """
        if not changes:
            return None
        cause = dict(trigger) if trigger else {}
        breaches = [c for c in changes if c.reading.level is Level.BREACH]
        view = self._trip(breaches, cause) if breaches and self._automatic else None
        for change in changes:
            reading = change.reading
            self._sink.emit(
                _EVENT[reading.level],
                reason_code=reading.code.value,
                previous=change.previous.name,
                action=change.action.value if change.action else None,
                **reading.evidence(),
                **cause,
            )
        if view is not None:
            self.persist(force=True)
        return view

    def _trip(self, breaches: list[LevelChange], cause: dict[str, JsonValue]) -> BreakerView:
        breaches.sort(key=lambda c: c.action is not Action.HALT)
        first = breaches[0]
        reading = first.reading
        evidence: dict[str, JsonValue] = {
            **reading.evidence(),
            "equity": str(self.evaluator.book.equity_money()),
            "high_water_mark": str(from_units(self.evaluator.hwm)),
            "also": [c.reading.code.value for c in breaches[1:]],
            **cause,
        }
        detail = (
            f"{reading.code.value} {_shown(reading.value)}{reading.unit} reached limit "
            f"{reading.limit}{reading.unit}"
        )
        assert first.action is not None
        return self.breaker.trip(reading.code, detail, evidence=evidence, action=first.action)

    def sync_with_breaker(self) -> None:
        """Apply an operator reset (rebaseline, re-arm) that the evaluator has not seen yet.

        Before the evaluator's first account snapshot it only keeps the reset (and applies it in
        that snapshot); the re-arm is persisted and announced by the first call after that.
        """
        ev = self.evaluator
        view = self.breaker.read()
        reset = view.record.last_reset if view.record is not None else None
        if reset is not None and reset.seq > ev.applied_reset_seq:
            ev.on_reset(reset)
        applied = ev.applied_reset
        if applied is not None and applied.seq > self._announced_reset_seq:
            self._announced_reset_seq = applied.seq
            self.persist(force=True)
            self._sink.emit(
                "risk.rearmed",
                reset_seq=applied.seq,
                rebaseline=list(applied.rebaseline),
                high_water_mark=str(from_units(ev.hwm)),
                daily_baseline=str(from_units(ev.baseline)),
            )

    def persist(self, *, force: bool = False, now_ns: int = 0) -> None:
        """Save rule state if it changed: durably when forced, else at most once per interval
        (an atomic replace without fsync survives a process crash, not a power loss)."""
        ev = self.evaluator
        if not ev.dirty:
            return
        if not force and now_ns - self._persisted_ns < self._persist_interval_ns:
            return
        save_rule_state(self._state_dir, ev.rule_state(), self._file_mode, durable=force)
        ev.dirty = False
        self._persisted_ns = now_ns

    def snapshot(self, now: datetime) -> MonitorSnapshot:
        ev = self.evaluator
        rules = {
            code.value: RuleStatus(
                level=_LEVEL_NAME[r.level],  # type: ignore[arg-type]
                value=str(r.value),
                warning=str(r.warning),
                limit=str(r.limit),
            )
            for code, r in ev.readings().items()
        }
        figures = {
            "equity": str(ev.book.equity_money()),
            "balance": str(from_units(ev.book.balance)),
            "high_water_mark": str(from_units(ev.hwm)),
            "daily_baseline": str(from_units(ev.baseline)),
            "trading_day": ev.trading_day.isoformat(),
            "open_positions": str(ev.book.open_positions()),
            "bad_ticks": str(sum(ev.bad_ticks.values())),
        }
        return snapshot_now(now, self._account, figures, rules)
