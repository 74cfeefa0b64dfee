"""Learned-symbol link (with and without pilots) and the JPEG separation chain."""


import pytest
import torch

from bridges.framing import IMAGE_FRAME
from bridges.jscc import SymbolLink, replay
from bridges.separation import SeparationLink, mcs_link
from bridges.streams import MCS_TABLE, choose_mcs
from phy import CodeConfig, GridConfig, LinkConfig, channel_config, make_generator
from semantic.codecs import jpeg
from semantic.jscc import PILOT


def link(channel="awgn", K=2, S=16, **kw):
    return LinkConfig(
        grid=GridConfig(num_users=K, num_ofdm_symbols=S), channel=channel_config(channel, **kw),
        code=CodeConfig(k=512, n=1024),
    )  # fmt: skip


def symbols(B, K, k, seed=0):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(B, K, k, dtype=torch.complex64, generator=g)
    return z / z.abs().square().mean(-1, keepdim=True).sqrt()


@pytest.mark.parametrize("pilots", [0, 1, 2])
def test_symbol_link_shapes_and_high_snr(pilots):
    sl = SymbolLink(link("tdl", delay_spread_s=300e-9), 512, pilot_symbols=pilots)
    assert sl.subcarriers == 32 and sl.channel_uses == (16 + pilots) * 32
    z = symbols(3, 2, 512)
    z_hat, no_eff, _ = sl(z, 60.0, make_generator(0))
    assert z_hat.shape == z.shape == no_eff.shape
    torch.testing.assert_close(z_hat, z, rtol=0, atol=0.02)


def test_pilot_estimate_costs_about_3_db_at_one_pilot():
    # LS from one pilot doubles the noise of the estimate's inverse, roughly: the
    # error of the pilot-equalised symbols is larger than with perfect CSI.
    base = link("rayleigh_iid")
    z = symbols(200, 2, 512)
    perfect = SymbolLink(base, 512)(z, 10.0, make_generator(1))[0]
    piloted = SymbolLink(base, 512, pilot_symbols=1)(z, 10.0, make_generator(1))[0]
    mse = lambda a: (a - z).abs().square().median().item()
    assert 1.5 < mse(piloted) / mse(perfect) < 3.5


def test_symbol_link_is_differentiable():
    sl = SymbolLink(link("rayleigh_block", K=1), 256)
    z = symbols(4, 1, 256).requires_grad_(True)
    z_hat, _, _ = sl(z, 10.0, make_generator(2))
    z_hat.abs().square().sum().backward()
    assert z.grad is not None and torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0


def test_symbol_link_under_estimated_csi_pays_pilots_and_error():
    """link.estimation: the symbols are equalised with the link's estimate (worse than perfect CSI,
    LS worse than LMMSE), its pilot symbols count in the channel uses, gradients still flow."""
    z = symbols(64, 2, 512)
    mse = {}
    for estimation in ("perfect", "lmmse", "ls"):
        config = link("tdl", delay_spread_s=300e-9, max_speed_mps=30.0).model_copy(update={"estimation": estimation})
        sl = SymbolLink(config, 512)
        assert sl.channel_uses == 16 * 32 + (0 if estimation == "perfect" else 2 * 32)
        z_hat, no_eff, rx = sl(z, 10.0, make_generator(3))
        assert (rx.channel_estimate is None) == (estimation == "perfect")
        mse[estimation] = (z_hat - z).abs().square().median().item()
    assert mse["perfect"] < mse["lmmse"] < mse["ls"]
    z = z[:2].clone().requires_grad_(True)
    sl(z, 10.0, make_generator(4))[0].abs().square().sum().backward()
    assert torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0


def test_symbol_link_refuses_two_pilot_schemes():
    config = link("tdl", delay_spread_s=300e-9).model_copy(update={"estimation": "ls"})
    with pytest.raises(ValueError, match="link.estimation = 'ls': this model estimates the channel from its own 1 pilot"):
        SymbolLink(config, 512, pilot_symbols=1)


def test_symbol_link_grid_must_divide():
    with pytest.raises(ValueError, match="num_ofdm_symbols = 16 must divide the 100"):
        SymbolLink(link(), 100)


def test_separation_accounting_and_delivery():
    images = torch.nn.functional.avg_pool2d(torch.rand(2, 2, 3, 32, 32).flatten(0, 1), 3, 1, 1)
    images = (images * 2 - 1).reshape(2, 2, 3, 32, 32)
    sl = SeparationLink(link(), 512)  # 512 uses x 4 bits = 2 codewords of 512 info bits
    assert sl.block_bits == 1024 and sl.payload_bytes == (1024 - 24 - IMAGE_FRAME.header_bits) // 8
    result = sl(images, 30.0, make_generator(3))
    assert result.delivered.all() and result.fits.all()
    for b in range(2):
        for k in range(2):
            q = int(result.quality[b, k])
            data = jpeg.payload(images[b, k], q)
            assert len(data) <= sl.payload_bytes < len(jpeg.payload(images[b, k], q + 1)) or q == 95
            assert int(result.source_bits[b, k]) == IMAGE_FRAME.header_bits + 8 * len(data)
            assert torch.equal(result.images[b, k], jpeg.decode(data, q, 32, 32))
    lost = sl(images, -5.0, make_generator(4))
    assert not lost.delivered.any() and torch.equal(lost.images, torch.zeros_like(images))


def test_separation_with_no_room_loses_the_image():
    tiny = LinkConfig(
        modulation="qpsk", grid=GridConfig(num_users=1, num_ofdm_symbols=4),
        code=CodeConfig(k=96, n=128), channel=channel_config("awgn"),
    )  # fmt: skip
    sl = SeparationLink(tiny, 64)  # 64 uses x 2 bits = 1 codeword of 96 bits: 6 payload bytes
    result = sl(torch.zeros(1, 1, 3, 32, 32).uniform_(-1, 1), 30.0, make_generator(0))
    assert not result.fits.any() and not result.delivered.any() and int(result.quality) == 0
    with pytest.raises(ValueError, match="link.code"):
        SeparationLink(tiny.model_copy(update={"code": CodeConfig(k=40, n=64)}), 32)


def test_raw_grid_holds_the_channel_on_the_pilots():
    sl = SymbolLink(link("tdl", delay_spread_s=300e-9), 512, pilot_symbols=1)
    z = symbols(3, 2, 512)
    grid = sl.raw(z, 60.0, make_generator(3))
    assert grid.y.shape == (3, 2, 16, 32) and grid.pilots.shape == (3, 2, 1, 32) and grid.no.shape == (3, 2)
    h = grid.pilots[:, :, 0] / PILOT  # (B, K, N) least squares
    torch.testing.assert_close(grid.y[:, :, 0] / h, z.reshape(3, 2, 16, 32)[:, :, 0], rtol=0, atol=0.05)


def test_replay_reuses_the_channel_and_noise_of_a_reception():
    sl = SymbolLink(link("rayleigh_iid"), 512)
    z = symbols(4, 2, 512)
    _, _, rx = sl(z, 5.0, make_generator(4))
    same = replay(rx, rx.symbols, 1, make_generator(5))
    torch.testing.assert_close(same.y, rx.y, rtol=0, atol=1e-6)  # the very reception
    other = symbols(4, 2, 512, seed=7).reshape(rx.symbols.shape)
    got = replay(rx, other, 2, make_generator(5))
    torch.testing.assert_close(got.y - rx.channel * other, rx.y - rx.channel * rx.symbols, rtol=0, atol=1e-6)
    pilot_noise = got.pilots - rx.channel[:, :, :1] * PILOT  # the first symbol's channel, fresh noise
    assert pilot_noise.shape == (4, 2, 2, 32)
    assert abs(pilot_noise.abs().square().mean().item() / 10 ** -0.5 - 1) < 0.15
    with pytest.raises(ValueError, match="the reception carried"):
        replay(rx, other[..., :8], 1, make_generator(5))


def test_mcs_adaptation_and_its_link():
    assert [MCS_TABLE[i].name for i in choose_mcs([-10.0, 0.0, 20.0])] == ["qpsk-312/1536", "qpsk-384/1536", "64qam-1280/1536"]
    config = mcs_link(link(), 256, MCS_TABLE[5])  # 16-QAM 1/2 on 256 resource elements
    assert config.modulation == "16qam" and (config.code.k, config.code.n) == (512, 1024)
    assert config.grid.n == 16  # 256 / 16 OFDM symbols, whatever the scenario's grid had
    big = mcs_link(link(), 2048, MCS_TABLE[-1])  # 256-QAM 7/8 on 2048 REs: 14336 bits, two codewords
    assert (big.code.k, big.code.n) == (7168, 8192) and big.grid.n == 128
    with pytest.raises(ValueError, match="must divide the 100 channel uses"):
        mcs_link(link(), 100, MCS_TABLE[0])
    assert SeparationLink(config, 256).payload_bytes > 0
