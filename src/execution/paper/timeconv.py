"""Time arguments as MT5 takes them, to epoch milliseconds.

MT5 takes ``datetime`` or int epoch seconds. **Our extension, for ``copy_ticks_*`` only:** a
number above ``10**11`` (1973-03-03 in milliseconds, year 5138 in seconds) is read as epoch
*milliseconds*, so the feed can poll ``copy_ticks_from(symbol, last_time_msc, ...)`` with
millisecond precision. The native MetaTrader5 module does not understand this; only the paper
terminal does. ``history_deals_get`` keeps MT5's seconds, so a far-future ``date_to`` stays one.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np

__all__ = ["MSC_THRESHOLD", "epoch_msc", "to_msc"]

MSC_THRESHOLD = 10**11

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


def epoch_msc(when: datetime) -> int:
    """Milliseconds since the epoch of a tz-aware datetime, exact (floored)."""
    if when.tzinfo is None:
        raise ValueError("naive datetime: pass a tz-aware one")
    return (when - _EPOCH) // _ONE_MS


def to_msc(value: object, *, end: bool = False, msc: bool = True) -> int:
    """An MT5 time argument as epoch ms. With ``end``, whole seconds cover their last ms.

    Accepts a tz-aware ``datetime``, an int (or numpy integer) or float of epoch seconds and,
    with ``msc``, a number above ``MSC_THRESHOLD`` as epoch milliseconds. ``ValueError`` else.
    """
    if isinstance(value, datetime):
        return epoch_msc(value)
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"not a time: {value!r}")
    number = float(value) if isinstance(value, float | np.floating) else int(value)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"not a time: {value!r}")
    if msc and number > MSC_THRESHOLD:
        return int(number)
    ms = int(number * 1000)
    return ms + 999 if end and ms % 1000 == 0 else ms
