"""The terminal's state and its scriptable hooks; ``PaperTerminal`` adds the ``Mt5Api`` calls.

Thread-safe: one re-entrant lock around every method. Memory: ticks are bounded per symbol
(``tick_history``); deals are kept for the whole session.

With ``account_file`` the account outlives the process, as on a broker's server: an existing file
is restored (balance, positions, deals, ticket numbers, last prices; ``restored`` is then True and
``AccountSettings.balance`` is not deposited again), a missing one is created, and every ledger
mutation rewrites it under the lock before the call returns. An unusable file raises
``AccountFileError`` from the constructor; a failed write raises ``OSError`` from the call that
mutated (the books in memory keep the change; the next successful write carries it).
"""

from __future__ import annotations

import math
import random
import threading
from collections import deque
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from execution.mt5.constants import (
    COPY_TICKS_ALL,
    COPY_TICKS_INFO,
    COPY_TICKS_TRADE,
    PositionType,
    ResultCode,
    TradeRetcode,
)
from execution.mt5.types import Tick, TradeDeal, TradePosition
from execution.paper import account_file as _account_file
from execution.paper.accounting import Quote, check_currencies
from execution.paper.ledger import REASON_CLIENT, REASON_SO, Ledger
from execution.paper.settings import DEFAULT_SYMBOLS, AccountSettings, SymbolSettings
from execution.paper.ticks import TickRing
from execution.paper.timeconv import epoch_msc, to_msc
from risk.clock import Clock, SystemClock

__all__ = ["SUCCESS", "TerminalCore"]

SUCCESS = (int(ResultCode.S_OK), "Success")
_NO_IPC = (int(ResultCode.E_INTERNAL_FAIL_CONNECT), "No IPC connection")
_INVALID = int(ResultCode.E_INVALID_PARAMS)
_NOT_FOUND = int(ResultCode.E_NOT_FOUND)
_T = TypeVar("_T")


class TerminalCore:
    """Account, symbols, ticks and the failure machinery, plus the test/scenario hooks."""

    def __init__(
        self,
        account: AccountSettings | None = None,
        symbols: Sequence[SymbolSettings] = DEFAULT_SYMBOLS,
        *,
        clock: Clock | None = None,
        seed: int = 0,
        slippage_points: int = 0,
        tick_history: int = 100_000,
        account_file: Path | None = None,
    ) -> None:
        self.settings = account or AccountSettings()
        for s in symbols:
            check_currencies(s, self.settings.currency)
        if slippage_points < 0:
            raise ValueError("slippage_points must be >= 0")
        self._clock: Clock = clock or SystemClock()
        self._lock = threading.RLock()
        self._symbols = {s.name: s for s in symbols}
        self._rings = {s.name: TickRing(tick_history) for s in symbols}
        self._last: dict[str, Tick] = {}
        self._quotes: dict[str, Quote] = {}
        self._rng = random.Random(seed)  # noqa: S311 - a seeded simulation, not crypto
        self._slippage = slippage_points
        self._error: tuple[int, str] = SUCCESS
        self._failures: deque[tuple[int, str]] = deque()
        self._send_retcodes: deque[TradeRetcode] = deque()
        self._connected = True
        self._request_ids = 0
        self.account_file = account_file
        saved = (
            _account_file.load(account_file, self.settings, self._symbols)
            if account_file is not None
            else None
        )
        self.restored = saved is not None
        if saved is None:
            self.ledger = Ledger(self.settings, self.server_time_msc())
        else:
            self.ledger = Ledger.restore(self.settings, saved.ledger)
            self._quotes.update(saved.quotes)
        if account_file is not None:
            self.ledger.on_change = self._save_account
            if saved is None:
                self._save_account()

    # -- scriptable hooks (not part of Mt5Api; never fail, raise on misuse) -------------------

    def push_tick(self, symbol: str, bid: float, ask: float, time_msc: int | None = None) -> Tick:
        """Deliver a tick. Without ``time_msc`` it is stamped with the server clock, kept strictly
        increasing per symbol; an explicit ``time_msc`` is stored as given (late, back-dated).
        A valid tick (finite, > 0, ask >= bid) moves the quote used for fills and valuations and
        runs the broker's stop-out."""
        with self._lock:
            ring = self._rings[symbol]
            if time_msc is None:
                time_msc = max(self.server_time_msc(), ring.max_time_msc + 1)
            tick = ring.append(int(time_msc), float(bid), float(ask))
            self._last[symbol] = tick
            if math.isfinite(bid) and math.isfinite(ask) and 0 < bid <= ask:
                self._quotes[symbol] = Quote(Decimal(repr(float(bid))), Decimal(repr(float(ask))))
                if self.settings.stop_out and self.ledger.positions:
                    self._stop_out()
            return tick

    def fail_next(self, code: int, message: str) -> None:
        """The next API call (not ``last_error``/``shutdown``) fails with this error; they queue."""
        with self._lock:
            self._failures.append((int(code), message))

    def retcode_for_next_send(self, retcode: int) -> None:
        """The next ``order_send`` returns this retcode without executing (``DONE``: executes)."""
        with self._lock:
            self._send_retcodes.append(TradeRetcode(retcode))

    def set_connected(self, connected: bool) -> None:
        """While disconnected every call fails with ``RES_E_INTERNAL_FAIL_CONNECT`` (-10004)."""
        with self._lock:
            self._connected = connected

    def open_position_directly(
        self, symbol: str, type: PositionType | int, volume: float, *, comment: str = ""
    ) -> TradePosition:
        """Open a position at market "behind the engine's back" (manual, magic 0, no checks)."""
        if not volume > 0:
            raise ValueError(f"volume must be > 0, not {volume}")
        with self._lock:
            side = PositionType(type)
            quote = self._quotes[symbol]
            price = quote.ask if side is PositionType.BUY else quote.bid
            now = self.server_time_msc()
            _, pos = self.ledger.open(
                self._symbols[symbol], side, Decimal(repr(float(volume))), price, now,
                order=self.ledger.next_order(), magic=0, comment=comment, reason=REASON_CLIENT,
            )  # fmt: skip
            return self.ledger.view(pos, quote, now)

    def close_position_directly(self, ticket: int, volume: float | None = None) -> TradeDeal:
        """Close (part of) a position at market by hand; ``KeyError`` if it is not open."""
        with self._lock:
            pos = self.ledger.positions[ticket]
            vol = pos.volume if volume is None else Decimal(repr(float(volume)))
            if not 0 < vol <= pos.volume:
                raise ValueError(f"cannot close {vol} of {pos.volume} lots")
            quote = self._quotes[pos.symbol.name]
            price = quote.bid if pos.type is PositionType.BUY else quote.ask
            return self.ledger.close(
                pos, vol, price, quote, self.server_time_msc(),
                order=self.ledger.next_order(), magic=0, comment="", reason=REASON_CLIENT,
            )  # fmt: skip

    def deposit(self, amount: Decimal, comment: str = "Deposit") -> TradeDeal:
        """A balance operation (``DEAL_TYPE_BALANCE``); negative withdraws."""
        with self._lock:
            return self.ledger.deposit(amount, self.server_time_msc(), comment)

    def server_time_msc(self) -> int:
        """The broker server clock: the injected clock plus the account's UTC offset."""
        return epoch_msc(self._clock.now()) + self.settings.server_utc_offset_seconds * 1000

    def last_time_msc(self, symbol: str) -> int:
        """The newest ``time_msc`` delivered for ``symbol`` (-1 before the first tick)."""
        with self._lock:
            return self._rings[symbol].max_time_msc

    # -- internals ----------------------------------------------------------------------------

    def _save_account(self) -> None:
        """The ledger's ``on_change``: runs under the lock (every ledger mutation does)."""
        assert self.account_file is not None
        _account_file.save(self.account_file, self.settings, self.ledger.state(), self._quotes)

    def _stop_out(self) -> None:
        so = self.settings.margin_so_so
        now = self.server_time_msc()
        while self.ledger.positions:
            summary = self.ledger.summary(self._quotes, now)
            if not summary.margin or summary.margin_level > so:
                return
            worst = min(
                self.ledger.positions.values(),
                key=lambda p: self.ledger.view(p, self._quotes[p.symbol.name], now).profit,
            )
            quote = self._quotes[worst.symbol.name]
            price = quote.bid if worst.type is PositionType.BUY else quote.ask
            self.ledger.close(
                worst, worst.volume, price, quote, now, order=self.ledger.next_order(),
                magic=worst.magic, comment=f"[so {summary.margin_level}%]", reason=REASON_SO,
            )  # fmt: skip

    def _enter(self) -> bool:
        if not self._connected:
            self._error = _NO_IPC
            return False
        if self._failures:
            self._error = self._failures.popleft()
            return False
        return True

    def _ok(self, value: _T) -> _T:
        self._error = SUCCESS
        return value

    def _fail(self, code: int, message: str) -> None:
        self._error = (code, message)

    def _connect(self, kwargs: dict[str, Any], allowed: set[str]) -> bool:
        if not self._enter():
            return False
        if set(kwargs) - allowed:
            self._fail(_INVALID, f"Terminal: Invalid params ({sorted(set(kwargs) - allowed)})")
            return False
        if "login" in kwargs and kwargs["login"] != self.settings.login:
            self._fail(int(ResultCode.E_AUTH_FAILED), "Terminal: Authorization failed")
            return False
        self._error = SUCCESS
        return True

    def _symbol(self, symbol: object) -> SymbolSettings | None:
        if not self._enter():
            return None
        spec = self._symbols.get(symbol) if isinstance(symbol, str) else None
        if spec is None:
            self._fail(_NOT_FOUND, f"Terminal: Not found ({symbol!r})")
        return spec

    def _time_arg(self, value: object, *, end: bool = False) -> int | None:
        try:
            return to_msc(value, end=end)
        except ValueError as exc:
            self._fail(_INVALID, f"Terminal: Invalid params ({exc})")
            return None

    def _flags_ok(self, flags: object) -> bool:
        if flags in (COPY_TICKS_ALL, COPY_TICKS_INFO, COPY_TICKS_TRADE) and not isinstance(
            flags, bool
        ):
            return True
        self._fail(_INVALID, f"Terminal: Invalid params (flags {flags!r})")
        return False
