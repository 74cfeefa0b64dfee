"""Channel estimation from pilots (link.estimation = ls | lmmse): Sionna's estimators on the OFDMA link."""

import math

import pytest
import torch

from phy import (
    CodeConfig,
    GridConfig,
    LinkConfig,
    OFDMALink,
    PilotConfig,
    channel_config,
    make_generator,
)
from phy.estimation import channel_covariances


def link_config(estimation: str, channel=None, interpolation: str = "lin", symbols: int = 8, **code) -> LinkConfig:
    return LinkConfig(
        modulation="16qam", code=CodeConfig(**(code or {"kind": "uncoded", "k": 4 * symbols * 16, "n": 4 * symbols * 16})),
        grid=GridConfig(num_subcarriers=32, num_users=2, num_ofdm_symbols=symbols),
        channel=channel or channel_config("awgn"), estimation=estimation, pilots=PilotConfig(interpolation=interpolation),
    )  # fmt: skip


def qam_symbols(link: OFDMALink, batch: int, seed: int) -> torch.Tensor:
    g = make_generator(seed)
    real = (torch.randint(0, 4, (batch, 2, link.config.grid.num_ofdm_symbols, 16), generator=g) * 2 - 3).float()
    imag = (torch.randint(0, 4, real.shape, generator=g) * 2 - 3).float()
    return torch.complex(real, imag) / math.sqrt(10)


def equalisation_mse(estimation: str, snr_db: float, channel=None, interpolation: str = "lin", batch: int = 400):
    """(mean |x_hat - x|^2, mean reported noise variance) over the data of every user."""
    link = OFDMALink(link_config(estimation, channel, interpolation))
    x = qam_symbols(link, batch, 1)
    rx = link.send_symbols(x, snr_db, make_generator(2))
    return (rx.x_hat - x).abs().square().mean().item(), rx.no_eff.mean().item()


def test_ls_penalty_is_3_db_without_interpolation_gain_and_less_with_it():
    """AWGN, h = 1: an LS estimate from one pilot has error variance N0, so x_hat = (x + n)/(1 + e)
    has about 2 N0 of error at high SNR (the textbook 3 dB); averaging the two pilot symbols
    (``lin_time_avg``) halves the estimate's error: 10 log10(1.5) = 1.8 dB. Plain linear
    interpolation extrapolates to the symbols outside the pilots and loses more than nearest."""
    no = 10 ** (-25 / 10)
    perfect, _ = equalisation_mse("perfect", 25.0)
    nearest, reported = equalisation_mse("ls", 25.0, interpolation="nn")
    linear, _ = equalisation_mse("ls", 25.0, interpolation="lin")
    averaged, _ = equalisation_mse("ls", 25.0, interpolation="lin_time_avg")
    assert perfect == pytest.approx(no, rel=0.05)
    assert 10 * math.log10(nearest / perfect) == pytest.approx(3.0, abs=0.3)
    assert reported == pytest.approx(2 * no, rel=0.1)  # the receiver is told N0 + error variance
    assert 10 * math.log10(averaged / perfect) == pytest.approx(10 * math.log10(1.5), abs=0.3)
    assert linear > nearest


def estimation_mse(estimation: str, snr_db: float, channel, batch: int = 200):
    """(mean |h_hat - h|^2, mean reported error variance) on the data of every user."""
    link = OFDMALink(link_config(estimation, channel))
    rx = link.send_symbols(qam_symbols(link, batch, 3), snr_db, make_generator(4))
    return (rx.channel_estimate - rx.channel).abs().square().mean().item(), rx.estimation_error_var.mean().item()


@pytest.mark.parametrize("snr_db", [0.0, 15.0])
def test_lmmse_beats_ls_and_both_report_their_error_over_tdl(snr_db):
    tdl = channel_config("tdl", tdl_model="A", delay_spread_s=100e-9, max_speed_mps=10.0)
    ls, ls_reported = estimation_mse("ls", snr_db, tdl)
    lmmse, lmmse_reported = estimation_mse("lmmse", snr_db, tdl)
    assert lmmse < 0.7 * ls
    assert lmmse_reported == pytest.approx(lmmse, rel=0.3)  # LMMSE knows its error
    no = 10 ** (-snr_db / 10)
    assert ls_reported == pytest.approx(no, rel=0.01)  # LS reports N0 / |p|^2, interpolated


def test_covariances_of_block_fading_are_all_ones_and_of_awgn_too():
    for kind in ("rayleigh_block", "awgn"):
        link = OFDMALink(link_config("lmmse", channel_config(kind)))
        time, freq = channel_covariances(link.channel, 32)
        torch.testing.assert_close(time, torch.ones_like(time), rtol=0, atol=1e-5)
        torch.testing.assert_close(freq, torch.ones_like(freq), rtol=0, atol=1e-5)


@pytest.mark.parametrize("spread", [30e-9, 300e-9])
def test_tdl_frequency_covariance_is_sionnas_closed_form(spread):
    """The covariance drawn from the channel model matches Sionna's tdl_freq_cov_mat (the TDL's
    power delay profile) within Monte-Carlo error, at a short and a long delay spread."""
    from sionna.phy.ofdm import tdl_freq_cov_mat

    link = OFDMALink(link_config("lmmse", channel_config("tdl", tdl_model="A", delay_spread_s=spread)))
    _, freq = channel_covariances(link.channel, 512)
    exact = tdl_freq_cov_mat("A", link.config.grid.subcarrier_spacing_hz, 32, spread).to(freq.dtype)
    assert (freq - exact).abs().max() < 0.08
    assert exact[0, -1].abs() < (0.9 if spread > 1e-7 else 1.0)  # the long spread decorrelates the band


def test_pilots_cost_rate_and_perfect_csi_is_unchanged():
    perfect, ls = OFDMALink(link_config("perfect")), OFDMALink(link_config("ls"))
    assert perfect.channel.shape(1)[2] == 8 and ls.channel.shape(1)[2] == 10  # S + P symbols
    assert ls.estimator.pilot_rows == [2, 7] and len(ls.estimator.data_rows) == 8
    assert ls.info_bits_per_re == pytest.approx(perfect.info_bits_per_re * 8 / 10)


def test_bad_estimation_settings_fail_in_one_line():
    with pytest.raises(ValueError, match="rayleigh_iid is independent on every resource element"):
        link_config("ls", channel_config("rayleigh_iid"))
    with pytest.raises(ValueError, match=r"link.pilots.positions \[0, 12\]: the slot has 10 OFDM symbols"):
        LinkConfig(grid=GridConfig(num_subcarriers=32, num_users=2, num_ofdm_symbols=8), estimation="ls",
                   code=CodeConfig(kind="uncoded", k=512, n=512), pilots=PilotConfig(positions=[0, 12]))  # fmt: skip
    with pytest.raises(ValueError, match="expected 2 distinct indices"):
        PilotConfig(positions=[3, 3])


@pytest.mark.slow
@pytest.mark.parametrize("spread,speed", [(30e-9, 3.0), (300e-9, 30.0)])
def test_coded_bler_orders_perfect_lmmse_ls_over_tdl(spread, speed):
    """Coded 16-QAM + LDPC (1024, 512) over TDL-A at two delay spreads and speeds: perfect CSI <=
    LMMSE < LS in BLER (the first within Monte-Carlo error, the second by more than 3 standard errors)."""
    tdl = channel_config("tdl", tdl_model="A", delay_spread_s=spread, max_speed_mps=speed)
    bler = {}
    for estimation in ("perfect", "lmmse", "ls"):
        link = OFDMALink(link_config(estimation, tdl, symbols=16, k=512, n=1024))
        g = make_generator(7)
        errors = total = 0
        for _ in range(6):
            bits = link.random_bits(64, g)
            errors += (link(bits, 11.0, g).bits_hat != bits).any(-1).sum().item()
            total += bits[..., 0].numel()
        bler[estimation] = errors / total
    se = lambda p: math.sqrt(max(p * (1 - p), 1e-4) / total)  # noqa: E731
    assert bler["perfect"] <= bler["lmmse"] + 3 * se(bler["lmmse"])
    assert bler["lmmse"] + 3 * math.hypot(se(bler["lmmse"]), se(bler["ls"])) < bler["ls"]


def test_same_config_and_seed_reproduce_the_estimated_reception():
    """The pilots are a function of a seed (Sionna's Kronecker pattern draws them from its global state)."""
    tdl = channel_config("tdl", tdl_model="A", delay_spread_s=100e-9)
    runs = []
    for _ in range(2):
        link = OFDMALink(link_config("ls", tdl))
        runs.append(link.send_symbols(qam_symbols(link, 4, 5), 10.0, make_generator(6)).x_hat)
    assert torch.equal(*runs)


def test_lmmse_by_probed_filter_is_sionnas_estimator():
    """One noise variance for the batch: the estimate is y_pilots @ F with F probed from Sionna's
    estimator; it equals Sionna's own call to float rounding, error variances exactly."""
    link = OFDMALink(link_config("lmmse", channel_config("tdl", tdl_model="A", delay_spread_s=300e-9, max_speed_mps=30.0)))
    est, (B, K) = link.estimator, (8, 2)
    h = link.channel(B, make_generator(3))
    slot = est.frame(link.grid.place(qam_symbols(link, B, 1), link.grid.default_assignment))
    y = h * slot.unsqueeze(1) + 0.3 * torch.randn(h.shape, dtype=h.dtype, generator=make_generator(4))
    no = torch.full((B, K, 1, 1), 0.18)
    fast, fast_err = est.estimate(y, no)
    direct, direct_err = est.estimator(y.reshape(B, K, 1, *y.shape[2:]), no.reshape(B, K, 1))
    torch.testing.assert_close(fast, direct.reshape(fast.shape), rtol=0, atol=1e-5)
    torch.testing.assert_close(fast_err, direct_err.reshape(fast.shape).float(), rtol=0, atol=0)
    mixed = no.clone()
    mixed[0, 0], mixed[3] = 0.5, 0.02  # per-user noise levels: one probed filter per level
    mixed_fast, mixed_err = est.estimate(y, mixed)
    mixed_direct, mixed_direct_err = est.estimator(y.reshape(B, K, 1, *y.shape[2:]), mixed.reshape(B, K, 1))
    torch.testing.assert_close(mixed_fast, mixed_direct.reshape(fast.shape), rtol=0, atol=1e-5)
    torch.testing.assert_close(mixed_err, mixed_direct_err.reshape(fast.shape).float(), rtol=0, atol=0)
    assert sorted(est._filters) == pytest.approx(sorted([0.02, 0.18, 0.5]))  # kept for the next call
    est.MAX_FILTERED_NOISE_LEVELS = 2  # more levels than that: Sionna's estimator directly, same numbers
    torch.testing.assert_close(est.estimate(y, mixed)[0], mixed_fast, rtol=0, atol=1e-5)


def _sionna_tutorial_bler(
    estimation: str, snr_db: float, batches: int, spread: float, rows: list[int], speed: float = 0.0
) -> float:
    """BLER of the single-user OFDM chain written with Sionna's blocks as its tutorials do:
    source, LDPC, QAM, ResourceGridMapper, TDL via GenerateOFDMChannel + ApplyOFDMChannel,
    LS (lin) or LMMSE (Sionna's closed-form TDL covariances) estimation or perfect CSI,
    LMMSEEqualizer, APP demapper, BP decoder.

    With Doppler, Sionna's TDL draws each user's speed uniformly from [0, ``speed``] (as gscsim's
    does) while ``tdl_time_cov_mat`` takes one speed; the time covariance of the drawn channel is
    then the average of Sionna's over the speeds (midpoint rule, 64 speeds)."""
    import numpy as np
    from sionna.phy import config
    from sionna.phy.channel import ApplyOFDMChannel, GenerateOFDMChannel
    from sionna.phy.channel.tr38901 import TDL
    from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder
    from sionna.phy.mapping import BinarySource, Demapper, Mapper
    from sionna.phy.mimo import StreamManagement
    from sionna.phy.ofdm import (
        LMMSEChannelEstimator,
        LMMSEEqualizer,
        LSChannelEstimator,
        ResourceGrid,
        ResourceGridMapper,
        tdl_freq_cov_mat,
        tdl_time_cov_mat,
    )  # fmt: skip

    from phy.estimation import kronecker_pilots

    config.seed = 11
    T, L = 18, 32
    rg = ResourceGrid(num_ofdm_symbols=T, fft_size=L, subcarrier_spacing=30e3, num_tx=1, num_streams_per_tx=1,
                      pilot_pattern=kronecker_pilots(T, L, rows))  # fmt: skip
    encoder = LDPC5GEncoder(512, 1024, num_bits_per_symbol=4)
    decoder = LDPC5GDecoder(encoder, num_iter=20, hard_out=True)
    tdl = TDL("A", delay_spread=spread, carrier_frequency=3.5e9, min_speed=0.0, max_speed=speed)
    channel, apply = GenerateOFDMChannel(tdl, rg), ApplyOFDMChannel()
    if estimation == "ls":
        estimator = LSChannelEstimator(rg, interpolation_type="lin")
    elif estimation == "lmmse":
        speeds = (np.arange(64) + 0.5) / 64 * speed
        cov_time = sum(tdl_time_cov_mat("A", float(v), 3.5e9, rg.ofdm_symbol_duration, T) for v in speeds) / len(speeds)
        estimator = LMMSEChannelEstimator(rg, cov_time, tdl_freq_cov_mat("A", 30e3, L, spread), order="f-t")
    equalizer = LMMSEEqualizer(rg, StreamManagement(np.ones([1, 1]), 1))
    source, mapper, demapper = BinarySource(), Mapper("qam", 4), Demapper("app", "qam", 4)
    no = torch.tensor(10 ** (-snr_db / 10))
    errors = total = 0
    for _ in range(batches):
        bits = source([64, 1, 1, 2, 512])
        x = ResourceGridMapper(rg)(mapper(encoder(bits).reshape(64, 1, 1, 2048)))
        h = channel(64)
        y = apply(x, h, no)
        if estimation == "perfect":
            h_hat = h.reshape(64, 1, 1, 1, 1, T, L)
            err = torch.zeros(h_hat.shape)
        else:
            h_hat, err = estimator(y, no)
        x_hat, no_eff = equalizer(y, h_hat, err, no)
        decoded = decoder(demapper(x_hat, no_eff).reshape(64, 1, 1, 2, 1024))
        errors += (decoded != bits).any(-1).sum().item()
        total += 128
    return errors / total


@pytest.mark.slow
@pytest.mark.parametrize(
    "estimation, speed", [("perfect", 0.0), ("ls", 0.0), ("lmmse", 0.0), ("perfect", 30.0), ("ls", 30.0), ("lmmse", 30.0)]
)
def test_bler_equals_sionnas_tutorial_chain_within_ci(estimation, speed):
    """One user on the whole grid (K = 1, 32 subcarriers, 16 + 2 OFDM symbols, TDL-A 100 ns, 11 dB,
    no Doppler or speeds up to 30 m/s at 3.5 GHz): gscsim's link and the chain written with
    Sionna's blocks decode independent draws to the same BLER within 3 standard errors of the
    difference. With Doppler gscsim's LMMSE uses its drawn covariances, Sionna's chain the
    closed form averaged over the speeds."""
    spread, snr, batches = 100e-9, 11.0, 16
    link = OFDMALink(LinkConfig(
        modulation="16qam", code=CodeConfig(k=512, n=1024), estimation=estimation,
        grid=GridConfig(num_subcarriers=32, num_users=1, num_ofdm_symbols=16),
        channel=channel_config("tdl", tdl_model="A", delay_spread_s=spread, max_speed_mps=speed),
    ))  # fmt: skip
    rows = link.estimator.pilot_rows if link.estimator else [4, 13]
    g = make_generator(5)
    errors = total = 0
    for _ in range(batches):
        bits = link.random_bits(64, g)
        errors += (link(bits, snr, g).bits_hat != bits).any(-1).sum().item()
        total += bits[..., 0].numel()
    ours = errors / total
    theirs = _sionna_tutorial_bler(estimation, snr, batches, spread, rows, speed)
    pooled = (ours + theirs) / 2
    assert 0.02 < pooled < 0.9, (ours, theirs)
    assert abs(ours - theirs) <= 3 * math.sqrt(2 * pooled * (1 - pooled) / total), (ours, theirs)
