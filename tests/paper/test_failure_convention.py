"""The MT5 failure convention: None (False for bool calls) and the cause in last_error()."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from execution.mt5.constants import COPY_TICKS_ALL, ResultCode, TradeRetcode
from execution.paper import PaperTerminal

SUCCESS = (1, "Success")
NO_IPC = (-10004, "No IPC connection")
SEND = {"action": 1, "symbol": "EURUSD", "volume": 0.1, "type": 0}

# Every Mt5Api call, with the value it returns on failure.
API_CALLS: list[tuple[str, Callable[[PaperTerminal], Any], Any]] = [
    ("initialize", lambda t: t.initialize(), False),
    ("login", lambda t: t.login(5_001_234), False),
    ("version", lambda t: t.version(), None),
    ("terminal_info", lambda t: t.terminal_info(), None),
    ("account_info", lambda t: t.account_info(), None),
    ("symbol_info", lambda t: t.symbol_info("EURUSD"), None),
    ("symbol_info_tick", lambda t: t.symbol_info_tick("EURUSD"), None),
    ("symbol_select", lambda t: t.symbol_select("EURUSD"), False),
    ("copy_ticks_from", lambda t: t.copy_ticks_from("EURUSD", 0, 10, COPY_TICKS_ALL), None),
    ("copy_ticks_range", lambda t: t.copy_ticks_range("EURUSD", 0, 2**31, COPY_TICKS_ALL), None),
    ("positions_get", lambda t: t.positions_get(), None),
    ("orders_get", lambda t: t.orders_get(), None),
    ("history_deals_get", lambda t: t.history_deals_get(0, 2**31), None),
    ("order_check", lambda t: t.order_check(dict(SEND)), None),
    ("order_send", lambda t: t.order_send(dict(SEND)), None),
]
IDS = [name for name, _, _ in API_CALLS]


@pytest.mark.parametrize(("name", "call", "failed"), API_CALLS, ids=IDS)
def test_call_when_fail_next_scripted_then_fails_once_with_that_error(
    terminal: PaperTerminal, name: str, call: Callable[[PaperTerminal], Any], failed: Any
) -> None:
    """fail_next makes exactly the next call fail with the given last_error."""
    terminal.fail_next(ResultCode.E_INTERNAL_FAIL_TIMEOUT, "Terminal: Timeout")

    first = call(terminal)
    error = terminal.last_error()
    second = call(terminal)

    assert first is failed
    assert error == (-10005, "Terminal: Timeout")
    assert second is not None and second is not False
    assert terminal.last_error() == SUCCESS


@pytest.mark.parametrize(("name", "call", "failed"), API_CALLS, ids=IDS)
def test_call_when_disconnected_then_fails_with_no_ipc_until_reconnected(
    terminal: PaperTerminal, name: str, call: Callable[[PaperTerminal], Any], failed: Any
) -> None:
    """set_connected(False) fails every call with -10004; reconnecting restores service."""
    terminal.set_connected(False)

    assert call(terminal) is failed
    assert call(terminal) is failed
    assert terminal.last_error() == NO_IPC

    terminal.set_connected(True)
    result = call(terminal)
    assert result is not None and result is not False
    assert terminal.last_error() == SUCCESS


def test_fail_next_when_called_twice_then_errors_queue_in_order(terminal: PaperTerminal) -> None:
    """Scripted failures are consumed one per call, first in first out."""
    terminal.fail_next(-1, "first")
    terminal.fail_next(-3, "second")

    assert terminal.account_info() is None
    assert terminal.last_error() == (-1, "first")
    assert terminal.positions_get() is None
    assert terminal.last_error() == (-3, "second")
    assert terminal.positions_get() == ()


@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.symbol_info("XAUEUR"),
        lambda t: t.symbol_info_tick("XAUEUR"),
        lambda t: t.copy_ticks_from("XAUEUR", 0, 10, COPY_TICKS_ALL),
        lambda t: t.copy_ticks_range("XAUEUR", 0, 2**31, COPY_TICKS_ALL),
    ],
    ids=["symbol_info", "symbol_info_tick", "copy_ticks_from", "copy_ticks_range"],
)
def test_lookup_when_symbol_unknown_then_none_and_not_found(
    terminal: PaperTerminal, call: Callable[[PaperTerminal], Any]
) -> None:
    """An unknown symbol is RES_E_NOT_FOUND (-4)."""
    assert call(terminal) is None
    assert terminal.last_error()[0] == ResultCode.E_NOT_FOUND


def test_symbol_select_when_symbol_unknown_then_false(terminal: PaperTerminal) -> None:
    """symbol_select answers False for a symbol the terminal does not have."""
    assert terminal.symbol_select("XAUEUR") is False
    assert terminal.last_error()[0] == ResultCode.E_NOT_FOUND
    assert terminal.symbol_select("EURUSD") is True


def test_symbol_info_tick_when_no_tick_yet_then_none(clock: Any) -> None:
    """A known symbol that never ticked has no current tick."""
    fresh = PaperTerminal(clock=clock)
    assert fresh.symbol_info_tick("EURUSD") is None
    assert fresh.last_error()[0] == ResultCode.E_NOT_FOUND


BAD_CALLS: list[tuple[str, Callable[[PaperTerminal], Any]]] = [
    ("send_not_a_dict", lambda t: t.order_send([1, 2])),
    ("send_unknown_field", lambda t: t.order_send({**SEND, "colour": "red"})),
    ("send_volume_str", lambda t: t.order_send({**SEND, "volume": "1"})),
    ("send_type_float", lambda t: t.order_send({**SEND, "type": 0.0})),
    ("check_symbol_int", lambda t: t.order_check({**SEND, "symbol": 7})),
    ("ticks_naive_datetime", lambda t: t.copy_ticks_from("EURUSD", datetime(2026, 3, 2), 5, -1)),
    ("ticks_negative_time", lambda t: t.copy_ticks_from("EURUSD", -5, 5, -1)),
    ("ticks_str_time", lambda t: t.copy_ticks_from("EURUSD", "yesterday", 5, -1)),
    ("ticks_zero_count", lambda t: t.copy_ticks_from("EURUSD", 0, 0, -1)),
    ("ticks_bad_flags", lambda t: t.copy_ticks_from("EURUSD", 0, 5, 3)),
    ("range_bad_end", lambda t: t.copy_ticks_range("EURUSD", 0, None, -1)),
    ("positions_unknown_kwarg", lambda t: t.positions_get(sym="EURUSD")),
    ("positions_ticket_str", lambda t: t.positions_get(ticket="1")),
    ("orders_unknown_kwarg", lambda t: t.orders_get(magic=1)),
    ("deals_without_dates", lambda t: t.history_deals_get()),
    ("deals_unknown_kwarg", lambda t: t.history_deals_get(0, 1, symbol="EURUSD")),
    ("initialize_unknown_kwarg", lambda t: t.initialize(colour="red")),
]  # fmt: skip


@pytest.mark.parametrize("call", [c for _, c in BAD_CALLS], ids=[n for n, _ in BAD_CALLS])
def test_call_when_arguments_invalid_then_none_and_invalid_params(
    terminal: PaperTerminal, call: Callable[[PaperTerminal], Any]
) -> None:
    """Malformed arguments are RES_E_INVALID_PARAMS (-2), never an exception."""
    assert call(terminal) in (None, False)
    assert terminal.last_error()[0] == ResultCode.E_INVALID_PARAMS


def test_login_when_account_differs_then_false_and_auth_failed(terminal: PaperTerminal) -> None:
    """initialize/login with another account number fail with RES_E_AUTH_FAILED (-6)."""
    assert terminal.login(42) is False
    assert terminal.last_error()[0] == ResultCode.E_AUTH_FAILED
    assert terminal.initialize(login=42, password="x", server="s") is False
    assert terminal.initialize(login=5_001_234, password="x", server="s", timeout=1000) is True


def test_positions_get_when_none_open_then_empty_tuple_not_none(terminal: PaperTerminal) -> None:
    """No positions is (), a success, distinct from the failure None."""
    assert terminal.positions_get() == ()
    assert terminal.positions_get(symbol="EURUSD") == ()
    assert terminal.orders_get() == ()
    assert terminal.last_error() == SUCCESS


def test_call_when_bridge_reads_error_then_result_and_error_are_atomic(
    terminal: PaperTerminal,
) -> None:
    """call() returns the result together with the last_error it set."""
    terminal.fail_next(-10001, "send failed")

    assert terminal.call("account_info") == (None, (-10001, "send failed"))
    result, error = terminal.call("positions_get", symbol="EURUSD")
    assert (result, error) == ((), SUCCESS)
    with pytest.raises(AttributeError):
        terminal.call("push_tick", "EURUSD", 1.0, 1.1)


@pytest.mark.parametrize(
    "retcode", [TradeRetcode.TIMEOUT, TradeRetcode.REQUOTE, TradeRetcode.CONNECTION]
)
def test_order_send_when_retcode_scripted_then_returned_without_a_fill(
    terminal: PaperTerminal, retcode: TradeRetcode
) -> None:
    """retcode_for_next_send returns that retcode once, books nothing, then trading resumes."""
    terminal.retcode_for_next_send(retcode)

    refused = terminal.order_send(dict(SEND))
    done = terminal.order_send(dict(SEND))

    assert refused is not None and done is not None
    assert (refused.retcode, refused.deal, refused.order, refused.volume) == (retcode, 0, 0, 0.0)
    assert terminal.last_error() == SUCCESS
    assert done.retcode == TradeRetcode.DONE
    assert len(terminal.positions_get() or ()) == 1
