"""FAST part 2 (seed 001): the multi-user setting, the allocation MDP, its baselines and PPO."""

import numpy as np
import pytest

from semantic.data import CAMVID_CLASSES
from semantic.receivers.scd import NEVER
from semantic.units import CAMVID_ATTRIBUTES, UnitAttributes
from sims.fast.bandwidth_env import (
    BandwidthEpisodes,
    BandwidthVecEnv,
    importance_shares,
    random_shares,
    softmax,
)
from sims.fast.multiuser import (
    MultiUserSettings,
    SlotRates,
    arrival_steps,
    extraction_slots,
)
from sims.fast.settings import OrderSettings

ATTRIBUTES = UnitAttributes.from_groups(CAMVID_ATTRIBUTES, CAMVID_CLASSES)


def test_rates_come_from_the_measured_mcs_thresholds():
    rates = SlotRates(MultiUserSettings(bandwidth_hz=8e3))
    snr = np.array([-20.0, rates.thresholds_db.min() - 0.01, rates.thresholds_db.min(), 10.0, 20.0, 60.0])
    eff = rates.spectral_efficiency(snr)
    assert eff[0] == eff[1] == 0 and eff[2] == rates.efficiency[0] and np.all(np.diff(eff) >= 0)
    assert eff[-1] == rates.efficiency.max()
    assert rates.capacity(snr)[-1] == pytest.approx(rates.efficiency.max() * 8e3 * 0.01 / 256)
    # the link budget: P_T + eps0 - 10 phi log10(d) - N0 B
    assert rates.mean_snr_db(np.array([10.0]))[0] == pytest.approx(-60 - 30 - 34 + 174 - 10 * np.log10(8e3))
    d = rates.draw_distances(np.random.default_rng(0), (20000,))
    assert d.min() >= 1 and d.max() <= 10 and abs(np.mean(d <= 10 / np.sqrt(2)) - 49.5 / 99) < 0.02  # uniform in area


def test_extraction_and_arrival_timelines_by_hand():
    settings = MultiUserSettings(step_ms=20.0, order=OrderSettings(steps=30, tau_d=10, tau_e=5.0))  # tau_e = 10 slots
    rounds = np.array([[1, 1, 2, 0, 3, 2, 2]])
    ext = extraction_slots(rounds, settings)[0]
    # phase 1: 2 units (ends at 20); phase 2: 3 units, max(30, 20) = 30 slots (ends at 50); phase 3 from 50
    assert ext.tolist() == [10, 20, 30, np.inf, 60, 40, 50]
    delivered = np.array([[12.0, 25.0, 30.0, np.inf, 100.0, 46.0, np.inf]])
    arrival, t0 = arrival_steps(delivered, rounds == 1, settings)
    # T0 = 25; boundaries every tau_d = 20 slots: 30 -> step 10, 46 -> step 20, 100 -> step 40 >= 30: discarded
    assert t0[0] == 25 and arrival[0].tolist() == [0, 0, 10, NEVER, NEVER, 20, NEVER]
    never, t0 = arrival_steps(np.full((1, 3), np.inf), np.array([[True, False, False]]), settings)
    assert (never == NEVER).all() and np.isinf(t0[0])


def episodes(num=4, bandwidth=8e3, importance=(5.0, 3.0, 1.0, 1.0, 1.0), oracle=None, seed=0, potential_gamma=None):
    rng = np.random.default_rng(3)
    units = rng.random((10, 12)) < 0.8
    units[:, 0] = True
    rounds = np.where(units, rng.integers(1, 5, (10, 12)), 0)
    rounds[:, 0] = 1
    calls = []

    def recorder(indices, arrival):
        calls.append((indices, arrival))
        return (arrival < NEVER).mean(1)

    settings = MultiUserSettings(importance=importance, bandwidth_hz=bandwidth)
    d = np.arange(1.0, 6.0)  # distinct d_j: the potential sees which attribute heads each queue
    ep = BandwidthEpisodes(units, rounds, ATTRIBUTES, d, oracle or recorder, settings, num, seed, potential_gamma)
    ep.reset(np.ones(num, bool))
    return ep, calls


def test_shares_are_a_split_and_bad_ones_are_refused():
    ep, _ = episodes()
    rng = np.random.default_rng(0)
    for shares in (softmax(rng.normal(size=(4, 5)) * 3), random_shares(ep, rng), importance_shares(ep)):
        assert (shares >= 0).all() and np.allclose(shares.sum(1), 1)
    with pytest.raises(ValueError, match="rows summing to 1"):
        ep.step(np.full((4, 5), 0.3))


def test_delivery_respects_the_rate_and_queues_conserve_units():
    ep, calls = episodes(bandwidth=4e3)
    rng = np.random.default_rng(1)
    finished = np.zeros(ep.E, bool)
    credit_cap = np.zeros((ep.E, ep.K))
    while not finished.all():
        shares = random_shares(ep, rng)
        queue = (ep.queued() & ep.active()[..., None]).sum(-1)
        before = ep.sent.copy()
        credit_cap = np.where(queue > 0, ep.credit + shares * ep.capacity(), 0.0)
        extracted = np.isfinite(ep.ext) & (ep.ext <= ep.t[:, None, None])
        assert np.array_equal(ep.sent + ep.queued().sum(-1), extracted.sum(-1))  # sent + queued = extracted
        _, done, infos = ep.step(shares)
        sent = ep.sent - before
        assert (sent <= np.floor(credit_cap + 1e-9)).all() and (sent <= queue).all()  # never beyond the rate
        finished |= done
        for e in np.flatnonzero(done):
            info = infos[e]
            used = (info["arrival"] < NEVER).sum(-1)
            assert (used <= info["delivered"]).all() and (info["delivered"] <= info["extracted"]).all()
        ep.reset(done)
    assert calls and all(a.shape[1] == 12 for _, a in calls)


def test_the_importance_baseline_serves_the_most_important_queue_first():
    ep, _ = episodes(num=1, bandwidth=2e3, importance=(1.0, 5.0, 1.0, 3.0, 1.0))
    checked = 0
    for _ in range(60):  # the phase-1 units are queued after tau_e slots
        shares = importance_shares(ep)
        queue = (ep.queued() & ep.active()[..., None]).sum(-1)[0]
        cap = ep.capacity()[0]
        if queue[1] > 0 and cap[1] > 0 and queue[1] >= cap[1]:
            assert shares[0, 1] == pytest.approx(1.0)  # user 1 (omega 5) takes the whole band
            checked += 1
        elif queue[1] == 0 and queue[3] > 0 and cap[3] > 0 and queue[3] >= cap[3]:
            assert shares[0, 3] == pytest.approx(1.0)  # then user 3 (omega 3)
            checked += 1
        ep.step(shares)
    assert checked >= 5


def test_a_few_ppo_updates_run_end_to_end():
    import torch
    from stable_baselines3 import PPO

    ep, calls = episodes(num=4)
    env = BandwidthVecEnv(ep)
    agent = PPO("MlpPolicy", env, n_steps=128, batch_size=128, n_epochs=2, learning_rate=1.5e-4, seed=0, device="cpu")
    before = [p.detach().clone() for p in agent.policy.parameters()]
    agent.learn(3 * 128 * env.num_envs)
    assert any(not torch.equal(a, b) for a, b in zip(before, agent.policy.parameters()))
    assert calls  # episodes ended and were scored
    obs = env.reset()
    assert obs.shape == (4, 5 * (5 + 2)) and np.isfinite(obs).all()


def test_potential_shaping_pays_bits_as_they_go_and_telescopes_to_the_return():
    plain, _ = episodes(num=3, bandwidth=2e3)
    shaped, _ = episodes(num=3, bandwidth=2e3, potential_gamma=1.0)
    rng = np.random.default_rng(4)
    totals, returns, differ = np.zeros(3), {}, False
    while len(returns) < 3:
        shares = random_shares(plain, rng)
        r_plain, done, infos = plain.step(shares)
        r_shaped, done_shaped, infos_shaped = shaped.step(shares)
        assert np.array_equal(done, done_shaped)
        differ |= not np.allclose(r_plain, r_shaped)
        totals += np.where([e not in returns for e in range(3)], r_shaped, 0.0)
        for e in np.flatnonzero(done):
            if e not in returns:
                returns[e] = infos[e]["episode"]["r"]
                assert infos_shaped[e]["episode"]["r"] == pytest.approx(returns[e])  # infos keep eq. (12)'s return
        plain.reset(done)
        shaped.reset(done)
    assert differ  # partial units were paid before they completed
    # gamma = 1: sum of Phi(s') - Phi(s) over an episode is Phi(end) - Phi(start) = 0 - 0
    assert totals == pytest.approx([returns[e] for e in range(3)], abs=1e-4)
