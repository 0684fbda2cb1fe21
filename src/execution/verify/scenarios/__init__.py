"""Every chaos scenario, in the order ``riskguard verify`` runs them."""

from __future__ import annotations

from typing import Final

from execution.verify.model import Scenario
from execution.verify.scenarios.kafka import KAFKA_OUTAGE
from execution.verify.scenarios.market import (
    BAD_TICKS,
    FAT_FINGER,
    FLASH_CRASH,
    LOSING_STREAK,
    NORMAL,
    STALE_FEED,
    VOLATILITY,
)
from execution.verify.scenarios.processes import (
    CONCURRENT_TRIPS,
    ENGINE_SIGKILL,
    MONITOR_SIGKILL,
    SLOW_STRATEGY,
)
from execution.verify.scenarios.state import CORRUPTED_BREAKER, INVALID_CONFIG, RESET_POLICY

__all__ = ["SCENARIOS", "by_name"]

SCENARIOS: Final[tuple[Scenario, ...]] = (
    NORMAL,
    FLASH_CRASH,
    FAT_FINGER,
    VOLATILITY,
    LOSING_STREAK,
    SLOW_STRATEGY,
    STALE_FEED,
    BAD_TICKS,
    MONITOR_SIGKILL,
    ENGINE_SIGKILL,
    CONCURRENT_TRIPS,
    CORRUPTED_BREAKER,
    INVALID_CONFIG,
    KAFKA_OUTAGE,
    RESET_POLICY,
)


def by_name(names: list[str]) -> list[Scenario]:
    """The named scenarios in run order (all when ``names`` is empty); ``KeyError`` if unknown."""
    known = {s.name: s for s in SCENARIOS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise KeyError(", ".join(unknown))
    wanted = set(names)
    return [s for s in SCENARIOS if not wanted or s.name in wanted]
