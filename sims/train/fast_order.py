"""`gscsim train fast-order`: FAST's temporal-prompt-engineering agent (seed 001, Sec. IV-A, V-A).

Trains the policy that orders a request's semantic units (here: the classes of a CamVid label
map, :mod:`semantic.units`) on the MDP of :mod:`sims.fast.order_env`, whose final reward is the
segmenter's mIoU of the image the SCD receiver denoises (:class:`sims.fast.precision.ScdPrecision`).

Agents (``--agent``):

- ``mppo``: sb3-contrib's MaskablePPO with the masks of eq. (7) (the paper's MPPO);
- ``ppo``: stable-baselines3's PPO without masks (invalid picks have no effect);
- ``random``: a uniformly random *valid* policy (each valid unit sent with probability 1/2, the
  lead unit uniform over the valid ones), the Fig. 6 floor; nothing is trained.

PPO's settings are the paper's (Sec. V, "Training Hyperparameters"): learning rate 0.009,
entropy coefficient 0.01, discount 0.99, clip 0.2; rollouts of ``n_steps`` phases in each of
``num_envs`` environments (all denoised together, one batched SCD per phase in which
episodes end), minibatches of ``batch_size``, ``n_epochs`` passes (stable-baselines3's default
10), a 64-64 MLP actor and critic. Training stops after ``episodes`` episodes or
``max_minutes`` of wall time, whichever first.

Output folder: ``policy.safetensors`` (the policy's weights; loading builds the network from
``training.json`` and never unpickles stable-baselines3's zip) and ``training.json`` (settings,
the learning curve: one row per rollout with episodes so far and the mean return, precision
and residual latency of the episodes that ended in it; episodes per second; device).
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
from semantic.receivers.scd import ScdConfig
from semantic.receivers.sdm import SemanticUNet
from semantic.segmentation import DualResolutionSegmenter
from semantic.units import CAMVID_ATTRIBUTES, UnitAttributes, present_units

from ..fast.order_env import FastOrderVecEnv, OrderSettings
from ..fast.precision import ScdPrecision
from .rl import LearningCurve, RlTrainOptions, ppo_kwargs, save_policy

__all__ = [
    "FastOrderTrainConfig",
    "RandomValidPolicy",
    "build_env",
    "load_order_policy",
    "train_fast_order",
]


class FastOrderTrainConfig(RlTrainOptions):
    """`gscsim train fast-order` options (each is a command-line flag)."""

    agent: Literal["mppo", "ppo", "random"] = Field("mppo", description="MaskablePPO, PPO without masks, or a random valid policy")
    episodes: int = Field(20000, ge=1, description="episodes to train for (or to run, for random)")
    num_envs: int = Field(64, ge=1, description="environments stepped together (one batched denoising)")
    n_steps: int = Field(12, ge=1, description="phases per environment per PPO rollout")
    batch_size: int = Field(256, ge=2, description="PPO minibatch size")
    lr: float = Field(0.009, gt=0, description="learning rate (the paper: 0.009)")
    ent_coef: float = Field(0.01, ge=0, description="entropy coefficient (the paper: 0.01)")
    steps: int = Field(60, ge=1, description="T_d, denoising steps")
    tau_d: int = Field(10, ge=1, description="steps per denoising segment")
    tau_e: float = Field(5.0, gt=0, description="extraction time of one unit, in step durations")
    latency_weight: float = Field(0.001, ge=0, description="lambda: reward per step of residual latency")
    scale: float = Field(1.5, description="the receiver's guidance scale s")
    image_size: int = Field(32, ge=8, description="map size (the SDM's)")
    init: str | None = Field(None, description="start from this trained policy folder (continue training)")

    @model_validator(mode="after")
    def _consistent(self) -> FastOrderTrainConfig:
        self.settings()  # tau_d must divide steps, ...
        self.scd()
        return self

    def settings(self) -> OrderSettings:
        """The MDP's times and weights."""
        return OrderSettings(steps=self.steps, tau_d=self.tau_d, tau_e=self.tau_e, latency_weight=self.latency_weight)

    def scd(self) -> ScdConfig:
        """The receiver."""
        return ScdConfig(steps=self.steps, scale=self.scale, w=self.w, window=self.window)


def pool_labels(config: FastOrderTrainConfig) -> torch.Tensor:
    """The pool's label maps int64 (P, S, S)."""
    _, labels = load_camvid(config.data_dir, config.split, image_size=config.image_size, num_images=config.num_maps, labels=True)
    return labels


def build_env(config: FastOrderTrainConfig, labels: torch.Tensor, device: str, num_envs: int | None = None,
              seed: int | None = None) -> FastOrderVecEnv:  # fmt: skip
    """The vector env over ``labels`` with the shipped SDM and segmenter on ``device``."""
    attributes = UnitAttributes.from_groups(CAMVID_ATTRIBUTES, CAMVID_CLASSES)
    oracle = ScdPrecision(
        load_pretrained(config.model, SemanticUNet), load_pretrained(config.segmenter, DualResolutionSegmenter),
        labels, CAMVID_NUM_CLASSES, config.scd(), noise_seed=config.seed, device=device,
    )  # fmt: skip
    units = present_units(labels, CAMVID_NUM_CLASSES).numpy()
    return FastOrderVecEnv(units, attributes, oracle, config.settings(), num_envs or config.num_envs,
                           config.seed if seed is None else seed)  # fmt: skip


class RandomValidPolicy:
    """Each valid unit sent with probability 1/2; the lead unit uniform over the valid ones."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)

    def predict(self, masks: np.ndarray, num_units: int) -> np.ndarray:
        """int (B, N + 1) actions for masks bool (B, 3 N)."""
        B = len(masks)
        send = masks[:, 1 : 2 * num_units : 2]
        picks = send & (self.rng.random(send.shape) < 0.5)
        lead_mask = masks[:, 2 * num_units :]
        scores = np.where(lead_mask, self.rng.random(lead_mask.shape), -1.0)
        return np.concatenate([picks.astype(np.int64), scores.argmax(1)[:, None]], axis=1).reshape(B, num_units + 1)


def _ppo(config: FastOrderTrainConfig, env: FastOrderVecEnv):
    if config.agent == "mppo":
        from sb3_contrib import MaskablePPO

        return MaskablePPO("MlpPolicy", env, **ppo_kwargs(config))
    from stable_baselines3 import PPO

    return PPO("MlpPolicy", env, **ppo_kwargs(config))


def _record(info: dict) -> dict:
    return {k: info[k] for k in ("precision", "residual_latency", "invalid_picks")}


def _learn(agent, env: FastOrderVecEnv, curve: LearningCurve, config: FastOrderTrainConfig, start: float, quiet: bool) -> None:
    from stable_baselines3.common.callbacks import BaseCallback

    class Track(BaseCallback):
        def _on_step(self) -> bool:
            curve.add(self.locals["infos"], self.locals["dones"])
            return len(curve.episodes) < config.episodes and time.perf_counter() - start < 60 * config.max_minutes

        def _on_rollout_end(self) -> None:
            if curve.close_rollout(time.perf_counter() - start) and not quiet:
                row = curve.rows[-1]
                print(f"episodes {row['episodes']}: return {row['return']:.4f} precision {row['precision']:.4f} "
                      f"residual {row['residual_latency']:.1f} ({row['seconds']:.0f} s)", flush=True)  # fmt: skip

    agent.learn(total_timesteps=10**12, callback=Track())  # a rollout cut short by the budget is not a row


def _run_random(env: FastOrderVecEnv, curve: LearningCurve, config: FastOrderTrainConfig, start: float) -> None:
    policy = RandomValidPolicy(config.seed)
    env.reset()
    rollout = env.num_envs * config.n_steps
    steps = 0
    while len(curve.episodes) < config.episodes and time.perf_counter() - start < 60 * config.max_minutes:
        env.step_async(policy.predict(env.action_masks(), env.episodes.N))
        _, _, dones, infos = env.step_wait()
        curve.add(infos, dones)
        steps += env.num_envs
        if steps % rollout == 0:
            curve.close_rollout(time.perf_counter() - start)


def train_fast_order(config: FastOrderTrainConfig, quiet: bool = False) -> Path:
    """Train (or run, for ``random``) the agent; return the output folder."""
    device = resolve_device(config.device)
    out = Path(config.output or f"results/train/fast-order-{config.agent}")
    torch.manual_seed(config.seed)
    labels = pool_labels(config)
    env = build_env(config, labels, device)
    curve = LearningCurve(_record)
    start = time.perf_counter()
    agent = None
    if config.agent == "random":
        _run_random(env, curve, config, start)
    else:
        agent = _ppo(config, env)
        if config.init:
            agent.policy.load_state_dict(load_order_policy(config.init)[0].state_dict())
        _learn(agent, env, curve, config, start, quiet)
    seconds = time.perf_counter() - start
    out.mkdir(parents=True, exist_ok=True)
    if agent is not None:
        save_policy(agent.policy, out)
    oracle = env.episodes.oracle
    info = {
        "settings": config.model_dump(), "device": device, "seconds": round(seconds, 1),
        "episodes": len(curve.episodes), "episodes_per_second": round(len(curve.episodes) / seconds, 3),
        "images_denoised": oracle.images_denoised, "cache_size": len(oracle.cache),
        "observation_size": env.episodes.observation_size, "action_nvec": env.episodes.action_nvec,
        "curve": curve.rows,
    }  # fmt: skip
    (out / "training.json").write_text(json.dumps(info, indent=1))
    return out


def load_order_policy(folder: str | Path):
    """(policy, FastOrderTrainConfig) of a trained folder: the network rebuilt from ``training.json``,
    its weights from ``policy.safetensors`` (no pickle). ``policy.predict(obs, action_masks=...)``
    for a MaskablePPO policy."""
    import gymnasium as gym
    from safetensors.torch import load_file

    folder = Path(folder)
    info = json.loads((folder / "training.json").read_text())
    config = FastOrderTrainConfig.model_validate_json(json.dumps(info["settings"]))
    if config.agent == "random":
        raise ValueError(f"{folder}: a random policy has no weights")
    observation = gym.spaces.Box(0.0, 1.0, (info["observation_size"],), np.float32)
    action = gym.spaces.MultiDiscrete(info["action_nvec"])
    kwargs = dict(net_arch=[64, 64])
    if config.agent == "mppo":
        from sb3_contrib.common.maskable.policies import (
            MaskableActorCriticPolicy as cls,
        )
    else:
        from stable_baselines3.common.policies import ActorCriticPolicy as cls
    policy = cls(observation, action, lambda _: 0.0, **kwargs)
    policy.load_state_dict(load_file(folder / "policy.safetensors"))
    return policy.eval(), config
