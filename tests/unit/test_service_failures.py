"""A service that fails unexpectedly fails closed: INTERNAL_ERROR on disk, exit 1, even when the
failure is the evidence log's disk filling up. In process: a PaperTerminal behind a real
Gateway, the real RiskMonitor and breaker in a temporary state dir."""

from __future__ import annotations

import errno
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from execution.cli.service_cmd import run_service
from execution.gateway import Gateway
from execution.paper.terminal import PaperTerminal
from execution.risk_monitor import RiskMonitor
from risk.breaker_state import BreakerState
from risk.circuit_breaker import CircuitBreaker
from risk.clock import SystemClock
from risk.config import RiskConfig
from risk.events import NullSink
from tests.conftest import RecordingSink

EXIT_FAILURE = 1


class DiskFillsUp(RecordingSink):
    """Events go through until the monitor has started, then every write fails with ENOSPC."""

    def __init__(self) -> None:
        super().__init__()
        self.full = False

    def emit(self, event: str, /, **fields: Any) -> None:
        if self.full:
            raise OSError(errno.ENOSPC, "No space left on device")
        super().emit(event, **fields)
        self.full = event == "monitor.started"


@pytest.fixture
def gateway(config: RiskConfig) -> Iterator[Gateway]:
    terminal = PaperTerminal(seed=5)
    terminal.push_tick("EURUSD", 1.10000, 1.10010)
    gateway = Gateway(
        terminal, config.broker, allow_real_account=False, currency=config.account.currency
    )
    yield gateway
    gateway.close()


def _on_disk(config: RiskConfig) -> tuple[BreakerState, str]:
    reader = CircuitBreaker.from_config(config, role="test", clock=SystemClock(), sink=NullSink())
    view = reader.read()
    reader.close()
    return view.state, view.trigger.value


def test_monitor_when_evidence_disk_fills_up_then_internal_error_on_disk_and_exit_1(
    config: RiskConfig, gateway: Gateway, capsys: pytest.CaptureFixture[str]
) -> None:
    sink = DiskFillsUp()
    monitor = RiskMonitor(config, gateway=gateway, clock=SystemClock(), sink=sink)

    code = run_service(monitor, gateway, sink, threading.Event(), "monitor")

    assert code == EXIT_FAILURE
    assert _on_disk(config) == (BreakerState.HALTED, "INTERNAL_ERROR")
    said = capsys.readouterr().err
    assert "No space left on device" in said
    assert "breaker.json reads HALTED (INTERNAL_ERROR)" in said  # the trip's own event failed too


class Crashes:
    """A service whose loop raises: the wrapper, not the service, must fail closed."""

    def __init__(self, config: RiskConfig, sink: RecordingSink) -> None:
        self.breaker = CircuitBreaker.from_config(
            config, role="engine", clock=SystemClock(), sink=sink
        )

    def start(self) -> None:
        self.breaker.initialise()

    def run(self, stop: threading.Event) -> None:
        raise ZeroDivisionError("a bug")


def test_service_when_loop_raises_then_internal_error_tripped_with_event_and_exit_1(
    config: RiskConfig, gateway: Gateway, sink: RecordingSink
) -> None:
    service = Crashes(config, sink)

    code = run_service(service, gateway, sink, threading.Event(), "engine")

    assert code == EXIT_FAILURE
    assert _on_disk(config) == (BreakerState.HALTED, "INTERNAL_ERROR")
    tripped = [f for name, f in sink.events if name == "breaker.tripped"]
    assert len(tripped) == 1 and "ZeroDivisionError('a bug')" in tripped[0]["reason"]
    service.breaker.close()
