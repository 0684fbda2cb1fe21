"""Latency: tick processing time, a stale feed inside trading hours, tick age vs broker clock.

Each has a warning and a hard level: processing time has both configured; the stale feed and the
tick age warn at half their hard limit.
"""

from __future__ import annotations

from risk.config.schema import LatencyConfig
from risk.levels import Band, action_for
from risk.reason_codes import ReasonCode

__all__ = ["FeedStaleRule", "TickAgeRule", "TickLatencyRule"]


class TickLatencyRule:
    code = ReasonCode.TICK_LATENCY
    unit = "ms"

    def __init__(self, cfg: LatencyConfig) -> None:
        self.enabled = cfg.enabled
        self.action = action_for(cfg.action)
        # in nanoseconds, so the hot path compares integers
        self.band = Band(
            cfg.tick_processing_warning_ms * 1_000_000, cfg.tick_processing_timeout_ms * 1_000_000
        )


class FeedStaleRule:
    code = ReasonCode.FEED_STALE
    unit = "ms"

    def __init__(self, cfg: LatencyConfig) -> None:
        self.enabled = cfg.enabled
        self.action = action_for(cfg.action)
        limit_ns = cfg.stale_feed_seconds * 1_000_000_000
        self.band = Band(limit_ns // 2, limit_ns)


class TickAgeRule:
    code = ReasonCode.TICK_AGE
    unit = "ms"

    def __init__(self, cfg: LatencyConfig) -> None:
        self.enabled = cfg.enabled
        self.action = action_for(cfg.action)
        self.band = Band(cfg.max_tick_age_ms // 2, cfg.max_tick_age_ms)
