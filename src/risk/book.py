"""Mark-to-market: positions valued on every tick, O(1) per tick, in exact integer money units.

For each symbol the book keeps four sums over its positions — longs' and shorts' value per point
(``vpp`` = volume × value-per-point-per-lot, in money units) and their opening values (points ×
vpp) — so floating P/L is ``bid·L − LO + SO − ask·S`` and gross notional ``bid·L + ask·S``:
longs are marked at the bid, shorts at the ask. Equity = balance + credit + Σ swap + Σ floating.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from risk.models import AccountSnapshot, Position, PositionType, SymbolSpec
from risk.units import from_units, to_units

__all__ = ["Book", "UnknownSymbol"]


class UnknownSymbol(KeyError):
    """A position on a symbol without a ``SymbolSpec``: it cannot be valued, so it must not pass."""


@dataclass(slots=True)
class _Side:
    long_vpp: int = 0
    long_open: int = 0
    short_vpp: int = 0
    short_open: int = 0
    lots: Decimal = Decimal(0)
    bid: int = 0
    ask: int = 0
    priced: bool = False
    tickets: list[int] = field(default_factory=list)

    def mark(self) -> int:
        return (
            self.bid * self.long_vpp - self.long_open + self.short_open - self.ask * self.short_vpp
        )

    def notional(self) -> int:
        return self.bid * self.long_vpp + self.ask * self.short_vpp


class Book:
    def __init__(self, specs: Mapping[str, SymbolSpec]) -> None:
        self._specs = dict(specs)
        self._sides: dict[str, _Side] = {}
        self.balance = 0
        self.credit = 0
        self.margin = 0
        self.swap = 0
        self.floating = 0
        self.notional = 0
        self.positions: tuple[Position, ...] = ()

    @property
    def equity(self) -> int:
        return self.balance + self.credit + self.swap + self.floating

    def equity_money(self) -> Decimal:
        return from_units(self.equity)

    def spec(self, symbol: str) -> SymbolSpec:
        try:
            return self._specs[symbol]
        except KeyError:
            raise UnknownSymbol(symbol) from None

    def add_spec(self, spec: SymbolSpec) -> None:
        self._specs[spec.name] = spec

    def knows(self, symbol: str) -> bool:
        return symbol in self._specs

    def set_account(self, account: AccountSnapshot) -> None:
        self.balance = to_units(account.balance)
        self.credit = to_units(account.credit)
        self.margin = to_units(account.margin)

    def set_positions(self, positions: Iterable[Position]) -> None:
        """Adopt the broker's open positions. Symbols already priced keep marking at the last
        tick; a new symbol starts at its positions' ``price_current``."""
        old = self._sides
        self._sides = {
            s: _Side(bid=o.bid, ask=o.ask, priced=True) for s, o in old.items() if o.priced
        }
        self.positions = tuple(positions)
        self.swap = 0
        for pos in self.positions:
            spec = self.spec(pos.symbol)
            side = self._sides.setdefault(pos.symbol, _Side())
            vpp = to_units(pos.volume * spec.value_per_point)
            if not side.priced:
                side.bid = side.ask = spec.to_points(pos.price_current)
            if pos.type is PositionType.BUY:
                side.long_vpp += vpp
                side.long_open += spec.to_points(pos.price_open) * vpp
            else:
                side.short_vpp += vpp
                side.short_open += spec.to_points(pos.price_open) * vpp
            side.lots += pos.volume
            side.tickets.append(pos.ticket)
            self.swap += to_units(pos.swap)
        self.floating = self.notional = 0
        for side in self._sides.values():
            self.floating += side.mark()
            self.notional += side.notional()

    def on_price(self, symbol: str, bid: int, ask: int) -> None:
        """New bid/ask in integer points. O(1): P/L and notional move by the price change times
        the side's value per point — exactly what ``mark``/``notional`` would recompute."""
        side = self._sides.get(symbol)
        if side is None:
            self._sides[symbol] = _Side(bid=bid, ask=ask, priced=True)
            return
        if side.tickets:
            up = (bid - side.bid) * side.long_vpp  # longs are marked at the bid
            down = (ask - side.ask) * side.short_vpp  # shorts at the ask
            self.floating += up - down
            self.notional += up + down
        side.bid, side.ask, side.priced = bid, ask, True

    def lots_by_symbol(self) -> dict[str, Decimal]:
        return {s: side.lots for s, side in self._sides.items() if side.tickets}

    def open_positions(self) -> int:
        return len(self.positions)

    def last_points(self, symbol: str) -> tuple[int, int] | None:
        side = self._sides.get(symbol)
        return (side.bid, side.ask) if side is not None and side.priced else None
