"""Prometheus /metrics from the real monitor process (metrics.listen on loopback)."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from tests.system.stack import free_port, running_stack, wait_for

pytestmark = [pytest.mark.multiprocess, pytest.mark.slow]


def test_metrics_when_listen_configured_then_breaker_and_rules_are_scraped(tmp_path: Path) -> None:
    """The same figures as `riskguard status`: breaker state, per-rule value/limit, equity."""
    port = free_port()
    with running_stack(tmp_path, {"  listen: null": f'  listen: "127.0.0.1:{port}"'}) as stack:
        stack.start_paper("normal")
        stack.start_monitor()

        def scrape() -> str:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1) as r:
                    body: str = r.read().decode()
            except OSError:
                return ""
            return body if "riskguard_rule_limit" in body else ""

        body = wait_for(scrape, 20, "a /metrics scrape with rule figures")
        assert "riskguard_breaker_state 0.0" in body
        assert 'riskguard_rule_limit{rule="DRAWDOWN"} 2.0' in body
        assert 'riskguard_rule_level{rule="LEVERAGE"} 0.0' in body
        equity = next(line for line in body.splitlines() if line.startswith("riskguard_equity "))
        assert 90_000 < float(equity.split()[1]) < 110_000  # 100,000 USD with a 1-lot position
