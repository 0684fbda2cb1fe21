"""The account file: the paper account outlives the terminal process, as on a broker's server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from execution.mt5.bridge import BridgeClient
from execution.mt5.constants import DealEntry, PositionType, TradeRetcode
from execution.paper import PaperTerminal
from execution.paper.account_file import AccountFileError
from execution.paper.ledger import REASON_SO
from execution.verify.stack import free_port, wait_for
from risk.clock import ManualClock

D = Decimal
REPO = Path(__file__).resolve().parents[2]


def deal_request(symbol: str, side: int, volume: float, **extra: Any) -> dict[str, Any]:
    return {"action": 1, "symbol": symbol, "volume": volume, "type": side, **extra}


def quoted(clock: ManualClock, path: Path) -> PaperTerminal:
    t = PaperTerminal(clock=clock, account_file=path)
    if not t.restored:
        t.push_tick("EURUSD", 1.08000, 1.08010)
        t.push_tick("USDJPY", 150.000, 150.012)
    return t


def traded(clock: ManualClock, path: Path) -> PaperTerminal:
    """An account with two open positions (one partly closed), a closed one and a withdrawal."""
    t = quoted(clock, path)
    kept = t.order_send(deal_request("EURUSD", 0, 0.3, magic=77, comment="engine"))
    clock.advance(1.0)
    t.push_tick("USDJPY", 150.100, 150.112)
    short = t.order_send(deal_request("USDJPY", 1, 1.25, magic=77))
    t.open_position_directly("EURUSD", PositionType.BUY, 2.0, comment="manual")
    clock.advance(1.0)
    t.push_tick("EURUSD", 1.08100, 1.08110)
    assert kept is not None and short is not None
    t.order_send(deal_request("EURUSD", 1, 0.3, position=kept.order))
    t.order_send(deal_request("USDJPY", 0, 0.5, position=short.order))
    t.deposit(D("-1234.56"), "Withdrawal")
    return t


def everything(t: PaperTerminal) -> tuple[object, ...]:
    far = t.server_time_msc() + 1
    return (
        t.ledger.state(),
        t.positions_get(),
        t.history_deals_get(0, far),
        t.account_info(),
    )


def test_account_with_positions_and_deals_when_restored_then_books_are_identical(
    clock: ManualClock, tmp_path: Path
) -> None:
    """Balance, every field of every open position, the whole deal history and the next ticket
    numbers come back exactly; positions are valued at the saved prices."""
    path = tmp_path / "account.json"
    before = traded(clock, path)

    after = PaperTerminal(clock=clock, account_file=path)

    assert after.restored and not before.restored
    assert everything(after) == everything(before)
    assert len(after.ledger.positions) == 2 and len(after.ledger.deals) == 7


def test_account_file_when_written_then_versioned_json_with_money_as_decimal_strings(
    clock: ManualClock, tmp_path: Path
) -> None:
    """No float for what the ledger keeps in Decimal: balance, volumes, prices, quotes."""
    path = tmp_path / "account.json"
    t = traded(clock, path)

    doc = json.loads(path.read_text())

    assert (doc["format"], doc["version"]) == ("riskguard.paper-account", 1)
    assert doc["balance"] == str(t.ledger.balance) and D(doc["balance"]) == t.ledger.balance
    (short,) = (p for p in doc["positions"] if p["symbol"] == "USDJPY")
    assert (short["volume"], short["price_open"]) == ("0.75", "150.100")
    assert doc["quotes"]["EURUSD"] == {"bid": "1.081", "ask": "1.0811"}


def test_restored_account_when_trading_continues_then_ticket_numbers_continue(
    clock: ManualClock, tmp_path: Path
) -> None:
    """Order, position and deal tickets pick up after the last issued: none is ever reused."""
    path = tmp_path / "account.json"
    before = traded(clock, path)
    last_order = max(d.order for d in before.ledger.deals)
    last_deal = max(d.ticket for d in before.ledger.deals)

    after = PaperTerminal(clock=clock, account_file=path)
    result = after.order_send(deal_request("EURUSD", 0, 0.1))
    deposit = after.deposit(D(10))

    assert result is not None and result.retcode == TradeRetcode.DONE
    assert (result.order, result.deal) == (last_order + 1, last_deal + 1)
    assert (deposit.order, deposit.ticket) == (last_order + 2, last_deal + 2)
    (new,) = after.positions_get(ticket=result.order) or ()
    assert new.ticket == last_order + 1


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t.order_send(deal_request("EURUSD", 0, 1.0)),
        lambda t: t.open_position_directly("EURUSD", PositionType.SELL, 0.5),
        lambda t: t.close_position_directly(next(iter(t.ledger.positions)), 0.1),
        lambda t: t.close_position_directly(next(iter(t.ledger.positions))),
        lambda t: t.deposit(D("250.00")),
    ],
    ids=["order_send", "open_by_hand", "partial_close", "close", "deposit"],
)
def test_account_when_ledger_changes_then_file_has_it_before_the_call_returns(
    clock: ManualClock, tmp_path: Path, mutate: Callable[[PaperTerminal], object]
) -> None:
    """A kill right after any call loses nothing: every mutation is written before it returns."""
    path = tmp_path / "account.json"
    t = quoted(clock, path)
    t.open_position_directly("EURUSD", PositionType.BUY, 0.5)

    mutate(t)

    assert PaperTerminal(clock=clock, account_file=path).ledger.state() == t.ledger.state()


def test_account_when_broker_stops_out_then_file_has_the_stop_out(
    clock: ManualClock, tmp_path: Path
) -> None:
    """A stop-out (on a tick, not on a client call) is written too."""
    path = tmp_path / "account.json"
    t = quoted(clock, path)
    big = t.open_position_directly("EURUSD", PositionType.BUY, 150.0)

    t.push_tick("EURUSD", 1.07700, 1.07710)

    restored = PaperTerminal(clock=clock, account_file=path)
    assert restored.positions_get() == ()
    out = restored.ledger.deals[-1]
    assert (out.position_id, out.entry, out.reason) == (big.ticket, DealEntry.OUT, REASON_SO)


def test_account_file_when_missing_then_new_account_created_and_saved(
    clock: ManualClock, tmp_path: Path
) -> None:
    """No file: today's fresh account (the opening deposit), written out at once."""
    path = tmp_path / "account.json"

    t = PaperTerminal(clock=clock, account_file=path)

    assert not t.restored
    doc = json.loads(path.read_text())
    assert doc["balance"] == "100000.00" and doc["positions"] == []
    assert [d["comment"] for d in doc["deals"]] == ["Deposit"]


def _edit(change: Callable[[dict[str, Any]], None]) -> Callable[[bytes], bytes]:
    def apply(data: bytes) -> bytes:
        doc = json.loads(data)
        change(doc)
        return json.dumps(doc).encode()

    return apply


DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "empty": lambda data: b"",
    "truncated": lambda data: data[: len(data) // 2],
    "not-an-object": lambda data: b"[1, 2]",
    "other-version": _edit(lambda d: d.update(version=2)),
    "other-login": _edit(lambda d: d.update(login=42)),
    "balance-as-float": _edit(lambda d: d.update(balance=99_000.5)),
    "balance-not-a-number": _edit(lambda d: d.update(balance="NaN")),
    "position-missing-field": _edit(lambda d: d["positions"][0].pop("price_open")),
    "position-unknown-symbol": _edit(lambda d: d["positions"][0].update(symbol="XAUUSD")),
    "deal-volume-as-text": _edit(lambda d: d["deals"][1].update(volume="lots")),
    "deal-ticket-reissued": _edit(lambda d: d.update(next_deal=d["deals"][-1]["ticket"])),
    "order-ticket-reissued": _edit(lambda d: d.update(next_order=d["positions"][0]["ticket"])),
    "duplicate-deal": _edit(lambda d: d["deals"].append(d["deals"][-1])),
}


@pytest.mark.parametrize("damage", list(DAMAGE.values()), ids=list(DAMAGE))
def test_damaged_account_file_when_terminal_starts_then_refused_and_file_left_alone(
    clock: ManualClock, tmp_path: Path, damage: Callable[[bytes], bytes]
) -> None:
    """A damaged account is never replaced by a fresh one: the constructor raises, naming the
    file, and the file is not rewritten."""
    path = tmp_path / "account.json"
    traded(clock, path)
    path.write_bytes(damage(path.read_bytes()))
    damaged = path.read_bytes()

    with pytest.raises(AccountFileError, match=str(path)):
        PaperTerminal(clock=clock, account_file=path)
    assert path.read_bytes() == damaged


# -- the CLI, as real processes ------------------------------------------------------------------


def _paper_cli(out: Path, *args: str) -> subprocess.Popen[bytes]:
    """``riskguard paper-terminal ARGS``, stdout and stderr to ``out``."""
    env = {k: v for k, v in os.environ.items() if k != "RISKGUARD_CONFIG"}
    with out.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "execution.cli", "paper-terminal", "--seed", "7", *args],
            env=env,
            cwd=REPO,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


def _positions(port: int) -> tuple[tuple[int, str, float], ...] | None:
    client = BridgeClient("127.0.0.1", port, timeout_s=2.0)
    try:
        got = client.positions_get()
    finally:
        client.close()
    return None if got is None else tuple((p.ticket, p.symbol, p.volume) for p in got)


def _run_until_started(tmp_path: Path, account: Path, run: int) -> tuple[Any, ...]:
    """Start the CLI with a one-position book; once it reports it has started (after opening
    the book, if it does), read its positions and stop it."""
    port = free_port()
    out = tmp_path / f"paper-{run}.out"
    proc = _paper_cli(
        out, "--listen", f"127.0.0.1:{port}", "--position", "EURUSD:buy:1",
        "--account-file", str(account),
    )  # fmt: skip

    def started() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"paper-terminal exited {proc.returncode}: {out.read_text()}")
        return "paper-terminal: normal on" in out.read_text()

    try:
        wait_for(started, 30, "the paper terminal to start")
        book = _positions(port)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert proc.returncode == 0, out.read_text()
    assert book is not None
    return book


@pytest.mark.multiprocess
def test_paper_terminal_cli_when_restarted_on_account_file_then_position_option_not_reapplied(
    tmp_path: Path,
) -> None:
    """``--position`` is a new account's book: a restart on the account file keeps the saved
    position (same ticket) and does not open the book a second time."""
    account = tmp_path / "account.json"

    first = _run_until_started(tmp_path, account, 1)
    again = _run_until_started(tmp_path, account, 2)

    assert len(first) == 1 and first[0][1:] == ("EURUSD", 1.0)
    assert again == first


@pytest.mark.multiprocess
def test_paper_terminal_cli_when_account_file_damaged_then_exits_1_and_keeps_the_file(
    tmp_path: Path,
) -> None:
    """A damaged account file stops the terminal with a clear error; nothing is overwritten."""
    account = tmp_path / "account.json"
    account.write_text('{"format": "riskguard.paper-account", "version": 1, "bal')

    out = tmp_path / "paper.out"
    proc = _paper_cli(out, "--listen", f"127.0.0.1:{free_port()}", "--account-file", str(account))
    proc.wait(timeout=30)

    assert proc.returncode == 1, out.read_text()
    assert f"account file {account}: not JSON" in out.read_text()
    assert "refusing to start" in out.read_text()
    assert account.read_text() == '{"format": "riskguard.paper-account", "version": 1, "bal'
