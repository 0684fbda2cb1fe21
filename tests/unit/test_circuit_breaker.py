"""Specification of the persisted CircuitBreaker: transitions, durability, fail-closed reads."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

import portalocker
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from risk.breaker_state import TRANSITIONS, Action, BreakerState, InvalidTransition, next_state
from risk.circuit_breaker import (
    BREAKER_FILE,
    INIT_MARKER,
    LOCK_FILE,
    BreakerLockTimeout,
    BreakerWriteError,
    CircuitBreaker,
    StaleBreakerView,
)
from risk.clock import ManualClock, SystemClock
from risk.events import NullSink
from risk.reason_codes import ReasonCode
from tests.conftest import RecordingSink

HALTED, ACTIVE, REDUCING = BreakerState.HALTED, BreakerState.ACTIVE, BreakerState.REDUCING


@pytest.mark.parametrize(
    ("state", "action", "expected"),
    [
        (ACTIVE, Action.HALT, HALTED),
        (ACTIVE, Action.REDUCE, REDUCING),
        (ACTIVE, Action.RESET, None),
        (REDUCING, Action.HALT, HALTED),
        (REDUCING, Action.REDUCE, REDUCING),
        (REDUCING, Action.RESET, ACTIVE),
        (HALTED, Action.HALT, HALTED),
        (HALTED, Action.REDUCE, HALTED),
        (HALTED, Action.RESET, ACTIVE),
    ],
    ids=lambda v: getattr(v, "value", str(v)),
)
def test_next_state_when_pair_applied_then_follows_the_table(
    state: BreakerState, action: Action, expected: BreakerState | None
) -> None:
    """The transition table is total over the legal pairs and refuses the rest."""
    if expected is None:
        with pytest.raises(InvalidTransition):
            next_state(state, action)
    else:
        assert next_state(state, action) is expected


def test_transition_table_when_inspected_then_only_reset_leaves_halted() -> None:
    """HALTED is left only by the manual-reset action."""
    exits = {a for (s, a), to in TRANSITIONS.items() if s is HALTED and to is not HALTED}
    assert exits == {Action.RESET}


def test_initialise_when_fresh_dir_then_active_record_lock_and_modes(state_dir: Path) -> None:
    """A new state dir gets an ACTIVE seq-0 record, a lock file and the configured modes."""
    cb = CircuitBreaker(state_dir, role="t", clock=SystemClock(), sink=NullSink())
    view = cb.initialise()
    assert (view.state, view.seq, view.trigger) == (ACTIVE, 0, ReasonCode.INITIALISED)
    assert (state_dir / LOCK_FILE).exists() and (state_dir / INIT_MARKER).exists()
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o770
    assert stat.S_IMODE((state_dir / BREAKER_FILE).stat().st_mode) == 0o660


def test_initialise_when_already_halted_then_state_is_kept(breaker: CircuitBreaker) -> None:
    """Re-initialising (a restart) never overwrites a persisted trip."""
    breaker.trip(ReasonCode.DRAWDOWN, "dd")
    view = CircuitBreaker(
        breaker.state_dir, role="t2", clock=SystemClock(), sink=NullSink()
    ).initialise()
    assert (view.state, view.trigger, view.seq) == (HALTED, ReasonCode.DRAWDOWN, 1)


def test_trip_when_active_then_halted_durably_with_one_event(
    breaker: CircuitBreaker, sink: RecordingSink
) -> None:
    """A trip is on disk when it returns, with evidence, actor and exactly one event."""
    view = breaker.trip(ReasonCode.DRAWDOWN, "drawdown 2.01 %", evidence={"value": "2.01"})
    fresh = CircuitBreaker(breaker.state_dir, role="r", clock=SystemClock(), sink=NullSink()).read()
    assert (view.state, fresh.state, fresh.seq) == (HALTED, HALTED, 1)
    assert fresh.record is not None and fresh.record.evidence == {"value": "2.01"}
    assert fresh.record.actor.role == "test" and fresh.record.actor.pid == os.getpid()
    assert sink.names() == ["breaker.initialised", "breaker.tripped"]


def test_trip_when_already_halted_then_first_trigger_kept_and_history_grows(
    breaker: CircuitBreaker, sink: RecordingSink
) -> None:
    """A second trip keeps the first trigger, bumps seq and only adds history."""
    breaker.trip(ReasonCode.DRAWDOWN, "first")
    view = breaker.trip(ReasonCode.LEVERAGE, "second")
    assert (view.state, view.trigger, view.reason, view.seq) == (
        HALTED,
        ReasonCode.DRAWDOWN,
        "first",
        2,
    )
    assert view.record is not None
    assert [e.trigger for e in view.record.history] == [ReasonCode.DRAWDOWN, ReasonCode.LEVERAGE]
    assert sink.names()[-1] == "breaker.trip_recorded"


def test_trip_when_reduce_action_then_reducing_and_halt_overrides(breaker: CircuitBreaker) -> None:
    """REDUCE moves ACTIVE to REDUCING; a HALT then wins; REDUCE never softens HALTED."""
    assert breaker.trip(ReasonCode.LEVERAGE, "lev", action=Action.REDUCE).state is REDUCING
    assert breaker.trip(ReasonCode.DRAWDOWN, "dd").state is HALTED
    assert breaker.trip(ReasonCode.LEVERAGE, "lev", action=Action.REDUCE).state is HALTED


def test_reset_when_active_then_invalid_transition_and_nothing_written(
    breaker: CircuitBreaker,
) -> None:
    """Resetting an ACTIVE breaker is refused and writes nothing."""
    with pytest.raises(InvalidTransition):
        breaker.reset(operator="op", reason="why")
    assert breaker.read().seq == 0


def test_reset_when_halted_then_active_with_audit_and_last_reset(
    breaker: CircuitBreaker, sink: RecordingSink
) -> None:
    """A reset records operator, reason and exactly the rebaseline asked for."""
    breaker.trip(ReasonCode.DAILY_LOSS, "dl")
    view = breaker.reset(operator="alice", reason="reviewed", rebaseline=("daily",))
    assert view.state is ACTIVE and view.record is not None
    assert view.record.last_reset is not None
    assert (view.record.last_reset.operator, view.record.last_reset.rebaseline) == (
        "alice",
        ("daily",),
    )
    assert view.record.history[-1].actor.name == "alice"
    assert sink.names()[-1] == "breaker.reset"


def test_reset_when_seq_moved_since_operator_looked_then_refused(breaker: CircuitBreaker) -> None:
    """A conditional reset never clears a trip the operator has not seen."""
    breaker.trip(ReasonCode.DRAWDOWN, "seen")
    seen = breaker.read().seq
    breaker.trip(ReasonCode.LEVERAGE, "not seen")
    with pytest.raises(StaleBreakerView):
        breaker.reset(operator="op", reason="r", expected_seq=seen)
    assert breaker.read().state is HALTED


def test_history_when_more_transitions_than_limit_then_bounded_to_newest(
    breaker: CircuitBreaker,
) -> None:
    """History keeps only the newest ``history_limit`` entries (5 here)."""
    for i in range(8):
        breaker.trip(ReasonCode.MANUAL_TRIP, f"t{i}")
    record = breaker.read().record
    assert record is not None
    assert [e.seq for e in record.history] == [4, 5, 6, 7, 8]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b'{"schema": "riskguard.breaker/1", "state": "ACT',
        b"\x00\xff garbage \x00",
        b'{"schema": "riskguard.breaker/2", "state": "ACTIVE"}',
        b'{"state": "ACTIVE", "seq": 3}',
        b"[]",
        b"null",
    ],
    ids=[
        "empty",
        "truncated",
        "garbage",
        "wrong-schema-version",
        "missing-fields",
        "array",
        "null",
    ],
)
def test_read_when_file_damaged_then_halted_breaker_unreadable(
    breaker: CircuitBreaker, content: bytes
) -> None:
    """Any damaged breaker.json reads as HALTED with BREAKER_UNREADABLE, never ACTIVE."""
    (breaker.state_dir / BREAKER_FILE).write_bytes(content)
    view = breaker.read()
    assert (view.state, view.trigger, view.readable) == (
        HALTED,
        ReasonCode.BREAKER_UNREADABLE,
        False,
    )
    assert not breaker.is_safe()


def test_read_when_missing_after_initialisation_then_halted(breaker: CircuitBreaker) -> None:
    """Deleting breaker.json after initialisation reads HALTED, never a fresh ACTIVE."""
    (breaker.state_dir / BREAKER_FILE).unlink()
    view = breaker.read()
    assert (view.state, view.trigger) == (HALTED, ReasonCode.BREAKER_UNREADABLE)
    assert "missing after initialisation" in view.reason
    assert breaker.initialise().state is HALTED


def test_read_when_never_initialised_then_halted(state_dir: Path) -> None:
    """An engine started before any breaker exists does not trade."""
    view = CircuitBreaker(state_dir, role="engine", clock=SystemClock(), sink=NullSink()).read()
    assert (view.state, view.trigger) == (HALTED, ReasonCode.BREAKER_UNREADABLE)


def _read_in_child(state_dir: Path, uid: int | None) -> str:
    """Read the breaker in a forked child, optionally as another (unprivileged) user."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: drop privileges, read, report, exit without cleanup
        try:
            if uid is not None:
                os.setgid(uid)
                os.setuid(uid)
            view = CircuitBreaker(state_dir, role="x", clock=SystemClock(), sink=NullSink()).read()
            os.write(write_fd, f"{view.state.value} {view.trigger.value} {view.reason}".encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        out = pipe.read()
    os.waitpid(pid, 0)
    return out


def test_read_when_permission_denied_then_halted(breaker: CircuitBreaker) -> None:
    """A reader without permission sees HALTED (checked as user nobody when run as root)."""
    os.chmod(breaker.state_dir / BREAKER_FILE, 0o600)
    if os.geteuid() == 0:
        out = _read_in_child(breaker.state_dir, uid=65534)
    else:
        os.chmod(breaker.state_dir / BREAKER_FILE, 0o000)
        out = _read_in_child(breaker.state_dir, uid=None)
    assert out.startswith("HALTED BREAKER_UNREADABLE")
    assert "Permission denied" in out


def test_read_when_another_process_writes_then_fast_path_sees_it(breaker: CircuitBreaker) -> None:
    """The cached view is dropped the moment the file is replaced or edited in place."""
    other = CircuitBreaker(breaker.state_dir, role="o", clock=SystemClock(), sink=NullSink())
    assert breaker.read().state is ACTIVE
    other.trip(ReasonCode.MANUAL_TRIP, "from elsewhere")
    assert breaker.read().state is HALTED
    with open(breaker.state_dir / BREAKER_FILE, "ab") as fh:  # in-place edit, same inode
        fh.write(b" trailing junk")
    assert breaker.read().trigger is ReasonCode.BREAKER_UNREADABLE


def test_cached_view_when_breaker_json_hard_linked_then_trip_by_replace_is_seen(
    breaker: CircuitBreaker,
) -> None:
    """A hard link to breaker.json (a backup made with ``cp -al`` or ``ln``) keeps the replaced
    inode's link count above zero: a reader that held the old file must still see the trip."""
    other = CircuitBreaker(breaker.state_dir, role="o", clock=SystemClock(), sink=NullSink())
    assert breaker.read().state is ACTIVE
    os.link(breaker.state_dir / BREAKER_FILE, breaker.state_dir / "breaker.json.backup")

    other.trip(ReasonCode.MANUAL_TRIP, "from elsewhere")

    view = breaker.read()
    assert (view.state, view.trigger) == (HALTED, ReasonCode.MANUAL_TRIP)
    assert not breaker.is_safe()
    other.close()


def test_cached_view_when_breaker_json_renamed_away_then_halted(breaker: CircuitBreaker) -> None:
    """breaker.json moved away (the file still exists under another name) is a missing
    breaker.json for every reader, including one that held it open: HALTED, never the cache."""
    assert breaker.read().state is ACTIVE
    os.rename(breaker.state_dir / BREAKER_FILE, breaker.state_dir / "elsewhere.json")

    view = breaker.read()
    assert (view.state, view.trigger) == (HALTED, ReasonCode.BREAKER_UNREADABLE)
    assert "missing after initialisation" in view.reason


def test_trip_when_file_unreadable_then_fresh_halted_record_with_recovery_evidence(
    breaker: CircuitBreaker,
) -> None:
    """Tripping over a corrupt file writes a complete HALTED record and says so."""
    breaker.trip(ReasonCode.MANUAL_TRIP, "before")
    (breaker.state_dir / BREAKER_FILE).write_bytes(b"{corrupt")
    view = breaker.trip(ReasonCode.DRAWDOWN, "after")
    assert (view.state, view.trigger) == (HALTED, ReasonCode.DRAWDOWN)
    assert view.seq > 1  # above every seq seen before the damage
    assert view.record is not None and "recovered_from" in view.record.evidence


def test_trip_when_write_fails_then_raises_and_local_view_halted(
    breaker: CircuitBreaker, sink: RecordingSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trip that is not durable raises, is evented, and halts this process anyway."""

    def disk_full(*_: object, **__: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("risk.circuit_breaker.atomic_write", disk_full)
    with pytest.raises(BreakerWriteError):
        breaker.trip(ReasonCode.DRAWDOWN, "dd")
    assert breaker.read().state is ACTIVE  # the file could not change...
    assert breaker.gate().state is HALTED and not breaker.is_safe()  # ...but we do not trade
    assert sink.names()[-1] == "breaker.write_failed"


def test_trip_when_lock_held_elsewhere_then_times_out_and_halts_locally(state_dir: Path) -> None:
    """A stuck lock holder cannot hang a trip forever; the tripping process halts itself."""
    cb = CircuitBreaker(
        state_dir, role="t", clock=SystemClock(), sink=NullSink(), lock_timeout_ms=50
    )
    cb.initialise()
    with open(state_dir / LOCK_FILE, "a") as holder:
        portalocker.lock(holder, portalocker.LockFlags.EXCLUSIVE)
        with pytest.raises(BreakerLockTimeout):
            cb.trip(ReasonCode.DRAWDOWN, "dd")
    assert not cb.is_safe()


def test_initialise_when_orphan_temp_files_then_removed(breaker: CircuitBreaker) -> None:
    """Temp files left by a writer killed mid-write are cleaned under the lock."""
    orphan = breaker.state_dir / ".breaker.json.99999.tmp"
    orphan.write_bytes(b"{half")
    breaker.initialise()
    assert not orphan.exists()


OPS = st.lists(st.sampled_from(["halt", "reduce", "reset"]), max_size=25)


@settings(max_examples=40, deadline=None)
@given(ops=OPS)
def test_breaker_when_random_operations_then_only_reset_leaves_halted(ops: list[str]) -> None:
    """Invariant: once HALTED, nothing but a reset clears it; every write bumps seq by one."""
    with tempfile.TemporaryDirectory(
        dir=Path.cwd() / "var" if (Path.cwd() / "var").is_dir() else None
    ) as d:
        cb = CircuitBreaker(Path(d) / "s", role="h", clock=SystemClock(), sink=NullSink())
        cb.initialise()
        model, seq = ACTIVE, 0
        for op in ops:
            before = cb.read().state
            if op == "reset":
                if before is ACTIVE:
                    with pytest.raises(InvalidTransition):
                        cb.reset(operator="o", reason="r")
                    continue
                model = ACTIVE
                after = cb.reset(operator="o", reason="r")
            else:
                action = Action.HALT if op == "halt" else Action.REDUCE
                model = next_state(model, action)
                after = cb.trip(ReasonCode.MANUAL_TRIP, op, action=action)
                if before is HALTED:
                    assert after.state is HALTED
            seq += 1
            assert (after.state, after.seq) == (model, seq)


def test_gate_when_heartbeat_stale_then_monitor_silent_and_back_when_fresh(
    breaker: CircuitBreaker, clock: ManualClock
) -> None:
    """No heartbeat, or one older than the timeout, halts the engine's view without writing."""
    from risk.heartbeat import HeartbeatWriter

    assert breaker.gate().reason_code is ReasonCode.MONITOR_SILENT
    writer = HeartbeatWriter(breaker.state_dir, clock=clock, file_mode=0o660)
    writer.beat()
    assert breaker.is_safe()
    clock.advance(2.999)
    assert breaker.is_safe()
    clock.advance(0.001)
    assert breaker.gate().reason_code is ReasonCode.MONITOR_SILENT
    writer.beat()
    assert breaker.is_safe()
    assert breaker.read().seq == 0  # the view changed, the file did not


def test_reset_when_file_damaged_by_fresh_process_then_seq_still_above_every_earlier_one(
    breaker: CircuitBreaker,
) -> None:
    """A recovering process that never saw the old seq still writes a larger one, so monitors
    that apply resets by seq cannot mistake the recovery for an old reset."""
    breaker.trip(ReasonCode.MANUAL_TRIP, "a")
    breaker.reset(operator="op", reason="r")
    before = breaker.trip(ReasonCode.MANUAL_TRIP, "b").seq
    (breaker.state_dir / BREAKER_FILE).write_bytes(b"garbage")
    fresh = CircuitBreaker(breaker.state_dir, role="cli", clock=SystemClock(), sink=NullSink())
    after = fresh.reset(operator="op", reason="recover")
    assert after.state is ACTIVE
    assert after.seq > before
