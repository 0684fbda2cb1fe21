"""Scenarios as data, and what a run of one produces.

A :class:`Scenario` names what it does and, in words, exactly when it passes; its ``run`` acts on
a :class:`Probe`, which records every check (name, ok, detail), every measured latency and the
cleanups to run. A scenario passes when it ran to the end and every check held.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from execution.verify.stack import Stack, WaitTimeout, running_stack, wait_for

__all__ = [
    "Check",
    "Failed",
    "Probe",
    "Result",
    "RunContext",
    "Scenario",
    "Skipped",
    "Status",
]

T = TypeVar("T")


class Status(StrEnum):
    PASS = "PASS"  # noqa: S105 - a verdict, not a password
    FAIL = "FAIL"
    SKIP = "SKIP"


class Failed(AssertionError):
    """A required check failed: the scenario stops here (cleanups still run)."""


class Skipped(Exception):
    """The scenario cannot run here (e.g. no Kafka); it neither passes nor fails."""


@dataclass(frozen=True, slots=True)
class RunContext:
    """What every scenario of one verifier run shares."""

    base_config: Path
    work_dir: Path
    kafka: str | None = None  # "embedded", a bootstrap string, or None (not configured)


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str  # one line
    passes_when: str  # the precise pass condition, as the checks implement it
    key_latency: str  # the latency shown in the table (ms)
    run: Callable[[Probe], None]
    needs_kafka: bool = False


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(slots=True)
class Result:
    name: str
    status: Status
    seconds: float
    key_latency: str
    latencies_ms: dict[str, float]
    checks: list[Check]
    detail: str
    facts: dict[str, Any] = field(default_factory=dict)
    work_dir: str | None = None

    @property
    def key_latency_ms(self) -> float | None:
        return self.latencies_ms.get(self.key_latency)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "seconds": round(self.seconds, 3),
            "key_latency": self.key_latency,
            "key_latency_ms": self.key_latency_ms,
            "latencies_ms": self.latencies_ms,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
            "detail": self.detail,
            "facts": self.facts,
            "work_dir": self.work_dir,
        }


class Probe:
    """One scenario run: checks, latencies, facts, and the cleanups (run by ``close``)."""

    def __init__(self, scenario: Scenario, context: RunContext, root: Path) -> None:
        self.scenario = scenario
        self.context = context
        self.root = root
        self.checks: list[Check] = []
        self.latencies_ms: dict[str, float] = {}
        self.facts: dict[str, Any] = {}
        self._cleanups = ExitStack()

    # ------------------------------------------------------------------ recording
    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        """Record a check; the scenario goes on either way."""
        self.checks.append(Check(name, bool(ok), detail))
        return bool(ok)

    def require(self, name: str, ok: bool, detail: str = "") -> None:
        """Record a check; a failed one ends the scenario."""
        if not self.check(name, ok, detail):
            raise Failed(f"{name}: {detail}" if detail else name)

    def wait(self, name: str, predicate: Callable[[], T | None], timeout: float) -> T:
        """Poll until ``predicate`` is truthy; recorded as a required check named ``name``."""
        try:
            value = wait_for(predicate, timeout, name)
        except WaitTimeout:
            self.require(name, False, f"not within {timeout:.0f} s")
            raise  # unreachable: require raised
        self.check(name, True)
        return value

    def latency(self, name: str, ms: float) -> float:
        self.latencies_ms[name] = round(ms, 3)
        return ms

    def fact(self, name: str, value: Any) -> None:
        self.facts[name] = value

    # ------------------------------------------------------------------ resources
    def stack(self, *, overrides: Mapping[str, object] | None = None, name: str = "") -> Stack:
        """A fresh stack in this scenario's dir, stopped when the scenario ends."""
        root = self.root / name if name else self.root
        root.mkdir(parents=True, exist_ok=True)
        return self._cleanups.enter_context(
            running_stack(root, self.context.base_config, overrides=overrides)
        )

    def on_cleanup(self, callback: Callable[[], object]) -> None:
        self._cleanups.callback(callback)

    def close(self) -> None:
        self._cleanups.close()
