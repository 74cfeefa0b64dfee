"""Problem (8): Table III's r* and |b|, the overlapping case, bad input (phy.multicast.problem)."""

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from phy.multicast import (
    MulticastProblem,
    intent_matrix,
)


@pytest.mark.parametrize("K", [1, 2, 3, 5, 10, 15])
def test_table_iii_rates_and_bits(K):
    """r* = r0 + K r_l and |b| = |X| r0 + |Xbar| K r_l, with r0, r_l solved here by root-finding."""
    p = MulticastProblem(np.ones(K), intent_matrix("disjoint", K))
    r0 = brentq(lambda r: 0.214 * math.exp(-5.14 * r) + 0.566 - 0.58705, 0, 5, xtol=1e-15)
    rl = brentq(lambda r: 0.199 * math.exp(-3.454 * r) + 0.008 - 0.02850, 0, 5, xtol=1e-15)
    summary = p.compression()
    assert summary["average_rate"] == pytest.approx(r0 + K * rl, rel=1e-12)
    assert summary["bits"] == pytest.approx(512 * 256 * r0 + 512 * 256 / 10 * K * rl, rel=1e-12)


def test_overlapping_case_a_rate_matches_the_paper():
    """Fig. 13 case (a): two classes sent to three users; the paper prints r* = 1.76726."""
    p = MulticastProblem(np.ones(3), [[1, 0], [1, 1], [0, 1]])
    r = p.compression()["average_rate"]
    assert math.floor(r * 1e5) / 1e5 == pytest.approx(1.76726, abs=1e-12)


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
