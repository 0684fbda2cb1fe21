"""Rule state that must survive restarts: anchors (high-water mark, daily baseline, trading day),
the losing streak, today's trade count and the deal tickets already counted.

Persisted in ``rule_state.json`` in the state dir (atomic replace). An operator's reset may ask to
re-anchor (``--rebaseline-peak`` / ``--rebaseline-daily``); :func:`apply_reset` does exactly what
was asked, once per reset (tracked by the breaker seq of that reset).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, ValidationError

from risk.breaker_state import LastReset
from risk.durable import atomic_write

__all__ = [
    "RULE_STATE_FILE",
    "RuleState",
    "RuleStateUnreadable",
    "apply_reset",
    "load_rule_state",
    "save_rule_state",
]

RULE_STATE_FILE: Final = "rule_state.json"


class RuleStateUnreadable(Exception):
    """``rule_state.json`` exists but cannot be used; the evaluator must not silently restart."""


class RuleState(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    high_water_mark: Decimal
    daily_baseline: Decimal
    trading_day: str  # ISO date of the trading day's start, in the daily-loss time zone
    applied_reset_seq: int = 0
    losing_streak: int = 0
    trades_today: int = 0
    deal_tickets: tuple[int, ...] = ()


def apply_reset(
    state: RuleState, reset: LastReset | None, *, equity: Decimal, baseline: Decimal
) -> RuleState:
    """Re-anchor what the reset asked for, once; everything else stays as it was."""
    if reset is None or reset.seq <= state.applied_reset_seq:
        return state
    update: dict[str, object] = {"applied_reset_seq": reset.seq}
    if "peak" in reset.rebaseline:
        update["high_water_mark"] = equity
    if "daily" in reset.rebaseline:
        update["daily_baseline"] = baseline
    return state.model_copy(update=update)


def load_rule_state(state_dir: Path) -> RuleState | None:
    """None when never written; ``RuleStateUnreadable`` when present but damaged."""
    path = state_dir / RULE_STATE_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RuleStateUnreadable(f"cannot read {path}: {exc.strerror}") from exc
    try:
        return RuleState.model_validate_json(raw)
    except ValidationError as exc:
        raise RuleStateUnreadable(f"invalid {path}: {exc.errors()[0]['msg']}") from exc


def save_rule_state(
    state_dir: Path, state: RuleState, file_mode: int, *, durable: bool = True
) -> None:
    atomic_write(
        state_dir / RULE_STATE_FILE, state.model_dump_json().encode(), file_mode, durable=durable
    )
