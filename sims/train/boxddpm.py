"""`gscsim train boxddpm`: M-GSC's box-conditioned DDPMs (seed 003, Section IV, Fig. 6 left).

Three kinds, one architecture (:class:`~semantic.receivers.sdm.SemanticUNet` with the
4-channel box condition of :mod:`semantic.receivers.split_ddpm`, given to the decoder's
SPADE norms and concatenated to x_t at the input), epsilon loss on the
linear 1000-step DDPM schedule, AdamW with warm-up, EMA weights (what ships):

- ``--scope local --sequence NAME``: a user's personalised model, trained on its own
  scene's training frames (:mod:`semantic.scenes`) at every timestep t in [0, T).
- ``--scope cluster``: the edge's cluster-wide model, trained only on the timesteps
  the edge runs, t >= T - ``max_offload`` (650 of 1000 in the paper: t in [350, 1000)),
  on the pooled cluster subsets of all three scenes (the paper's 300 of 1000 per scene).
- ``--scope cluster --fedavg --rounds R``: the same by federated averaging (McMahan
  et al. 2017): each round every scene (a client) starts from the global weights, takes
  steps / (3 R) local steps on its own subset, and the global trained and EMA weights
  become the frame-count-weighted means of the clients'. ``steps`` counts optimiser
  steps over all clients, so pooled and federated runs cost the same.

The log keeps, every ``log_every`` steps, the mean training loss over all sampled
timesteps (``loss``: what each model optimises) and over t >= T - max_offload only
(``loss_high``): a model trained only on high-noise steps has a lower epsilon-MSE for
that reason alone, so Fig. 6's comparison is fair only on the same range. At the end
each model's held-out loss is measured per scene on both ranges with fixed noise.

Horizontal flips augment every frame together with its box mask and reference.
Output: ``config.json`` + ``diffusion_pytorch_model.safetensors`` + ``training.json``.
"""

from __future__ import annotations

import copy
import math
import time
from pathlib import Path
from typing import Literal

import torch
from pydantic import Field, model_validator
from tqdm import tqdm

from phy.config import StrictModel
from phy.rng import make_generator, resolve_device
from semantic.pretrained import save_model
from semantic.receivers.sdm import SemanticUNet
from semantic.receivers.split_ddpm import (
    BOX_CONDITION_CHANNELS,
    box_condition,
    ddpm_scheduler,
)
from semantic.scenes import CAMVID_SEQUENCES, Scene, load_scenes

__all__ = ["BoxDdpmTrainConfig", "SceneBatches", "epsilon_loss", "federated_average", "train_boxddpm"]

T = 1000


class BoxDdpmTrainConfig(StrictModel):
    """`gscsim train boxddpm` options (each is a command-line flag)."""
    data_dir: str | None = Field(None, description="CamVid folder; default $GSCSIM_DATA_DIR")
    output: str = Field("results/train/boxddpm", description="output folder")
    scope: Literal["local", "cluster"] = Field("local", description="local: one scene's personalised model; cluster: the edge's shared model")
    sequence: str | None = Field(None, description="the scene of a local model: 0001TP, 0006R0 or 0016E5")
    fedavg: bool = Field(False, description="cluster only: federated averaging over the three scenes instead of pooling")
    rounds: int = Field(10, ge=1, description="FedAvg communication rounds")
    max_offload: int = Field(650, ge=1, le=T, description="the most steps the edge runs: the cluster model trains on t >= T - max_offload")
    image_size: int = Field(32, ge=8, le=128, description="side of the frames (centre square, resized)")
    label_size: int = Field(128, ge=8, le=512, description="side of the label maps the boxes are taken from")
    holdout: float = Field(0.2, gt=0, lt=1, description="held-out tail of each sequence (evaluation frames)")
    cluster_fraction: float = Field(0.3, gt=0, le=1, description="share of each scene's training frames pooled for the cluster model")
    min_area: float = Field(0.004, ge=0, lt=1, description="smallest vehicle component kept, as a fraction of the frame")
    channels: tuple[int, ...] = Field((16, 32, 32), description="U-Net widths per resolution, e.g. 16,32,32")
    steps: int = Field(2000, ge=1, description="optimiser steps (FedAvg: over all clients)")
    batch_size: int = Field(16, ge=1, description="frames per step")
    lr: float = Field(1.5e-3, gt=0, description="learning rate")
    warmup_steps: int = Field(100, ge=0, description="linear learning-rate warm-up steps")
    ema_decay: float = Field(0.995, ge=0, lt=1, description="decay of the EMA weights (what ships)")
    seed: int = Field(0, ge=0, description="seed of initialisation, data order and noise")
    device: str = Field("auto", pattern=r"^(cpu|auto|cuda(:\d+)?)$", description="cpu, cuda, cuda:N, auto")
    log_every: int = Field(50, ge=1, description="steps per logged mean loss")
    eval_draws: int = Field(8, ge=1, description="noise draws per held-out frame in the final loss evaluation")

    @model_validator(mode="after")
    def _scope(self) -> "BoxDdpmTrainConfig":
        if self.scope == "local" and self.sequence not in CAMVID_SEQUENCES:
            raise ValueError(f"sequence: a local model needs one of {', '.join(CAMVID_SEQUENCES)}; got {self.sequence!r}")
        if self.scope == "cluster" and self.sequence is not None:
            raise ValueError("sequence: the cluster model trains on every scene; leave it unset")
        if self.fedavg and self.scope != "cluster":
            raise ValueError("fedavg: only a cluster model is federated")
        if self.fedavg and self.steps < 3 * self.rounds:
            raise ValueError(f"steps = {self.steps} leaves no local step per client in {self.rounds} rounds")
        return self

    @property
    def min_timestep(self) -> int:
        """The lowest timestep trained on."""
        return T - self.max_offload if self.scope == "cluster" else 0


class SceneBatches:
    """Random training batches (frames, conditions) from some frames of some scenes, flips included."""

    def __init__(self, scenes: list[Scene], subset: str, image_size: int):
        self.images = torch.cat([s.images[s.subset(subset)] for s in scenes])
        self.conditions = torch.cat([
            box_condition([s.codes[i] for i in s.subset(subset)], s.reference, image_size) for s in scenes
        ])  # fmt: skip

    def __len__(self) -> int:
        return len(self.images)

    def sample(self, batch: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, S, S) frames and (B, 4, S, S) conditions, each flipped with probability 1/2."""
        index = torch.randint(len(self.images), (batch,), generator=g)
        x, c = self.images[index], self.conditions[index]
        flip = (torch.rand(batch, generator=g) < 0.5)[:, None, None, None]
        return torch.where(flip, x.flip(-1), x), torch.where(flip, c.flip(-1), c)


def federated_average(states: list[dict[str, torch.Tensor]], weights: list[float]) -> dict[str, torch.Tensor]:
    """The weighted mean of clients' state dicts (weights normalised to sum 1)."""
    total = sum(weights)
    return {k: sum(w / total * s[k].float() for s, w in zip(states, weights)).to(states[0][k].dtype) for k in states[0]}


@torch.no_grad()
def epsilon_loss(
    model: SemanticUNet, images: torch.Tensor, conditions: torch.Tensor, t_range: tuple[int, int], draws: int, seed: int
) -> float:
    """Mean epsilon-MSE over ``draws`` fixed (noise, t uniform in [lo, hi)) per frame: the same
    draws for every model given the same seed."""
    device = next(model.parameters()).device
    scheduler, g = ddpm_scheduler(T), make_generator(seed)
    total = 0.0
    for _ in range(draws):
        noise = torch.randn(images.shape, generator=g)
        t = torch.randint(t_range[0], t_range[1], (len(images),), generator=g)
        x_t = scheduler.add_noise(images, noise, t)
        total += float(torch.nn.functional.mse_loss(model(x_t.to(device), t.to(device), conditions.to(device)), noise.to(device)))
    return total / draws


def _step(model, optimizer, warm, scheduler, batches, config, data_g, noise_g, device, ema, step):
    x, c = batches.sample(config.batch_size, data_g)
    x, c = x.to(device), c.to(device)
    noise = torch.randn(x.shape, generator=noise_g, device=device)
    t = torch.randint(config.min_timestep, T, (x.shape[0],), generator=noise_g, device=device)
    per_sample = (model(scheduler.add_noise(x, noise, t), t, c) - noise).square().mean(dim=(1, 2, 3))
    loss = per_sample.mean()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    warm.step()
    with torch.no_grad():
        decay = min(config.ema_decay, (1 + step) / (10 + step))
        for pe, pm in zip(ema.parameters(), model.parameters()):
            pe.lerp_(pm, 1 - decay)
    high = t >= T - config.max_offload
    per_sample = per_sample.detach()
    return float(loss.detach()), float(per_sample[high].sum()), int(high.sum())


def _optimizer(model, config):
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr)
    warm = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / max(1, config.warmup_steps)))
    return optimizer, warm


def train_boxddpm(config: BoxDdpmTrainConfig, quiet: bool = False) -> Path:
    """Train one box-conditioned DDPM; return its folder."""
    device = resolve_device(config.device)
    scenes = load_scenes(
        config.data_dir, image_size=config.image_size, label_size=config.label_size, holdout=config.holdout,
        cluster_fraction=config.cluster_fraction, min_area=config.min_area,
    )  # fmt: skip
    torch.manual_seed(config.seed)
    model = SemanticUNet(BOX_CONDITION_CHANNELS, config.channels, concat_condition=True).to(device)
    ema = copy.deepcopy(model).eval()
    scheduler = ddpm_scheduler(T)
    data_g, noise_g = make_generator(config.seed + 1), make_generator(config.seed + 2, device)
    log, window, start = [], [0.0, 0, 0.0, 0], time.perf_counter()

    def record(step, loss, high_sum, high_n):
        window[0] += loss
        window[1] += 1
        window[2] += high_sum
        window[3] += high_n
        if (step + 1) % config.log_every == 0:
            log.append([step + 1, window[0] / window[1], window[2] / max(1, window[3])])
            window[:] = [0.0, 0, 0.0, 0]

    if not config.fedavg:
        chosen = [s for s in scenes if config.scope == "cluster" or s.name == config.sequence]
        batches = SceneBatches(chosen, "cluster" if config.scope == "cluster" else "train", config.image_size)
        optimizer, warm = _optimizer(model, config)
        for step in tqdm(range(config.steps), disable=quiet, desc=f"boxddpm {config.sequence or 'cluster'}"):
            record(step, *_step(model, optimizer, warm, scheduler, batches, config, data_g, noise_g, device, ema, step))
        frames = len(batches)
    else:
        clients = [SceneBatches([s], "cluster", config.image_size) for s in scenes]
        weights = [float(len(c)) for c in clients]
        local_steps = config.steps // (len(clients) * config.rounds)
        states = [None] * len(clients)  # each client's own optimiser, kept across rounds
        step = 0
        for _ in tqdm(range(config.rounds), disable=quiet, desc="boxddpm fedavg"):
            trained, averaged = [], []
            for k, batches in enumerate(clients):
                client, client_ema = copy.deepcopy(model).train(), copy.deepcopy(ema)
                optimizer, warm = _optimizer(client, config)
                if states[k] is not None:
                    optimizer.load_state_dict(states[k][0])
                    warm.load_state_dict(states[k][1])
                for _ in range(local_steps):
                    record(step, *_step(client, optimizer, warm, scheduler, batches, config, data_g, noise_g, device, client_ema, step))
                    step += 1
                states[k] = (optimizer.state_dict(), warm.state_dict())
                trained.append(client.state_dict())
                averaged.append(client_ema.state_dict())
            model.load_state_dict(federated_average(trained, weights))
            ema.load_state_dict(federated_average(averaged, weights))
        frames = int(sum(weights))
    seconds = time.perf_counter() - start
    held_out = {}
    for s in scenes:
        idx = s.test_index
        cond = box_condition([s.codes[i] for i in idx], s.reference, config.image_size)
        held_out[s.name] = {
            "all": epsilon_loss(ema, s.images[idx], cond, (0, T), config.eval_draws, config.seed + 100),
            "high": epsilon_loss(ema, s.images[idx], cond, (T - config.max_offload, T), config.eval_draws, config.seed + 100),
        }
    info = {
        "train": config.model_dump(mode="json") | {"output": Path(config.output).name},
        "device": device, "seconds": round(seconds, 1), "torch_threads": torch.get_num_threads(),
        "frames": frames, "min_timestep": config.min_timestep, "parameters": sum(p.numel() for p in model.parameters()),
        "losses": log, "final_loss": log[-1][1] if log else math.nan, "held_out_loss": held_out,
    }  # fmt: skip
    out = Path(config.output)
    save_model(ema, out, info)
    return out
