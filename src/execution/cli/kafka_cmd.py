"""``riskguard kafka init``: create the events and decisions topics from ``config.kafka``."""

from __future__ import annotations

import argparse
import sys

from execution.cli.common import EXIT_FAILURE, EXIT_OK, print_json, require_config
from risk.config import ConfigError, ConfigIssue

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    kafka = sub.add_parser("kafka", help="Kafka topics for the event stream")
    actions = kafka.add_subparsers(dest="kafka_action", required=True)
    init = actions.add_parser("init", help="create the events and decisions topics")
    init.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the broker")
    init.add_argument("--json", action="store_true", help="machine-readable output")
    init.set_defaults(handler=_init)


def _init(args: argparse.Namespace) -> int:
    from execution.delivery import DeliverySettings, create_topics  # noqa: PLC0415 - librdkafka

    settings = DeliverySettings.from_config(require_config(args))
    if not settings.enabled:
        issue = ConfigIssue("kafka.bootstrap_servers", "empty: set it or KAFKA_BOOTSTRAP_SERVERS")
        raise ConfigError("kafka", [issue])
    outcome = create_topics(settings, timeout=args.timeout)
    ok = all(result in ("created", "exists") for result in outcome.values())
    if args.json:
        print_json(
            {
                "bootstrap_servers": settings.bootstrap_servers,
                "partitions": settings.partitions,
                "replication_factor": settings.replication_factor,
                "topics": outcome,
            }
        )
    else:
        shape = f"{settings.partitions} partitions, replication {settings.replication_factor}"
        for topic, result in outcome.items():
            sys.stdout.write(f"{topic}: {result} ({shape})\n")
    return EXIT_OK if ok else EXIT_FAILURE
