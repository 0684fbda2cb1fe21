"""A real single-node Apache Kafka broker (KRaft, broker+controller) for the test suite.

The jars come from Maven Central via scripts/fetch_kafka.sh (run on demand). Fixtures:

- ``kafka_bootstrap`` (session): bootstrap string of ``KAFKA_BOOTSTRAP_SERVERS`` if set (checked
  for reachability), else of an embedded broker started for the session.
- ``kafka_broker`` (session): the embedded ``KafkaBroker`` itself, for kill/restart tests.

A broker that cannot start fails the run with the reason; Kafka tests are never skipped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNTIME_DIR = REPO_ROOT / "tools" / "kafka-rt"
FETCH_SCRIPT = REPO_ROOT / "scripts" / "fetch_kafka.sh"
EXTERNAL_ENV = "KAFKA_BOOTSTRAP_SERVERS"
JVM_OPTS = ["-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-Djava.awt.headless=true"]

SERVER_PROPERTIES = """\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={log_dir}
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=3000
"""


def kafka_libs() -> Path:
    """Directory of broker jars, via scripts/fetch_kafka.sh (idempotent; ~20 ms when cached)."""
    proc = subprocess.run([str(FETCH_SCRIPT)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = proc.stderr[-4000:]
        raise RuntimeError(f"{FETCH_SCRIPT.name} failed (exit {proc.returncode}):\n{tail}")
    return Path(proc.stdout.strip().splitlines()[-1])


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> list[str]:
    """Command prefix that SIGKILLs the broker if the test process dies, so no JVM is orphaned.

    Linux delivers the signal when the *thread* that spawned the child exits, so it is only
    used from the main thread; util-linux ``setpriv`` may be absent, then nothing is added.
    """
    setpriv = shutil.which("setpriv")
    if setpriv is None or threading.current_thread() is not threading.main_thread():
        return []
    return [setpriv, "--pdeathsig", "KILL", "--"]


class KafkaBroker:
    """A single-node KRaft broker on loopback; its ports and data survive kill() + start()."""

    def __init__(self, workdir: Path | None = None, ready_timeout: float = 90.0) -> None:
        """``workdir`` (default: a new temp dir, deleted by close()) must be new or empty."""
        self._owns_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="riskguard-kafka-"))
        self.ready_timeout = ready_timeout
        self.port = free_port()
        self.controller_port = free_port()
        self.log_path = self.workdir / "broker.log"
        self._config = self.workdir / "server.properties"
        self._proc: subprocess.Popen[bytes] | None = None
        self._java: list[str] = []

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.is_running() and self._proc else None

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Format on first call, then launch the JVM and wait until it serves metadata."""
        if self.is_running():
            return
        if not self._java:
            log4j = RUNTIME_DIR / "log4j.properties"
            cp = f"{kafka_libs()}/*"
            self._java = ["java", *JVM_OPTS, f"-Dlog4j.configuration=file:{log4j}", "-cp", cp]
        if not self._config.exists():
            self._format()
        cmd = [*_die_with_parent(), *self._java, "kafka.Kafka", str(self._config)]
        with self.log_path.open("ab") as log:
            log.write(f"\n=== {time.strftime('%H:%M:%S')} start: {' '.join(cmd)}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.kill()
            raise

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (clean shutdown), then SIGKILL after ``timeout`` seconds."""
        self._signal(signal.SIGTERM)
        if self._proc is not None:
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL the broker's process group and reap it (no clean shutdown)."""
        self._signal(signal.SIGKILL)
        if self._proc is not None:
            self._proc.wait()

    def close(self) -> None:
        """Stop the broker and delete its temp dir (if this object created it)."""
        self.stop()
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def create_topics(self, names: Iterable[str], partitions: int = 1) -> None:
        """Create topics (replication factor 1) on this broker."""
        create_topics(self.bootstrap, names, partitions)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "<no broker log>"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> KafkaBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _format(self) -> None:
        data_dir = self.workdir / "data"
        self._config.write_text(
            SERVER_PROPERTIES.format(
                port=self.port, controller_port=self.controller_port, log_dir=data_dir
            )
        )
        cluster_id = self._run_tool("random-uuid").strip().splitlines()[-1]
        self._run_tool("format", "-t", cluster_id, "-c", str(self._config))

    def _run_tool(self, *args: str) -> str:
        cmd = [*self._java, "kafka.tools.StorageTool", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"StorageTool {args[0]} failed: {proc.stdout}{proc.stderr}")
        return proc.stdout

    def _wait_ready(self) -> None:
        admin = AdminClient(_client_config(self.bootstrap))
        deadline = time.monotonic() + self.ready_timeout
        last_error = "no attempt"
        while time.monotonic() < deadline:
            if not self.is_running():
                raise RuntimeError(f"Kafka broker exited early:\n{self.log_tail()}")
            try:
                if admin.list_topics(timeout=1.0).brokers:
                    return
            except KafkaException as exc:
                last_error = str(exc)
        raise RuntimeError(
            f"Kafka broker not ready on {self.bootstrap} after {self.ready_timeout:.0f}s "
            f"({last_error}):\n{self.log_tail()}"
        )

    def _signal(self, sig: signal.Signals) -> None:
        if self.is_running() and self._proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, sig)


def _ignore(_err: KafkaError) -> None:
    """librdkafka error callback: connection errors are expected while the broker is down."""


def _client_config(bootstrap: str) -> dict[str, Any]:
    # log_level 2: no "Connection refused" lines on stderr while polling a starting broker.
    return {"bootstrap.servers": bootstrap, "log_level": 2, "error_cb": _ignore}


def create_topics(bootstrap: str, names: Iterable[str], partitions: int = 1) -> None:
    """Create topics (replication factor 1) and wait until the broker confirms each one."""
    admin = AdminClient(_client_config(bootstrap))
    new = [NewTopic(name, num_partitions=partitions, replication_factor=1) for name in names]
    for future in admin.create_topics(new, operation_timeout=30, request_timeout=30).values():
        future.result(timeout=60)


def check_reachable(bootstrap: str, timeout: float = 15.0) -> None:
    """Raise RuntimeError unless a broker at ``bootstrap`` answers a metadata request."""
    admin = AdminClient(_client_config(bootstrap))
    try:
        admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise RuntimeError(f"{EXTERNAL_ENV}={bootstrap} is not reachable: {exc}") from exc


@pytest.fixture(scope="session")
def _embedded_kafka() -> Iterator[KafkaBroker]:
    broker = KafkaBroker()
    try:
        broker.start()
    except Exception as exc:
        broker.close()
        message = f"could not start the embedded Kafka broker: {exc}"
        raise pytest.fail.Exception(message, pytrace=False) from None
    try:
        yield broker
    finally:
        broker.close()


@pytest.fixture(scope="session")
def kafka_bootstrap(request: pytest.FixtureRequest) -> str:
    """Bootstrap servers: ``KAFKA_BOOTSTRAP_SERVERS`` if set, else an embedded session broker."""
    external = os.environ.get(EXTERNAL_ENV)
    if external:
        try:
            check_reachable(external)
        except RuntimeError as exc:
            raise pytest.fail.Exception(str(exc), pytrace=False) from None
        return external
    broker: KafkaBroker = request.getfixturevalue("_embedded_kafka")
    return broker.bootstrap


@pytest.fixture(scope="session")
def kafka_broker(request: pytest.FixtureRequest) -> KafkaBroker:
    """The embedded session broker, for tests that kill and restart it."""
    if os.environ.get(EXTERNAL_ENV):
        pytest.fail(
            f"{EXTERNAL_ENV} is set, but this test kills and restarts the broker, which needs "
            f"the embedded one: unset {EXTERNAL_ENV} to run it",
            pytrace=False,
        )
    broker: KafkaBroker = request.getfixturevalue("_embedded_kafka")
    return broker
