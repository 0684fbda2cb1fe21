"""A real three-process stack for system tests: paper terminal + monitor + engine.

Each process is ``python -m execution.cli`` with a config derived from the shipped one (the
terminal's port, every day a trading day, test-sized timeouts), a private state dir and log dir.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from risk.circuit_breaker import BreakerView, CircuitBreaker
from risk.clock import SystemClock
from risk.events import NullSink
from risk.outbox import segment_files
from tests.conftest import SHIPPED_CONFIG

__all__ = ["Stack", "free_port", "running_stack", "wait_for"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, step: float = 0.02) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class Stack:
    def __init__(self, root: Path, replacements: dict[str, str] | None = None) -> None:
        self.root = root
        self.port = free_port()
        self.state_dir = root / "state"
        self.log_dir = root / "log"
        self.config = root / "risk_limits.yaml"
        text = SHIPPED_CONFIG.read_text()
        edits = {
            "  port: 18812": f"  port: {self.port}",
            "  days: [mon, tue, wed, thu, fri]": "  days: [mon, tue, wed, thu, fri, sat, sun]",
            "  timeout_ms: 3000": "  timeout_ms: 1500",
            **(replacements or {}),
        }
        for old, new in edits.items():
            assert text.count(old) == 1, f"not unique in the shipped config: {old!r}"
            text = text.replace(old, new)
        self.config.write_text(text)
        self.env = {
            **os.environ,
            "RISKGUARD_STATE_DIR": str(self.state_dir),
            "RISKGUARD_LOG_DIR": str(self.log_dir),
        }
        self.env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.breaker = CircuitBreaker(
            self.state_dir,
            role="test",
            clock=SystemClock(),
            sink=NullSink(),
            heartbeat_timeout_ms=1500,
        )

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        out = open(self.root / f"{name}.out", "ab")  # noqa: SIM115 - lives as long as the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "execution.cli", "--config", str(self.config), *args],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        out.close()
        self.procs[name] = proc
        return proc

    def start_paper(
        self, scenario: str, *, speed: float = 1.0, position: str | None = "EURUSD:buy:1"
    ) -> None:
        args = [
            "paper-terminal",
            "--scenario",
            scenario,
            "--seed",
            "7",
            "--speed",
            str(speed),
            "--listen",
            f"127.0.0.1:{self.port}",
        ]
        if position:
            args += ["--position", position]
        proc = self._spawn("paper", *args)

        def listening() -> bool:
            assert proc.poll() is None, self.output("paper")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                return False

        wait_for(listening, 30, "the paper terminal to listen")

    def start_monitor(self) -> None:
        self._start("monitor", "monitor")

    def start_engine(self, strategy: str | None = None) -> None:
        self._start("engine", "engine", *(["--strategy", strategy] if strategy else []))

    def _start(self, name: str, *args: str) -> None:
        """Spawn and wait for this process's own ``<name>.started`` event."""
        before = len(self.events(f"{name}.started"))
        self._spawn(name, *args)
        wait_for(
            lambda: len(self.events(f"{name}.started")) > before or self._dead(name),
            30,
            f"{name}.started",
        )

    def _dead(self, name: str) -> bool:
        proc = self.procs[name]
        if proc.poll() is not None:
            raise AssertionError(f"{name} exited {proc.returncode}:\n{self.output(name)}")
        return False

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs[name]
        proc.send_signal(sig)
        proc.wait(timeout=20)

    def stop_all(self) -> None:
        for name in ("engine", "monitor", "paper"):
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def output(self, name: str) -> str:
        path = self.root / f"{name}.out"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if not self.log_dir.exists():
            return out
        for _, path in segment_files(self.log_dir):
            if path.exists():
                for line in path.read_bytes().splitlines():
                    if line.strip():
                        event = json.loads(line)
                        if name is None or event["event"] == name:
                            out.append(event)
        return out

    def event(self, name: str, **match: Any) -> dict[str, Any] | None:
        for event in self.events(name):
            if all(event.get(k) == v for k, v in match.items()):
                return event
        return None

    def view(self) -> BreakerView:
        return self.breaker.read()


@contextmanager
def running_stack(root: Path, replacements: dict[str, str] | None = None) -> Iterator[Stack]:
    stack = Stack(root, replacements)
    try:
        yield stack
    finally:
        stack.stop_all()
