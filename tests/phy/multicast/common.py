"""Shared by the multicast tests: the paper's budget (Table II) and feasibility checks."""

from phy.config import LinkBudgetConfig
from phy.multicast import channel_gains, noise_psd_w_hz

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
