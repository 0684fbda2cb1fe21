"""Daily loss with prop-firm semantics.

The trading day starts at ``reset_time`` in an IANA zone (DST-correct); the baseline taken then is
the balance, the equity or the larger of the two. The loss is tested against equity continuously,
in percent of the initial capital or of the baseline. Optionally the loss from the highest equity
of the trailing 24 h counts too, so a loss just before the reset does not vanish at midnight.
The trading day only moves forward: a wall clock stepped back cannot re-open an old day.
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from risk.config.schema import DailyLossConfig
from risk.levels import Band, action_for
from risk.reason_codes import ReasonCode
from risk.rules.fall import set_fall_band
from risk.units import to_units

__all__ = ["DailyCalendar", "DailyLossRule", "TrailingPeak"]

DAY_MS = 86_400_000
BUCKET_MS = 60_000


class DailyCalendar:
    """Maps UTC instants to trading days for a reset time in a zone."""

    def __init__(self, cfg: DailyLossConfig) -> None:
        self._zone = ZoneInfo(cfg.timezone)
        self._reset = cfg.reset_time

    def trading_day(self, utc_ms: int) -> date:
        local = datetime.fromtimestamp(utc_ms / 1000, tz=UTC).astimezone(self._zone)
        day = local.date()
        return day if local.time() >= self._reset else day - timedelta(days=1)

    def day_start_ms(self, day: date) -> int:
        """The UTC instant the trading day ``day`` starts (a reset time in a DST gap resolves to
        the instant after the gap, as the wall clock shows it)."""
        local = datetime.combine(day, self._reset, tzinfo=self._zone)
        start = int(local.astimezone(UTC).timestamp() * 1000)
        # In a gap fold=0 maps the missing time past the gap's end (fold=1 before its start):
        # search that span for the first instant ``trading_day`` counts as ``day``.
        low = int(local.replace(fold=1).astimezone(UTC).timestamp() * 1000)
        while low < start:
            mid = (low + start) // 2
            if self.trading_day(mid) >= day:
                start = mid
            else:
                low = mid + 1
        return start

    def next_reset_ms(self, day: date) -> int:
        return self.day_start_ms(day + timedelta(days=1))


class TrailingPeak:
    """Highest equity (integer units) over the trailing 24 h in one-minute buckets (≤ 1,441)."""

    def __init__(self) -> None:
        self._buckets: deque[tuple[int, int]] = deque()

    def update(self, utc_ms: int, equity: int) -> int:
        bucket = utc_ms // BUCKET_MS
        buckets = self._buckets
        while buckets and buckets[-1][1] <= equity:  # monotonic: older smaller peaks never matter
            buckets.pop()
        if not buckets or buckets[-1][0] != bucket:
            buckets.append((bucket, equity))
        horizon = bucket - DAY_MS // BUCKET_MS
        while buckets[0][0] <= horizon:
            buckets.popleft()
        return buckets[0][1]


class DailyLossRule:
    code = ReasonCode.DAILY_LOSS
    unit = "%"

    def __init__(self, cfg: DailyLossConfig, initial_capital: Decimal) -> None:
        self.enabled = cfg.enabled
        self.action = action_for(cfg.action)
        self.warning, self.limit = cfg.warning_pct, cfg.limit_pct
        self.rolling = cfg.rolling_24h
        self._basis_is_initial = cfg.limit_basis == "initial_capital"
        self._baseline_kind = cfg.baseline
        self._initial = to_units(initial_capital)
        self.band = Band(0, 1)
        self.reference = 0
        self.basis = 0
        self.rearm(0, None)

    def baseline(self, balance: int, equity: int) -> int:
        """The day's baseline taken at the reset: balance, equity or the larger."""
        if self._baseline_kind == "balance":
            return balance
        if self._baseline_kind == "equity":
            return equity
        return max(balance, equity)

    def rearm(self, baseline: int, trailing_peak: int | None) -> None:
        """The loss is measured from the baseline (or the trailing 24 h peak, if higher)."""
        self.reference = baseline if trailing_peak is None else max(baseline, trailing_peak)
        self.basis = self._initial if self._basis_is_initial else baseline
        set_fall_band(self.band, self.reference, self.basis, self.warning, self.limit)
