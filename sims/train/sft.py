"""`gscsim train sft`: GSC's semantic fine-tuning module (DiffIR), in its two stages.

Pairs (I~, I): CamVid train crops I (32 x 32, random scale and flip) through a trained
Swin-JSCC (``codec``) and the channel it was trained on (:func:`sims.train.jscc.training_link`:
AWGN, or block Rayleigh with perfect CSI) at an SNR drawn per image uniformly from ``snr_db``
(the paper trains every method at 1..13 dB, Section IV-A), decoded to I~; made afresh every
step, so every step sees new crops, SNRs and noise. The codec is frozen.

- Stage 1 (pretraining, eq. (10)): CPEN_S1 on PixelUnshuffle(Concat(I~, I)) gives Z_0 and the
  DIRformer restores I~ with it; loss ||I - I^||_1. ``steps1`` steps.
- Stage 2 (Alg. 1): CPEN_S1 frozen gives the target Z_0; Z_T is Z_0 noised by eq. (11); the
  T = 4 reverse steps of eq. (13) conditioned on D = CPEN_S2(I~) give Z^; the DIRformer
  restores I~ with Z^; loss ||I - I^||_1 + mean |Z^ - Z_0| (the paper's L_pre + L_diff),
  CPEN_S2, denoiser and DIRformer optimised jointly (DiffIR's stage 2). ``steps2`` steps.

Adam at ``lr`` (the paper: 2e-4), cosine-annealed to lr / 20 within each stage; batch 16
(the paper's). The loss is logged per epoch, one epoch being ceil(frames / batch) steps over
the CamVid train frames (the paper's Fig. 7 plots the loss against epochs of CIFAR-10, a
dataset 136 times larger). A checkpoint every ``checkpoint_every`` steps; ``--resume``
continues from it.

Output folder: ``config.json`` + ``diffusion_pytorch_model.safetensors`` + ``training.json``
(settings, per-epoch losses of both stages, time, device).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Literal

import torch
from pydantic import Field
from tqdm import tqdm

from phy.config import StrictModel
from phy.rng import make_generator, resolve_device
from semantic.jscc import load_jscc
from semantic.pretrained import count_parameters, save_model, training_info
from semantic.receivers.sft import SemanticFineTuning

from .data import random_crops, training_images
from .jscc import training_link, transmit
from .progress import load_progress, save_progress

__all__ = ["SftTrainConfig", "decoded_pairs", "sft_losses", "stage_parameters", "train_sft"]


class SftTrainConfig(StrictModel):
    """`gscsim train sft` options (each is a command-line flag)."""
    channel: Literal["awgn", "rayleigh"] = Field("awgn", description="the channel of the pairs: awgn or rayleigh (block fading, perfect CSI)")
    codec: str | None = Field(None, description="the Swin-JSCC that decodes I~ (default: swinjscc-<channel>-1_6)")
    snr_db: tuple[float, float] = Field((1.0, 13.0), description="SNR range (dB) of the pairs, LOW,HIGH: one SNR per image, uniform")
    data_dir: str | None = Field(None, description="CamVid folder; default $GSCSIM_DATA_DIR")
    output: str | None = Field(None, description="default: results/train/sft-<channel>-1_6")
    image_size: int = Field(32, ge=8, le=256, description="side of the square training crops")
    steps1: int = Field(1500, ge=0, description="stage 1 (pretraining) optimiser steps")
    steps2: int = Field(1500, ge=0, description="stage 2 (diffusion on Z) optimiser steps")
    batch_size: int = Field(16, ge=1, description="pairs per step")
    lr: float = Field(2e-4, gt=0, description="learning rate of both stages (cosine-annealed to lr / 20 within each)")
    dim: int = Field(16, ge=4, description="DIRformer width at level 1")
    blocks: tuple[int, ...] = Field((1, 1, 2), description="dynamic transformer blocks per level (the paper: 3,5,6,6)")
    heads: tuple[int, ...] = Field((1, 2, 4), description="DMTA heads per level (the paper: 1,2,4,8)")
    prior_channels: int = Field(16, ge=1, description="C': Z has 4 C' values (the paper: 96)")
    scales: tuple[float, ...] = Field((1.0, 1.15, 1.3, 1.4), description="shorter-side scales of the crops, relative to image_size")
    seed: int = Field(0, ge=0, description="seed of initialisation, data order and noise")
    device: str = Field("auto", pattern=r"^(cpu|auto|cuda(:\d+)?)$", description="cpu, cuda, cuda:N, auto")
    checkpoint_every: int = Field(250, ge=1, description="steps between checkpoints (--resume continues from the last)")

    @property
    def name(self) -> str:
        """``sft-<channel>-1_6``, the shipped name."""
        return f"sft-{self.channel}-1_6"

    @property
    def codec_name(self) -> str:
        """The Swin-JSCC of the pairs."""
        return self.codec or f"swinjscc-{self.channel}-1_6"


def decoded_pairs(codec, link, x: torch.Tensor, snr_db: tuple[float, float], g: torch.Generator) -> torch.Tensor:
    """I~ for originals x (B, 3, H, W): the frozen codec through ``link`` at uniform SNRs; (B, 3, H, W)."""
    lo, hi = snr_db
    snr = lo + (hi - lo) * torch.rand(x.shape[0], 1, generator=g, device=x.device)
    everything = torch.ones(x.shape[0], link.subcarriers, dtype=torch.bool, device=x.device)
    with torch.no_grad():
        return transmit(codec, link, x, snr, everything, g)


def sft_losses(model: SemanticFineTuning, decoded: torch.Tensor, original: torch.Tensor, stage: int,
               g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """(total loss, image L1) of one batch in ``stage`` 1 (eq. (10)) or 2 (Alg. 1: L_pre + L_diff)."""
    if stage == 1:
        image_l1 = (model.restore(decoded, model.prior(decoded, original)) - original).abs().mean()
        return image_l1, image_l1
    with torch.no_grad():
        z0 = model.prior(decoded, original)
    noise = torch.randn(z0.shape, generator=g, device=z0.device)
    z_hat = model.estimate_prior(decoded, model.noised_prior(z0, noise))
    image_l1 = (model.restore(decoded, z_hat) - original).abs().mean()
    return image_l1 + (z_hat - z0).abs().mean(), image_l1


def stage_parameters(model: SemanticFineTuning, stage: int) -> list[torch.nn.Parameter]:
    """What a stage trains: CPEN_S1 + DIRformer (1); CPEN_S2 + denoiser + DIRformer (2, CPEN_S1 frozen)."""
    if stage == 1:
        return [*model.cpen_s1.parameters(), *model.dirformer.parameters()]
    return [*model.cpen_s2.parameters(), *model.denoiser.parameters(), *model.dirformer.parameters()]


def train_sft(config: SftTrainConfig, resume: bool = False, quiet: bool = False) -> Path:
    """Train both stages (or continue from the checkpoint); return the model folder."""
    if len(config.blocks) != len(config.heads):
        raise ValueError(f"--blocks {config.blocks} and --heads {config.heads} must have one entry per level")
    device = resolve_device(config.device)
    out = Path(config.output or f"results/train/{config.name}")
    ckpt = out / "checkpoint"
    codec = load_jscc(config.codec_name, device)
    if type(codec).__name__ != "SwinJSCC":
        raise ValueError(f"--codec {config.codec_name!r} is no Swin-JSCC")
    torch.manual_seed(config.seed)
    model = SemanticFineTuning(
        dim=config.dim, blocks=tuple(config.blocks), heads=tuple(config.heads), prior_channels=config.prior_channels
    ).to(device)
    images = training_images(config.data_dir, config.image_size, config.scales)
    epoch_steps = math.ceil(len(images[0]) / config.batch_size)
    link = training_link(config.channel, codec.num_symbols(config.image_size, config.image_size), device)
    data_g, noise_g = make_generator(config.seed + 1), make_generator(config.seed + 2, device)
    total = config.steps1 + config.steps2
    step, elapsed, losses, state = 0, 0.0, {"1": [], "2": []}, None
    progress = load_progress(ckpt, device, data_g, noise_g) if resume else None
    if progress is not None:
        step, elapsed, losses, state = progress
        model.load_state_dict(SemanticFineTuning.from_pretrained(ckpt / "model", low_cpu_mem_usage=False).state_dict())

    def optimiser_for(stage: int, steps: int) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
        model.requires_grad_(False)
        params = stage_parameters(model, stage)
        for p in params:
            p.requires_grad_(True)
        opt = torch.optim.Adam(params, lr=config.lr)
        return opt, torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, steps), eta_min=config.lr / 20)

    model.train()
    stage = 1 if step < config.steps1 else 2
    optimizer, annealing = optimiser_for(stage, config.steps1 if stage == 1 else config.steps2)
    if state is not None and int(state["stage"]) == stage:  # a checkpoint at the stage boundary: stage 2 starts fresh
        optimizer.load_state_dict(state["optimizer"])
        annealing.load_state_dict(state["annealing"])
    window, tick = [[], []], time.perf_counter()
    bar = tqdm(range(step, total), initial=step, total=total, disable=quiet, desc=config.name)
    for step in bar:
        if step == config.steps1 and stage == 1:
            stage = 2
            optimizer, annealing = optimiser_for(2, config.steps2)
            window = [[], []]
        x = random_crops(images, config.image_size, config.batch_size, data_g).to(device)
        decoded = decoded_pairs(codec, link, x, config.snr_db, noise_g)
        loss, image_l1 = sft_losses(model, decoded, x, stage, noise_g)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        annealing.step()
        window[0].append(loss.item())
        window[1].append(image_l1.item())
        stage_step = step + 1 - (0 if stage == 1 else config.steps1)
        if stage_step % epoch_steps == 0:
            losses[str(stage)].append([stage_step // epoch_steps, sum(window[0]) / len(window[0]), sum(window[1]) / len(window[1])])
            bar.set_postfix_str(f"stage {stage} loss {losses[str(stage)][-1][1]:.4f}")
            window = [[], []]
        if (step + 1) % config.checkpoint_every == 0 or step + 1 == total:
            elapsed += time.perf_counter() - tick
            tick = time.perf_counter()
            model.save_pretrained(ckpt / "model", safe_serialization=True)
            save_progress(ckpt, step + 1, elapsed, losses, data_g, noise_g,
                          stage=stage, optimizer=optimizer.state_dict(), annealing=annealing.state_dict())  # fmt: skip
    bar.close()
    model.eval().requires_grad_(True)
    info = {
        "train": config.model_dump(mode="json") | {"output": out.name}, "codec": config.codec_name,
        "codec_training_steps": training_info(config.codec_name).get("train", {}).get("steps"),
        "device": device, "seconds": round(elapsed, 1), "torch_threads": torch.get_num_threads(),
        "parameters": count_parameters(model), "epoch_steps": epoch_steps,
        "losses": {"columns": ["epoch", "loss", "image_l1"], "stage1": losses["1"], "stage2": losses["2"]},
    }  # fmt: skip
    return save_model(model, out, info)
