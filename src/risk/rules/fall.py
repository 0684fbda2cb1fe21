"""Shared maths for "equity fell from a reference" rules (drawdown, daily loss, velocity).

A fall of ``pct`` % of ``basis`` below ``reference`` is reached when
``equity <= reference - pct·basis/100``; for integer money units that is
``equity <= reference - ceil(pct·basis/100)``. The band classifies ``-equity`` (higher is worse),
so one integer comparison per level decides, and a limit reached exactly trips.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Final

from risk.levels import HYSTERESIS, Band

__all__ = ["fall_pct", "set_fall_band"]

_NEVER: Final = 10**40  # thresholds no equity can reach: used while the reference is not positive


@lru_cache(maxsize=64)
def _ratio(pct: Decimal) -> tuple[int, int]:
    """``pct``/100 as an exact integer fraction (re-arming runs on many ticks: no Decimal)."""
    num, den = pct.as_integer_ratio()
    return num, den * 100


def _threshold(reference: int, basis: int, pct: Decimal) -> int:
    num, den = _ratio(pct)
    return reference + (-num * basis) // den  # reference - ceil(pct·basis/100), exactly


@lru_cache(maxsize=64)
def _release_pct(warning: Decimal) -> Decimal:
    return warning * (1 - HYSTERESIS)


def set_fall_band(band: Band, reference: int, basis: int, warning: Decimal, limit: Decimal) -> None:
    if reference <= 0 or basis <= 0:
        band.set(_NEVER, _NEVER + 1)
        return
    warn_at = _threshold(reference, basis, warning)
    trip_at = _threshold(reference, basis, limit)
    release_at = _threshold(reference, basis, _release_pct(warning))
    if warn_at <= trip_at:  # a basis so small that both round to the same unit
        warn_at = trip_at + 1
    band.set(-warn_at, -trip_at, release=-max(release_at, warn_at))


def fall_pct(reference: int, basis: int, equity: int) -> Decimal:
    """The fall as an exact percentage of ``basis`` (0 when not below the reference)."""
    if basis <= 0 or equity >= reference:
        return Decimal(0)
    return Decimal(reference - equity) * 100 / basis
