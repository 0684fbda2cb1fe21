"""Shared pytest fixtures: real state dirs, an injected clock, a recording event sink, the config.

The real-Kafka fixtures (kafka_bootstrap, kafka_broker) come from tests.support.kafka_broker.
"""

from __future__ import annotations

import os
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from risk.circuit_breaker import CircuitBreaker
from risk.clock import ManualClock
from risk.config import RiskConfig, load_config

pytest_plugins = ["tests.support.kafka_broker"]

REPO = Path(__file__).resolve().parent.parent
SHIPPED_CONFIG = REPO / "config" / "risk_limits.yaml"


class RecordingSink:
    """An EventSink that keeps every event for assertions."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def emit(self, event: str, /, **fields: Any) -> None:
        self.events.append((event, fields))

    def names(self) -> list[str]:
        return [name for name, _ in self.events]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def shipped_config() -> RiskConfig:
    return load_config(SHIPPED_CONFIG, env={})


@pytest.fixture
def breaker(state_dir: Path, clock: ManualClock, sink: RecordingSink) -> CircuitBreaker:
    cb = CircuitBreaker(
        state_dir, role="test", clock=clock, sink=sink, history_limit=5, heartbeat_timeout_ms=3000
    )
    cb.initialise()
    return cb


def pytest_configure(config: pytest.Config) -> None:
    """Temp dirs under ./var (state dirs must not live under /tmp), one per session, so that
    concurrent pytest sessions never wipe each other's directories."""
    if config.option.basetemp is None:
        (REPO / "var").mkdir(exist_ok=True)  # a fresh clone has no var/ yet
        config.option.basetemp = str(REPO / "var" / f"pytest-{os.getpid()}")


def pytest_unconfigure(config: pytest.Config) -> None:
    basetemp = config.option.basetemp
    if basetemp and Path(basetemp).name == f"pytest-{os.getpid()}":
        shutil.rmtree(basetemp, ignore_errors=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under `make test` (RISKGUARD_FORBID_SKIPS=1) a skipped test fails the run."""
    if os.environ.get("RISKGUARD_FORBID_SKIPS") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped:
        for report in skipped:
            sys.stderr.write(f"FORBIDDEN SKIP: {report.nodeid}: {report.longrepr}\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
