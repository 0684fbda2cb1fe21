"""Account maths: floating P/L (long at bid, short at ask), margin by leverage, equity, costs.

Expected values are computed here, independently, with Decimal: profit is the price move times
volume times contract, converted to USD at the bid when the profit currency is JPY; margin is
volume times contract (times the open price when the base currency is not USD) over leverage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from execution.mt5.constants import DealEntry, PositionType, TradeRetcode
from execution.paper import AccountSettings, PaperTerminal, default_symbols
from risk.clock import ManualClock

D = Decimal
BALANCE = D("100000.00")


def cents(x: Decimal) -> Decimal:
    return x.quantize(D("0.01"), ROUND_HALF_UP)


@dataclass(frozen=True)
class Case:
    symbol: str
    side: PositionType
    volume: str
    later_bid: str
    later_ask: str
    profit: Decimal
    margin: Decimal
    price_open: str


CASES = [
    Case(
        "EURUSD", PositionType.BUY, "1.00", "1.08250", "1.08262",
        profit=(D("1.08250") - D("1.08010")) * 1 * 100_000,
        margin=D("1.00") * 100_000 * D("1.08010") / 100, price_open="1.08010",
    ),
    Case(
        "EURUSD", PositionType.SELL, "2.00", "1.08250", "1.08262",
        profit=(D("1.08000") - D("1.08262")) * 2 * 100_000,
        margin=D("2.00") * 100_000 * D("1.08000") / 100, price_open="1.08000",
    ),
    Case(
        "USDJPY", PositionType.BUY, "1.00", "150.500", "150.514",
        profit=(D("150.500") - D("150.012")) * 1 * 100_000 / D("150.500"),
        margin=D("1.00") * 100_000 / 100, price_open="150.012",
    ),
    Case(
        "USDJPY", PositionType.SELL, "0.50", "149.321", "149.335",
        profit=(D("150.000") - D("149.335")) * D("0.5") * 100_000 / D("149.321"),
        margin=D("0.50") * 100_000 / 100, price_open="150.000",
    ),
    Case(
        "GBPUSD", PositionType.BUY, "0.30", "1.26500", "1.26512",
        profit=(D("1.26500") - D("1.27012")) * D("0.3") * 100_000,
        margin=D("0.30") * 100_000 * D("1.27012") / 100, price_open="1.27012",
    ),
]  # fmt: skip
IDS = [f"{c.symbol}-{c.side.name}-{c.volume}" for c in CASES]


def send(terminal: PaperTerminal, symbol: str, side: int, volume: float, **extra: int) -> int:
    result = terminal.order_send(
        {"action": 1, "symbol": symbol, "volume": volume, "type": side, **extra}
    )
    assert result is not None and result.retcode == TradeRetcode.DONE, result
    return result.order


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_position_when_price_moves_then_profit_margin_and_equity_follow(
    terminal: PaperTerminal, case: Case
) -> None:
    """One position: P/L at bid (long) or ask (short), margin by leverage, equity, free, level."""
    send(terminal, case.symbol, case.side, float(case.volume))
    terminal.push_tick(case.symbol, float(case.later_bid), float(case.later_ask))

    (pos,) = terminal.positions_get() or ()
    info = terminal.account_info()

    assert info is not None
    profit, margin = cents(case.profit), cents(case.margin)
    equity = BALANCE + profit
    current = case.later_bid if case.side is PositionType.BUY else case.later_ask
    assert (pos.price_open, pos.price_current) == (float(case.price_open), float(current))
    assert pos.profit == float(profit)
    assert (info.profit, info.equity, info.margin) == (float(profit), float(equity), float(margin))
    assert info.margin_free == float(equity - margin)
    assert info.margin_level == float(cents(equity / margin * 100))


def test_account_when_several_positions_then_totals_are_sums(terminal: PaperTerminal) -> None:
    """Account profit sums the per-position (cent-rounded) profits; margin sums the margins."""
    for case in CASES:
        send(terminal, case.symbol, case.side, float(case.volume))
    for case in CASES:
        terminal.push_tick(case.symbol, float(case.later_bid), float(case.later_ask))

    info = terminal.account_info()
    positions = terminal.positions_get() or ()

    assert info is not None and len(positions) == len(CASES)
    # the two EURUSD positions see the same last quote; the USDJPY pair each the last one too
    last = {c.symbol: c for c in CASES}
    expected_profit = D(0)
    expected_margin = D(0)
    for case in CASES:
        q = last[case.symbol]
        price_open = D(case.price_open)
        vol = D(case.volume)
        close = D(q.later_bid) if case.side is PositionType.BUY else D(q.later_ask)
        move = close - price_open if case.side is PositionType.BUY else price_open - close
        rate = 1 / D(q.later_bid) if case.symbol == "USDJPY" else D(1)
        expected_profit += cents(move * vol * 100_000 * rate)
        expected_margin += case.margin
    assert info.profit == float(expected_profit)
    assert info.equity == float(BALANCE + expected_profit)
    assert info.margin == float(cents(expected_margin))
    assert sum(D(repr(p.profit)) for p in positions) == expected_profit


def test_margin_level_when_flat_then_zero_meaning_not_applicable(terminal: PaperTerminal) -> None:
    """No margin in use reports margin_level 0.0 (n/a), free margin equal to equity."""
    info = terminal.account_info()
    assert info is not None
    assert (info.margin, info.margin_level, info.margin_free) == (0.0, 0.0, info.equity)


def test_symbol_info_when_quoted_then_tick_value_is_usd_per_tick_per_lot(
    terminal: PaperTerminal,
) -> None:
    """tick_value: 1 USD for EURUSD; tick_size x contract / bid for USDJPY."""
    eur = terminal.symbol_info("EURUSD")
    jpy = terminal.symbol_info("USDJPY")
    assert eur is not None and jpy is not None
    assert (eur.digits, eur.trade_contract_size, eur.trade_tick_size) == (5, 100_000.0, 0.00001)
    assert eur.trade_tick_value == pytest.approx(1.0)
    assert (jpy.digits, jpy.trade_tick_size) == (3, 0.001)
    assert jpy.trade_tick_value == pytest.approx(float(D("0.001") * 100_000 / D("150.000")))
    assert (jpy.bid, jpy.ask) == (150.0, 150.012)


def test_close_when_position_closed_then_balance_gains_exactly_the_floating_profit(
    terminal: PaperTerminal,
) -> None:
    """Closing realises what was floating: equity is unchanged, balance absorbs the profit."""
    ticket = send(terminal, "USDJPY", PositionType.SELL, 0.5)
    terminal.push_tick("USDJPY", 149.321, 149.335)
    before = terminal.account_info()

    send(terminal, "USDJPY", PositionType.BUY, 0.5, position=ticket)
    after = terminal.account_info()

    assert before is not None and after is not None
    assert after.balance == before.equity == after.equity
    assert (after.profit, after.margin) == (0.0, 0.0)


def test_order_when_commission_set_then_each_deal_carries_it_per_side(clock: ManualClock) -> None:
    """commission_per_lot is charged on the IN and on the OUT deal, and leaves the balance."""
    t = PaperTerminal(symbols=default_symbols(commission_per_lot=D("3.50")), clock=clock)
    t.push_tick("EURUSD", 1.08000, 1.08010)
    ticket = send(t, "EURUSD", PositionType.BUY, 2.0)
    t.push_tick("EURUSD", 1.08110, 1.08120)

    send(t, "EURUSD", PositionType.SELL, 2.0, position=ticket)

    deals = t.history_deals_get(position=ticket) or ()
    info = t.account_info()
    assert info is not None
    assert [(d.entry, d.commission) for d in deals] == [(DealEntry.IN, -7.0), (DealEntry.OUT, -7.0)]
    profit = (D("1.08110") - D("1.08010")) * 2 * 100_000
    assert deals[1].profit == float(profit)
    assert info.balance == float(BALANCE - 14 + profit)


def test_position_when_held_over_rollovers_then_swap_accrues_per_day(clock: ManualClock) -> None:
    """Swap per lot per day accrues at each server midnight and is paid on the OUT deal."""
    t = PaperTerminal(
        symbols=default_symbols(swap_long_per_lot_day=D("-6.50"), swap_short_per_lot_day=D(2)),
        clock=clock,
    )
    t.push_tick("EURUSD", 1.08000, 1.08010)
    long_ticket = send(t, "EURUSD", PositionType.BUY, 1.0)
    short_ticket = send(t, "EURUSD", PositionType.SELL, 0.5)

    clock.advance(timedelta(hours=14).total_seconds())  # 09:30 -> 23:30: no rollover yet
    no_swap = {p.ticket: p.swap for p in t.positions_get() or ()}
    clock.advance(timedelta(days=1, hours=1).total_seconds())  # two midnights crossed
    swaps = {p.ticket: p.swap for p in t.positions_get() or ()}
    send(t, "EURUSD", PositionType.SELL, 1.0, position=long_ticket)

    assert no_swap == {long_ticket: 0.0, short_ticket: 0.0}
    assert swaps == {long_ticket: -13.0, short_ticket: 2.0}
    out = (t.history_deals_get(position=long_ticket) or ())[-1]
    assert (out.entry, out.swap) == (DealEntry.OUT, -13.0)
    info = t.account_info()
    assert info is not None
    assert info.equity == pytest.approx(info.balance + info.profit)


def test_deal_time_when_server_offset_set_then_server_clock_is_utc_plus_offset(
    clock: ManualClock,
) -> None:
    """Deal and tick times follow the broker server clock: UTC plus the account's offset."""
    t = PaperTerminal(AccountSettings(server_utc_offset_seconds=7200), clock=clock)
    tick = t.push_tick("EURUSD", 1.08000, 1.08010)
    utc_ms = int(clock.now().timestamp() * 1000)

    deal = (t.history_deals_get(0, 2**31) or ())[0]

    assert tick.time_msc == deal.time_msc == utc_ms + 7_200_000


def test_order_when_margin_exceeds_equity_then_no_money_and_nothing_booked(
    terminal: PaperTerminal,
) -> None:
    """A 100-lot EURUSD buy needs 108 010 USD of margin on 100 000: NO_MONEY from check and send."""
    request = {"action": 1, "symbol": "EURUSD", "volume": 100.0, "type": 0}

    checked = terminal.order_check(dict(request))
    sent = terminal.order_send(dict(request))

    assert checked is not None and sent is not None
    assert checked.retcode == sent.retcode == TradeRetcode.NO_MONEY
    assert checked.margin == float(cents(D(100) * 100_000 * D("1.08010") / 100))
    assert checked.margin_free < 0
    assert terminal.positions_get() == ()


def test_order_check_when_request_fits_then_retcode_zero_and_account_after(
    terminal: PaperTerminal,
) -> None:
    """order_check success is retcode 0 ("Done") with the account as it would be after."""
    checked = terminal.order_check({"action": 1, "symbol": "EURUSD", "volume": 1.0, "type": 0})

    assert checked is not None
    spread_loss = (D("1.08000") - D("1.08010")) * 100_000
    margin = D("1.08010") * 100_000 / 100
    assert (checked.retcode, checked.comment) == (0, "Done")
    assert (checked.balance, checked.equity) == (100_000.0, float(BALANCE + spread_loss))
    assert (checked.margin, checked.margin_free) == (
        float(margin),
        float(BALANCE + spread_loss - margin),
    )
    assert terminal.positions_get() == ()


def test_price_when_margin_level_falls_to_stop_out_then_broker_closes_worst_position(
    terminal: PaperTerminal,
) -> None:
    """At margin level <= margin_so_so (50 %) positions are closed, reason DEAL_REASON_SO (6)."""
    big = terminal.open_position_directly("EURUSD", PositionType.BUY, 150.0)
    info = terminal.account_info()
    assert info is not None and info.margin_level > 50

    terminal.push_tick("EURUSD", 1.07700, 1.07710)

    assert terminal.positions_get() == ()
    out = (terminal.history_deals_get(position=big.ticket) or ())[-1]
    assert (out.entry, out.reason) == (DealEntry.OUT, 6)
    assert out.comment.startswith("[so ")
    assert out.profit == float((D("1.07700") - D("1.08010")) * 150 * 100_000)


def test_fill_when_slippage_configured_then_adverse_within_bound_and_seeded(
    clock: ManualClock,
) -> None:
    """Buys fill at ask + 0..N points, sells at bid - 0..N; the same seed gives the same fills."""

    def fills(seed: int) -> list[float]:
        t = PaperTerminal(clock=clock, seed=seed, slippage_points=5)
        t.push_tick("EURUSD", 1.08000, 1.08010)
        out = []
        for side in (0, 1) * 10:
            r = t.order_send({"action": 1, "symbol": "EURUSD", "volume": 0.1, "type": side})
            assert r is not None and r.retcode == TradeRetcode.DONE
            out.append(r.price)
        return out

    first, again, other = fills(7), fills(7), fills(8)

    buys, sells = first[0::2], first[1::2]
    assert all(1.08010 <= p <= 1.08015 + 1e-9 for p in buys) and max(buys) > 1.08010
    assert all(1.07995 - 1e-9 <= p <= 1.08000 for p in sells) and min(sells) < 1.08000
    assert first == again != other


def test_send_when_fill_beyond_deviation_then_requote(clock: ManualClock) -> None:
    """With a request price, a fill further than ``deviation`` points from it is REQUOTE."""
    t = PaperTerminal(clock=clock, seed=1, slippage_points=5)
    t.push_tick("EURUSD", 1.08000, 1.08010)
    strict = {"action": 1, "symbol": "EURUSD", "volume": 0.1, "type": 0, "price": 1.0801}

    tight = [t.order_send({**strict, "deviation": 0}) for _ in range(20)]
    loose = [t.order_send({**strict, "deviation": 5}) for _ in range(20)]

    codes = {r.retcode for r in tight if r is not None}
    assert codes == {TradeRetcode.REQUOTE, TradeRetcode.DONE}
    assert all(r is not None and r.retcode == TradeRetcode.DONE for r in loose)
