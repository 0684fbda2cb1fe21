"""The soak's verdict (bench/soak.py): what fails CI's soak. Synthetic samples, no processes."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def soak() -> ModuleType:
    spec = importlib.util.spec_from_file_location("soak", ROOT / "bench" / "soak.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _args(kafka: str = "none", min_ticks: int = 1_000_000) -> argparse.Namespace:
    return argparse.Namespace(warmup=60.0, min_ticks=min_ticks, kafka=kafka)


def _samples(
    *,
    minutes: int = 5,
    ticks_per_s: float = 10_000,
    mib_per_1m: dict[str, float] | None = None,
    fds_last: dict[str, int] | None = None,
    backlog_kib_last: float = 0.0,
) -> list[dict[str, float]]:
    growth = mib_per_1m or {}
    rows = []
    for t in range(15, minutes * 60 + 1, 15):
        ticks = t * ticks_per_s
        row = {"t": float(t), "ticks": ticks, "backlog_kib": 0.0}
        for name in ("monitor", "engine", "paper"):
            row[f"{name}_rss"] = 100.0 + growth.get(name, 0.0) * ticks / 1e6
            row[f"{name}_fds"] = 7.0
        rows.append(row)
    for name, fds in (fds_last or {}).items():
        rows[-1][f"{name}_fds"] = float(fds)
    rows[-1]["backlog_kib"] = backlog_kib_last
    return rows


def test_flat_guards_when_judged_then_no_failures(soak: ModuleType) -> None:
    verdict = soak._judge(_samples(mib_per_1m={"paper": 5.0}), _args())

    assert verdict["failures"] == []  # the paper terminal is reported, not judged
    assert verdict["processes"]["paper"]["rss_mib_per_1m_ticks"] == pytest.approx(5.0)


@pytest.mark.parametrize(
    ("name", "rate", "fails"), [("monitor", 1.0, False), ("engine", 1.05, True)]
)
def test_guard_growth_when_over_one_mib_per_million_ticks_then_fails(
    soak: ModuleType, name: str, rate: float, fails: bool
) -> None:
    """The target is inclusive: exactly 1 MiB per 1M ticks passes, anything above fails."""
    verdict = soak._judge(_samples(mib_per_1m={name: rate}), _args())

    assert verdict["processes"][name]["rss_mib_per_1m_ticks"] == pytest.approx(rate)
    assert bool(verdict["failures"]) is fails


def test_fd_growth_when_one_descriptor_leaks_then_fails(soak: ModuleType) -> None:
    samples = _samples()
    for row in samples[len(samples) // 2 :]:
        row["engine_fds"] = 8.0  # opened half-way through, never closed

    verdict = soak._judge(samples, _args())

    assert verdict["failures"] == ["engine fds grew by 1"]


def test_fd_open_at_one_sample_when_judged_then_not_a_leak(soak: ModuleType) -> None:
    """A temp file or socket open at the instant of a sample (even the last) is transient."""
    verdict = soak._judge(_samples(fds_last={"monitor": 8, "engine": 9}), _args())

    assert verdict["failures"] == []


def test_too_few_ticks_when_judged_then_fails_rather_than_passing_blind(soak: ModuleType) -> None:
    verdict = soak._judge(_samples(ticks_per_s=1000), _args())

    assert len(verdict["failures"]) == 1 and "needed to judge" in verdict["failures"][0]


def test_warm_up_only_when_judged_then_fails(soak: ModuleType) -> None:
    verdict = soak._judge(_samples(minutes=1), _args())

    assert verdict["failures"] and "after the warm-up" in verdict["failures"][0]


def test_backlog_when_delivery_left_a_mebibyte_behind_then_fails(soak: ModuleType) -> None:
    behind = soak._judge(_samples(backlog_kib_last=1025), _args(kafka="embedded"))
    kept_up = soak._judge(_samples(backlog_kib_last=12), _args(kafka="embedded"))

    assert behind["failures"] == ["delivery left 1025 KiB behind"]
    assert kept_up["failures"] == []


@pytest.mark.parametrize(
    ("elapsed_s", "ticks_per_s", "done"),
    [
        (200, 10_000, False),  # before --minutes: never done
        (240, 10_000, True),  # --minutes reached with 1.8M ticks after the warm-up
        (300, 4_000, False),  # past --minutes, 0.96M ticks: run on for a verdict
        (480, 1_000, True),  # --max-minutes: stop (and the verdict says too few ticks)
    ],
)
def test_run_length_when_machine_is_slow_then_runs_on_until_enough_ticks(
    soak: ModuleType, elapsed_s: int, ticks_per_s: float, done: bool
) -> None:
    args = argparse.Namespace(warmup=60.0, min_ticks=1_000_000, minutes=4.0, max_minutes=8.0)
    samples = [s for s in _samples(minutes=8, ticks_per_s=ticks_per_s) if s["t"] <= elapsed_s]

    assert soak._done(samples, args, float(elapsed_s)) is done
