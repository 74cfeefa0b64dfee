"""The GSC report (seed 002's comparisons) on rows made here."""

import math

import pytest

from sims.reports.gsc import gain_at, report


def row(method, snr, psnr, channel="awgn", **extra):
    base = {
        "method": method, "snr_db": str(snr), "link.channel.kind": channel, "psnr": str(psnr), "psnr_sd": "2.0",
        "psnr_n": "16", "ssim": "0.5", "ssim_sd": "0.1", "ssim_n": "16", "ms_ssim_2": "0.6", "ms_ssim_2_sd": "0.1",
        "ms_ssim_2_n": "16", "miou": "0.3", "fd_seg": "10", "receiver_ms_per_image": "10", "delivered": "1.0",
    }  # fmt: skip
    return base | {k: str(v) for k, v in extra.items()}


def test_relative_gain_and_its_spread():
    rows = [row("gsc", 15.0, 30.0), row("deepjscc", 15.0, 25.0)]
    gain, spread = gain_at(rows, "awgn", 15.0)
    assert gain == pytest.approx(20.0)
    half = 1.96 * 2.0 / 4  # each mean's 95% half-width
    assert spread == pytest.approx(100 * math.sqrt((half / 25) ** 2 + (30 * half / 25**2) ** 2))


def test_report_has_the_paper_beside_ours():
    rows = [
        row("gsc", s, p) for s, p in ((0.0, 20.0), (15.0, 30.0))
    ] + [row("ngf", s, p - 1) for s, p in ((0.0, 20.0), (15.0, 30.0))] + [
        row("mu_gsc", s, p, receiver_ms_per_image=5) for s, p in ((0.0, 20.0), (15.0, 30.0))
    ] + [row("deepjscc", s, p) for s, p in ((0.0, 19.0), (15.0, 25.0))] + [
        row("jpeg_ldpc_qpsk", 0.0, 10.0, delivered=0.0), row("jpeg_ldpc_qpsk", 15.0, 22.0)
    ]  # fmt: skip
    text = report(rows, "t")
    assert "GSC vs DeepJSCC at 15 dB: +20.00%" in text and "(the paper: +17.75%)" in text
    assert "0 dB: +1.00 dB" in text and "MU-GSC / GSC = 0.50" in text and "largest PSNR difference 0.00e+00" in text
    assert "0 dB: 0.00 delivered, 10.0 dB" in text
    assert "Rayleigh" not in text  # no rows of that channel
