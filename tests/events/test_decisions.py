"""The per-tick decision recorder: a bounded buffer, a per-second rate applied when drained."""

from __future__ import annotations

import pytest

from risk.decisions import DecisionRecorder

SECOND = 1_900_000_000_000_000


def _row(ts_us: int) -> tuple[int, str, float, float, int, int]:
    return (ts_us, "EURUSD", 1.1, 1.1002, 10_000_000, 0)


@pytest.mark.parametrize(
    ("per_second", "offsets", "kept"),
    [
        (3, [0, 1, 2], 3),
        (3, [0, 1, 2, 3, 4], 3),
        (3, [0, 1, 2, 3, 1_000_000, 1_000_001], 5),
        (1, [0, 999_999, 1_000_000], 2),
    ],
    ids=["at-limit", "over-limit", "two-seconds", "boundary"],
)
def test_drain_when_rows_exceed_rate_then_first_n_per_second_kept(
    per_second: int, offsets: list[int], kept: int
) -> None:
    """At most ``per_second`` rows per wall-clock second survive, the earliest ones first."""
    recorder = DecisionRecorder(per_second)
    for offset in offsets:
        recorder.record(_row(SECOND + offset))

    rows = recorder.drain()

    assert len(rows) == kept
    assert recorder.limited == len(offsets) - kept
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)


def test_drain_when_rate_spans_drains_then_second_budget_carries_over() -> None:
    """The budget of a second is shared by every drain that sees rows of that second."""
    recorder = DecisionRecorder(per_second=4)
    for i in range(3):
        recorder.record(_row(SECOND + i))
    first = recorder.drain()
    for i in range(3, 6):
        recorder.record(_row(SECOND + i))

    second = recorder.drain()

    assert (len(first), len(second), recorder.limited) == (3, 1, 2)


def test_record_when_buffer_full_then_oldest_dropped_and_saturation_counted() -> None:
    """Memory is bounded: past ``capacity`` the oldest rows go, and the drain says so."""
    recorder = DecisionRecorder(per_second=1000, capacity=5)
    for i in range(8):
        recorder.record(_row(SECOND + i))

    rows = recorder.drain()

    assert [r[0] - SECOND for r in rows] == [3, 4, 5, 6, 7]
    assert recorder.saturated == 1


def test_recorder_when_rate_zero_then_refused() -> None:
    """Off is "no recorder" (make_recorder returns None), never a recorder that keeps nothing."""
    with pytest.raises(ValueError, match="per_second"):
        DecisionRecorder(0)
