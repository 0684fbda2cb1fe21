"""Flash-crash velocity: equity falls by X % within Y seconds, measured on the tick clock.

The peak over the window is kept in 100 ms buckets as a monotonic deque: memory is bounded by the
window (≤ window/100 ms entries) and each tick costs O(1) amortised.
"""

from __future__ import annotations

from collections import deque

from risk.config.schema import VelocityConfig
from risk.levels import Band, action_for
from risk.reason_codes import ReasonCode
from risk.rules.fall import set_fall_band

__all__ = ["VelocityRule", "WindowPeak"]

BUCKET_MS = 100


class WindowPeak:
    """Highest equity (integer units) seen within the last ``window_ms`` of tick time."""

    def __init__(self, window_ms: int) -> None:
        self._window_buckets = max(1, window_ms // BUCKET_MS)
        self._buckets: deque[tuple[int, int]] = deque()

    def update(self, utc_ms: int, equity: int) -> int:
        bucket = utc_ms // BUCKET_MS
        buckets = self._buckets
        while buckets and buckets[-1][1] <= equity:
            buckets.pop()
        if not buckets or buckets[-1][0] != bucket:
            buckets.append((bucket, equity))
        horizon = bucket - self._window_buckets
        while buckets[0][0] < horizon:
            buckets.popleft()
        return buckets[0][1]

    def clear(self) -> None:
        self._buckets.clear()


class VelocityRule:
    code = ReasonCode.VELOCITY
    unit = "%"

    def __init__(self, cfg: VelocityConfig) -> None:
        self.enabled = cfg.enabled
        self.window_ms = cfg.window_seconds * 1000
        self.action = action_for(cfg.action)
        self.warning, self.limit = cfg.warning_pct, cfg.limit_pct
        self.band = Band(0, 1)
        self.peak = 0
        self.rearm(0)

    def rearm(self, peak: int) -> None:
        self.peak = peak
        set_fall_band(self.band, peak, peak, self.warning, self.limit)
