"""Optional Prometheus ``/metrics`` on loopback (``metrics.listen``): the figures of ``status``.

Updated from the monitor's heartbeat beat, so a stale scrape means a stale monitor.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import CollectorRegistry, Gauge, start_http_server

from risk.breaker_state import BreakerState
from risk.monitor_snapshot import MonitorSnapshot

__all__ = ["Metrics"]

_STATE: Final = {BreakerState.ACTIVE: 0, BreakerState.REDUCING: 1, BreakerState.HALTED: 2}
_LEVEL: Final = {"ok": 0, "warning": 1, "breach": 2}


class Metrics:
    def __init__(self, listen: str) -> None:
        host, _, port = listen.rpartition(":")
        self.registry = CollectorRegistry()
        r = self.registry
        self.breaker = Gauge(
            "riskguard_breaker_state", "0 ACTIVE, 1 REDUCING, 2 HALTED", registry=r
        )
        self.value = Gauge("riskguard_rule_value", "latest value", ["rule"], registry=r)
        self.limit = Gauge("riskguard_rule_limit", "hard limit", ["rule"], registry=r)
        self.level = Gauge(
            "riskguard_rule_level", "0 ok, 1 warning, 2 breach", ["rule"], registry=r
        )
        self.equity = Gauge("riskguard_equity", "marked equity, account currency", registry=r)
        self.ticks = Gauge("riskguard_ticks_total", "ticks evaluated by this monitor", registry=r)
        self.updated = Gauge("riskguard_snapshot_timestamp_seconds", "last update", registry=r)
        start_http_server(int(port), addr=host.strip("[]"), registry=r)

    def update(self, state: BreakerState, snap: MonitorSnapshot) -> None:
        self.breaker.set(_STATE[state])
        for code, rule in snap.rules.items():
            self.value.labels(code).set(float(rule.value))
            self.limit.labels(code).set(float(rule.limit))
            self.level.labels(code).set(_LEVEL[rule.level])
        self.equity.set(float(snap.figures.get("equity", "nan")))
        self.ticks.set(float(snap.figures.get("ticks", "0")))
        self.updated.set(snap.taken_at().timestamp())
