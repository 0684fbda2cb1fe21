"""``riskguard demo``: paper terminal + monitor + engine as three real processes, with a live view.

Runs a scenario (default ``flash_crash``) against the config given (derived config and process
output in ``--run-dir``, default ``./var/demo``; state and evidence log there too unless
RISKGUARD_STATE_DIR / RISKGUARD_LOG_DIR say otherwise), shows breaker state,
equity, drawdown, daily loss, leverage, feed age and orders, and ends once the breaker has been
HALTED for a few seconds (or the time limit passes). Ctrl-C stops everything; no process is left.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import orjson
from rich.console import Console
from rich.live import Live
from rich.table import Table

from execution.cli.common import EXIT_FAILURE, EXIT_OK, config_path
from execution.verify.derive import derive_config
from risk.circuit_breaker import CircuitBreaker
from risk.clock import SystemClock
from risk.config import load_config
from risk.events import NullSink
from risk.monitor_snapshot import load_snapshot
from risk.outbox import SegmentTail

__all__ = ["add_parser"]

DEMO_DIR = Path("var/demo")
_EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser("demo", help="paper terminal + monitor + engine, with a live view")
    demo.add_argument("--scenario", default="flash_crash")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--speed", type=float, default=1.0)
    demo.add_argument("--max-seconds", type=float, default=120.0)
    demo.add_argument(
        "--run-dir", type=Path, default=DEMO_DIR, help="derived config, process output, state"
    )
    demo.add_argument(
        "--position", default="EURUSD:buy:1", help="the book at start (SYMBOL:buy|sell:LOTS)"
    )
    demo.set_defaults(handler=_demo)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _derived_config(source: Path, port: int, run_dir: Path, env: dict[str, str]) -> Path:
    """The operator's config with the paper terminal's port, the demo's own state and log dirs
    (so the commands printed at the end work as they are) and every day a trading day (a demo on
    a weekend should still show something): written to a file, not patched in memory."""
    overrides = {
        "broker.port": port,
        "broker.backend": "paper",
        "trading_hours.days": _EVERY_DAY,
        "paths.state_dir": str(Path(env["RISKGUARD_STATE_DIR"]).resolve()),
        "paths.log_dir": str(Path(env["RISKGUARD_LOG_DIR"]).resolve()),
    }
    return derive_config(source, run_dir / "risk_limits.yaml", overrides=overrides)


class _OrderCount:
    """Orders sent and denied over every evidence segment, reading only bytes not seen yet."""

    def __init__(self, log_dir: Path) -> None:
        self._tail = SegmentTail(log_dir)
        self.sent = 0
        self.denied = 0

    def refresh(self) -> None:
        for line in self._tail.new_lines():
            event = orjson.loads(line).get("event")
            self.sent += event == "engine.order_sent"
            self.denied += event == "engine.order_denied"


def _demo(args: argparse.Namespace) -> int:
    run_dir: Path = args.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "RISKGUARD_STATE_DIR": os.environ.get("RISKGUARD_STATE_DIR", str(run_dir / "state")),
        "RISKGUARD_LOG_DIR": os.environ.get("RISKGUARD_LOG_DIR", str(run_dir / "log")),
    }
    port = _free_port()
    cfg_path = _derived_config(config_path(args), port, run_dir, env)
    config = load_config(cfg_path, env=env)
    base = [sys.executable, "-m", "execution.cli", "--config", str(cfg_path)]
    state_dir = Path(env["RISKGUARD_STATE_DIR"])
    breaker = CircuitBreaker.from_config(
        config, role="demo", clock=SystemClock(), sink=NullSink(), watch_heartbeat=True
    )
    logs = {name: open(run_dir / f"{name}.out", "wb") for name in ("paper", "monitor", "engine")}  # noqa: SIM115
    procs: dict[str, subprocess.Popen[bytes]] = {}
    console = Console()
    try:
        procs["paper"] = subprocess.Popen(
            [
                *base,
                "paper-terminal",
                "--scenario",
                args.scenario,
                "--seed",
                str(args.seed),
                "--speed",
                str(args.speed),
                "--listen",
                f"127.0.0.1:{port}",
                "--position",
                args.position,
            ],
            env=env,
            stdout=logs["paper"],
            stderr=subprocess.STDOUT,
        )
        _wait_port(port, procs["paper"])
        procs["monitor"] = subprocess.Popen(
            [*base, "monitor"], env=env, stdout=logs["monitor"], stderr=subprocess.STDOUT
        )
        _wait_monitor(state_dir, procs["monitor"])
        procs["engine"] = subprocess.Popen(
            [*base, "engine"], env=env, stdout=logs["engine"], stderr=subprocess.STDOUT
        )
        orders = _OrderCount(Path(env["RISKGUARD_LOG_DIR"]))
        halted_at: float | None = None
        deadline = time.monotonic() + args.max_seconds
        with Live(console=console, refresh_per_second=4) as live:
            while time.monotonic() < deadline:
                live.update(_view(breaker, state_dir, orders, procs))
                if any(p.poll() is not None for p in procs.values()):
                    break
                view = breaker.read()
                if view.readable and view.state.value == "HALTED":
                    halted_at = halted_at or time.monotonic()
                    if time.monotonic() - halted_at > 3:
                        break
                time.sleep(0.25)
    except KeyboardInterrupt:
        console.print("interrupted")
    finally:
        _stop_all(procs)
        for handle in logs.values():
            handle.close()
    view = breaker.read()
    console.print(
        f"\nbreaker: [bold]{view.state.value}[/] trigger {view.trigger.value}: {view.reason}"
    )
    rg = f"riskguard --config {cfg_path}"
    cooldown = config.kill_switch.recovery_cooldown_seconds
    for line in (
        f"inspect:  {rg} status",
        f"events:   {rg} logs --event 'breaker.*' --event 'risk.*'",
        f"reset:    {rg} breaker reset --operator you --reason '...' --rebaseline-peak"
        f" --rebaseline-daily   (allowed {cooldown} s after the trip; the rebaseline flags"
        " accept the loss: peak and daily baseline restart at today's equity, else the monitor"
        " would trip again and the reset is refused)",
    ):
        console.print(line, soft_wrap=True, markup=False, highlight=False)
    crashed = [n for n, p in procs.items() if p.returncode not in (0, -signal.SIGTERM)]
    if crashed:
        console.print(f"[red]exited abnormally: {', '.join(crashed)} (see {run_dir}/*.out)[/]")
        return EXIT_FAILURE
    return EXIT_OK


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"paper terminal exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("paper terminal did not start listening")


def _wait_monitor(state_dir: Path, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """The monitor is up once it has initialised the breaker and written its first heartbeat."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the monitor exited with {proc.returncode}")
        if (state_dir / "monitor.heartbeat").exists() and (state_dir / "breaker.json").exists():
            return
        time.sleep(0.05)
    raise RuntimeError("the monitor did not start")


def _stop_all(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    for name in ("engine", "monitor", "paper"):
        proc = procs.get(name)
        if proc is not None and proc.poll() is None:
            proc.terminate()
    for proc in procs.values():
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _view(
    breaker: CircuitBreaker,
    state_dir: Path,
    orders: _OrderCount,
    procs: dict[str, subprocess.Popen[bytes]],
) -> Table:
    view, gate = breaker.read(), breaker.gate()
    snap = load_snapshot(state_dir)
    table = Table(title="riskguard demo", show_header=True)
    table.add_column("what")
    table.add_column("value")
    table.add_row("breaker", f"{view.state.value} ({view.trigger.value})")
    table.add_row("engine gate", f"{gate.state.value} ({gate.reason_code.value})")
    if snap is not None:
        table.add_row("equity", snap.figures.get("equity", "-"))
        table.add_row("high-water mark", snap.figures.get("high_water_mark", "-"))
        for code in ("DRAWDOWN", "DAILY_LOSS", "LEVERAGE", "FEED_STALE", "VELOCITY"):
            rule = snap.rules.get(code)
            if rule is not None:
                value = f"{Decimal(rule.value):.4f}"
                table.add_row(code.lower(), f"{value} / {rule.limit} [{rule.level}]")
    orders.refresh()
    table.add_row("orders sent / denied", f"{orders.sent} / {orders.denied}")
    table.add_row(
        "processes",
        " ".join(f"{n}:{'up' if p.poll() is None else p.returncode}" for n, p in procs.items()),
    )
    return table
