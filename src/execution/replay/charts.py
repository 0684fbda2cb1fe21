"""The replay's charts as PNG files (matplotlib, Agg, no pyplot global state).

They are drawn from the downsampled ``Series`` (at most a few thousand buckets, each with its
extremes), so a million-tick replay plots as fast as a small one:

* ``equity.png`` — equity (low–high band and last value per bucket), high-water mark, trips
  (red triangles: the state changed; grey crosses: recorded while already tripped);
* ``drawdown.png`` — drawdown and daily loss (worst per bucket) against their warning and hard
  lines;
* ``leverage.png`` — leverage and margin level against theirs;
* ``feed_gaps.png`` — the longest silence per bucket against the stale-feed lines, and bad ticks.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from execution.replay.engine import ReplayRun
from execution.replay.series import Series

__all__ = ["CHART_FILES", "render_charts"]

CHART_FILES: Final = {
    "equity": "equity.png",
    "drawdown": "drawdown.png",
    "leverage": "leverage.png",
    "feed_gaps": "feed_gaps.png",
}
_SIZE: Final = (12.0, 4.5)
_TALL: Final = (12.0, 7.0)
_DPI: Final = 100
_WARN_COLOR: Final = "#e69f00"
_LIMIT_COLOR: Final = "#d62728"


def _times(series: Series) -> np.ndarray[Any, np.dtype[np.datetime64]]:
    return np.asarray(series.columns["time_ms"], dtype=np.int64).astype("datetime64[ms]")


def _col(series: Series, name: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    return np.frombuffer(series.columns[name], dtype=np.float64)


def _lines(ax: Axes, warning: float | None, limit: float | None, unit: str) -> None:
    if warning is not None:
        ax.axhline(
            warning, color=_WARN_COLOR, linestyle="--", linewidth=1.0,
            label=f"warning {warning:g}{unit}",
        )  # fmt: skip
    if limit is not None:
        ax.axhline(
            limit, color=_LIMIT_COLOR, linestyle="-", linewidth=1.2,
            label=f"limit {limit:g}{unit}",
        )  # fmt: skip


def _finish(fig: Figure, path: Path) -> None:
    for ax in fig.axes:
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize="small")
    fig.autofmt_xdate()
    fig.tight_layout()
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=_DPI, format="png")


def _empty(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="grey")


def _equity(run: ReplayRun, series: Series, t: Any, path: Path) -> None:
    fig = Figure(figsize=_SIZE)
    ax = fig.add_subplot()
    if len(series):
        ax.fill_between(
            t, _col(series, "equity_min"), _col(series, "equity_max"), alpha=0.3, linewidth=0
        )
        ax.plot(t, _col(series, "equity"), linewidth=1.0, label="equity")
        ax.plot(t, _col(series, "high_water_mark"), linestyle=":", label="high-water mark")
    changed = [e for e in run.recorder.trips if e["changed"]]
    recorded = [e for e in run.recorder.trips if not e["changed"]]
    offset = _offset_ms(run)
    for entries, marker, color, label in (
        (changed, "v", _LIMIT_COLOR, "trip"),
        (recorded, "x", "grey", "trip while tripped"),
    ):
        if entries:
            when = np.array([e["time_msc"] - offset for e in entries], dtype=np.int64)
            ax.plot(
                when.astype("datetime64[ms]"),
                [float(e["equity"]) for e in entries],
                marker=marker,
                color=color,
                markersize=9,
                linestyle="none",
                label=label,
            )
    for e in changed[:5]:
        ax.annotate(
            e["trigger"],
            (np.datetime64(e["time_msc"] - offset, "ms"), float(e["equity"])),
            textcoords="offset points",
            xytext=(4, 8),
            fontsize="small",
            color=_LIMIT_COLOR,
        )
    ax.set_title(f"Equity — {run.label}")
    ax.set_ylabel(run.config.account.currency)
    _finish(fig, path)


def _offset_ms(run: ReplayRun) -> int:
    return run.config.broker.server_utc_offset_seconds * 1000


def _drawdown(run: ReplayRun, series: Series, t: Any, path: Path) -> None:
    cfg = run.config
    fig = Figure(figsize=_TALL)
    top, bottom = fig.subplots(2, 1, sharex=True)
    panels: Sequence[tuple[Axes, str, str, Any]] = (
        (top, "drawdown_pct", "Drawdown from the high-water mark", cfg.drawdown),
        (bottom, "daily_loss_pct", "Daily loss", cfg.daily_loss),
    )
    for ax, column, title, rule in panels:
        if len(series):
            ax.plot(t, _col(series, column), linewidth=1.0, label=title.lower())
        if rule.enabled:
            _lines(ax, float(rule.warning_pct), float(rule.limit_pct), " %")
        ax.set_ylabel("%")
        ax.set_title(title)
    _finish(fig, path)


def _leverage(run: ReplayRun, series: Series, t: Any, path: Path) -> None:
    cfg = run.config
    fig = Figure(figsize=_TALL)
    top, bottom = fig.subplots(2, 1, sharex=True)
    if len(series):
        leverage = _col(series, "leverage")
        top.plot(t, np.where(np.isfinite(leverage), leverage, np.nan), linewidth=1.0)
    if cfg.leverage.enabled:
        _lines(top, float(cfg.leverage.warning), float(cfg.leverage.limit), "x")
    top.set_title("Leverage (gross notional / equity)")
    top.set_ylabel("x")
    margin = _col(series, "margin_level_pct") if len(series) else np.empty(0)
    if len(series) and np.isfinite(margin).any():
        bottom.plot(t, margin, linewidth=1.0, label="margin level")
        bottom.set_yscale("log")
        reading = run.evaluator.reading(run.evaluator.margin.code)
        if cfg.margin.enabled:
            _lines(bottom, float(reading.warning), float(reading.limit), " %")
    else:
        _empty(bottom, "no margin in use")
    bottom.set_title("Margin level (equity / margin)")
    bottom.set_ylabel("%")
    _finish(fig, path)


def _feed(run: ReplayRun, series: Series, t: Any, path: Path) -> None:
    cfg = run.config
    fig = Figure(figsize=_TALL)
    top, bottom = fig.subplots(2, 1, sharex=True)
    if len(series):
        top.plot(t, _col(series, "gap_s"), linewidth=0.8, marker=".", markersize=3)
        bad = _col(series, "bad_ticks")
        bottom.plot(t, bad, linewidth=0.8, color="#9467bd")
        if not bad.any():
            _empty(bottom, "no bad ticks")
    stale = cfg.latency.stale_feed_seconds
    if cfg.latency.enabled:
        _lines(top, stale / 2, float(stale), " s")
    top.set_title("Feed gaps (longest silence between valid ticks)")
    top.set_ylabel("s")
    bottom.set_title(f"Bad ticks per bucket of {series.width} tick(s)")
    bottom.set_ylabel("ticks")
    _finish(fig, path)


def render_charts(run: ReplayRun, out: Path) -> dict[str, str]:
    """Write the PNGs of ``run`` (which must have been set up with charts) into ``out``."""
    series = run.recorder.series
    if series is None:
        raise ValueError("this run kept no chart series")
    out.mkdir(parents=True, exist_ok=True)
    t = _times(series)
    for name, draw in (
        ("equity", _equity),
        ("drawdown", _drawdown),
        ("leverage", _leverage),
        ("feed_gaps", _feed),
    ):
        draw(run, series, t, out / CHART_FILES[name])
    return dict(CHART_FILES)
