"""Link budget against a hand calculation, and the SNR the link then delivers."""

import math

import pytest
import torch

from phy import LinkBudget, LinkBudgetConfig, OFDMALink, make_generator

from ..conftest import make_link_config


def test_snr_matches_hand_calculation_in_db():
    budget = LinkBudget()  # Table II: 100 mW, eps0 = -30 dB, phi = 3.4, N0 = -174 dBm/Hz, 1 MHz
    # noise: -174 dBm/Hz + 60 dB = -114 dBm; path loss at 150 m: 30 + 34 log10(150) = 103.987 dB
    assert budget.noise_power_dbm == pytest.approx(-114.0)
    assert float(budget.snr_db(150.0)) == pytest.approx(20 - 103.98710 + 114, abs=1e-4)
    assert float(budget.snr_db(550.0)) == pytest.approx(20 - 30 - 93.17233 + 114, abs=1e-4)


def test_snr_matches_hand_calculation_in_linear_units():
    cfg = LinkBudgetConfig(tx_power_dbm=10.0, path_loss_exponent=2.0, bandwidth_hz=20e6)
    p_t = 10e-3  # W
    gain = 1e-3 * 300.0**-2.0
    noise = 10 ** (-174 / 10) * 1e-3 * 20e6  # W
    expected = 10 * math.log10(p_t * gain / noise)
    assert float(LinkBudget(cfg).snr_db(300.0)) == pytest.approx(expected, abs=1e-9)


def test_distances_are_uniform_in_range():
    budget = LinkBudget()
    d = budget.sample_distances((20000,), make_generator(0))
    assert float(d.min()) >= 150 and float(d.max()) <= 550
    assert float(d.mean()) == pytest.approx(350, abs=3)


def test_distance_below_reference_is_refused():
    with pytest.raises(ValueError, match="distance_m"):
        LinkBudget().snr_db(0.5)


def test_link_delivers_the_budgeted_snr_per_user():
    # Two users at 150 m and 550 m: the noise each sees on its subcarriers
    # (AWGN, h = 1) has the variance the budget predicts.
    budget = LinkBudget()
    snr = budget.snr_db(torch.tensor([[150.0, 550.0]])).float()
    link = OFDMALink(make_link_config("qpsk", "awgn", num_subcarriers=256, num_ofdm_symbols=14))
    bits = link.random_bits(20, make_generator(1))
    out = link(bits, snr.expand(20, 2), make_generator(2))
    noise = (out.x_hat - out.symbols).abs().square().mean(dim=(0, 2, 3))
    expected = 10 ** (-snr[0] / 10)
    torch.testing.assert_close(noise, expected, rtol=0.03, atol=0.0)
