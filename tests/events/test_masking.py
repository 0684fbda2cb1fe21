"""Secrets and credentials never reach a log line."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest
import structlog

from risk.logsetup import configure_logging
from risk.masking import MASK, is_secret_key, mask_secrets
from tests.events.helpers import make_log, outbox_events

SECRET = "hunter2-Sup3r"


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "PASSWORD",
        "db_password",
        "passwd",
        "secret",
        "client_secret",
        "token",
        "access_token",
        "api_key",
        "apiKey",
        "x-api-key",
        "sasl_password",
        "sasl.password",
        "credential",
        "credentials",
        "private_key",
        "authorization",
    ],
)
def test_mask_when_key_names_a_secret_then_value_replaced(key: str) -> None:
    """Any key naming a secret has its value replaced by the mask."""
    event = mask_secrets(None, "info", {"event": "x", key: SECRET})

    assert event[key] == MASK


@pytest.mark.parametrize(
    "key", ["reason_code", "event", "account", "tokens_used", "passenger", "keyboard", "author"]
)
def test_mask_when_key_is_ordinary_then_value_kept(key: str) -> None:
    """Ordinary keys (even ones containing a secret word inside another word) are untouched."""
    assert not is_secret_key(key)
    assert mask_secrets(None, "info", {key: "visible"})[key] == "visible"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sasl://risk:hunter2@kafka:9093", "sasl://risk:***@kafka:9093"),
        ("see https://user:p%40ss@host/x for details", "see https://user:***@host/x for details"),
        ("https://host/cb?token=abc123&x=1", "https://host/cb?token=***&x=1"),
        ("https://host/?a=1&api_key=zzz", "https://host/?a=1&api_key=***"),
        ("https://host/plain/path", "https://host/plain/path"),
        ("ratio=3.5 of limit", "ratio=3.5 of limit"),
    ],
    ids=["userinfo", "userinfo-in-text", "query-token", "query-api-key", "no-creds", "plain-eq"],
)
def test_mask_when_value_holds_url_credentials_then_only_secret_part_masked(
    text: str, expected: str
) -> None:
    """Credentials inside URLs are masked, the rest of the text is kept."""
    assert mask_secrets(None, "info", {"detail": text})["detail"] == expected


def test_mask_when_secret_nested_in_evidence_then_masked_at_any_depth() -> None:
    """Nested dicts and lists are scrubbed too (copies; the caller's object is not changed)."""
    evidence = {"kafka": {"sasl_password": SECRET, "hosts": ["a"]}, "list": [{"token": SECRET}]}

    masked = mask_secrets(None, "info", {"evidence": evidence})["evidence"]

    assert masked == {"kafka": {"sasl_password": MASK, "hosts": ["a"]}, "list": [{"token": MASK}]}
    assert evidence["kafka"]["sasl_password"] == SECRET


def test_emit_when_fields_hold_secrets_then_neither_outbox_nor_stdout_has_them(
    tmp_path: Path,
) -> None:
    """Through EvidenceLog, the secret reaches neither the outbox file nor the journald stream."""
    echo = io.BytesIO()
    log = make_log(tmp_path / "log", echo=echo)

    log.emit(
        "kafka.connect",
        password=SECRET,
        bootstrap=f"SASL_SSL://risk:{SECRET}@broker:9093",
        config={"sasl.password": SECRET},
    )

    assert SECRET.encode() not in (tmp_path / "log" / "evidence.jsonl").read_bytes()
    assert SECRET.encode() not in echo.getvalue()
    [(event, _)] = outbox_events(tmp_path / "log")
    assert event["password"] == MASK
    assert event["config"] == {"sasl.password": MASK}


def test_structlog_when_configured_globally_then_secrets_masked_on_stdout() -> None:
    """The process-wide structlog configuration masks too."""
    stream = io.BytesIO()
    configure_logging("info", component="test", stream=stream, cache=False)
    try:
        structlog.get_logger().info("kafka.connect", api_key=SECRET, url=f"h://u:{SECRET}@h")
    finally:
        structlog.reset_defaults()

    line = orjson.loads(stream.getvalue())
    assert line["api_key"] == MASK
    assert line["url"] == "h://u:***@h"
