"""The engine's gate reporting, in process: a PaperTerminal behind a real Gateway, a real
breaker and heartbeat in a temporary state dir, events recorded."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal

import pytest

from execution.gateway import Gateway
from execution.live_engine import LiveEngine
from execution.paper.terminal import PaperTerminal
from execution.strategy import OrderIntent
from risk.breaker_state import Action
from risk.circuit_breaker import CircuitBreaker
from risk.clock import SystemClock
from risk.config import RiskConfig
from risk.heartbeat import HeartbeatWriter
from risk.models import Position, PositionType, Tick
from risk.reason_codes import ReasonCode
from tests.conftest import RecordingSink


@pytest.fixture
def terminal() -> PaperTerminal:
    return PaperTerminal(seed=3)


class Scripted:
    """A strategy that sends the intents it is given on the next tick, once."""

    def __init__(self) -> None:
        self.next: list[OrderIntent] = []

    def on_tick(self, tick: Tick, positions: Sequence[Position]) -> Sequence[OrderIntent]:
        out, self.next = self.next, []
        return out


@pytest.fixture
def strategy() -> Scripted:
    return Scripted()


@pytest.fixture
def engine(
    config: RiskConfig, terminal: PaperTerminal, sink: RecordingSink, strategy: Scripted
) -> Iterator[LiveEngine]:
    clock = SystemClock()
    gateway = Gateway(
        terminal, config.broker, allow_real_account=False, currency=config.account.currency
    )
    engine = LiveEngine(
        config,
        gateway=gateway,
        clock=clock,
        sink=sink,
        strategy=strategy,
    )
    terminal.push_tick("EURUSD", 1.10000, 1.10010, time_msc=terminal.server_time_msc() - 50)
    engine.start()
    HeartbeatWriter(config.paths.state_dir, clock=clock, file_mode=0o600).beat()  # a live monitor
    yield engine
    gateway.close()
    engine.breaker.close()


def _gate_events(sink: RecordingSink) -> list[dict[str, object]]:
    return [fields for name, fields in sink.events if name == "engine.gate_changed"]


def _trip_elsewhere(config: RiskConfig) -> None:
    """Another process (the monitor, an operator) trips the shared breaker."""
    other = CircuitBreaker.from_config(
        config, role="cli", clock=SystemClock(), sink=RecordingSink()
    )
    other.trip(ReasonCode.MANUAL_TRIP, "operator kill switch")
    other.close()


def test_quiet_market_when_breaker_trips_then_gate_change_reported_in_the_next_poll(
    engine: LiveEngine, config: RiskConfig, sink: RecordingSink
) -> None:
    engine.run_once()
    assert _gate_events(sink) == []

    _trip_elsewhere(config)
    engine.run_once()  # no tick arrives

    assert _gate_events(sink) == [
        {"state": "HALTED", "reason_code": "MANUAL_TRIP", "symbol": None, "tick_time_msc": None}
    ]
    engine.run_once()
    assert len(_gate_events(sink)) == 1  # a change is reported once


def test_tick_when_breaker_tripped_then_gate_change_names_that_tick(
    engine: LiveEngine, config: RiskConfig, terminal: PaperTerminal, sink: RecordingSink
) -> None:
    engine.run_once()  # takes the quote current at start
    _trip_elsewhere(config)
    tick = terminal.push_tick("EURUSD", 1.10001, 1.10011)

    engine.run_once()

    assert _gate_events(sink) == [
        {
            "state": "HALTED",
            "reason_code": "MANUAL_TRIP",
            "symbol": "EURUSD",
            "tick_time_msc": tick.time_msc,
        }
    ]


def _reduce_only(config: RiskConfig) -> None:
    other = CircuitBreaker.from_config(
        config, role="monitor", clock=SystemClock(), sink=RecordingSink()
    )
    other.trip(ReasonCode.LEVERAGE, "leverage over the limit", action=Action.REDUCE)
    other.close()


@pytest.mark.parametrize(
    ("side", "volume", "ticket_offset", "sent"),
    [
        ("sell", "0.1", 0, True),  # closes the 0.1 buy: reduces
        ("sell", "0.05", 0, True),  # a partial close reduces too
        ("buy", "0.1", 0, False),  # same side: adds risk
        ("sell", "0.2", 0, False),  # oversize: on a netting account it would reverse
        ("sell", "0.1", 999, False),  # no such open position
    ],
)
def test_close_intent_when_reducing_then_allowed_only_if_it_really_reduces(
    engine: LiveEngine,
    config: RiskConfig,
    terminal: PaperTerminal,
    strategy: Scripted,
    sink: RecordingSink,
    side: str,
    volume: str,
    ticket_offset: int,
    sent: bool,
) -> None:
    position = terminal.open_position_directly("EURUSD", PositionType.BUY, 0.1)
    engine.run_once()  # takes the quote current at start
    _reduce_only(config)
    engine._positions_due = 0  # refresh positions on the next cycle
    strategy.next = [
        OrderIntent("EURUSD", side, Decimal(volume), close_ticket=position.ticket + ticket_offset)  # type: ignore[arg-type]
    ]
    terminal.push_tick("EURUSD", 1.10001, 1.10011)

    engine.run_once()

    names = [name for name, _ in sink.events if name.startswith("engine.order_")]
    assert names == (["engine.order_sent"] if sent else ["engine.order_denied"])
    fields = next(f for name, f in sink.events if name.startswith("engine.order_"))
    assert fields["reduces"] is sent
    if not sent:
        assert fields["reason_code"] == "LEVERAGE"
