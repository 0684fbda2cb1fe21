"""The closed, typed schema of ``config/risk_limits.yaml``.

Every model forbids unknown keys, is frozen, and is strict: YAML's guesses (``no`` → False,
``0750`` → 488, ``12:30`` → 750) are rejected rather than coerced. Cross-field checks keep each
warning level strictly inside its hard limit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from risk.config.types import (
    FileMode,
    LaxPath,
    Money,
    NonNegativeDecimal,
    Percent,
    PositiveDecimal,
    TimeOfDay,
    TimeZoneName,
)

__all__ = ["SCHEMA_VERSION", "RiskConfig"]

SCHEMA_VERSION = 1

Action = Literal["HALTED", "REDUCING"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
PosInt = Field(gt=0)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _field_error(field: str, message: str, value: object) -> ValidationError:
    """A cross-field problem located at ``field``, so the issue path names ``section.field``."""
    detail = InitErrorDetails(
        type=PydanticCustomError("value_error", message), loc=(field,), input=value
    )
    return ValidationError.from_exception_data("cross-field check", [detail])


def _warning_below(section: BaseModel, warning: str, limit: str) -> None:
    level, hard = getattr(section, warning), getattr(section, limit)
    if level >= hard:
        raise _field_error(warning, f"warning level {level} must be below {limit} {hard}", level)


class AccountConfig(_Section):
    initial_capital: Money = Field(gt=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    allow_real_account: bool


class PathsConfig(_Section):
    state_dir: LaxPath
    log_dir: LaxPath
    dir_mode: FileMode
    file_mode: FileMode

    @field_validator("state_dir", "log_dir")
    @classmethod
    def _survives_reboot(cls, path: Path) -> Path:
        check_state_path(path)
        return path

    @model_validator(mode="after")
    def _dir_traversable(self) -> Self:
        if self.dir_mode & 0o700 != 0o700:
            raise _field_error(
                "dir_mode", "the owner needs rwx on the directories", oct(self.dir_mode)
            )
        return self


def check_state_path(path: Path) -> None:
    """Shared by config and CLI: an empty path or one under /tmp or /dev is refused."""
    if str(path) in ("", "."):
        raise ValueError("must name a directory (an empty path would mean the working dir)")
    if path.is_absolute() and len(path.parts) > 1 and path.parts[1] in ("tmp", "dev"):
        raise ValueError(f"must not live under /{path.parts[1]} (cleared at reboot, shared)")


class KillSwitchConfig(_Section):
    mode: Literal["automatic", "alert_only"]
    recovery_cooldown_seconds: int = Field(ge=0)
    history_limit: int = Field(ge=1, le=10_000)
    lock_timeout_ms: int = Field(gt=0, le=60_000)


class HeartbeatConfig(_Section):
    interval_ms: int = PosInt
    timeout_ms: int = PosInt
    engine_enforces: bool

    @model_validator(mode="after")
    def _timeout_covers_intervals(self) -> Self:
        if self.timeout_ms < 2 * self.interval_ms:
            raise _field_error(
                "timeout_ms",
                f"must be at least twice interval_ms ({2 * self.interval_ms} ms)",
                self.timeout_ms,
            )
        return self


class DrawdownConfig(_Section):
    enabled: bool
    warning_pct: Percent
    limit_pct: Percent
    action: Action

    @model_validator(mode="after")
    def _levels(self) -> Self:
        _warning_below(self, "warning_pct", "limit_pct")
        return self


class DailyLossConfig(_Section):
    enabled: bool
    warning_pct: Percent
    limit_pct: Percent
    limit_basis: Literal["baseline", "initial_capital"]
    baseline: Literal["balance", "equity", "max"]
    reset_time: TimeOfDay
    timezone: TimeZoneName
    rolling_24h: bool
    action: Action

    @model_validator(mode="after")
    def _levels(self) -> Self:
        _warning_below(self, "warning_pct", "limit_pct")
        return self


class LeverageConfig(_Section):
    enabled: bool
    warning: PositiveDecimal
    limit: PositiveDecimal
    action: Action

    @model_validator(mode="after")
    def _levels(self) -> Self:
        _warning_below(self, "warning", "limit")
        return self


class MarginConfig(_Section):
    enabled: bool
    margin_call_pct: PositiveDecimal
    stop_out_pct: PositiveDecimal
    use_broker_levels: bool
    warning_buffer_pct: NonNegativeDecimal
    trip_buffer_pct: NonNegativeDecimal
    action: Action

    @model_validator(mode="after")
    def _levels(self) -> Self:
        if self.stop_out_pct >= self.margin_call_pct:
            raise _field_error("stop_out_pct", "must be below margin_call_pct", self.stop_out_pct)
        trip = self.stop_out_pct + self.trip_buffer_pct
        warn = self.margin_call_pct + self.warning_buffer_pct
        if trip >= warn:
            raise _field_error(
                "trip_buffer_pct",
                f"trip level {trip} % (stop_out_pct + trip_buffer_pct) must be below the"
                f" warning level {warn} % (margin_call_pct + warning_buffer_pct)",
                self.trip_buffer_pct,
            )
        return self


class LatencyConfig(_Section):
    enabled: bool
    tick_processing_warning_ms: int = PosInt
    tick_processing_timeout_ms: int = PosInt
    stale_feed_seconds: int = PosInt
    max_tick_age_ms: int = PosInt
    action: Action

    @model_validator(mode="after")
    def _levels(self) -> Self:
        _warning_below(self, "tick_processing_warning_ms", "tick_processing_timeout_ms")
        return self


class LosingStreakConfig(_Section):
    enabled: bool
    warning: int = PosInt
    limit: int = PosInt
    action: Action

    @model_validator(mode="after")
    def _levels(self) -> Self:
        _warning_below(self, "warning", "limit")
        return self


class ExposureConfig(_Section):
    enabled: bool
    open_positions_warning: int = PosInt
    open_positions_limit: int = PosInt
    lots_per_symbol_warning: PositiveDecimal
    lots_per_symbol_limit: PositiveDecimal
    trades_per_day_warning: int = PosInt
    trades_per_day_limit: int = PosInt
    action: Action

    @model_validator(mode="after")
    def _levels(self) -> Self:
        _warning_below(self, "open_positions_warning", "open_positions_limit")
        _warning_below(self, "lots_per_symbol_warning", "lots_per_symbol_limit")
        _warning_below(self, "trades_per_day_warning", "trades_per_day_limit")
        return self


class VelocityConfig(_Section):
    enabled: bool
    warning_pct: Percent
    limit_pct: Percent
    window_seconds: int = PosInt
    action: Action

    @model_validator(mode="after")
    def _levels(self) -> Self:
        _warning_below(self, "warning_pct", "limit_pct")
        return self


class DataQualityConfig(_Section):
    enabled: bool
    window_ticks: int = Field(gt=0, le=1_000_000)
    bad_ticks_warning: int = PosInt
    bad_ticks_limit: int = PosInt
    action: Action

    @model_validator(mode="after")
    def _levels(self) -> Self:
        _warning_below(self, "bad_ticks_warning", "bad_ticks_limit")
        if self.bad_ticks_limit > self.window_ticks:
            raise _field_error(
                "bad_ticks_limit",
                f"cannot exceed window_ticks {self.window_ticks}",
                self.bad_ticks_limit,
            )
        return self


class TradingHoursConfig(_Section):
    enabled: bool
    timezone: TimeZoneName
    days: tuple[Weekday, ...] = Field(min_length=1, strict=False)
    start: TimeOfDay
    end: TimeOfDay

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        if len(set(self.days)) != len(self.days):
            raise _field_error("days", "must not repeat a day", list(self.days))
        return self


class EngineConfig(_Section):
    strategy: str = Field(min_length=1)
    magic: int = Field(ge=0, lt=2**63)
    deviation_points: int = Field(ge=0)
    max_consecutive_rejects: int = PosInt
    order_cooldown_seconds: int = Field(ge=0)


class EmergencyConfig(_Section):
    auto_liquidation_enabled: bool


class BrokerConfig(_Section):
    backend: Literal["paper", "bridge", "native"]
    host: str = Field(pattern=r"^[A-Za-z0-9.:\[\]_-]+$")
    port: int = Field(gt=0, lt=65536)
    call_timeout_ms: int = Field(gt=0, le=60_000)
    server_utc_offset_seconds: int = Field(ge=-14 * 3600, le=14 * 3600)
    reconnect_initial_backoff_ms: int = PosInt
    reconnect_max_backoff_ms: int = PosInt
    unreachable_grace_seconds: int = PosInt

    @model_validator(mode="after")
    def _backoff(self) -> Self:
        if self.reconnect_initial_backoff_ms > self.reconnect_max_backoff_ms:
            raise _field_error(
                "reconnect_initial_backoff_ms",
                f"must not exceed reconnect_max_backoff_ms {self.reconnect_max_backoff_ms}",
                self.reconnect_initial_backoff_ms,
            )
        return self


class FeedConfig(_Section):
    symbols: tuple[Annotated[str, Field(pattern=r"^[A-Za-z0-9._#-]{1,32}$")], ...] = Field(
        min_length=1, strict=False
    )
    tick_poll_interval_ms: int = PosInt
    account_poll_interval_ms: int = PosInt
    positions_poll_interval_ms: int = PosInt
    deals_poll_interval_ms: int = PosInt

    @field_validator("symbols")
    @classmethod
    def _unique(cls, symbols: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(symbols)) != len(symbols):
            raise ValueError("symbols must not repeat")
        return symbols


class ReconciliationConfig(_Section):
    interval_seconds: int = PosInt
    equity_tolerance_pct: Percent


class KafkaConfig(_Section):
    bootstrap_servers: str
    events_topic: str = Field(pattern=r"^[A-Za-z0-9._-]{1,249}$")
    decisions_topic: str = Field(pattern=r"^[A-Za-z0-9._-]{1,249}$")
    decisions_per_second: int = Field(ge=0)
    partitions: int = PosInt
    replication_factor: int = PosInt
    message_timeout_ms: int = Field(ge=1000)
    linger_ms: int = Field(ge=0, le=1000)
    compression: Literal["none", "lz4", "zstd", "snappy", "gzip"]
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None
    sasl_username: str | None
    sasl_password_file: LaxPath | None
    ssl_ca_location: LaxPath | None

    @model_validator(mode="after")
    def _sasl(self) -> Self:
        if not self.security_protocol.startswith("SASL"):
            return self
        needed = (
            ("sasl_mechanism", "SASL needs sasl_mechanism"),
            ("sasl_username", "SASL needs sasl_username"),
            ("sasl_password_file", "SASL needs sasl_password_file (secrets never inline)"),
        )
        for field, message in needed:
            if getattr(self, field) is None:
                raise _field_error(field, message, None)
        return self


class LoggingConfig(_Section):
    level: Literal["debug", "info", "warning", "error"]
    segment_bytes: int = Field(ge=65536)
    retention_segments: int = PosInt


class MetricsConfig(_Section):
    listen: str | None = Field(pattern=r"^[0-9.]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$")

    @field_validator("listen")
    @classmethod
    def _port(cls, listen: str | None) -> str | None:
        if listen is not None and not 0 < int(listen.rsplit(":", 1)[1]) < 65536:
            raise ValueError("port must be 1-65535")
        return listen


class RiskConfig(_Section):
    """The whole file. Sections mirror ``config/risk_limits.yaml`` one to one."""

    version: Literal[1]
    account: AccountConfig
    paths: PathsConfig
    kill_switch: KillSwitchConfig
    heartbeat: HeartbeatConfig
    drawdown: DrawdownConfig
    daily_loss: DailyLossConfig
    leverage: LeverageConfig
    margin: MarginConfig
    latency: LatencyConfig
    losing_streak: LosingStreakConfig
    exposure: ExposureConfig
    velocity: VelocityConfig
    data_quality: DataQualityConfig
    trading_hours: TradingHoursConfig
    engine: EngineConfig
    emergency: EmergencyConfig
    broker: BrokerConfig
    feed: FeedConfig
    reconciliation: ReconciliationConfig
    kafka: KafkaConfig
    logging: LoggingConfig
    metrics: MetricsConfig

    @field_validator("version", mode="before")
    @classmethod
    def _plain_int(cls, value: object) -> object:
        if type(value) is not int:  # Literal[1] alone accepts True (yes/on) and 1.0
            raise ValueError("must be the plain integer 1")
        return value
