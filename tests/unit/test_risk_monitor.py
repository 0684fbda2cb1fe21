"""The RiskMonitor loop in process, on an injected clock: a PaperTerminal behind a real Gateway
(which can be unplugged), the real breaker, heartbeat and rule state in a temporary state dir."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

from execution.gateway import Gateway
from execution.mt5.constants import ResultCode
from execution.paper.settings import AccountSettings
from execution.paper.terminal import PaperTerminal
from execution.risk_monitor import RiskMonitor
from risk.breaker_state import BreakerState, Rebaseline
from risk.circuit_breaker import CircuitBreaker
from risk.clock import ManualClock
from risk.config import RiskConfig
from risk.heartbeat import HEARTBEAT_FILE, HeartbeatReader
from risk.reason_codes import ReasonCode
from risk.rule_state import RuleState, save_rule_state
from risk.rules.daily_loss import DailyCalendar
from risk.units import to_units
from tests.conftest import RecordingSink


class Unplugged:
    """The terminal, or — once ``down`` — an unreachable one (IPC failure on every call)."""

    def __init__(self, terminal: PaperTerminal) -> None:
        self.terminal = terminal
        self.down = False

    def __getattr__(self, name: str) -> Any:
        if self.down and name != "last_error":
            return lambda *args, **kwargs: None
        return getattr(self.terminal, name)

    def last_error(self) -> tuple[int, str]:
        if self.down:
            return int(ResultCode.E_INTERNAL_FAIL_CONNECT), "IPC: terminal not reachable"
        return self.terminal.last_error()


@pytest.fixture
def clock() -> ManualClock:
    """Real wall time and monotonic origin (the gateway's backoff runs on the real clock), moved
    only when a test says so."""
    return ManualClock(datetime.now(UTC), monotonic_ns=time.monotonic_ns())


@contextmanager
def _monitor(
    config: RiskConfig, clock: ManualClock, balance: str = "100000.00"
) -> Iterator[tuple[RiskMonitor, Unplugged]]:
    terminal = PaperTerminal(AccountSettings(balance=Decimal(balance)), clock=clock, seed=7)
    terminal.push_tick("EURUSD", 1.10000, 1.10010)
    plug = Unplugged(terminal)
    gateway = Gateway(plug, config.broker, allow_real_account=False, currency="USD")
    monitor = RiskMonitor(config, gateway=gateway, clock=clock, sink=RecordingSink())
    try:
        yield monitor, plug
    finally:
        gateway.close()
        monitor.breaker.close()


def _beat_mono_ns(config: RiskConfig) -> int:
    body = orjson.loads((config.paths.state_dir / HEARTBEAT_FILE).read_bytes())
    return int(body["mono_ns"])


def test_monitor_when_broker_unreachable_within_grace_then_no_heartbeat_and_engine_reads_silent(
    config: RiskConfig, clock: ManualClock
) -> None:
    """A blind loop is not a healthy one: it must not refresh the dead-man heartbeat (nor the
    snapshot a reset relies on). Within the unreachable grace (10 s) the breaker is not tripped
    yet, so the heartbeat going quiet is the only thing that stops the engine (MONITOR_SILENT
    after heartbeat.timeout_ms = 3 s) while nobody watches the account."""
    with _monitor(config, clock) as (monitor, plug):
        monitor.start()
        started_beat = _beat_mono_ns(config)
        plug.down = True
        for _ in range(8):  # 4 s blind: past the heartbeat timeout, inside the grace
            clock.advance(0.5)
            monitor.run_once()

        assert monitor.breaker.read().state is BreakerState.ACTIVE  # grace not over yet
        assert _beat_mono_ns(config) == started_beat
        reader = HeartbeatReader(config.paths.state_dir, clock=clock, timeout_ms=3000)
        assert not reader.is_fresh()

        time.sleep(0.35)  # past the gateway's first retry time (250 ms + jitter)
        plug.down = False
        clock.advance(0.5)
        monitor.run_once()  # healthy again: the heartbeat resumes
        assert _beat_mono_ns(config) == clock.monotonic_ns()
        assert reader.is_fresh()


def _halted_then_reset_while_monitor_down(
    config: RiskConfig, clock: ManualClock, rebaseline: tuple[Rebaseline, ...]
) -> None:
    """Rule state of a monitor that ran today from a 100,000.00 baseline and mark; a daily-loss
    trip; the operator resets (with --force: no fresh snapshot) while the monitor is down."""
    state_dir = config.paths.state_dir
    today = DailyCalendar(config.daily_loss).trading_day(int(clock.now().timestamp() * 1000))
    anchors = RuleState(
        high_water_mark=Decimal("100000.00"),
        daily_baseline=Decimal("100000.00"),
        trading_day=today.isoformat(),
    )
    breaker = CircuitBreaker.from_config(config, role="cli", clock=clock, sink=RecordingSink())
    breaker.initialise()
    save_rule_state(state_dir, anchors, config.paths.file_mode)
    breaker.trip(ReasonCode.DAILY_LOSS, "daily loss 2 % reached")
    breaker.reset(operator="op", reason="checked the account", rebaseline=rebaseline)
    breaker.close()


def test_monitor_start_when_peak_only_reset_made_while_down_then_daily_loss_still_trips(
    config: RiskConfig, clock: ManualClock
) -> None:
    """Rebaselining is never implied: a reset that re-anchors only the peak must leave the day's
    baseline where it was, so a daily loss still at its limit (98,000.00 from 100,000.00) trips
    again as soon as the monitor sees the account."""
    _halted_then_reset_while_monitor_down(config, clock, ("peak",))
    with _monitor(config, clock, balance="98000.00") as (monitor, _):
        monitor.start()

        ev = monitor._guard.evaluator  # type: ignore[union-attr]
        assert ev.baseline == to_units(Decimal("100000.00"))
        assert ev.hwm == to_units(Decimal("98000.00"))
        view = monitor.breaker.read()
        assert (view.state, view.trigger) == (BreakerState.HALTED, ReasonCode.DAILY_LOSS)


def test_monitor_start_when_daily_reset_made_while_down_then_daily_loss_anchored_at_equity(
    config: RiskConfig, clock: ManualClock
) -> None:
    """--rebaseline-daily re-anchors the day at the account's equity (99,000.00): the equity the
    monitor reads, not the empty book it has before its first snapshot (a zero baseline switches
    the daily-loss rule off for the rest of the day). The peak stays (drawdown 1 %: a warning)."""
    _halted_then_reset_while_monitor_down(config, clock, ("daily",))
    with _monitor(config, clock, balance="99000.00") as (monitor, _):
        monitor.start()

        ev = monitor._guard.evaluator  # type: ignore[union-attr]
        assert ev.baseline == to_units(Decimal("99000.00"))
        assert ev.daily.reference == to_units(Decimal("99000.00"))
        assert ev.hwm == to_units(Decimal("100000.00"))
        assert monitor.breaker.read().state is BreakerState.ACTIVE
        sink = monitor._sink
        assert isinstance(sink, RecordingSink)
        rearmed = [f for name, f in sink.events if name == "risk.rearmed"]
        assert [(f["reset_seq"], Decimal(f["daily_baseline"])) for f in rearmed] == [(2, 99000)]


@pytest.mark.parametrize(
    ("watchdog_s", "warned"), [(10, True), (26, True), (27, False), (30, False)]
)
def test_monitor_start_when_watchdog_would_kill_a_blind_monitor_before_its_grace_then_warns(
    config: RiskConfig,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    watchdog_s: int,
    warned: bool,
) -> None:
    """Shipped grace 10 s, call timeout 2 s, 1 s slack, and the last ping up to half a period old:
    WatchdogSec must exceed WatchdogSec / 2 + 13 s, i.e. 26 s (26 exactly is too short)."""
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    monkeypatch.setenv("WATCHDOG_USEC", str(watchdog_s * 1_000_000))
    with _monitor(config, clock) as (monitor, _):
        monitor.start()
        sink = monitor._sink
        assert isinstance(sink, RecordingSink)
        warnings = [f for name, f in sink.events if name == "monitor.watchdog_too_short"]

    assert bool(warnings) is warned
    if warned:
        assert warnings[0]["needed_seconds"] == watchdog_s / 2 + 2 + 10 + 1
