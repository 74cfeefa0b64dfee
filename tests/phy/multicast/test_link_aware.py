"""The link-aware planner: options per stream, the heuristic against brute force, budget and thresholds."""

import numpy as np
import pytest

from phy.link_abstraction import load_ir_table, load_table
from phy.mcs import MCS_TABLE
from phy.multicast.link_aware import LinkModel, plan, plan_bruteforce, stream_options

B, N0 = 1e6, 10 ** (-174 / 10) * 1e-3
THRESHOLDS = load_table("awgn").thresholds_db(1e-3)


def instance(rng, model, K=3, budget=0.1, overlap=True):
    gains = 10 ** rng.uniform(-11.5, -9.5, K)
    streams = [stream_options(model, int(rng.integers(3000, 9000)), np.arange(K), gains, B, N0, budget)]
    for k in range(K - 1):
        users = np.array([k, k + 1]) if overlap and k % 2 else np.array([k])
        streams.append(stream_options(model, int(rng.integers(500, 2500)), users, gains, B, N0, budget))
    return gains, streams


@pytest.mark.parametrize("policy", ["worst", "per_user", "rateless"])
def test_the_heuristic_matches_brute_force_on_small_instances(policy):
    model = LinkModel(policy, THRESHOLDS, load_ir_table(), grid_db=2.0)
    rng = np.random.default_rng(0)
    gaps = []
    for _ in range(12):
        gains, streams = instance(rng, model)
        budget = float(rng.uniform(0.02, 0.2))
        try:
            best = plan_bruteforce(streams, 3, 2e-4, budget)
        except ValueError:
            continue
        heuristic = plan(streams, 3, 2e-4, budget)
        assert heuristic.objective_s >= best.objective_s * (1 - 1e-12)  # brute force is optimal
        gaps.append(heuristic.objective_s / best.objective_s - 1)
    assert len(gaps) >= 8
    assert np.mean(gaps) < 0.005 and max(gaps) < 0.05


@pytest.mark.parametrize("policy", ["worst", "per_user"])
def test_no_user_is_planned_an_mcs_above_its_snr_and_the_budget_holds(policy):
    model = LinkModel(policy, THRESHOLDS)
    rng = np.random.default_rng(1)
    for _ in range(10):
        gains, streams = instance(rng, model, K=4)
        budget = 0.1
        result = plan(streams, 4, 2e-4, budget)
        assert result.power_w.sum() == pytest.approx(budget)  # the left-over power spread as margin
        for j, s in enumerate(streams):
            o = result.choice[j]
            snr = 10 * np.log10(s.power[o] * gains[s.users] / (B * N0))
            if policy == "worst":
                assert np.all(snr >= THRESHOLDS[result.labels[j]] - 1e-9)
                assert np.allclose(s.airtime[o], model.mcs_airtime_s(s.frame_bits, result.labels[j], B))
            else:  # each user at the highest MCS its own SNR meets
                for u, t in zip(snr, s.airtime[o]):
                    m = int(np.flatnonzero(u >= THRESHOLDS - 1e-9).max())
                    assert t == pytest.approx(model.mcs_airtime_s(s.frame_bits, m, B))


def test_rateless_plans_shorter_air_times_for_stronger_users_and_rescales_to_the_budget():
    model = LinkModel("rateless", THRESHOLDS, load_ir_table())
    gains = np.array([1e-11, 1e-10, 1e-9])
    s = stream_options(model, 6000, np.arange(3), gains, B, N0, 0.05)
    assert np.all(np.diff(s.power) >= 0)  # sorted by power, dominated options dropped:
    for i in range(1, s.power.size):
        assert np.any(s.airtime[i] < s.airtime[:i].min(axis=0) - 1e-15)  # each makes someone faster
    assert np.all(np.diff(s.airtime[-1]) <= 0)  # stronger users finish first
    result = plan([s], 3, 0.0, 0.05, model, gains, B, N0)
    assert result.power_w.sum() == pytest.approx(0.05)
    assert np.all(result.latency_s <= s.airtime[result.choice[0]] + 1e-15)


def test_an_unreachable_stream_and_a_bad_policy_are_refused():
    model = LinkModel("worst", THRESHOLDS)
    with pytest.raises(ValueError, match="no feasible option"):
        stream_options(model, 1000, np.arange(1), np.array([1e-16]), B, N0, 0.1)
    with pytest.raises(ValueError, match="policy"):
        LinkModel("best", THRESHOLDS)
    with pytest.raises(ValueError, match="IR table"):
        LinkModel("rateless", THRESHOLDS)
    with pytest.raises(ValueError, match=f"{len(MCS_TABLE)} entries"):
        LinkModel("worst", THRESHOLDS[:3])
