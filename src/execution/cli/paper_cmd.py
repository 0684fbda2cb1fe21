"""``riskguard paper-terminal``: a simulated MT5 terminal process serving the bridge protocol.

The engine and the monitor connect to it exactly as they would to a terminal under Wine. It keeps
serving after the scenario ends (prices freeze, so a monitor sees the feed go stale).
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import threading

from execution.cli.common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE
from execution.mt5.bridge import make_server
from execution.mt5.constants import PositionType
from execution.paper.runner import run_scenario
from execution.paper.scenarios import build_scenario
from execution.paper.terminal import PaperTerminal

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    paper = sub.add_parser("paper-terminal", help="run the simulated MT5 terminal")
    paper.add_argument("--scenario", default="normal", help="name or replay:FILE")
    paper.add_argument("--seed", type=int, default=0)
    paper.add_argument("--speed", type=float, default=1.0, help="simulated s per wall s (inf ok)")
    paper.add_argument("--listen", default="127.0.0.1:18812", help="HOST:PORT (loopback)")
    paper.add_argument(
        "--position",
        action="append",
        default=[],
        metavar="SYMBOL:buy|sell:LOTS",
        help="open this position at the first price (the account's existing book); repeatable",
    )
    paper.set_defaults(handler=_paper)


def _paper(args: argparse.Namespace) -> int:
    host, _, port_text = args.listen.rpartition(":")
    if not host or not port_text.isdigit():
        sys.stderr.write("--listen must be HOST:PORT\n")
        return EXIT_USAGE
    try:
        scenario = build_scenario(args.scenario, seed=args.seed)
    except (ValueError, OSError) as exc:
        sys.stderr.write(f"paper-terminal: {exc}\n")
        return EXIT_USAGE
    try:
        book = [_position(text) for text in args.position]
    except ValueError as exc:
        sys.stderr.write(f"paper-terminal: {exc}\n")
        return EXIT_USAGE
    terminal = PaperTerminal(seed=args.seed)
    server = make_server(terminal, host, int(port_text))
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    serving = threading.Thread(target=server.start, name="bridge", daemon=True)
    serving.start()
    speed = math.inf if args.speed == math.inf else args.speed
    run = run_scenario(terminal, scenario, speed, stop)
    for symbol, side, lots in book:
        while terminal.last_time_msc(symbol) < 0 and not stop.wait(0.01):
            pass
        terminal.open_position_directly(symbol, side, lots, comment="initial book")
    sys.stdout.write(f"paper-terminal: {scenario.name} on {args.listen} (seed {args.seed})\n")
    sys.stdout.flush()
    stop.wait()
    server.close()
    run.done.wait(5)
    if run.error is not None:
        sys.stderr.write(f"paper-terminal: scenario failed: {run.error!r}\n")
        return EXIT_FAILURE
    return EXIT_OK


def _position(text: str) -> tuple[str, PositionType, float]:
    symbol, _, rest = text.partition(":")
    side, _, lots = rest.partition(":")
    if side not in ("buy", "sell") or not lots.replace(".", "", 1).isdigit():
        raise ValueError(f"--position {text!r}: expected SYMBOL:buy|sell:LOTS")
    return symbol, PositionType.BUY if side == "buy" else PositionType.SELL, float(lots)
