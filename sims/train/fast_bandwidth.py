"""`gscsim train fast-bandwidth`: FAST's semantic-aware bandwidth allocation agent (seed 001, Sec. IV-C, V-D).

Trains (``--agent ppo``: stable-baselines3 PPO with the paper's lr 1.5e-4, entropy 0.03, gamma
0.99, clip 0.2) or runs (``importance``, ``random``: the paper's two baselines) the allocation
policy of :mod:`sims.fast.bandwidth_env` on K = 5 users whose units are ordered by a trained
ordering policy (``--ordering``, default the shipped ``fast-order-mppo``; ``area``: largest class
first, floor(tau_d / tau_e) per phase; ``conventional``: everything in phase 1). The semantic
dependence d_j (eq. (13)) is the ordering schedule's share of attribute j's units sent in round 1
on the pool maps, normalised. ``--reward shaping`` drops the final precision term (eq. (12)) for
quick runs without the SDM.

Training choices of ours (measured with ``--reward shaping``, 32 train maps, 2 kHz, 3000
episodes, one seed; return = the shaping part of eq. (12); importance-first 9.02, max-rate 9.04,
random 8.39): with the paper's lr 1.5e-4, entropy 0.03, gamma 0.99 PPO did not learn (8.2 at the
end; SB3's diagonal Gaussian's log sigma rose from 0 to 0.55 under the entropy bonus while the
means stayed near 0: an equal split). Entropy 0 and lr 1e-3 moved it a little (8.67); adding the
potential-based shaping and observation / reward normalisation reached 8.61 (gamma 0.99), 8.92
(0.97) and 8.95 (0.9). The defaults are lr 1e-3, entropy 0, gamma 0.97 (the final precision
term still counts over the last ~30 slots), ``--potential``, ``--normalize``; the paper's values
are flags away.

Output folder: ``policy.safetensors`` and ``observation_norm.safetensors`` (PPO) and ``training.json`` (settings, d_j, the curve: per
rollout the episodes so far, mean return, importance-weighted precision and residual latency).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pydantic import Field, model_validator

from phy.rng import derive_seed, resolve_device
from semantic.data import CAMVID_CLASSES, CAMVID_NUM_CLASSES, load_camvid
from semantic.pretrained import load_pretrained
from semantic.receivers.scd import NEVER, ScdConfig
from semantic.receivers.sdm import SemanticUNet
from semantic.segmentation import DualResolutionSegmenter
from semantic.units import CAMVID_ATTRIBUTES, UnitAttributes, present_units

from ..fast.multiuser import MultiUserSettings
from ..fast.precision import ScdPrecision
from ..fast.settings import OrderSettings
from .rl import LearningCurve, RlTrainOptions, ppo_kwargs, save_policy

__all__ = ["FastBandwidthTrainConfig", "NormalizedPolicy", "build_episodes", "load_bandwidth_policy", "ordering_rounds", "train_fast_bandwidth"]


class FastBandwidthTrainConfig(RlTrainOptions):
    """`gscsim train fast-bandwidth` options (each is a command-line flag)."""

    agent: Literal["ppo", "importance", "random"] = Field("ppo", description="PPO, or a baseline (importance first, random split)")
    bandwidth_hz: float = Field(2e3, gt=0, description="B shared by the users (Fig. 10: 2000 in (a), 32000 in (b))")
    episodes: int = Field(2000, ge=1, description="episodes to train for (or run)")
    num_envs: int = Field(16, ge=1, description="episodes stepped together (one batched denoising)")
    n_steps: int = Field(256, ge=1, description="slots per environment per PPO rollout")
    batch_size: int = Field(512, ge=2, description="PPO minibatch size")
    lr: float = Field(1e-3, gt=0, description="learning rate (the paper: 0.00015; too slow here, see the module docstring)")
    ent_coef: float = Field(0.0, ge=0, description="entropy coefficient (the paper: 0.03; it inflates SB3's Gaussian, see the module docstring)")
    gamma: float = Field(0.97, gt=0, le=1, description="discount (the paper: 0.99; see the module docstring)")
    num_maps: int = Field(32, ge=1, description="maps in the pool (the first of the split; few, so SCD chains share prefixes)")
    reward: Literal["full", "shaping"] = Field("full", description="eqs. (12)-(14), or the per-slot shaping only (no SDM)")
    ordering: str = Field("fast-order-mppo", description="the users' ordering: a trained policy, area, or conventional")
    importance: tuple[float, ...] = Field((5.0, 3.0, 1.0, 1.0, 1.0), description="omega_k of the K users")
    step_ms: float = Field(20.0, gt=0, description="time of one denoising step (ms)")
    tx_power_dbm: float = Field(-60.0, description="transmit power (a free scale: see sims.fast.multiuser)")
    potential: bool = Field(True, description="add potential-based shaping on the bits sent towards each head unit (sims.fast.bandwidth_env)")
    normalize: bool = Field(True, description="running normalisation of observations and rewards (SB3 VecNormalize; the statistics ship with the policy)")
    resume: str | None = Field(None, description="a PPO folder to continue (weights, normalisation, curve; Adam restarts); --episodes counts them all")
    state_cache: int = Field(40_000, ge=0, description="SCD chain states kept to share schedule prefixes (12 KB each); 0: off")

    @model_validator(mode="after")
    def _consistent(self) -> FastBandwidthTrainConfig:
        self.settings(OrderSettings())
        if self.resume is not None:
            info_path = Path(self.resume) / "training.json"
            if self.agent != "ppo" or not info_path.is_file():
                raise ValueError(f"resume = {self.resume!r}: needs --agent ppo and a PPO output folder with training.json")
            before = json.loads(info_path.read_text())["settings"]
            changed = [k for k in ("bandwidth_hz", "ordering", "importance", "reward", "normalize", "potential", "w", "window")
                       if before[k] != getattr(self, k) and not (isinstance(before[k], list) and tuple(before[k]) == getattr(self, k))]  # fmt: skip
            if changed:
                raise ValueError(f"resume = {self.resume!r} was trained with other {', '.join(changed)}")
        return self

    def settings(self, order: OrderSettings) -> MultiUserSettings:
        """The multi-user setting with the ordering's phase times."""
        return MultiUserSettings(importance=self.importance, bandwidth_hz=self.bandwidth_hz, step_ms=self.step_ms,
                                 tx_power_dbm=self.tx_power_dbm, order=order)  # fmt: skip


def ordering_rounds(ordering: str, labels: torch.Tensor, units: np.ndarray) -> tuple[np.ndarray, OrderSettings]:
    """(rounds int (P, N): each unit's round, 0 never; the phase times) of an ordering for ``labels``."""
    from ..fast.schedules import fixed_order_schedule

    attributes = UnitAttributes.from_groups(CAMVID_ATTRIBUTES, CAMVID_CLASSES)
    if ordering == "conventional":
        return units.astype(np.int64), OrderSettings()
    if ordering == "area":
        order = OrderSettings()
        area = np.stack([(labels.clamp(max=CAMVID_NUM_CLASSES) == c).flatten(1).sum(1).numpy() for c in range(units.shape[1])], 1)
        per = max(1, int(order.tau_d // order.tau_e))
        arrival, _ = fixed_order_schedule(units, area.astype(float), order, per, per)
        return np.where(arrival < NEVER, arrival // order.tau_d + 1, 0), order
    from ..fast.schedules import policy_schedule
    from ..reports.fast_order import policy_folder
    from .fast_order import load_order_policy

    policy, trained = load_order_policy(policy_folder(ordering))
    order = trained.settings()
    out = policy_schedule(policy, units, attributes, order, masked=trained.agent == "mppo")
    return out["round"], order


def dependence(rounds: np.ndarray, units: np.ndarray) -> np.ndarray:
    """d_j (J,): the share of attribute j's units sent in round 1, normalised to sum 1."""
    attributes = UnitAttributes.from_groups(CAMVID_ATTRIBUTES, CAMVID_CLASSES)
    slot_attr = np.array(attributes.of_slot)
    share = np.array([((rounds == 1) & units & (slot_attr == j)).sum() / max((units & (slot_attr == j)).sum(), 1)
                      for j in range(attributes.num_attributes)])  # fmt: skip
    return share / share.sum() if share.sum() > 0 else np.full(len(share), 1 / len(share))


def build_episodes(config: FastBandwidthTrainConfig, device: str, num_envs: int | None = None, labels=None,
                   oracles: dict | None = None, episode_seed: int | None = None):  # fmt: skip
    """The batched episodes (:class:`sims.fast.bandwidth_env.BandwidthEpisodes`) of a config.

    :param oracles: a dict to share precision oracles in: configs with the same receiver, maps
        and x_T seed get the same :class:`ScdPrecision` (its caches serve every scheme of a study).
    :param episode_seed: the seed of the drops (default ``config.seed``; x_T stays ``config.seed``'s).
    """
    from ..fast.bandwidth_env import BandwidthEpisodes

    if labels is None:
        _, labels = load_camvid(config.data_dir, config.split, image_size=32, num_images=config.num_maps, labels=True)
    units = present_units(labels, CAMVID_NUM_CLASSES).numpy()
    rounds, order = ordering_rounds(config.ordering, labels, units)
    settings = config.settings(order)
    if config.reward == "shaping":
        def oracle(indices, arrival):
            return np.zeros(len(indices))
    else:
        scd = ScdConfig(steps=order.steps, w=config.w, window=config.window)
        key = (config.model, config.segmenter, scd, config.seed, config.data_dir, config.split, config.num_maps, device)
        oracle = (oracles or {}).get(key)
        if oracle is None:
            oracle = ScdPrecision(
                load_pretrained(config.model, SemanticUNet), load_pretrained(config.segmenter, DualResolutionSegmenter),
                labels, CAMVID_NUM_CLASSES, scd, noise_seed=config.seed, device=device, state_cache_size=config.state_cache,
            )  # fmt: skip
            if oracles is not None:
                oracles[key] = oracle
    attributes = UnitAttributes.from_groups(CAMVID_ATTRIBUTES, CAMVID_CLASSES)
    d = dependence(rounds, units)
    gamma = config.gamma if config.potential and config.agent == "ppo" else None
    seed = config.seed if episode_seed is None else episode_seed
    return BandwidthEpisodes(units, rounds, attributes, d, oracle, settings, num_envs or config.num_envs, seed, gamma)


def _record(info: dict) -> dict:
    return {"precision": info["weighted_precision"], "residual_steps": info["weighted_residual_steps"]}


def train_fast_bandwidth(config: FastBandwidthTrainConfig, quiet: bool = False) -> Path:
    """Train PPO (or run a baseline) and write the output folder (module docstring)."""
    from ..fast.bandwidth_env import BandwidthVecEnv, importance_shares, random_shares

    device = resolve_device(config.device)
    out = Path(config.output or f"results/train/fast-bandwidth-{config.agent}-{config.bandwidth_hz:g}")
    torch.manual_seed(config.seed)
    before = json.loads((Path(config.resume) / "training.json").read_text()) if config.resume else None
    done_before = before["episodes"] if before else 0
    # a resumed run draws new drops (the same seed would replay the first run's)
    episodes = build_episodes(config, device, episode_seed=derive_seed(config.seed, "resume", done_before) if before else None)
    curve = LearningCurve(_record)
    start = time.perf_counter()
    budget = 60 * config.max_minutes
    agent = None
    if config.agent == "ppo":
        from stable_baselines3 import PPO
        from stable_baselines3.common.callbacks import BaseCallback

        env = BandwidthVecEnv(episodes)
        if config.normalize:
            from stable_baselines3.common.vec_env import VecNormalize

            env = VecNormalize(env, gamma=config.gamma)

        class Track(BaseCallback):
            def _on_step(self) -> bool:
                curve.add(self.locals["infos"], self.locals["dones"])
                return done_before + len(curve.episodes) < config.episodes and time.perf_counter() - start < budget

            def _on_rollout_end(self) -> None:
                if curve.close_rollout(time.perf_counter() - start) and not quiet:
                    row = curve.rows[-1]
                    print(f"episodes {row['episodes']}: return {row['return']:.3f} precision {row['precision']:.4f} "
                          f"residual {row['residual_steps']:.1f} ({row['seconds']:.0f} s)", flush=True)  # fmt: skip

        agent = PPO("MlpPolicy", env, **ppo_kwargs(config))
        if before:
            _load_state(agent, Path(config.resume))
        agent.learn(total_timesteps=10**12, callback=Track())
    else:
        rng = np.random.default_rng(config.seed)
        episodes.reset(np.ones(episodes.E, bool))
        slots = 0
        while len(curve.episodes) < config.episodes and time.perf_counter() - start < budget:
            shares = importance_shares(episodes) if config.agent == "importance" else random_shares(episodes, rng)
            _, done, infos = episodes.step(shares)
            curve.add(infos, done)
            episodes.reset(done)
            slots += 1
            if slots % config.n_steps == 0:
                curve.close_rollout(time.perf_counter() - start)
    seconds = time.perf_counter() - start
    out.mkdir(parents=True, exist_ok=True)
    if agent is not None:
        save_policy(agent.policy, out)
        if config.normalize:
            _save_normalization(agent.get_env(), out)
    rows = curve.rows
    if before:  # the resumed run's rows continue the first's
        rows = before["curve"] + [r | {"episodes": r["episodes"] + done_before, "seconds": r["seconds"] + before["seconds"]} for r in rows]
        seconds += before["seconds"]
    info = {"settings": config.model_dump(), "device": device, "seconds": round(seconds, 1),
            "episodes": done_before + len(curve.episodes), "dependence": episodes.dependence.tolist(),
            "observation_size": episodes.K * (episodes.J + 2), "users": episodes.K, "curve": rows}  # fmt: skip
    oracle = episodes.oracle
    if hasattr(oracle, "steps_run"):
        info["oracle"] = {"images": oracle.images_denoised, "steps_run": oracle.steps_run, "steps_full": oracle.steps_full}
    (out / "training.json").write_text(json.dumps(info, indent=1))
    return out


def _save_normalization(env, out: Path) -> None:
    """``observation_norm.safetensors``: VecNormalize's running observation and return statistics."""
    from safetensors.torch import save_file

    tensors = {}
    for prefix, rms in (("", env.obs_rms), ("return_", env.ret_rms)):
        tensors |= {f"{prefix}mean": torch.as_tensor(rms.mean, dtype=torch.float64),
                    f"{prefix}var": torch.as_tensor(rms.var, dtype=torch.float64),
                    f"{prefix}count": torch.tensor(float(rms.count), dtype=torch.float64)}  # fmt: skip
    save_file(tensors, out / "observation_norm.safetensors")


def _load_state(agent, folder: Path) -> None:
    """Continue ``agent`` (SB3 PPO) from a PPO output folder: weights and normalisation statistics."""
    from safetensors.torch import load_file

    agent.policy.load_state_dict(load_file(folder / "policy.safetensors"))
    env = agent.get_env()
    if hasattr(env, "obs_rms"):
        stats = {k: v.numpy() for k, v in load_file(folder / "observation_norm.safetensors").items()}
        for prefix, rms in (("", env.obs_rms), ("return_", env.ret_rms)):
            if f"{prefix}mean" in stats:  # the first shipped files kept the observation statistics only
                rms.mean, rms.var = stats[f"{prefix}mean"], stats[f"{prefix}var"]
                rms.count = float(stats.get(f"{prefix}count", 1e4))


class NormalizedPolicy:
    """A policy behind the observation normalisation it was trained with (SB3 ``VecNormalize``:
    (obs - mean) / sqrt(var + 1e-8), clipped to +-10)."""

    def __init__(self, policy, mean: np.ndarray, var: np.ndarray):
        self.policy, self.mean, self.std = policy, mean, np.sqrt(var + 1e-8)
        self.action_space = policy.action_space

    def predict(self, observation: np.ndarray, deterministic: bool = True):
        """The wrapped policy's ``predict`` on the normalised observation."""
        normalised = np.clip((observation - self.mean) / self.std, -10.0, 10.0).astype(np.float32)
        return self.policy.predict(normalised, deterministic=deterministic)


def load_bandwidth_policy(folder: str | Path):
    """(policy, config) of a trained PPO folder (weights from safetensors, no pickle); the policy
    normalises its observations as in training (:class:`NormalizedPolicy`) when it was trained so."""
    import gymnasium as gym
    from safetensors.torch import load_file
    from stable_baselines3.common.policies import ActorCriticPolicy

    folder = Path(folder)
    info = json.loads((folder / "training.json").read_text())
    config = FastBandwidthTrainConfig.model_validate_json(json.dumps(info["settings"]))  # JSON mode: lists are tuples
    if config.agent != "ppo":
        raise ValueError(f"{folder}: a {config.agent} allocation has no weights")
    observation = gym.spaces.Box(-np.inf, np.inf, (info["observation_size"],), np.float32)
    action = gym.spaces.Box(-5.0, 5.0, (info["users"],), np.float32)
    policy = ActorCriticPolicy(observation, action, lambda _: 0.0, net_arch=[64, 64])
    policy.load_state_dict(load_file(folder / "policy.safetensors"))
    policy.eval()
    if config.normalize:
        stats = load_file(folder / "observation_norm.safetensors")
        return NormalizedPolicy(policy, stats["mean"].numpy(), stats["var"].numpy()), config
    return policy, config
