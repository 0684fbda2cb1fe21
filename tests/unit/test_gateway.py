"""The gateway between the services and a terminal: hung and dead terminals become
BrokerUnavailable, retries back off (capped, jittered) instead of hammering, a recovery bumps the
epoch, and ordinary MT5 errors stay ordinary. Terminals here are small scripted Mt5Api stand-ins
(the failure convention: a call returns None and ``last_error()`` says why)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from execution import gateway as gateway_module
from execution.gateway import BrokerError, BrokerUnavailable, Gateway
from execution.mt5.constants import ResultCode
from risk.config import load_config
from risk.config.schema import BrokerConfig
from tests.conftest import SHIPPED_CONFIG

MS = 1_000_000


class Scripted:
    """``version()`` answers per the script: "ok", "hang", or an MT5 result code (None + error)."""

    def __init__(self, *script: str | int) -> None:
        self.script = list(script)
        self.threads: list[int] = []
        self._error: tuple[int, str] = (int(ResultCode.S_OK), "Success")
        self.release = threading.Event()

    def version(self) -> tuple[int, int, str] | None:
        self.threads.append(threading.get_ident())
        step = self.script.pop(0) if self.script else "ok"
        if step == "hang":
            self.release.wait(10)
            return None
        if isinstance(step, int):
            self._error = (step, "scripted failure")
            return None
        self._error = (int(ResultCode.S_OK), "Success")
        return (500, 5000, "scripted")

    def last_error(self) -> tuple[int, str]:
        return self._error


class InlineScripted(Scripted):
    times_out_itself = True


class Clock:
    """Stands in for time.monotonic_ns inside the gateway module."""

    def __init__(self) -> None:
        self.ns = 10**12

    def __call__(self) -> int:
        return self.ns


@pytest.fixture
def broker() -> BrokerConfig:
    cfg = load_config(SHIPPED_CONFIG, env={}).broker
    return cfg.model_copy(
        update={
            "call_timeout_ms": 200,
            "reconnect_initial_backoff_ms": 250,
            "reconnect_max_backoff_ms": 1000,
        }
    )


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(gateway_module.time, "monotonic_ns", fake)
    return fake


@pytest.fixture
def make(broker: BrokerConfig) -> Iterator[Any]:
    made: list[tuple[Gateway, Scripted]] = []

    def factory(api: Scripted) -> Gateway:
        gw = Gateway(api, broker, allow_real_account=False, currency="EUR")
        made.append((gw, api))
        return gw

    yield factory
    for gw, api in made:
        api.release.set()
        gw.close()


def test_hung_terminal_when_call_exceeds_timeout_then_unavailable_and_fast_failure_until_retry(
    make: Any, clock: Clock
) -> None:
    api = Scripted("hang")
    gw = make(api)

    with pytest.raises(BrokerUnavailable) as hung:
        gw.call("version")
    assert hung.value.code == ResultCode.E_INTERNAL_FAIL_TIMEOUT
    assert gw.down

    clock.ns += 249 * MS  # inside the first backoff (250 ms, +0-20 % jitter)
    with pytest.raises(BrokerUnavailable, match="retry in"):
        gw.call("version")
    assert len(api.threads) == 1  # the terminal was not asked again

    api.release.set()
    clock.ns += 52 * MS  # past 250 ms x 1.2
    assert gw.call("version") == (500, 5000, "scripted")
    assert not gw.down and gw.epoch == 1  # callers re-verify what they cached before


def _until_let_through(gw: Gateway, clock: Clock) -> int:
    """Milliseconds until the gateway lets a call reach the terminal again."""
    waited = 0
    while True:
        clock.ns += MS
        waited += 1
        try:
            gw.call("version")
        except BrokerUnavailable as exc:
            if "retry in" in exc.message:
                continue
        return waited


def test_dead_terminal_when_failing_repeatedly_then_backoff_doubles_with_jitter_up_to_cap(
    make: Any, clock: Clock
) -> None:
    gw = make(Scripted(*[int(ResultCode.E_INTERNAL_FAIL_CONNECT)] * 6))
    with pytest.raises(BrokerUnavailable):
        gw.call("version")

    waits = [_until_let_through(gw, clock) for _ in range(5)]

    for wait, base in zip(waits, [250, 500, 1000, 1000, 1000], strict=True):
        assert base <= wait <= base * 1.2 + 1, waits


def test_ordinary_mt5_error_when_returned_then_broker_error_without_backoff(
    make: Any, clock: Clock
) -> None:
    gw = make(Scripted(int(ResultCode.E_INVALID_PARAMS)))

    with pytest.raises(BrokerError) as failed:
        gw.call("version")

    assert not isinstance(failed.value, BrokerUnavailable)
    assert failed.value.code == ResultCode.E_INVALID_PARAMS
    assert not gw.down and gw.call("version") is not None  # the next call goes straight through


def test_native_module_when_called_then_runs_on_the_worker_thread(make: Any) -> None:
    api = Scripted()
    make(api).call("version")

    assert api.threads and api.threads[0] != threading.get_ident()


def test_client_bounding_its_own_calls_when_called_then_runs_inline_with_same_convention(
    make: Any, clock: Clock
) -> None:
    api = InlineScripted("ok", int(ResultCode.E_INTERNAL_FAIL_TIMEOUT))
    gw = make(api)

    gw.call("version")
    with pytest.raises(BrokerUnavailable) as timed_out:
        gw.call("version")

    assert set(api.threads) == {threading.get_ident()}
    assert timed_out.value.code == ResultCode.E_INTERNAL_FAIL_TIMEOUT and gw.down
