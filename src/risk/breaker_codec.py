"""Reading and writing ``breaker.json`` without re-serialising what did not change.

A loaded file is validated once (strict JSON mode) and also kept as a plain JSON document. The
next record is built from both: the new history entry and top-level fields are validated models,
the kept history entries are reused as they are (already validated), and the document to write is
the old document plus the new entry — so a transition costs one small validation and one
``orjson.dumps``, not a full model round trip of the whole history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from risk.breaker_state import (
    SCHEMA,
    Actor,
    BreakerRecord,
    BreakerState,
    HistoryEntry,
    LastReset,
)
from risk.reason_codes import ReasonCode

__all__ = ["Loaded", "decode", "encode", "initial", "successor"]


@dataclass(frozen=True, slots=True)
class Loaded:
    record: BreakerRecord
    doc: dict[str, Any]


def decode(raw: bytes) -> Loaded:
    """Validate the bytes (raises pydantic ``ValidationError``) and keep the plain document."""
    record = BreakerRecord.model_validate_json(raw)
    return Loaded(record, orjson.loads(raw))


def encode(loaded: Loaded) -> bytes:
    return orjson.dumps(loaded.doc)


def _doc(model: Any) -> Any:
    return model.model_dump(mode="json") if model is not None else None


def initial(actor: Actor, at: str) -> Loaded:
    record = BreakerRecord.model_validate(
        {
            "schema": SCHEMA,
            "state": BreakerState.ACTIVE,
            "seq": 0,
            "changed_at": at,
            "trigger": ReasonCode.INITIALISED,
            "reason": "breaker created",
            "actor": actor,
            "evidence": {},
            "last_reset": None,
            "history": (),
        }
    )
    return Loaded(record, record.model_dump(mode="json", by_alias=True))


def successor(
    old: Loaded | None,
    entry: HistoryEntry,
    *,
    changed: bool,
    last_reset: LastReset | None,
    history_limit: int,
) -> Loaded:
    """The record after ``entry``: a state change takes the entry's trigger, reason, actor and
    evidence; otherwise the first trigger stays and only seq, history (and last reset) move."""
    history = (*(old.record.history if old else ()), entry)[-history_limit:]
    history_doc = [*(old.doc["history"] if old else ()), entry.model_dump(mode="json")]
    history_doc = history_doc[-history_limit:]
    if changed or old is None:
        top: dict[str, Any] = {
            "state": entry.to_state,
            "changed_at": entry.at,
            "trigger": entry.trigger,
            "reason": entry.reason,
            "actor": entry.actor,
            "evidence": entry.evidence,
        }
        top_doc = {
            "state": entry.to_state.value,
            "changed_at": entry.at,
            "trigger": entry.trigger.value,
            "reason": entry.reason,
            "actor": _doc(entry.actor),
            "evidence": entry.evidence,
        }
    else:
        record = old.record
        top = {
            "state": record.state,
            "changed_at": record.changed_at,
            "trigger": record.trigger,
            "reason": record.reason,
            "actor": record.actor,
            "evidence": record.evidence,
        }
        top_doc = {k: old.doc[k] for k in top}
    new_record = BreakerRecord.model_construct(
        schema_=SCHEMA, seq=entry.seq, last_reset=last_reset, history=history, **top
    )
    doc = {
        "schema": SCHEMA,
        **top_doc,
        "seq": entry.seq,
        "last_reset": _doc(last_reset),
        "history": history_doc,
    }
    return Loaded(new_record, doc)
