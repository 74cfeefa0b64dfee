"""Typed, validated configuration of the multi-user OFDMA link.

Every model forbids unknown keys and checks types strictly (an int is
accepted where a float is expected, nothing else is coerced), so that a
typo or a wrong value in a scenario file fails before any work starts with a
message naming the key (see :func:`format_validation_error`).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    create_model,
    model_validator,
)

__all__ = [
    "BITS_PER_SYMBOL",
    "CHANNEL_CONFIGS",
    "AwgnChannelConfig",
    "ChannelConfig",
    "PilotConfig",
    "RayleighBlockChannelConfig",
    "RayleighIidChannelConfig",
    "TdlChannelConfig",
    "channel_config",
    "register_channel_config",
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
    """Channel code: 5G LDPC from Sionna, or uncoded blocks of ``n`` bits (then k = n).

    The defaults (rate 1/2, n = 1792) fill the default slot exactly: 14 OFDM symbols x
    32 subcarriers x 4 bits (16-QAM) per user, so no resource element is padding.
    """

    kind: Literal["ldpc5g", "uncoded"] = Field("ldpc5g", description="ldpc5g: Sionna's 5G LDPC; uncoded: k = n")
    k: int = Field(896, gt=0, description="information bits per codeword")
    n: int = Field(1792, gt=0, description="coded bits per codeword")
    bp_iterations: int = Field(20, ge=1, le=1000, description="belief-propagation iterations")
    cn_update: Literal["boxplus-phi", "boxplus", "minsum", "offset-minsum"] = Field(
        "boxplus-phi", description="check-node update rule of the BP decoder (Sionna's names)"
    )
    decoder: Literal["auto", "sionna", "numba"] = Field(
        "auto", description="BP implementation: numba (CPU kernel, phy.ldpc_numba), sionna, or auto = numba on CPU, "
        "Sionna on a GPU",
    )  # fmt: skip
    schedule: Literal["flooding", "layered"] = Field(
        "flooding", description="BP schedule: flooding, or layered by block rows of Z check nodes (Sionna's meaning)"
    )
    early_stop: bool = Field(False, description="numba decoder: stop a codeword once its syndrome is satisfied")
    compile: bool = Field(
        False, description="wrap Sionna's decoder in torch.compile (where the decoder is Sionna's: decoder = sionna, "
        "or auto on a GPU); for GPUs, where it fuses the message passing's many small kernels",
    )  # fmt: skip

    @model_validator(mode="after")
    def _check_rate(self) -> "CodeConfig":
        if self.early_stop and self.decoder == "sionna":
            raise ValueError("early_stop needs decoder = 'numba' (Sionna's decoder has no early stop)")
        if self.compile and self.decoder == "numba":
            raise ValueError("compile applies to Sionna's decoder; decoder = 'numba' is compiled by numba already")
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
        """Code rate k / n."""
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
    subcarrier_spacing_hz: float = Field(30e3, gt=0, description="subcarrier spacing (Sionna's ResourceGrid)")

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
        """Subcarriers in use: K N."""
        return self.num_users * self.n


class ChannelConfig(StrictModel):
    """Base of every small-scale channel model's config (unit average power E|h|^2 = 1).

    One subclass per ``kind`` (a ``Literal`` default), registered with
    :func:`register_channel_config`; ``LinkConfig.channel`` picks the subclass by
    ``kind``, so a field of another kind is an error naming it. A plugin module
    adds a kind by defining a subclass and its sampler (:func:`phy.channels.register_channel`).

    Class attributes every kind sets:

    - ``is_flat``: the response is the same on every subcarrier of a user and slot;
    - ``ber_reference``: the closed-form uncoded BER that holds for it
      (``"awgn"``, ``"rayleigh"`` for a flat Rayleigh marginal, or ``None``).
    """

    kind: str
    is_flat: ClassVar[bool] = False
    ber_reference: ClassVar[str | None] = None


#: kind -> config class; filled by :func:`register_channel_config`.
CHANNEL_CONFIGS: dict[str, type[ChannelConfig]] = {}


def register_channel_config(cls: type[ChannelConfig]) -> type[ChannelConfig]:
    """Class decorator: make ``cls`` the config of channel ``kind`` (its ``kind`` default)."""
    kind = cls.model_fields["kind"].default
    if not isinstance(kind, str):
        raise TypeError(f"{cls.__name__}.kind needs a string default (the kind's name)")
    CHANNEL_CONFIGS[kind] = cls
    return cls


def channel_config(kind: str = "awgn", **fields) -> ChannelConfig:
    """The validated config of channel ``kind``, e.g. ``channel_config("tdl", tdl_model="C")``."""
    return _parse_channel({"kind": kind, **fields})


def _parse_channel(value):
    """``LinkConfig.channel`` from a table: dispatch on ``kind`` to the registered config."""
    if isinstance(value, ChannelConfig):
        return value
    if not isinstance(value, dict):
        return value  # pydantic reports the wrong type
    kind = value.get("kind", "awgn")
    if kind not in CHANNEL_CONFIGS:
        # Validating the kind alone gives pydantic's own one-line error at ``...channel.kind``.
        kinds = create_model("ChannelKind", __base__=StrictModel, kind=(Literal[tuple(CHANNEL_CONFIGS)], ...))
        kinds.model_validate({"kind": kind})
    return CHANNEL_CONFIGS[kind].model_validate(value)


@register_channel_config
class AwgnChannelConfig(ChannelConfig):
    """``awgn``: h = 1 on every resource element."""

    kind: Literal["awgn"] = "awgn"
    is_flat: ClassVar[bool] = True
    ber_reference: ClassVar[str | None] = "awgn"


@register_channel_config
class RayleighBlockChannelConfig(ChannelConfig):
    """``rayleigh_block``: one CN(0, 1) gain per user and slot, flat over the grid (Sionna ``RayleighBlockFading``)."""

    kind: Literal["rayleigh_block"] = "rayleigh_block"
    is_flat: ClassVar[bool] = True
    ber_reference: ClassVar[str | None] = "rayleigh"


@register_channel_config
class RayleighIidChannelConfig(ChannelConfig):
    """``rayleigh_iid``: independent CN(0, 1) gain per user and subcarrier, constant over the slot
    (frequency-selective, no correlation across subcarriers; each RE's marginal is flat Rayleigh)."""

    kind: Literal["rayleigh_iid"] = "rayleigh_iid"
    ber_reference: ClassVar[str | None] = "rayleigh"


#: TDL profiles of TR 38.901 with a fixed delay spread (s); the others scale with ``delay_spread_s``.
TDL_FIXED_DELAY_SPREAD = {
    "A10": 10e-9, "A30": 30e-9, "B100": 100e-9, "C60": 60e-9, "C300": 300e-9, "D10": 10e-9, "D30": 30e-9,
}  # fmt: skip


@register_channel_config
class TdlChannelConfig(ChannelConfig):
    """``tdl``: 3GPP TR 38.901 tapped delay line (Sionna ``TDL``), frequency response over the
    grid's subcarriers, correlated in frequency by the delay profile."""

    kind: Literal["tdl"] = "tdl"
    tdl_model: Literal["A", "B", "C", "D", "E", "A10", "A30", "B100", "C60", "C300", "D10", "D30"] = Field(
        "A", description="delay profile; A..E scale with delay_spread_s, the others have their own"
    )
    delay_spread_s: float | None = Field(
        None, gt=0, lt=1e-3,
        description="RMS delay spread of a scalable profile (A..E; default 100 ns); fixed profiles take none",
    )  # fmt: skip
    carrier_frequency_hz: float = Field(3.5e9, gt=0, description="carrier frequency (Doppler)")
    max_speed_mps: float = Field(0.0, ge=0, description="UE speed for the TDL Doppler spread")

    @model_validator(mode="after")
    def _check_delay_spread(self) -> "TdlChannelConfig":
        fixed = TDL_FIXED_DELAY_SPREAD.get(self.tdl_model)
        if fixed is not None and self.delay_spread_s is not None and self.delay_spread_s != fixed:
            raise ValueError(
                f"delay_spread_s: TDL-{self.tdl_model} has a fixed delay spread of {fixed * 1e9:g} ns; leave it unset"
            )
        return self

    @property
    def delay_spread(self) -> float:
        """The profile's RMS delay spread in seconds."""
        fixed = TDL_FIXED_DELAY_SPREAD.get(self.tdl_model)
        return fixed if fixed is not None else (self.delay_spread_s or 100e-9)


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


class PilotConfig(StrictModel):
    """Pilot OFDM symbols for channel estimation (``link.estimation`` other than ``perfect``).

    Sionna's Kronecker pattern: pilots (QPSK, unit energy) on every subcarrier of the pilot OFDM
    symbols, broadcast to all users. They are added to the slot's ``grid.num_ofdm_symbols``
    data symbols, so a slot spans S + P OFDM symbols and the pilots count in the rate.
    """

    num_symbols: int = Field(2, ge=1, le=14, description="pilot OFDM symbols P per slot")
    positions: list[int] | None = Field(
        None, description="their indices among the slot's S + P OFDM symbols (default: spread evenly)"
    )
    interpolation: Literal["nn", "lin", "lin_time_avg"] = Field(
        "lin", description="LS: Sionna's interpolation from the pilots to the data (nearest, linear, linear with time averaging)"
    )
    covariance_draws: int = Field(
        512, ge=16, description="LMMSE: channel draws from the channel model for its time and frequency covariances"
    )

    @model_validator(mode="after")
    def _check_positions(self) -> "PilotConfig":
        if self.positions is not None:
            if len(self.positions) != self.num_symbols or len(set(self.positions)) != self.num_symbols:
                raise ValueError(f"positions {self.positions}: expected {self.num_symbols} distinct indices (num_symbols)")
            if min(self.positions) < 0:
                raise ValueError(f"positions {self.positions}: indices must be >= 0")
        return self

    def indices(self, data_symbols: int) -> list[int]:
        """Pilot OFDM symbol indices in a slot of ``data_symbols`` + P symbols."""
        total = data_symbols + self.num_symbols
        if self.positions is not None:
            if max(self.positions) >= total:
                raise ValueError(f"link.pilots.positions {self.positions}: the slot has {total} OFDM symbols (S + P)")
            return sorted(self.positions)
        return [int((i + 0.5) * total / self.num_symbols) for i in range(self.num_symbols)]


class LinkConfig(StrictModel):
    """One multi-user OFDMA downlink: modulation, code, grid, channel, receiver."""

    modulation: Literal["qpsk", "16qam", "64qam", "256qam"] = Field("16qam", description="Gray-mapped square QAM")
    demapping: Literal["app", "maxlog"] = Field("app", description="soft demapper: exact APP or max-log")
    equalizer: Literal["zf", "mmse"] = Field("zf", description="per-resource-element equaliser")
    code: CodeConfig = Field(CodeConfig(), description="channel code")
    grid: GridConfig = Field(GridConfig(), description="OFDMA resource grid and allocation")
    channel: Annotated[SerializeAsAny[ChannelConfig], BeforeValidator(_parse_channel)] = Field(
        AwgnChannelConfig(), description="small-scale channel: a table with `kind` and that kind's keys"
    )
    budget: LinkBudgetConfig | None = Field(None, description="path loss and link budget; None: SNR given directly")
    estimation: Literal["perfect", "ls", "lmmse"] = Field(
        "perfect", description="channel knowledge of the receivers: perfect CSI, or estimated from pilots by Sionna's "
        "LS (with link.pilots.interpolation) or LMMSE estimator",
    )  # fmt: skip
    pilots: PilotConfig = Field(PilotConfig(), description="pilot OFDM symbols (used when estimation is not perfect)")

    @model_validator(mode="after")
    def _check_codeword_fits(self) -> "LinkConfig":
        capacity = self.coded_bits_per_user
        if self.code.n > capacity:
            raise ValueError(
                f"code.n = {self.code.n} does not fit the {capacity} coded bits a user carries "
                f"per slot (grid.num_ofdm_symbols * subcarriers per user * "
                f"{BITS_PER_SYMBOL[self.modulation]} bits/symbol)"
            )
        if self.code.n % BITS_PER_SYMBOL[self.modulation]:
            raise ValueError(
                f"code.n = {self.code.n} must be a multiple of the "
                f"{BITS_PER_SYMBOL[self.modulation]} bits per {self.modulation} symbol"
            )
        if self.estimation != "perfect":
            self.pilots.indices(self.grid.num_ofdm_symbols)  # raises on positions outside the slot
            if self.channel.kind == "rayleigh_iid":
                raise ValueError(
                    "estimation: channel kind rayleigh_iid is independent on every resource element, so pilots "
                    "cannot estimate it; use perfect CSI or a correlated kind (rayleigh_block, tdl)"
                )
        return self

    @property
    def bits_per_symbol(self) -> int:
        """Bits per QAM symbol of ``modulation``."""
        return BITS_PER_SYMBOL[self.modulation]

    @property
    def coded_bits_per_user(self) -> int:
        """Coded bits one user's subcarriers carry in one slot (S * N * bits/symbol)."""
        return self.grid.num_ofdm_symbols * self.grid.n * self.bits_per_symbol

    @property
    def codewords_per_user(self) -> int:
        """Whole codewords per user and slot (C); the resource elements after them are null."""
        return self.coded_bits_per_user // self.code.n

    @property
    def data_res_per_user(self) -> int:
        """Resource elements per user and slot that carry codeword symbols: C n / bits per symbol."""
        return self.codewords_per_user * self.code.n // self.bits_per_symbol

    @property
    def padding_res_per_user(self) -> int:
        """Null resource elements per user and slot (zero energy): S N - C n / bits per symbol."""
        return self.grid.num_ofdm_symbols * self.grid.n - self.data_res_per_user

    @property
    def pilot_symbols(self) -> int:
        """Pilot OFDM symbols per slot: P, or 0 with perfect CSI."""
        return 0 if self.estimation == "perfect" else self.pilots.num_symbols

    @property
    def pilot_res_per_user(self) -> int:
        """Pilot resource elements on one user's subcarriers per slot: P N."""
        return self.pilot_symbols * self.grid.n


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
