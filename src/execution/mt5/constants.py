"""MetaTrader5 constants, values as in the 5.0.6231 wheel (mt5-api.md), as IntEnums."""

from __future__ import annotations

from enum import IntEnum, IntFlag
from typing import Literal

__all__ = [
    "COPY_TICKS_ALL",
    "COPY_TICKS_INFO",
    "COPY_TICKS_TRADE",
    "AccountTradeMode",
    "DealEntry",
    "DealType",
    "OrderFilling",
    "OrderTime",
    "OrderType",
    "PositionType",
    "ResultCode",
    "TickFlag",
    "TradeAction",
    "TradeRetcode",
]

COPY_TICKS_ALL = -1
COPY_TICKS_INFO = 1
COPY_TICKS_TRADE = 2


class ResultCode(IntEnum):
    S_OK = 1
    E_FAIL = -1
    E_INVALID_PARAMS = -2
    E_NO_MEMORY = -3
    E_NOT_FOUND = -4
    E_INVALID_VERSION = -5
    E_AUTH_FAILED = -6
    E_UNSUPPORTED = -7
    E_AUTO_TRADING_DISABLED = -8
    E_INTERNAL_FAIL = -10000
    E_INTERNAL_FAIL_SEND = -10001
    E_INTERNAL_FAIL_RECEIVE = -10002
    E_INTERNAL_FAIL_INIT = -10003
    E_INTERNAL_FAIL_CONNECT = -10004
    E_INTERNAL_FAIL_TIMEOUT = -10005

    @property
    def is_disconnect(self) -> bool:
        """The terminal/bridge is unavailable (IPC failures): feed-stale and breaker logic."""
        return self.value <= -10000


class TickFlag(IntFlag):
    BID = 0x02
    ASK = 0x04
    LAST = 0x08
    VOLUME = 0x10
    BUY = 0x20
    SELL = 0x40


class AccountTradeMode(IntEnum):
    DEMO = 0
    CONTEST = 1
    REAL = 2


class TradeAction(IntEnum):
    DEAL = 1
    PENDING = 5
    SLTP = 6
    MODIFY = 7
    REMOVE = 8
    CLOSE_BY = 10


class OrderType(IntEnum):
    BUY = 0
    SELL = 1
    BUY_LIMIT = 2
    SELL_LIMIT = 3
    BUY_STOP = 4
    SELL_STOP = 5
    BUY_STOP_LIMIT = 6
    SELL_STOP_LIMIT = 7
    CLOSE_BY = 8


class OrderFilling(IntEnum):
    FOK = 0
    IOC = 1
    RETURN = 2
    BOC = 3


class OrderTime(IntEnum):
    GTC = 0
    DAY = 1
    SPECIFIED = 2
    SPECIFIED_DAY = 3


class PositionType(IntEnum):
    BUY = 0
    SELL = 1


class DealType(IntEnum):
    BUY = 0
    SELL = 1
    BALANCE = 2


class DealEntry(IntEnum):
    IN = 0
    OUT = 1
    INOUT = 2
    OUT_BY = 3


Outcome = Literal["success", "partial", "requote", "transient", "terminal"]


class TradeRetcode(IntEnum):
    REQUOTE = 10004
    REJECT = 10006
    CANCEL = 10007
    PLACED = 10008
    DONE = 10009
    DONE_PARTIAL = 10010
    ERROR = 10011
    TIMEOUT = 10012
    INVALID = 10013
    INVALID_VOLUME = 10014
    INVALID_PRICE = 10015
    INVALID_STOPS = 10016
    TRADE_DISABLED = 10017
    MARKET_CLOSED = 10018
    NO_MONEY = 10019
    PRICE_CHANGED = 10020
    PRICE_OFF = 10021
    INVALID_EXPIRATION = 10022
    ORDER_CHANGED = 10023
    TOO_MANY_REQUESTS = 10024
    NO_CHANGES = 10025
    SERVER_DISABLES_AT = 10026
    CLIENT_DISABLES_AT = 10027
    LOCKED = 10028
    FROZEN = 10029
    INVALID_FILL = 10030
    CONNECTION = 10031
    ONLY_REAL = 10032
    LIMIT_ORDERS = 10033
    LIMIT_VOLUME = 10034
    INVALID_ORDER = 10035
    POSITION_CLOSED = 10036
    INVALID_CLOSE_VOLUME = 10038
    CLOSE_ORDER_EXIST = 10039
    LIMIT_POSITIONS = 10040
    REJECT_CANCEL = 10041
    LONG_ONLY = 10042
    SHORT_ONLY = 10043
    CLOSE_ONLY = 10044
    FIFO_CLOSE = 10045

    def classify(self) -> Outcome:
        """success / partial / requote (retry with a fresh price) / transient (retry with
        backoff, counts toward the breaker) / terminal."""
        return _CLASSES.get(self, "terminal")


_CLASSES: dict[TradeRetcode, Outcome] = {
    TradeRetcode.DONE: "success",
    TradeRetcode.PLACED: "success",
    TradeRetcode.DONE_PARTIAL: "partial",
    TradeRetcode.REQUOTE: "requote",
    TradeRetcode.PRICE_CHANGED: "requote",
    TradeRetcode.PRICE_OFF: "requote",
    TradeRetcode.TIMEOUT: "transient",
    TradeRetcode.CONNECTION: "transient",
    TradeRetcode.TOO_MANY_REQUESTS: "transient",
    TradeRetcode.LOCKED: "transient",
}
