"""Integer units for the hot path: exact, and an order of magnitude faster than Decimal.

Money is held in units of 10**-10 of the account currency (equity 10**5 → 10**15, comfortably
inside CPython's fast small-int range); ratios (leverage, margin level) in 10**-6. Conversions
from the exact ``Decimal`` values of the edge refuse anything that would round.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

__all__ = ["MONEY_SCALE", "RATIO_SCALE", "from_units", "ratio_units", "to_units"]

MONEY_SCALE: Final = 10**10
RATIO_SCALE: Final = 10**6
_MONEY_EXP: Final = -10


def to_units(amount: Decimal) -> int:
    """Exact money → integer units; raises if ``amount`` has more than 10 decimals."""
    scaled = amount.scaleb(10)
    units = int(scaled)
    if units != scaled:
        raise ValueError(f"{amount} has more precision than the money unit (1e-10)")
    return units


def from_units(units: int) -> Decimal:
    return Decimal(units).scaleb(_MONEY_EXP)


def ratio_units(ratio: Decimal) -> int:
    """A limit such as leverage 5 or margin level 130.5 % in 1e-6 units, exactly."""
    scaled = ratio.scaleb(6)
    units = int(scaled)
    if units != scaled:
        raise ValueError(f"{ratio} has more than 6 decimals")
    return units
