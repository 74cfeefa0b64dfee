"""The structured SQP on overlapping intents and general curves, and solve() (phy.multicast.sqp)."""

import numpy as np
import pytest

from phy.multicast import (
    MulticastProblem,
    kkt_residuals,
    solve,
    solve_slsqp,
    solve_sqp,
)

from .common import _check_feasible, _gains


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
