"""An embedded single-node Apache Kafka broker (KRaft, broker+controller) on loopback.

The one implementation: the verifier (``riskguard verify --kafka embedded``), ``bench/soak.py``
and the test suite's fixtures (``tests/support/kafka_broker.py``) all start this broker.

The jars: ``RISKGUARD_KAFKA_LIBS`` (a dir of jars), else the dir printed by the repository's
``scripts/fetch_kafka.sh`` (Maven Central, cached). Needs ``java``. Ports and data survive
``kill()`` + ``start()``, as a real broker's would across a crash. The JVM is SIGKILLed if the
process that started it dies (``setpriv --pdeathsig``, where available), so none is orphaned.
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
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

__all__ = ["EmbeddedKafka", "KafkaUnavailable", "create_topics", "kafka_libs", "quiet_admin"]

_LIBS_ENV: Final = "RISKGUARD_KAFKA_LIBS"
_JVM: Final = ("-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-Djava.awt.headless=true")
# WARN and above to stderr (-> broker.log); Kafka's chatty per-request and state-change loggers
# only when they report an error.
_LOG4J: Final = """\
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=WARN
log4j.logger.org.apache.kafka=WARN
log4j.logger.state.change.logger=ERROR
log4j.logger.kafka.request.logger=ERROR
log4j.logger.kafka.authorizer.logger=ERROR
log4j.logger.kafka.log.LogCleaner=ERROR
"""
_SERVER: Final = """\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={data}
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


class KafkaUnavailable(RuntimeError):
    """No embedded broker here: no java, no jars, or it would not start."""


def _port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> list[str]:
    """SIGKILL the JVM if its parent dies (Linux ``setpriv``; signalled when the spawning
    *thread* exits, so only from the main thread); nothing when unavailable."""
    setpriv = shutil.which("setpriv")
    if setpriv is None or threading.current_thread() is not threading.main_thread():
        return []
    return [setpriv, "--pdeathsig", "KILL", "--"]


def kafka_libs() -> Path:
    """The broker jars: ``RISKGUARD_KAFKA_LIBS``, else ``scripts/fetch_kafka.sh`` of this repo
    (idempotent; ~20 ms when cached)."""
    given = os.environ.get(_LIBS_ENV)
    if given:
        return Path(given)
    for parent in Path(__file__).resolve().parents:
        script = parent / "scripts" / "fetch_kafka.sh"
        if script.exists():
            done = subprocess.run([str(script)], capture_output=True, text=True, check=False)
            if done.returncode != 0:
                tail = done.stderr.strip()[-4000:]
                raise KafkaUnavailable(f"{script} failed (exit {done.returncode}):\n{tail}")
            return Path(done.stdout.strip().splitlines()[-1])
    raise KafkaUnavailable(f"no broker jars: set {_LIBS_ENV} or run from a source checkout")


def _ignore(_err: KafkaError) -> None:
    """librdkafka error callback: refused connections are expected while a broker is down."""


def quiet_admin(bootstrap: str) -> AdminClient:
    """An admin client that logs nothing while the broker is unreachable (errors still raise)."""
    config: dict[str, Any] = {"bootstrap.servers": bootstrap, "log_level": 2, "error_cb": _ignore}
    return AdminClient(config)


def create_topics(bootstrap: str, names: Iterable[str], partitions: int = 1) -> None:
    """Create topics (replication factor 1) and wait until the broker confirms each one."""
    admin = quiet_admin(bootstrap)  # kept alive until the futures resolve
    new = [NewTopic(name, num_partitions=partitions, replication_factor=1) for name in names]
    for future in admin.create_topics(new, operation_timeout=30, request_timeout=30).values():
        future.result(timeout=60)


class EmbeddedKafka:
    """A single-node KRaft broker on loopback; its ports and data survive kill() + start()."""

    def __init__(self, workdir: Path | None = None, ready_timeout: float = 90.0) -> None:
        """``workdir`` must be new or empty; None: a new temp dir, deleted by close()."""
        self._owns_workdir = workdir is None
        if workdir is None:
            workdir = Path(tempfile.mkdtemp(prefix="riskguard-kafka-"))
        self.workdir = workdir
        self.ready_timeout = ready_timeout
        self.port, self.controller_port = _port(), _port()
        self.log_path = self.workdir / "broker.log"
        self._config = self.workdir / "server.properties"
        self._proc: subprocess.Popen[bytes] | None = None
        self._java: list[str] = []

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The running broker's pid; None when it is not running."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Format on the first start, then launch and wait until it answers metadata requests.

        ``KafkaUnavailable`` (with the tail of the broker log) if it cannot."""
        if self.is_running():
            return
        if not self._java:
            java = shutil.which("java")
            if java is None:
                raise KafkaUnavailable("java not found on PATH")
            self.workdir.mkdir(parents=True, exist_ok=True)
            log4j = self.workdir / "log4j.properties"
            log4j.write_text(_LOG4J)
            classpath = f"{kafka_libs()}/*"
            self._java = [java, *_JVM, f"-Dlog4j.configuration=file:{log4j}", "-cp", classpath]
            try:
                self._format()
            except BaseException:
                self._java = []  # not formatted: the next start() formats again
                raise
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

    def kill(self) -> None:
        """SIGKILL the broker's process group (no clean shutdown) and reap it."""
        self._signal(signal.SIGKILL)
        if self._proc is not None:
            self._proc.wait()

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (a clean shutdown), then SIGKILL after ``timeout`` seconds."""
        self._signal(signal.SIGTERM)
        if self._proc is not None:
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def close(self) -> None:
        """Stop it (SIGTERM, then SIGKILL after 20 s); delete the temp workdir if it made one."""
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

    def __enter__(self) -> EmbeddedKafka:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _format(self) -> None:
        self._config.write_text(
            _SERVER.format(
                port=self.port,
                controller_port=self.controller_port,
                data=self.workdir / "data",
            )
        )
        cluster = self._storage_tool("random-uuid").strip().splitlines()[-1]
        self._storage_tool("format", "-t", cluster, "-c", str(self._config))

    def _storage_tool(self, *args: str) -> str:
        done = subprocess.run(
            [*self._java, "kafka.tools.StorageTool", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise KafkaUnavailable(f"StorageTool {args[0]} failed: {done.stdout}{done.stderr}")
        return done.stdout

    def _wait_ready(self) -> None:
        admin = quiet_admin(self.bootstrap)
        deadline = time.monotonic() + self.ready_timeout
        last_error = "no attempt"
        while time.monotonic() < deadline:
            if not self.is_running():
                raise KafkaUnavailable(
                    f"the broker exited early (log: {self.log_path}):\n{self.log_tail()}"
                )
            try:
                if admin.list_topics(timeout=1.0).brokers:
                    return
            except KafkaException as exc:
                last_error = str(exc)
        raise KafkaUnavailable(
            f"the broker was not ready on {self.bootstrap} in {self.ready_timeout:.0f} s "
            f"({last_error}; log: {self.log_path}):\n{self.log_tail()}"
        )

    def _signal(self, sig: signal.Signals) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
