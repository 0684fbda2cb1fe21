"""The bridge: an rpyc service that serves any ``Mt5Api`` and a client that is one.

Server side: the paper terminal, or ``scripts/mt5_bridge_server.py`` under Wine wrapping the real
MetaTrader5 module. Unlike mt5linux's rpyc *classic* server (remote code execution for anyone who
reaches the port) this service exposes one call with an allow-list of API names, binds to
127.0.0.1 by default, and moves plain values only: NamedTuples travel as (type, values), numpy
tick arrays as raw bytes, so nothing is a remote reference.
"""

from __future__ import annotations

import contextlib
import threading
from datetime import datetime
from typing import Any, Final

import numpy as np
import rpyc
from rpyc.utils.server import ThreadedServer

from execution.mt5 import types as t
from execution.mt5.constants import ResultCode
from execution.mt5.types import TICK_DTYPE

__all__ = ["API_CALLS", "BridgeClient", "make_server"]

API_CALLS: Final = frozenset(
    {
        "initialize",
        "login",
        "shutdown",
        "last_error",
        "version",
        "terminal_info",
        "account_info",
        "symbol_info",
        "symbol_info_tick",
        "symbol_select",
        "copy_ticks_from",
        "copy_ticks_range",
        "positions_get",
        "orders_get",
        "history_deals_get",
        "order_check",
        "order_send",
    }
)
_TYPES: Final = {
    cls.__name__: cls
    for cls in (
        t.AccountInfo,
        t.TerminalInfo,
        t.SymbolInfo,
        t.Tick,
        t.TradePosition,
        t.TradeOrder,
        t.TradeDeal,
        t.TradeRequest,
        t.OrderSendResult,
        t.OrderCheckResult,
    )
}


def _to_wire(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return ("__ndarray__", value.astype(TICK_DTYPE).tobytes())
    if hasattr(value, "_asdict"):  # ours or MetaTrader5's own named tuples
        fields = value._asdict()
        return ("__nt__", type(value).__name__, tuple(_to_wire(v) for v in fields.values()))
    if isinstance(value, tuple | list):
        return tuple(_to_wire(v) for v in value)
    return value


def _from_wire(value: Any) -> Any:
    if isinstance(value, tuple) and value and value[0] == "__ndarray__":
        return np.frombuffer(value[1], dtype=TICK_DTYPE).copy()
    if isinstance(value, tuple) and value and value[0] == "__nt__":
        cls = _TYPES[value[1]]
        return cls(*(_from_wire(v) for v in value[2]))
    if isinstance(value, tuple):
        return tuple(_from_wire(v) for v in value)
    return value


def _plain_args(value: Any) -> Any:
    """Datetimes become epoch seconds, dicts (order requests) become item tuples."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime passed to the MT5 bridge")
        return int(value.timestamp())
    if isinstance(value, dict):
        return ("__dict__", tuple((k, _plain_args(v)) for k, v in value.items()))
    return value


def _restore_args(value: Any) -> Any:
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "__dict__":
        return dict(value[1])
    return value


class _Service(rpyc.Service):  # type: ignore[misc]  # rpyc ships no type hints
    def __init__(self, api: Any, lock: threading.Lock) -> None:
        super().__init__()
        self._api = api
        self._lock = lock

    def exposed_call(self, name: str, args: tuple[Any, ...], kwargs: tuple[Any, ...]) -> Any:
        if name not in API_CALLS:
            raise ValueError(f"{name!r} is not part of the MT5 API")
        real_args = tuple(_restore_args(a) for a in args)
        real_kwargs = {k: _restore_args(v) for k, v in kwargs}
        atomic = getattr(self._api, "call", None)  # the paper terminal: call + error, one lock
        with self._lock:  # the MetaTrader5 module is not documented thread-safe
            if atomic is not None:
                result, error = atomic(name, *real_args, **real_kwargs)
            else:
                result = getattr(self._api, name)(*real_args, **real_kwargs)
                error = self._api.last_error()
        # the error travels with the None it explains
        return (_to_wire(result), tuple(error) if result is None else None)


def make_server(api: Any, host: str = "127.0.0.1", port: int = 18812) -> ThreadedServer:
    """A threaded rpyc server for ``api``; call ``.start()`` (blocking) or run it in a thread."""
    service = _Service(api, threading.Lock())
    return ThreadedServer(
        service,
        hostname=host,
        port=port,
        reuse_addr=True,
        protocol_config={"allow_public_attrs": False, "allow_pickle": False},
    )


class BridgeClient:
    """An ``Mt5Api`` over the bridge. Transport failures look like MT5's own IPC failures:
    the call returns None and ``last_error()`` reports RES_E_INTERNAL_FAIL_*. ``last_error()``
    answers for this client's last call (the server sends it with the None), so another client
    of the same terminal cannot overwrite it in between."""

    #: every call is bounded by ``timeout_s`` (rpyc's sync_request_timeout; connect has its own)
    times_out_itself = True

    def __init__(self, host: str, port: int, *, timeout_s: float) -> None:
        self._host, self._port, self._timeout = host, port, timeout_s
        self._conn: Any = None
        self._remote_call: Any = None
        self._error: tuple[int, str] = (int(ResultCode.S_OK), "Success")

    def _connect(self) -> Any:
        """The remote ``call`` of a live connection. Kept per connection: looking the method up
        on every call would cost a getattr round trip and a netref release (3 requests a call,
        not 1)."""
        if self._conn is None or self._conn.closed:
            self._conn = rpyc.connect(
                self._host,
                self._port,
                config={"sync_request_timeout": self._timeout, "allow_pickle": False},
            )
            self._remote_call = self._conn.root.call
        return self._remote_call

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "last_error":
            return self._error
        try:
            remote_call = self._connect()
            wire, error = remote_call(
                name,
                tuple(_plain_args(a) for a in args),
                tuple((k, _plain_args(v)) for k, v in kwargs.items()),
            )
        except TimeoutError as exc:
            self._drop(ResultCode.E_INTERNAL_FAIL_TIMEOUT, f"bridge timeout: {exc}")
            return None
        except (OSError, EOFError) as exc:
            self._drop(ResultCode.E_INTERNAL_FAIL_CONNECT, f"bridge unavailable: {exc}")
            return None
        self._error = (
            (int(error[0]), str(error[1]))
            if error is not None
            else (int(ResultCode.S_OK), "Success")
        )
        return _from_wire(wire)

    def _drop(self, code: ResultCode, message: str) -> None:
        self._error = (int(code), message)
        if self._conn is not None:
            with contextlib.suppress(Exception):  # the connection is already broken
                self._conn.close()
        self._conn = self._remote_call = None

    def close(self) -> None:
        self._drop(ResultCode.E_INTERNAL_FAIL_CONNECT, "closed")

    def last_error(self) -> tuple[int, str]:
        return self._error

    def __getattr__(self, name: str) -> Any:
        if name not in API_CALLS:
            raise AttributeError(name)
        return lambda *args, **kwargs: self._call(name, *args, **kwargs)
