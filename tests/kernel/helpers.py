"""Builders for the kernel specification: symbols, snapshots, positions, deals, a tick desk.

Prices are given in integer points (EURUSD: 110000 = 1.10000) and turned into the broker's
floats only at the edge, so the arithmetic of a test is exact and independent of the book's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from risk.breaker_state import Rebaseline
from risk.circuit_breaker import CircuitBreaker
from risk.clock import ManualClock
from risk.config import RiskConfig, parse_config
from risk.evaluator import Evaluator
from risk.events import EventSink
from risk.guard import Guard
from risk.levels import LevelChange
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

REPO = Path(__file__).resolve().parents[2]
SHIPPED_CONFIG = REPO / "config" / "risk_limits.yaml"

EURUSD = SymbolSpec("EURUSD", 5, Decimal(100000), Decimal("0.00001"), Decimal(1))
GBPUSD = SymbolSpec("GBPUSD", 5, Decimal(100000), Decimal("0.00001"), Decimal(1))
#: an index CFD: a tick is 25 points worth 12.50, so a point is worth 0.50 per lot
US500 = SymbolSpec("US500", 2, Decimal(50), Decimal("0.25"), Decimal("12.5"))
SPECS = {"EURUSD": EURUSD}
ALL_SPECS = {s.name: s for s in (EURUSD, GBPUSD, US500)}

CAPITAL = Decimal("100000.00")
#: Monday 2026-03-02 10:00:00 UTC, inside the shipped trading hours
MONDAY_10 = 1_772_445_600_000
START_PTS = 110_000  # EURUSD 1.10000


def utc_ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, sec, tzinfo=UTC).timestamp() * 1000)


def clock_ms(clock: ManualClock) -> int:
    """The injected wall clock as UTC epoch milliseconds."""
    return int(clock.now().timestamp() * 1000)


# ---------------------------------------------------------------------------- configuration
@cache
def shipped_text() -> str:
    return SHIPPED_CONFIG.read_text(encoding="utf-8")


def yaml_config(*replacements: tuple[str, str]) -> RiskConfig:
    """The shipped file with exact text replacements, validated like the real thing."""
    text = shipped_text()
    for old, new in replacements:
        assert text.count(old) == 1, f"replacement target not unique: {old!r}"
        text = text.replace(old, new)
    return parse_config(text, "risk_limits.yaml", env={})


@cache
def shipped() -> RiskConfig:
    return yaml_config()


def with_section(config: RiskConfig, section: str, **fields: Any) -> RiskConfig:
    """A copy with some fields of one section replaced (no re-validation: toggles only)."""
    part = getattr(config, section).model_copy(update=fields)
    return config.model_copy(update={section: part})


def only(config: RiskConfig, *keep: str) -> RiskConfig:
    """Disable every equity/exposure rule section except ``keep`` (isolates one rule)."""
    sections = (
        "drawdown",
        "daily_loss",
        "leverage",
        "margin",
        "latency",
        "losing_streak",
        "exposure",
        "velocity",
        "data_quality",
    )
    for name in sections:
        if name not in keep:
            config = with_section(config, name, enabled=False)
    return config


# ---------------------------------------------------------------------------- market objects
def price(points: int, digits: int = 5) -> float:
    """Integer points as the broker's float price."""
    scale: int = 10**digits
    return points / scale


def account(
    balance: Decimal | str,
    *,
    equity: Decimal | str | None = None,
    margin: Decimal | str = "0",
    credit: Decimal | str = "0",
    so_call: Decimal | str = "0",
    so_so: Decimal | str = "0",
    leverage: int = 100,
) -> AccountSnapshot:
    bal, mar = Decimal(balance), Decimal(margin)
    eq = bal if equity is None else Decimal(equity)
    level = eq / mar * 100 if mar else Decimal(0)
    return AccountSnapshot(
        login=1001,
        trade_mode=0,
        leverage=leverage,
        balance=bal,
        credit=Decimal(credit),
        profit=eq - bal,
        equity=eq,
        margin=mar,
        margin_free=eq - mar,
        margin_level=level,
        margin_so_call=Decimal(so_call),
        margin_so_so=Decimal(so_so),
        currency="USD",
    )


def position(
    ticket: int,
    volume: Decimal | str,
    *,
    side: PositionType = PositionType.BUY,
    open_pts: int = START_PTS,
    current_pts: int | None = None,
    symbol: str = "EURUSD",
    swap: Decimal | str = "0",
    digits: int = 5,
) -> Position:
    current = open_pts if current_pts is None else current_pts
    return Position(
        ticket=ticket,
        symbol=symbol,
        type=side,
        volume=Decimal(volume),
        price_open=Decimal(open_pts).scaleb(-digits),
        price_current=Decimal(current).scaleb(-digits),
        swap=Decimal(swap),
        profit=Decimal(0),
    )


def deal(
    ticket: int,
    profit: Decimal | str = "0",
    *,
    entry: DealEntry = DealEntry.OUT,
    type: DealType = DealType.SELL,
    swap: Decimal | str = "0",
    commission: Decimal | str = "0",
    fee: Decimal | str = "0",
) -> Deal:
    return Deal(
        ticket=ticket,
        order=ticket,
        position_id=ticket,
        time_msc=0,
        type=type,
        entry=entry,
        volume=Decimal(1),
        price=Decimal("1.1"),
        profit=Decimal(profit),
        swap=Decimal(swap),
        commission=Decimal(commission),
        fee=Decimal(fee),
        symbol="EURUSD",
    )


def opening(ticket: int) -> Deal:
    return deal(ticket, entry=DealEntry.IN, type=DealType.BUY)


def tick(
    bid_pts: int, ask_pts: int | None = None, *, at_ms: int, symbol: str = "EURUSD", digits: int = 5
) -> Tick:
    ask = bid_pts + 2 if ask_pts is None else ask_pts
    return Tick(symbol, price(bid_pts, digits), price(ask, digits), 0.0, 1, at_ms, 0)


def raw_tick(bid: float, ask: float, at_ms: int, symbol: str = "EURUSD") -> Tick:
    return Tick(symbol, bid, ask, 0.0, 1, at_ms, 0)


# ---------------------------------------------------------------------------- clocks
class TickingClock(ManualClock):
    """A manual clock whose monotonic time advances by ``cost_ns`` every time it is read:
    reading it at receipt and again at the end of evaluation measures exactly ``cost_ns``."""

    def __init__(self, start: datetime, cost_ns: int) -> None:
        super().__init__(start)
        self.cost_ns = cost_ns

    def monotonic_ns(self) -> int:
        value = super().monotonic_ns()
        self.advance(ns=self.cost_ns)
        return value


# ---------------------------------------------------------------------------- a desk
class Desk:
    """An evaluator fed like the service feeds it: tick time = wall time (age 0), receipt at the
    clock's monotonic time (processing ~0), one tick every ``step_ms``."""

    def __init__(
        self,
        config: RiskConfig,
        clock: ManualClock,
        *,
        specs: dict[str, SymbolSpec] | None = None,
        start_ms: int = MONDAY_10,
        step_ms: int = 100,
    ) -> None:
        self.ev = Evaluator(config, SPECS if specs is None else specs, clock=clock)
        self.clock = clock
        self.now_ms = start_ms
        self.step_ms = step_ms
        self.changes: list[LevelChange] = []

    def account(
        self,
        snapshot: AccountSnapshot,
        positions: Sequence[Position] = (),
        *,
        at_ms: int | None = None,
    ) -> tuple[LevelChange, ...]:
        if at_ms is not None:
            self.now_ms = at_ms
        out = self.ev.on_account(snapshot, positions, self.now_ms)
        self.changes.extend(out)
        return out

    def tick(
        self, bid_pts: int, ask_pts: int | None = None, *, at_ms: int | None = None
    ) -> tuple[LevelChange, ...]:
        self.now_ms = self.now_ms + self.step_ms if at_ms is None else at_ms
        out = self.ev.on_tick(
            tick(bid_pts, ask_pts, at_ms=self.now_ms), self.now_ms, self.clock.monotonic_ns()
        )
        self.changes.extend(out)
        return out

    def walk(self, bids: Iterable[int]) -> list[tuple[LevelChange, ...]]:
        return [self.tick(b) for b in bids]


def one_lot_desk(config: RiskConfig, clock: ManualClock, *, volume: str = "1", **kw: Any) -> Desk:
    """1 lot (1.00 USD a point) EURUSD long from 1.10000 on a 100,000.00 account."""
    desk = Desk(config, clock, **kw)
    desk.account(account(CAPITAL, margin="1100.00"), [position(1, volume)], at_ms=desk.now_ms)
    return desk


def guard_for(
    evaluator: Evaluator, breaker: CircuitBreaker, sink: EventSink, state_dir: Path
) -> Guard:
    return Guard(evaluator, breaker, sink, state_dir=state_dir, account="1001")


def operator_reset(
    breaker: CircuitBreaker, guard: Guard, rebaseline: tuple[Rebaseline, ...] = ()
) -> None:
    breaker.reset(operator="alice", reason="checked", rebaseline=rebaseline)
    guard.sync_with_breaker()
