"""The account's books: balance, open positions (hedging), deal history, ticket numbers.

Not thread-safe on its own; the terminal calls it under its lock. The deal history is kept for
the whole session (one balance deal plus two deals per round trip: a few MB per 10k trades).
``state()``/``Ledger.restore`` take and rebuild the books whole (the account file, see
``account_file``); ``on_change`` runs after every mutation (deposit, open, close), still under the
caller's lock, so a persisted copy never lags behind what a client has seen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from execution.mt5.constants import DealEntry, DealType, PositionType
from execution.mt5.types import TradeDeal, TradePosition
from execution.paper.accounting import (
    ZERO,
    Holding,
    Quote,
    Summary,
    holding_profit,
    holding_swap,
    money,
    price_profit,
    summarise,
)
from execution.paper.settings import AccountSettings, SymbolSettings

__all__ = [
    "FIRST_DEAL",
    "FIRST_ORDER",
    "REASON_CLIENT",
    "REASON_EXPERT",
    "REASON_SO",
    "Ledger",
    "LedgerState",
    "OpenPosition",
]

FIRST_ORDER = 100_000_001  # order tickets; a position's ticket is its opening order's
FIRST_DEAL = 50_000_001

# MT5 DEAL_REASON_* / POSITION_REASON_* values (MQL5 docs; not recorded in mt5-api.md).
REASON_CLIENT = 0  # opened by hand in the terminal: our "behind the engine's back" positions
REASON_EXPERT = 3  # opened through the API (order_send)
REASON_SO = 6  # closed by the broker's stop-out


@dataclass(slots=True)
class OpenPosition:
    ticket: int
    symbol: SymbolSettings
    type: PositionType
    volume: Decimal
    price_open: Decimal
    time_msc: int
    time_update_msc: int
    magic: int
    reason: int
    comment: str

    def holding(self, volume: Decimal | None = None) -> Holding:
        vol = self.volume if volume is None else volume
        return Holding(self.symbol, self.type, vol, self.price_open, self.time_msc)


@dataclass(frozen=True, slots=True)
class LedgerState:
    """The books, whole: what an account file holds (positions by ticket, deals oldest first).

    ``next_order``/``next_deal`` are the next tickets to hand out; a restore continues from them,
    so no ticket is ever issued twice for the account.
    """

    balance: Decimal
    positions: tuple[OpenPosition, ...]
    deals: tuple[TradeDeal, ...]
    next_order: int
    next_deal: int


class Ledger:
    def __init__(self, settings: AccountSettings, now_msc: int) -> None:
        self.settings = settings
        self.balance = ZERO
        self.positions: dict[int, OpenPosition] = {}
        self.deals: list[TradeDeal] = []
        self._next_order = FIRST_ORDER
        self._next_deal = FIRST_DEAL
        self.on_change: Callable[[], None] | None = None
        if settings.balance:
            self.deposit(settings.balance, now_msc)

    @classmethod
    def restore(cls, settings: AccountSettings, state: LedgerState) -> Ledger:
        """The books as ``state`` left them (no opening deposit: that is in its history)."""
        ledger = cls(replace(settings, balance=ZERO), 0)
        ledger.settings = settings
        ledger.balance = state.balance
        ledger.positions = {p.ticket: replace(p) for p in state.positions}
        ledger.deals = list(state.deals)
        ledger._next_order = state.next_order
        ledger._next_deal = state.next_deal
        return ledger

    def state(self) -> LedgerState:
        """A copy of the books (positions copied: the ledger mutates its own in place)."""
        return LedgerState(
            self.balance,
            tuple(replace(p) for p in self.positions.values()),
            tuple(self.deals),
            self._next_order,
            self._next_deal,
        )

    def next_order(self) -> int:
        order = self._next_order
        self._next_order += 1
        return order

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def summary(self, quotes: Mapping[str, Quote], now_msc: int) -> Summary:
        s = self.settings
        return summarise(
            self.balance,
            (p.holding() for p in self.positions.values()),
            quotes,
            account_currency=s.currency,
            leverage=s.leverage,
            now_msc=now_msc,
        )

    def deposit(self, amount: Decimal, now_msc: int, comment: str = "Deposit") -> TradeDeal:
        """A balance operation (``DEAL_TYPE_BALANCE``); negative for a withdrawal."""
        amount = money(amount)
        self.balance += amount
        deal = self._deal(
            self.next_order(), now_msc, DealType.BALANCE, DealEntry.IN, 0, 0, REASON_CLIENT,
            ZERO, ZERO, ZERO, ZERO, amount, "", comment,
        )  # fmt: skip
        self._changed()
        return deal

    def open(
        self,
        symbol: SymbolSettings,
        side: PositionType,
        volume: Decimal,
        price: Decimal,
        now_msc: int,
        *,
        order: int,
        magic: int,
        comment: str,
        reason: int,
    ) -> tuple[TradeDeal, OpenPosition]:
        """Open a new position (hedging: never nets against an existing one)."""
        commission = self.commission(symbol, volume)
        self.balance += commission
        pos = OpenPosition(
            order, symbol, side, volume, price, now_msc, now_msc, magic, reason, comment
        )
        self.positions[order] = pos
        deal = self._deal(
            order, now_msc, DealType(int(side)), DealEntry.IN, magic, order, reason,
            volume, price, commission, ZERO, ZERO, symbol.name, comment,
        )  # fmt: skip
        self._changed()
        return deal, pos

    def close(
        self,
        pos: OpenPosition,
        volume: Decimal,
        price: Decimal,
        quote: Quote,
        now_msc: int,
        *,
        order: int,
        magic: int,
        comment: str,
        reason: int,
    ) -> TradeDeal:
        """Close ``volume`` of ``pos`` at ``price``; the OUT deal has profit, swap, commission."""
        profit, swap, commission = self.realised(pos, volume, price, quote, now_msc)
        self.balance += profit + swap + commission
        if volume >= pos.volume:
            del self.positions[pos.ticket]
        else:
            pos.volume -= volume
            pos.time_update_msc = now_msc
        deal_type = DealType.SELL if pos.type is PositionType.BUY else DealType.BUY
        deal = self._deal(
            order, now_msc, deal_type, DealEntry.OUT, magic, pos.ticket, reason,
            volume, price, commission, swap, profit, pos.symbol.name, comment,
        )  # fmt: skip
        self._changed()
        return deal

    def realised(
        self, pos: OpenPosition, volume: Decimal, price: Decimal, quote: Quote, now_msc: int
    ) -> tuple[Decimal, Decimal, Decimal]:
        """(profit, swap, commission) of closing ``volume`` of ``pos`` at ``price``."""
        part = pos.holding(volume)
        profit = price_profit(part, self.settings.currency, price, quote.bid)
        return profit, holding_swap(part, now_msc), self.commission(pos.symbol, volume)

    @staticmethod
    def commission(symbol: SymbolSettings, volume: Decimal) -> Decimal:
        return money(-symbol.commission_per_lot * volume)

    def view(self, pos: OpenPosition, quote: Quote, now_msc: int) -> TradePosition:
        """The position as ``positions_get`` reports it, valued at ``quote``."""
        current = quote.bid if pos.type is PositionType.BUY else quote.ask
        h = pos.holding()
        return TradePosition(
            ticket=pos.ticket,
            time=pos.time_msc // 1000,
            time_msc=pos.time_msc,
            time_update=pos.time_update_msc // 1000,
            time_update_msc=pos.time_update_msc,
            type=int(pos.type),
            magic=pos.magic,
            identifier=pos.ticket,
            reason=pos.reason,
            volume=float(pos.volume),
            price_open=float(pos.price_open),
            sl=0.0,
            tp=0.0,
            price_current=float(current),
            swap=float(holding_swap(h, now_msc)),
            profit=float(holding_profit(h, self.settings.currency, quote)),
            symbol=pos.symbol.name,
            comment=pos.comment,
            external_id="",
        )

    def _deal(
        self,
        order: int,
        now_msc: int,
        deal_type: DealType,
        entry: DealEntry,
        magic: int,
        position_id: int,
        reason: int,
        volume: Decimal,
        price: Decimal,
        commission: Decimal,
        swap: Decimal,
        profit: Decimal,
        symbol: str,
        comment: str,
    ) -> TradeDeal:
        ticket = self._next_deal
        self._next_deal += 1
        deal = TradeDeal(
            ticket=ticket,
            order=order,
            time=now_msc // 1000,
            time_msc=now_msc,
            type=int(deal_type),
            entry=int(entry),
            magic=magic,
            position_id=position_id,
            reason=reason,
            volume=float(volume),
            price=float(price),
            commission=float(commission),
            swap=float(swap),
            profit=float(profit),
            fee=0.0,
            symbol=symbol,
            comment=comment,
            external_id="",
        )
        self.deals.append(deal)
        return deal
