"""``riskguard monitor`` and ``riskguard engine``: the two long-running services.

SIGTERM/SIGINT stop them cleanly (exit 0, breaker untouched). An unexpected exception trips the
breaker with ``INTERNAL_ERROR`` and exits 1 so systemd restarts the unit; a refused REAL account
or a bad config exits 78 (no restart loop).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import traceback
from typing import Protocol

from execution.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILURE,
    EXIT_OK,
    GIL_SWITCH_INTERVAL_S,
    require_config,
    state_dir,
)
from execution.delivery.service import make_recorder, start_delivery
from execution.gateway import BrokerError, Gateway, RealAccountRefused
from execution.live_engine import LiveEngine
from execution.mt5.backends import load_backend
from execution.risk_monitor import RiskMonitor
from execution.strategy import make_strategy
from risk.circuit_breaker import BreakerWriteError, CircuitBreaker
from risk.clock import SystemClock
from risk.config import RiskConfig
from risk.events import EventSink
from risk.journal import EvidenceLog
from risk.reason_codes import ReasonCode

__all__ = ["add_parser", "effective_config", "run_service"]


class _Service(Protocol):
    breaker: CircuitBreaker

    def start(self) -> None: ...
    def run(self, stop: threading.Event) -> None: ...


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    monitor = sub.add_parser("monitor", help="run the RiskMonitor sidecar")
    monitor.set_defaults(handler=lambda args: _serve(args, "monitor"))
    engine = sub.add_parser("engine", help="run the LiveEngine")
    engine.add_argument("--strategy", help="override engine.strategy (sample_momentum, slow:<ms>)")
    engine.set_defaults(handler=lambda args: _serve(args, "engine"))


def effective_config(args: argparse.Namespace) -> RiskConfig:
    """The config with --state-dir applied (env overrides are applied by the loader)."""
    config = require_config(args)
    directory = state_dir(args, config)
    if directory != config.paths.state_dir:
        paths = config.paths.model_copy(update={"state_dir": directory})
        config = config.model_copy(update={"paths": paths})
    return config


def _serve(args: argparse.Namespace, role: str) -> int:
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    config = effective_config(args)
    clock = SystemClock()
    sink = EvidenceLog.from_config(config, component=role, clock=clock, echo=sys.stdout.buffer)
    sink.configure_process_logging()
    recorder = make_recorder(config) if role == "monitor" else None
    delivery = start_delivery(config, sink, recorder=recorder)  # None when Kafka is unset
    gateway = Gateway(
        load_backend(config.broker),
        config.broker,
        allow_real_account=config.account.allow_real_account,
        currency=config.account.currency,
    )
    service: _Service
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if role == "monitor":
        service = RiskMonitor(config, gateway=gateway, clock=clock, sink=sink, recorder=recorder)
    else:
        try:
            strategy = make_strategy(getattr(args, "strategy", None) or config.engine.strategy)
        except ValueError as exc:
            sys.stderr.write(f"configuration error: engine.strategy: {exc}\n")
            return EXIT_CONFIG
        service = LiveEngine(config, gateway=gateway, clock=clock, sink=sink, strategy=strategy)
    try:
        return run_service(service, gateway, sink, stop, role)
    finally:
        if delivery is not None:
            delivery.stop()  # flush, make the delivered cursor durable


def run_service(
    service: _Service, gateway: Gateway, sink: EventSink, stop: threading.Event, role: str
) -> int:
    """Start and run ``service`` until ``stop``; an unexpected exception trips INTERNAL_ERROR
    (durable before anything else is attempted) and returns 1."""
    try:
        try:
            service.start()
        except RealAccountRefused as exc:
            sys.stderr.write(f"configuration error: {exc}\n")
            return EXIT_CONFIG
        except BrokerError as exc:  # not started: no heartbeat, the engine reads MONITOR_SILENT
            sink.emit("service.start_failed", error=str(exc), role=role)
            sys.stderr.write(f"{role}: could not start: {exc}\n")
            return EXIT_FAILURE
        service.run(stop)
    except Exception as exc:
        sys.stderr.write(traceback.format_exc())
        try:
            service.breaker.trip(ReasonCode.INTERNAL_ERROR, f"{role} crashed: {exc!r}")
        except BreakerWriteError as write_error:
            sys.stderr.write(f"{role}: could not record the trip: {write_error}\n")
        except Exception as trip_error:  # e.g. the trip is on disk but its event hit a full disk
            view = service.breaker.read()
            sys.stderr.write(
                f"{role}: trip INTERNAL_ERROR raised {trip_error!r}; breaker.json reads "
                f"{view.state.value} ({view.trigger.value})\n"
            )
        return EXIT_FAILURE
    finally:
        gateway.close()
    return EXIT_OK
