"""Leverage (gross notional / equity) and margin level (equity / margin × 100)."""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from risk.config.schema import LeverageConfig, MarginConfig
from risk.levels import Band, action_for
from risk.reason_codes import ReasonCode
from risk.units import RATIO_SCALE, ratio_units

__all__ = ["UNBOUNDED", "LeverageRule", "MarginLevelRule"]

#: leverage of a book with no equity left, and the (negated) margin level while flat
UNBOUNDED: Final = 10**30
_PERCENT_UNITS: Final = 100 * RATIO_SCALE  # one multiplication of a big int, not two


class LeverageRule:
    code = ReasonCode.LEVERAGE
    unit = "x"

    def __init__(self, cfg: LeverageConfig) -> None:
        self.enabled = cfg.enabled
        self.band = Band(ratio_units(cfg.warning), ratio_units(cfg.limit))
        self.action = action_for(cfg.action)

    @staticmethod
    def value(gross_notional: int, equity: int) -> int:
        """Leverage in 1e-6 units, floored: exact against limits with ≤ 6 decimals."""
        if gross_notional <= 0:
            return 0
        if equity <= 0:
            return UNBOUNDED
        return gross_notional * RATIO_SCALE // equity


class MarginLevelRule:
    """Lower is worse. Ignored while no margin is in use (margin level 0 means "flat").

    Warn at margin call + ``warning_buffer_pct``; trip at stop-out + ``trip_buffer_pct``. With
    ``use_broker_levels`` the account's own margin call / stop-out levels replace the configured
    ones when the broker reports them (non-zero).
    """

    code = ReasonCode.MARGIN_LEVEL
    unit = "%"

    def __init__(self, cfg: MarginConfig) -> None:
        self.enabled = cfg.enabled
        self.action = action_for(cfg.action)
        self._cfg = cfg
        warn, trip = self._levels(cfg.margin_call_pct, cfg.stop_out_pct)
        self.band = Band(-warn, -trip)  # negated: a Band classifies "higher is worse"

    def _levels(self, margin_call: Decimal, stop_out: Decimal) -> tuple[int, int]:
        cfg = self._cfg
        return (
            ratio_units(margin_call + cfg.warning_buffer_pct),
            ratio_units(stop_out + cfg.trip_buffer_pct),
        )

    def adopt_broker_levels(self, margin_call: Decimal, stop_out: Decimal) -> None:
        cfg = self._cfg
        usable = margin_call > 0 and stop_out > 0
        consistent = stop_out + cfg.trip_buffer_pct < margin_call + cfg.warning_buffer_pct
        if cfg.use_broker_levels and usable and consistent:
            warn, trip = self._levels(margin_call, stop_out)
            self.band.set(-warn, -trip)

    @staticmethod
    def value(equity: int, margin: int) -> int:
        """Negated margin level in 1e-6 %, rounded up before negating: exact at the limit.

        No margin in use (flat) is as far from a breach as it gets.
        """
        if margin <= 0:
            return -UNBOUNDED
        return (-equity * _PERCENT_UNITS) // margin
