"""Problem (8): Table III's r* and |b|, the overlapping case, bad input (phy.multicast.problem)."""

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from phy.multicast import (
    MulticastProblem,
    intent_matrix,
)

#: Table III of Liu et al.: K -> (r*, |b|) as printed.
TABLE_III = {1: (0.51698, 67762), 2: (0.58279, 76387), 3: (0.64859, 85012), 5: (0.7802, 102262),
             10: (1.10922, 145387), 15: (1.43823, 188512)}  # fmt: skip


@pytest.mark.parametrize("K", [1, 2, 3, 5, 10, 15])
def test_table_iii_rates_and_bits(K):
    """r* = r0 + (|Xbar| / |X|) K r_l and |b| = r* |X|, with r0, r_l solved here by root-finding."""
    p = MulticastProblem(np.ones(K), intent_matrix("disjoint", K))
    r0 = brentq(lambda r: 0.214 * math.exp(-5.14 * r) + 0.566 - 0.58705, 0, 5, xtol=1e-15)
    rl = brentq(lambda r: 0.199 * math.exp(-3.454 * r) + 0.008 - 0.02850, 0, 5, xtol=1e-15)
    summary = p.compression()
    assert summary["average_rate"] == pytest.approx(r0 + K / 10 * rl, rel=1e-12)
    assert summary["bits"] == pytest.approx(512 * 256 * summary["average_rate"], rel=1e-12)


@pytest.mark.parametrize("K", [1, 2, 3, 5, 10, 15])
def test_table_iii_every_printed_digit(K):
    """With the paper's 5-decimal rates and whole bits, |b| is Table III's to the bit and r* to the
    printed digit, except K = 15, whose printed r* is |b| / |X| (the table mixes the two)."""
    printed_rate, printed_bits = TABLE_III[K]
    summary = MulticastProblem(np.ones(K), intent_matrix("disjoint", K)).compression(rate_decimals=5)
    assert (summary["map_rate"], summary["class_rates"][0]) == (0.45118, 0.65804)
    assert summary["bits"] == printed_bits
    if K == 15:
        assert round(summary["average_rate"], 5) == 1.43824
        assert round(summary["bits"] / (512 * 256), 5) == printed_rate
    else:
        assert round(summary["average_rate"], 5) == printed_rate


@pytest.mark.parametrize(
    ("intents", "per_user", "rate", "bandwidth_mhz"),
    [("disjoint", 2, 1.76726, 21), ("ring", 2, 1.10922, 11), ("disjoint", 1, 1.10922, 11)],
)
def test_fig_13_cases_at_the_papers_size(intents, per_user, rate, bandwidth_mhz):
    """Section III-H, K = 10: (a) two classes each, disjoint; (b) two each, overlapping so that ten
    classes are sent; (c) one each. The paper states r* and the bandwidth used for each."""
    matrix = intent_matrix(intents, 10, per_user=per_user)
    assert (matrix.sum(axis=1) == per_user).all()
    p = MulticastProblem(np.ones(10), matrix)
    assert round(p.compression(rate_decimals=5)["average_rate"], 5) == rate
    assert p.streams.bandwidth_hz.sum() == bandwidth_mhz * 1e6


def test_eq_11_spectral_efficiency_by_hand():
    """lambda = (sum_k R_k0 + sum_kl I_kl R_kl) / (B0 + sum of the bands sent): two users, three
    classes of which the third is wanted by nobody (its band is not counted)."""
    gains, N0, B = np.array([2e-9, 5e-10]), 4e-21, 1e6
    p = MulticastProblem(gains, [[1, 1, 0], [0, 1, 0]], noise_psd_w_hz=N0)
    p0, pl = 0.03, np.array([0.02, 0.05, 0.0])
    rate = lambda power, g: B * math.log2(1 + power * g / (B * N0))  # noqa: E731
    numerator = rate(p0, gains[0]) + rate(p0, gains[1]) + rate(0.02, gains[0]) + rate(0.05, gains[0]) + rate(0.05, gains[1])
    assert p.spectral_efficiency(p0, pl) == pytest.approx(numerator / (3 * B), rel=1e-12)


# -- validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"eps_r": 0.008}, "eps_r"),
        ({"eps_s": 0.5}, "eps_s"),
        ({"total_power_w": 0.0}, "total_power_w"),
        ({"gains": np.array([1e-12, 0.0])}, "gains"),
        ({"intents": np.ones((3, 2), dtype=bool)}, "intents"),
        ({"eps_r": [0.03, 0.03, 0.03]}, "eps_r"),
        ({"generation_latency_s": -1.0}, "generation_latency_s"),
    ],
)
def test_bad_input_raises_one_line(kwargs, match):
    args = {"gains": np.array([1e-12, 2e-12]), "intents": np.eye(2, dtype=bool)} | kwargs
    with pytest.raises(ValueError, match=match) as err:
        MulticastProblem(**args)
    assert "\n" not in str(err.value)


# -- optimisers -------------------------------------------------------------------------
