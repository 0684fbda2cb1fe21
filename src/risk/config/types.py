"""Exact, strict field types shared by the config schema."""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, Field

__all__ = [
    "FileMode",
    "LaxPath",
    "Money",
    "NonNegativeDecimal",
    "Percent",
    "PositiveDecimal",
    "TimeOfDay",
    "TimeZoneName",
]


def _to_decimal(value: Any) -> Decimal:
    """Accept int, str or float (via its shortest repr); refuse bool and everything else."""
    if isinstance(value, bool) or value is None:
        raise ValueError("must be a number, not a boolean or null")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | str):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal number") from None
    elif isinstance(value, float):
        result = Decimal(repr(value))
    else:
        raise ValueError(f"must be a decimal number, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError("must be finite")
    return result


_TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _to_time(value: Any) -> time:
    """Parse a quoted "HH:MM"; YAML 1.1 turns an unquoted 12:30 into the integer 750."""
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError('must be a quoted "HH:MM" string (unquoted YAML 1.1 times become numbers)')
    if not isinstance(value, str) or not (match := _TIME_RE.match(value)):
        raise ValueError('must be a time of day as "HH:MM"')
    return time(int(match.group(1)), int(match.group(2)))


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe" is a directory: OSError
        raise ValueError(f"unknown IANA time zone {value!r}") from None
    return value


_MODE_RE = re.compile(r"^0[0-7]{3}$")


def _to_mode(value: Any) -> int:
    """File modes are quoted octal strings: an unquoted 0750 is the YAML 1.1 integer 488."""
    if not isinstance(value, str) or not _MODE_RE.match(value):
        raise ValueError('must be a quoted octal mode like "0750"')
    mode = int(value, 8)
    if mode & 0o007:
        raise ValueError("must not grant any permission to others (last digit 0)")
    return mode


Money = Annotated[
    Decimal, BeforeValidator(_to_decimal), Field(ge=0, max_digits=20, decimal_places=8)
]
PositiveDecimal = Annotated[Decimal, BeforeValidator(_to_decimal), Field(gt=0)]
NonNegativeDecimal = Annotated[Decimal, BeforeValidator(_to_decimal), Field(ge=0)]
Percent = Annotated[Decimal, BeforeValidator(_to_decimal), Field(gt=0, le=100)]
TimeOfDay = Annotated[time, BeforeValidator(_to_time)]
TimeZoneName = Annotated[str, AfterValidator(_check_zone)]
FileMode = Annotated[int, BeforeValidator(_to_mode)]
LaxPath = Annotated[Path, Field(strict=False)]
