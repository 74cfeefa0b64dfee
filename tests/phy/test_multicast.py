"""Intent-aware multicasting: latency model, exact structure, SQP, SLSQP reference, schemes."""

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from phy.config import LinkBudgetConfig
from phy.multicast import (
    PAPER_DISTORTION,
    PAPER_PERCEPTION,
    MulticastProblem,
    channel_gains,
    fgm_latencies,
    fit_exp_curve,
    intent_matrix,
    kkt_residuals,
    ngm_latencies,
    ngm_rate,
    noise_psd_w_hz,
    solve,
    solve_exact,
    solve_slsqp,
    solve_sqp,
)

BUDGET = LinkBudgetConfig()
N0 = noise_psd_w_hz(BUDGET)


def _gains(K, rng, fading=True):
    return channel_gains(BUDGET, (K,), rng, fading)


def _check_feasible(problem, alloc):
    assert alloc.used_power_w <= problem.total_power_w * (1 + 1e-9)
    assert alloc.map_power_w > 0
    assert float(problem.perception(alloc.map_rate)) <= problem.eps_s.min() * (1 + 1e-8)
    for l in problem.streams.classes:
        assert float(problem.distortion(alloc.class_rates[l])) <= problem.eps_r[l] * (1 + 1e-8)


# -- curves and the compression summary ------------------------------------------


def test_curve_inverse_and_floor():
    r = PAPER_DISTORTION.inverse(0.0285)
    assert float(PAPER_DISTORTION(r)) == pytest.approx(0.0285, rel=1e-12)
    assert PAPER_DISTORTION.inverse(0.5) == 0.0  # above Phi(0): no bits needed
    with pytest.raises(ValueError, match="floor"):
        PAPER_PERCEPTION.inverse(0.566)


def test_fit_recovers_the_paper_curve():
    r = np.linspace(0.05, 1.5, 12)
    fit = fit_exp_curve(r, PAPER_DISTORTION(r))
    assert (fit.a, fit.b, fit.c) == pytest.approx((0.199, 3.454, 0.008), rel=1e-5)


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


@pytest.mark.parametrize("seed", range(6))
def test_exact_equals_slsqp_on_disjoint_intents(seed):
    rng = np.random.default_rng(seed)
    K = int(rng.integers(1, 12))
    p = MulticastProblem(
        _gains(K, rng), intent_matrix("disjoint", K, K + 2),
        total_power_w=float(rng.uniform(0.02, 0.3)), generation_latency_s=float(rng.uniform(0, 0.01)),
    )  # fmt: skip
    exact, ref = solve_exact(p), solve_slsqp(p)
    assert exact.sum_latency_s == pytest.approx(ref.sum_latency_s, rel=1e-6)
    _check_feasible(p, exact)
    assert exact.used_power_w == pytest.approx(p.total_power_w, rel=1e-9)  # the budget is active


def test_exact_class_limited_branch_equals_slsqp():
    """Narrow class bands make some users wait for their class, not for the map."""
    rng = np.random.default_rng(3)
    p = MulticastProblem(
        _gains(4, rng, fading=False), np.eye(4, dtype=bool),
        class_bandwidth_hz=np.array([1e6, 1e5, 2e4, 1e6]), class_pixels=512 * 256 / 2,
    )  # fmt: skip
    exact, ref = solve_exact(p), solve_slsqp(p)
    assert exact.method == "exact"
    assert exact.sum_latency_s == pytest.approx(ref.sum_latency_s, rel=1e-6)
    t = exact.user_latency_s
    map_t = p.generation_latency_s + 512 * 256 * exact.map_rate / (
        1e6 * np.log2(1 + exact.map_power_w * p.gains / (1e6 * N0))
    )
    assert np.any(t > map_t * (1 + 1e-6))


def test_common_latency_structure_on_the_paper_setting():
    """At the paper's defaults every user's class arrives exactly when its synthesis ends."""
    rng = np.random.default_rng(0)
    p = MulticastProblem(_gains(10, rng, fading=False), np.eye(10, dtype=bool))
    alloc = solve(p)
    assert alloc.method == "exact-common"
    t_map = p.generation_latency_s + 512 * 256 * alloc.map_rate / (
        1e6 * np.log2(1 + alloc.map_power_w * p.gains / (1e6 * N0))
    )
    t_class = 512 * 256 / 10 * alloc.class_rates[:10] / (1e6 * np.log2(1 + alloc.class_power_w[:10] * p.gains / (1e6 * N0)))
    np.testing.assert_allclose(t_class, t_map, rtol=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_sqp_equals_slsqp_and_meets_kkt_on_overlapping_intents(seed):
    rng = np.random.default_rng(100 + seed)
    K, L = int(rng.integers(2, 15)), int(rng.integers(2, 6))
    intents = rng.random((K, L)) < 0.4
    intents[np.arange(K), rng.integers(0, L, K)] = True
    p = MulticastProblem(
        _gains(K, rng), intents, total_power_w=float(rng.uniform(0.02, 0.3)),
        generation_latency_s=float(rng.uniform(0, 0.01)), eps_r=rng.uniform(0.02, 0.08, L),
    )  # fmt: skip
    sqp, ref = solve_sqp(p), solve_slsqp(p)
    assert sqp.sum_latency_s == pytest.approx(ref.sum_latency_s, rel=1e-6)
    _check_feasible(p, sqp)
    assert sqp.used_power_w == pytest.approx(p.total_power_w, rel=1e-7)
    kkt = kkt_residuals(sqp)
    assert kkt["stationarity"] < 1e-5 and kkt["complementarity"] < 1e-7
    assert kkt["feasibility"] < 1e-9 and kkt["dual"] > -1e-9
    # the rate constraints are active: rates sit at Phi^-1(eps)
    assert sqp.map_rate == pytest.approx(p.required_map_rate(), rel=1e-6)
    sent = p.streams.classes
    np.testing.assert_allclose(sqp.class_rates[sent], p.required_class_rates()[sent], rtol=1e-6)


class RationalCurve:
    """Phi(r) = a / (1 + b r) + c: not the paper's form, no closed-form inverse."""

    def __init__(self, a, b, c):
        self.a, self.b, self.c = a, b, c

    def __call__(self, r):
        return self.a / (1 + self.b * np.asarray(r)) + self.c

    def derivative(self, r):
        return -self.a * self.b / (1 + self.b * np.asarray(r)) ** 2

    def second_derivative(self, r):
        return 2 * self.a * self.b**2 / (1 + self.b * np.asarray(r)) ** 3


def test_sqp_handles_general_curves():
    rng = np.random.default_rng(7)
    p = MulticastProblem(
        _gains(6, rng), rng.random((6, 3)) < 0.6,
        distortion=RationalCurve(0.2, 6.0, 0.01), perception=RationalCurve(0.25, 8.0, 0.55), eps_r=0.04, eps_s=0.6,
    )  # fmt: skip
    sqp, ref = solve_sqp(p), solve_slsqp(p)
    assert sqp.sum_latency_s == pytest.approx(ref.sum_latency_s, rel=1e-6)
    assert float(p.distortion(p.required_class_rates()[0])) == pytest.approx(0.04, rel=1e-9)


def test_solve_dispatch():
    rng = np.random.default_rng(1)
    p = MulticastProblem(_gains(5, rng), np.eye(5, dtype=bool))
    assert solve(p).method.startswith("exact")
    assert solve(p, "sqp").method == "sqp"
    with pytest.raises(ValueError, match="method"):
        solve(p, "newton")


# -- schemes -------------------------------------------------------------------------


def test_ngm_and_fgm_closed_forms_and_ordering():
    rng = np.random.default_rng(2)
    p = MulticastProblem(_gains(8, rng, fading=False), np.eye(8, dtype=bool))
    se = np.log2(1 + p.total_power_w * p.gains / (1e6 * N0))
    np.testing.assert_allclose(ngm_latencies(p), 512 * 256 * ngm_rate(p) / (1e6 * se), rtol=1e-12)
    proposed = solve(p).user_latency_s
    # FGM sends a subset of the proposed scheme's bits with all the power: never slower.
    assert np.all(fgm_latencies(p) <= proposed * (1 + 1e-12))


def test_headline_reduction_vs_ngm_at_k5():
    """Paper: per-user latency 16.7% below NGM at K = 5, P_T = 100 mW (6000 drops); 1000 drops here."""
    rng = np.random.default_rng(0)
    gains = channel_gains(BUDGET, (1000, 5), rng)
    prop = np.mean([solve(MulticastProblem(g, np.eye(5, dtype=bool))).mean_latency_s for g in gains])
    ngm = np.mean([ngm_latencies(MulticastProblem(g, np.eye(5, dtype=bool))).mean() for g in gains])
    assert 1 - prop / ngm == pytest.approx(0.167, abs=0.01)


def test_intent_patterns():
    assert intent_matrix("chain", 3).tolist() == [[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]]
    assert intent_matrix("shared", 2, 3).sum() == 2
    with pytest.raises(ValueError, match="intents"):
        intent_matrix("random", 3)
    with pytest.raises(ValueError, match="num_classes"):
        intent_matrix("disjoint", 3, 2)
