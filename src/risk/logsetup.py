"""structlog configuration shared by every riskguard process.

One JSON object per line (orjson, bytes straight to the file: ``BytesLoggerFactory``), with the
envelope every event carries: fixed-width microsecond UTC ``ts``, the dotted ``event`` name,
``event_id`` (unique across hosts and restarts: boot id, pid and process start time, then the
per-process ``seq``), ``seq``, and the bound ``component``, ``account``, ``host``, ``pid``.
Secrets are masked before anything is rendered (:mod:`risk.masking`).
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, MutableMapping
from typing import Any, BinaryIO, Final

import orjson
import structlog

from risk.clock import Clock, SystemClock, format_ts
from risk.masking import mask_secrets

__all__ = [
    "ENVELOPE_KEYS",
    "EVENT_SCHEMA_VERSION",
    "LEVELS",
    "Stamper",
    "configure_logging",
    "event_id_prefix",
    "next_seq",
    "render",
]

EVENT_SCHEMA_VERSION: Final = 1
ENVELOPE_KEYS: Final = frozenset(
    {"ts", "event", "event_id", "seq", "component", "account", "host", "pid"}
)
LEVELS: Final = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
_BOOT_ID: Final = "/proc/sys/kernel/random/boot_id"

EventDict = MutableMapping[str, Any]


def _boot_id() -> str:
    try:
        with open(_BOOT_ID, encoding="ascii") as handle:
            return handle.read().strip().replace("-", "")[:16]
    except OSError:
        return uuid.uuid4().hex[:16]  # no /proc: a random id is as unique, only less telling


class _Process:
    """The process-wide identity and sequence; renewed in a forked child."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.host = socket.gethostname()
        start = time.time_ns() // 1000
        self.prefix = f"{_boot_id()}-{self.pid}-{start:x}-"
        self.seq = 0
        self.lock = threading.Lock()


_PROCESS = _Process()


def _renew_after_fork() -> None:
    global _PROCESS  # noqa: PLW0603 - the per-process identity must change in a forked child
    _PROCESS = _Process()


os.register_at_fork(after_in_child=_renew_after_fork)


def event_id_prefix() -> str:
    """``<boot id>-<pid>-<start µs hex>-``: an event id is this plus the per-process ``seq``."""
    return _PROCESS.prefix


def next_seq() -> tuple[int, str]:
    """The next per-process ``seq`` and its ``event_id`` (caller holds :func:`process_lock`)."""
    process = _PROCESS
    process.seq += 1
    return process.seq, f"{process.prefix}{process.seq}"


def process_lock() -> threading.Lock:
    """Held while a ``seq`` is taken and its line written, so file order is ``seq`` order."""
    return _PROCESS.lock


class Stamper:
    """Processor: puts the envelope first (ts, event, event_id, seq, context), then the fields.

    Call it with :func:`process_lock` held when the line is also written under that lock.
    """

    def __init__(self, *, component: str, account: str = "", clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self.context: dict[str, Any] = {
            "component": component,
            "account": account,
            "host": _PROCESS.host,
            "pid": _PROCESS.pid,
        }

    def __call__(self, _logger: Any, _method: str, event_dict: EventDict) -> EventDict:
        seq, event_id = next_seq()
        context = self.context
        if context["pid"] != _PROCESS.pid:  # forked since construction
            context["pid"], context["host"] = _PROCESS.pid, _PROCESS.host
        stamped: dict[str, Any] = {
            "ts": format_ts(self._clock.now()),
            "event": event_dict.pop("event"),
            "event_id": event_id,
            "seq": seq,
            **context,
        }
        stamped.update(event_dict)
        return stamped


def render(event_dict: EventDict) -> bytes:
    """The one line (with its newline) for an event dict: orjson, non-str keys allowed."""
    return orjson.dumps(
        event_dict,
        default=str,  # Decimal, Path, enums: as text, never a crash in the logging path
        option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS,
    )


def _locked_stamp(stamper: Stamper) -> Callable[[Any, str, EventDict], bytes]:
    """Stamp and render under the process lock: ``seq`` order equals line order on stdout."""

    def processor(logger: Any, method: str, event_dict: EventDict) -> bytes:
        with _PROCESS.lock:
            return render(stamper(logger, method, event_dict))[:-1]

    return processor


def configure_logging(
    level: str = "info",
    *,
    component: str,
    account: str = "",
    stream: BinaryIO | None = None,
    clock: Clock | None = None,
    cache: bool = True,
    line_sink: Callable[[Any, str, EventDict], bytes] | None = None,
) -> None:
    """Configure structlog for this process: JSON lines to ``stream`` (default stdout: journald).

    ``line_sink`` replaces the stamp-and-render step; :class:`risk.journal.EvidenceLog` passes
    its own so every structlog event is appended to the evidence log before it reaches stdout.
    ``cache=False`` in tests (cached loggers ignore a later ``configure``).
    """
    final = line_sink or _locked_stamp(Stamper(component=component, account=account, clock=clock))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.format_exc_info,
            mask_secrets,
            final,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS[level]),
        logger_factory=structlog.BytesLoggerFactory(stream or sys.stdout.buffer),
        cache_logger_on_first_use=cache,
    )
