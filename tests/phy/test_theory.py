"""The closed forms against textbook special cases."""

import numpy as np
import pytest
from scipy.special import erfc

from phy.theory import qam_ber


def Q(x):
    return 0.5 * erfc(x / np.sqrt(2))


@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 6.0, 12.0])
def test_qpsk_awgn_is_q_function(snr_db):
    snr = 10 ** (snr_db / 10)
    assert qam_ber(snr_db, 2, "awgn") == pytest.approx(Q(np.sqrt(snr)), rel=1e-12)


@pytest.mark.parametrize("snr_db", [0.0, 10.0, 20.0])
def test_qpsk_rayleigh_textbook(snr_db):
    gamma_b = 10 ** (snr_db / 10) / 2  # Eb/N0
    expected = 0.5 * (1 - np.sqrt(gamma_b / (1 + gamma_b)))
    assert qam_ber(snr_db, 2, "rayleigh") == pytest.approx(expected, rel=1e-12)


def test_16qam_matches_nearest_neighbour_approximation_at_high_snr():
    # Gray 16-QAM: BER ~ (3/8) erfc(sqrt(Es / (10 N0))) when neighbours dominate.
    snr = 10 ** (20 / 10)
    assert qam_ber(20.0, 4, "awgn") == pytest.approx(3 / 8 * erfc(np.sqrt(snr / 10)), rel=1e-3)


@pytest.mark.parametrize("m", [2, 4, 6])
def test_limits(m):
    assert qam_ber(-60.0, m, "awgn") == pytest.approx(0.5, abs=1e-3)
    assert qam_ber(-60.0, m, "rayleigh") == pytest.approx(0.5, abs=1e-3)
    assert qam_ber(40.0, m, "awgn") < 1e-12
    assert np.all(np.diff(qam_ber(np.arange(0, 30), m, "rayleigh")) < 0)


def test_rejects_odd_constellations():
    with pytest.raises(ValueError, match="square QAM"):
        qam_ber(10.0, 3)
