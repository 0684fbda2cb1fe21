"""Fixtures shared by the in-process service tests (engine, monitor, service wrapper)."""

from __future__ import annotations

from pathlib import Path

import pytest

from risk.config import RiskConfig, load_config
from tests.conftest import SHIPPED_CONFIG


@pytest.fixture
def config(tmp_path: Path) -> RiskConfig:
    """The shipped config with its state and log dirs in this test's temporary dir."""
    env = {"RISKGUARD_STATE_DIR": str(tmp_path / "state"), "RISKGUARD_LOG_DIR": str(tmp_path)}
    return load_config(SHIPPED_CONFIG, env=env)
