"""`gscsim train sdm`: the semantic diffusion model (SPADE U-Net, classifier-free guidance).

Epsilon loss on a linear 1000-step DDPM schedule (diffusers ``DDPMScheduler``),
random crops of CamVid train with their label maps (same crop and flip; the
shipped DDPM's 32x32 and scales), one-hot maps with the void id as its own
channel, the map replaced by the null map with probability ``p_uncond``
(classifier-free guidance); with ``class_dropout`` p > 0 each class channel is
also zeroed with probability p, so that partial maps (the classes received so
far: FAST's units, seed 001) are in distribution
(:func:`semantic.intents.partial_one_hot`). AdamW with warm-up, EMA weights
(what ships).
GPU when there is one, CPU otherwise.

Output folder: ``model.safetensors`` + ``config.json`` (architecture, training
settings, time, device, losses).
"""

from __future__ import annotations

import copy
import math
import time
from pathlib import Path

import torch
from diffusers import DDPMScheduler
from pydantic import Field
from tqdm import tqdm

from phy.config import StrictModel
from phy.rng import make_generator, resolve_device
from semantic.data import CAMVID_NUM_CLASSES
from semantic.intents import one_hot
from semantic.pretrained import load_pretrained, save_model
from semantic.receivers.sdm import SemanticUNet

from .data import random_pair_crops, training_pairs

__all__ = ["SdmTrainConfig", "drop_classes", "train_sdm"]



class SdmTrainConfig(StrictModel):
    """`gscsim train sdm` options (each is a command-line flag)."""
    data_dir: str | None = Field(None, description="CamVid folder; default $GSCSIM_DATA_DIR")
    output: str = Field("results/train/camvid-sdm-32", description="output folder")
    image_size: int = Field(32, ge=8, le=256, description="side of the square training crops")
    channels: tuple[int, ...] = Field((32, 64, 64), description="U-Net widths per resolution, e.g. 32,64,64")
    steps: int = Field(4000, ge=1, description="optimiser steps")
    batch_size: int = Field(16, ge=1, description="images per step")
    lr: float = Field(2e-4, gt=0, description="learning rate")
    warmup_steps: int = Field(200, ge=0, description="linear learning-rate warm-up steps")
    ema_decay: float = Field(0.999, ge=0, lt=1, description="decay of the EMA weights (what ships)")
    p_uncond: float = Field(0.2, ge=0, le=1, description="probability of training on the null map")
    class_dropout: float = Field(0.0, ge=0, lt=1, description="probability of dropping each class channel (partial maps, FAST's units)")
    scales: tuple[float, ...] = Field((1.0, 1.15, 1.3, 1.4), description="shorter-side scales of the crops, relative to image_size")
    seed: int = Field(0, ge=0, description="seed of initialisation, data order and noise")
    device: str = Field("auto", pattern=r"^(cpu|auto|cuda(:\d+)?)$", description="cpu, cuda, cuda:N, auto")
    log_every: int = Field(100, ge=1, description="steps per logged mean loss")
    init: str | None = Field(None, description="continue from a saved SDM (folder or shipped name); its widths win")


def drop_classes(seg: torch.Tensor, p: float, g: torch.Generator) -> torch.Tensor:
    """Each class channel of one-hot maps (B, C, H, W) zeroed with probability p, per map; p = 0
    returns ``seg`` and draws nothing (earlier trainings' random streams stay as they were)."""
    if p <= 0:
        return seg
    keep = torch.rand(seg.shape[:2], generator=g, device=seg.device) >= p
    return seg * keep[..., None, None]


def train_sdm(config: SdmTrainConfig, quiet: bool = False) -> Path:
    """Train the SDM; return its folder."""
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    if config.init is None:
        model = SemanticUNet(CAMVID_NUM_CLASSES + 1, config.channels).to(device)
    else:  # the saved weights are EMA weights: both the trained and the EMA copy start there
        model = load_pretrained(config.init, SemanticUNet, device).train()
        if model.config["label_channels"] != CAMVID_NUM_CLASSES + 1:
            raise ValueError(f"init: {config.init!r} has {model.config['label_channels']} label channels, need {CAMVID_NUM_CLASSES + 1}")
    ema = copy.deepcopy(model).eval()
    scheduler = DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear")
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr)
    warm = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / max(1, config.warmup_steps)))
    pairs = training_pairs(config.data_dir, config.image_size, config.scales)
    data_g, noise_g = make_generator(config.seed + 1), make_generator(config.seed + 2, device)
    losses, window, start = [], [], time.perf_counter()
    for step in tqdm(range(config.steps), disable=quiet, desc="sdm"):
        x, labels = random_pair_crops(pairs, config.image_size, config.batch_size, data_g)
        x, seg = x.to(device), one_hot(labels, CAMVID_NUM_CLASSES).to(device)
        drop = torch.rand(x.shape[0], 1, 1, 1, generator=noise_g, device=device) < config.p_uncond
        seg = torch.where(drop, torch.zeros_like(seg), seg)
        seg = drop_classes(seg, config.class_dropout, noise_g)
        noise = torch.randn(x.shape, generator=noise_g, device=device)
        t = torch.randint(0, 1000, (x.shape[0],), generator=noise_g, device=device)
        loss = torch.nn.functional.mse_loss(model(scheduler.add_noise(x, noise, t), t, seg), noise)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        warm.step()
        with torch.no_grad():
            decay = min(config.ema_decay, (1 + step) / (10 + step))
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.lerp_(pm, 1 - decay)
        window.append(loss.item())
        if (step + 1) % config.log_every == 0:
            losses.append([step + 1, sum(window) / len(window)])
            window = []
    info = {
        "train": config.model_dump(mode="json") | {"output": Path(config.output).name},
        "classes": CAMVID_NUM_CLASSES, "device": device, "seconds": round(time.perf_counter() - start, 1),
        "torch_threads": torch.get_num_threads(), "channels": model.config["channels"], "parameters": sum(p.numel() for p in model.parameters()),
        "losses": losses, "final_loss": losses[-1][1] if losses else math.nan,
    }  # fmt: skip
    out = Path(config.output)
    save_model(ema, out, info)
    return out
