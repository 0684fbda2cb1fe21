"""Specification of loading ``risk_limits.yaml``: strict, exact, frozen, no silent defaults."""

from __future__ import annotations

import copy
import re
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from risk.config import ConfigError, RiskConfig, load_config, parse_config

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "config" / "risk_limits.yaml"
CORPUS_DIR = Path(__file__).resolve().parent / "invalid"
CORPUS = sorted(CORPUS_DIR.glob("*.yaml"))
EXPECT_RE = re.compile(r"^# expect: (<root>|[a-z_][a-z0-9_.]*)$")
ROOT = "<root>"

SHIPPED_DATA: dict[str, Any] = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
LEAF_KEYS = sorted(
    f"{section}.{key}" if isinstance(body, dict) else section
    for section, body in SHIPPED_DATA.items()
    for key in (body if isinstance(body, dict) else [None])
)


def _parse(data: dict[str, Any], env: dict[str, str] | None = None) -> RiskConfig:
    """Validate a config given as plain data, through the real YAML loader."""
    text = yaml.safe_dump(data, sort_keys=False)
    return parse_config(text, "test.yaml", env={} if env is None else env)


def _with(dotted: str, value: Any) -> dict[str, Any]:
    """The shipped config with one key set to ``value``."""
    data = copy.deepcopy(SHIPPED_DATA)
    section, key = dotted.split(".")
    data[section][key] = value
    return data


def _without(dotted: str) -> dict[str, Any]:
    """The shipped config with one key (or a whole section) removed."""
    data = copy.deepcopy(SHIPPED_DATA)
    section, _, key = dotted.partition(".")
    if key:
        del data[section][key]
    else:
        del data[section]
    return data


def _names(issue_paths: list[str], expected: str) -> bool:
    """True when ``expected`` is an issue path or a prefix of one (``feed.symbols`` of ``.0``)."""
    if expected == ROOT:
        return "" in issue_paths
    return any(path == expected or path.startswith(f"{expected}.") for path in issue_paths)


def _expectation(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = EXPECT_RE.match(first)
    assert match, f"{path.name}: first line must be '# expect: <dotted.path>'"
    return match.group(1)


# --- the shipped file ----------------------------------------------------------------------------


def test_load_when_shipped_config_then_valid() -> None:
    """The shipped risk_limits.yaml validates with no environment overrides."""
    cfg = load_config(SHIPPED, env={})

    assert isinstance(cfg, RiskConfig)
    assert cfg.version == 1


SHIPPED_DEFAULTS = [
    pytest.param("daily_loss.limit_pct", Decimal("2.0"), id="daily-loss-limit-2pct"),
    pytest.param("daily_loss.warning_pct", Decimal("1.0"), id="daily-loss-warning-1pct"),
    pytest.param("daily_loss.timezone", "Europe/Prague", id="daily-loss-prague"),
    pytest.param("daily_loss.reset_time", time(0, 0), id="daily-loss-reset-midnight"),
    pytest.param("leverage.limit", Decimal("5"), id="leverage-limit-5x"),
    pytest.param("leverage.warning", Decimal("3"), id="leverage-warning-3x"),
    pytest.param("latency.tick_processing_timeout_ms", 100, id="tick-timeout-100ms"),
    pytest.param("losing_streak.limit", 10, id="losing-streak-10"),
    pytest.param("kill_switch.recovery_cooldown_seconds", 60, id="cooldown-60s"),
    pytest.param("kill_switch.mode", "automatic", id="kill-switch-automatic"),
    pytest.param("paths.state_dir", Path("/var/lib/riskguard"), id="state-dir"),
    pytest.param("paths.file_mode", 0o660, id="file-mode-0660"),
    pytest.param("kafka.bootstrap_servers", "", id="kafka-off"),
]


@pytest.mark.parametrize(("attribute", "expected"), SHIPPED_DEFAULTS)
def test_load_when_shipped_config_then_documented_defaults(attribute: str, expected: Any) -> None:
    """The shipped limits are those of ARCHITECTURE §5 (2 %/1 %, 5×/3×, 100 ms, 10, 60 s, auto)."""
    cfg = load_config(SHIPPED, env={})
    section, key = attribute.split(".")

    value = getattr(getattr(cfg, section), key)

    assert value == expected
    assert type(value) is type(expected)


# --- the invalid corpus --------------------------------------------------------------------------


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_load_when_corpus_file_has_one_defect_then_config_error_names_field(path: Path) -> None:
    """Each corpus file is rejected; the error names its field and the file, and nothing else."""
    expected = _expectation(path)

    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})

    paths = [issue.path for issue in caught.value.issues]
    assert _names(paths, expected), f"expected {expected!r} among {paths}"
    section = "" if expected == ROOT else expected.split(".")[0]
    assert all(p.split(".")[0] == section for p in paths), f"collateral issues: {paths}"
    assert str(path) in str(caught.value)
    named = [issue for issue in caught.value.issues if _names([issue.path], expected)]
    assert expected == ROOT or "." not in expected or all(issue.line for issue in named)
    assert caught.value.exit_code == 78


def test_corpus_when_listed_then_at_least_thirty_uniquely_numbered_files() -> None:
    """The corpus has ≥ 30 files named NN-short-description.yaml with unique numbers."""
    names = [p.name for p in CORPUS]

    numbers = [name.split("-", 1)[0] for name in names]

    assert len(names) >= 30
    assert all(re.fullmatch(r"\d{2}-[a-z0-9]+(-[a-z0-9]+)*\.yaml", name) for name in names), names
    assert len(set(numbers)) == len(numbers)


@pytest.mark.parametrize(
    "text", ["", "\n", "# only a comment\n", "---\n", "[]\n", "just a string\n", "42\n"]
)
def test_parse_when_document_is_empty_or_not_a_mapping_then_root_error(text: str) -> None:
    """An empty or non-mapping document is refused as a whole-file error, never defaulted."""
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "empty.yaml", env={})

    assert [issue.path for issue in caught.value.issues] == [""]
    assert str(caught.value).startswith("empty.yaml: <root>: ")


# --- environment overrides -----------------------------------------------------------------------


def test_load_when_env_overrides_set_then_they_win() -> None:
    """RISKGUARD_STATE_DIR, RISKGUARD_LOG_DIR and KAFKA_BOOTSTRAP_SERVERS replace file values."""
    env = {
        "RISKGUARD_STATE_DIR": "/srv/riskguard/state",
        "RISKGUARD_LOG_DIR": "/srv/riskguard/log",
        "KAFKA_BOOTSTRAP_SERVERS": "kafka-1:9092,kafka-2:9092",
    }

    cfg = load_config(SHIPPED, env=env)

    assert cfg.paths.state_dir == Path("/srv/riskguard/state")
    assert cfg.paths.log_dir == Path("/srv/riskguard/log")
    assert cfg.kafka.bootstrap_servers == "kafka-1:9092,kafka-2:9092"


def test_load_when_env_is_none_then_process_environment_applies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without an explicit mapping the process environment is read."""
    monkeypatch.setenv("RISKGUARD_STATE_DIR", "/srv/riskguard/from-env")

    cfg = load_config(SHIPPED)

    assert cfg.paths.state_dir == Path("/srv/riskguard/from-env")


@pytest.mark.parametrize(
    ("variable", "value", "field"),
    [
        ("RISKGUARD_STATE_DIR", "/tmp/x", "paths.state_dir"),
        ("RISKGUARD_STATE_DIR", "/dev/shm/riskguard", "paths.state_dir"),
        ("RISKGUARD_LOG_DIR", "/tmp/riskguard-log", "paths.log_dir"),
    ],
    ids=["state-dir-tmp", "state-dir-dev-shm", "log-dir-tmp"],
)
def test_load_when_env_override_invalid_then_rejected_naming_field(
    variable: str, value: str, field: str
) -> None:
    """An override is validated like the file: /tmp is refused and the field is named."""
    with pytest.raises(ConfigError) as caught:
        load_config(SHIPPED, env={variable: value})

    assert [issue.path for issue in caught.value.issues] == [field]
    assert f": {field}: " in str(caught.value)


# --- no defaults ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "missing",
    [CORPUS_DIR / "no-such-dir" / "risk_limits.yaml", CORPUS_DIR],
    ids=["missing-file", "a-directory"],
)
def test_load_when_file_missing_then_config_error(missing: Path) -> None:
    """A missing or unreadable file is an error naming it; no built-in defaults are used."""
    with pytest.raises(ConfigError) as caught:
        load_config(missing, env={})

    assert [issue.path for issue in caught.value.issues] == [""]
    assert "cannot read the file" in caught.value.issues[0].message
    assert str(caught.value).startswith(f"{missing}: <root>: ")
    assert caught.value.exit_code == 78


@pytest.mark.parametrize("dotted", LEAF_KEYS, ids=LEAF_KEYS)
def test_parse_when_key_deleted_then_config_error_names_it(dotted: str) -> None:
    """Every key of the shipped file is required: deleting it names exactly that key."""
    with pytest.raises(ConfigError) as caught:
        _parse(_without(dotted))

    assert [issue.path for issue in caught.value.issues] == [dotted]
    assert caught.value.issues[0].message == "Field required"


@given(section=st.sampled_from(sorted(k for k, v in SHIPPED_DATA.items() if isinstance(v, dict))))
def test_parse_when_any_section_deleted_then_config_error_names_it(section: str) -> None:
    """Deleting any whole section is an error naming that section (property)."""
    with pytest.raises(ConfigError) as caught:
        _parse(_without(section))

    assert [issue.path for issue in caught.value.issues] == [section]


# --- exact decimals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2.0", "2.0"),
        ("1.50", "1.50"),
        (" 0.25 ", "0.25"),
        (0.1, "0.1"),
        (1.1, "1.1"),
        (1, "1"),
        ("1e-2", "0.01"),
    ],
    ids=["str-2.0", "str-trailing-zero", "str-padded", "float-0.1", "float-1.1", "int-1", "exp"],
)
def test_parse_when_percent_given_then_exact_decimal(raw: Any, expected: str) -> None:
    """Percentages become exact Decimals: quoted text verbatim, floats by their shortest repr."""
    cfg = _parse(_with("reconciliation.equity_tolerance_pct", raw))

    value = cfg.reconciliation.equity_tolerance_pct

    assert isinstance(value, Decimal)
    assert value == Decimal(expected)
    assert value.as_tuple() == Decimal(expected).as_tuple()


def test_parse_when_money_quoted_then_exact_to_the_cent() -> None:
    """initial_capital keeps its exact digits (no binary float on the way)."""
    cfg = _parse(_with("account.initial_capital", "100000.01"))

    assert cfg.account.initial_capital == Decimal("100000.01")
    assert str(cfg.account.initial_capital) == "100000.01"


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (True, "boolean"),
        (None, "null"),
        ("abc", "not a decimal"),
        ("NaN", "finite"),
        ("-Infinity", "finite"),
        (float("inf"), "finite"),
        ([1], "decimal number"),
    ],
    ids=["bool", "null", "text", "nan-string", "minus-infinity", "float-inf", "list"],
)
def test_parse_when_decimal_field_not_a_finite_number_then_rejected(
    raw: Any, fragment: str
) -> None:
    """A Decimal field refuses booleans, null, text, NaN, ±inf and containers."""
    with pytest.raises(ConfigError) as caught:
        _parse(_with("leverage.limit", raw))

    issues = caught.value.issues
    assert [issue.path for issue in issues] == ["leverage.limit"]
    assert fragment in issues[0].message


# --- frozen --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        (None, "version", 2),
        ("daily_loss", "limit_pct", Decimal("50")),
        ("kill_switch", "mode", "alert_only"),
        ("paths", "state_dir", Path("/tmp/x")),
    ],
    ids=["root-version", "daily_loss.limit_pct", "kill_switch.mode", "paths.state_dir"],
)
def test_assign_when_config_loaded_then_frozen(section: str | None, key: str, value: Any) -> None:
    """Loaded config objects refuse assignment; limits cannot drift at run time."""
    cfg = load_config(SHIPPED, env={})
    target = cfg if section is None else getattr(cfg, section)

    with pytest.raises(ValidationError, match="frozen"):
        setattr(target, key, value)


def test_load_when_lists_in_config_then_immutable_tuples() -> None:
    """Sequences (trading days, symbols) are tuples, so they cannot be mutated in place."""
    cfg = load_config(SHIPPED, env={})

    assert cfg.trading_hours.days == ("mon", "tue", "wed", "thu", "fri")
    assert cfg.feed.symbols == ("EURUSD",)


# --- warning vs limit boundaries -----------------------------------------------------------------

# (section, key set, value, accepted?); a rejection names exactly that key
BOUNDARIES = [
    pytest.param("drawdown", "warning_pct", "2.01", False, id="drawdown-above"),
    pytest.param("drawdown", "warning_pct", "2.0", False, id="drawdown-equal"),
    pytest.param("drawdown", "warning_pct", "1.99", True, id="drawdown-just-below"),
    pytest.param("daily_loss", "warning_pct", "2.00", False, id="daily_loss-equal"),
    pytest.param("daily_loss", "warning_pct", "1.999", True, id="daily_loss-just-below"),
    pytest.param("leverage", "warning", "5.0", False, id="leverage-equal"),
    pytest.param("leverage", "warning", "4.99", True, id="leverage-just-below"),
    pytest.param("losing_streak", "warning", 10, False, id="losing_streak-equal"),
    pytest.param("losing_streak", "warning", 9, True, id="losing_streak-just-below"),
    pytest.param("exposure", "open_positions_warning", 10, False, id="open_positions-equal"),
    pytest.param("exposure", "open_positions_warning", 9, True, id="open_positions-just-below"),
    pytest.param("exposure", "lots_per_symbol_warning", "10", False, id="lots-equal"),
    pytest.param("exposure", "lots_per_symbol_warning", "9.99", True, id="lots-just-below"),
    pytest.param("exposure", "trades_per_day_warning", 100, False, id="trades-equal"),
    pytest.param("exposure", "trades_per_day_warning", 99, True, id="trades-just-below"),
    pytest.param("velocity", "warning_pct", "3", False, id="velocity-equal"),
    pytest.param("velocity", "warning_pct", "2.99", True, id="velocity-just-below"),
    pytest.param("data_quality", "bad_ticks_warning", 50, False, id="data_quality-equal"),
    pytest.param("data_quality", "bad_ticks_warning", 49, True, id="data_quality-just-below"),
    pytest.param("latency", "tick_processing_warning_ms", 100, False, id="latency-equal"),
    pytest.param("latency", "tick_processing_warning_ms", 99, True, id="latency-just-below"),
    # margin: trip level (stop-out 50 + trip buffer) vs warning level (call 100 + buffer 20)
    pytest.param("margin", "trip_buffer_pct", "70", False, id="margin-trip-equal-warning"),
    pytest.param("margin", "trip_buffer_pct", "69.99", True, id="margin-trip-just-below"),
    # heartbeat: timeout must cover two intervals (500 ms)
    pytest.param("heartbeat", "timeout_ms", 999, False, id="heartbeat-just-under-2x"),
    pytest.param("heartbeat", "timeout_ms", 1000, True, id="heartbeat-exactly-2x"),
]


@pytest.mark.parametrize(("section", "key", "value", "accepted"), BOUNDARIES)
def test_parse_when_warning_at_or_below_limit_then_rejected_or_accepted(
    section: str, key: str, value: Any, accepted: bool
) -> None:
    """A warning level equal to its limit is refused naming the warning key; just below passes."""
    data = _with(f"{section}.{key}", value)

    if accepted:
        cfg = _parse(data)
        assert getattr(getattr(cfg, section), key) == (
            Decimal(value) if isinstance(value, str) else value
        )
    else:
        with pytest.raises(ConfigError) as caught:
            _parse(data)
        assert [issue.path for issue in caught.value.issues] == [f"{section}.{key}"]


# (section, warning key, limit key, strategy for both levels)
_PCT = st.decimals(min_value="0.01", max_value="100", places=2)
_RATIO = st.decimals(min_value="0.01", max_value="1000", places=2)
_COUNT = st.integers(min_value=1, max_value=1000)
LEVEL_PAIRS = [
    ("drawdown", "warning_pct", "limit_pct", _PCT),
    ("daily_loss", "warning_pct", "limit_pct", _PCT),
    ("velocity", "warning_pct", "limit_pct", _PCT),
    ("leverage", "warning", "limit", _RATIO),
    ("losing_streak", "warning", "limit", _COUNT),
    ("exposure", "open_positions_warning", "open_positions_limit", _COUNT),
    ("exposure", "lots_per_symbol_warning", "lots_per_symbol_limit", _RATIO),
    ("exposure", "trades_per_day_warning", "trades_per_day_limit", _COUNT),
    ("data_quality", "bad_ticks_warning", "bad_ticks_limit", _COUNT),
    ("latency", "tick_processing_warning_ms", "tick_processing_timeout_ms", _COUNT),
]


@given(pair=st.sampled_from(LEVEL_PAIRS), data=st.data())
def test_parse_when_any_warning_and_limit_then_accepted_iff_warning_below(
    pair: tuple[str, str, str, st.SearchStrategy[Any]], data: st.DataObject
) -> None:
    """For every rule and any levels: valid exactly when warning < limit (property)."""
    section, warning_key, limit_key, levels = pair
    warning, limit = data.draw(levels, label="warning"), data.draw(levels, label="limit")
    config = copy.deepcopy(SHIPPED_DATA)
    config[section][warning_key] = str(warning) if isinstance(warning, Decimal) else warning
    config[section][limit_key] = str(limit) if isinstance(limit, Decimal) else limit

    if warning < limit:
        cfg = _parse(config)
        assert getattr(getattr(cfg, section), limit_key) == limit
    else:
        with pytest.raises(ConfigError) as caught:
            _parse(config)
        assert [issue.path for issue in caught.value.issues] == [f"{section}.{warning_key}"]


# --- loader hardening ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("version: 1\nversion: 1\n", "duplicate key 'version'"),
        ("? [a, b]\n: 1\n", "unhashable key"),
        ("x: !!python/object/apply:os.system [echo]\n", "could not determine a constructor"),
        ("a: [1\n", "invalid YAML"),
    ],
    ids=["duplicate-key", "unhashable-key", "python-tag", "syntax"],
)
def test_parse_when_yaml_is_unsafe_or_broken_then_root_error_with_line(
    text: str, fragment: str
) -> None:
    """Duplicates, unhashable keys, Python tags and syntax errors are ConfigErrors, not crashes."""
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "bad.yaml", env={})

    (issue,) = caught.value.issues
    assert issue.path == ""
    assert fragment in issue.message
    assert issue.line is not None
