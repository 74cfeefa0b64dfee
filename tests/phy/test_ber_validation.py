"""Monte-Carlo BER of the link against theory.

Uncoded QPSK, 16-QAM and 64-QAM over AWGN and flat Rayleigh block fading match
the exact closed forms (Cho & Yoon) within the simulation's 99.9% confidence
interval (the interval accounts for errors clustered by fading draws; about 30
comparisons at 99.9% keep the chance of a spurious failure low for any seed),
and the interval is narrow enough that a 10-15% error in the link would fail.
The closed forms assume nearest-point symbol detection, i.e. hard decisions on
max-log LLRs; bitwise-MAP ("app") decisions do slightly better at low SNR.
"""

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # Monte-Carlo validations against closed forms (`make test-fast` skips them)

from phy import CodeConfig, OFDMALink, make_generator
from phy.ber import simulate_link
from phy.theory import qam_ber

from ..conftest import make_link_config

CONFIDENCE = 0.999

AWGN_POINTS = {"qpsk": [0, 2, 4, 6, 8], "16qam": [2, 4, 6, 8, 10], "64qam": [6, 8, 10, 12, 14], "256qam": [10, 12, 14]}
RAYLEIGH_POINTS = {"qpsk": [0, 5, 10, 15], "16qam": [5, 10, 15, 20], "64qam": [10, 15, 20, 25]}


@pytest.mark.parametrize("modulation", ["qpsk", "16qam", "64qam", "256qam"])
def test_uncoded_awgn_matches_closed_form(modulation):
    link = OFDMALink(make_link_config(modulation, "awgn", num_ofdm_symbols=4))
    for i, ebno_db in enumerate(AWGN_POINTS[modulation]):
        result = simulate_link(
            link, link.snr_db_from_ebno_db(ebno_db), make_generator(100 + i),
            batch_size=4000, max_batches=50, target_bit_errors=3000,
        )  # fmt: skip
        snr_db = link.snr_db_from_ebno_db(ebno_db)
        theory = float(qam_ber(snr_db, link.config.bits_per_symbol, "awgn"))
        lo, hi = result.bits.interval(CONFIDENCE)
        assert lo <= theory <= hi, f"{modulation} Eb/N0={ebno_db}: theory {theory:.4e} not in [{lo:.4e}, {hi:.4e}]"
        assert (hi - lo) / 2 < 0.1 * theory, "interval too wide to test anything"


@pytest.mark.parametrize("modulation", ["qpsk", "16qam", "64qam"])
def test_uncoded_rayleigh_block_matches_closed_form(modulation):
    # Tiny slots (one OFDM symbol, 4 subcarriers per user) so that one batch holds
    # tens of thousands of independent fading draws.
    link = OFDMALink(
        make_link_config(modulation, "rayleigh_block", num_subcarriers=8, num_ofdm_symbols=1)
    )
    for i, snr_db in enumerate(RAYLEIGH_POINTS[modulation]):
        result = simulate_link(
            link, float(snr_db), make_generator(200 + i),
            batch_size=25_000, max_batches=8, target_bit_errors=40_000,
        )  # fmt: skip
        theory = float(qam_ber(snr_db, link.config.bits_per_symbol, "rayleigh"))
        lo, hi = result.bits.interval(CONFIDENCE)
        assert lo <= theory <= hi, f"{modulation} SNR={snr_db}: theory {theory:.4e} not in [{lo:.4e}, {hi:.4e}]"
        assert (hi - lo) / 2 < 0.15 * theory, "interval too wide to test anything"
        assert result.bits.design_effect() > 1.5, "block fading must show clustered errors"


def test_uncoded_rayleigh_iid_matches_closed_form():
    # Independent per-subcarrier fading has the same marginal BER as flat fading.
    link = OFDMALink(make_link_config("16qam", "rayleigh_iid", num_subcarriers=64, num_ofdm_symbols=1))
    for i, snr_db in enumerate([5, 10, 15, 20]):
        result = simulate_link(link, float(snr_db), make_generator(300 + i), 4000, 8, target_bit_errors=20_000)
        theory = float(qam_ber(snr_db, 4, "rayleigh"))
        lo, hi = result.bits.interval(CONFIDENCE)
        assert lo <= theory <= hi


def test_app_hard_decisions_beat_symbol_detection_at_low_snr():
    # Bitwise MAP minimises the bit error probability, so it sits below the
    # symbol-detector closed form where neighbours other than the nearest matter.
    link = OFDMALink(make_link_config("16qam", "rayleigh_iid", num_subcarriers=64, num_ofdm_symbols=1, demapping="app"))
    result = simulate_link(link, 0.0, make_generator(7), 20_000, 4)
    theory = float(qam_ber(0.0, 4, "rayleigh"))
    assert result.bits.interval(CONFIDENCE)[1] < theory


def test_ldpc_16qam_bler_falls_and_beats_uncoded():
    coded = OFDMALink(
        make_link_config("16qam", "awgn", coded=True, num_subcarriers=64, num_ofdm_symbols=8, demapping="app")
    )
    assert coded.codewords_per_user == 1 and coded.info_bits_per_re == 2.0
    ebno = [2.0, 2.5, 3.0, 3.5, 4.0]
    bler, ber_hi = [], []
    for i, ebno_db in enumerate(ebno):
        r = simulate_link(coded, coded.snr_db_from_ebno_db(ebno_db), make_generator(400 + i), 100, 3, 200)
        bler.append(r.bler)
        ber_hi.append(r.bits.interval(CONFIDENCE)[1])
    assert np.all(np.diff(bler) < 0), f"BLER not falling: {bler}"
    assert bler[-1] < 0.1

    # Uncoded 16-QAM with the same 512-bit blocks at the same Eb/N0.
    uncoded = OFDMALink(
        make_link_config(
            "16qam", "awgn", num_subcarriers=64, num_ofdm_symbols=8, demapping="app",
            code=CodeConfig(kind="uncoded", k=512, n=512),
        )
    )  # fmt: skip
    for i, ebno_db in enumerate(ebno):
        if ebno_db < 3.0:
            continue
        u = simulate_link(uncoded, uncoded.snr_db_from_ebno_db(ebno_db), make_generator(500 + i), 100, 2)
        assert ber_hi[i] < u.bits.interval(CONFIDENCE)[0], f"coded BER not below uncoded at {ebno_db} dB"
        assert bler[i] < u.bler
