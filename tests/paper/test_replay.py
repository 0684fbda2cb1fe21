"""replay:FILE reads MT5 tick exports (tab/comma, UTF-8/UTF-16, gzip) and plain CSVs."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from execution.paper import ScenarioError, TickEvent, build_scenario
from execution.paper.replay import inspect_replay, replay_rows

MT5_ROWS = [
    "<DATE>\t<TIME>\t<BID>\t<ASK>\t<LAST>\t<VOLUME>\t<FLAGS>",
    "2024.03.01\t23:59:59.900\t1.08100\t\t\t\t2",  # ask unknown yet: skipped
    "2024.03.01\t23:59:59.950\t\t1.08112\t\t\t4",  # now both known
    "2024.03.02\t00:00:00.123\t1.08101\t\t\t\t2",  # ask unchanged
    "2024.03.02\t00:00:01\t\t1.08110\t\t\t4",  # no milliseconds; bid unchanged
]
EXPECTED = [(0.0, 1.081, 1.08112), (0.173, 1.08101, 1.08112), (1.05, 1.08101, 1.0811)]


def ticks(spec: str) -> list[TickEvent]:
    events = list(build_scenario(spec).events())
    assert all(isinstance(e, TickEvent) for e in events)
    return [e for e in events if isinstance(e, TickEvent)]


def triples(events: list[TickEvent]) -> list[tuple[float, float, float]]:
    return [(round(e.at, 3), e.bid, e.ask) for e in events]


def write(path: Path, text: str, encoding: str = "utf-8", *, gz: bool = False) -> Path:
    data = text.encode(encoding)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize(
    ("name", "sep", "encoding", "gz"),
    [
        ("EURUSD_tab.csv", "\t", "utf-8", False),
        ("EURUSD_comma.csv", ",", "utf-8", False),
        ("EURUSD_bom.csv", "\t", "utf-8-sig", False),
        ("EURUSD_utf16.csv", "\t", "utf-16", False),
        ("EURUSD_tab.csv.gz", "\t", "utf-8", True),
    ],
    ids=["tab", "comma", "utf8-bom", "utf16", "gzip"],
)
def test_replay_when_mt5_export_then_unchanged_fields_carry_over(
    tmp_path: Path, name: str, sep: str, encoding: str, gz: bool
) -> None:
    """Empty BID/ASK keep the previous value; rows before both are known are skipped."""
    text = "\r\n".join(row.replace("\t", sep) for row in MT5_ROWS) + "\r\n"
    path = write(tmp_path / name, text, encoding, gz=gz)

    events = ticks(f"replay:{path}")

    assert triples(events) == EXPECTED
    assert {e.symbol for e in events} == {"EURUSD"}


def test_replay_when_plain_csv_with_symbol_column_then_symbols_per_row(tmp_path: Path) -> None:
    """time_msc,bid,ask,symbol: paced by time_msc, each row its own symbol."""
    text = "time_msc,bid,ask,symbol\n1709251200000,1.081,1.0811,EURUSD\n"
    text += "1709251200250,150.1,150.112,USDJPY\n\n1709251201000,1.0812,1.0813,EURUSD\n"
    path = write(tmp_path / "mixed.csv.gz", text, gz=True)

    events = ticks(f"replay:{path}")

    assert [(e.at, e.symbol, e.bid, e.ask) for e in events] == [
        (0.0, "EURUSD", 1.081, 1.0811),
        (0.25, "USDJPY", 150.1, 150.112),
        (1.0, "EURUSD", 1.0812, 1.0813),
    ]


def test_replay_when_plain_csv_without_symbol_then_taken_from_file_name(tmp_path: Path) -> None:
    """Without a symbol column the file name's leading six letters name the symbol."""
    path = write(tmp_path / "gbpusd-2024.csv", "time_msc,bid,ask\n1000000000000,1.27,1.2701\n")
    assert [e.symbol for e in ticks(f"replay:{path}")] == ["GBPUSD"]


def test_replay_when_timestamps_go_back_then_pacing_never_does(tmp_path: Path) -> None:
    """A file out of time order replays in file order without negative delays."""
    text = "time_msc,bid,ask\n1000000002000,1,1.1\n1000000001000,1,1.2\n1000000003000,1,1.3\n"
    path = write(tmp_path / "EURUSD_x.csv", text)
    assert [e.at for e in ticks(f"replay:{path}")] == [0.0, 0.0, 1.0]


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("EURUSD_a.csv", "when,price\n1,2\n", "neither an MT5 tick export"),
        ("ticks.csv", MT5_ROWS[0] + "\n", "no symbol column"),
        ("EURUSD_b.csv", "time_msc,bid,ask\n1000000000000,1.1,1.2\nsoon,1.1,1.2\n", r":3: "),
        ("EURUSD_c.csv", MT5_ROWS[0] + "\n2024-03-01\t00:00:00\t1.1\t1.2\t\t\t6\n", r":2: "),
    ],
    ids=["bad_header", "no_symbol", "bad_time_msc", "bad_date"],
)
def test_replay_when_file_malformed_then_scenario_error_names_file_and_line(
    tmp_path: Path, name: str, text: str, match: str
) -> None:
    """A bad header fails at build time; a bad row fails with its line number."""
    path = write(tmp_path / name, text)
    with pytest.raises(ScenarioError, match=match):
        ticks(f"replay:{path}")


def test_replay_when_file_missing_then_scenario_error(tmp_path: Path) -> None:
    """A missing file (and no packaged sample of that name) fails at build time."""
    with pytest.raises(ScenarioError, match="not found"):
        build_scenario(f"replay:{tmp_path / 'nope.csv'}")


def test_packaged_sample_when_replayed_then_2000_realistic_eurusd_ticks() -> None:
    """The shipped MT5 export: 2000 EURUSD ticks near 1.08, sub-pip steps, one-sided rows."""
    events = ticks("replay:EURUSD_sample.csv")
    bids = np.array([e.bid for e in events])
    asks = np.array([e.ask for e in events])
    steps = np.abs(np.diff(bids))

    assert len(events) == 2000 and {e.symbol for e in events} == {"EURUSD"}
    assert bids.min() > 1.075 and asks.max() < 1.09
    assert (asks >= bids).all()
    assert np.isclose(steps[steps > 0].min(), 0.00001)
    assert (steps == 0).any()  # ask-only rows leave the bid unchanged
    assert 60.0 < events[-1].at < 3600.0


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_replay_rows_when_mt5_export_then_every_row_with_its_own_time_and_carried_quotes(
    tmp_path: Path, gz: bool
) -> None:
    """replay_rows: each non-blank row's own time_msc, BID/ASK carried over, None while unknown;
    inspect_replay reports the format and whether the file is gzip."""
    rows = [*MT5_ROWS[:3], "", *MT5_ROWS[3:], "2024.03.01\t23:00:00\t1.08\t\t\t\t2"]
    path = write(tmp_path / "eurusd_rows.csv", "\r\n".join(rows) + "\r\n", "utf-16", gz=gz)
    day = 1709251200000  # 2024-03-01T00:00:00Z

    fmt = inspect_replay(path)

    assert (fmt.kind, fmt.delimiter, fmt.symbol, fmt.gzip) == ("mt5", "\t", "EURUSD", gz)
    assert list(replay_rows(path)) == [
        (day + 86_399_900, "EURUSD", 1.081, None),
        (day + 86_399_950, "EURUSD", 1.081, 1.08112),
        (day + 86_400_123, "EURUSD", 1.08101, 1.08112),
        (day + 86_401_000, "EURUSD", 1.08101, 1.0811),
        (day + 82_800_000, "EURUSD", 1.08, 1.0811),  # earlier than the row before: kept as is
    ]
