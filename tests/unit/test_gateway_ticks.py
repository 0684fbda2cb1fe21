"""The gateway's column-wise conversion of ``copy_ticks_*`` rows equals the field-by-field one."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from execution.gateway import ticks_of
from execution.mt5.types import TICK_DTYPE
from risk.models import Tick

_row = st.tuples(
    st.integers(0, 2**40),  # time (s)
    st.floats(allow_nan=True, allow_infinity=True),  # bid: bad values pass through unchanged
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(allow_nan=False),
    st.integers(0, 2**40),  # volume
    st.integers(1_700_000_000_000, 1_700_000_100_000),  # time_msc
    st.integers(0, 2**31 - 1),  # flags
    st.floats(allow_nan=False),  # volume_real
)


def _field_by_field(symbol: str, rows: np.ndarray, from_msc: int) -> list[Tick]:
    return [
        Tick(
            symbol,
            float(r["bid"]),
            float(r["ask"]),
            float(r["last"]),
            int(r["volume"]),
            int(r["time_msc"]),
            int(r["flags"]),
        )
        for r in rows
        if int(r["time_msc"]) >= from_msc
    ]


@given(st.lists(_row, max_size=40), st.integers(1_700_000_000_000, 1_700_000_100_000))
def test_rows_when_converted_then_same_ticks_and_types_as_field_by_field(
    rows: list[tuple[object, ...]], from_msc: int
) -> None:
    array = np.array(rows, dtype=TICK_DTYPE)

    fast = ticks_of("EURUSD", array, from_msc)

    slow = _field_by_field("EURUSD", array, from_msc)
    assert [repr(t) for t in fast] == [repr(t) for t in slow]  # repr: NaN compares unequal
    types = [tuple(map(type, t)) for t in fast] == [tuple(map(type, t)) for t in slow]
    assert types  # plain float and int, as before: no numpy scalars leak into the kernel


def test_empty_answer_when_converted_then_no_ticks() -> None:
    assert ticks_of("EURUSD", np.array([], dtype=TICK_DTYPE), 0) == []
