"""``riskguard replay TICKS.csv``: the risk limits over a historical tick file (what-if).

Exit codes: 0 the replay ran (whether or not anything tripped); 2 a bad argument or a file that is
not a tick file (missing, unknown header, a position it cannot price); 1 the file broke during the
replay (a malformed row: file and line are named) or the output could not be written;
78 a configuration error.
"""

from __future__ import annotations

import argparse
import sys
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from execution.cli.common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, config_path
from execution.paper.events import ScenarioError
from execution.replay.broker import PositionSpec, parse_position, read_positions_file
from execution.replay.charts import render_charts
from execution.replay.engine import RunSetup, replay_file
from execution.replay.report import ReplayMeta, build_report, write_report
from execution.replay.source import TickFile, open_tick_file
from execution.replay.sweep import SweepError, parse_sweep, sweep_settings
from execution.strategy import make_strategy
from risk.config import ConfigError, ConfigIssue, load_config

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "replay",
        help="what-if: run the limits over a tick file and report (JSON, Markdown, charts)",
        description="Run the exact evaluator and breaker semantics over an MT5 tick export or a "
        "plain CSV (time_msc,bid,ask[,symbol]; .gz too) and write DIR/report.json, "
        "DIR/report.md and PNG charts.",
    )
    p.add_argument("ticks", metavar="TICKS.csv", help="MT5 tick export or plain CSV, maybe .gz")
    p.add_argument("--config", dest="replay_config", metavar="PATH", help="risk_limits.yaml")
    p.add_argument(
        "--balance", metavar="AMOUNT", help="starting balance (default: initial capital)"
    )
    p.add_argument(
        "--position",
        action="append",
        default=[],
        metavar="SYMBOL:buy|sell:LOTS[@PRICE]",
        help="an open position at the start; without @PRICE it opens at the first tick's "
        "price (ask for a buy, bid for a sell); repeatable",
    )
    p.add_argument(
        "--positions", metavar="FILE", help="positions, one SYMBOL:side:LOTS[@PRICE] a line"
    )
    p.add_argument("--strategy", metavar="NAME", help="trade the sample strategy (sample_momentum)")
    p.add_argument(
        "--sweep",
        action="append",
        default=[],
        metavar="SECTION.KEY=V1,V2,...",
        help="replay once per value (e.g. drawdown.limit_pct=1.5,2,3); several move together",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="where the report and charts go")
    p.add_argument("--no-charts", action="store_true", help="skip the PNG charts")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )
    p.set_defaults(handler=_replay)


def _fail(code: int, message: str) -> int:
    sys.stderr.write(f"replay: {message}\n")
    return code


def _positions(args: argparse.Namespace) -> list[PositionSpec]:
    specs = [parse_position(text) for text in args.position]
    if args.positions:
        specs += read_positions_file(Path(args.positions))
    return specs


def _replay(args: argparse.Namespace) -> int:
    path = Path(args.replay_config) if args.replay_config else config_path(args)
    if not path.is_file():
        raise ConfigError(str(path), [ConfigIssue("", "no config file (use --config PATH)")])
    config = load_config(path)
    try:
        positions = _positions(args)
        if args.strategy:
            make_strategy(args.strategy)
        balance = Decimal(args.balance) if args.balance else config.account.initial_capital
        if not balance.is_finite() or balance < 0:
            raise ValueError(f"--balance {args.balance}: must be a non-negative amount")
        settings = sweep_settings([parse_sweep(s) for s in args.sweep], path) if args.sweep else []
        tick_file = open_tick_file(Path(args.ticks))
    except InvalidOperation:
        return _fail(EXIT_USAGE, f"--balance {args.balance!r} is not an amount")
    except (ValueError, SweepError, ScenarioError) as exc:
        return _fail(EXIT_USAGE, str(exc))
    except OSError as exc:
        return _fail(EXIT_USAGE, f"{exc.filename or ''}: {exc.strerror or exc}")
    setups = [RunSetup("base", config, charts=not args.no_charts)]
    setups += [RunSetup(s.label, s.config) for s in settings if s.config is not None]
    console = Console(stderr=True)
    show = console.is_terminal if args.progress is None else args.progress
    started = time.perf_counter()
    with Progress(
        TextColumn("[bold]replay[/]"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[ticks]} ticks"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not show,
        transient=False,
    ) as bar:
        task = bar.add_task("replay", total=max(tick_file.size, 1), ticks="0")

        def progress(tf: TickFile, index: int) -> None:
            bar.update(task, completed=tf.position, ticks=f"{index:,}")

        try:
            tick_file, runs = replay_file(
                tick_file.path,
                setups,
                positions=positions,
                balance=balance,
                strategy=args.strategy,
                progress=progress,
            )
        except ScenarioError as exc:
            return _fail(EXIT_FAILURE, str(exc))
        except ValueError as exc:
            return _fail(EXIT_USAGE, str(exc))
        bar.update(task, completed=max(tick_file.size, 1))
    seconds = time.perf_counter() - started
    base = runs[0]
    out = Path(args.out)
    charts = {} if args.no_charts else render_charts(base, out)
    by_label = {run.label: run for run in runs[1:]}
    sweep = [(s, by_label.get(s.label) if s.config is not None else None) for s in settings]
    meta = ReplayMeta(
        config_path=str(path),
        balance=balance,
        positions=tuple(str(p) for p in positions),
        strategy=args.strategy,
        seconds=seconds,
        charts=charts,
    )
    report = build_report(tick_file, base, meta, sweep)
    json_path, md_path = write_report(out, report)
    _print_summary(report, json_path, md_path)
    return EXIT_OK


def _print_summary(report: dict[str, object], json_path: Path, md_path: Path) -> None:
    r = report
    first = r["first_trip"]
    final = r["final"]
    assert isinstance(final, dict)
    lines = [f"replay: {r['ticks']:,} ticks, final state {final['state']}"]
    if isinstance(first, dict):
        lines.append(
            f"  first trip: {first['trigger']} at tick {first['tick_index']:,} "
            f"(time_msc {first['time_msc']}): {first['value']} {first['unit']}, "
            f"limit {first['limit']} {first['unit']}"
        )
    else:
        lines.append("  no trip")
    lines.append(
        f"  max drawdown {r['max_drawdown_pct']} %, worst daily loss "
        f"{r['worst_daily_loss_pct']} %, peak leverage {r['peak_leverage']}x"
    )
    sweep = r["sweep"]
    if isinstance(sweep, list):
        lines.append("  sweep:")
        for row in sweep:
            if row["valid"]:
                trip = row["first_trip"]
                where = f"{trip['trigger']} @ tick {trip['tick_index']:,}" if trip else "no trip"
                lines.append(f"    {row['setting']:<40} {row['trips']:>5} trips  {where}")
            else:
                lines.append(f"    {row['setting']:<40} invalid: {row['error']}")
    lines.append(f"  wrote {json_path}, {md_path}")
    sys.stdout.write("\n".join(lines) + "\n")
