"""Secrets never reach a log line: a structlog processor that masks them.

A key that names a secret (password, secret, token, api_key, sasl_password, credential, private
key, authorization, cookie; any case, ``-``/``_``/``.`` separators) has its value replaced by
``***``, however deep it sits. String values are scrubbed of credentials embedded in URLs
(``scheme://user:pass@host``) and of secret-named query parameters (``?token=...``).
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any, Final

__all__ = ["MASK", "is_secret_key", "mask_secrets", "mask_value"]

MASK: Final = "***"
_MAX_DEPTH: Final = 6
_SECRET_WORDS: Final = "|".join(  # the names of secrets, not a secret
    (
        r"pass(?:word|wd|phrase)?",
        r"secret",
        r"token",
        r"api[-_.]?key",
        r"credentials?",
        r"private[-_.]?key",
        r"authorization",
        r"auth[-_.]?token",
        r"cookie",
        r"session[-_.]?id",
        r"sasl[-_.]?password",
    )
)
_SECRET_KEY: Final = re.compile(rf"(?:^|[-_.])(?:{_SECRET_WORDS})(?:$|[-_.])", re.IGNORECASE)
_URL_USERINFO: Final = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s]*):[^@/?#\s]*@")
_QUERY_SECRET: Final = re.compile(
    rf"(?P<head>[?&;](?:[A-Za-z0-9_.-]*[-_.])?(?:{_SECRET_WORDS})=)[^&;#\s]*", re.IGNORECASE
)
_KEY_CACHE: dict[str, bool] = {}


def is_secret_key(key: object) -> bool:
    """True if ``key`` names a secret (cached: a service logs the same few keys forever)."""
    if not isinstance(key, str):
        return False
    known = _KEY_CACHE.get(key)
    if known is None:
        known = _SECRET_KEY.search(key) is not None
        if len(_KEY_CACHE) < 4096:
            _KEY_CACHE[key] = known
    return known


def _scrub(text: str) -> str:
    if "://" in text:
        text = _URL_USERINFO.sub(r"\g<head>:***@", text)
    if "=" in text:
        text = _QUERY_SECRET.sub(r"\g<head>***", text)
    return text


def mask_value(value: Any, depth: int = 0) -> Any:
    """``value`` with secret-named keys and URL credentials masked (containers copied)."""
    if isinstance(value, str):
        return _scrub(value)
    if depth >= _MAX_DEPTH:
        return value
    if isinstance(value, dict):
        return {
            key: MASK if is_secret_key(key) else mask_value(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_value(item, depth + 1) for item in value]
    return value


def mask_secrets(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> Any:
    """structlog processor: mask in place at the top level, copy nested containers."""
    for key, value in event_dict.items():
        if is_secret_key(key):
            event_dict[key] = MASK
        elif isinstance(value, str):
            if "://" in value or "=" in value:
                event_dict[key] = _scrub(value)
        elif isinstance(value, dict | list | tuple):
            event_dict[key] = mask_value(value, 1)
    return event_dict
