"""Market requests: parse, validate, price and preview, before the terminal books anything.

Only ``TRADE_ACTION_DEAL`` with ``ORDER_TYPE_BUY``/``SELL`` is simulated. Without ``position`` a
request opens a new position (hedging account); with ``position`` it closes that position, or part
of it. A request ``price`` above 0 makes it an instant-execution order: a fill further than
``deviation`` points from it is refused with ``REQUOTE``; price 0 is market execution.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from execution.mt5.constants import OrderType, PositionType, TradeAction, TradeRetcode
from execution.mt5.types import TradeRequest
from execution.paper.accounting import Quote, Summary, summarise
from execution.paper.ledger import Ledger, OpenPosition
from execution.paper.settings import SymbolSettings

__all__ = [
    "Plan",
    "Refusal",
    "fill_price",
    "outside_deviation",
    "parse_request",
    "plan_request",
    "preview",
]

_INT_FIELDS = frozenset(
    {"action", "magic", "order", "deviation", "type", "type_filling", "type_time", "expiration"}
    | {"position", "position_by"}
)
_FLOAT_FIELDS = frozenset({"volume", "price", "stoplimit", "sl", "tp"})
_STR_FIELDS = frozenset({"symbol", "comment"})


@dataclass(frozen=True, slots=True)
class Plan:
    """An accepted market request: open a new position, or close (part of) ``position``."""

    request: TradeRequest
    symbol: SymbolSettings
    side: PositionType
    volume: Decimal
    position: OpenPosition | None


@dataclass(frozen=True, slots=True)
class Refusal:
    retcode: TradeRetcode
    comment: str


def parse_request(request: object) -> TradeRequest:
    """The request dict as a ``TradeRequest``; ``ValueError`` is MT5's "Invalid params"."""
    if not isinstance(request, Mapping):
        raise ValueError("request must be a dict")
    fields: dict[str, Any] = dict(request)
    for name, value in fields.items():
        if name in _INT_FIELDS and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(f"{name} must be an int")
        if name in _FLOAT_FIELDS and (
            isinstance(value, bool) or not isinstance(value, int | float)
        ):
            raise ValueError(f"{name} must be a number")
        if name in _STR_FIELDS and not isinstance(value, str):
            raise ValueError(f"{name} must be a str")
    return TradeRequest.from_dict(fields)


def _volume(value: float) -> Decimal | None:
    try:
        vol = Decimal(repr(value))
    except InvalidOperation:
        return None
    return vol if vol.is_finite() else None


def plan_request(
    req: TradeRequest,
    symbols: Mapping[str, SymbolSettings],
    positions: Mapping[int, OpenPosition],
    quotes: Mapping[str, Quote],
) -> Plan | Refusal:
    if req.action != TradeAction.DEAL:
        return Refusal(TradeRetcode.INVALID, "Unsupported trade action (paper: DEAL only)")
    symbol = symbols.get(req.symbol)
    if symbol is None:
        return Refusal(TradeRetcode.INVALID, f"Unknown symbol {req.symbol!r}")
    if req.type not in (OrderType.BUY, OrderType.SELL):
        return Refusal(TradeRetcode.INVALID, "Unsupported order type (paper: BUY/SELL only)")
    side = PositionType(req.type)
    vol = _volume(req.volume)
    if (
        vol is None
        or not symbol.volume_min <= vol <= symbol.volume_max
        or vol % symbol.volume_step != 0
    ):
        return Refusal(TradeRetcode.INVALID_VOLUME, "Invalid volume")
    if req.symbol not in quotes:
        return Refusal(TradeRetcode.PRICE_OFF, "No prices")
    position = None
    if req.position:
        position = positions.get(req.position)
        if position is None:
            return Refusal(TradeRetcode.POSITION_CLOSED, "Position doesn't exist")
        if position.symbol.name != symbol.name or position.type is side:
            return Refusal(TradeRetcode.INVALID, "Close must be the opposite side, same symbol")
        if vol > position.volume:
            return Refusal(TradeRetcode.INVALID_CLOSE_VOLUME, "Volume above position volume")
    return Plan(req, symbol, side, vol, position)


def fill_price(plan: Plan, quote: Quote, slip_points: int) -> Decimal:
    """Buy at the ask, sell at the bid, ``slip_points`` against the trader."""
    slip = plan.symbol.point * slip_points
    return quote.ask + slip if plan.side is PositionType.BUY else quote.bid - slip


def outside_deviation(plan: Plan, price: Decimal) -> bool:
    req = plan.request
    if req.price <= 0:
        return False
    return abs(price - Decimal(repr(req.price))) > plan.symbol.point * max(0, req.deviation)


def preview(
    ledger: Ledger, plan: Plan, price: Decimal, quotes: Mapping[str, Quote], now_msc: int
) -> Summary:
    """The account as it would be right after the trade (``order_check``; the margin test)."""
    holdings = {t: p.holding() for t, p in ledger.positions.items()}
    balance = ledger.balance
    quote = quotes[plan.symbol.name]
    if plan.position is None:
        balance += ledger.commission(plan.symbol, plan.volume)
        new = OpenPosition(
            0, plan.symbol, plan.side, plan.volume, price, now_msc, now_msc, 0, 0, ""
        ).holding()
        holdings[0] = new
    else:
        pos = plan.position
        balance += sum(ledger.realised(pos, plan.volume, price, quote, now_msc))
        remaining = pos.volume - plan.volume
        if remaining:
            holdings[pos.ticket] = replace(holdings[pos.ticket], volume=remaining)
        else:
            del holdings[pos.ticket]
    s = ledger.settings
    return summarise(
        balance,
        holdings.values(),
        quotes,
        account_currency=s.currency,
        leverage=s.leverage,
        now_msc=now_msc,
    )
