"""order_send on a hedging account: opens, closes, partial closes and the deal history."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from execution.mt5.constants import DealEntry, DealType, PositionType, TradeRetcode
from execution.paper import PaperTerminal
from risk.clock import ManualClock

D = Decimal


def deal_request(symbol: str, side: int, volume: float, **extra: Any) -> dict[str, Any]:
    return {"action": 1, "symbol": symbol, "volume": volume, "type": side, **extra}


def test_history_when_terminal_starts_then_first_deal_is_the_balance_deposit(
    terminal: PaperTerminal, clock: ManualClock
) -> None:
    """The opening balance is one DEAL_TYPE_BALANCE deal with the balance as profit."""
    (deal,) = terminal.history_deals_get(clock.now() - timedelta(days=1), clock.now()) or ()
    assert (deal.type, deal.entry, deal.profit, deal.symbol) == (DealType.BALANCE, 0, 1e5, "")


def test_send_when_buy_then_position_and_in_deal_at_ask(terminal: PaperTerminal) -> None:
    """A market buy fills at the ask, opens a position whose ticket is the order's."""
    result = terminal.order_send(
        deal_request("EURUSD", 0, 0.3, magic=77, comment="engine", deviation=10)
    )

    assert result is not None
    (pos,) = terminal.positions_get(symbol="EURUSD") or ()
    (deal,) = terminal.history_deals_get(ticket=result.order) or ()
    assert (result.retcode, result.price, result.volume) == (TradeRetcode.DONE, 1.0801, 0.3)
    assert (result.bid, result.ask, result.comment) == (1.08, 1.0801, "Request executed")
    assert (pos.ticket, pos.identifier, pos.type, pos.magic) == (result.order,) * 2 + (0, 77)
    assert (pos.volume, pos.comment, pos.reason) == (0.3, "engine", 3)
    assert (deal.ticket, deal.type, deal.entry, deal.position_id) == (
        result.deal,
        DealType.BUY,
        DealEntry.IN,
        pos.ticket,
    )
    assert (deal.profit, deal.price, deal.magic) == (0.0, 1.0801, 77)


def test_send_when_opposite_order_without_position_then_hedges_not_nets(
    terminal: PaperTerminal,
) -> None:
    """Hedging: a sell without ``position`` opens a second position next to the buy."""
    terminal.order_send(deal_request("EURUSD", 0, 1.0))
    terminal.order_send(deal_request("EURUSD", 1, 1.0))

    positions = terminal.positions_get() or ()
    assert sorted(p.type for p in positions) == [PositionType.BUY, PositionType.SELL]


def test_send_when_closing_by_position_then_out_deal_with_profit(terminal: PaperTerminal) -> None:
    """Closing a long sells at the bid; the OUT deal carries the realised profit."""
    opened = terminal.order_send(deal_request("EURUSD", 0, 1.0))
    assert opened is not None
    terminal.push_tick("EURUSD", 1.08110, 1.08120)

    closed = terminal.order_send(deal_request("EURUSD", 1, 1.0, position=opened.order))

    assert closed is not None and closed.retcode == TradeRetcode.DONE
    assert terminal.positions_get() == ()
    (deal_in, deal_out) = terminal.history_deals_get(position=opened.order) or ()
    assert (deal_out.type, deal_out.entry, deal_out.price) == (DealType.SELL, DealEntry.OUT, 1.0811)
    assert deal_out.profit == float((D("1.08110") - D("1.08010")) * 100_000)
    assert deal_in.entry == DealEntry.IN and deal_out.order == closed.order


def test_send_when_partial_close_then_position_shrinks_and_out_deal_has_part_profit(
    terminal: PaperTerminal, clock: ManualClock
) -> None:
    """Closing 0.4 of a 1.0-lot short leaves 0.6 open; the OUT deal holds 0.4's profit."""
    opened = terminal.order_send(deal_request("USDJPY", 1, 1.0))
    assert opened is not None
    clock.advance(5)
    terminal.push_tick("USDJPY", 149.500, 149.512)

    terminal.order_send(deal_request("USDJPY", 0, 0.4, position=opened.order))

    (pos,) = terminal.positions_get(ticket=opened.order) or ()
    out = (terminal.history_deals_get(position=opened.order) or ())[-1]
    assert (pos.volume, pos.time_update_msc - pos.time_msc) == (0.6, 5000)
    assert (out.entry, out.volume, out.type) == (DealEntry.OUT, 0.4, DealType.BUY)
    expected = (D("150.000") - D("149.512")) * D("0.4") * 100_000 / D("149.500")
    assert out.profit == float(expected.quantize(D("0.01")))


REFUSALS = [
    ("unknown_symbol", deal_request("XAUUSD", 0, 1.0), TradeRetcode.INVALID),
    ("pending_action", {**deal_request("EURUSD", 2, 1.0), "action": 5}, TradeRetcode.INVALID),
    ("limit_type", deal_request("EURUSD", 2, 1.0), TradeRetcode.INVALID),
    ("zero_volume", deal_request("EURUSD", 0, 0.0), TradeRetcode.INVALID_VOLUME),
    ("below_min", deal_request("EURUSD", 0, 0.001), TradeRetcode.INVALID_VOLUME),
    ("off_step", deal_request("EURUSD", 0, 0.015), TradeRetcode.INVALID_VOLUME),
    ("above_max", deal_request("EURUSD", 0, 501.0), TradeRetcode.INVALID_VOLUME),
    ("nan_volume", deal_request("EURUSD", 0, float("nan")), TradeRetcode.INVALID_VOLUME),
    ("no_position", deal_request("EURUSD", 1, 1.0, position=999), TradeRetcode.POSITION_CLOSED),
    ("no_money", deal_request("EURUSD", 0, 100.0), TradeRetcode.NO_MONEY),
]  # fmt: skip


@pytest.mark.parametrize(
    ("request_", "retcode"), [(r, c) for _, r, c in REFUSALS], ids=[n for n, _, _ in REFUSALS]
)
def test_send_when_request_refused_then_retcode_and_no_booking(
    terminal: PaperTerminal, request_: dict[str, Any], retcode: TradeRetcode
) -> None:
    """A refused request is a result with the retcode (not None) and books nothing."""
    deals_before = terminal.history_deals_get(0, 2**31)

    result = terminal.order_send(request_)

    assert result is not None and (result.retcode, result.deal, result.order) == (retcode, 0, 0)
    assert terminal.last_error() == (1, "Success")
    assert terminal.history_deals_get(0, 2**31) == deals_before


@pytest.mark.parametrize(
    ("side", "volume", "retcode"),
    [(0, 0.5, TradeRetcode.INVALID), (1, 1.5, TradeRetcode.INVALID_CLOSE_VOLUME)],
    ids=["same_side", "too_much"],
)
def test_send_when_close_request_inconsistent_then_refused(
    terminal: PaperTerminal, side: int, volume: float, retcode: TradeRetcode
) -> None:
    """A close must be the opposite side and at most the position's volume."""
    opened = terminal.order_send(deal_request("EURUSD", 0, 1.0))
    assert opened is not None

    result = terminal.order_send(deal_request("EURUSD", side, volume, position=opened.order))

    assert result is not None and result.retcode == retcode
    assert [p.volume for p in terminal.positions_get() or ()] == [1.0]


def test_send_when_symbol_never_quoted_then_price_off(clock: ManualClock) -> None:
    """No prices yet: PRICE_OFF."""
    result = PaperTerminal(clock=clock).order_send(deal_request("EURUSD", 0, 1.0))
    assert result is not None and result.retcode == TradeRetcode.PRICE_OFF


def test_history_when_filtered_then_by_order_position_group_and_time(
    terminal: PaperTerminal, clock: ManualClock
) -> None:
    """history_deals_get selects by order ticket, position, group masks or time range."""
    start = clock.now()
    eur = terminal.order_send(deal_request("EURUSD", 0, 1.0))
    clock.advance(60)
    jpy = terminal.order_send(deal_request("USDJPY", 0, 1.0))
    clock.advance(60)
    terminal.order_send(deal_request("EURUSD", 1, 1.0, position=eur.order if eur else 0))
    assert eur is not None and jpy is not None

    by_time = terminal.history_deals_get(start + timedelta(seconds=30), start + timedelta(days=1))
    no_eur = terminal.history_deals_get(start, start + timedelta(days=1), group="*,!EUR*")
    epoch = int(start.timestamp())
    in_seconds = terminal.history_deals_get(epoch, epoch)

    assert [d.symbol for d in by_time or ()] == ["USDJPY", "EURUSD"]
    assert [d.symbol for d in no_eur or ()] == ["", "USDJPY"]
    assert [d.symbol for d in in_seconds or ()] == ["", "EURUSD"]
    assert [d.entry for d in terminal.history_deals_get(position=eur.order) or ()] == [0, 1]
    assert [d.position_id for d in terminal.history_deals_get(ticket=jpy.order) or ()] == [
        jpy.order
    ]


def test_positions_get_when_filtered_then_symbol_ticket_or_group(terminal: PaperTerminal) -> None:
    """positions_get(symbol=|ticket=|group=) select; symbol wins over ticket."""
    eur = terminal.order_send(deal_request("EURUSD", 0, 1.0))
    gbp = terminal.order_send(deal_request("GBPUSD", 1, 1.0))
    assert eur is not None and gbp is not None

    def symbols(**kw: Any) -> list[str]:
        return [p.symbol for p in terminal.positions_get(**kw) or ()]

    assert symbols(symbol="GBPUSD") == ["GBPUSD"]
    assert symbols(ticket=eur.order) == ["EURUSD"]
    assert symbols(symbol="GBPUSD", ticket=eur.order) == ["GBPUSD"]
    assert symbols(group="*USD*,!GBP*") == ["EURUSD"]
    assert symbols(group="!EUR*") == []
    assert symbols() == ["EURUSD", "GBPUSD"]


def test_direct_position_when_opened_by_hand_then_visible_with_client_reason(
    terminal: PaperTerminal,
) -> None:
    """open_position_directly books a real position (magic 0, reason CLIENT) without checks."""
    pos = terminal.open_position_directly("EURUSD", PositionType.BUY, 100.0)

    (seen,) = terminal.positions_get() or ()
    deal = terminal.close_position_directly(pos.ticket, 40.0)

    assert (seen.volume, seen.magic, seen.reason, seen.price_open) == (100.0, 0, 0, 1.0801)
    assert (deal.entry, deal.volume, deal.profit) == (DealEntry.OUT, 40.0, -400.0)
    assert [p.volume for p in terminal.positions_get() or ()] == [60.0]
    with pytest.raises(KeyError):
        terminal.close_position_directly(123)
