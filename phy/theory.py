"""Closed-form bit error rates of uncoded Gray-mapped square QAM.

Exact expressions of K. Cho and D. Yoon, "On the general BER expression of
one- and two-dimensional amplitude modulations", IEEE Trans. Commun. 50(7),
2002, eq. (14)-(16), for AWGN; for flat Rayleigh fading with perfect CSI each
erfc(sqrt(c * g)) term is averaged over g ~ Exp(mean SNR) in closed form:
E[erfc(sqrt(c g))] = 1 - sqrt(c gbar / (1 + c gbar)).

SNR arguments are Es/N0 in linear scale (Es = average symbol energy).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfc

__all__ = ["qam_ber_awgn", "qam_ber_rayleigh", "qam_ber"]


def _terms(bits_per_symbol: int):
    """Weights w and factors c such that BER(snr) = sum_j w_j f(c_j * snr).

    AWGN: f(x) = erfc(sqrt(x)); Rayleigh: f(x) = 1 - sqrt(x / (1 + x)).
    """
    if bits_per_symbol < 2 or bits_per_symbol % 2:
        raise ValueError(f"bits_per_symbol = {bits_per_symbol}: square QAM needs an even number >= 2")
    M = 2**bits_per_symbol
    side = int(round(math.sqrt(M)))
    bits_per_dim = bits_per_symbol // 2
    weights, factors = [], []
    for k in range(1, bits_per_dim + 1):
        for i in range(int((1 - 2.0**-k) * side)):
            q = i * 2 ** (k - 1) // side
            w = (-1) ** q * (2 ** (k - 1) - math.floor(i * 2 ** (k - 1) / side + 0.5))
            weights.append(w / side / bits_per_dim)
            # argument of erfc is (2i+1) sqrt(3 Es/N0 / (2 (M-1)))
            factors.append((2 * i + 1) ** 2 * 3.0 / (2.0 * (M - 1)))
    return np.asarray(weights), np.asarray(factors)


def qam_ber_awgn(snr, bits_per_symbol: int):
    """Exact BER of Gray-mapped square QAM over AWGN at Es/N0 = ``snr`` (linear)."""
    w, c = _terms(bits_per_symbol)
    snr = np.asarray(snr, dtype=np.float64)[..., None]
    return np.sum(w * erfc(np.sqrt(c * snr)), axis=-1)


def qam_ber_rayleigh(snr, bits_per_symbol: int):
    """Exact BER of Gray-mapped square QAM over flat Rayleigh fading (perfect CSI),
    at average Es/N0 = ``snr`` (linear)."""
    w, c = _terms(bits_per_symbol)
    x = c * np.asarray(snr, dtype=np.float64)[..., None]
    return np.sum(w * (1.0 - np.sqrt(x / (1.0 + x))), axis=-1)


def qam_ber(snr_db, bits_per_symbol: int, channel: str = "awgn"):
    """BER at Es/N0 = ``snr_db`` over ``"awgn"`` or ``"rayleigh"`` (flat, perfect CSI)."""
    snr = 10.0 ** (np.asarray(snr_db, dtype=np.float64) / 10.0)
    if channel == "awgn":
        return qam_ber_awgn(snr, bits_per_symbol)
    if channel == "rayleigh":
        return qam_ber_rayleigh(snr, bits_per_symbol)
    raise ValueError(f"channel = {channel!r}: expected 'awgn' or 'rayleigh'")
