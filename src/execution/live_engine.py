"""The LiveEngine: a strategy behind two gates on the shared breaker and the monitor heartbeat.

Gate 1 runs before the strategy sees a tick; gate 2 right before ``order_send``. ACTIVE lets
orders through, REDUCING only position-reducing ones, HALTED (or a silent monitor, or an
unreadable breaker) nothing. Each denial is an ``engine.order_denied`` event with the reason
code. The engine trips the breaker itself when its own tick processing is too slow and on a run
of rejected or timed-out orders; a symbol whose order was rejected for a non-transient reason is
locked for ``engine.order_cooldown_seconds``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from execution.feed import TickCursor, poll_ticks
from execution.gateway import BrokerError, BrokerUnavailable, Gateway
from execution.mt5.constants import OrderType, TradeAction, TradeRetcode
from execution.strategy import OrderIntent, Strategy
from risk.breaker_state import BreakerState
from risk.circuit_breaker import BreakerWriteError, CircuitBreaker
from risk.clock import Clock
from risk.config import RiskConfig
from risk.events import EventSink
from risk.levels import action_for
from risk.models import Position, PositionType, Tick
from risk.reason_codes import ReasonCode
from risk.rules.data_quality import tick_defect
from risk.rules.trading_hours import TradingHours

__all__ = ["LiveEngine"]

_MS = 1_000_000


class LiveEngine:
    def __init__(
        self,
        config: RiskConfig,
        *,
        gateway: Gateway,
        clock: Clock,
        sink: EventSink,
        strategy: Strategy,
    ) -> None:
        self.config = config
        self._gw, self._clock, self._sink, self._strategy = gateway, clock, sink, strategy
        self.breaker = CircuitBreaker.from_config(
            config,
            role="engine",
            clock=clock,
            sink=sink,
            watch_heartbeat=config.heartbeat.engine_enforces,
        )
        self._hours = TradingHours(config.trading_hours)
        self._timeout_ns = config.latency.tick_processing_timeout_ms * _MS
        self._cursors: dict[str, TickCursor] = {}
        self._positions: list[Position] = []
        self._positions_due = 0
        self._rejects = 0
        self._locked_until: dict[str, int] = {}
        self._last_gate = BreakerState.ACTIVE
        self._disconnected = False
        self._verified_epoch = 0
        self._last_good: dict[str, Tick] = {}
        self.sent = 0
        self.denied = 0

    def start(self) -> None:
        self.breaker.initialise()
        self._gw.connect()
        account = self._gw.account()
        for symbol in self.config.feed.symbols:
            last = self._gw.call("symbol_info_tick", symbol)
            self._cursors[symbol] = TickCursor(int(last.time_msc))
        self._positions = self._gw.positions()
        view = self.breaker.read()
        self._sink.emit(
            "engine.started",
            login=str(account.login),
            breaker=view.state.value,
            strategy=self.config.engine.strategy,
        )

    def run(self, stop: threading.Event) -> None:
        interval = self.config.feed.tick_poll_interval_ms / 1000
        while not stop.is_set():
            started = time.monotonic()
            self.run_once()
            stop.wait(max(0.0, interval - (time.monotonic() - started)))
        self._sink.emit("engine.stopped", sent=self.sent, denied=self.denied)

    def run_once(self) -> None:
        try:
            self._cycle()
        except BrokerUnavailable as exc:  # nothing can be sent anyway; keep polling
            if not self._disconnected:
                self._disconnected = True
                self._sink.emit("broker.disconnected", code=exc.code, error=exc.message)
            return
        if self._disconnected:
            self._disconnected = False
            self._sink.emit("broker.reconnected")

    def _cycle(self) -> None:
        mono = self._clock.monotonic_ns()
        if mono >= self._positions_due:
            self._positions_due = mono + self.config.feed.positions_poll_interval_ms * _MS
            self._positions = self._gw.positions()
        ticks = poll_ticks(self._gw, self._cursors)
        if not ticks:  # a quiet market: still report a gate change within one poll
            gate = self.breaker.gate()
            self._note_gate(gate.state, gate.reason_code, None)
        for tick in ticks:
            if tick_defect(tick, self._last_good.get(tick.symbol)) is not None:
                continue  # a bad tick never reaches the strategy (the monitor counts it)
            self._last_good[tick.symbol] = tick
            received = self._clock.monotonic_ns()
            gate = self.breaker.gate()  # gate 1: before the strategy
            self._note_gate(gate.state, gate.reason_code, tick)
            if gate.state is BreakerState.HALTED:
                continue
            mine = [p for p in self._positions if p.magic == self.config.engine.magic]
            for intent in self._strategy.on_tick(tick, mine):
                self._submit(intent)
            elapsed = self._clock.monotonic_ns() - received
            if self.config.latency.enabled and elapsed > self._timeout_ns:
                self._trip(
                    ReasonCode.TICK_LATENCY,
                    f"engine tick processing {elapsed / _MS:.1f} ms over "
                    f"{self.config.latency.tick_processing_timeout_ms} ms",
                    {"elapsed_ms": f"{elapsed / _MS:.3f}", "symbol": tick.symbol},
                    self.config.latency.action,
                )

    # ------------------------------------------------------------------ orders
    def _submit(self, intent: OrderIntent) -> None:
        gate = self.breaker.gate()  # gate 2: right before order_send
        reduces = self._reduces(intent)
        allowed = gate.allows_reducing if reduces else gate.allows_new_risk
        reason = gate.reason_code
        if allowed and not self._connection_verified():
            allowed, reason = False, ReasonCode.BROKER_UNREACHABLE
        if allowed and not reduces:
            if self._locked_until.get(intent.symbol, 0) > self._clock.monotonic_ns():
                allowed, reason = False, ReasonCode.ORDER_COOLDOWN
            elif not self._hours.is_open(int(self._clock.now().timestamp() * 1000)):
                allowed, reason = False, ReasonCode.OUTSIDE_TRADING_HOURS
        if not allowed:
            self.denied += 1
            self._sink.emit(
                "engine.order_denied",
                reason_code=reason.value,
                state=gate.state.value,
                symbol=intent.symbol,
                side=intent.side,
                volume=str(intent.volume),
                reduces=reduces,
            )
            return
        request = {
            "action": int(TradeAction.DEAL),
            "symbol": intent.symbol,
            "volume": float(intent.volume),
            "type": int(OrderType.BUY if intent.side == "buy" else OrderType.SELL),
            "deviation": self.config.engine.deviation_points,
            "magic": self.config.engine.magic,
            "comment": "riskguard engine",
        }
        if intent.close_ticket is not None:
            request["position"] = intent.close_ticket
        try:
            result = self._gw.call("order_send", request)
            retcode = int(result.retcode)
        except BrokerError as exc:
            retcode = int(TradeRetcode.TIMEOUT) if exc.code <= -10000 else int(TradeRetcode.ERROR)
        self.sent += 1
        self._sink.emit(
            "engine.order_sent",
            symbol=intent.symbol,
            side=intent.side,
            volume=str(intent.volume),
            retcode=retcode,
            reduces=reduces,
        )
        if intent.close_ticket is not None and retcode == TradeRetcode.DONE:
            # closed: never offer it to the strategy again before positions are re-read
            self._positions = [p for p in self._positions if p.ticket != intent.close_ticket]
        self._after_send(intent, retcode)

    def _connection_verified(self) -> bool:
        """Never send on a connection that came back without re-reading account and positions
        (the broker may have changed either while we were blind)."""
        if self._gw.epoch == self._verified_epoch:
            return True
        try:
            self._gw.account()
            self._positions = self._gw.positions()
        except BrokerError as exc:
            self._sink.emit("engine.reverify_failed", error=str(exc))
            return False
        self._verified_epoch = self._gw.epoch
        self._sink.emit("engine.connection_verified", epoch=self._verified_epoch)
        return False  # positions changed under the strategy: decide again on the next tick

    def _after_send(self, intent: OrderIntent, retcode: int) -> None:
        outcome = (
            TradeRetcode(retcode).classify()
            if retcode in TradeRetcode._value2member_map_
            else "terminal"
        )
        if outcome in ("success", "partial"):
            self._rejects = 0
            self._positions_due = 0  # re-read positions before the next decision
            return
        self._rejects += 1
        if outcome == "terminal":
            until = (
                self._clock.monotonic_ns()
                + self.config.engine.order_cooldown_seconds * 1_000_000_000
            )
            self._locked_until[intent.symbol] = until
            self._sink.emit(
                "engine.symbol_locked",
                symbol=intent.symbol,
                retcode=retcode,
                seconds=self.config.engine.order_cooldown_seconds,
            )
        limit = self.config.engine.max_consecutive_rejects
        if self._rejects >= limit:
            self._trip(
                ReasonCode.ORDER_REJECTS,
                f"{self._rejects} consecutive rejected or timed-out orders (limit {limit})",
                {"rejects": self._rejects, "last_retcode": retcode},
                "HALTED",
            )

    def _trip(
        self, code: ReasonCode, reason: str, evidence: dict[str, object], action: str
    ) -> None:
        try:
            self.breaker.trip(code, reason, evidence=evidence, action=action_for(action))  # type: ignore[arg-type]
        except BreakerWriteError as exc:
            self._sink.emit("engine.trip_failed", reason_code=code.value, error=str(exc))
        self._sink.emit("engine.tripped", reason_code=code.value, reason=reason)

    def _reduces(self, intent: OrderIntent) -> bool:
        """A close counts as reducing only when it closes at most the volume of an open position
        in that symbol from the other side. Anything else (a strategy bug, a ticket already
        closed, a netting account where an oversize close reverses) is judged as new risk, so
        REDUCING and HALTED deny it."""
        if intent.close_ticket is None:
            return False
        for p in self._positions:
            if p.ticket == intent.close_ticket:
                closing = "sell" if p.type is PositionType.BUY else "buy"
                return (
                    p.symbol == intent.symbol
                    and intent.side == closing
                    and (intent.volume <= p.volume)
                )
        return False

    def _note_gate(self, state: BreakerState, reason: ReasonCode, tick: Tick | None) -> None:
        """An event when the gate differs from the last one read, naming the tick that saw it
        (None when it was read in a poll without ticks)."""
        if state is not self._last_gate:
            self._sink.emit(
                "engine.gate_changed",
                state=state.value,
                reason_code=reason.value,
                symbol=tick.symbol if tick is not None else None,
                tick_time_msc=tick.time_msc if tick is not None else None,
            )
            self._last_gate = state

    @property
    def positions(self) -> Sequence[Position]:
        return self._positions
