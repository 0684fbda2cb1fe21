"""No dead keys: every schema key is read by code, shipped in the YAML and documented.

"Used" is computed from source text, deterministically: a key ``section.key`` counts as used when a
module under ``src/`` (outside ``src/risk/config/``) contains the attribute access ``.key`` and
also refers to the section (``.section`` or the section's model class, e.g. ``DailyLossConfig``).
Keys that no code reads yet are listed in ``PENDING_KEYS`` with the reason; a key leaves the list
in the change that starts using it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from risk.config import ENV_OVERRIDES, RiskConfig

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
CONFIG_PACKAGE = SRC / "risk" / "config"
SHIPPED = REPO / "config" / "risk_limits.yaml"
DOCS = REPO / "docs" / "configuration.md"

#: Root-level scalars: checked by the schema itself, not read by run-time code.
SCHEMA_ONLY_KEYS: dict[str, str] = {
    "version": "checked by the schema (Literal[1]); a future version 2 gets a migration",
}

_ENGINE = "the live engine (execution/live_engine) lands in a later issue"
_BROKER = "the MT5 backends and paper terminal land in a later issue"
_FEED = "the feed poller (execution/feed) lands in a later issue"
_MONITOR = "the risk monitor service lands in a later issue"

#: Keys no code reads yet, each with the reason. Remove a key here when code starts reading it.
PENDING_KEYS: dict[str, str] = {}


def _leaf_keys(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, str]]:
    """Yield (dotted key, owning model class name) for every leaf of ``model``, recursively."""
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _leaf_keys(annotation, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", model.__name__


SCHEMA_LEAVES: dict[str, str] = dict(_leaf_keys(RiskConfig))
SECTION_KEYS = sorted(key for key in SCHEMA_LEAVES if key not in SCHEMA_ONLY_KEYS)


@cache
def _identifiers() -> dict[Path, tuple[frozenset[str], frozenset[str]]]:
    """Per module outside the config package: (attribute names, all referenced names)."""
    found: dict[Path, tuple[frozenset[str], frozenset[str]]] = {}
    for path in sorted(SRC.rglob("*.py")):
        if path.is_relative_to(CONFIG_PACKAGE):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        attributes: set[str] = set()
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                attributes.add(node.attr)
            elif isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.alias):
                names.add(node.name.rsplit(".", 1)[-1])
        found[path] = (frozenset(attributes), frozenset(names | attributes))
    return found


def _readers(dotted: str) -> list[str]:
    """Modules that read ``dotted`` (``.key`` plus ``.section`` or the section's model class)."""
    section, key = dotted.split(".")
    model = SCHEMA_LEAVES[dotted]
    return [
        str(path.relative_to(REPO))
        for path, (attributes, names) in _identifiers().items()
        if key in attributes and (section in attributes or model in names)
    ]


def _flatten(data: dict[str, object]) -> set[str]:
    return {
        f"{section}.{key}" if isinstance(body, dict) else section
        for section, body in data.items()
        for key in (body if isinstance(body, dict) else [None])
    }


def test_schema_when_walked_then_every_section_key_has_a_model() -> None:
    """The walk finds the sections' leaves (sanity check for the guard itself)."""
    assert "daily_loss.limit_pct" in SCHEMA_LEAVES
    assert SCHEMA_LEAVES["daily_loss.limit_pct"] == "DailyLossConfig"
    assert len(SECTION_KEYS) > 100


@pytest.mark.parametrize("dotted", SECTION_KEYS, ids=SECTION_KEYS)
def test_key_when_read_by_code_then_not_pending_else_pending(dotted: str) -> None:
    """A key read by code must leave PENDING_KEYS; a key nobody reads must be listed there."""
    readers = _readers(dotted)

    if readers:
        assert dotted not in PENDING_KEYS, (
            f"{dotted} is read by {readers}: remove it from PENDING_KEYS"
        )
    else:
        assert dotted in PENDING_KEYS, (
            f"{dotted} is read by no module under src/ (dead key): use it, delete it from the "
            "schema, or add it to PENDING_KEYS with a reason"
        )


def test_allow_lists_when_checked_then_name_real_keys_with_reasons() -> None:
    """PENDING_KEYS and SCHEMA_ONLY_KEYS hold only schema keys, each with a reason."""
    stale = sorted((set(PENDING_KEYS) | set(SCHEMA_ONLY_KEYS)) - set(SCHEMA_LEAVES))

    assert stale == [], f"not schema keys: {stale}"
    assert set(SCHEMA_ONLY_KEYS).isdisjoint(SECTION_KEYS)
    assert all(reason.strip() for reason in [*PENDING_KEYS.values(), *SCHEMA_ONLY_KEYS.values()])


def test_shipped_yaml_when_flattened_then_has_exactly_the_schema_keys() -> None:
    """config/risk_limits.yaml sets every schema key and no other."""
    shipped = _flatten(yaml.safe_load(SHIPPED.read_text(encoding="utf-8")))

    assert sorted(set(SCHEMA_LEAVES) - shipped) == [], "schema keys missing from the YAML"
    assert sorted(shipped - set(SCHEMA_LEAVES)) == [], "YAML keys unknown to the schema"


_DOC_ROW = re.compile(r"^\|\s*`(?P<key>[a-z0-9_.]+)`\s*\|(?P<rest>.*)$", re.MULTILINE)


@cache
def _documented() -> dict[str, str]:
    """docs/configuration.md key rows: dotted key -> the rest of the table row."""
    text = DOCS.read_text(encoding="utf-8")
    return {match["key"]: match["rest"] for match in _DOC_ROW.finditer(text)}


def test_docs_when_parsed_then_document_exactly_the_schema_keys() -> None:
    """docs/configuration.md has one table row per schema key, and none for unknown keys."""
    documented = set(_documented())

    assert sorted(set(SCHEMA_LEAVES) - documented) == [], "schema keys missing from the docs"
    assert sorted(documented - set(SCHEMA_LEAVES)) == [], "docs rows for keys not in the schema"


_SHIPPED_LINE = re.compile(r"^(?P<indent> *)(?P<key>[a-z0-9_]+):(?P<value>[^#]*)")


def _shipped_raw_values() -> dict[str, str]:
    """Each key's value exactly as written in the shipped YAML (quotes kept, comment dropped)."""
    values: dict[str, str] = {}
    section = ""
    for line in SHIPPED.read_text(encoding="utf-8").splitlines():
        match = _SHIPPED_LINE.match(line)
        if not match:
            continue
        value = match["value"].strip()
        if not match["indent"]:
            section = match["key"]
            if value:
                values[section] = value
        else:
            values[f"{section}.{match['key']}"] = value
    return values


@pytest.mark.parametrize("dotted", sorted(SCHEMA_LEAVES), ids=sorted(SCHEMA_LEAVES))
def test_docs_when_key_documented_then_shipped_value_matches_yaml(dotted: str) -> None:
    """Each docs row shows the shipped value exactly as config/risk_limits.yaml writes it."""
    row = _documented().get(dotted)
    assert row is not None, f"{dotted} has no row in docs/configuration.md"

    shipped = _shipped_raw_values()[dotted]

    assert f"`{shipped}`" in row, f"{dotted}: docs should show the shipped value `{shipped}`"


@pytest.mark.parametrize("variable", sorted(ENV_OVERRIDES), ids=sorted(ENV_OVERRIDES))
def test_docs_when_env_override_exists_then_documented(variable: str) -> None:
    """Every environment override is named in docs/configuration.md with the key it sets."""
    section, key = ENV_OVERRIDES[variable]
    text = DOCS.read_text(encoding="utf-8")

    assert re.search(rf"`{variable}`.*`{section}\.{key}`", text), variable
