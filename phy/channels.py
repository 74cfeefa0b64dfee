"""Small-scale fading: per-user channel frequency responses over the OFDMA grid.

One sampler class per channel ``kind``, registered with its config class
(:class:`phy.config.ChannelConfig` subclass) by :func:`register_channel`; the link
builds its sampler with :func:`make_channel_sampler`. A plugin module adds a kind
without editing gscsim::

    class EchoConfig(ChannelConfig):
        kind: Literal["echo"] = "echo"
        gain: float = 1.0

    @register_channel(EchoConfig)
    class EchoSampler(ChannelSampler):
        def __call__(self, batch_size, generator):
            return torch.full(self.shape(batch_size), self.config.gain, dtype=torch.complex64, device=self.device)

All built-in models have unit average power E|h|^2 = 1; large-scale path loss
enters through the per-user noise variance (see :mod:`phy.link_budget`).
"""

from __future__ import annotations

import torch
from sionna.phy.channel import GenerateOFDMChannel, RayleighBlockFading
from sionna.phy.channel.tr38901 import TDL
from sionna.phy.utils import complex_normal

from .config import (
    TDL_FIXED_DELAY_SPREAD,
    AwgnChannelConfig,
    ChannelConfig,
    RayleighBlockChannelConfig,
    RayleighIidChannelConfig,
    TdlChannelConfig,
    register_channel_config,
)
from .ofdma import OFDMAGrid
from .rng import WithGenerator

__all__ = ["CHANNEL_SAMPLERS", "ChannelSampler", "make_channel_sampler", "register_channel"]


class ChannelSampler:
    """Draws the channel of every user on every subcarrier of the grid.

    ``sampler(batch_size, generator)`` returns complex64 (B, K, S, L) on ``device``:
    user k's response on OFDM symbol s and subcarrier l. Draws are independent
    across batch elements and users and come from ``generator`` only.

    :param config: the kind's validated config.
    :param grid: the OFDMA grid (K, S, L and Sionna's ``ResourceGrid``).
    :param device: torch device of the draws (every Sionna block is built on it).
    """

    def __init__(self, config: ChannelConfig, grid: OFDMAGrid, device: str = "cpu"):
        self.config = config
        self.num_users = grid.num_users
        self.num_ofdm_symbols = grid.num_ofdm_symbols
        self.num_subcarriers = grid.num_subcarriers
        self.device = device

    @property
    def kind(self) -> str:
        """The channel kind (``config.kind``)."""
        return self.config.kind

    @property
    def is_flat(self) -> bool:
        """True when the response is the same on every subcarrier of a user."""
        return type(self.config).is_flat

    def shape(self, batch_size: int) -> tuple[int, int, int, int]:
        """(B, K, S, L) of one draw."""
        return (batch_size, self.num_users, self.num_ofdm_symbols, self.num_subcarriers)

    def __call__(self, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """complex64 (B, K, S, L) responses drawn from ``generator``."""
        raise NotImplementedError


#: kind -> sampler class; filled by :func:`register_channel`.
CHANNEL_SAMPLERS: dict[str, type[ChannelSampler]] = {}


def register_channel(config_cls: type[ChannelConfig]):
    """Class decorator: register a sampler class and its config class as one channel kind."""
    register_channel_config(config_cls)
    kind = config_cls.model_fields["kind"].default

    def decorate(sampler_cls: type[ChannelSampler]) -> type[ChannelSampler]:
        CHANNEL_SAMPLERS[kind] = sampler_cls
        return sampler_cls

    return decorate


def make_channel_sampler(config: ChannelConfig, grid: OFDMAGrid, device: str = "cpu") -> ChannelSampler:
    """The registered sampler of ``config.kind`` on ``device``."""
    if config.kind not in CHANNEL_SAMPLERS:
        raise ValueError(f"channel kind {config.kind!r} has no sampler (registered: {', '.join(CHANNEL_SAMPLERS)})")
    return CHANNEL_SAMPLERS[config.kind](config, grid, device)


class _SeededRayleighBlockFading(WithGenerator, RayleighBlockFading):
    pass


class _SeededTDL(WithGenerator, TDL):
    pass


@register_channel(AwgnChannelConfig)
class AwgnSampler(ChannelSampler):
    """h = 1 everywhere (a broadcast view, no copy)."""

    def __call__(self, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        return torch.ones((), dtype=torch.complex64, device=self.device).expand(self.shape(batch_size))


@register_channel(RayleighIidChannelConfig)
class RayleighIidSampler(ChannelSampler):
    """CN(0, 1) per (batch, user, subcarrier), the same on every OFDM symbol of the slot."""

    def __call__(self, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        B, K, S, L = self.shape(batch_size)
        return complex_normal((B, K, 1, L), device=self.device, generator=generator).expand(B, K, S, L)


class _SionnaOfdmSampler(ChannelSampler):
    """A Sionna channel model seen through ``GenerateOFDMChannel`` on the grid."""

    def _build(self, model: WithGenerator, grid: OFDMAGrid) -> None:
        self._model = model
        self._ofdm = GenerateOFDMChannel(model, grid.resource_grid, device=self.device)


@register_channel(RayleighBlockChannelConfig)
class RayleighBlockSampler(_SionnaOfdmSampler):
    """Sionna ``RayleighBlockFading`` with one receiver per user: one CN(0, 1) gain per (batch, user)."""

    def __init__(self, config: ChannelConfig, grid: OFDMAGrid, device: str = "cpu"):
        super().__init__(config, grid, device)
        self._build(
            _SeededRayleighBlockFading(num_rx=grid.num_users, num_rx_ant=1, num_tx=1, num_tx_ant=1, device=device),
            grid,
        )

    def __call__(self, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        self._model.generator = generator
        # [B, K, 1, 1, 1, S, L] -> (B, K, S, L)
        return self._ofdm(batch_size).reshape(self.shape(batch_size))


@register_channel(TdlChannelConfig)
class TdlSampler(_SionnaOfdmSampler):
    """Sionna's 3GPP ``TDL`` (a single link; users are folded into the batch)."""

    def __init__(self, config: TdlChannelConfig, grid: OFDMAGrid, device: str = "cpu"):
        super().__init__(config, grid, device)
        # Fixed-spread profiles (A30, ...) take no delay spread: passing one makes Sionna warn.
        spread = None if config.tdl_model in TDL_FIXED_DELAY_SPREAD else config.delay_spread
        self._build(
            _SeededTDL(
                model=config.tdl_model, delay_spread=spread, carrier_frequency=config.carrier_frequency_hz,
                min_speed=0.0, max_speed=config.max_speed_mps, device=device,
            ),
            grid,
        )  # fmt: skip

    def __call__(self, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        self._model.generator = generator
        # TDL: [B*K, 1, 1, 1, 1, S, L] -> (B, K, S, L)
        return self._ofdm(batch_size * self.num_users).reshape(self.shape(batch_size))
