"""A test-sized copy of a risk_limits.yaml: the verifier's and the system tests' config.

The base file's limits are kept (the point is to verify *them*); what a run needs to be private,
quick and independent of the calendar is overridden: its own state and log dirs, the paper
terminal's port, every day a trading day, no Kafka unless asked, and test-sized timeouts.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

__all__ = ["derive_config", "set_dotted"]


def set_dotted(data: dict[str, Any], key: str, value: object) -> None:
    """``set_dotted(d, "latency.stale_feed_seconds", 3)``; the section must already exist."""
    section, _, name = key.rpartition(".")
    node: Any = data
    for part in section.split(".") if section else ():
        if not isinstance(node, dict) or not isinstance(node.get(part), dict):
            raise KeyError(f"no section {section!r} in the base config (for {key!r})")
        node = node[part]
    node[name] = value


def derive_config(
    base: Path,
    dest: Path,
    *,
    overrides: Mapping[str, object] | None = None,
    replacements: Mapping[str, str] | None = None,
) -> Path:
    """Write ``dest`` from ``base``: exact text ``replacements`` first (each must occur exactly
    once), then dotted-key ``overrides`` on the parsed YAML. Returns ``dest``."""
    text = base.read_text(encoding="utf-8")
    for old, new in (replacements or {}).items():
        count = text.count(old)
        if count != 1:
            raise ValueError(f"{old!r} occurs {count} times in {base}; it must occur once")
        text = text.replace(old, new)
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"{base}: not a mapping of sections")
    for key, value in (overrides or {}).items():
        set_dotted(data, key, value)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return dest
