"""gscsim radio layer: the multi-user OFDMA downlink built from Sionna blocks.

Imports neither ``semantic`` nor ``bridges``: a PHY user runs a BER sweep
without the diffusion stack.
"""

from .config import (
    ChannelConfig,
    CodeConfig,
    GridConfig,
    LinkBudgetConfig,
    LinkConfig,
    PilotConfig,
    channel_config,
)
from .link import LinkOutput, OFDMALink
from .link_budget import LinkBudget
from .rng import derive_seed, make_generator, resolve_device

__all__ = [
    "ChannelConfig",
    "CodeConfig",
    "GridConfig",
    "LinkBudget",
    "LinkBudgetConfig",
    "LinkConfig",
    "LinkOutput",
    "OFDMALink",
    "PilotConfig",
    "derive_seed",
    "make_generator",
    "channel_config",
    "resolve_device",
]
