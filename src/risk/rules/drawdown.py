"""Drawdown: equity below the persisted high-water mark, in percent of that mark."""

from __future__ import annotations

from risk.config.schema import DrawdownConfig
from risk.levels import Band, action_for
from risk.reason_codes import ReasonCode
from risk.rules.fall import set_fall_band

__all__ = ["DrawdownRule"]


class DrawdownRule:
    code = ReasonCode.DRAWDOWN
    unit = "%"

    def __init__(self, cfg: DrawdownConfig) -> None:
        self.enabled = cfg.enabled
        self.action = action_for(cfg.action)
        self.warning, self.limit = cfg.warning_pct, cfg.limit_pct
        self.band = Band(0, 1)
        self.rearm(0)

    def rearm(self, high_water_mark: int) -> None:
        """Thresholds follow the high-water mark (integer money units)."""
        set_fall_band(self.band, high_water_mark, high_water_mark, self.warning, self.limit)
