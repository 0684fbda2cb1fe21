"""The RiskMonitor sidecar: feed → evaluator → guard (breaker + events), heartbeat, snapshot.

It keeps running while HALTED (it is the witness an operator's reset relies on). It is blind while
the broker is unreachable: it stops beating at once (the engine reads MONITOR_SILENT) and trips
``BROKER_UNREACHABLE`` after the configured grace. Any
unexpected exception trips ``INTERNAL_ERROR`` and ends the process non-zero (the caller).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from decimal import Decimal
from typing import Any

from execution.feed import TickCursor, poll_ticks
from execution.gateway import BrokerUnavailable, Gateway
from execution.metrics import Metrics
from execution.mt5.constants import OrderType, TradeAction, TradeRetcode
from execution.sdnotify import notify, watchdog_interval_ns
from risk.breaker_state import BreakerState
from risk.circuit_breaker import CircuitBreaker
from risk.clock import Clock
from risk.config import RiskConfig
from risk.decisions import DecisionRecorder
from risk.evaluator import Evaluator
from risk.events import EventSink
from risk.guard import Guard
from risk.heartbeat import HeartbeatWriter
from risk.monitor_snapshot import write_snapshot
from risk.reason_codes import ReasonCode
from risk.rule_state import RuleStateUnreadable, load_rule_state

__all__ = ["RiskMonitor"]

_MS = 1_000_000
_QUARTER_HOUR_MS = 900_000


class RiskMonitor:
    def __init__(
        self,
        config: RiskConfig,
        *,
        gateway: Gateway,
        clock: Clock,
        sink: EventSink,
        recorder: DecisionRecorder | None = None,
    ) -> None:
        self.config = config
        self._gw = gateway
        self._clock = clock
        self._sink = sink
        self._record = recorder.record if recorder is not None else None
        self.state_dir = config.paths.state_dir
        self.breaker = CircuitBreaker.from_config(config, role="monitor", clock=clock, sink=sink)
        self._heartbeat = HeartbeatWriter(
            self.state_dir, clock=clock, file_mode=config.paths.file_mode
        )
        self._cursors: dict[str, TickCursor] = {}
        self._guard: Guard | None = None
        self._due: dict[str, int] = {
            "account": 0,
            "deals": 0,
            "beat": 0,
            "watchdog": 0,
            "reconcile": 0,
        }
        self._reconciled_epoch = -1
        self._offset_estimate: int | None = None
        self._latencies: deque[int] = deque(maxlen=10_000)  # recent per-tick processing, ns
        listen = config.metrics.listen
        self._metrics = Metrics(listen) if listen is not None else None
        self.ticks = 0
        self._known_tickets: set[int] | None = None
        self._last_deal_ms = 0
        self._blind_since: int | None = None
        self._liquidated: set[int] = set()
        self._watchdog_ns = watchdog_interval_ns()
        self.account = ""

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Connect, initialise the breaker, restore rule state and read the first snapshot."""
        self.breaker.initialise()
        self._gw.connect()
        account = self._gw.account()
        self.account = str(account.login)
        specs = {s: self._gw.symbol_spec(s) for s in self.config.feed.symbols}
        try:
            state = load_rule_state(self.state_dir)
        except RuleStateUnreadable as exc:
            self.breaker.trip(ReasonCode.STATE_UNREADABLE, str(exc))
            state = None
        evaluator = Evaluator(self.config, specs, clock=self._clock, state=state)
        self._guard = Guard(
            evaluator,
            self.breaker,
            self._sink,
            state_dir=self.state_dir,
            account=self.account,
            persist_interval_ns=self.config.heartbeat.interval_ms * _MS,
        )
        for symbol in self.config.feed.symbols:
            last = self._gw.call("symbol_info_tick", symbol)
            self._cursors[symbol] = TickCursor(int(last.time_msc))
        now_ms = self._now_ms()
        self._guard.sync_with_breaker()  # a reset made while down: applied by the first snapshot
        positions = self._gw.positions()
        self._watch_new_symbols(positions)
        self._guard.handle(evaluator.on_account(account, positions, now_ms))
        self._guard.sync_with_breaker()  # ... and persisted and announced now
        self._sink.emit("monitor.started", login=self.account, symbols=list(specs))
        self._check_watchdog()
        self._beat()
        notify("READY=1", f"STATUS={self._status()}")

    def _check_watchdog(self) -> None:
        """Say so when systemd's watchdog would kill a blind monitor before its grace trips
        BROKER_UNREACHABLE: pings stop with the first unhealthy cycle, the last one may be half
        the watchdog period old, and noticing the outage takes up to one call timeout."""
        if self._watchdog_ns is None:
            return
        broker = self.config.broker
        needed_ns = (
            self._watchdog_ns
            + (broker.call_timeout_ms + broker.unreachable_grace_seconds * 1000 + 1000) * _MS
        )
        watchdog_ns = 2 * self._watchdog_ns
        if needed_ns >= watchdog_ns:
            self._sink.emit(
                "monitor.watchdog_too_short",
                watchdog_seconds=watchdog_ns / 1e9,
                needed_seconds=needed_ns / 1e9,
                detail="a blind monitor would be killed before it trips BROKER_UNREACHABLE: "
                "raise WatchdogSec above 2 x (call timeout + grace + 1 s)",
            )

    def run(self, stop: threading.Event) -> None:
        interval = self.config.feed.tick_poll_interval_ms / 1000
        while not stop.is_set():
            started = time.monotonic()
            self.run_once()
            stop.wait(max(0.0, interval - (time.monotonic() - started)))
        notify("STOPPING=1")
        if self._guard is not None:
            self._guard.persist(force=True)
        self._sink.emit("monitor.stopped", login=self.account)

    # ------------------------------------------------------------------ the loop
    def _evaluate_ticks(self, guard: Guard, now_ms: int) -> None:
        """Every new tick through the evaluator; a level change goes to the guard naming it."""
        ev = guard.evaluator
        latencies = self._latencies
        record = self._record
        monotonic_ns = self._clock.monotonic_ns
        newest = 0
        for tick in poll_ticks(self._gw, self._cursors):
            newest = max(newest, tick.time_msc)
            received = monotonic_ns()
            changes = ev.on_tick(tick, now_ms, received)
            if changes:
                guard.handle(changes, {"symbol": tick.symbol, "tick_time_msc": tick.time_msc})
            latencies.append(monotonic_ns() - received)
            self.ticks += 1
            if record is not None:  # per-tick decisions for Kafka: one deque append
                record(
                    (now_ms * 1000, tick.symbol, tick.bid, tick.ask, ev.book.equity, len(changes))
                )
        if newest:
            self._track_offset(newest, now_ms)

    def run_once(self) -> None:
        guard = self._guard
        assert guard is not None, "start() first"
        ev = guard.evaluator
        mono = self._clock.monotonic_ns()
        now_ms = self._now_ms()
        guard.sync_with_breaker()
        try:
            if mono >= self._due["account"]:
                self._due["account"] = mono + self.config.feed.account_poll_interval_ms * _MS
                positions = self._gw.positions()
                account = self._gw.account()
                self._watch_new_symbols(positions)
                self._adopt_unknown(positions)
                guard.handle(ev.on_account(account, positions, now_ms))
                if self._gw.epoch != self._reconciled_epoch or mono >= self._due["reconcile"]:
                    self._reconcile(account.equity, mono)
                self._liquidate_if_halted(positions)
            if mono >= self._due["deals"]:
                self._due["deals"] = mono + self.config.feed.deals_poll_interval_ms * _MS
                for deal in self._gw.deals_since(self._last_deal_ms):
                    self._last_deal_ms = max(self._last_deal_ms, deal.time_msc)
                    guard.handle(ev.on_deal(deal, now_ms))
            self._evaluate_ticks(guard, now_ms)
            healthy = True
            if self._blind_since is not None:
                blind_ms = (mono - self._blind_since) / _MS
                self._blind_since = None
                self._sink.emit("broker.reconnected", blind_ms=round(blind_ms, 3))
        except BrokerUnavailable as exc:
            healthy = False
            self._blind(mono, exc)
        guard.handle(ev.on_timer(now_ms, mono))
        guard.persist(now_ns=mono)
        # heartbeat (with the snapshot a reset relies on) and watchdog hear only from a healthy
        # cycle: a blind loop goes quiet, so the engine reads MONITOR_SILENT after
        # heartbeat.timeout_ms instead of trading unwatched until the unreachable grace trips
        if healthy and mono >= self._due["beat"]:
            self._due["beat"] = mono + self.config.heartbeat.interval_ms * _MS
            self._beat()
        if healthy and self._watchdog_ns is not None and mono >= self._due["watchdog"]:
            self._due["watchdog"] = mono + self._watchdog_ns
            notify("WATCHDOG=1", f"STATUS={self._status()}")

    def _blind(self, mono: int, exc: BrokerUnavailable) -> None:
        if self._blind_since is None:
            self._blind_since = mono
            self._sink.emit("broker.disconnected", code=exc.code, error=exc.message)
            return
        blind_s = (mono - self._blind_since) / 1e9
        grace = self.config.broker.unreachable_grace_seconds
        if blind_s >= grace and self.breaker.read().state is not BreakerState.HALTED:
            self.breaker.trip(
                ReasonCode.BROKER_UNREACHABLE,
                f"no broker data for {blind_s:.1f} s (grace {grace} s)",
                evidence={"blind_seconds": f"{blind_s:.3f}", "error": exc.message},
            )

    def _track_offset(self, newest_broker_ms: int, now_ms: int) -> None:
        """Estimate the broker server clock's offset from UTC (newest tick vs our wall clock,
        rounded to 15 min, as server zones are) and say when it disagrees with the config:
        daily resets and tick ages would then be off by that much."""
        estimate = round((newest_broker_ms - now_ms) / _QUARTER_HOUR_MS) * _QUARTER_HOUR_MS // 1000
        if estimate == self._offset_estimate:
            return
        self._offset_estimate = estimate
        configured = self.config.broker.server_utc_offset_seconds
        self._sink.emit(
            "broker.clock_offset",
            estimated_seconds=estimate,
            configured_seconds=configured,
            agrees=estimate == configured,
        )

    def _watch_new_symbols(self, positions: list[Any]) -> None:
        """A position in a symbol outside ``feed.symbols`` is valued too: fetch its spec and
        start polling its ticks (never fail on it: an unvalued position must not blind us)."""
        assert self._guard is not None
        evaluator = self._guard.evaluator
        for symbol in {p.symbol for p in positions} - set(self._cursors):
            if not evaluator.book.knows(symbol):
                evaluator.add_symbol(self._gw.symbol_spec(symbol))
            last = self._gw.call("symbol_info_tick", symbol)
            self._cursors[symbol] = TickCursor(int(last.time_msc))
            self._sink.emit("monitor.symbol_added", symbol=symbol)

    def _adopt_unknown(self, positions: list[Any]) -> None:
        """A position the monitor did not know (opened by hand or by another program) is adopted
        at once — the evaluator values every broker position — and said so."""
        tickets = {p.ticket for p in positions}
        if self._known_tickets is not None:
            for pos in positions:
                if pos.ticket not in self._known_tickets and pos.magic != self.config.engine.magic:
                    self._sink.emit(
                        "risk.position_adopted",
                        ticket=pos.ticket,
                        symbol=pos.symbol,
                        volume=str(pos.volume),
                        magic=pos.magic,
                    )
        self._known_tickets = tickets

    def _reconcile(self, broker_equity: Decimal, mono: int) -> None:
        """Compare the monitor's marked equity with the broker's; a gap beyond tolerance is an
        event with both sides (the broker's balance and positions were adopted already)."""
        assert self._guard is not None
        cfg = self.config.reconciliation
        self._due["reconcile"] = mono + cfg.interval_seconds * 1_000_000_000
        self._reconciled_epoch = self._gw.epoch
        ours = self._guard.evaluator.book.equity_money()
        gap = abs(ours - broker_equity)
        tolerance = abs(broker_equity) * cfg.equity_tolerance_pct / 100
        name = "risk.reconcile_mismatch" if gap > tolerance else "risk.reconciled"
        self._sink.emit(
            name,
            monitor_equity=str(ours),
            broker_equity=str(broker_equity),
            gap=str(gap),
            tolerance_pct=str(cfg.equity_tolerance_pct),
            epoch=self._gw.epoch,
        )

    def _beat(self) -> None:
        assert self._guard is not None
        self._heartbeat.beat()
        snap = self._guard.snapshot(self._clock.now())
        recent = sorted(self._latencies)
        snap.figures.update(
            ticks=str(self.ticks),
            tick_us_p50=f"{recent[len(recent) // 2] / 1000:.1f}" if recent else "-",
            tick_us_p99=f"{recent[int(len(recent) * 0.99)] / 1000:.1f}" if recent else "-",
        )
        write_snapshot(self.state_dir, snap, self.config.paths.file_mode)
        if self._metrics is not None:
            self._metrics.update(self.breaker.read().state, snap)

    def _liquidate_if_halted(self, positions: list[Any]) -> None:
        """Optional flatten-on-halt: close each open position once, every close audited."""
        if not self.config.emergency.auto_liquidation_enabled:
            return
        if self.breaker.read().state is not BreakerState.HALTED:
            self._liquidated.clear()
            return
        for pos in positions:
            if pos.ticket in self._liquidated:
                continue
            self._liquidated.add(pos.ticket)
            close = OrderType.SELL if pos.type == 0 else OrderType.BUY
            request = {
                "action": int(TradeAction.DEAL),
                "symbol": pos.symbol,
                "volume": float(pos.volume),
                "type": int(close),
                "position": pos.ticket,
                "deviation": self.config.engine.deviation_points,
                "magic": self.config.engine.magic,
                "comment": "riskguard liquidation",
            }
            result = self._gw.call("order_send", request)
            self._sink.emit(
                "monitor.liquidation",
                ticket=pos.ticket,
                symbol=pos.symbol,
                volume=str(pos.volume),
                retcode=int(result.retcode),
                ok=result.retcode == TradeRetcode.DONE,
            )

    def _status(self) -> str:
        view = self.breaker.read()
        return f"state={view.state.value} trigger={view.trigger.value} account={self.account}"

    def _now_ms(self) -> int:
        return int(self._clock.now().timestamp() * 1000)
