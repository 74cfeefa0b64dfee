"""Per-subcarrier equalisers against Sionna's MIMO equalisers on 1x1 channels."""

import pytest
import torch
from sionna.phy.mimo import lmmse_equalizer, zf_equalizer

from phy.equalization import equalize


@pytest.fixture
def draws():
    g = torch.Generator().manual_seed(0)
    h = torch.randn(500, dtype=torch.complex64, generator=g)
    y = torch.randn(500, dtype=torch.complex64, generator=g)
    no = torch.rand(500, generator=g) + 0.05
    return y, h, no


def test_zf_matches_sionna(draws):
    y, h, no = draws
    x_ref, no_ref = zf_equalizer(y[:, None], h[:, None, None], no[:, None, None].to(torch.complex64))
    x_hat, no_eff = equalize(y, h, no, "zf")
    torch.testing.assert_close(x_hat, x_ref[:, 0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(no_eff, no_ref[:, 0], rtol=1e-5, atol=1e-6)


def test_mmse_matches_sionna_lmmse(draws):
    y, h, no = draws
    s = no[:, None, None].to(torch.complex64)
    x_ref, no_ref = lmmse_equalizer(y[:, None], h[:, None, None], s, whiten_interference=False)
    x_hat, no_eff = equalize(y, h, no, "mmse")
    torch.testing.assert_close(x_hat, x_ref[:, 0], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(no_eff, no_ref[:, 0], rtol=1e-4, atol=1e-5)


def test_mmse_survives_a_vanishing_channel():
    y = torch.tensor([1 + 1j, 0.5j], dtype=torch.complex64)
    h = torch.tensor([0, 1], dtype=torch.complex64)
    x_hat, no_eff = equalize(y, h, 0.1, "mmse")
    assert x_hat[0] == 0 and torch.isinf(no_eff[0])
    assert torch.isfinite(x_hat).all()


def test_unknown_method():
    with pytest.raises(ValueError, match="equalizer"):
        equalize(torch.ones(1, dtype=torch.complex64), torch.ones(1, dtype=torch.complex64), 1.0, "mrc")
