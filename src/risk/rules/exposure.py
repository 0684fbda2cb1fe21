"""Exposure: open positions, lots per symbol (the largest), trades opened per trading day."""

from __future__ import annotations

from risk.config.schema import ExposureConfig
from risk.levels import Band, action_for
from risk.reason_codes import ReasonCode

__all__ = ["ExposureRules"]


class ExposureRules:
    codes = (ReasonCode.OPEN_POSITIONS, ReasonCode.LOTS_PER_SYMBOL, ReasonCode.TRADES_PER_DAY)

    def __init__(self, cfg: ExposureConfig) -> None:
        self.enabled = cfg.enabled
        self.action = action_for(cfg.action)
        self.open_positions = Band(cfg.open_positions_warning, cfg.open_positions_limit)
        self.lots_per_symbol = Band(cfg.lots_per_symbol_warning, cfg.lots_per_symbol_limit)
        self.trades_per_day = Band(cfg.trades_per_day_warning, cfg.trades_per_day_limit)
