"""FAST's ordering MDP (seed 001): masks, phase bookkeeping, batching, the agents, the schedules."""

import numpy as np
import pytest
import torch

from semantic.data import CAMVID_CLASSES
from semantic.receivers.scd import NEVER, ScdConfig
from semantic.receivers.sdm import SemanticUNet
from semantic.segmentation import DualResolutionSegmenter
from semantic.units import CAMVID_ATTRIBUTES, UnitAttributes, present_units
from sims.fast.order_env import (
    FastOrderEnv,
    FastOrderVecEnv,
    OrderEpisodes,
    episode_rngs,
)
from sims.fast.precision import ScdPrecision
from sims.fast.schedules import fixed_order_schedule, policy_schedule
from sims.fast.settings import OrderSettings
from sims.train.fast_order import RandomValidPolicy

ATTRIBUTES = UnitAttributes.from_groups(CAMVID_ATTRIBUTES, CAMVID_CLASSES)
N = ATTRIBUTES.num_slots


class Recorder:
    """A precision oracle that records what it was asked and returns the share of units that arrived."""

    def __init__(self):
        self.calls = []

    def __call__(self, indices, arrival):
        self.calls.append((indices.copy(), arrival.copy()))
        return (arrival < NEVER).mean(1)


def action(picks=(), lead=0):
    a = np.zeros(N + 1, dtype=np.int64)
    a[list(picks)] = 1
    a[N] = lead
    return a


def one_episode(units_row, settings, oracle=None):
    episodes = OrderEpisodes(units_row[None], ATTRIBUTES, oracle or Recorder(), settings, episode_rngs(0, 1))
    episodes.reset(np.array([True]))
    return episodes


def test_unit_attributes_and_present_units():
    assert ATTRIBUTES.num_attributes == 5 and ATTRIBUTES.names[ATTRIBUTES.of_slot[CAMVID_CLASSES.index("Car")]] == "objects"
    assert ATTRIBUTES.names[ATTRIBUTES.of_slot[-1]] == "other"  # void
    with pytest.raises(ValueError, match="without an attribute: Car"):
        UnitAttributes.from_groups({"a": tuple(c for c in CAMVID_CLASSES if c != "Car")}, CAMVID_CLASSES)
    with pytest.raises(ValueError, match="unknown class 'Lorry'"):
        UnitAttributes.from_groups({"a": ("Lorry",)}, CAMVID_CLASSES)
    labels = torch.tensor([[[0, 0], [3, 11]], [[5, 5], [5, 5]]])
    present = present_units(labels, 11)
    assert present[0].nonzero().flatten().tolist() == [0, 3, 11] and present[1].nonzero().flatten().tolist() == [5]
    assert present_units(labels, 11, min_pixels=2)[0].nonzero().flatten().tolist() == [0]
    O = ATTRIBUTES.one_hot(present)
    assert O.shape == (2, N, 5) and O[0].sum() == 3 and O[1, 0].sum() == 0  # padding rows are zero


def test_masks_forbid_exactly_padding_and_sent_units():
    units = np.zeros(N, dtype=bool)
    units[[0, 3, 5, 11]] = True
    episodes = one_episode(units, OrderSettings())
    masks = episodes.action_masks()[0]
    send, lead = masks[1 : 2 * N : 2], masks[2 * N :]
    assert masks[0 : 2 * N : 2].all()  # "do not send" is always allowed
    assert np.array_equal(send, units) and np.array_equal(lead, units)  # phase 1: the lead is a present unit
    episodes.step(action([0], lead=3)[None])
    masks = episodes.action_masks()[0]
    expect = units.copy()
    expect[[0, 3]] = False  # sent
    assert np.array_equal(masks[1 : 2 * N : 2], expect)
    assert masks[2 * N :].tolist() == [True] + [False] * (N - 1)  # after phase 1 the lead is ignored (slot 0)
    obs = episodes.observations()[0]
    assert obs.shape == (N * 5 + 1 + N,) and obs[N * 5] == pytest.approx(10 / 60) and np.array_equal(obs[-N:], expect)


def test_phase_latency_bookkeeping_by_hand():
    settings = OrderSettings(steps=30, tau_d=10, tau_e=4.0, latency_weight=0.01)
    units = np.zeros(N, dtype=bool)
    units[[0, 1, 2, 3, 4, 5, 6]] = True
    oracle = Recorder()
    episodes = one_episode(units, settings, oracle)
    r1, d1, _ = episodes.step(action([0], lead=1)[None])  # phase 1: 2 units, no denoising: 2 x 4 = 8 steps
    r2, d2, _ = episodes.step(action([2, 3, 4])[None])  # during segment [0, 10): 12 > 10: 2 steps extra
    r3, d3, info = episodes.step(action([5])[None])  # during [10, 20): 4 < 10: no extra; k reaches 30: done
    assert r1[0] == pytest.approx(-0.08) and r2[0] == pytest.approx(-0.02) and not d1[0] and not d2[0] and d3[0]
    arrival = oracle.calls[0][1][0]
    assert arrival[:7].tolist() == [0, 0, 10, 10, 10, 20, NEVER] and (arrival[7:] == NEVER).all()
    assert info[0]["residual_latency"] == pytest.approx(10.0) and info[0]["round"][:7].tolist() == [1, 1, 2, 2, 2, 3, 0]
    assert r3[0] == pytest.approx(6 / N)  # no latency term, + the precision (the recorder: 6 of 12 units arrived)
    assert info[0]["episode"]["r"] == pytest.approx(-0.1 + 6 / N) and info[0]["phases"] == 3


def test_an_empty_first_phase_idles_one_extraction_and_repeats():
    """Without masks an invalid pick has no effect; nothing valid in phase 1 costs tau_e and repeats."""
    settings = OrderSettings(steps=20, tau_d=10, tau_e=5.0, latency_weight=0.01, max_phases=3)
    units = np.zeros(N, dtype=bool)
    units[[2, 7]] = True
    oracle = Recorder()
    episodes = one_episode(units, settings, oracle)
    r, done, _ = episodes.step(action([0, 1], lead=4)[None])  # all absent
    assert r[0] == pytest.approx(-0.05) and not done[0] and episodes.k[0] == 0 and not episodes.started[0]
    episodes.step(action([0])[None])
    r, done, info = episodes.step(action([1])[None])  # the third idle phase: the limit (lead 0, absent, counts)
    assert done[0] and info[0]["precision"] == 0 and info[0]["residual_latency"] == pytest.approx(15)
    assert info[0]["invalid_picks"] == 3 + 2 + 2 and (oracle.calls[0][1] == NEVER).all()


@pytest.fixture(scope="module")
def tiny_oracle_parts():
    torch.manual_seed(0)
    sdm = SemanticUNet(4, (8, 16)).eval()
    segmenter = DualResolutionSegmenter(num_classes=3, width=4).eval()
    g = torch.Generator().manual_seed(5)
    labels = torch.randint(0, 4, (6, 8, 8), generator=g).repeat_interleave(1, 0)
    return sdm, segmenter, labels


def tiny_oracle(parts, cache_size=0, state_cache_size=0):
    sdm, segmenter, labels = parts
    return ScdPrecision(sdm, segmenter, labels, 3, ScdConfig(steps=4, w=1.0), noise_seed=7, cache_size=cache_size,
                        state_cache_size=state_cache_size)  # fmt: skip


def test_batched_env_steps_equal_unbatched_ones(tiny_oracle_parts):
    settings = OrderSettings(steps=4, tau_d=2, tau_e=1.0)
    labels = tiny_oracle_parts[2]
    units = present_units(labels, 3).numpy()
    attributes = UnitAttributes(("a", "b"), (0, 0, 1, 1))
    vec = FastOrderVecEnv(units, attributes, tiny_oracle(tiny_oracle_parts), settings, num_envs=3, seed=11)
    singles = [FastOrderEnv(units, attributes, tiny_oracle(tiny_oracle_parts), settings, seed=11, slot=b) for b in range(3)]
    policy = RandomValidPolicy(0)
    obs = vec.reset()
    single_obs = [env.reset()[0] for env in singles]
    assert np.array_equal(obs, np.stack(single_obs))
    ended = 0
    for _ in range(7):
        actions = policy.predict(vec.action_masks(), 4)
        assert np.array_equal(vec.action_masks(), np.stack([env.action_masks() for env in singles]))
        vec.step_async(actions)
        obs, rewards, dones, infos = vec.step_wait()
        for b, env in enumerate(singles):
            o, r, done, _, info = env.step(actions[b])
            assert done == dones[b] and r == pytest.approx(rewards[b], abs=1e-6)
            if done:
                ended += 1
                assert np.array_equal(infos[b]["terminal_observation"], o) and info["image"] == infos[b]["image"]
                o, _ = env.reset()
            assert np.array_equal(o, obs[b])
    assert ended >= 6  # two phases per episode: every env ended several episodes


def test_the_oracle_caches_and_gives_each_image_its_own_noise(tiny_oracle_parts):
    oracle = tiny_oracle(tiny_oracle_parts, cache_size=10)
    arrival = np.array([[0, 0, 2, NEVER], [0, 2, NEVER, NEVER]])
    first = oracle(np.array([1, 4]), arrival)
    alone = tiny_oracle(tiny_oracle_parts)(np.array([4]), arrival[1:])
    assert first[1] == pytest.approx(alone[0]) and oracle.images_denoised == 2
    again = oracle(np.array([4, 1]), arrival[::-1])
    assert np.array_equal(again, first[::-1]) and oracle.images_denoised == 2  # served from the cache
    assert torch.equal(oracle.noise(np.array([3])), oracle.noise(np.array([2, 3]))[1:])


def test_the_oracle_runs_each_shared_chain_prefix_once_with_the_same_images(tiny_oracle_parts):
    whole, shared = tiny_oracle(tiny_oracle_parts), tiny_oracle(tiny_oracle_parts, state_cache_size=100)
    indices = np.array([2, 2, 2, 5, 2])
    arrival = np.array([[0, 0, 2, NEVER], [0, 0, 3, NEVER], [0, 0, 2, 3], [0, 1, NEVER, NEVER], [0, 0, NEVER, 2]])
    images = shared.denoise_shared(indices, arrival)
    # batches of other sizes round differently (oneDNN picks kernels by shape): 2e-5 seen on one CPU
    assert torch.allclose(images, whole.denoise(indices, arrival).images, atol=1e-4)
    # image 2's four schedules: steps 0-1 run once (all arrived at 0), step 2 once per distinct
    # arrivals before 3 (three), step 3 once per schedule; image 5: its four steps
    assert shared.steps_run == 2 + 3 + 4 + 4 and shared.steps_full == 5 * 4
    late = np.array([[0, 0, 3, 2]])  # shares the last schedule's state entering step 3
    again = shared.denoise_shared(np.array([2]), late)
    assert shared.steps_run == 13 + 1
    assert torch.allclose(again, whole.denoise(np.array([2]), late).images, atol=1e-4)
    with pytest.raises(ValueError, match="eta"):
        ScdPrecision(*tiny_oracle_parts[:3], 3, ScdConfig(steps=4, eta=1.0), state_cache_size=10)


def toy_env(num_envs=8, seed=0):
    rng = np.random.default_rng(0)
    units = rng.random((12, N)) < 0.6
    units[:, 3] = True
    return FastOrderVecEnv(units, ATTRIBUTES, Recorder(), OrderSettings(), num_envs=num_envs, seed=seed)


def test_masked_ppo_updates_never_emit_an_invalid_action():
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.callbacks import BaseCallback

    env = toy_env()
    invalid = []

    class Watch(BaseCallback):
        def _on_step(self):
            invalid.extend(i["invalid_picks"] for i, d in zip(self.locals["infos"], self.locals["dones"]) if d)
            return True

    agent = MaskablePPO("MlpPolicy", env, n_steps=12, batch_size=48, n_epochs=2, learning_rate=0.009, seed=0, device="cpu")
    before = [p.detach().clone() for p in agent.policy.parameters()]
    agent.learn(3 * 12 * env.num_envs, callback=Watch())
    assert len(invalid) >= 3 * 2 * env.num_envs and max(invalid) == 0
    assert any(not torch.equal(a, b) for a, b in zip(before, agent.policy.parameters()))  # the updates ran
    masks = env.action_masks()
    actions, _ = agent.predict(env.episodes.observations(), action_masks=masks)
    valid = env.episodes.valid()
    assert not (actions[:, :N].astype(bool) & ~valid).any() and valid[np.arange(len(valid)), actions[:, N]].all()


def test_ppo_without_masks_picks_invalid_units_to_no_effect():
    from stable_baselines3 import PPO

    env = toy_env()
    agent = PPO("MlpPolicy", env, n_steps=12, batch_size=48, n_epochs=1, seed=0, device="cpu")
    agent.learn(12 * env.num_envs)
    oracle = env.episodes.oracle
    indices, arrival = map(np.concatenate, zip(*oracle.calls))
    assert ((arrival < NEVER) <= env.episodes.units[indices]).all()  # only present units ever arrive


def test_fixed_order_schedules_by_hand():
    settings = OrderSettings(steps=30, tau_d=10, tau_e=4.0)
    units = np.array([[True, True, True, True, True, False]])
    priority = np.array([[1.0, 5.0, 3.0, 4.0, 2.0, 9.0]])
    arrival, residual = fixed_order_schedule(units, priority, settings, first=2, per_phase=3)
    assert arrival[0].tolist() == [10, 0, 10, 0, 10, NEVER] and residual[0] == pytest.approx(8 + 2)
    arrival, residual = fixed_order_schedule(units, priority, settings, first=1, per_phase=1)
    assert arrival[0].tolist() == [NEVER, 0, 20, 10, NEVER, NEVER] and residual[0] == 4  # two discarded
    with pytest.raises(ValueError, match="first"):
        fixed_order_schedule(units, priority, settings, first=0, per_phase=1)


def test_the_shipped_policy_orders_valid_units_and_learned(tmp_path):
    from sims.reports.fast_order import curve_summary, policy_folder
    from sims.train.fast_order import load_order_policy

    policy, trained = load_order_policy(policy_folder("fast-order-mppo"))
    assert trained.agent == "mppo" and trained.w == 0
    rng = np.random.default_rng(1)
    units = rng.random((20, N)) < 0.7
    units[:, 0] = True
    out = policy_schedule(policy, units, ATTRIBUTES, trained.settings())
    sent = out["arrival"] < NEVER
    assert (sent <= units).all() and (out["arrival"][sent] % trained.tau_d == 0).all() and sent.any(1).all()
    assert ((out["round"] > 0) == sent).all() and (out["residual"] >= trained.tau_e).all()
    mppo, random = curve_summary(policy_folder("fast-order-mppo")), curve_summary(policy_folder("fast-order-random"))
    assert mppo["tail_return"] > random["tail_return"] + 0.02  # the shipped agent beats a random valid policy
