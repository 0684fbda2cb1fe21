"""The named scenarios: deterministic event streams for a seed, and ``replay:FILE``.

All synthetic scenarios tick EURUSD, GBPUSD and USDJPY and run until stopped; the scripted part
(on EURUSD) starts after a calm spell long enough for an engine to open a position:

``normal``         gentle mean-reverting walk, within 0.3 % of the start (1 lot EURUSD: < 350 USD)
``flash_crash``    30 s normal, EURUSD -2.6 % in 4 s, 2 s at the bottom, 40 % rebound in 10 s
``fat_finger``     20 s normal, then a 100-lot EURUSD buy opened in the terminal by hand
``volatility``     10 s normal, then EURUSD swings to alternately -A and +A, A in [1, 2.5] %,
                   each swing 8-15 s
``losing_streak``  from 10 s, 12 rounds: EURUSD rises 5 pips in 2 s, a 0.1-lot buy is opened by
                   hand at the top, it falls 7 pips in 2 s and the buy is closed at a loss; a
                   momentum strategy buying the rise loses the same way
``stale_feed``     20 s normal, then no tick at all for 15 s, then normal
``latency_spike``  20 s normal, then ticks arrive later and later (age +0.5 s per second, up to
                   8 s), stay 8 s late for 10 s, then on time again; always in order
``bad_ticks``      10 s normal, then every 12th tick of each symbol (83 per 1000) is bad: NaN, inf,
                   zero, negative, crossed, or back-dated (out of order)
``replay:FILE``    an MT5 tick export or a plain CSV (see ``replay``), paced by its timestamps
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import replace

from execution.mt5.constants import PositionType
from execution.paper.events import (
    CloseDirect,
    Event,
    OpenDirect,
    Scenario,
    ScenarioError,
    TickEvent,
)
from execution.paper.market import Market
from execution.paper.replay import inspect_replay, replay_events, resolve_replay_path

__all__ = ["SCENARIOS", "SYMBOLS", "build_scenario"]

SYMBOLS = ("EURUSD", "GBPUSD", "USDJPY")
_FOREVER = float("inf")
_PIP = 10  # points per pip on 5-digit quotes


def _normal(rng: random.Random) -> Iterator[Event]:
    yield from Market(rng, SYMBOLS).ticks(_FOREVER)


def _flash_crash(rng: random.Random) -> Iterator[Event]:
    m = Market(rng, SYMBOLS)
    yield from m.ticks(30.0)
    before = m.mid["EURUSD"]
    bottom = before * (1 - 0.026)
    yield from m.glide("EURUSD", bottom, 4.0)
    yield from m.glide("EURUSD", bottom, 2.0, interval=0.1)
    yield from m.glide("EURUSD", bottom + 0.4 * (before - bottom), 10.0, interval=0.1)
    yield from m.ticks(_FOREVER)


def _fat_finger(rng: random.Random) -> Iterator[Event]:
    m = Market(rng, SYMBOLS)
    yield from m.ticks(20.0)
    yield OpenDirect(round(m.t, 3), "fat_finger", "EURUSD", PositionType.BUY, 100.0, "fat finger")
    yield from m.ticks(_FOREVER)


def _volatility(rng: random.Random) -> Iterator[Event]:
    m = Market(rng, SYMBOLS)
    yield from m.ticks(10.0)
    base = m.mid["EURUSD"]
    sign = -1
    while True:
        amplitude = rng.uniform(0.01, 0.025)
        yield from m.glide("EURUSD", base * (1 + sign * amplitude), rng.uniform(8.0, 15.0), 0.1)
        sign = -sign


def _losing_streak(rng: random.Random) -> Iterator[Event]:
    m = Market(rng, SYMBOLS)
    yield from m.ticks(10.0)
    for n in range(1, 13):
        top = m.mid["EURUSD"] + 5 * _PIP
        yield from m.glide("EURUSD", top, 2.0, interval=0.2)
        ref = f"losing_streak_{n}"
        yield OpenDirect(round(m.t, 3), ref, "EURUSD", PositionType.BUY, 0.1, "losing streak")
        yield from m.glide("EURUSD", top - 7 * _PIP, 2.0, interval=0.2)
        yield CloseDirect(round(m.t, 3), ref)
        yield from m.ticks(m.t + 1.0)
    yield from m.ticks(_FOREVER)


def _stale_feed(rng: random.Random) -> Iterator[Event]:
    m = Market(rng, SYMBOLS)
    yield from m.ticks(20.0)
    m.silence(35.0)
    yield from m.ticks(_FOREVER)


def _latency_spike(rng: random.Random) -> Iterator[Event]:
    start, lag_ms, ramp_s, hold_s = 20.0, 8_000, 16.0, 10.0
    for event in Market(rng, SYMBOLS).ticks(_FOREVER):
        into = event.at - start
        late = 0 < into < ramp_s + hold_s
        yield replace(event, age_ms=min(lag_ms, round(into * lag_ms / ramp_s))) if late else event


def _bad_ticks(rng: random.Random) -> Iterator[Event]:
    start, every = 10.0, 12
    counts = dict.fromkeys(SYMBOLS, 0)
    for event in Market(rng, SYMBOLS).ticks(_FOREVER):
        counts[event.symbol] += 1
        bad = event.at >= start and counts[event.symbol] % every == 0
        yield _spoil(event, rng) if bad else event


def _spoil(e: TickEvent, rng: random.Random) -> TickEvent:
    kind = rng.choice(("nan", "inf", "zero", "negative", "crossed", "out_of_order"))
    if kind == "nan":
        return replace(e, bid=float("nan"))
    if kind == "inf":
        return replace(e, ask=float("inf"))
    if kind == "zero":
        return replace(e, bid=0.0)
    if kind == "negative":
        return replace(e, ask=-e.ask)
    if kind == "crossed":
        return replace(e, bid=e.ask, ask=e.bid)
    return replace(e, backdate_ms=rng.randint(200, 3_000))


SCENARIOS: dict[str, Callable[[random.Random], Iterator[Event]]] = {
    "normal": _normal,
    "flash_crash": _flash_crash,
    "fat_finger": _fat_finger,
    "volatility": _volatility,
    "losing_streak": _losing_streak,
    "stale_feed": _stale_feed,
    "latency_spike": _latency_spike,
    "bad_ticks": _bad_ticks,
}


def build_scenario(spec: str, *, seed: int = 0) -> Scenario:
    """A scenario by name (``SCENARIOS``) or ``replay:FILE``; ``ScenarioError`` if unknown.

    A replay ``FILE`` that does not exist is looked up among the packaged samples
    (``replay:EURUSD_sample.csv``). Replays ignore the seed.
    """
    if spec.startswith("replay:"):
        path = resolve_replay_path(spec.removeprefix("replay:"))
        inspect_replay(path)
        return Scenario(spec, seed, lambda _rng: replay_events(path))
    make = SCENARIOS.get(spec)
    if make is None:
        known = ", ".join([*SCENARIOS, "replay:FILE"])
        raise ScenarioError(f"unknown scenario {spec!r}; choose one of: {known}")
    return Scenario(spec, seed, make)
