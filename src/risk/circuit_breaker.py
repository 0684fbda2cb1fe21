"""The shared, persisted CircuitBreaker (ARCHITECTURE §4).

Every change is a read-modify-write under an exclusive flock on ``breaker.lock`` (never replaced),
written through :func:`risk.durable.atomic_write`. Reads take a fast path keyed on one ``stat``;
anything unreadable is HALTED with ``BREAKER_UNREADABLE``. A failed trip raises and leaves this
process's view HALTED: a trip is never reported done unless it is on disk.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

import orjson
import portalocker
from pydantic import JsonValue, ValidationError

from risk import breaker_codec as codec
from risk import events
from risk.breaker_state import (
    Action,
    Actor,
    BreakerRecord,
    BreakerState,
    HistoryEntry,
    LastReset,
    Rebaseline,
    next_state,
)
from risk.clock import Clock, format_ts
from risk.config import RiskConfig
from risk.durable import TEMP_SUFFIX, atomic_write, ensure_dir
from risk.events import EventSink
from risk.heartbeat import HeartbeatReader
from risk.reason_codes import ReasonCode

__all__ = [
    "BREAKER_FILE",
    "INIT_MARKER",
    "LOCK_FILE",
    "BreakerLockTimeout",
    "BreakerView",
    "BreakerWriteError",
    "CircuitBreaker",
    "Gate",
    "StaleBreakerView",
]

BREAKER_FILE: Final = "breaker.json"
LOCK_FILE: Final = "breaker.lock"
INIT_MARKER: Final = "breaker.initialised"
_LOCK_FLAGS: Final = portalocker.LockFlags.EXCLUSIVE | portalocker.LockFlags.NON_BLOCKING


class BreakerWriteError(Exception):
    """A transition could not be made durable. For a trip, this process now reads HALTED."""


class StaleBreakerView(Exception):
    """A conditional reset found the breaker changed since the caller read it."""


class BreakerLockTimeout(BreakerWriteError):
    """``breaker.lock`` stayed held by someone else past ``lock_timeout_ms``."""


@dataclass(frozen=True, slots=True)
class BreakerView:
    """What a reader sees. ``record`` is None when the file could not be used (then HALTED)."""

    state: BreakerState
    seq: int
    trigger: ReasonCode
    reason: str
    changed_at: str | None
    record: BreakerRecord | None

    @property
    def readable(self) -> bool:
        return self.record is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "seq": self.seq,
            "changed_at": self.changed_at,
            "trigger": self.trigger.value,
            "reason": self.reason,
            "readable": self.readable,
        }


@dataclass(frozen=True, slots=True)
class Gate:
    """The effective permission: breaker state combined with monitor liveness."""

    state: BreakerState
    reason_code: ReasonCode

    @property
    def allows_new_risk(self) -> bool:
        return self.state is BreakerState.ACTIVE

    @property
    def allows_reducing(self) -> bool:
        return self.state is not BreakerState.HALTED


def _unreadable(detail: str, seq: int = 0) -> BreakerView:
    return BreakerView(BreakerState.HALTED, seq, ReasonCode.BREAKER_UNREADABLE, detail, None, None)


class CircuitBreaker:
    def __init__(
        self,
        state_dir: Path,
        *,
        role: str,
        clock: Clock,
        sink: EventSink,
        history_limit: int = 100,
        lock_timeout_ms: int = 2000,
        file_mode: int = 0o660,
        dir_mode: int = 0o770,
        heartbeat_timeout_ms: int | None = None,
        operator: str | None = None,
    ) -> None:
        self.state_dir = Path(state_dir)
        self._path = self.state_dir / BREAKER_FILE
        self._path_str = os.fspath(self._path)  # os.stat on a str skips the Path conversion
        self._lock_path = self.state_dir / LOCK_FILE
        self._clock = clock
        self._sink = sink
        self._history_limit = history_limit
        self._lock_timeout_s = lock_timeout_ms / 1000
        self._file_mode = file_mode
        self._dir_mode = dir_mode
        self._actor = Actor(role=role, pid=os.getpid(), host=socket.gethostname(), name=operator)
        self._heartbeat = (
            None
            if heartbeat_timeout_ms is None
            else HeartbeatReader(self.state_dir, clock=clock, timeout_ms=heartbeat_timeout_ms)
        )
        self._fd = -1
        self._key: tuple[int, int, int, int] | None = None
        self._loaded: codec.Loaded | None = None
        self._view: BreakerView = _unreadable("not read yet")
        self._max_seq_seen = 0
        self._forced: tuple[ReasonCode, str] | None = None

    @classmethod
    def from_config(
        cls,
        config: RiskConfig,
        *,
        role: str,
        clock: Clock,
        sink: EventSink,
        state_dir: Path | None = None,
        watch_heartbeat: bool = False,
        operator: str | None = None,
    ) -> CircuitBreaker:
        """The breaker as ``config`` describes it (limits, modes, state dir). ``watch_heartbeat``:
        read a silent monitor as HALTED, with ``heartbeat.timeout_ms``."""
        return cls(
            state_dir or config.paths.state_dir,
            role=role,
            clock=clock,
            sink=sink,
            history_limit=config.kill_switch.history_limit,
            lock_timeout_ms=config.kill_switch.lock_timeout_ms,
            file_mode=config.paths.file_mode,
            dir_mode=config.paths.dir_mode,
            heartbeat_timeout_ms=config.heartbeat.timeout_ms if watch_heartbeat else None,
            operator=operator,
        )

    # ------------------------------------------------------------------ reading
    def read(self) -> BreakerView:
        """The persisted state. Hot path: one ``stat`` of the path breaker.json.

        The key is the (inode, device, mtime_ns, size) of the validated file this reader holds
        open; holding it open keeps its inode number from being reused, so an equal key is that
        same, unchanged file. A replace (another inode), an in-place edit (mtime_ns, size), a
        removal or a rename away all re-read and re-validate. The held file's own link count is
        no signal: a hard link to breaker.json (a backup, an operator's ``ln``) keeps the
        replaced inode linked, and a rename away keeps it linked under another name.
        """
        if self._fd >= 0:
            try:
                st = os.stat(self._path_str)
            except OSError:
                pass  # gone or unreachable: _load says which (HALTED either way)
            else:
                if (st.st_ino, st.st_dev, st.st_mtime_ns, st.st_size) == self._key:
                    return self._view
        self._view = self._load()
        return self._view

    def gate(self) -> Gate:
        """Effective state for trading decisions: forced halt, then file, then heartbeat."""
        if self._forced is not None:
            return Gate(BreakerState.HALTED, self._forced[0])
        view = self.read()
        if view.state is BreakerState.HALTED:
            return Gate(view.state, view.trigger)
        if self._heartbeat is not None and not self._heartbeat.is_fresh():
            return Gate(BreakerState.HALTED, ReasonCode.MONITOR_SILENT)
        return Gate(view.state, view.trigger)

    def is_safe(self) -> bool:
        """True only when new risk may be taken: ACTIVE, readable, monitor alive (hot path)."""
        if self._forced is not None or self.read().state is not BreakerState.ACTIVE:
            return False
        return self._heartbeat is None or self._heartbeat.is_fresh()

    def heartbeat_age_ms(self) -> float | None:
        return None if self._heartbeat is None else self._heartbeat.age_ms()

    def _initialised(self) -> bool:
        return (self.state_dir / INIT_MARKER).exists()

    def _load(self) -> BreakerView:
        self._close_fd()
        try:
            fd = os.open(self._path_str, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            detail = "missing after initialisation" if self._initialised() else "not initialised"
            return _unreadable(f"breaker.json {detail}", self._max_seq_seen)
        except OSError as exc:
            return _unreadable(f"cannot open breaker.json: {exc.strerror}", self._max_seq_seen)
        try:
            st = os.fstat(fd)
            raw = os.pread(fd, st.st_size + 1, 0)
        except OSError as exc:
            os.close(fd)
            return _unreadable(f"cannot read breaker.json: {exc.strerror}", self._max_seq_seen)
        try:
            loaded = codec.decode(raw)
        except (ValidationError, orjson.JSONDecodeError) as exc:
            os.close(fd)
            detail = str(exc).splitlines()[0][:200]
            return _unreadable(f"invalid breaker.json: {detail}", self._max_seq_seen)
        self._fd, self._key = fd, (st.st_ino, st.st_dev, st.st_mtime_ns, st.st_size)
        return self._adopt(loaded)

    def _adopt(self, loaded: codec.Loaded) -> BreakerView:
        record = loaded.record
        self._loaded = loaded
        self._max_seq_seen = max(self._max_seq_seen, record.seq)
        return BreakerView(
            record.state, record.seq, record.trigger, record.reason, record.changed_at, record
        )

    def _close_fd(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        self._fd, self._key, self._loaded = -1, None, None

    def close(self) -> None:
        """Release the held breaker.json descriptor."""
        self._close_fd()

    # ------------------------------------------------------------------ writing
    def initialise(self) -> BreakerView:
        """Create the state dir, lock file and an ACTIVE record on first use; never overwrite."""
        ensure_dir(self.state_dir, self._dir_mode)
        with self._locked():
            for name in (BREAKER_FILE, INIT_MARKER):  # not other writers' temps (heartbeat)
                for stale in self.state_dir.glob(f".{name}.*{TEMP_SUFFIX}"):
                    stale.unlink(missing_ok=True)  # only lock holders create these: orphans
            if not self._path.exists() and not self._initialised():
                self._write(codec.initial(self._actor, self._now()))
                atomic_write(self.state_dir / INIT_MARKER, b"", self._file_mode)
                self._sink.emit(events.BREAKER_INITIALISED, breaker_seq=0, state="ACTIVE")
            elif self._path.exists() and not self._initialised():
                # a kill between the first write and the marker: complete the initialisation
                atomic_write(self.state_dir / INIT_MARKER, b"", self._file_mode)
        return self.read()

    def trip(
        self,
        trigger: ReasonCode,
        reason: str,
        *,
        evidence: Mapping[str, JsonValue] | None = None,
        action: Action = Action.HALT,
    ) -> BreakerView:
        """Durably move to HALTED (or REDUCING). Raises ``BreakerWriteError`` if not on disk."""
        if action is Action.RESET:
            raise ValueError("use reset() for a reset")
        try:
            return self._transition(action, trigger, reason, dict(evidence or {}), None, ())
        except BreakerWriteError as exc:
            self._forced = (trigger, reason)
            self._sink.emit(events.BREAKER_WRITE_FAILED, reason_code=trigger.value, error=str(exc))
            raise

    def reset(
        self,
        *,
        operator: str,
        reason: str,
        rebaseline: tuple[Rebaseline, ...] = (),
        evidence: Mapping[str, JsonValue] | None = None,
        expected_seq: int | None = None,
    ) -> BreakerView:
        """The manual reset (no policy here; see ``risk.reset_policy``). HALTED → ACTIVE.

        ``expected_seq``: refuse with ``StaleBreakerView`` if anything was written since the
        operator looked, so a reset can never clear a trip the operator has not seen.
        """
        return self._transition(
            Action.RESET,
            ReasonCode.MANUAL_RESET,
            reason,
            dict(evidence or {}),
            operator,
            rebaseline,
            expected_seq,
        )

    def _transition(
        self,
        action: Action,
        trigger: ReasonCode,
        reason: str,
        evidence: dict[str, JsonValue],
        operator: str | None,
        rebaseline: tuple[Rebaseline, ...],
        expected_seq: int | None = None,
    ) -> BreakerView:
        try:
            with self._locked():
                current = self.read()  # under the lock: stat-checked, re-read if changed
                if expected_seq is not None and current.seq != expected_seq:
                    raise StaleBreakerView(
                        f"breaker changed (seq {expected_seq} -> {current.seq}); look again"
                    )
                old = self._loaded if current.readable else None
                if old is None:
                    evidence["recovered_from"] = current.reason
                to_state = next_state(current.state, action)
                changed = old is None or to_state is not current.state
                seq = current.seq + 1
                if old is None:
                    # history is lost with the damaged file: jump to the µs epoch so the new seq
                    # is above anything any process saw before (resets are applied by seq)
                    seq = max(seq, time.time_ns() // 1000)
                last_reset = old.record.last_reset if old is not None else None
                if action is Action.RESET:
                    last_reset = LastReset(
                        seq=seq, at=self._now(), operator=operator or "", rebaseline=rebaseline
                    )
                entry = HistoryEntry(
                    seq=seq,
                    at=self._now(),
                    action=action,
                    from_state=current.state,
                    to_state=to_state,
                    trigger=trigger,
                    reason=reason,
                    actor=self._actor_for(operator),
                    evidence=evidence,
                    rebaseline=rebaseline,
                )
                loaded = codec.successor(
                    old,
                    entry,
                    changed=changed,
                    last_reset=last_reset,
                    history_limit=self._history_limit,
                )
                self._write(loaded)
        except BreakerWriteError:
            raise
        except OSError as exc:
            raise BreakerWriteError(f"breaker write failed: {exc}") from exc
        self._forced = None  # the file now says what this process knows
        self._emit(entry, changed)
        # What this call wrote: a re-read after the unlock may already show another writer's change.
        record = loaded.record
        return BreakerView(
            record.state, record.seq, record.trigger, record.reason, record.changed_at, record
        )

    def _emit(self, entry: HistoryEntry, changed: bool) -> None:
        if entry.action is Action.RESET:
            name = events.BREAKER_RESET
        else:
            name = events.BREAKER_TRIPPED if changed else events.BREAKER_TRIP_RECORDED
        self._sink.emit(
            name,
            breaker_seq=entry.seq,
            reason_code=entry.trigger.value,
            reason=entry.reason,
            from_state=entry.from_state.value,
            to_state=entry.to_state.value,
            actor=entry.actor.model_dump(),
            evidence=entry.evidence,
            rebaseline=list(entry.rebaseline),
        )

    def _actor_for(self, operator: str | None) -> Actor:
        if operator is None:
            return self._actor
        return self._actor.model_copy(update={"name": operator})

    def _now(self) -> str:
        return format_ts(self._clock.now())

    def _write(self, loaded: codec.Loaded) -> None:
        """Durably replace breaker.json, then hold the new file as the validated current view."""
        atomic_write(self._path, codec.encode(loaded), self._file_mode, mtime_after=self._path)
        self._close_fd()
        fd = os.open(self._path_str, os.O_RDONLY | os.O_CLOEXEC)
        st = os.fstat(fd)
        self._fd, self._key = fd, (st.st_ino, st.st_dev, st.st_mtime_ns, st.st_size)
        self._view = self._adopt(loaded)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        handle = self._open_lock()
        try:
            deadline = time.monotonic() + self._lock_timeout_s
            delay = 50e-6
            while True:
                try:
                    portalocker.lock(handle, _LOCK_FLAGS)
                    break
                except portalocker.AlreadyLocked:
                    if time.monotonic() >= deadline:
                        raise BreakerLockTimeout(
                            f"{self._lock_path} held by another process for "
                            f"{self._lock_timeout_s:.1f}s"
                        ) from None
                    time.sleep(delay)
                    delay = min(delay * 2, 0.002)
                except portalocker.LockException as exc:
                    raise BreakerWriteError(f"cannot lock {self._lock_path}: {exc}") from exc
            yield
        finally:
            handle.close()  # closing the descriptor releases the flock

    def _open_lock(self) -> IO[str]:
        try:
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, self._file_mode)
        except OSError as exc:
            raise BreakerWriteError(f"cannot open {self._lock_path}: {exc.strerror}") from exc
        with contextlib.suppress(OSError):  # O_CREAT applied the umask; the group needs file_mode
            if os.fstat(fd).st_mode & 0o777 != self._file_mode:
                os.fchmod(fd, self._file_mode)  # EPERM unless we own it: then the owner set it
        return os.fdopen(fd, "r+")
