"""The assembled link: shapes, seeding, devices, input checks."""

import math

import pytest
import torch

from phy import CodeConfig, OFDMALink, make_generator
from phy.rng import derive_seed, resolve_device

from ..conftest import make_link_config


def test_shapes_and_padding():
    # 16-QAM, 8 symbols x 32 subcarriers = 1024 coded bits per user -> one (1024, 512) codeword
    link = OFDMALink(make_link_config("16qam", "awgn", coded=True, num_subcarriers=64, num_ofdm_symbols=8))
    bits = link.random_bits(3, make_generator(0))
    assert bits.shape == (3, 2, 1, 512) and bits.dtype == torch.float32
    out = link(bits, 20.0, make_generator(1))
    assert out.bits_hat.shape == bits.shape
    assert out.symbols.shape == out.x_hat.shape == out.channel.shape == (3, 2, 8, 32)
    assert torch.equal(out.bits_hat, bits)
    # Padding: 64-QAM carries 1536 coded bits per user, one (1020, 510) codeword on 170 of
    # the 256 resource elements; the other 86 are null (no energy) and Eb/N0 counts only the 170.
    code = CodeConfig(k=510, n=1020)
    padded = OFDMALink(make_link_config("64qam", "awgn", num_subcarriers=64, num_ofdm_symbols=8, code=code))
    assert padded.codewords_per_user == 1
    assert (padded.data_res_per_user, padded.padding_res_per_user) == (170, 86)
    assert padded.info_bits_per_re == pytest.approx(510 * 6 / 1020)
    assert padded.snr_db_from_ebno_db(0.0) == pytest.approx(10 * math.log10(3.0))
    bits = padded.random_bits(2, make_generator(0))
    out = padded(bits, 30.0, make_generator(1))
    assert torch.equal(out.bits_hat, bits)
    assert torch.all(out.symbols.reshape(2, 2, -1)[..., 170:] == 0)


def test_default_link_has_no_padding():
    from phy import LinkConfig

    assert LinkConfig().padding_res_per_user == 0


@pytest.mark.slow
def test_coded_ber_at_an_ebno_does_not_depend_on_the_grid_size():
    """One (1024, 512) codeword per user on 256 REs, or the same codeword on 448 REs (43% null
    padding): at the same Eb/N0 the BER agrees within Monte-Carlo error."""
    from phy.ber import simulate_link

    code = CodeConfig(k=512, n=1024)
    exact = OFDMALink(make_link_config("16qam", "awgn", num_subcarriers=64, num_ofdm_symbols=8, code=code))
    padded = OFDMALink(make_link_config("16qam", "awgn", num_subcarriers=64, num_ofdm_symbols=14, code=code))
    assert exact.padding_res_per_user == 0 and padded.padding_res_per_user == 192
    rates = []
    for link in (exact, padded):
        r = simulate_link(link, link.snr_db_from_ebno_db(2.0), make_generator(3), 64, 8)
        rates.append(r.bits)
    (a, b) = rates
    lo_a, hi_a = a.interval(0.99)
    lo_b, hi_b = b.interval(0.99)
    assert a.errors > 100 and b.errors > 100
    assert lo_a <= hi_b and lo_b <= hi_a, (a.rate, b.rate)


@pytest.mark.parametrize("channel", ["awgn", "rayleigh_block", "rayleigh_iid", "tdl"])
def test_same_seed_same_numbers_and_global_rng_is_irrelevant(channel):
    link = OFDMALink(make_link_config("16qam", channel))
    torch.manual_seed(123)
    a = link(link.random_bits(4, make_generator(5)), 3.0, make_generator(6))
    torch.manual_seed(999)
    b = link(link.random_bits(4, make_generator(5)), 3.0, make_generator(6))
    c = link(link.random_bits(4, make_generator(5)), 3.0, make_generator(7))
    assert torch.equal(a.x_hat, b.x_hat) and torch.equal(a.bits_hat, b.bits_hat)
    assert not torch.equal(a.x_hat, c.x_hat)


def test_derived_seeds_are_stable_and_distinct():
    assert derive_seed(1, "ebno_db", 2.0) == derive_seed(1, "ebno_db", 2.0)
    assert len({derive_seed(s, "ebno_db", v) for s in range(5) for v in (0.0, 1.0, 2.0)}) == 15
    assert 0 <= derive_seed(2**40, "x") < 2**63


def test_wrong_bit_shape_is_refused():
    link = OFDMALink(make_link_config("qpsk", "awgn"))
    with pytest.raises(ValueError, match="bits has shape"):
        link(torch.zeros(2, 3, 1, 8), 10.0, make_generator(0))


def test_device_resolution():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in ("cpu", "cuda:0")
    with pytest.raises(ValueError, match="device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


@pytest.mark.cuda
def test_runs_on_cuda_and_matches_cpu_statistics():
    from phy.ber import simulate_link

    cfg = make_link_config("16qam", "rayleigh_block", num_subcarriers=8, num_ofdm_symbols=1)
    cpu = simulate_link(OFDMALink(cfg), 10.0, make_generator(1), 20000, 2)
    gpu_link = OFDMALink(cfg, device="cuda:0")
    gpu = simulate_link(gpu_link, 10.0, make_generator(1, "cuda:0"), 20000, 2)
    lo, hi = cpu.bits.interval(0.999)
    assert lo <= gpu.ber <= hi


def _reference_chain_matches_the_link(device: str) -> None:
    """With h = 1 and one codeword per user, gscsim's OFDMA assembly must reproduce a
    plain Sionna chain bit for bit (same seed: Sionna seeds its CPU generator with it).
    Every block and tensor names ``device``: Sionna's default device may be another."""
    from sionna.phy import config
    from sionna.phy.channel import AWGN
    from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder
    from sionna.phy.mapping import BinarySource, Demapper, Mapper
    from sionna.phy.utils import ebnodb2no

    link = OFDMALink(
        make_link_config("16qam", "awgn", coded=True, num_subcarriers=64, num_ofdm_symbols=8, demapping="app"),
        device=device,
    )
    B, K = 6, 2
    generator = make_generator(11, device)
    bits = link.random_bits(B, generator)
    out = link(bits, link.snr_db_from_ebno_db(2.5), generator)

    config.seed = 11
    encoder = LDPC5GEncoder(512, 1024, num_bits_per_symbol=4, device=device)
    decoder = LDPC5GDecoder(encoder, num_iter=20, hard_out=True, device=device)
    ref_bits = BinarySource(device=device)([B * K, 512])
    no = ebnodb2no(2.5, 4, 0.5, device=device)
    y = AWGN(device=device)(Mapper("qam", 4, device=device)(encoder(ref_bits)), no)
    ref_hat = decoder(Demapper("app", "qam", 4, device=device)(y, no))

    assert torch.equal(bits.reshape(B * K, 512), ref_bits)
    torch.testing.assert_close(out.x_hat.reshape(B * K, -1), y, rtol=0, atol=1e-5)
    assert torch.equal(out.bits_hat.reshape(B * K, 512), ref_hat)
    assert 0 < (ref_hat != ref_bits).float().mean() < 0.2  # a point with real decoding work


def test_awgn_link_is_exactly_the_chain_written_with_sionna_blocks():
    _reference_chain_matches_the_link("cpu")


@pytest.mark.cuda
def test_awgn_link_is_exactly_the_chain_written_with_sionna_blocks_on_cuda():
    _reference_chain_matches_the_link("cuda:0")


def test_sionna_default_device_does_not_leak_into_the_link(monkeypatch):
    """On a GPU machine Sionna's default device is cuda:0 while a run may ask for the CPU.
    Setting Sionna's default to the meta device (no data) proves without a GPU that no block
    or tensor of the link, the bridges or this test falls back to Sionna's default."""
    from sionna.phy import config

    from bridges.transmit import BridgeConfig, ImageLink

    monkeypatch.setattr(config, "_device", "meta")
    _reference_chain_matches_the_link("cpu")
    for channel in ("awgn", "rayleigh_block", "rayleigh_iid", "tdl"):
        link = OFDMALink(make_link_config("16qam", channel, coded=True, num_subcarriers=64, num_ofdm_symbols=8))
        bits = link.random_bits(2, make_generator(0))
        assert link(bits, 5.0, make_generator(1)).bits_hat.device.type == "cpu"
    image_link = ImageLink(make_link_config("16qam", "rayleigh_iid"), BridgeConfig(nm_ratio=0.5), (3, 8, 8))
    rx = image_link(torch.zeros(1, 2, 3, 8, 8), 10.0, make_generator(2))
    assert rx.y.device.type == "cpu"
