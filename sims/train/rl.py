"""What FAST's two RL trainers share (`gscsim train fast-order`, `gscsim train fast-bandwidth`).

- :class:`RlTrainOptions`: the options both take (PPO's, the receiver's, the data's); each
  trainer's config adds its own and sets its paper's defaults (seed 001, Sec. V: lr 0.009 /
  entropy 0.01 for the ordering agent, 1.5e-4 / 0.03 for the allocation agent; gamma 0.99, clip
  0.2 for both);
- :func:`ppo_kwargs`: those options as stable-baselines3 keyword arguments (64-64 MLPs, the
  policy on the CPU: it is tiny, the receiver is what needs a GPU);
- :class:`LearningCurve`: per-episode records and one row of means per PPO rollout;
- :func:`save_policy`: a policy's weights as safetensors (loading rebuilds the network from
  ``training.json`` and never unpickles stable-baselines3's zip).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from phy.config import StrictModel

__all__ = ["LearningCurve", "RlTrainOptions", "ppo_kwargs", "save_policy"]


class RlTrainOptions(StrictModel):
    """Options of both FAST trainers (each is a command-line flag)."""

    max_minutes: float = Field(60.0, gt=0, description="wall-time budget; training stops (and saves) when it is spent")
    n_epochs: int = Field(10, ge=1, description="PPO passes over each rollout")
    gamma: float = Field(0.99, gt=0, le=1, description="discount (the paper: 0.99)")
    clip: float = Field(0.2, gt=0, description="PPO clip range (the paper: 0.2)")
    w: float = Field(0.0, description="the receivers' SCD intervention factor (Fig. 11's best; the paper's 4 wrecks the SDM)")
    window: Literal["until_next", "arrival_step"] = Field("until_next", description="where the w term acts")
    model: str = Field("camvid-sdm-partial-32", description="the receivers' SDM")
    segmenter: str = Field("camvid-seg-32", description="the precision score's segmenter")
    data_dir: str | None = Field(None, description="CamVid folder; default $GSCSIM_DATA_DIR")
    split: Literal["train", "val"] = Field("train", description="the maps the requests draw from")
    num_maps: int = Field(367, ge=1, description="maps in the pool (the first of the split)")
    seed: int = Field(0, ge=0, description="seed of the policy, the draws and x_T")
    device: str = Field("auto", pattern=r"^(cpu|auto|cuda(:\d+)?)$", description="the receivers' device (the policy runs on the CPU)")
    output: str | None = Field(None, description="output folder (default: under results/train/)")


def ppo_kwargs(config) -> dict:
    """stable-baselines3 PPO / MaskablePPO keyword arguments of a trainer config."""
    return dict(learning_rate=config.lr, n_steps=config.n_steps, batch_size=config.batch_size, n_epochs=config.n_epochs,
                gamma=config.gamma, clip_range=config.clip, ent_coef=config.ent_coef, seed=config.seed, device="cpu",
                policy_kwargs={"net_arch": [64, 64]}, verbose=0)  # fmt: skip


class LearningCurve:
    """Per-episode records (``record(info) -> dict`` picks them from an ended episode's info) and
    one row per rollout: the episodes so far, the seconds, and the means of every recorded key."""

    def __init__(self, record):
        self.record = record
        self.episodes: list[dict] = []
        self.rows: list[dict] = []
        self._mark = 0

    def add(self, infos: list[dict], dones: np.ndarray) -> None:
        """Record the episodes that ended in a vector step."""
        self.episodes.extend(self.record(info) | {"return": info["episode"]["r"]} for info, done in zip(infos, dones) if done)

    def close_rollout(self, seconds: float) -> bool:
        """One row of means over the episodes since the last row; False when there were none."""
        new = self.episodes[self._mark :]
        if not new:
            return False
        self._mark = len(self.episodes)
        means = {key: float(np.mean([e[key] for e in new])) for key in new[0]}
        self.rows.append({"episodes": len(self.episodes), "seconds": round(seconds, 2)} | means)
        return True


def save_policy(policy, folder: Path) -> None:
    """``folder/policy.safetensors``: the policy's weights."""
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in policy.state_dict().items()}, folder / "policy.safetensors")
