"""The paper account on disk, so that it survives a restart of the terminal process.

In MT5 the account lives on the broker's server: a terminal restart loses or renumbers nothing.
The paper terminal keeps its books in memory, so with an account file it writes them out after
every mutation (atomic replace, no fsync: the point is surviving a process kill, not a power cut)
and reads them back at start. One JSON object::

    {"format": "riskguard.paper-account", "version": 1, "login": 5001234, "currency": "USD",
     "balance": "99987.50", "next_order": 100000007, "next_deal": 50000006,
     "positions": [{"ticket": 100000002, "symbol": "EURUSD", "type": 0, "volume": "1.00",
                    "price_open": "1.08010", "time_msc": ..., "time_update_msc": ...,
                    "magic": 0, "reason": 0, "comment": "initial book"}],
     "deals": [{...every TradeDeal field...}],
     "quotes": {"EURUSD": {"bid": "1.08000", "ask": "1.08010"}}}

Money, volumes and prices the ledger keeps as ``Decimal`` are strings; a deal is stored field by
field as the ledger holds it (its numbers are already floats, which JSON round-trips exactly).
``quotes`` are the last valid prices at the last save: a restored terminal values its positions
with them until its feed delivers a tick (a server never forgets its prices either).

Anything unreadable or inconsistent (bad JSON, a missing or mistyped field, another login or
currency, an unknown symbol, a ticket at or past the next one to issue) is an
``AccountFileError``: a damaged account must stop the terminal, never become a fresh one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

import orjson

from execution.mt5.constants import PositionType
from execution.mt5.types import TradeDeal
from execution.paper.accounting import Quote
from execution.paper.ledger import LedgerState, OpenPosition
from execution.paper.settings import AccountSettings, SymbolSettings
from risk.durable import atomic_write

__all__ = [
    "FORMAT",
    "VERSION",
    "AccountFileError",
    "SavedAccount",
    "decode",
    "encode",
    "load",
    "save",
]

FORMAT: Final = "riskguard.paper-account"
VERSION: Final = 1
_MODE: Final = 0o640
_DEAL_INTS: Final = (
    "ticket", "order", "time", "time_msc", "type", "entry", "magic", "position_id", "reason",
)  # fmt: skip
_DEAL_FLOATS: Final = ("volume", "price", "commission", "swap", "profit", "fee")
_DEAL_STRS: Final = ("symbol", "comment", "external_id")


class AccountFileError(ValueError):
    """The account file cannot be used: unreadable, damaged, or another account's."""


@dataclass(frozen=True, slots=True)
class SavedAccount:
    ledger: LedgerState
    quotes: dict[str, Quote]


def encode(settings: AccountSettings, state: LedgerState, quotes: Mapping[str, Quote]) -> bytes:
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "login": settings.login,
        "currency": settings.currency,
        "balance": str(state.balance),
        "next_order": state.next_order,
        "next_deal": state.next_deal,
        "positions": [
            {
                "ticket": p.ticket,
                "symbol": p.symbol.name,
                "type": int(p.type),
                "volume": str(p.volume),
                "price_open": str(p.price_open),
                "time_msc": p.time_msc,
                "time_update_msc": p.time_update_msc,
                "magic": p.magic,
                "reason": p.reason,
                "comment": p.comment,
            }
            for p in state.positions
        ],
        "deals": [d._asdict() for d in state.deals],
        "quotes": {s: {"bid": str(q.bid), "ask": str(q.ask)} for s, q in quotes.items()},
    }
    return orjson.dumps(doc)


def save(
    path: Path, settings: AccountSettings, state: LedgerState, quotes: Mapping[str, Quote]
) -> None:
    """Replace ``path`` atomically (a kill mid-write leaves the previous complete file)."""
    atomic_write(path, encode(settings, state, quotes), _MODE, durable=False)


def load(
    path: Path, settings: AccountSettings, symbols: Mapping[str, SymbolSettings]
) -> SavedAccount | None:
    """The saved account, ``None`` if there is no file; ``AccountFileError`` if it is unusable."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AccountFileError(f"account file {path}: cannot read: {exc}") from exc
    try:
        return decode(data, settings, symbols)
    except AccountFileError as exc:
        raise AccountFileError(f"account file {path}: {exc}") from exc


def decode(
    data: bytes, settings: AccountSettings, symbols: Mapping[str, SymbolSettings]
) -> SavedAccount:
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise AccountFileError(f"not JSON ({exc})") from exc
    top = _Fields(doc, "")
    if top.get("format", str) != FORMAT:
        raise AccountFileError(f"format: not a {FORMAT} file")
    version = top.get("version", int)
    if version != VERSION:
        raise AccountFileError(f"version {version} not supported (this terminal reads {VERSION})")
    login, currency = top.get("login", int), top.get("currency", str)
    if (login, currency) != (settings.login, settings.currency):
        raise AccountFileError(
            f"holds account {login} ({currency}), this terminal simulates "
            f"{settings.login} ({settings.currency})"
        )
    positions = tuple(
        _position(_Fields(p, f"positions[{i}]"), symbols)
        for i, p in enumerate(top.get("positions", list))
    )
    deals = tuple(_deal(_Fields(d, f"deals[{i}]")) for i, d in enumerate(top.get("deals", list)))
    quotes: dict[str, Quote] = {}
    for name, q in top.get("quotes", dict).items():
        if name not in symbols:
            raise AccountFileError(f"quotes: unknown symbol {name!r}")
        fields = _Fields(q, f"quotes.{name}")
        quotes[name] = Quote(fields.decimal("bid"), fields.decimal("ask"))
    state = LedgerState(
        top.decimal("balance"), positions, deals, top.get("next_order", int),
        top.get("next_deal", int),
    )  # fmt: skip
    _check_tickets(state)
    return SavedAccount(state, quotes)


def _position(f: _Fields, symbols: Mapping[str, SymbolSettings]) -> OpenPosition:
    name = f.get("symbol", str)
    if name not in symbols:
        raise AccountFileError(f"{f.where}.symbol: unknown symbol {name!r}")
    kind = f.get("type", int)
    if kind not in (PositionType.BUY, PositionType.SELL):
        raise AccountFileError(f"{f.where}.type: {kind} is neither buy (0) nor sell (1)")
    volume, price = f.decimal("volume"), f.decimal("price_open")
    if volume <= 0 or price <= 0:
        raise AccountFileError(f"{f.where}: volume and price_open must be positive")
    return OpenPosition(
        f.get("ticket", int), symbols[name], PositionType(kind), volume, price,
        f.get("time_msc", int), f.get("time_update_msc", int), f.get("magic", int),
        f.get("reason", int), f.get("comment", str),
    )  # fmt: skip


def _deal(f: _Fields) -> TradeDeal:
    values: dict[str, Any] = {k: f.get(k, int) for k in _DEAL_INTS}
    values.update({k: f.number(k) for k in _DEAL_FLOATS})
    values.update({k: f.get(k, str) for k in _DEAL_STRS})
    return TradeDeal(**values)


def _check_tickets(state: LedgerState) -> None:
    tickets = [p.ticket for p in state.positions]
    deal_tickets = [d.ticket for d in state.deals]
    if len(set(tickets)) != len(tickets) or len(set(deal_tickets)) != len(deal_tickets):
        raise AccountFileError("a position or deal ticket occurs twice")
    orders = [*tickets, *(d.order for d in state.deals)]
    if orders and max(orders) >= state.next_order:
        raise AccountFileError(f"next_order {state.next_order} was already issued")
    if deal_tickets and max(deal_tickets) >= state.next_deal:
        raise AccountFileError(f"next_deal {state.next_deal} was already issued")


class _Fields:
    """Typed access to one JSON object; every failure names the field."""

    def __init__(self, obj: object, where: str) -> None:
        if not isinstance(obj, dict):
            raise AccountFileError(f"{where or 'the file'}: expected an object")
        self.obj: dict[str, Any] = obj
        self.where = where

    def _raw(self, key: str) -> object:
        if key not in self.obj:
            raise AccountFileError(f"{self._name(key)}: missing")
        return self.obj[key]

    def _name(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def get(self, key: str, kind: type[Any]) -> Any:
        value = self._raw(key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise AccountFileError(f"{self._name(key)}: expected {kind.__name__}")
        return value

    def number(self, key: str) -> float:
        value = self._raw(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise AccountFileError(f"{self._name(key)}: expected a number")
        if not math.isfinite(value):
            raise AccountFileError(f"{self._name(key)}: not finite")
        return float(value)

    def decimal(self, key: str) -> Decimal:
        value = self.get(key, str)
        try:
            number = Decimal(value)
        except InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite():
            raise AccountFileError(f"{self._name(key)}: {value!r} is not a decimal number")
        return number
