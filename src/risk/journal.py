"""The local evidence log: one JSON object per line, appended before anything else happens.

Critical events (breaker transitions, breaches) are fsynced before ``emit`` returns. Each event
carries a fixed-width microsecond UTC ``ts``, a unique ``event_id`` and a per-process ``seq``.
"""

from __future__ import annotations

import itertools
import os
import socket
import threading
import uuid
from pathlib import Path
from typing import Any, Final

import orjson

from risk import events
from risk.clock import Clock, format_ts
from risk.durable import ensure_dir

__all__ = ["EVIDENCE_FILE", "EvidenceLog"]

EVIDENCE_FILE: Final = "evidence.jsonl"
_DURABLE_PREFIXES: Final = ("breaker.", "risk.breach", "engine.tripped")
_RESERVED: Final = frozenset(
    {"ts", "event", "event_id", "seq", "component", "account", "host", "pid"}
)


class EvidenceLog:
    def __init__(
        self,
        log_dir: Path,
        *,
        component: str,
        clock: Clock,
        file_mode: int,
        dir_mode: int,
        account: str = "",
    ) -> None:
        ensure_dir(log_dir, dir_mode)
        self.path = log_dir / EVIDENCE_FILE
        self._fd = os.open(
            self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, file_mode
        )
        self._clock = clock
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self._context = {
            "component": component,
            "account": account,
            "host": socket.gethostname(),
            "pid": os.getpid(),
        }
        self._id_prefix = uuid.uuid4().hex[:12]

    def emit(self, event: str, /, **fields: Any) -> None:
        if not _RESERVED.isdisjoint(fields):
            clash = sorted(_RESERVED & fields.keys())
            raise ValueError(f"event fields shadow the envelope: {clash}")
        with self._lock:
            seq = next(self._seq)
            record = {
                "ts": format_ts(self._clock.now()),
                "event": event,
                "event_id": f"{self._id_prefix}-{seq}",
                "seq": seq,
                **self._context,
                **fields,
            }
            os.write(self._fd, orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
            if event.startswith(_DURABLE_PREFIXES):
                os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)


assert all(name.startswith(_DURABLE_PREFIXES) for name in events.BREAKER_EVENTS)
