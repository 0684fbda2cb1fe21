"""Fixtures for the replay tests: a crash file and a one-call replay."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path

import pytest

from execution.replay import ReplayRun, RunSetup, parse_position, replay_file
from risk.config import RiskConfig
from tests.replay.ticks import Row, crash_rows, write_plain

Replay = Callable[..., ReplayRun]


@pytest.fixture
def rows() -> list[Row]:
    return crash_rows()


@pytest.fixture
def crash_file(tmp_path: Path, rows: list[Row]) -> Path:
    return write_plain(tmp_path / "EURUSD_crash.csv", rows)


@pytest.fixture
def replay(shipped_config: RiskConfig) -> Replay:
    """``replay(path, positions=("EURUSD:buy:1",), config=..., strategy=..., charts=...)``."""

    def run(
        path: Path,
        positions: Sequence[str] = ("EURUSD:buy:1",),
        *,
        config: RiskConfig | None = None,
        strategy: str | None = None,
        charts: bool = False,
        balance: str = "100000.00",
    ) -> ReplayRun:
        setup = RunSetup("base", config or shipped_config, charts=charts)
        _, runs = replay_file(
            path,
            [setup],
            positions=[parse_position(p) for p in positions],
            balance=Decimal(balance),
            strategy=strategy,
        )
        return runs[0]

    return run
