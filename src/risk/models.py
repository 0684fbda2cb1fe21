"""Market and account models. Field names mirror MetaTrader5's named tuples.

Ticks stay as the broker's floats (validated by ``rules.data_quality`` before any arithmetic and
then turned into integer points); account, positions and deals carry exact ``Decimal`` money,
converted once at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from typing import NamedTuple

__all__ = [
    "AccountSnapshot",
    "Deal",
    "DealEntry",
    "DealType",
    "Position",
    "PositionType",
    "SymbolSpec",
    "Tick",
]


class Tick(NamedTuple):
    """``symbol_info_tick`` / ``copy_ticks_*`` row plus the symbol. Times are broker-server ms."""

    symbol: str
    bid: float
    ask: float
    last: float
    volume: int
    time_msc: int
    flags: int


class PositionType(IntEnum):
    BUY = 0
    SELL = 1


class DealType(IntEnum):
    BUY = 0
    SELL = 1
    BALANCE = 2
    CREDIT = 3
    CHARGE = 4
    CORRECTION = 5
    BONUS = 6
    COMMISSION = 7


class DealEntry(IntEnum):
    IN = 0
    OUT = 1
    INOUT = 2
    OUT_BY = 3


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """What the maths needs from ``symbol_info``: a point is ``10**-digits``.

    ``tick_value`` is the account-currency value of one ``tick_size`` move for one lot.
    """

    name: str
    digits: int
    contract_size: Decimal
    tick_size: Decimal
    tick_value: Decimal
    volume_step: Decimal = Decimal("0.01")

    @property
    def point(self) -> Decimal:
        return Decimal(1).scaleb(-self.digits)

    @property
    def value_per_point(self) -> Decimal:
        """Account currency per point per lot."""
        return self.tick_value * self.point / self.tick_size

    def to_points(self, price: Decimal) -> int:
        return int(price.scaleb(self.digits).to_integral_value())


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    login: int
    trade_mode: int
    leverage: int
    balance: Decimal
    credit: Decimal
    profit: Decimal
    equity: Decimal
    margin: Decimal
    margin_free: Decimal
    margin_level: Decimal
    margin_so_call: Decimal
    margin_so_so: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class Position:
    ticket: int
    symbol: str
    type: PositionType
    volume: Decimal
    price_open: Decimal
    price_current: Decimal
    swap: Decimal
    profit: Decimal
    time_msc: int = 0
    magic: int = 0


@dataclass(frozen=True, slots=True)
class Deal:
    ticket: int
    order: int
    position_id: int
    time_msc: int
    type: DealType
    entry: DealEntry
    volume: Decimal
    price: Decimal
    profit: Decimal
    swap: Decimal
    commission: Decimal
    fee: Decimal
    symbol: str
    magic: int = 0

    @property
    def net(self) -> Decimal:
        """Realised result: profit + swap + commission + fee."""
        return self.profit + self.swap + self.commission + self.fee

    @property
    def is_trade_close(self) -> bool:
        """A closing trade deal (balance operations and openings are not results)."""
        return self.type in (DealType.BUY, DealType.SELL) and self.entry is not DealEntry.IN
