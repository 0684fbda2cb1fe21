"""A real three-process stack: paper terminal + monitor + engine, sharing one breaker dir.

Each process is ``python -m execution.cli`` with a config derived from a base file
(:func:`~execution.verify.derive.derive_config`: the terminal's port, every day a trading day,
test-sized timeouts, private state and log dirs). Used by ``riskguard verify`` and by the system
tests; the caller owns ``root``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, TypeVar

from execution.mt5.bridge import BridgeClient
from execution.verify.derive import derive_config
from execution.verify.evidence import Event, EvidenceTail
from risk.circuit_breaker import BreakerView, CircuitBreaker
from risk.clock import SystemClock
from risk.events import NullSink

__all__ = [
    "HEARTBEAT_TIMEOUT_MS",
    "ProcessDied",
    "Stack",
    "WaitTimeout",
    "free_port",
    "running_stack",
    "wait_for",
]

T = TypeVar("T")

#: the derived config's heartbeat timeout (the shipped one is 3000 ms)
HEARTBEAT_TIMEOUT_MS: Final = 1500
_START_TIMEOUT_S: Final = 30.0
#: variables a child must not inherit from whoever runs the verifier (a systemd unit, a shell)
_NOT_INHERITED: Final = (
    "KAFKA_BOOTSTRAP_SERVERS",
    "RISKGUARD_CONFIG",
    "NOTIFY_SOCKET",
    "WATCHDOG_USEC",
    "WATCHDOG_PID",
)


class WaitTimeout(AssertionError):
    """A polled condition did not come true before its deadline."""


class ProcessDied(AssertionError):
    """A stack process exited while we waited for it."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(predicate: Callable[[], T | None], timeout: float, what: str, step: float = 0.02) -> T:
    """Poll ``predicate`` until it returns something truthy; ``WaitTimeout`` naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout:.1f} s waiting for {what}")
        time.sleep(step)


def stack_overrides(root: Path, port: int) -> dict[str, object]:
    """What every derived config gets, whatever the base says."""
    return {
        "paths.state_dir": str(root / "state"),
        "paths.log_dir": str(root / "log"),
        "broker.port": port,
        "trading_hours.days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "heartbeat.timeout_ms": HEARTBEAT_TIMEOUT_MS,
        "kafka.bootstrap_servers": "",
    }


class Stack:
    """The processes of one run. ``overrides`` (dotted keys) win over the stack's defaults."""

    def __init__(
        self,
        root: Path,
        base_config: Path,
        *,
        overrides: Mapping[str, object] | None = None,
        replacements: Mapping[str, str] | None = None,
    ) -> None:
        self.root = root
        self.port = free_port()
        self.state_dir = root / "state"
        self.log_dir = root / "log"
        self.config = derive_config(
            base_config,
            root / "risk_limits.yaml",
            overrides={**stack_overrides(root, self.port), **(overrides or {})},
            replacements=replacements,
        )
        self.env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
        self.env.update(
            RISKGUARD_STATE_DIR=str(self.state_dir), RISKGUARD_LOG_DIR=str(self.log_dir)
        )
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.breaker = CircuitBreaker(
            self.state_dir,
            role="verify",
            clock=SystemClock(),
            sink=NullSink(),
            heartbeat_timeout_ms=HEARTBEAT_TIMEOUT_MS,
        )
        self.tail = EvidenceTail(self.log_dir)
        self._clients: list[BridgeClient] = []

    # ------------------------------------------------------------------ processes
    def spawn(
        self, name: str, *args: str, module: str = "execution.cli"
    ) -> subprocess.Popen[bytes]:
        """Start ``python -m module [--config derived] args``; output goes to ``<name>.out``."""
        config = ["--config", str(self.config)] if module == "execution.cli" else []
        out = open(self.root / f"{name}.out", "ab")  # noqa: SIM115 - lives as long as the process
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", module, *config, *args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        finally:
            out.close()
        self.procs[name] = proc
        return proc

    def cli(self, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        """Run one ``riskguard`` command to completion against the derived config."""
        return subprocess.run(
            [sys.executable, "-m", "execution.cli", "--config", str(self.config), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start_paper(
        self,
        scenario: str,
        *,
        speed: float = 1.0,
        position: str | None = "EURUSD:buy:1",
        account_file: Path | None = None,
    ) -> None:
        """Start (or restart: same port) the paper terminal; ``account_file``: its
        ``--account-file``, so a restart keeps the account."""
        args = ["paper-terminal", "--scenario", scenario, "--seed", "7", "--speed", str(speed)]
        args += ["--listen", f"127.0.0.1:{self.port}"]
        if position:
            args += ["--position", position]
        if account_file is not None:
            args += ["--account-file", str(account_file)]
        self.spawn("paper", *args)

        def listening() -> bool:
            self._check_alive("paper")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                return False

        wait_for(listening, _START_TIMEOUT_S, "the paper terminal to listen")

    def start_monitor(self) -> None:
        self._start("monitor", "monitor")

    def start_engine(self, strategy: str | None = None) -> None:
        self._start("engine", "engine", *(["--strategy", strategy] if strategy else []))

    def _start(self, name: str, *args: str) -> None:
        """Spawn and wait for this process's own ``<name>.started`` event."""
        before = len(self.events(f"{name}.started"))
        self.spawn(name, *args)

        def started() -> bool:
            self._check_alive(name)
            return len(self.events(f"{name}.started")) > before

        wait_for(started, _START_TIMEOUT_S, f"{name}.started")

    def _check_alive(self, name: str) -> None:
        proc = self.procs[name]
        if proc.poll() is not None:
            raise ProcessDied(f"{name} exited {proc.returncode}:\n{self.output(name)}")

    def alive(self, name: str) -> bool:
        proc = self.procs.get(name)
        return proc is not None and proc.poll() is None

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs[name]
        proc.send_signal(sig)
        proc.wait(timeout=20)

    def stop_all(self) -> None:
        for client in self._clients:
            client.close()
        for name in ("engine", "monitor", "paper"):
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def output(self, name: str) -> str:
        path = self.root / f"{name}.out"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def terminal(self) -> BridgeClient:
        """A client of the paper terminal (to read what it did: positions, last ticks)."""
        client = BridgeClient("127.0.0.1", self.port, timeout_s=2.0)
        self._clients.append(client)
        return client

    # ------------------------------------------------------------------ evidence
    def events(self, name: str | None = None, **match: Any) -> list[Event]:
        return self.tail.events(name, **match)

    def event(self, name: str, **match: Any) -> Event | None:
        return self.tail.first(name, **match)

    def view(self) -> BreakerView:
        return self.breaker.read()


@contextmanager
def running_stack(
    root: Path,
    base_config: Path,
    *,
    overrides: Mapping[str, object] | None = None,
    replacements: Mapping[str, str] | None = None,
) -> Iterator[Stack]:
    """A :class:`Stack` whose processes are all stopped on exit (TERM, then KILL)."""
    stack = Stack(root, base_config, overrides=overrides, replacements=replacements)
    try:
        yield stack
    finally:
        stack.stop_all()
        stack.breaker.close()
