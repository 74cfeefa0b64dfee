"""The exact structured solver against SciPy SLSQP (phy.multicast.exact)."""

import numpy as np
import pytest

from phy.multicast import (
    MulticastProblem,
    intent_matrix,
    solve,
    solve_exact,
    solve_slsqp,
)

from .common import N0, _check_feasible, _gains


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
