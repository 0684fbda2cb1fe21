"""An embedded single-node Kafka broker (KRaft) that the verifier can kill and restart.

The jars are the ones the test suite uses: ``RISKGUARD_KAFKA_LIBS`` (a dir of jars), else the dir
printed by the repository's ``scripts/fetch_kafka.sh`` (Maven Central, cached). Needs ``java``.
Ports and data survive ``kill()`` + ``start()``, as a real broker's would across a crash.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Final

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

__all__ = ["EmbeddedKafka", "KafkaUnavailable", "kafka_libs"]

_LIBS_ENV: Final = "RISKGUARD_KAFKA_LIBS"
_JVM: Final = ("-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-Djava.awt.headless=true")
_LOG4J: Final = "log4j.rootLogger=WARN, stderr\n" + (
    "log4j.appender.stderr=org.apache.log4j.ConsoleAppender\n"
    "log4j.appender.stderr.Target=System.err\n"
    "log4j.appender.stderr.layout=org.apache.log4j.PatternLayout\n"
    "log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
)
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
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=3000
"""


class KafkaUnavailable(RuntimeError):
    """No embedded broker here: no java, no jars, or it would not start."""


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> list[str]:
    """SIGKILL the JVM if the verifier dies (Linux ``setpriv``; signalled when the spawning
    *thread* exits, so only from the main thread); nothing when unavailable."""
    setpriv = shutil.which("setpriv")
    if setpriv is None or threading.current_thread() is not threading.main_thread():
        return []
    return [setpriv, "--pdeathsig", "KILL", "--"]


def kafka_libs() -> Path:
    """The broker jars: ``RISKGUARD_KAFKA_LIBS``, else ``scripts/fetch_kafka.sh`` of this repo."""
    given = os.environ.get(_LIBS_ENV)
    if given:
        return Path(given)
    for parent in Path(__file__).resolve().parents:
        script = parent / "scripts" / "fetch_kafka.sh"
        if script.exists():
            done = subprocess.run([str(script)], capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise KafkaUnavailable(f"{script} failed: {done.stderr.strip()[-500:]}")
            return Path(done.stdout.strip().splitlines()[-1])
    raise KafkaUnavailable(f"no broker jars: set {_LIBS_ENV} or run from a source checkout")


class EmbeddedKafka:
    def __init__(self, workdir: Path, ready_timeout: float = 90.0) -> None:
        self.workdir = workdir
        self.ready_timeout = ready_timeout
        self.port, self.controller_port = _port(), _port()
        self.log_path = workdir / "broker.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._java: list[str] = []

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Format on the first start, then launch and wait until it answers metadata requests."""
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
            self._format()
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [
                    *_die_with_parent(),
                    *self._java,
                    "kafka.Kafka",
                    str(self.workdir / "server.properties"),
                ],
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
        """SIGKILL the broker (no clean shutdown) and reap it."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def close(self) -> None:
        """Stop it: SIGTERM, then SIGKILL after 20 s."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def _format(self) -> None:
        config = self.workdir / "server.properties"
        config.write_text(
            _SERVER.format(
                port=self.port,
                controller_port=self.controller_port,
                data=self.workdir / "data",
            )
        )
        cluster = self._storage_tool("random-uuid").strip().splitlines()[-1]
        self._storage_tool("format", "-t", cluster, "-c", str(config))

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
        config: dict[str, Any] = {"bootstrap.servers": self.bootstrap, "log_level": 2}
        config["error_cb"] = lambda _err: None  # refused connections are expected while starting
        admin = AdminClient(config)
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if not self.is_running():
                raise KafkaUnavailable(f"the broker exited early; see {self.log_path}")
            with contextlib.suppress(KafkaException):
                if admin.list_topics(timeout=1.0).brokers:
                    return
        raise KafkaUnavailable(f"the broker was not ready in {self.ready_timeout:.0f} s")
