"""A delivery process for the crash tests: tails a log dir's outbox into Kafka until told to stop.

    python -m tests.events.delivery_worker LOG_DIR BOOTSTRAP EVENTS_TOPIC DECISIONS_TOPIC [MAX]

Prints one JSON line ``{"start": [segment, offset]}`` once it leads delivery, then runs until
SIGTERM (graceful: flush, durable cursor) or SIGKILL (the test's crash).
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

from execution.delivery import Delivery, DeliverySettings
from risk.clock import SystemClock
from risk.journal import EvidenceLog
from tests.events.helpers import delivery_state


def main(argv: list[str]) -> int:
    log_dir, bootstrap, events_topic, decisions_topic = argv[:4]
    max_in_flight = int(argv[4]) if len(argv) > 4 else 20_000
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    log = EvidenceLog(
        Path(log_dir),
        component="worker",
        clock=SystemClock(),
        file_mode=0o660,
        dir_mode=0o770,
        delivery=True,
    )
    settings = DeliverySettings(
        bootstrap,
        events_topic=events_topic,
        decisions_topic=decisions_topic,
        max_in_flight=max_in_flight,
    )
    delivery = Delivery(log, settings).start()
    announced = False
    ticks = 0
    while not stop.wait(0.01):
        producer = delivery.producer
        if producer is not None and not announced:
            sys.stdout.write(json.dumps({"start": list(producer.start)}) + "\n")
            sys.stdout.flush()
            announced = True
        ticks += 1
        if ticks % 500 == 0:  # every ~5 s: what the worker is doing, for a failing test's message
            sys.stderr.write(f"worker: {delivery_state(delivery)}\n")
            sys.stderr.flush()
    delivery.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
