"""Channel models: unit power, the right structure in time and frequency, seeding."""

import pytest
import torch

from phy import GridConfig, channel_config
from phy.channels import make_channel_sampler
from phy.ofdma import OFDMAGrid
from phy.rng import make_generator

GRID = GridConfig(num_subcarriers=64, num_users=4, num_ofdm_symbols=4)


def sampler(kind, **kw):
    return make_channel_sampler(channel_config(kind, **kw), OFDMAGrid(GRID))


@pytest.mark.parametrize("kind", ["awgn", "rayleigh_block", "rayleigh_iid", "tdl"])
def test_unit_average_power_and_shape(kind):
    h = sampler(kind)(2000, make_generator(0))
    assert h.shape == (2000, 4, 4, 64) and h.dtype == torch.complex64
    power = h.abs().square().mean().item()
    assert power == pytest.approx(1.0, abs=0.03)


def test_rayleigh_block_is_flat_per_user_and_independent_across_users():
    h = sampler("rayleigh_block")(4000, make_generator(1))
    assert torch.allclose(h, h[..., :1, :1].expand_as(h), atol=1e-5)
    g = h[:, :, 0, 0]
    corr = (g[:, 0] * g[:, 1].conj()).mean().abs().item()
    assert corr < 0.05
    # |h|^2 ~ Exp(1): P(|h|^2 < 0.1) = 1 - exp(-0.1)
    assert (g.abs().square() < 0.1).float().mean().item() == pytest.approx(0.0952, abs=0.01)


def test_rayleigh_iid_varies_across_subcarriers_not_symbols():
    h = sampler("rayleigh_iid")(2000, make_generator(2))
    assert torch.equal(h[:, :, 0], h[:, :, 3])
    adjacent = (h[..., 1:] * h[..., :-1].conj()).mean().abs().item()
    assert adjacent < 0.02


@pytest.mark.parametrize("delay_spread", [30e-9, 300e-9])
def test_tdl_frequency_correlation_follows_the_power_delay_profile(delay_spread):
    # E[h(f) h*(f + df)] = sum_i P_i exp(j 2 pi df tau_i) for a wide-sense stationary
    # uncorrelated-scattering channel; compare at 1, 4 and 16 subcarriers apart.
    s = sampler("tdl", tdl_model="A", delay_spread_s=delay_spread)
    h = s(4000, make_generator(3))
    powers = s._model.mean_powers.double()
    delays = s._model.delays.double()
    for gap in (1, 4, 16):
        measured = (h[..., :-gap].conj() * h[..., gap:]).mean().item()
        df = gap * GRID.subcarrier_spacing_hz
        expected = (powers * torch.exp(-2j * torch.pi * df * delays)).sum().item()
        assert abs(measured - expected) < 0.05, (gap, measured, expected)


@pytest.mark.parametrize("kind", ["rayleigh_block", "rayleigh_iid", "tdl"])
def test_same_seed_same_draw(kind):
    s = sampler(kind)
    a, b = s(8, make_generator(5)), s(8, make_generator(5))
    c = s(8, make_generator(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
