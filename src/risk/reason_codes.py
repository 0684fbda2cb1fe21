"""Machine-readable reason codes: why the breaker moved, why an order was denied."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ReasonCode"]


class ReasonCode(StrEnum):
    # rules (risk/rules/)
    DRAWDOWN = "DRAWDOWN"
    DAILY_LOSS = "DAILY_LOSS"
    LEVERAGE = "LEVERAGE"
    MARGIN_LEVEL = "MARGIN_LEVEL"
    TICK_LATENCY = "TICK_LATENCY"
    FEED_STALE = "FEED_STALE"
    TICK_AGE = "TICK_AGE"
    LOSING_STREAK = "LOSING_STREAK"
    OPEN_POSITIONS = "OPEN_POSITIONS"
    LOTS_PER_SYMBOL = "LOTS_PER_SYMBOL"
    TRADES_PER_DAY = "TRADES_PER_DAY"
    OUTSIDE_TRADING_HOURS = "OUTSIDE_TRADING_HOURS"
    BAD_FEED = "BAD_FEED"
    VELOCITY = "VELOCITY"
    # engine and broker
    ORDER_REJECTS = "ORDER_REJECTS"
    BROKER_UNREACHABLE = "BROKER_UNREACHABLE"
    # the breaker itself
    MANUAL_TRIP = "MANUAL_TRIP"
    MANUAL_RESET = "MANUAL_RESET"
    INITIALISED = "INITIALISED"
    BREAKER_UNREADABLE = "BREAKER_UNREADABLE"
    MONITOR_SILENT = "MONITOR_SILENT"
