"""The engine's gate reporting, in process: a PaperTerminal behind a real Gateway, a real
breaker and heartbeat in a temporary state dir, events recorded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from execution.gateway import Gateway
from execution.live_engine import LiveEngine
from execution.paper.terminal import PaperTerminal
from execution.strategy import make_strategy
from risk.circuit_breaker import CircuitBreaker
from risk.clock import SystemClock
from risk.config import RiskConfig, load_config
from risk.heartbeat import HeartbeatWriter
from risk.reason_codes import ReasonCode
from tests.conftest import SHIPPED_CONFIG, RecordingSink


@pytest.fixture
def config(tmp_path: Path) -> RiskConfig:
    env = {"RISKGUARD_STATE_DIR": str(tmp_path / "state"), "RISKGUARD_LOG_DIR": str(tmp_path)}
    return load_config(SHIPPED_CONFIG, env=env)


@pytest.fixture
def terminal() -> PaperTerminal:
    return PaperTerminal(seed=3)


@pytest.fixture
def engine(
    config: RiskConfig, terminal: PaperTerminal, sink: RecordingSink
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
        strategy=make_strategy(config.engine.strategy),
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
