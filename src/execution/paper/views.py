"""What the terminal hands out: MT5 result tuples built from the books, and the call filters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from execution.mt5.constants import TradeRetcode
from execution.mt5.types import (
    AccountInfo,
    OrderCheckResult,
    OrderSendResult,
    SymbolInfo,
    TradeDeal,
    TradeRequest,
)
from execution.paper.accounting import Quote, Summary, tick_value
from execution.paper.settings import AccountSettings, SymbolSettings
from execution.paper.timeconv import to_msc

__all__ = [
    "account_info",
    "check_result",
    "deal_filter",
    "group_matcher",
    "position_filter",
    "send_done",
    "send_refused",
    "symbol_info",
]

_MARGIN_MODE_RETAIL_HEDGING = 2
_STOPOUT_MODE_PERCENT = 0


def account_info(s: AccountSettings, m: Summary) -> AccountInfo:
    """``profit`` is the floating result including swaps, so ``equity = balance + profit``."""
    return AccountInfo(
        login=s.login,
        trade_mode=int(s.trade_mode),
        leverage=s.leverage,
        limit_orders=200,
        margin_so_mode=_STOPOUT_MODE_PERCENT,
        trade_allowed=True,
        trade_expert=True,
        margin_mode=_MARGIN_MODE_RETAIL_HEDGING,
        currency_digits=2,
        fifo_close=False,
        balance=float(m.balance),
        credit=0.0,
        profit=float(m.profit),
        equity=float(m.equity),
        margin=float(m.margin),
        margin_free=float(m.margin_free),
        margin_level=float(m.margin_level),
        margin_so_call=float(s.margin_so_call),
        margin_so_so=float(s.margin_so_so),
        margin_initial=0.0,
        margin_maintenance=0.0,
        assets=0.0,
        liabilities=0.0,
        commission_blocked=0.0,
        name=s.name,
        server=s.server,
        currency=s.currency,
        company=s.company,
    )


def symbol_info(spec: SymbolSettings, account_currency: str, quote: Quote | None) -> SymbolInfo:
    """Prices are the last valid quote (0.0 before one); so is a price-dependent tick value."""
    value = 0.0
    if quote is not None or spec.currency_profit == account_currency:
        bid = quote.bid if quote is not None else spec.point
        value = float(tick_value(spec, account_currency, bid))
    return SymbolInfo(
        name=spec.name,
        digits=spec.digits,
        point=float(spec.point),
        trade_tick_value=value,
        trade_tick_size=float(spec.tick_size),
        trade_contract_size=float(spec.contract_size),
        volume_min=float(spec.volume_min),
        volume_max=float(spec.volume_max),
        volume_step=float(spec.volume_step),
        currency_base=spec.currency_base,
        currency_profit=spec.currency_profit,
        currency_margin=spec.currency_base,
        bid=float(quote.bid) if quote is not None else 0.0,
        ask=float(quote.ask) if quote is not None else 0.0,
    )


def check_result(retcode: int, comment: str, m: Summary, req: TradeRequest) -> OrderCheckResult:
    return OrderCheckResult(
        retcode=retcode,
        balance=float(m.balance),
        equity=float(m.equity),
        profit=float(m.profit),
        margin=float(m.margin),
        margin_free=float(m.margin_free),
        margin_level=float(m.margin_level),
        comment=comment,
        request=req,
    )


def send_refused(
    retcode: TradeRetcode, comment: str, quote: Quote | None, request_id: int, req: TradeRequest
) -> OrderSendResult:
    bid, ask = (float(quote.bid), float(quote.ask)) if quote is not None else (0.0, 0.0)
    return OrderSendResult(int(retcode), 0, 0, 0.0, 0.0, bid, ask, comment, request_id, 0, req)


def send_done(deal: TradeDeal, quote: Quote, request_id: int, req: TradeRequest) -> OrderSendResult:
    return OrderSendResult(
        retcode=int(TradeRetcode.DONE),
        deal=deal.ticket,
        order=deal.order,
        volume=deal.volume,
        price=deal.price,
        bid=float(quote.bid),
        ask=float(quote.ask),
        comment="Request executed",
        request_id=request_id,
        retcode_external=0,
        request=req,
    )


def group_matcher(group: str) -> Callable[[str], bool]:
    """MT5 ``group``: comma-separated masks with ``*``; ``!mask`` excludes (case-insensitive)."""
    masks = [m.strip().upper() for m in group.split(",") if m.strip()]
    include = [m for m in masks if not m.startswith("!")]
    exclude = [m[1:] for m in masks if m.startswith("!")]

    def matches(symbol: str) -> bool:
        name = symbol.upper()
        return any(fnmatchcase(name, m) for m in include) and not any(
            fnmatchcase(name, m) for m in exclude
        )

    return matches


def _kwargs(kwargs: Mapping[str, Any], types: Mapping[str, type]) -> dict[str, Any]:
    unknown = set(kwargs) - set(types)
    if unknown:
        raise ValueError(f"unknown arguments {sorted(unknown)}")
    for name, value in kwargs.items():
        if isinstance(value, bool) or not isinstance(value, types[name]):
            raise ValueError(f"{name} must be {types[name].__name__}")
    return dict(kwargs)


def position_filter(kwargs: Mapping[str, Any]) -> Callable[[int, str], bool]:
    """``positions_get``/``orders_get`` selection: ``symbol``, else ``ticket``, else ``group``."""
    args = _kwargs(kwargs, {"symbol": str, "group": str, "ticket": int})
    if "symbol" in args:
        symbol: str = args["symbol"]
        return lambda _ticket, sym: sym == symbol
    if "ticket" in args:
        ticket: int = args["ticket"]
        return lambda t, _sym: t == ticket
    if "group" in args:
        matches = group_matcher(args["group"])
        return lambda _ticket, sym: matches(sym)
    return lambda _ticket, _sym: True


def deal_filter(
    date_from: datetime | int | None, date_to: datetime | int | None, kwargs: Mapping[str, Any]
) -> Callable[[TradeDeal], bool]:
    """``history_deals_get``: by ``ticket`` (the deal's order) or ``position`` (dates ignored, as
    in MT5), else deals with time in ``[date_from, date_to]`` (inclusive), optionally ``group``."""
    args = _kwargs(kwargs, {"group": str, "ticket": int, "position": int})
    if "ticket" in args:
        order: int = args["ticket"]
        return lambda d: d.order == order
    if "position" in args:
        position: int = args["position"]
        return lambda d: d.position_id == position
    if date_from is None or date_to is None:
        raise ValueError("date_from and date_to are required without ticket/position")
    start, end = to_msc(date_from, msc=False), to_msc(date_to, end=True, msc=False)
    matches = group_matcher(args["group"]) if "group" in args else None
    return lambda d: start <= d.time_msc <= end and (matches is None or matches(d.symbol))
