"""Read ``risk_limits.yaml`` safely and strictly; report every problem with its YAML path.

No silent defaults: a missing file, a duplicate key, a typo or a wrong type is a ``ConfigError``
naming the file, the field (and its line) and the reason. Callers exit with 78 (EX_CONFIG).
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from risk.config.schema import RiskConfig

__all__ = ["ENV_OVERRIDES", "ConfigError", "ConfigIssue", "load_config", "parse_config"]

EX_CONFIG = 78

#: environment variable -> (section, key) it overrides. Applied before validation.
ENV_OVERRIDES: Mapping[str, tuple[str, str]] = {
    "RISKGUARD_STATE_DIR": ("paths", "state_dir"),
    "RISKGUARD_LOG_DIR": ("paths", "log_dir"),
    "KAFKA_BOOTSTRAP_SERVERS": ("kafka", "bootstrap_servers"),
}


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem: the dotted YAML path, the line (if known) and what is wrong."""

    path: str
    message: str
    line: int | None = None

    def render(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line else source
        return f"{where}: {self.path or '<root>'}: {self.message}"


class ConfigError(Exception):
    """The configuration cannot be used. ``issues`` lists every problem found."""

    exit_code = EX_CONFIG

    def __init__(self, source: str, issues: list[ConfigIssue]) -> None:
        self.source = source
        self.issues = issues
        super().__init__("\n".join(issue.render(source) for issue in issues))


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys instead of keeping the last one."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if not isinstance(key, Hashable):
            continue  # construct_mapping reports "found unhashable key" as a YAML error
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _line_index(text: str) -> dict[tuple[str, ...], int]:
    """Map each key path of the document to its 1-based line, for error messages."""
    index: dict[tuple[str, ...], int] = {}

    def walk(node: yaml.Node, prefix: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                path = (*prefix, str(key_node.value))
                index[path] = key_node.start_mark.line + 1
                walk(value_node, path)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                index[(*prefix, str(i))] = item.start_mark.line + 1
                walk(item, (*prefix, str(i)))

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return index
    if root is not None:
        walk(root, ())
    return index


def _apply_env(data: dict[str, Any], env: Mapping[str, str]) -> None:
    for var, (section, key) in ENV_OVERRIDES.items():
        value = env.get(var)
        if value is not None and isinstance(data.get(section), dict):
            data[section][key] = value


def parse_config(
    text: str, source: str = "<string>", env: Mapping[str, str] | None = None
) -> RiskConfig:
    """Validate YAML text; raise ``ConfigError`` listing every issue."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(source, [ConfigIssue("", f"invalid YAML: {problem}", line)]) from None
    if not isinstance(data, dict):
        raise ConfigError(source, [ConfigIssue("", "the file must be a mapping of sections")])
    _apply_env(data, os.environ if env is None else env)
    try:
        return RiskConfig.model_validate(data)
    except ValidationError as exc:
        lines = _line_index(text)
        issues = []
        for err in exc.errors(include_url=False):
            loc = tuple(str(part) for part in err["loc"])
            line = next((lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in lines), None)
            issues.append(ConfigIssue(".".join(loc), err["msg"], line))
        raise ConfigError(source, issues) from None


def load_config(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> RiskConfig:
    """Load and validate a config file. A missing or unreadable file is an error, never defaults."""
    source = os.fspath(path)
    try:
        text = Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, [ConfigIssue("", f"cannot read the file: {exc}")]) from None
    return parse_config(text, source, env)
