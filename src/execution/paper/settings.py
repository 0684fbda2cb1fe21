"""What a paper terminal simulates: the account and the symbols, as frozen settings.

Money is ``Decimal`` in the account currency. Every symbol must quote the account currency on one
side (EURUSD, USDJPY in a USD account) so that margin and profit convert without a cross rate.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from execution.mt5.constants import AccountTradeMode

__all__ = ["DEFAULT_SYMBOLS", "AccountSettings", "SymbolSettings", "default_symbols"]


@dataclass(frozen=True, slots=True)
class SymbolSettings:
    """One tradable symbol. A tick is one point (``10**-digits``).

    ``commission_per_lot`` is charged (as a negative commission) on every deal, per side.
    ``swap_*_per_lot_day`` is credited (negative: charged) at each server-midnight rollover the
    position is held over; no triple-swap day.
    """

    name: str
    digits: int
    currency_base: str
    currency_profit: str
    contract_size: Decimal = Decimal(100_000)
    volume_min: Decimal = Decimal("0.01")
    volume_max: Decimal = Decimal(500)
    volume_step: Decimal = Decimal("0.01")
    commission_per_lot: Decimal = Decimal(0)
    swap_long_per_lot_day: Decimal = Decimal(0)
    swap_short_per_lot_day: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        if not 0 <= self.digits <= 8:
            raise ValueError(f"{self.name}: digits must be 0..8, not {self.digits}")
        for field in ("contract_size", "volume_min", "volume_step"):
            if getattr(self, field) <= 0:
                raise ValueError(f"{self.name}: {field} must be positive")
        if self.volume_max < self.volume_min:
            raise ValueError(f"{self.name}: volume_max below volume_min")
        if self.commission_per_lot < 0:
            raise ValueError(f"{self.name}: commission_per_lot is a cost, give it as >= 0")

    @property
    def point(self) -> Decimal:
        return Decimal(1).scaleb(-self.digits)

    @property
    def tick_size(self) -> Decimal:
        return self.point


@dataclass(frozen=True, slots=True)
class AccountSettings:
    """The simulated account: a hedging DEMO account with percent stop-out levels by default."""

    login: int = 5_001_234
    name: str = "riskguard paper"
    server: str = "RiskGuard-Paper"
    company: str = "riskguard"
    currency: str = "USD"
    balance: Decimal = Decimal("100000.00")
    leverage: int = 100
    trade_mode: AccountTradeMode = AccountTradeMode.DEMO
    margin_so_call: Decimal = Decimal(100)
    margin_so_so: Decimal = Decimal(50)
    stop_out: bool = True
    server_utc_offset_seconds: int = 0

    def __post_init__(self) -> None:
        if self.leverage < 1:
            raise ValueError("leverage must be >= 1")
        if self.balance < 0:
            raise ValueError("balance must be >= 0")
        if not 0 <= self.margin_so_so <= self.margin_so_call:
            raise ValueError("need 0 <= margin_so_so <= margin_so_call")
        if abs(self.server_utc_offset_seconds) > 14 * 3600:
            raise ValueError("server_utc_offset_seconds beyond +-14 h")


DEFAULT_SYMBOLS: tuple[SymbolSettings, ...] = (
    SymbolSettings("EURUSD", 5, "EUR", "USD"),
    SymbolSettings("GBPUSD", 5, "GBP", "USD"),
    SymbolSettings("USDJPY", 3, "USD", "JPY"),
)


def default_symbols(
    *,
    commission_per_lot: Decimal = Decimal(0),
    swap_long_per_lot_day: Decimal = Decimal(0),
    swap_short_per_lot_day: Decimal = Decimal(0),
) -> tuple[SymbolSettings, ...]:
    """The default symbols with the same costs on each (the CLI's ``--commission``/``--swap``)."""
    return tuple(
        replace(
            s,
            commission_per_lot=commission_per_lot,
            swap_long_per_lot_day=swap_long_per_lot_day,
            swap_short_per_lot_day=swap_short_per_lot_day,
        )
        for s in DEFAULT_SYMBOLS
    )
