"""`gscsim train fast-bandwidth`: FAST's semantic-aware bandwidth allocation agent (seed 001, Sec. IV-C, V-D).

Trains (``--agent ppo``: stable-baselines3 PPO with the paper's lr 1.5e-4, entropy 0.03, gamma
0.99, clip 0.2) or runs (``importance``, ``random``: the paper's two baselines) the allocation
policy of :mod:`sims.fast.bandwidth_env` on K = 5 users whose units are ordered by a trained
ordering policy (``--ordering``, default the shipped ``fast-order-mppo``; ``area``: largest class
first, floor(tau_d / tau_e) per phase; ``conventional``: everything in phase 1). The semantic
dependence d_j (eq. (13)) is the ordering schedule's share of attribute j's units sent in round 1
on the pool maps, normalised. ``--reward shaping`` drops the final precision term (eq. (12)) for
quick runs without the SDM.

Output folder: ``policy.safetensors`` (PPO) and ``training.json`` (settings, d_j, the curve: per
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

from phy.rng import resolve_device
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

__all__ = ["FastBandwidthTrainConfig", "build_episodes", "ordering_rounds", "train_fast_bandwidth"]


class FastBandwidthTrainConfig(RlTrainOptions):
    """`gscsim train fast-bandwidth` options (each is a command-line flag)."""

    agent: Literal["ppo", "importance", "random"] = Field("ppo", description="PPO, or a baseline (importance first, random split)")
    bandwidth_hz: float = Field(2e3, gt=0, description="B shared by the users (Fig. 10: 2000 in (a), 32000 in (b))")
    episodes: int = Field(2000, ge=1, description="episodes to train for (or run)")
    num_envs: int = Field(16, ge=1, description="episodes stepped together (one batched denoising)")
    n_steps: int = Field(256, ge=1, description="slots per environment per PPO rollout")
    batch_size: int = Field(512, ge=2, description="PPO minibatch size")
    lr: float = Field(1.5e-4, gt=0, description="learning rate (the paper: 0.00015)")
    ent_coef: float = Field(0.03, ge=0, description="entropy coefficient (the paper: 0.03)")
    reward: Literal["full", "shaping"] = Field("full", description="eqs. (12)-(14), or the per-slot shaping only (no SDM)")
    ordering: str = Field("fast-order-mppo", description="the users' ordering: a trained policy, area, or conventional")
    importance: tuple[float, ...] = Field((5.0, 3.0, 1.0, 1.0, 1.0), description="omega_k of the K users")
    step_ms: float = Field(20.0, gt=0, description="time of one denoising step (ms)")
    tx_power_dbm: float = Field(-60.0, description="transmit power (a free scale: see sims.fast.multiuser)")

    @model_validator(mode="after")
    def _consistent(self) -> FastBandwidthTrainConfig:
        self.settings(OrderSettings())
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


def build_episodes(config: FastBandwidthTrainConfig, device: str, num_envs: int | None = None, labels=None):
    """The batched episodes (:class:`sims.fast.bandwidth_env.BandwidthEpisodes`) of a config."""
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
        oracle = ScdPrecision(
            load_pretrained(config.model, SemanticUNet), load_pretrained(config.segmenter, DualResolutionSegmenter),
            labels, CAMVID_NUM_CLASSES, ScdConfig(steps=order.steps, w=config.w, window=config.window), noise_seed=config.seed,
            device=device,
        )  # fmt: skip
    attributes = UnitAttributes.from_groups(CAMVID_ATTRIBUTES, CAMVID_CLASSES)
    d = dependence(rounds, units)
    return BandwidthEpisodes(units, rounds, attributes, d, oracle, settings, num_envs or config.num_envs, config.seed)


def _record(info: dict) -> dict:
    return {"precision": info["weighted_precision"], "residual_steps": info["weighted_residual_steps"]}


def train_fast_bandwidth(config: FastBandwidthTrainConfig, quiet: bool = False) -> Path:
    """Train PPO (or run a baseline) and write the output folder (module docstring)."""
    from ..fast.bandwidth_env import BandwidthVecEnv, importance_shares, random_shares

    device = resolve_device(config.device)
    out = Path(config.output or f"results/train/fast-bandwidth-{config.agent}-{config.bandwidth_hz:g}")
    torch.manual_seed(config.seed)
    episodes = build_episodes(config, device)
    curve = LearningCurve(_record)
    start = time.perf_counter()
    budget = 60 * config.max_minutes
    agent = None
    if config.agent == "ppo":
        from stable_baselines3 import PPO
        from stable_baselines3.common.callbacks import BaseCallback

        env = BandwidthVecEnv(episodes)

        class Track(BaseCallback):
            def _on_step(self) -> bool:
                curve.add(self.locals["infos"], self.locals["dones"])
                return len(curve.episodes) < config.episodes and time.perf_counter() - start < budget

            def _on_rollout_end(self) -> None:
                if curve.close_rollout(time.perf_counter() - start) and not quiet:
                    row = curve.rows[-1]
                    print(f"episodes {row['episodes']}: return {row['return']:.3f} precision {row['precision']:.4f} "
                          f"residual {row['residual_steps']:.1f} ({row['seconds']:.0f} s)", flush=True)  # fmt: skip

        agent = PPO("MlpPolicy", env, **ppo_kwargs(config))
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
    info = {"settings": config.model_dump(), "device": device, "seconds": round(seconds, 1),
            "episodes": len(curve.episodes), "dependence": episodes.dependence.tolist(),
            "observation_size": episodes.K * (episodes.J + 2), "users": episodes.K, "curve": curve.rows}  # fmt: skip
    (out / "training.json").write_text(json.dumps(info, indent=1))
    return out


def load_bandwidth_policy(folder: str | Path):
    """(policy, config) of a trained PPO folder (weights from safetensors, no pickle)."""
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
    return policy.eval(), config
