"""Small-scale fading: per-user channel frequency responses over the OFDMA grid.

All models have unit average power E|h|^2 = 1; large-scale path loss enters
through the per-user noise variance (see :mod:`phy.link_budget`).
"""

from __future__ import annotations

import torch
from sionna.phy.channel import GenerateOFDMChannel, RayleighBlockFading
from sionna.phy.channel.tr38901 import TDL
from sionna.phy.utils import complex_normal

from .config import ChannelConfig
from .ofdma import OFDMAGrid
from .rng import WithGenerator

__all__ = ["ChannelSampler"]


class _SeededRayleighBlockFading(WithGenerator, RayleighBlockFading):
    pass


class _SeededTDL(WithGenerator, TDL):
    pass


class ChannelSampler:
    """Draws the channel of every user on every subcarrier of the grid.

    ``sampler(batch_size, generator)`` returns complex64 (B, K, S, L): user k's
    response on OFDM symbol s and subcarrier l. Draws are independent across
    batch elements and users.
    """

    def __init__(self, config: ChannelConfig, grid: OFDMAGrid, device: str = "cpu"):
        self.config = config
        self.kind = config.kind
        self.num_users = grid.num_users
        self.num_ofdm_symbols = grid.num_ofdm_symbols
        self.num_subcarriers = grid.num_subcarriers
        self.device = device
        self._model: WithGenerator | None = None
        if config.kind == "rayleigh_block":
            # One Sionna receiver per user: one independent gain per (batch, user).
            self._model = _SeededRayleighBlockFading(
                num_rx=grid.num_users, num_rx_ant=1, num_tx=1, num_tx_ant=1, device=device
            )
        elif config.kind == "tdl":
            # Sionna's TDL is a single link; users are folded into the batch.
            self._model = _SeededTDL(
                model=config.tdl_model,
                delay_spread=config.delay_spread_s,
                carrier_frequency=config.carrier_frequency_hz,
                min_speed=0.0,
                max_speed=config.max_speed_mps,
                device=device,
            )
        self._ofdm = (
            GenerateOFDMChannel(self._model, grid.resource_grid, device=device)
            if self._model is not None
            else None
        )

    @property
    def is_flat(self) -> bool:
        """True when the response is the same on every subcarrier of a user."""
        return self.kind in ("awgn", "rayleigh_block")

    def __call__(self, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        B, K, S, L = batch_size, self.num_users, self.num_ofdm_symbols, self.num_subcarriers
        if self.kind == "awgn":
            return torch.ones((), dtype=torch.complex64, device=self.device).expand(B, K, S, L)
        if self.kind == "rayleigh_iid":
            h = complex_normal((B, K, 1, L), device=self.device, generator=generator)
            return h.expand(B, K, S, L)
        self._model.generator = generator
        if self.kind == "rayleigh_block":
            # [B, K, 1, 1, 1, S, L] -> (B, K, S, L)
            return self._ofdm(B).reshape(B, K, S, L)
        # TDL: [B*K, 1, 1, 1, 1, S, L] -> (B, K, S, L)
        return self._ofdm(B * K).reshape(B, K, S, L)
