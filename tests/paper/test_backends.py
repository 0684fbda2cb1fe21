"""Backend selection: native needs Windows + MetaTrader5, bridge/paper speak the bridge protocol."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from rpyc.core import consts
from rpyc.core.protocol import Connection

from execution.mt5.backends import load_backend
from execution.mt5.bridge import BridgeClient, make_server
from execution.mt5.constants import ResultCode
from execution.paper import PaperTerminal
from risk.config import ConfigError, RiskConfig
from tests.system.stack import free_port, wait_for


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


# rpyc leaves a socket to the garbage collector when a connection attempt fails or the server
# closes first; that is rpyc's, not a leak of ours (the system tests watch our fds).
RPYC_SOCKETS = [
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


def test_load_backend_when_native_on_linux_then_clear_config_error(
    shipped_config: RiskConfig,
) -> None:
    """The native backend fails with a ConfigError naming the alternatives, not an ImportError."""
    cfg = shipped_config.broker.model_copy(update={"backend": "native"})
    with pytest.raises(ConfigError, match="'bridge' or 'paper'"):
        load_backend(cfg)


@pytest.fixture
def served() -> Iterator[tuple[PaperTerminal, int]]:
    terminal, port = PaperTerminal(seed=1), free_port()
    server = make_server(terminal, "127.0.0.1", port)
    thread = threading.Thread(target=server.start, daemon=True)
    thread.start()
    wait_for(lambda: _listening(port), 10, "the bridge server to listen")
    yield terminal, port
    server.close()


@RPYC_SOCKETS[0]
@RPYC_SOCKETS[1]
def test_bridge_client_when_terminal_served_then_same_types_and_failure_convention(
    served: tuple[PaperTerminal, int],
) -> None:
    """Over the bridge, results are our NamedTuples and None comes with its own last_error."""
    terminal, port = served
    terminal.push_tick("EURUSD", 1.08, 1.08002)
    client = BridgeClient("127.0.0.1", port, timeout_s=2.0)
    try:
        tick = client.symbol_info_tick("EURUSD")
        assert tick is not None and tick._fields[:3] == ("time", "bid", "ask")
        assert client.symbol_info("NOPE") is None
        assert client.last_error()[0] == ResultCode.E_NOT_FOUND
        assert client.account_info() is not None
        assert client.last_error()[0] == ResultCode.S_OK
    finally:
        client.close()


@RPYC_SOCKETS[0]
@RPYC_SOCKETS[1]
def test_bridge_client_when_server_gone_then_none_and_ipc_error() -> None:
    """No server: None and RES_E_INTERNAL_FAIL_CONNECT, like a dead terminal, never an exception."""
    client = BridgeClient("127.0.0.1", free_port(), timeout_s=0.5)
    assert client.account_info() is None
    assert client.last_error()[0] == ResultCode.E_INTERNAL_FAIL_CONNECT


@RPYC_SOCKETS[0]
@RPYC_SOCKETS[1]
def test_bridge_client_when_polling_then_one_request_per_call(
    served: tuple[PaperTerminal, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each poll is one round trip: no per-call attribute lookup or netref release messages."""
    terminal, port = served
    terminal.push_tick("EURUSD", 1.08, 1.08002)
    client = BridgeClient("127.0.0.1", port, timeout_s=2.0)
    try:
        client.symbol_info_tick("EURUSD")  # connect outside the count
        sent: list[int] = []
        original = Connection._send

        def counting(self: Connection, msg: int, seq: int, args: object) -> None:
            if msg == consts.MSG_REQUEST:  # the server runs in this process: skip its replies
                sent.append(msg)
            original(self, msg, seq, args)

        monkeypatch.setattr(Connection, "_send", counting)
        for _ in range(20):
            assert client.copy_ticks_from("EURUSD", 0, 10, -1) is not None
        monkeypatch.undo()
        assert len(sent) == 20
    finally:
        client.close()
