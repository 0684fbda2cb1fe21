"""Configuration: the schema of ``config/risk_limits.yaml`` and its strict loader."""

from risk.config.loader import ENV_OVERRIDES, ConfigError, ConfigIssue, load_config, parse_config
from risk.config.schema import SCHEMA_VERSION, RiskConfig

__all__ = [
    "ENV_OVERRIDES",
    "SCHEMA_VERSION",
    "ConfigError",
    "ConfigIssue",
    "RiskConfig",
    "load_config",
    "parse_config",
]
