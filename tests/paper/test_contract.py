"""Contract: our MT5 types and constants are the ones recorded in mt5-api.md (5.0.6231 wheel).

The expected values below are copied from the reference as facts, not derived from our code.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import numpy as np
import pytest

from execution.mt5 import constants as c
from execution.mt5 import types as t
from execution.paper import PaperTerminal

REFERENCE_FIELDS: dict[str, tuple[str, ...]] = {
    "Tick": ("time", "bid", "ask", "last", "volume", "time_msc", "flags", "volume_real"),
    "AccountInfo": (
        "login", "trade_mode", "leverage", "limit_orders", "margin_so_mode", "trade_allowed",
        "trade_expert", "margin_mode", "currency_digits", "fifo_close", "balance", "credit",
        "profit", "equity", "margin", "margin_free", "margin_level", "margin_so_call",
        "margin_so_so", "margin_initial", "margin_maintenance", "assets", "liabilities",
        "commission_blocked", "name", "server", "currency", "company",
    ),
    "TradePosition": (
        "ticket", "time", "time_msc", "time_update", "time_update_msc", "type", "magic",
        "identifier", "reason", "volume", "price_open", "sl", "tp", "price_current", "swap",
        "profit", "symbol", "comment", "external_id",
    ),
    "TradeOrder": (
        "ticket", "time_setup", "time_setup_msc", "time_done", "time_done_msc",
        "time_expiration", "type", "type_time", "type_filling", "state", "magic", "position_id",
        "position_by_id", "reason", "volume_initial", "volume_current", "price_open", "sl", "tp",
        "price_current", "price_stoplimit", "symbol", "comment", "external_id",
    ),
    "TradeDeal": (
        "ticket", "order", "time", "time_msc", "type", "entry", "magic", "position_id", "reason",
        "volume", "price", "commission", "swap", "profit", "fee", "symbol", "comment",
        "external_id",
    ),
    "TradeRequest": (
        "action", "magic", "order", "symbol", "volume", "price", "stoplimit", "sl", "tp",
        "deviation", "type", "type_filling", "type_time", "expiration", "comment", "position",
        "position_by",
    ),
    "OrderSendResult": (
        "retcode", "deal", "order", "volume", "price", "bid", "ask", "comment", "request_id",
        "retcode_external", "request",
    ),
    "OrderCheckResult": (
        "retcode", "balance", "equity", "profit", "margin", "margin_free", "margin_level",
        "comment", "request",
    ),
}  # fmt: skip

REFERENCE_TICK_DTYPE = [
    ("time", "<i8"), ("bid", "<f8"), ("ask", "<f8"), ("last", "<f8"), ("volume", "<u8"),
    ("time_msc", "<i8"), ("flags", "<u4"), ("volume_real", "<f8"),
]  # fmt: skip

REFERENCE_ENUMS: dict[type[Enum], dict[str, int]] = {
    c.ResultCode: {
        "S_OK": 1, "E_FAIL": -1, "E_INVALID_PARAMS": -2, "E_NO_MEMORY": -3, "E_NOT_FOUND": -4,
        "E_INVALID_VERSION": -5, "E_AUTH_FAILED": -6, "E_UNSUPPORTED": -7,
        "E_AUTO_TRADING_DISABLED": -8, "E_INTERNAL_FAIL": -10000, "E_INTERNAL_FAIL_SEND": -10001,
        "E_INTERNAL_FAIL_RECEIVE": -10002, "E_INTERNAL_FAIL_INIT": -10003,
        "E_INTERNAL_FAIL_CONNECT": -10004, "E_INTERNAL_FAIL_TIMEOUT": -10005,
    },
    c.TradeRetcode: {
        "REQUOTE": 10004, "REJECT": 10006, "CANCEL": 10007, "PLACED": 10008, "DONE": 10009,
        "DONE_PARTIAL": 10010, "ERROR": 10011, "TIMEOUT": 10012, "INVALID": 10013,
        "INVALID_VOLUME": 10014, "INVALID_PRICE": 10015, "INVALID_STOPS": 10016,
        "TRADE_DISABLED": 10017, "MARKET_CLOSED": 10018, "NO_MONEY": 10019,
        "PRICE_CHANGED": 10020, "PRICE_OFF": 10021, "INVALID_EXPIRATION": 10022,
        "ORDER_CHANGED": 10023, "TOO_MANY_REQUESTS": 10024, "NO_CHANGES": 10025,
        "SERVER_DISABLES_AT": 10026, "CLIENT_DISABLES_AT": 10027, "LOCKED": 10028,
        "FROZEN": 10029, "INVALID_FILL": 10030, "CONNECTION": 10031, "ONLY_REAL": 10032,
        "LIMIT_ORDERS": 10033, "LIMIT_VOLUME": 10034, "INVALID_ORDER": 10035,
        "POSITION_CLOSED": 10036, "INVALID_CLOSE_VOLUME": 10038, "CLOSE_ORDER_EXIST": 10039,
        "LIMIT_POSITIONS": 10040, "REJECT_CANCEL": 10041, "LONG_ONLY": 10042,
        "SHORT_ONLY": 10043, "CLOSE_ONLY": 10044, "FIFO_CLOSE": 10045,
    },
    c.TradeAction: {"DEAL": 1, "PENDING": 5, "SLTP": 6, "MODIFY": 7, "REMOVE": 8, "CLOSE_BY": 10},
    c.OrderType: {
        "BUY": 0, "SELL": 1, "BUY_LIMIT": 2, "SELL_LIMIT": 3, "BUY_STOP": 4, "SELL_STOP": 5,
        "BUY_STOP_LIMIT": 6, "SELL_STOP_LIMIT": 7, "CLOSE_BY": 8,
    },
    c.OrderFilling: {"FOK": 0, "IOC": 1, "RETURN": 2, "BOC": 3},
    c.OrderTime: {"GTC": 0, "DAY": 1, "SPECIFIED": 2, "SPECIFIED_DAY": 3},
    c.PositionType: {"BUY": 0, "SELL": 1},
    c.DealType: {"BUY": 0, "SELL": 1, "BALANCE": 2},
    c.DealEntry: {"IN": 0, "OUT": 1, "INOUT": 2, "OUT_BY": 3},
    c.AccountTradeMode: {"DEMO": 0, "CONTEST": 1, "REAL": 2},
    c.TickFlag: {"BID": 0x02, "ASK": 0x04, "LAST": 0x08, "VOLUME": 0x10, "BUY": 0x20, "SELL": 0x40},
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(REFERENCE_FIELDS))
def test_fields_when_compared_to_reference_then_same_names_in_same_order(name: str) -> None:
    """Each result type has exactly MT5's field order."""
    assert getattr(t, name)._fields == REFERENCE_FIELDS[name]


def test_tick_dtype_when_compared_to_reference_then_identical() -> None:
    """copy_ticks_* arrays use MT5's tick dtype."""
    assert np.dtype(REFERENCE_TICK_DTYPE) == t.TICK_DTYPE


@pytest.mark.parametrize("enum", list(REFERENCE_ENUMS), ids=lambda e: e.__name__)
def test_enum_when_compared_to_reference_then_same_members_and_values(enum: type[Enum]) -> None:
    """Every constant has the wheel's value, and there are no extra or missing members."""
    assert {m.name: m.value for m in enum} == REFERENCE_ENUMS[enum]


def test_copy_ticks_flags_when_compared_to_reference_then_same_values() -> None:
    """COPY_TICKS_ALL/INFO/TRADE are -1/1/2."""
    assert (c.COPY_TICKS_ALL, c.COPY_TICKS_INFO, c.COPY_TICKS_TRADE) == (-1, 1, 2)


def _calls(terminal: PaperTerminal) -> list[tuple[str, Any, type]]:
    send = {"action": 1, "symbol": "EURUSD", "volume": 0.1, "type": 0}
    return [
        ("terminal_info", terminal.terminal_info(), t.TerminalInfo),
        ("account_info", terminal.account_info(), t.AccountInfo),
        ("symbol_info", terminal.symbol_info("EURUSD"), t.SymbolInfo),
        ("symbol_info_tick", terminal.symbol_info_tick("EURUSD"), t.Tick),
        ("order_check", terminal.order_check(send), t.OrderCheckResult),
        ("order_send", terminal.order_send(send), t.OrderSendResult),
    ]


def test_paper_results_when_returned_then_are_our_mt5_types(terminal: PaperTerminal) -> None:
    """The paper terminal returns the mirrored NamedTuples, with a TradeRequest inside results."""
    for name, value, expected in _calls(terminal):
        assert type(value) is expected, name
    positions = terminal.positions_get()
    deals = terminal.history_deals_get(0, 2**31)
    assert positions is not None and deals is not None
    assert all(type(p) is t.TradePosition for p in positions) and positions
    assert all(type(d) is t.TradeDeal for d in deals) and deals
    sent = terminal.order_send({"action": 1, "symbol": "EURUSD", "volume": 0.1, "type": 1})
    assert sent is not None and type(sent.request) is t.TradeRequest
    assert sent.request._asdict()["symbol"] == "EURUSD"


def test_paper_ticks_when_copied_then_array_has_mt5_tick_dtype(terminal: PaperTerminal) -> None:
    """copy_ticks_from and copy_ticks_range return numpy arrays of TICK_DTYPE."""
    frm = terminal.copy_ticks_from("EURUSD", 0, 10, c.COPY_TICKS_ALL)
    rng = terminal.copy_ticks_range("EURUSD", 0, 2**31, c.COPY_TICKS_INFO)
    assert frm is not None and rng is not None
    assert frm.dtype == np.dtype(REFERENCE_TICK_DTYPE) == rng.dtype
    assert len(frm) == len(rng) == 1


def test_account_info_when_default_then_demo_hedging_percent_stop_out(
    terminal: PaperTerminal,
) -> None:
    """ACCOUNT_TRADE_MODE_DEMO=0, ACCOUNT_MARGIN_MODE_RETAIL_HEDGING=2, STOPOUT_MODE_PERCENT=0."""
    info = terminal.account_info()
    assert info is not None
    assert (info.trade_mode, info.margin_mode, info.margin_so_mode) == (0, 2, 0)
    assert (info.margin_so_call, info.margin_so_so, info.leverage) == (100.0, 50.0, 100)
    assert (info.balance, info.currency) == (100_000.0, "USD")
