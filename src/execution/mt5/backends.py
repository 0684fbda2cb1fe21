"""Choose an ``Mt5Api`` backend by config, importing nothing platform-specific until asked."""

from __future__ import annotations

import importlib
import os
from typing import Any

from execution.mt5.bridge import BridgeClient
from risk.config import ConfigError, ConfigIssue
from risk.config.schema import BrokerConfig

__all__ = ["load_backend"]


def load_backend(cfg: BrokerConfig) -> Any:
    """``native``: the MetaTrader5 module (Windows); ``bridge``: rpyc to a terminal under Wine;
    ``paper``: the same bridge to ``riskguard paper-terminal``."""
    if cfg.backend == "native":
        try:
            return importlib.import_module("MetaTrader5")
        except ImportError:
            raise ConfigError(
                "broker.backend",
                [
                    ConfigIssue(
                        "broker.backend",
                        f"'native' needs Windows and the MetaTrader5 package (this is {os.name});"
                        " use 'bridge' or 'paper'",
                    )
                ],
            ) from None
    return BridgeClient(cfg.host, cfg.port, timeout_s=cfg.call_timeout_ms / 1000)
