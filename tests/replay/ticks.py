"""Generated tick files with a known crash, and the breaching tick computed independently.

The independent model is the rule text of ARCHITECTURE §5, in ``Decimal``, not the evaluator:
equity = balance + (bid - open ask) x contract x lots for a long opened at the first tick's ask;
drawdown = (high-water mark - equity) / high-water mark, the mark starting at the first equity;
daily loss = (baseline - equity) / baseline with baseline = max(balance, first equity); a limit
reached exactly trips; on the same tick the rule evaluated first (drawdown) is the trigger.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

__all__ = ["T0", "Row", "crash_rows", "expected_trip", "write_mt5", "write_plain"]

T0 = int(datetime(2024, 3, 4, 9, 0, tzinfo=UTC).timestamp() * 1000)  # a Monday morning
POINT = Decimal("0.00001")
CONTRACT = Decimal(100_000)


@dataclass(frozen=True, slots=True)
class Row:
    time_msc: int
    bid: Decimal
    ask: Decimal


def crash_rows(
    *,
    lead: int = 300,
    decline: int = 150,
    tail: int = 20,
    step_points: int = 20,
    spread_points: int = 50,
    start: str = "1.10000",
    interval_ms: int = 100,
    t0: int = T0,
) -> list[Row]:
    """``lead`` flat ticks, ``decline`` ticks each ``step_points`` lower, ``tail`` flat ones."""
    bid = Decimal(start)
    spread = spread_points * POINT
    rows = []
    t = t0
    for i in range(lead + decline + tail):
        if lead <= i < lead + decline:
            bid -= step_points * POINT
        rows.append(Row(t, bid, bid + spread))
        t += interval_ms
    return rows


def expected_trip(
    rows: Sequence[Row],
    *,
    balance: Decimal = Decimal("100000.00"),
    lots: Decimal = Decimal(1),
    open_price: Decimal | None = None,
    drawdown_pct: Decimal = Decimal("2.0"),
    daily_pct: Decimal = Decimal("2.0"),
) -> tuple[int, str]:
    """(tick index, trigger) of the first breach of drawdown or daily loss."""
    opened = rows[0].ask if open_price is None else open_price

    def equity(row: Row) -> Decimal:
        return balance + (row.bid - opened) * CONTRACT * lots

    first = equity(rows[0])
    hwm = first
    baseline = max(balance, first)
    for index, row in enumerate(rows):
        eq = equity(row)
        hwm = max(hwm, eq)
        if (hwm - eq) * 100 >= drawdown_pct * hwm:
            return index, "DRAWDOWN"
        if (baseline - eq) * 100 >= daily_pct * baseline:
            return index, "DAILY_LOSS"
    raise AssertionError("the rows never breach")


def _plain(rows: Sequence[Row]) -> str:
    return "time_msc,bid,ask\n" + "".join(f"{r.time_msc},{r.bid},{r.ask}\n" for r in rows)


def write_plain(path: Path, rows: Sequence[Row], *, gz: bool = False) -> Path:
    data = _plain(rows).encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def write_mt5(path: Path, rows: Sequence[Row]) -> Path:
    """An MT5 tick export (tab-separated, UTF-16 as the terminal writes it)."""
    lines = ["<DATE>\t<TIME>\t<BID>\t<ASK>\t<LAST>\t<VOLUME>\t<FLAGS>"]
    for r in rows:
        when = datetime.fromtimestamp(r.time_msc / 1000, tz=UTC)
        stamp = when.strftime("%Y.%m.%d\t%H:%M:%S.") + f"{r.time_msc % 1000:03d}"
        lines.append(f"{stamp}\t{r.bid}\t{r.ask}\t\t\t6")
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-16"))
    return path
