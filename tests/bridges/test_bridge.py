"""The image <-> link bridge: exact round trips, the measurement operator, noise levels,
user isolation, and properties over shapes (hypothesis)."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from bridges.digital import bits_to_levels, dequantize, levels_to_bits, quantize
from bridges.operator import MeasurementOperator
from bridges.signal import SignalLayout, sent_entries
from bridges.transmit import BridgeConfig, ImageLink
from phy import CodeConfig, GridConfig, LinkConfig, channel_config, make_generator


def random_images(B, K, shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(B, K, *shape, generator=g) * 2 - 1


def link_config(K=2, S=4, channel="awgn", modulation="16qam", code=None, allocation="contiguous"):
    return LinkConfig(
        modulation=modulation,
        grid=GridConfig(num_users=K, num_ofdm_symbols=S, num_subcarriers=64, allocation=allocation),
        channel=channel_config(channel),
        code=code or CodeConfig(kind="uncoded", k=128, n=128),
    )


@settings(max_examples=50, deadline=None)
@given(
    B=st.integers(0, 3), K=st.integers(1, 3), C=st.integers(1, 3), H=st.integers(1, 9), W=st.integers(1, 9),
    S=st.integers(1, 5), seed=st.one_of(st.none(), st.integers(0, 100)), normalize=st.booleans(),
)  # fmt: skip
def test_image_signal_round_trip_is_exact(B, K, C, H, W, S, seed, normalize):
    layout = SignalLayout((C, H, W), S, seed)
    x = random_images(B, K, (C, H, W))
    signal, scale = layout.to_signal(x, normalize=normalize)
    assert signal.shape == (B, K, S, layout.entries_per_symbol) and signal.dtype == torch.complex64
    assert layout.entries_per_symbol * S >= layout.num_complex >= C * H * W / 2
    torch.testing.assert_close(layout.to_images(signal, scale), x, rtol=0, atol=1e-6)
    if normalize and B:
        power = signal.abs().square().sum((-1, -2)) / layout.num_complex
        torch.testing.assert_close(power, torch.ones_like(power), rtol=1e-5, atol=1e-5)


def test_interleaver_scatters_missing_entries():
    layout = SignalLayout((1, 16, 16), 8, None)
    shuffled = SignalLayout((1, 16, 16), 8, 3)
    mask = torch.zeros(8, layout.entries_per_symbol, dtype=torch.bool)
    mask[:, : layout.entries_per_symbol // 2] = True  # the first half of every symbol
    plain = layout.entry_mask_to_image(mask)[0]
    scattered = shuffled.entry_mask_to_image(mask)[0]
    assert plain.float().mean() == scattered.float().mean() == 0.5
    # Without the interleaver the missing pixels form stripes (whole columns here);
    # with it, no row or column is entirely missing.
    assert (~plain).all(dim=0).sum() >= 4
    assert (~scattered).all(dim=0).sum() == 0 and (~scattered).all(dim=1).sum() == 0


@settings(max_examples=40, deadline=None)
@given(M=st.integers(1, 40), frac=st.floats(0.01, 1.0), pattern=st.sampled_from(["contiguous", "interleaved"]))
def test_sent_entries(M, frac, pattern):
    N = max(1, round(frac * M))
    idx = sent_entries(M, N, pattern)
    assert idx.shape == (N,) and idx.unique().numel() == N and int(idx.min()) >= 0 and int(idx.max()) < M
    with pytest.raises(ValueError, match="N = "):
        sent_entries(M, M + 1, pattern)


@settings(max_examples=40, deadline=None)
@given(bits=st.integers(1, 8), n=st.integers(0, 50), seed=st.integers(0, 1000))
def test_pixels_bits_pixels_is_exact(bits, n, seed):
    g = torch.Generator().manual_seed(seed)
    values = torch.rand(2, n, generator=g) * 2 - 1
    levels = quantize(values, bits)
    stream = levels_to_bits(levels, bits)
    assert stream.shape == (2, n * bits) and set(stream.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(bits_to_levels(stream, bits), levels)
    step = 2 / (2**bits - 1)
    assert torch.all((dequantize(levels, bits) - values).abs() <= step / 2 + 1e-6)
    assert torch.equal(quantize(dequantize(levels, bits), bits), levels)


@settings(max_examples=40, deadline=None)
@given(
    B=st.integers(1, 3), K=st.integers(1, 3), H=st.integers(1, 8), S=st.integers(1, 4),
    frac=st.floats(0.05, 1.0), seed=st.integers(0, 50), channel_gain=st.booleans(),
)  # fmt: skip
def test_operator_identities(B, K, H, S, frac, seed, channel_gain):
    layout = SignalLayout((3, H, H + 1), S, seed)
    M = layout.entries_per_symbol
    g = torch.Generator().manual_seed(seed)
    d = torch.zeros(B, K, S, M, dtype=torch.complex64)
    sent = sent_entries(M, max(1, round(frac * M)))
    d[..., sent] = torch.randn(B, K, S, len(sent), dtype=torch.complex64, generator=g) if channel_gain else 1
    scale = torch.rand(B, K, generator=g) + 0.5
    A = MeasurementOperator(layout, scale, d)
    x = random_images(B, K, (3, H, H + 1), seed)
    y = A.A(random_images(B, K, (3, H, H + 1), seed + 1))  # any y in the range of A
    torch.testing.assert_close(A.A(A.A_pinv(y)), y, rtol=1e-4, atol=1e-4)
    projected = A.A_pinv(A.A(x))
    mask = A.pixel_mask
    torch.testing.assert_close(projected, torch.where(mask, x, torch.zeros_like(x)), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(A.project(projected), projected, rtol=1e-4, atol=1e-5)  # idempotent
    expected_fraction = min(1.0, 2 * S * len(sent) / (3 * H * (H + 1)))
    assert mask.float().mean().item() <= expected_fraction + 1e-6


@pytest.mark.parametrize("path", ["analog", "digital"])
def test_full_subcarriers_at_high_snr_return_the_image(path):
    code = CodeConfig(k=256, n=512) if path == "digital" else None
    il = ImageLink(link_config(code=code), BridgeConfig(path=path, nm_ratio=1.0), (3, 16, 16))
    x = quantize(random_images(2, 2, (3, 16, 16)), 8)
    x = dequantize(x, 8)
    rx = il(x, 60.0, make_generator(0))
    assert rx.pixel_mask.all()
    if path == "analog":
        torch.testing.assert_close(rx.unrestored(), x, rtol=0, atol=5e-3)
    else:
        assert torch.equal(rx.unrestored(), x) and int(rx.bit_errors.sum()) == 0
        assert rx.slots == math.ceil(3 * 16 * 16 * 8 / (il.link.codewords_per_user * 256))


@pytest.mark.parametrize("channel", ["awgn", "rayleigh_iid"])
def test_noise_on_received_entries_matches_the_snr(channel):
    il = ImageLink(link_config(K=2, S=8, channel=channel), BridgeConfig(nm_ratio=0.5), (3, 32, 32))
    x = random_images(16, 2, (3, 32, 32), seed=1)
    snr_db = 10.0
    rx = il(x, snr_db, make_generator(2))
    link_rx = rx.reception
    # Equalised noise x_hat - x, whitened by the channel, must be CN(0, no) with no = 10^(-SNR/10).
    white = (link_rx.x_hat - link_rx.symbols) * link_rx.channel
    measured = white.abs().square().mean().item()
    n = white.numel()
    no = 10 ** (-snr_db / 10)
    assert abs(measured / no - 1) < 4 / math.sqrt(n)  # ~4 standard errors of a chi-square mean
    # And the per-pixel noise level the receiver is told matches the error it sees.
    err = (rx.operator.A_pinv(rx.y) - x)[rx.pixel_mask]
    told = rx.noise_std[rx.pixel_mask]
    ratio = (err / told).square().mean().item()
    assert abs(ratio - 1) < 0.05


def test_users_never_receive_each_others_entries():
    il = ImageLink(link_config(K=3, channel="rayleigh_iid"), BridgeConfig(nm_ratio=0.7), (3, 8, 8))
    x = random_images(4, 3, (3, 8, 8))
    other = x.clone()
    other[:, 1] = random_images(4, 1, (3, 8, 8), seed=9)[:, 0]
    a = il(x, 15.0, make_generator(5))
    b = il(other, 15.0, make_generator(5))
    # Power normalisation is per image, so users 0 and 2 are bit-for-bit unaffected.
    assert torch.equal(a.y[:, [0, 2]], b.y[:, [0, 2]])
    assert not torch.equal(a.y[:, 1], b.y[:, 1])


def test_sigma_r_values():
    il = ImageLink(link_config(K=1, S=8), BridgeConfig(nm_ratio=0.8), (3, 16, 16))
    x = random_images(8, 1, (3, 16, 16))
    lo = il(x, 20.0, make_generator(0))
    hi = il(x, 0.0, make_generator(0))
    assert torch.all(hi.sigma_r > 5 * lo.sigma_r)


@pytest.mark.parametrize("channel,allocation", [("awgn", "contiguous"), ("rayleigh_iid", "greedy"), ("rayleigh_block", "contiguous")])
@pytest.mark.parametrize("snr_db", [-10.0, 0.0, 10.0, 20.0])
def test_the_eq30_estimate_matches_the_measured_error(channel, allocation, snr_db):
    """Eq. (30), re-derived in the link's units, within 20% of each user's measured error RMS
    (the range form was 5x to 51x off)."""
    il = ImageLink(link_config(K=2, S=8, channel=channel, allocation=allocation), BridgeConfig(nm_ratio=0.7), (3, 16, 16))
    x = 0.5 * random_images(6, 2, (3, 16, 16), seed=3) + 0.3  # not zero-mean, like photographs
    rx = il(x, snr_db, make_generator(11))
    error = (rx.operator.A_pinv(rx.y) - x).square() * rx.pixel_mask
    measured = (error.sum((-3, -2, -1)) / rx.pixel_mask.sum((-3, -2, -1))).sqrt()
    ratio = rx.sigma_r_estimate / measured
    assert ratio.min() > 0.8 and ratio.max() < 1.2, ratio


def test_gain_allocation_and_nm_ratio_set_the_grid():
    il = ImageLink(link_config(K=2, S=8, channel="rayleigh_iid", allocation="greedy"), BridgeConfig(nm_ratio=0.6), (3, 16, 16))
    assert il.entries_per_symbol == 48 and il.subcarriers_per_user == 29
    assert il.link_config.grid.num_subcarriers == 58
    rx = il(random_images(3, 2, (3, 16, 16)), 10.0, make_generator(0))
    assert rx.reception.assignment.shape == (3, 2, 29)
    assert rx.pixel_mask.float().mean().item() == pytest.approx(29 / 48, abs=0.01)


def test_impossible_combinations_name_the_key():
    with pytest.raises(ValueError, match="link.grid.subcarriers_per_user: N = 32 exceeds the M = 24"):
        ImageLink(link_config(S=4), BridgeConfig(), (3, 8, 8))  # N = L / K = 64 / 2 > M = 96 / 4
    coded = link_config(S=8, code=CodeConfig(k=512, n=1024))
    with pytest.raises(ValueError, match="link: code.n = 1024 does not fit the 160 coded bits"):
        ImageLink(coded, BridgeConfig(path="digital", nm_ratio=0.1), (3, 16, 16))  # N = 5 of M = 48


def test_bad_image_shapes():
    il = ImageLink(link_config(), BridgeConfig(nm_ratio=0.5), (3, 8, 8))
    with pytest.raises(ValueError, match="images has shape"):
        il(torch.zeros(2, 2, 3, 8, 9), 10.0, make_generator(0))
    with pytest.raises(ValueError, match="users"):
        il(torch.zeros(2, 3, 3, 8, 8), 10.0, make_generator(0))
