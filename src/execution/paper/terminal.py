"""``PaperTerminal``: an in-process simulated MT5 terminal implementing ``Mt5Api``.

Failure convention exactly as MetaTrader5: a data call returns ``None`` (``False`` for
``initialize``/``login``/``symbol_select``) and the cause is in ``last_error()``; a success sets
``last_error()`` to ``(1, "Success")``. ``last_error`` is process-wide, as in MT5: a bridge serving
several clients should read it atomically with the call, which ``call()`` does.

``shutdown()`` does not disconnect: the terminal is shared by every client of the bridge;
``set_connected(False)`` simulates a dead one. State, locking and the scriptable hooks
(``push_tick``, ``fail_next``, ...) live in ``core.TerminalCore``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np

from execution.mt5.constants import COPY_TICKS_TRADE, ResultCode, TradeRetcode
from execution.mt5.types import (
    TICK_DTYPE,
    AccountInfo,
    OrderCheckResult,
    OrderSendResult,
    SymbolInfo,
    TerminalInfo,
    Tick,
    TradeDeal,
    TradeOrder,
    TradePosition,
)
from execution.paper import views
from execution.paper.core import SUCCESS, TerminalCore
from execution.paper.ledger import REASON_EXPERT
from execution.paper.trading import (
    Plan,
    Refusal,
    fill_price,
    outside_deviation,
    parse_request,
    plan_request,
    preview,
)

if TYPE_CHECKING:
    from execution.mt5.api import Mt5Api

__all__ = ["API_METHODS", "PaperTerminal"]

API_METHODS = frozenset(
    {
        "initialize", "login", "shutdown", "last_error", "version", "terminal_info",
        "account_info", "symbol_info", "symbol_info_tick", "symbol_select", "copy_ticks_from",
        "copy_ticks_range", "positions_get", "orders_get", "history_deals_get", "order_check",
        "order_send",
    }
)  # fmt: skip

_INVALID = int(ResultCode.E_INVALID_PARAMS)
_NOT_FOUND = int(ResultCode.E_NOT_FOUND)
_VERSION = (500, 6231, "01 Oct 2026")


class PaperTerminal(TerminalCore):
    """A simulated MT5 terminal with one hedging account. See the module docstring.

    ``PaperTerminal(account=AccountSettings(), symbols=DEFAULT_SYMBOLS, *, clock=SystemClock(),
    seed=0, slippage_points=0, tick_history=100_000, account_file=None)``; ``account_file``
    keeps the account across restarts (see ``core``).
    """

    # -- connection -------------------------------------------------------------------------

    def initialize(self, path: str | None = None, **kwargs: Any) -> bool:
        with self._lock:
            return self._connect(kwargs, {"login", "password", "server", "timeout", "portable"})

    def login(self, login: int, **kwargs: Any) -> bool:
        with self._lock:
            return self._connect(
                {**kwargs, "login": login}, {"login", "password", "server", "timeout"}
            )

    def shutdown(self) -> None:
        with self._lock:
            self._error = SUCCESS

    def last_error(self) -> tuple[int, str]:
        with self._lock:
            return self._error

    def version(self) -> tuple[int, int, str] | None:
        with self._lock:
            return self._ok(_VERSION) if self._enter() else None

    def terminal_info(self) -> TerminalInfo | None:
        with self._lock:
            if not self._enter():
                return None
            return self._ok(TerminalInfo(True, True, 0, "riskguard paper terminal", ""))

    # -- account and symbols ----------------------------------------------------------------

    def account_info(self) -> AccountInfo | None:
        with self._lock:
            if not self._enter():
                return None
            now = self.server_time_msc()
            return self._ok(
                views.account_info(self.settings, self.ledger.summary(self._quotes, now))
            )

    def symbol_info(self, symbol: str) -> SymbolInfo | None:
        with self._lock:
            spec = self._symbol(symbol)
            if spec is None:
                return None
            info = views.symbol_info(spec, self.settings.currency, self._quotes.get(symbol))
            return self._ok(info)

    def symbol_info_tick(self, symbol: str) -> Tick | None:
        """The newest tick as delivered, bad or not (fills and valuations use the last valid)."""
        with self._lock:
            if self._symbol(symbol) is None:
                return None
            tick = self._last.get(symbol)
            if tick is None:
                self._fail(_NOT_FOUND, "Terminal: No ticks")
                return None
            return self._ok(tick)

    def symbol_select(self, symbol: str, enable: bool = True) -> bool:
        with self._lock:
            return self._symbol(symbol) is not None and self._ok(True)

    # -- ticks --------------------------------------------------------------------------------

    def copy_ticks_from(
        self, symbol: str, date_from: datetime | int, count: int, flags: int
    ) -> np.ndarray[Any, Any] | None:
        """Up to ``count`` ticks from ``date_from`` on, oldest first (see ``ticks.TickRing``).

        ``date_from`` is inclusive and may be epoch *milliseconds* (an int above ``10**11``, our
        extension). An empty array (and ``Success``) when there is nothing newer.
        """
        with self._lock:
            if self._symbol(symbol) is None:
                return None
            if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 1:
                self._fail(_INVALID, "Terminal: Invalid params (count)")
                return None
            start = self._time_arg(date_from)
            if start is None or not self._flags_ok(flags):
                return None
            if flags == COPY_TICKS_TRADE:
                return self._ok(np.empty(0, dtype=TICK_DTYPE))
            return self._ok(self._rings[symbol].since(start, int(count)))

    def copy_ticks_range(
        self, symbol: str, date_from: datetime | int, date_to: datetime | int, flags: int
    ) -> np.ndarray[Any, Any] | None:
        """Ticks from ``date_from`` to ``date_to`` inclusive (whole seconds: to their last ms)."""
        with self._lock:
            if self._symbol(symbol) is None:
                return None
            start = self._time_arg(date_from)
            end = self._time_arg(date_to, end=True) if start is not None else None
            if start is None or end is None or not self._flags_ok(flags):
                return None
            if flags == COPY_TICKS_TRADE:
                return self._ok(np.empty(0, dtype=TICK_DTYPE))
            return self._ok(self._rings[symbol].between(start, end))

    # -- positions, orders, deals -----------------------------------------------------------

    def positions_get(self, **kwargs: Any) -> tuple[TradePosition, ...] | None:
        """Open positions; ``symbol`` takes precedence over ``ticket``, then ``group``; ()."""
        with self._lock:
            if not self._enter():
                return None
            try:
                keep = views.position_filter(kwargs)
            except ValueError as exc:
                self._fail(_INVALID, f"Terminal: Invalid params ({exc})")
                return None
            now = self.server_time_msc()
            return self._ok(
                tuple(
                    self.ledger.view(p, self._quotes[p.symbol.name], now)
                    for p in self.ledger.positions.values()
                    if keep(p.ticket, p.symbol.name)
                )
            )

    def orders_get(self, **kwargs: Any) -> tuple[TradeOrder, ...] | None:
        """Pending orders: the paper terminal fills at market only, so always ``()``."""
        with self._lock:
            if not self._enter():
                return None
            try:
                views.position_filter(kwargs)
            except ValueError as exc:
                self._fail(_INVALID, f"Terminal: Invalid params ({exc})")
                return None
            return self._ok(())

    def history_deals_get(
        self,
        date_from: datetime | int | None = None,
        date_to: datetime | int | None = None,
        **kwargs: Any,
    ) -> tuple[TradeDeal, ...] | None:
        """Deals by ``ticket`` (the order's), ``position``, or time range (+ ``group``)."""
        with self._lock:
            if not self._enter():
                return None
            try:
                keep = views.deal_filter(date_from, date_to, kwargs)
            except ValueError as exc:
                self._fail(_INVALID, f"Terminal: Invalid params ({exc})")
                return None
            return self._ok(tuple(d for d in self.ledger.deals if keep(d)))

    # -- trading ------------------------------------------------------------------------------

    def order_check(self, request: dict[str, Any]) -> OrderCheckResult | None:
        """The account after the request, without sending it; ``retcode`` 0 means it would pass."""
        with self._lock:
            if not self._enter():
                return None
            try:
                req = parse_request(request)
            except ValueError as exc:
                self._fail(_INVALID, f"Terminal: Invalid params ({exc})")
                return None
            now = self.server_time_msc()
            plan = plan_request(req, self._symbols, self.ledger.positions, self._quotes)
            after = self.ledger.summary(self._quotes, now)
            retcode, comment = 0, "Done"
            if isinstance(plan, Refusal):
                retcode, comment = int(plan.retcode), plan.comment
            else:
                price = fill_price(plan, self._quotes[plan.symbol.name], 0)
                after = preview(self.ledger, plan, price, self._quotes, now)
                if plan.position is None and after.margin_free < 0:
                    retcode, comment = int(TradeRetcode.NO_MONEY), "No money"
            return self._ok(views.check_result(retcode, comment, after, req))

    def order_send(self, request: dict[str, Any]) -> OrderSendResult | None:
        """Execute a market request at bid/ask (+ slippage); retcode ``DONE`` on a fill."""
        with self._lock:
            if not self._enter():
                return None
            try:
                req = parse_request(request)
            except ValueError as exc:
                self._fail(_INVALID, f"Terminal: Invalid params ({exc})")
                return None
            self._request_ids += 1
            rid = self._request_ids
            quote = self._quotes.get(req.symbol)
            if self._send_retcodes:
                scripted = self._send_retcodes.popleft()
                if scripted is not TradeRetcode.DONE:
                    return self._ok(views.send_refused(scripted, "scripted", quote, rid, req))
            plan = plan_request(req, self._symbols, self.ledger.positions, self._quotes)
            if isinstance(plan, Refusal):
                return self._ok(views.send_refused(plan.retcode, plan.comment, quote, rid, req))
            assert quote is not None  # plan_request refuses a symbol without prices
            slip = self._rng.randint(0, self._slippage) if self._slippage else 0
            price = fill_price(plan, quote, slip)
            refusal = self._refuse(plan, price)
            if refusal is not None:
                return self._ok(
                    views.send_refused(refusal.retcode, refusal.comment, quote, rid, req)
                )
            deal = self._execute(plan, price, REASON_EXPERT)
            return self._ok(views.send_done(deal, quote, rid, req))

    def _refuse(self, plan: Plan, price: Decimal) -> Refusal | None:
        if outside_deviation(plan, price):
            return Refusal(TradeRetcode.REQUOTE, "Requote")
        if plan.position is None:
            after = preview(self.ledger, plan, price, self._quotes, self.server_time_msc())
            if after.margin_free < 0:
                return Refusal(TradeRetcode.NO_MONEY, "No money")
        return None

    def _execute(self, plan: Plan, price: Decimal, reason: int) -> TradeDeal:
        now = self.server_time_msc()
        req = plan.request
        order = self.ledger.next_order()
        if plan.position is None:
            deal, _ = self.ledger.open(
                plan.symbol, plan.side, plan.volume, price, now,
                order=order, magic=req.magic, comment=req.comment, reason=reason,
            )  # fmt: skip
            return deal
        return self.ledger.close(
            plan.position, plan.volume, price, self._quotes[plan.symbol.name], now,
            order=order, magic=req.magic, comment=req.comment, reason=reason,
        )  # fmt: skip

    def call(self, name: str, /, *args: Any, **kwargs: Any) -> tuple[Any, tuple[int, str]]:
        """Run one ``Mt5Api`` method and read ``last_error`` atomically (for the bridge)."""
        if name not in API_METHODS:
            raise AttributeError(f"not an Mt5Api method: {name}")
        with self._lock:
            result = getattr(self, name)(*args, **kwargs)
            return result, self._error


if TYPE_CHECKING:

    def _conforms(terminal: PaperTerminal) -> Mt5Api:
        return terminal
