"""M-GSC's analog hop, repetition with combining, and the offloading latency (seed 003)."""

import pytest
import torch

from bridges.jscc import SymbolLink
from bridges.split_denoising import POWER_BITS, AnalogHop, OffloadLatency, send_repeated


def test_analog_hop_noise_matches_its_reported_variance(link_config):
    link = link_config(num_users=3, num_subcarriers=96, num_ofdm_symbols=16, channel="awgn")
    hop = AnalogHop(link, 16)
    assert hop.channel_uses == 3 * 16 * 16 // 2
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 3, 3, 16, 16, generator=torch.Generator().manual_seed(1)) * 0.7
    y, noise_var = hop(x, 10.0, g)
    assert y.shape == x.shape and noise_var.shape == (40, 3)
    power = x.flatten(2).square().mean(-1)
    torch.testing.assert_close(noise_var, power * 0.1, rtol=1e-4, atol=1e-6)  # p^2 / SNR per value
    measured = (y - x).flatten(2).var(-1)
    assert measured.mean() / noise_var.mean() == pytest.approx(1.0, rel=0.03)


def test_repetition_with_combining_divides_the_noise(link_config):
    link = link_config(num_users=1, num_subcarriers=16, num_ofdm_symbols=4, channel="awgn")
    r, k = 3, 64
    symbol_link = SymbolLink(link, k * r)
    z = torch.complex(torch.randn(200, 1, k), torch.randn(200, 1, k)) / 2**0.5
    one = SymbolLink(link, k)(z, 5.0, torch.Generator().manual_seed(0))[0]
    combined = send_repeated(symbol_link, z, r, 5.0, torch.Generator().manual_seed(0))
    ratio = (one - z).abs().square().mean() / (combined - z).abs().square().mean()
    assert ratio == pytest.approx(r, rel=0.05)


def test_offload_latency_adds_edge_air_and_user_time():
    model = OffloadLatency(t_user=0.01, t_edge=0.005, symbol_rate=1e6, bits_per_symbol=2.0)
    air = (1536 + (2 * 20 + POWER_BITS) / 2) / 1e6
    assert model.air_time(1536, 2) == pytest.approx(air)
    assert model(65, 35, 1536, 2) == pytest.approx(65 * 0.005 + air + 35 * 0.01)
    assert model(0, 100, 1536, 2) == pytest.approx(100 * 0.01 + 40 / 2 / 1e6)  # nothing analog is sent
    # more steps at the faster edge: shorter latency (the paper's 650 vs 350)
    assert model(65, 35, 1536, 2) < model(35, 65, 1536, 2)


def test_analog_hop_over_block_fading_reports_each_images_noise(link_config):
    link = link_config(num_users=3, num_subcarriers=96, num_ofdm_symbols=16, channel="rayleigh_block")
    hop = AnalogHop(link, 16)
    x = torch.randn(200, 3, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    y, noise_var = hop(x, 10.0, torch.Generator().manual_seed(0))
    assert noise_var.std() > 0.1 * noise_var.mean()  # each user's fade sets its own noise after equalisation
    measured = (y - x).flatten(2).var(-1)
    # zero-forcing: per-value noise p^2 no / |h|^2, averaged over the image's resource elements
    assert (measured / noise_var).median() == pytest.approx(1.0, rel=0.1)
