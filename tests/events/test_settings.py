"""Kafka client settings from the config: the lossless profile and SASL/SSL pass-through."""

from __future__ import annotations

from pathlib import Path

from execution.delivery import DeliverySettings, client_config, producer_config
from risk.config import RiskConfig
from risk.masking import MASK, mask_secrets


def test_producer_config_when_built_then_lossless_profile(shipped_config: RiskConfig) -> None:
    """Idempotent, acks=all, bounded message timeout, lz4 and linger from the config."""
    settings = DeliverySettings.from_config(shipped_config, bootstrap_servers="k1:9092")

    config = producer_config(settings)

    assert config["enable.idempotence"] is True
    assert config["acks"] == "all"
    assert config["message.timeout.ms"] == shipped_config.kafka.message_timeout_ms
    assert config["compression.type"] == "lz4"
    assert config["linger.ms"] == shipped_config.kafka.linger_ms
    assert "sasl.password" not in config


def test_client_config_when_sasl_ssl_then_password_read_from_file_and_masked_in_logs(
    tmp_path: Path, shipped_config: RiskConfig
) -> None:
    """The SASL password comes from sasl_password_file (newline stripped) and never shows."""
    secret_file = tmp_path / "kafka.pw"
    secret_file.write_text("s3cr3t-pw\n")
    settings = DeliverySettings.from_config(
        shipped_config,
        bootstrap_servers="k1:9093",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="riskguard",
        sasl_password_file=secret_file,
        ssl_ca_location=tmp_path / "ca.pem",
    )

    config = client_config(settings)

    assert config["security.protocol"] == "SASL_SSL"
    assert config["sasl.mechanism"] == "SCRAM-SHA-512"
    assert config["sasl.username"] == "riskguard"
    assert config["sasl.password"] == "s3cr3t-pw"
    assert config["ssl.ca.location"] == str(tmp_path / "ca.pem")
    logged = mask_secrets(None, "info", {"event": "kafka.config", "config": config})
    assert logged["config"]["sasl.password"] == MASK


def test_settings_when_bootstrap_empty_then_disabled(shipped_config: RiskConfig) -> None:
    """The shipped config has no brokers: delivery is off."""
    assert not DeliverySettings.from_config(shipped_config).enabled
    assert DeliverySettings.from_config(shipped_config, bootstrap_servers="k:1").enabled
