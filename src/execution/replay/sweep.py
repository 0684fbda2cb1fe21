"""``--sweep KEY=V1,V2,...``: the same replay under several values of a config setting.

``KEY`` is a dotted path of ``risk_limits.yaml`` (``drawdown.limit_pct``, ``daily_loss.limit_pct``,
``leverage.limit``, ``latency.stale_feed_seconds``, ...). Each value replaces the setting in the
YAML document, which is then validated like any config file; a value that makes the config
invalid (for instance a limit at or below its warning level) gives a row with the error instead of
results. A trailing ``%`` on a value is ignored (``1%`` is ``1``). Several ``--sweep`` options with
the same number of values move together, row by row (``drawdown.limit_pct=1,2,3`` with
``drawdown.warning_pct=0.5,1,1.5``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from risk.config import ConfigError, RiskConfig, parse_config

__all__ = ["Setting", "SweepError", "SweepSpec", "parse_sweep", "sweep_settings"]


class SweepError(ValueError):
    """The ``--sweep`` argument itself is wrong (syntax, unknown key): a usage error."""


@dataclass(frozen=True, slots=True)
class SweepSpec:
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Setting:
    """One row of the sweep: the values it sets, and its config or why there is none."""

    values: tuple[tuple[str, str], ...]
    config: RiskConfig | None
    error: str | None

    @property
    def label(self) -> str:
        return ", ".join(f"{key}={value}" for key, value in self.values)


def parse_sweep(text: str) -> SweepSpec:
    key, eq, values = text.partition("=")
    key = key.strip()
    items = tuple(v.strip().removesuffix("%").strip() for v in values.split(","))
    if not eq or "." not in key or not all(items):
        raise SweepError(
            f"--sweep {text!r}: expected SECTION.KEY=V1,V2,... (e.g. drawdown.limit_pct=1,2,3)"
        )
    return SweepSpec(key, items)


def _coerce(old: Any, value: str, key: str) -> Any:
    """The new value in the YAML type of the old one (quoted decimals stay strings)."""
    if isinstance(old, bool):
        if value.lower() not in ("true", "false"):
            raise ValueError(f"{key} is true/false, not {value!r}")
        return value.lower() == "true"
    if isinstance(old, int):
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"{key} is a whole number, not {value!r}") from None
    if isinstance(old, float):
        return float(value)
    return value


def _parent(data: Any, key: str, config_path: Path) -> dict[str, Any]:
    """The mapping holding ``key``'s last part; ``SweepError`` naming the choices if none."""
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    leaf = parts[-1]
    if isinstance(node, dict) and leaf in node and not isinstance(node[leaf], dict | list):
        return node
    if isinstance(node, dict):
        section = ".".join(parts[:-1])
        names = [f"{section}.{k}" for k, v in node.items() if not isinstance(v, dict | list)]
        choices = ", ".join(names)
    else:
        choices = "sections: " + ", ".join(str(k) for k in data)
    raise SweepError(f"--sweep: {key} is not a setting of {config_path} ({choices})")


def sweep_settings(
    specs: Sequence[SweepSpec], config_path: Path, env: Mapping[str, str] | None = None
) -> list[Setting]:
    """One ``Setting`` per row. ``SweepError`` for an unknown key or uneven value counts."""
    if len({len(spec.values) for spec in specs}) > 1:
        raise SweepError("--sweep: several sweeps move together and need as many values each")
    text = Path(config_path).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    parents = [_parent(data, spec.key, config_path) for spec in specs]
    originals = [
        parent[spec.key.rsplit(".", 1)[1]] for parent, spec in zip(parents, specs, strict=True)
    ]
    rows = len(specs[0].values) if specs else 0
    settings = []
    for row in range(rows):
        values = tuple((spec.key, spec.values[row]) for spec in specs)
        label = ", ".join(f"{k}={v}" for k, v in values)
        try:
            for parent, spec, old in zip(parents, specs, originals, strict=True):
                leaf = spec.key.rsplit(".", 1)[1]
                parent[leaf] = _coerce(old, spec.values[row], spec.key)
            config = parse_config(
                yaml.safe_dump(data),
                f"{config_path} with {label}",
                os.environ if env is None else env,
            )
            settings.append(Setting(values, config, None))
        except ValueError as exc:
            settings.append(Setting(values, None, str(exc)))
        except ConfigError as exc:
            problems = "; ".join(f"{i.path}: {i.message}" for i in exc.issues)
            settings.append(Setting(values, None, problems))
    return settings
