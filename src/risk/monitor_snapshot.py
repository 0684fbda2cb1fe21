"""The monitor's latest evaluation, persisted for operators (status, reset checks).

The monitor rewrites ``monitor.snapshot.json`` from its healthy loop; ``breaker reset`` reads it
to refuse a reset while the tripping rule still breaches.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from risk.clock import format_ts, parse_ts
from risk.durable import atomic_write

__all__ = [
    "SNAPSHOT_FILE",
    "MonitorSnapshot",
    "RuleStatus",
    "load_snapshot",
    "snapshot_now",
    "write_snapshot",
]

SNAPSHOT_FILE: Final = "monitor.snapshot.json"

Level = Literal["ok", "warning", "breach"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class RuleStatus(_Frozen):
    """One rule's latest measurement; decimals are strings so nothing is rounded."""

    level: Level
    value: str
    warning: str
    limit: str


class MonitorSnapshot(_Frozen):
    at: str
    account: str
    figures: dict[str, str]
    rules: dict[str, RuleStatus]

    def taken_at(self) -> datetime:
        return parse_ts(self.at)

    def breaching(self) -> frozenset[str]:
        """Reason codes whose rule is at or beyond its hard limit."""
        return frozenset(code for code, rule in self.rules.items() if rule.level == "breach")


def write_snapshot(state_dir: Path, snapshot: MonitorSnapshot, file_mode: int) -> None:
    atomic_write(
        state_dir / SNAPSHOT_FILE, snapshot.model_dump_json().encode(), file_mode, durable=False
    )


def load_snapshot(state_dir: Path) -> MonitorSnapshot | None:
    """The latest snapshot, or None when absent or unusable (callers then fail closed)."""
    try:
        raw = (state_dir / SNAPSHOT_FILE).read_bytes()
        return MonitorSnapshot.model_validate_json(raw)
    except (OSError, ValidationError):
        return None


def snapshot_now(
    when: datetime, account: str, figures: dict[str, str], rules: dict[str, RuleStatus]
) -> MonitorSnapshot:
    return MonitorSnapshot(at=format_ts(when), account=account, figures=figures, rules=rules)
