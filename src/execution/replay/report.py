"""``report.json`` (machine-readable, schema ``riskguard.replay/1``) and ``report.md`` (for people).

Exact decimals (percentages, money, limits) are strings, as in breaker evidence; counts and
times are integers. ``REPORT_KEYS`` is the top-level key set, kept stable (tests assert it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import orjson

from execution.replay.engine import ReplayRun
from execution.replay.recorder import MAX_EVENTS, Entry, iso_ms
from execution.replay.source import TickFile
from execution.replay.sweep import Setting
from risk.units import from_units

__all__ = ["REPORT_KEYS", "SCHEMA", "TRIP_KEYS", "ReplayMeta", "build_report", "write_report"]

SCHEMA: Final = "riskguard.replay/1"
REPORT_KEYS: Final = frozenset(
    {
        "schema",
        "generated_at",
        "source",
        "config",
        "period",
        "ticks",
        "start",
        "final",
        "first_trip",
        "trips",
        "warnings",
        "counts",
        "max_drawdown_pct",
        "worst_daily_loss_pct",
        "peak_leverage",
        "min_margin_level_pct",
        "longest_losing_streak",
        "headroom",
        "daily",
        "stale_gaps",
        "bad_ticks",
        "strategy",
        "sweep",
        "charts",
        "notes",
        "performance",
    }
)
#: every trip has these; a warning has the same minus the breaker fields
TRIP_KEYS: Final = frozenset(
    {
        "tick_index",
        "time_msc",
        "time",
        "source",
        "symbol",
        "bid",
        "ask",
        "trigger",
        "level",
        "value",
        "warning",
        "limit",
        "unit",
        "equity",
        "high_water_mark",
        "action",
        "from_state",
        "to_state",
        "changed",
        "also",
    }
)
NOTES: Final = (
    "Replay clock: now is the tick's UTC time; tick processing time and tick age are 0, so "
    "TICK_LATENCY and TICK_AGE cannot trip; a silent feed is the gap between tick times.",
    "tick_index counts every tick of the file from 0 (bad ticks included); a timer trip (a "
    "silent feed) carries the index of the tick that ended the silence and the time it tripped.",
    "Only the first trip changes the breaker's state (or REDUCING then HALTED); later trips are "
    "history (changed: false), as in breaker.json. A replay never resets.",
)


@dataclass(frozen=True, slots=True)
class ReplayMeta:
    config_path: str
    balance: Decimal
    positions: tuple[str, ...]
    strategy: str | None
    seconds: float
    charts: Mapping[str, str]


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _summary(run: ReplayRun) -> dict[str, Any]:
    """The figures shared by the report and each sweep row."""
    rec = run.recorder
    head = rec.headroom()
    return {
        "max_drawdown_pct": str(rec.drawdown.pct()),
        "worst_daily_loss_pct": str(rec.worst_daily().pct()),
        "peak_leverage": head["LEVERAGE"]["worst"],
        "min_margin_level_pct": head["MARGIN_LEVEL"]["worst"],
        "longest_losing_streak": int(head["LOSING_STREAK"]["worst"] or 0),
        "headroom": head,
    }


def _symbol_notes(tick_file: TickFile, run: ReplayRun) -> list[str]:
    notes = []
    untradable = sorted(tick_file.symbols - set(run.broker.symbols))
    if untradable:
        notes.append(
            f"Not simulated by the paper account: {', '.join(untradable)} (their ticks were "
            "judged — data quality, stale feed — but no position or order can use them)."
        )
    unwatched = sorted(tick_file.symbols - set(run.config.feed.symbols))
    if unwatched:
        notes.append(
            f"Not in feed.symbols: {', '.join(unwatched)}. A live monitor with this config "
            "would not poll them; the replay judged them anyway."
        )
    return notes


def _first_trip(run: ReplayRun) -> Entry | None:
    return run.recorder.trips[0] if run.recorder.trips else None


def _sweep_row(setting: Setting, run: ReplayRun | None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "setting": setting.label,
        "values": dict(setting.values),
        "valid": run is not None,
        "error": setting.error,
        "trips": None,
        "warnings": None,
        "first_trip": None,
        "final_state": None,
        "max_drawdown_pct": None,
        "worst_daily_loss_pct": None,
    }
    if run is not None:
        first = _first_trip(run)
        summary = _summary(run)
        row.update(
            trips=run.recorder.trip_count,
            warnings=run.recorder.warning_count,
            first_trip=None
            if first is None
            else {k: first[k] for k in ("tick_index", "time_msc", "trigger", "value", "limit")},
            final_state=run.breaker.state.value,
            max_drawdown_pct=summary["max_drawdown_pct"],
            worst_daily_loss_pct=summary["worst_daily_loss_pct"],
        )
    return row


def build_report(
    tick_file: TickFile,
    run: ReplayRun,
    meta: ReplayMeta,
    sweep: Sequence[tuple[Setting, ReplayRun | None]] = (),
) -> dict[str, Any]:
    rec = run.recorder
    ev = run.evaluator
    first_ms = rec.first_utc_ms or 0
    offset = run.config.broker.server_utc_offset_seconds * 1000
    book = ev.book
    engine = run.engine_stats
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "source": {
            "path": str(tick_file.path),
            "format": tick_file.format.kind,
            "gzip": tick_file.gzip,
            "bytes": tick_file.size,
            "rows": tick_file.rows,
            "skipped_rows": tick_file.skipped,
            "symbols": sorted(tick_file.symbols),
        },
        "config": {
            "path": meta.config_path,
            "kill_switch": run.config.kill_switch.mode,
            "server_utc_offset_seconds": run.config.broker.server_utc_offset_seconds,
        },
        "period": {
            "start": iso_ms(first_ms),
            "end": iso_ms(rec.last_utc_ms or first_ms),
            "start_time_msc": first_ms + offset,
            "end_time_msc": (rec.last_utc_ms or first_ms) + offset,
        },
        "ticks": rec.ticks,
        "start": {
            "balance": str(meta.balance),
            "positions": list(meta.positions),
            "strategy": meta.strategy,
        },
        "final": {
            "state": run.breaker.state.value,
            "trigger": _str(run.breaker.trigger and run.breaker.trigger.value),
            "equity": str(book.equity_money()),
            "balance": str(from_units(book.balance)),
            "high_water_mark": str(from_units(ev.hwm)),
            "open_positions": book.open_positions(),
        },
        "first_trip": _first_trip(run),
        "trips": rec.trips,
        "warnings": rec.warnings,
        "counts": {
            "trips": rec.trip_count,
            "warnings": rec.warning_count,
            "listed_max": MAX_EVENTS,
        },
        **_summary(run),
        "daily": rec.daily_table(),
        "stale_gaps": {
            "threshold_seconds": run.config.latency.stale_feed_seconds,
            "count": rec.gap_count,
            "longest": rec.longest_gaps(),
        },
        "bad_ticks": {
            "total": sum(rec.bad_kinds.values()),
            "by_kind": dict(sorted(rec.bad_kinds.items())),
            "examples": rec.bad_examples,
        },
        "strategy": None
        if engine is None
        else {
            "name": meta.strategy,
            "orders_sent": engine.sent,
            "orders_filled": engine.filled,
            "orders_denied": engine.denied,
            "orders_rejected": engine.rejected,
        },
        "sweep": [_sweep_row(setting, r) for setting, r in sweep] if sweep else None,
        "charts": dict(meta.charts),
        "notes": [*NOTES, *_symbol_notes(tick_file, run)],
        "performance": {
            "seconds": round(meta.seconds, 3),
            "ticks_per_second": round(rec.ticks / meta.seconds) if meta.seconds > 0 else None,
        },
    }
    assert set(report) == REPORT_KEYS
    return report


def write_report(out: Path, report: Mapping[str, Any]) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "report.json"
    json_path.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    md_path = out / "report.md"
    md_path.write_text(render_markdown(report), encoding="utf-8")
    return json_path, md_path


# ---------------------------------------------------------------------- markdown
_MD_TRIPS = 50


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    def cell(value: Any) -> str:
        return "—" if value is None else str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines


def _short(value: str | None) -> str | None:
    """An exact decimal string shortened for people (the JSON keeps every digit)."""
    if value is None:
        return None
    try:
        number = Decimal(value)
    except ArithmeticError:
        return value
    if number == number.to_integral_value():
        return str(number.quantize(Decimal(1)))
    return str(number.quantize(Decimal("0.000001")).normalize())


def _worst(h: Mapping[str, Any]) -> str:
    if h["worst"] is not None:
        return f"{_short(h['worst'])} {h['unit']}"
    return "n/a (replay clock)" if "replay clock" in (h["note"] or "") else "n/a (no margin used)"


def _where(trip: Mapping[str, Any] | None) -> str | None:
    return None if trip is None else f"{trip['trigger']} @ tick {trip['tick_index']:,}"


def render_markdown(r: Mapping[str, Any]) -> str:
    src, period, final = r["source"], r["period"], r["final"]
    first = r["first_trip"]
    lines = [
        "# What-if replay",
        "",
        f"- file: `{src['path']}` ({src['format']}{', gzip' if src['gzip'] else ''}, "
        f"symbols {', '.join(src['symbols']) or '—'})",
        f"- config: `{r['config']['path']}` (kill switch {r['config']['kill_switch']})",
        f"- period: {period['start']} → {period['end']}, {r['ticks']:,} ticks",
        f"- start: balance {r['start']['balance']}, positions "
        f"{', '.join(r['start']['positions']) or 'none'}, strategy {r['start']['strategy'] or '—'}",
        f"- end: **{final['state']}**"
        + (f" ({final['trigger']})" if final["trigger"] else "")
        + f", equity {final['equity']}, {final['open_positions']} open position(s)",
        "",
    ]
    if first is None:
        lines += ["No trip.", ""]
    else:
        lines += [
            f"**First trip:** {first['trigger']} at tick {first['tick_index']:,} "
            f"({first['time']}, time_msc {first['time_msc']}): {_short(first['value'])} "
            f"{first['unit']} reached limit {first['limit']} {first['unit']} → "
            f"{first['to_state']}.",
            "",
        ]
    lines += [
        "## Figures",
        "",
        *_table(
            ["figure", "value"],
            [
                ["max drawdown", f"{r['max_drawdown_pct']} %"],
                ["worst daily loss", f"{r['worst_daily_loss_pct']} %"],
                ["peak leverage", f"{r['peak_leverage']} x"],
                [
                    "lowest margin level",
                    f"{r['min_margin_level_pct']} %" if r["min_margin_level_pct"] else None,
                ],
                ["longest losing streak", r["longest_losing_streak"]],
                ["trips / warnings", f"{r['counts']['trips']} / {r['counts']['warnings']}"],
                [
                    f"stale gaps ≥ {r['stale_gaps']['threshold_seconds']} s",
                    r["stale_gaps"]["count"],
                ],
                ["bad ticks", r["bad_ticks"]["total"]],
            ],
        ),
        "",
        "## Headroom",
        "",
        "How far each rule's worst value got from its hard limit (negative: crossed).",
        "",
        *_table(
            ["rule", "worst", "warning", "limit", "headroom", "% of limit", "warn/breach"],
            [
                [
                    code,
                    _worst(h),
                    h["warning"],
                    h["limit"],
                    None if h["headroom"] is None else f"{_short(h['headroom'])} {h['unit']}",
                    h["headroom_pct"],
                    f"{h['warnings']}/{h['breaches']}",
                ]
                for code, h in r["headroom"].items()
                if h["enabled"]
            ],
        ),
        "",
    ]
    if r["trips"]:
        lines += ["## Trips", ""]
        lines += _table(
            ["tick", "time", "trigger", "value", "limit", "state", "also"],
            [
                [
                    f"{t['tick_index']:,}",
                    t["time"],
                    t["trigger"],
                    f"{_short(t['value'])} {t['unit']}",
                    f"{t['limit']} {t['unit']}",
                    f"{t['from_state']} → {t['to_state']}",
                    ", ".join(t["also"]) or None,
                ]
                for t in r["trips"][:_MD_TRIPS]
            ],
        )
        if r["counts"]["trips"] > _MD_TRIPS:
            lines.append(f"\n… {r['counts']['trips'] - _MD_TRIPS} more in report.json")
        lines.append("")
    if r["sweep"]:
        lines += ["## Sweep", ""]
        lines += _table(
            ["setting", "trips", "first trip", "final state", "max drawdown %", "error"],
            [
                [
                    row["setting"],
                    row["trips"],
                    _where(row["first_trip"]),
                    row["final_state"],
                    row["max_drawdown_pct"],
                    row["error"],
                ]
                for row in r["sweep"]
            ],
        )
        lines.append("")
    gaps = r["stale_gaps"]["longest"]
    if gaps:
        lines += ["## Longest feed gaps", ""]
        lines += _table(
            ["start", "seconds", "in trading hours", "tick"],
            [[g["start"], g["seconds"], g["in_trading_hours"], g["tick_index"]] for g in gaps],
        )
        lines.append("")
    if r["bad_ticks"]["total"]:
        kinds = ", ".join(f"{k} {v}" for k, v in r["bad_ticks"]["by_kind"].items())
        lines += ["## Bad ticks", "", kinds, ""]
    if r["charts"]:
        lines += ["## Charts", ""]
        lines += [f"![{name}]({file})" for name, file in r["charts"].items()]
        lines.append("")
    lines += ["## Notes", "", *(f"- {note}" for note in r["notes"]), ""]
    return "\n".join(lines)
