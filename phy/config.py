"""Typed, validated configuration of the multi-user OFDMA link.

Every model forbids unknown keys and checks types strictly (an int is
accepted where a float is expected, nothing else is coerced), so that a
typo or a wrong value in a scenario file fails before any work starts with a
message naming the key (see :func:`format_validation_error`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = [
    "BITS_PER_SYMBOL",
    "ChannelConfig",
    "CodeConfig",
    "GridConfig",
    "LinkBudgetConfig",
    "LinkConfig",
    "StrictModel",
    "format_validation_error",
]

#: Constellation name -> bits per symbol (square Gray-mapped QAM, 5G labelling).
BITS_PER_SYMBOL = {"qpsk": 2, "16qam": 4, "64qam": 6, "256qam": 8}

# Sionna's 5G LDPC encoder (TS 38.212) supports these information lengths and rates.
LDPC5G_K_MIN, LDPC5G_K_MAX = 12, 8448
LDPC5G_RATE_MIN, LDPC5G_RATE_MAX = 0.2, 0.95


class StrictModel(BaseModel):
    """Base of every config model: unknown keys rejected, strict types, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class CodeConfig(StrictModel):
    """Channel code: 5G LDPC from Sionna, or uncoded blocks of ``n`` bits (then k = n)."""

    kind: Literal["ldpc5g", "uncoded"] = "ldpc5g"
    k: int = Field(512, gt=0, description="information bits per codeword")
    n: int = Field(1024, gt=0, description="coded bits per codeword")
    bp_iterations: int = Field(20, ge=1, le=1000, description="belief-propagation iterations")
    cn_update: Literal["boxplus-phi", "boxplus", "minsum", "offset-minsum"] = "boxplus-phi"

    @model_validator(mode="after")
    def _check_rate(self) -> "CodeConfig":
        if self.kind == "uncoded":
            if self.k != self.n:
                raise ValueError(f"k ({self.k}) must equal n ({self.n}) when kind = 'uncoded'")
            return self
        if not LDPC5G_K_MIN <= self.k <= LDPC5G_K_MAX:
            raise ValueError(
                f"k = {self.k} is outside the 5G LDPC range [{LDPC5G_K_MIN}, {LDPC5G_K_MAX}]"
            )
        rate = self.k / self.n
        if not LDPC5G_RATE_MIN <= rate <= LDPC5G_RATE_MAX:
            raise ValueError(
                f"code rate k/n = {self.k}/{self.n} = {rate:.3f} is outside the 5G LDPC "
                f"range [{LDPC5G_RATE_MIN}, {LDPC5G_RATE_MAX}]"
            )
        return self

    @property
    def rate(self) -> float:
        return self.k / self.n


class GridConfig(StrictModel):
    """OFDMA resource grid: K users, each owning N of the L subcarriers, S OFDM symbols."""

    num_subcarriers: int = Field(64, gt=0, description="L, subcarriers in the grid")
    num_ofdm_symbols: int = Field(14, gt=0, description="S, OFDM symbols per slot")
    num_users: int = Field(2, gt=0, description="K")
    subcarriers_per_user: int | None = Field(
        None, gt=0, description="N; defaults to L // K (then L = K N when K divides L)"
    )
    allocation: Literal["contiguous", "interleaved", "greedy", "optimal"] = Field(
        "contiguous",
        description=(
            "contiguous: user k gets subcarriers [kN, (k+1)N); interleaved: k, k+K, k+2K, ...; "
            "greedy / optimal: by channel gain in every slot (phy.allocation)"
        ),
    )
    subcarrier_spacing_hz: float = Field(30e3, gt=0)

    @model_validator(mode="after")
    def _check_fit(self) -> "GridConfig":
        if self.num_users > self.num_subcarriers:
            raise ValueError(
                f"num_users ({self.num_users}) exceeds num_subcarriers ({self.num_subcarriers})"
            )
        if self.users_times_n > self.num_subcarriers:
            raise ValueError(
                f"num_users * subcarriers_per_user = {self.users_times_n} exceeds "
                f"num_subcarriers ({self.num_subcarriers})"
            )
        return self

    @property
    def n(self) -> int:
        """Subcarriers per user."""
        return self.subcarriers_per_user or self.num_subcarriers // self.num_users

    @property
    def users_times_n(self) -> int:
        return self.num_users * self.n


class ChannelConfig(StrictModel):
    """Small-scale channel between the base station and each user (unit average power).

    - ``awgn``: h = 1.
    - ``rayleigh_block``: one CN(0, 1) gain per user and slot, flat over the grid
      (Sionna ``RayleighBlockFading``).
    - ``rayleigh_iid``: independent CN(0, 1) gain per user and subcarrier, constant
      over the slot (frequency-selective, no correlation across subcarriers).
    - ``tdl``: 3GPP TR 38.901 tapped delay line (Sionna ``TDL``), frequency response
      over the grid's subcarriers, correlated in frequency by the delay profile.
    """

    kind: Literal["awgn", "rayleigh_block", "rayleigh_iid", "tdl"] = "awgn"
    tdl_model: Literal[
        "A", "B", "C", "D", "E", "A10", "A30", "B100", "C60", "C300", "D10", "D30"
    ] = "A"
    delay_spread_s: float = Field(100e-9, gt=0, lt=1e-3)
    carrier_frequency_hz: float = Field(3.5e9, gt=0)
    max_speed_mps: float = Field(0.0, ge=0, description="UE speed for the TDL Doppler spread")


class LinkBudgetConfig(StrictModel):
    """Large-scale path loss and link budget (defaults: Liu et al., Table II).

    Received SNR of user k: P_T * eps0 * (d_k / 1 m)^(-phi) / (N0 * B).
    """

    tx_power_dbm: float = Field(20.0, description="P_T; 100 mW = 20 dBm")
    bandwidth_hz: float = Field(1e6, gt=0, description="B")
    noise_psd_dbm_hz: float = Field(-174.0, description="N0")
    path_loss_ref_db: float = Field(-30.0, le=0, description="eps0, path gain at 1 m")
    path_loss_exponent: float = Field(3.4, gt=0, le=10, description="phi")
    distance_min_m: float = Field(150.0, ge=1.0)
    distance_max_m: float = Field(550.0, ge=1.0)

    @model_validator(mode="after")
    def _check_distances(self) -> "LinkBudgetConfig":
        if self.distance_max_m < self.distance_min_m:
            raise ValueError(
                f"distance_max_m ({self.distance_max_m}) is below distance_min_m "
                f"({self.distance_min_m})"
            )
        return self


class LinkConfig(StrictModel):
    """One multi-user OFDMA downlink: modulation, code, grid, channel, receiver."""

    modulation: Literal["qpsk", "16qam", "64qam", "256qam"] = "16qam"
    demapping: Literal["app", "maxlog"] = "app"
    equalizer: Literal["zf", "mmse"] = "zf"
    code: CodeConfig = CodeConfig()
    grid: GridConfig = GridConfig()
    channel: ChannelConfig = ChannelConfig()
    budget: LinkBudgetConfig | None = None

    @model_validator(mode="after")
    def _check_codeword_fits(self) -> "LinkConfig":
        capacity = self.coded_bits_per_user
        if self.code.n > capacity:
            raise ValueError(
                f"code.n = {self.code.n} does not fit the {capacity} coded bits a user carries "
                f"per slot (grid.num_ofdm_symbols * subcarriers per user * "
                f"{BITS_PER_SYMBOL[self.modulation]} bits/symbol)"
            )
        if self.code.kind == "ldpc5g" and self.code.n % BITS_PER_SYMBOL[self.modulation]:
            raise ValueError(
                f"code.n = {self.code.n} must be a multiple of the "
                f"{BITS_PER_SYMBOL[self.modulation]} bits per {self.modulation} symbol"
            )
        return self

    @property
    def bits_per_symbol(self) -> int:
        return BITS_PER_SYMBOL[self.modulation]

    @property
    def coded_bits_per_user(self) -> int:
        """Coded bits one user's subcarriers carry in one slot (S * N * bits/symbol)."""
        return self.grid.num_ofdm_symbols * self.grid.n * self.bits_per_symbol

    @property
    def codewords_per_user(self) -> int:
        """Whole codewords per user and slot; the remaining resource elements carry padding."""
        return self.coded_bits_per_user // self.code.n


def format_validation_error(exc: ValidationError, prefix: str = "") -> str:
    """One line naming the first offending key, e.g. ``link.code.k: ...``."""
    err = exc.errors(include_url=False)[0]
    loc = ".".join(str(part) for part in (prefix, *err["loc"]) if part != "")
    kind = err["type"]
    if kind == "extra_forbidden":
        message = "unknown key"
    elif kind == "missing":
        message = "required key is missing"
    else:
        message = err["msg"]
        message = message.removeprefix("Value error, ")
        if "input" in err and kind not in ("value_error",) and not isinstance(err["input"], dict):
            message += f" (got {err['input']!r})"
    more = len(exc.errors()) - 1
    suffix = f" [and {more} more error(s)]" if more else ""
    return f"{loc or '<config>'}: {message}{suffix}"
