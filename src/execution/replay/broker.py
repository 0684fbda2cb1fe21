"""The replay's broker: an in-process paper terminal, read through the live ``Gateway``.

The account, the fills and the deals are the paper terminal's (``execution.paper``: hedging
account, market fills at the bid/ask, margin at the open price, commission and swap per symbol,
the broker's stop-out), and the monitor reads them through the same ``Gateway`` conversions as
live, so a replay's account is exactly what a monitor attached to ``paper-terminal`` would see.

For speed the terminal does not receive every tick: the replay keeps the latest valid quote per
symbol and pushes it (with its own ``time_msc``) only before the terminal is used — an order, an
account read, a stop-out check. Deals already delivered are dropped from the terminal's history so
memory stays bounded. The terminal knows the paper symbols (EURUSD, GBPUSD, USDJPY) that quote the
account currency; ticks of other symbols are still judged by the evaluator but cannot be traded.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final, TypeVar

from execution.gateway import BrokerError, Gateway
from execution.mt5.constants import OrderType, PositionType, TradeAction, TradeRetcode
from execution.paper.ledger import REASON_CLIENT
from execution.paper.settings import DEFAULT_SYMBOLS, AccountSettings, SymbolSettings
from execution.paper.terminal import PaperTerminal
from execution.replay.clock import ReplayClock
from risk.config import RiskConfig
from risk.models import AccountSnapshot, Deal, Position, SymbolSpec, Tick
from risk.models import PositionType as RiskPositionType

__all__ = [
    "PositionSpec",
    "ReplayBroker",
    "first_quotes",
    "parse_position",
    "read_positions_file",
]

_INF: Final = math.inf
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PositionSpec:
    """``SYMBOL:buy|sell:LOTS[@PRICE]``: an open position at the start of the replay."""

    symbol: str
    side: PositionType
    lots: Decimal
    price: Decimal | None = None

    def __str__(self) -> str:
        side = "buy" if self.side is PositionType.BUY else "sell"
        at = f"@{self.price}" if self.price is not None else ""
        return f"{self.symbol}:{side}:{self.lots}{at}"


def parse_position(text: str) -> PositionSpec:
    """Parse ``SYMBOL:buy|sell:LOTS[@PRICE]``; ``ValueError`` says what is wrong."""
    body, at, price_text = text.strip().partition("@")
    parts = body.split(":")
    if len(parts) != 3 or not parts[0] or parts[1].lower() not in ("buy", "sell"):
        raise ValueError(f"position {text!r}: expected SYMBOL:buy|sell:LOTS[@PRICE]")
    try:
        lots = Decimal(parts[2])
        price = Decimal(price_text) if at else None
    except InvalidOperation:
        raise ValueError(f"position {text!r}: LOTS and PRICE must be numbers") from None
    if not lots.is_finite() or lots <= 0:
        raise ValueError(f"position {text!r}: LOTS must be positive")
    if price is not None and (not price.is_finite() or price <= 0):
        raise ValueError(f"position {text!r}: PRICE must be positive")
    side = PositionType.BUY if parts[1].lower() == "buy" else PositionType.SELL
    return PositionSpec(parts[0].upper(), side, lots, price)


def read_positions_file(path: Path) -> list[PositionSpec]:
    """One ``SYMBOL:buy|sell:LOTS[@PRICE]`` per line; blank lines and ``#`` comments ignored."""
    specs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if text:
            try:
                specs.append(parse_position(text))
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: {exc}") from None
    return specs


class _InProcessGateway(Gateway):
    """The live ``Gateway`` — same conversions to exact ``Decimal`` models — calling the
    in-process terminal directly: there is no IPC that could hang, so no worker thread and no
    per-call timeout (a thread hop per call would dominate a replay with a strategy)."""

    def _run(self, name: str, fn: Callable[[], T]) -> T:
        result = fn()
        if result is None:
            code, message = self._api.last_error()
            raise BrokerError(name, code, message)
        return result


def _valid(tick: Tick) -> bool:
    """What the paper terminal accepts as a quote: finite, positive, not crossed."""
    return 0.0 < tick.bid <= tick.ask < _INF


class ReplayBroker:
    """The account of one replay run. ``quotes`` are each symbol's first valid tick (for
    price-dependent tick values and for positions opened at the first price)."""

    def __init__(
        self,
        config: RiskConfig,
        clock: ReplayClock,
        *,
        balance: Decimal,
        quotes: Mapping[str, Tick],
    ) -> None:
        currency = config.account.currency
        self.settings = AccountSettings(
            currency=currency,
            balance=balance,
            server_utc_offset_seconds=config.broker.server_utc_offset_seconds,
        )
        symbols = [s for s in DEFAULT_SYMBOLS if currency in (s.currency_base, s.currency_profit)]
        self.symbols: dict[str, SymbolSettings] = {s.name: s for s in symbols}
        self.terminal = PaperTerminal(self.settings, symbols, clock=clock)
        self.latest: dict[str, Tick] = {}
        self._pushed: dict[str, Tick] = {}
        for tick in quotes.values():
            self.quote(tick)
        self.sync()
        self.gateway = _InProcessGateway(
            self.terminal, config.broker, allow_real_account=True, currency=currency
        )
        self.specs: dict[str, SymbolSpec] = {
            name: self.gateway.symbol_spec(name) for name in self.symbols
        }
        self._last_deal_ms = 0
        self.version = 0
        self.account_dirty = True
        self.deals_dirty = True
        self.liquidated: set[int] = set()
        #: the monitor's integer book is near the stop-out when equity x 100 <= this x margin
        self.stop_out_x2 = math.ceil(2 * self.settings.margin_so_so)

    def close(self) -> None:
        self.gateway.close()

    # ------------------------------------------------------------------ prices
    def quote(self, tick: Tick) -> None:
        """Remember a tick as the symbol's quote if the terminal would take it (hot path)."""
        if 0.0 < tick.bid <= tick.ask < _INF and tick.symbol in self.symbols:
            self.latest[tick.symbol] = tick

    def sync(self) -> None:
        """Push the latest quotes into the terminal (which runs its stop-out on each)."""
        before = len(self.terminal.ledger.deals)
        for symbol, tick in self.latest.items():
            if self._pushed.get(symbol) is not tick:
                self.terminal.push_tick(symbol, tick.bid, tick.ask, tick.time_msc)
                self._pushed[symbol] = tick
        if len(self.terminal.ledger.deals) != before:  # a stop-out closed something
            self._changed()

    def has_quote(self, symbol: str) -> bool:
        return symbol in self.latest

    # ------------------------------------------------------------------ trading
    def open_initial(self, spec: PositionSpec) -> None:
        """Open a position of the starting book (magic 0, as if opened by hand)."""
        if spec.symbol not in self.symbols:
            known = ", ".join(self.symbols)
            raise ValueError(f"position {spec}: unknown symbol (the replay simulates {known})")
        if spec.symbol not in self.latest:
            raise ValueError(f"position {spec}: the file has no valid tick of {spec.symbol}")
        self.sync()
        if spec.price is None:
            self.terminal.open_position_directly(
                spec.symbol, spec.side, float(spec.lots), comment="initial book"
            )
        else:
            ledger = self.terminal.ledger
            ledger.open(
                self.symbols[spec.symbol], spec.side, spec.lots, spec.price,
                self.terminal.server_time_msc(), order=ledger.next_order(), magic=0,
                comment="initial book", reason=REASON_CLIENT,
            )  # fmt: skip
        self._changed()

    def send(self, request: dict[str, Any]) -> int:
        """``order_send`` as the engine calls it; the retcode."""
        self.sync()
        result = self.terminal.order_send(request)
        if result is None:
            return int(TradeRetcode.ERROR)
        if result.retcode == TradeRetcode.DONE:
            self._changed()
        return int(result.retcode)

    def close_request(self, position: Position, *, magic: int, deviation: int) -> dict[str, Any]:
        close = OrderType.SELL if position.type is RiskPositionType.BUY else OrderType.BUY
        return {
            "action": int(TradeAction.DEAL),
            "symbol": position.symbol,
            "volume": float(position.volume),
            "type": int(close),
            "position": position.ticket,
            "deviation": deviation,
            "magic": magic,
            "comment": "riskguard liquidation",
        }

    def _changed(self) -> None:
        self.account_dirty = self.deals_dirty = True
        self.version += 1

    # ------------------------------------------------------------------ reads (as live)
    def snapshot(self) -> tuple[AccountSnapshot, list[Position]]:
        self.sync()
        self.account_dirty = False
        return self.gateway.account(), self.gateway.positions()

    def positions(self) -> list[Position]:
        self.sync()
        return self.gateway.positions()

    def new_deals(self) -> list[Deal]:
        """Deals since the last read, as the monitor reads them; delivered ones are dropped."""
        self.deals_dirty = False
        deals = self.gateway.deals_since(self._last_deal_ms)
        if deals:
            self._last_deal_ms = max(self._last_deal_ms, *(d.time_msc for d in deals))
            seen = {d.ticket for d in deals}
            history = self.terminal.ledger.deals
            history[:] = [d for d in history if d.ticket not in seen]
        return deals

    def open_positions(self) -> bool:
        return bool(self.terminal.ledger.positions)


def first_quotes(ticks: Iterable[Tick], wanted: set[str]) -> dict[str, Tick]:
    """Each wanted symbol's first valid tick among ``ticks``."""
    found: dict[str, Tick] = {}
    for tick in ticks:
        if tick.symbol in wanted and tick.symbol not in found and _valid(tick):
            found[tick.symbol] = tick
    return found
