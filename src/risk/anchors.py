"""Rule anchors that must survive restarts: the high-water mark and the daily baseline.

Persisted in ``anchors.json`` in the state dir (atomic, fsynced). An operator's reset may ask to
re-anchor one or both (``--rebaseline-peak`` / ``--rebaseline-daily``); :func:`apply_reset` does
exactly what was asked, once per reset (tracked by the breaker seq of that reset).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, ValidationError

from risk.breaker_state import LastReset
from risk.durable import atomic_write

__all__ = [
    "ANCHORS_FILE",
    "Anchors",
    "AnchorsUnreadable",
    "apply_reset",
    "load_anchors",
    "save_anchors",
]

ANCHORS_FILE: Final = "anchors.json"


class AnchorsUnreadable(Exception):
    """``anchors.json`` exists but cannot be used; the evaluator must not silently restart."""


class Anchors(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    high_water_mark: Decimal
    daily_baseline: Decimal
    trading_day: str  # ISO date in the daily-loss time zone
    applied_reset_seq: int = 0


def apply_reset(
    anchors: Anchors, reset: LastReset | None, *, equity: Decimal, baseline: Decimal
) -> Anchors:
    """Re-anchor what the reset asked for, once; everything else stays as it was."""
    if reset is None or reset.seq <= anchors.applied_reset_seq:
        return anchors
    update: dict[str, object] = {"applied_reset_seq": reset.seq}
    if "peak" in reset.rebaseline:
        update["high_water_mark"] = equity
    if "daily" in reset.rebaseline:
        update["daily_baseline"] = baseline
    return anchors.model_copy(update=update)


def load_anchors(state_dir: Path) -> Anchors | None:
    """None when never written; ``AnchorsUnreadable`` when present but damaged."""
    path = state_dir / ANCHORS_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AnchorsUnreadable(f"cannot read {path}: {exc.strerror}") from exc
    try:
        return Anchors.model_validate_json(raw)
    except ValidationError as exc:
        raise AnchorsUnreadable(f"invalid {path}: {exc.errors()[0]['msg']}") from exc


def save_anchors(state_dir: Path, anchors: Anchors, file_mode: int) -> None:
    atomic_write(state_dir / ANCHORS_FILE, anchors.model_dump_json().encode(), file_mode)
