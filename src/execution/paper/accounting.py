"""Account maths, pure and in ``Decimal``: tick value, floating profit, margin, swap, totals.

Conventions (the ones riskguard's own book uses, see ``risk.models``):

* a long is valued at the bid, a short at the ask;
* ``tick_value`` is the account-currency value of one ``tick_size`` move for one lot. It is
  ``tick_size x contract`` when the profit currency is the account currency (EURUSD in USD) and
  ``tick_size x contract / bid`` when the base currency is (USDJPY in USD), so it moves with the
  price; profit is ``(close - open) / tick_size x tick_value x volume`` with the current
  ``tick_value``, which makes a close realise exactly the floating profit shown before it;
* margin is ``volume x contract x (base currency in account currency) / leverage``, where the base
  currency is converted at the position's open price (1 when the base is the account currency);
* money is rounded half-up to cents per position (profit, swap) and per total (margin).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from execution.mt5.constants import PositionType
from execution.paper.settings import SymbolSettings

__all__ = [
    "Holding",
    "Quote",
    "Summary",
    "check_currencies",
    "holding_margin",
    "holding_profit",
    "holding_swap",
    "money",
    "price_profit",
    "rollovers",
    "summarise",
    "tick_value",
]

CENT = Decimal("0.01")
ZERO = Decimal(0)
_DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Quote:
    bid: Decimal
    ask: Decimal


@dataclass(frozen=True, slots=True)
class Holding:
    """What the maths needs of an open position."""

    symbol: SymbolSettings
    type: PositionType
    volume: Decimal
    price_open: Decimal
    time_msc: int


@dataclass(frozen=True, slots=True)
class Summary:
    balance: Decimal
    profit: Decimal
    equity: Decimal
    margin: Decimal
    margin_free: Decimal
    margin_level: Decimal


def money(value: Decimal) -> Decimal:
    """Round half-up to cents; never a negative zero."""
    return value.quantize(CENT, ROUND_HALF_UP) + ZERO


def check_currencies(symbol: SymbolSettings, account_currency: str) -> None:
    if account_currency not in (symbol.currency_base, symbol.currency_profit):
        raise ValueError(
            f"{symbol.name}: neither {symbol.currency_base} nor {symbol.currency_profit} is the "
            f"account currency {account_currency}; cross rates are not simulated"
        )


def tick_value(symbol: SymbolSettings, account_currency: str, bid: Decimal) -> Decimal:
    raw = symbol.tick_size * symbol.contract_size
    if symbol.currency_profit == account_currency:
        return raw
    check_currencies(symbol, account_currency)
    return raw / bid


def price_profit(h: Holding, account_currency: str, price_close: Decimal, bid: Decimal) -> Decimal:
    """Profit of closing ``h`` at ``price_close`` with the tick value at ``bid``, in cents."""
    move = price_close - h.price_open if h.type is PositionType.BUY else h.price_open - price_close
    value = tick_value(h.symbol, account_currency, bid)
    return money(move / h.symbol.tick_size * value * h.volume)


def holding_profit(h: Holding, account_currency: str, quote: Quote) -> Decimal:
    """Floating profit at the quote (long at bid, short at ask), in cents."""
    close = quote.bid if h.type is PositionType.BUY else quote.ask
    return price_profit(h, account_currency, close, quote.bid)


def holding_margin(h: Holding, account_currency: str, leverage: int) -> Decimal:
    """Unrounded margin of one position (see the module docstring)."""
    base_rate = Decimal(1) if h.symbol.currency_base == account_currency else h.price_open
    return h.volume * h.symbol.contract_size * base_rate / leverage


def rollovers(open_msc: int, now_msc: int) -> int:
    """Server-midnight rollovers between two server-time instants."""
    return max(0, now_msc // _DAY_MS - open_msc // _DAY_MS)


def holding_swap(h: Holding, now_msc: int) -> Decimal:
    per_day = (
        h.symbol.swap_long_per_lot_day
        if h.type is PositionType.BUY
        else h.symbol.swap_short_per_lot_day
    )
    if not per_day:
        return ZERO
    return money(per_day * h.volume * rollovers(h.time_msc, now_msc))


def summarise(
    balance: Decimal,
    holdings: Iterable[Holding],
    quotes: Mapping[str, Quote],
    *,
    account_currency: str,
    leverage: int,
    now_msc: int,
) -> Summary:
    """Balance, floating profit (incl. swap), equity, margin, free margin, margin level (%).

    The margin level is 0 when no margin is in use (MT5 reports 0.0, meaning "n/a").
    """
    profit = ZERO
    margin = ZERO
    for h in holdings:
        profit += holding_profit(h, account_currency, quotes[h.symbol.name])
        profit += holding_swap(h, now_msc)
        margin += holding_margin(h, account_currency, leverage)
    margin = money(margin)
    equity = balance + profit
    level = money(equity / margin * 100) if margin else ZERO
    return Summary(balance, profit, equity, margin, equity - margin, level)
