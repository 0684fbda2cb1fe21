"""The gateway: the only caller of an ``Mt5Api``.

Calls run one at a time on a single worker thread with a per-call timeout; ``None`` becomes a
typed error carrying ``last_error()``; results are rebuilt from ``_asdict()`` (bridge-safe) and
money, prices and volumes become exact ``Decimal`` at this edge. Broker-server times stay as the
broker sends them; ``to_utc_ms`` converts with the configured offset.
"""

from __future__ import annotations

import concurrent.futures as cf
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from execution.mt5.constants import COPY_TICKS_ALL, AccountTradeMode, ResultCode
from risk.config.schema import BrokerConfig
from risk.models import (
    AccountSnapshot,
    Deal,
    DealEntry,
    DealType,
    Position,
    PositionType,
    SymbolSpec,
    Tick,
)

__all__ = ["BrokerError", "BrokerUnavailable", "Gateway", "RealAccountRefused", "ticks_of"]

T = TypeVar("T")
_MAX_TICKS_PER_CALL = 1_000_000


class BrokerError(Exception):
    """A call failed; ``code``/``message`` come from ``last_error()``."""

    def __init__(self, call: str, code: int, message: str) -> None:
        super().__init__(f"{call} failed: {code} {message}")
        self.call, self.code, self.message = call, code, message


class BrokerUnavailable(BrokerError):
    """The terminal or bridge is unreachable or hung (IPC errors, timeouts)."""


class RealAccountRefused(Exception):
    """The account is not the one the config describes: real money when not allowed, or
    another currency (every money limit would be read in the wrong unit)."""


def _money(value: float, digits: int = 2) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-digits))


_TICK_COLUMNS = ("bid", "ask", "last", "volume", "time_msc", "flags")  # Tick's order after symbol


def ticks_of(symbol: str, rows: Any, from_msc: int) -> list[Tick]:
    """``Tick``s of a ``copy_ticks_*`` answer (a numpy array of ``TICK_DTYPE``) from ``from_msc``
    on. Column-wise: one ``tolist`` per column gives plain floats and ints, ~10x cheaper than
    indexing every field of every row (this runs for every tick the monitor sees)."""
    if len(rows) == 0:
        return []
    rows = rows[rows["time_msc"] >= from_msc]
    columns = [rows[name].tolist() for name in _TICK_COLUMNS]
    return [Tick(symbol, *values) for values in zip(*columns, strict=True)]


class Gateway:
    def __init__(
        self, api: Any, cfg: BrokerConfig, *, allow_real_account: bool, currency: str
    ) -> None:
        self._api = api
        self._timeout = cfg.call_timeout_ms / 1000
        self._offset_ms = cfg.server_utc_offset_seconds * 1000
        self._allow_real = allow_real_account
        self._currency = currency
        self._ms_cursor = cfg.backend == "paper"  # our terminal's millisecond date_from
        self._pool = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="mt5")
        # A client that bounds every call by call_timeout_ms itself (the rpyc bridge) is called
        # on the caller's thread: no hand-off to the worker and back on every poll. The native
        # MetaTrader5 module can hang in C, so it always runs on the worker.
        self._inline = getattr(api, "times_out_itself", False) is True
        self._digits: dict[str, int] = {}
        self._currency_digits = 2
        self._initial_backoff_ns = cfg.reconnect_initial_backoff_ms * 1_000_000
        self._max_backoff_ns = cfg.reconnect_max_backoff_ms * 1_000_000
        self._backoff_ns = self._initial_backoff_ns
        self._retry_at = 0
        self._down = False
        self._jitter = random.Random()  # noqa: S311 - spreading retries, not crypto
        self.epoch = 0  # +1 on every recovery: callers re-verify state they cached before

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, name: str, fn: Callable[[], T]) -> T:
        """One call (on the worker thread unless the client is inline). While the broker is down,
        calls fail fast until the next retry time (capped exponential backoff with jitter)."""
        now = time.monotonic_ns()
        if self._down and now < self._retry_at:
            wait_ms = (self._retry_at - now) // 1_000_000
            raise BrokerUnavailable(
                name, int(ResultCode.E_INTERNAL_FAIL_CONNECT), f"down; retry in {wait_ms} ms"
            )
        if self._inline:
            result = fn()
        else:
            future = self._pool.submit(fn)
            try:
                result = future.result(timeout=self._timeout)
            except cf.TimeoutError:
                self._failed(now)
                code = int(ResultCode.E_INTERNAL_FAIL_TIMEOUT)
                raise BrokerUnavailable(name, code, "timeout") from None
        if result is None:
            code, message = self._last_error()
            if code <= ResultCode.E_INTERNAL_FAIL:  # IPC: terminal or bridge unavailable
                self._failed(now)
                raise BrokerUnavailable(name, code, message)
            raise BrokerError(name, code, message)
        if self._down:
            self._down, self._backoff_ns = False, self._initial_backoff_ns
            self.epoch += 1
        return result

    def _last_error(self) -> tuple[int, str]:
        if self._inline:
            code, message = self._api.last_error()
        else:
            code, message = self._pool.submit(self._api.last_error).result(timeout=self._timeout)
        return int(code), str(message)

    def _failed(self, now: int) -> None:
        delay = self._backoff_ns * (1 + self._jitter.uniform(0, 0.2))
        self._retry_at = now + int(delay)
        self._backoff_ns = min(self._backoff_ns * 2, self._max_backoff_ns)
        self._down = True

    @property
    def down(self) -> bool:
        return self._down

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self._run(name, lambda: getattr(self._api, name)(*args, **kwargs))

    def connect(self) -> None:
        self.call("initialize")

    def to_utc_ms(self, broker_ms: int) -> int:
        return broker_ms - self._offset_ms

    # ------------------------------------------------------------------ reads
    def account(self) -> AccountSnapshot:
        a = self.call("account_info")._asdict()
        if a["trade_mode"] == AccountTradeMode.REAL and not self._allow_real:
            raise RealAccountRefused(
                f"account {a['login']} is a REAL account; set account.allow_real_account"
            )
        if a["currency"] != self._currency:
            raise RealAccountRefused(
                f"account {a['login']} is in {a['currency']}, the config says {self._currency}"
            )
        d = self._currency_digits = int(a["currency_digits"])
        return AccountSnapshot(
            login=int(a["login"]),
            trade_mode=int(a["trade_mode"]),
            leverage=int(a["leverage"]),
            balance=_money(a["balance"], d),
            credit=_money(a["credit"], d),
            profit=_money(a["profit"], d),
            equity=_money(a["equity"], d),
            margin=_money(a["margin"], d),
            margin_free=_money(a["margin_free"], d),
            margin_level=_money(a["margin_level"], 4),
            margin_so_call=_money(a["margin_so_call"], 4),
            margin_so_so=_money(a["margin_so_so"], 4),
            currency=str(a["currency"]),
        )

    def symbol_spec(self, symbol: str) -> SymbolSpec:
        s = self.call("symbol_info", symbol)._asdict()
        digits = int(s["digits"])
        self._digits[symbol] = digits
        return SymbolSpec(
            name=symbol,
            digits=digits,
            contract_size=_money(s["trade_contract_size"], 4),
            tick_size=_money(s["trade_tick_size"], digits),
            tick_value=_money(s["trade_tick_value"], 8).normalize(),
            volume_step=_money(s["volume_step"], 2),
        )

    def positions(self) -> list[Position]:
        rows = self.call("positions_get")
        out = []
        for row in rows:
            p = row._asdict()
            digits = self._digits.get(p["symbol"], 5)
            out.append(
                Position(
                    ticket=int(p["ticket"]),
                    symbol=str(p["symbol"]),
                    type=PositionType(int(p["type"])),
                    volume=_money(p["volume"], 2),
                    price_open=_money(p["price_open"], digits),
                    price_current=_money(p["price_current"], digits),
                    swap=_money(p["swap"], self._currency_digits),
                    profit=_money(p["profit"], self._currency_digits),
                    time_msc=int(p["time_msc"]),
                    magic=int(p["magic"]),
                )
            )
        return out

    def deals_since(self, broker_ms: int) -> list[Deal]:
        start = datetime.fromtimestamp(max(broker_ms // 1000 - 1, 0), tz=UTC)
        end = datetime.now(UTC) + timedelta(days=2)  # broker clocks run ahead of UTC
        rows = self.call("history_deals_get", start, end)
        out = []
        cd = self._currency_digits
        for row in rows:
            d = row._asdict()
            kind = int(d["type"])
            out.append(
                Deal(
                    ticket=int(d["ticket"]),
                    order=int(d["order"]),
                    position_id=int(d["position_id"]),
                    time_msc=int(d["time_msc"]),
                    type=DealType(kind) if kind in DealType._value2member_map_ else DealType.CHARGE,
                    entry=DealEntry(int(d["entry"])),
                    volume=_money(d["volume"], 2),
                    price=_money(d["price"], self._digits.get(d["symbol"], 5)),
                    profit=_money(d["profit"], cd),
                    swap=_money(d["swap"], cd),
                    commission=_money(d["commission"], cd),
                    fee=_money(d["fee"], cd),
                    symbol=str(d["symbol"]),
                    magic=int(d["magic"]),
                )
            )
        out.sort(key=lambda deal: (deal.time_msc, deal.ticket))
        return out

    def ticks_since(self, symbol: str, broker_ms: int, count: int = 5000) -> list[Tick]:
        """Ticks with ``time_msc >= broker_ms``.

        The paper terminal takes a millisecond ``date_from``; MetaTrader5 takes seconds, so the
        answer starts at the cursor's second and, when a busy second holds more than ``count``
        ticks, is asked again with a larger count until it reaches past the cursor.
        """
        if self._ms_cursor:
            rows = self.call("copy_ticks_from", symbol, broker_ms, count, COPY_TICKS_ALL)
        else:
            while True:
                rows = self.call(
                    "copy_ticks_from", symbol, broker_ms // 1000, count, COPY_TICKS_ALL
                )
                full = len(rows) >= count and int(rows[-1]["time_msc"]) <= broker_ms
                if not full or count >= _MAX_TICKS_PER_CALL:
                    break
                count *= 4
        return ticks_of(symbol, rows, broker_ms)
