"""The evidence log: every event is appended to the local outbox before anything else happens.

``EvidenceLog.emit`` runs the shared structlog chain (:mod:`risk.logsetup`): secrets masked, the
envelope stamped (fixed-width µs ``ts``, ``event_id``, per-process ``seq``, bound context), the
line appended to the outbox (:mod:`risk.outbox`) — fsynced before ``emit`` returns for breaker
transitions, breaches and engine trips — and only then echoed to ``echo`` (stdout for journald)
if one is given. The Kafka producer tails the same outbox (``execution.delivery``).
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any, BinaryIO, Final

import structlog

from risk import events
from risk.clock import Clock, SystemClock
from risk.config import RiskConfig
from risk.logsetup import ENVELOPE_KEYS, Stamper, configure_logging, process_lock, render
from risk.masking import mask_secrets
from risk.outbox import ACTIVE_FILE, OutboxWriter

__all__ = ["DURABLE_PREFIXES", "EVIDENCE_FILE", "EvidenceLog", "is_durable"]

EVIDENCE_FILE: Final = ACTIVE_FILE
DURABLE_PREFIXES: Final = ("breaker.", "risk.breach", "engine.tripped")
_RESERVED: Final = ENVELOPE_KEYS


def is_durable(event: str) -> bool:
    """Events fsynced before ``emit`` returns: breaker transitions, breaches, engine trips."""
    return event.startswith(DURABLE_PREFIXES)


class EvidenceLog:
    """An :class:`~risk.events.EventSink` writing to ``log_dir`` (and optionally to ``echo``)."""

    def __init__(
        self,
        log_dir: Path,
        *,
        component: str,
        clock: Clock,
        file_mode: int,
        dir_mode: int,
        account: str = "",
        segment_bytes: int = 16 * 1024 * 1024,
        retention_segments: int = 20,
        delivery: bool = False,
        echo: BinaryIO | None = None,
    ) -> None:
        self.log_dir = log_dir
        self.file_mode = file_mode
        self._writer = OutboxWriter(
            log_dir,
            file_mode=file_mode,
            dir_mode=dir_mode,
            segment_bytes=segment_bytes,
            retention_segments=retention_segments,
            delivery=delivery,
        )
        self.path = self._writer.path
        self._stamper = Stamper(component=component, account=account, clock=clock)
        target = structlog.BytesLogger(echo) if echo is not None else structlog.ReturnLogger()
        self._echo = echo is not None
        self.level = "info"  # for configure_process_logging; from_config sets logging.level
        self._log = structlog.wrap_logger(
            target,
            processors=[mask_secrets, self._own_sink],
            wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
            cache_logger_on_first_use=False,
        ).bind()  # the real bound logger, not a lazy proxy rebuilt on every call

    @classmethod
    def from_config(
        cls,
        config: RiskConfig,
        *,
        component: str,
        account: str = "",
        clock: Clock | None = None,
        echo: BinaryIO | None = None,
    ) -> EvidenceLog:
        """The log a service uses: ``paths`` for where, ``logging`` for segments and retention;
        undelivered segments are protected whenever ``kafka.bootstrap_servers`` is set."""
        log = cls(
            config.paths.log_dir,
            component=component,
            clock=clock or SystemClock(),
            file_mode=config.paths.file_mode,
            dir_mode=config.paths.dir_mode,
            account=account,
            segment_bytes=config.logging.segment_bytes,
            retention_segments=config.logging.retention_segments,
            delivery=bool(config.kafka.bootstrap_servers.strip()),
            echo=echo,
        )
        log.level = config.logging.level
        return log

    @property
    def context(self) -> dict[str, Any]:
        """The bound envelope context (component, account, host, pid)."""
        return self._stamper.context

    def emit(self, event: str, /, **fields: Any) -> None:
        if not _RESERVED.isdisjoint(fields):
            clash = sorted(_RESERVED & fields.keys())
            raise ValueError(f"event fields shadow the envelope: {clash}")
        self._log.info(event, **fields)

    def append_batch(self, event: str, /, **fields: Any) -> None:
        """Append to the outbox only (no masking pass, no echo): bulk per-tick decisions."""
        with process_lock():
            stamped = self._stamper(None, "info", {"event": event, **fields})
            self._writer.append(render(stamped), durable=False)

    def line_sink(self, logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> bytes:
        """Last structlog processor: stamp, append to the outbox (fsynced if critical), return
        the line for the wrapped logger. ``configure_process_logging`` installs it globally."""
        with process_lock():
            stamped = self._stamper(logger, method, event_dict)
            line = render(stamped)
            self._writer.append(line, durable=is_durable(stamped["event"]))
        return line[:-1]

    def _own_sink(self, logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> bytes:
        line = self.line_sink(logger, method, event_dict)
        if not self._echo:
            raise structlog.DropEvent  # outbox only: nothing goes to stdout
        return line

    def configure_process_logging(
        self, level: str | None = None, *, stream: BinaryIO | None = None, cache: bool = True
    ) -> None:
        """Route structlog's global loggers through this log: outbox first, then ``stream``
        (default stdout, for journald). ``level`` defaults to ``logging.level``."""
        component, account = self.context["component"], self.context["account"]
        configure_logging(
            level or self.level,
            component=component,
            account=account,
            stream=stream,
            cache=cache,
            line_sink=self.line_sink,
        )

    def sync(self) -> None:
        with process_lock():
            self._writer.sync()

    def close(self) -> None:
        with process_lock():
            self._writer.close()


assert all(is_durable(name) for name in events.BREAKER_EVENTS)
