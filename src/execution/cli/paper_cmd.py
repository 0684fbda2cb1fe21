"""``riskguard paper-terminal``: a simulated MT5 terminal process serving the bridge protocol.

The engine and the monitor connect to it exactly as they would to a terminal under Wine. It keeps
serving after the scenario ends (prices freeze, so a monitor sees the feed go stale).

``--account-file`` makes the account outlive the process, as a broker's server does: restored at
start when the file exists (the scenario starts over, the books do not), rewritten after every
change. ``--position`` is the book of a new account only: on a restored one it is ignored (the
saved positions are the book; re-opening would double it at every restart). A damaged file exits
1 and is left as it is.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import threading
from pathlib import Path

from execution.cli.common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, GIL_SWITCH_INTERVAL_S
from execution.mt5.bridge import make_server
from execution.mt5.constants import PositionType
from execution.paper.account_file import AccountFileError
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
        help="open this position at the first price (the account's existing book); repeatable; "
        "a new account's only: ignored when --account-file restores one",
    )
    paper.add_argument(
        "--account-file",
        type=Path,
        metavar="PATH",
        help="keep the account (balance, positions, deals, ticket numbers) in this JSON file "
        "across restarts: restored if it exists, rewritten after every change; a damaged file "
        "refuses to start",
    )
    paper.set_defaults(handler=_paper)


def _paper(args: argparse.Namespace) -> int:
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)  # serve requests while the scenario runs
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
    try:
        terminal = PaperTerminal(seed=args.seed, account_file=args.account_file)
    except AccountFileError as exc:
        sys.stderr.write(
            f"paper-terminal: {exc}\nrefusing to start: fix the file, or move it away to start "
            "a new account\n"
        )
        return EXIT_FAILURE
    account_line = ""
    if args.account_file is not None:
        books = terminal.ledger  # nobody else uses the terminal yet
        account_line = (
            f"paper-terminal: account {'restored from' if terminal.restored else 'new, saved to'} "
            f"{args.account_file}: balance {books.balance}, {len(books.positions)} open "
            f"position(s), {len(books.deals)} deal(s)\n"
        )
    if terminal.restored:
        if book:
            sys.stderr.write(
                f"paper-terminal: --position ignored: account restored from {args.account_file}\n"
            )
        book = []
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
    sys.stdout.write(account_line)
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
