"""Shared test helpers: small links on the CPU."""

from __future__ import annotations

import pytest

from phy import ChannelConfig, CodeConfig, GridConfig, LinkConfig


def make_link_config(
    modulation: str = "16qam",
    channel: str = "awgn",
    coded: bool = False,
    num_subcarriers: int = 16,
    num_users: int = 2,
    num_ofdm_symbols: int = 2,
    demapping: str = "maxlog",
    code: CodeConfig | None = None,
    **channel_kwargs,
) -> LinkConfig:
    """A small link; uncoded blocks fill each user's slot exactly.

    Max-log demapping by default: its hard decisions are those of the nearest-point
    symbol detector that the closed-form BERs assume.
    """
    grid = GridConfig(
        num_subcarriers=num_subcarriers, num_users=num_users, num_ofdm_symbols=num_ofdm_symbols
    )
    m = {"qpsk": 2, "16qam": 4, "64qam": 6}[modulation]
    capacity = num_ofdm_symbols * grid.n * m
    if code is None:
        code = CodeConfig(k=512, n=1024) if coded else CodeConfig(kind="uncoded", k=capacity, n=capacity)
    return LinkConfig(
        modulation=modulation,
        demapping=demapping,
        code=code,
        grid=grid,
        channel=ChannelConfig(kind=channel, **channel_kwargs),
    )


@pytest.fixture
def link_config():
    return make_link_config
