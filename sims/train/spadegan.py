"""`gscsim train spadegan`: the SPADE GAN (Park et al. 2019) of Liu et al.'s Fig. 18 comparison.

Random crops of CamVid train with their label maps at the SDM's size and scales
(same crop and flip for both), one-hot maps with the void id as its own channel
(replaced by the null map with probability ``p_uncond``, as the SDM's training),
the hinge loss for both networks, the discriminator feature-matching loss on the
generator (weight ``feature_matching``, 10 as in the paper; the paper's VGG loss
is left out: no ImageNet weights offline), Adam with (beta1, beta2) = (0, 0.9) and
the two learning rates of the paper (generator 1e-4, discriminator 4e-4), EMA of
the generator weights (what ships). GPU when present, CPU otherwise.

Checkpoints every ``checkpoint_every`` steps in ``OUTPUT/checkpoint/`` (both
networks as safetensors, optimiser state loaded with ``weights_only=True``);
``--resume`` continues from it. The output folder holds the EMA generator
(config.json + safetensors), ``training.json`` and ``samples.png`` (map, synthesis,
real image rows of CamVid val).
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from pydantic import Field
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from phy.config import StrictModel
from phy.rng import make_generator, resolve_device
from semantic.codecs.labelmap import grey_palette
from semantic.data import (
    CAMVID_NUM_CLASSES,
    camvid_pairs,
    load_camvid,
    resolve_data_dir,
)
from semantic.intents import one_hot
from semantic.pretrained import count_parameters, save_model
from semantic.receivers.spadegan import (
    MultiScaleDiscriminator,
    SpadeGenerator,
    gan_sample,
)

from .data import random_pair_crops, training_pairs
from .ddpm import save_image_grid
from .progress import load_progress, save_progress

__all__ = ["SpadeGanTrainConfig", "train_spadegan"]


class SpadeGanTrainConfig(StrictModel):
    """`gscsim train spadegan` options (each is a command-line flag)."""

    data_dir: str | None = Field(None, description="CamVid folder; default $GSCSIM_DATA_DIR")
    output: str = Field("results/train/camvid-spadegan-32", description="output folder")
    image_size: int = Field(32, ge=8, le=256, description="side of the square crops (the generator's output)")
    channels: tuple[int, ...] = Field((128, 128, 64), description="generator widths, coarsest first (4 px base)")
    z_dim: int = Field(64, ge=1, description="length of the noise vector")
    disc_width: int = Field(64, ge=4, description="width of the first discriminator layer")
    disc_scales: int = Field(2, ge=1, le=4, description="discriminators (full, 1/2, ... resolution)")
    steps: int = Field(3000, ge=1, description="optimiser steps (one discriminator and one generator update each)")
    batch_size: int = Field(16, ge=2, description="images per step")
    lr_generator: float = Field(1e-4, gt=0, description="generator learning rate")
    lr_discriminator: float = Field(4e-4, gt=0, description="discriminator learning rate")
    feature_matching: float = Field(10.0, ge=0, description="weight of the discriminator feature-matching loss")
    ema_decay: float = Field(0.999, ge=0, lt=1, description="decay of the EMA generator weights (what ships)")
    p_uncond: float = Field(0.1, ge=0, le=1, description="probability of training on the null map")
    scales: tuple[float, ...] = Field((1.0, 1.15, 1.3, 1.4), description="shorter-side scales of the crops")
    seed: int = Field(0, ge=0, description="seed of initialisation, data order and noise")
    device: str = Field("auto", pattern=r"^(cpu|auto|cuda(:\d+)?)$", description="cpu, cuda, cuda:N, auto")
    log_every: int = Field(100, ge=1, description="steps per logged mean loss")
    checkpoint_every: int = Field(250, ge=1, description="steps between checkpoints (--resume continues from the last)")


def hinge_discriminator_loss(real: list[list[torch.Tensor]], fake: list[list[torch.Tensor]]) -> torch.Tensor:
    """sum over scales of mean(relu(1 - D(real))) + mean(relu(1 + D(fake)))."""
    return sum(F.relu(1 - r[-1]).mean() + F.relu(1 + f[-1]).mean() for r, f in zip(real, fake))


def generator_loss(fake: list[list[torch.Tensor]], real: list[list[torch.Tensor]], weight: float) -> torch.Tensor:
    """Hinge generator loss -mean(D(fake)) plus ``weight`` x the L1 distance of the discriminator's
    intermediate features on fake and real images, averaged over scales."""
    adversarial = sum(-f[-1].mean() for f in fake)
    matching = sum(F.l1_loss(ff, rf.detach()) for f, r in zip(fake, real) for ff, rf in zip(f[:-1], r[:-1]))
    return adversarial + weight * matching / len(fake)


def _sample_grid(model: SpadeGenerator, data_dir, size: int, seed: int, device: str, count: int = 8) -> torch.Tensor:
    count = min(count, len(camvid_pairs(resolve_data_dir(data_dir), "val")))
    images, labels = load_camvid(data_dir, "val", image_size=size, num_images=count, labels=True, selection="spread")
    samples = gan_sample(model, one_hot(labels, CAMVID_NUM_CLASSES).to(device), make_generator(seed, device)).cpu()
    maps = grey_palette(CAMVID_NUM_CLASSES + 1)[labels.clamp(max=CAMVID_NUM_CLASSES)].permute(0, 3, 1, 2)
    return torch.stack([maps, samples, images], dim=1).reshape(-1, 3, size, size)


def train_spadegan(config: SpadeGanTrainConfig, resume: bool = False, quiet: bool = False) -> Path:
    """Train (or continue) the SPADE GAN; write the EMA generator to ``output``; return the folder."""
    device = resolve_device(config.device)
    base = config.image_size // 2 ** len(config.channels)
    if base * 2 ** len(config.channels) != config.image_size or base < 1:
        raise ValueError(f"image_size {config.image_size} must be a multiple of 2^{len(config.channels)} (channels)")
    out = Path(config.output)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)
    label_channels = CAMVID_NUM_CLASSES + 1
    gen = SpadeGenerator(label_channels, config.channels, config.z_dim, base).to(device)
    disc = MultiScaleDiscriminator(label_channels, width=config.disc_width, num_scales=config.disc_scales).to(device)
    ema = copy.deepcopy(gen).eval()
    opt_g = torch.optim.Adam(gen.parameters(), lr=config.lr_generator, betas=(0.0, 0.9))
    opt_d = torch.optim.Adam(disc.parameters(), lr=config.lr_discriminator, betas=(0.0, 0.9))
    data_g, noise_g = make_generator(config.seed + 1), make_generator(config.seed + 2, device)
    start_step, losses, elapsed = 0, [], 0.0

    ckpt = out / "checkpoint"
    progress = load_progress(ckpt, device, data_g, noise_g) if resume else None
    if progress is not None:
        start_step, elapsed, losses, state = progress
        for name, net in (("generator", gen), ("ema", ema), ("discriminator", disc)):
            net.load_state_dict(load_file(ckpt / f"{name}.safetensors", device=device))
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])

    pairs = training_pairs(config.data_dir, config.image_size, config.scales)
    gen.train()
    disc.train()
    bar = tqdm(range(start_step, config.steps), initial=start_step, total=config.steps, disable=quiet, desc="spadegan")
    window, tick = [], time.perf_counter()
    for step in bar:
        x, labels = random_pair_crops(pairs, config.image_size, config.batch_size, data_g)
        x, seg = x.to(device), one_hot(labels, CAMVID_NUM_CLASSES).to(device)
        drop = torch.rand(x.shape[0], 1, 1, 1, generator=noise_g, device=device) < config.p_uncond
        seg = torch.where(drop, torch.zeros_like(seg), seg)
        z = torch.randn((x.shape[0], config.z_dim), generator=noise_g, device=device)
        fake = gen(z, seg)

        loss_d = hinge_discriminator_loss(disc(x, seg), disc(fake.detach(), seg))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()

        loss_g = generator_loss(disc(fake, seg), disc(x, seg), config.feature_matching)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        with torch.no_grad():
            decay = min(config.ema_decay, (1 + step) / (10 + step))
            for pe, pm in zip(ema.parameters(), gen.parameters()):
                pe.lerp_(pm, 1 - decay)
            for be, bm in zip(ema.buffers(), gen.buffers()):  # spectral norm's power-iteration vectors
                be.copy_(bm)
        window.append((loss_d.item(), loss_g.item()))
        if (step + 1) % config.log_every == 0:
            d, g = (sum(v) / len(window) for v in zip(*window))
            losses.append([step + 1, d, g])
            bar.set_postfix_str(f"D {d:.3f} G {g:.3f}")
            window = []
        if (step + 1) % config.checkpoint_every == 0 or step + 1 == config.steps:
            elapsed += time.perf_counter() - tick
            tick = time.perf_counter()
            ckpt.mkdir(exist_ok=True)
            for name, net in (("generator", gen), ("ema", ema), ("discriminator", disc)):
                save_file({k: v.contiguous() for k, v in net.state_dict().items()}, ckpt / f"{name}.safetensors")
            save_progress(ckpt, step + 1, elapsed, losses, data_g, noise_g,
                          opt_g=opt_g.state_dict(), opt_d=opt_d.state_dict())  # fmt: skip
    bar.close()

    info = {
        "train": config.model_dump(mode="json") | {"output": out.name},
        "classes": CAMVID_NUM_CLASSES, "device": device, "seconds": round(elapsed, 1),
        "torch_threads": torch.get_num_threads(), "parameters": count_parameters(ema),
        "discriminator_parameters": count_parameters(disc), "losses_d_g": losses,
    }  # fmt: skip
    save_model(ema, out, info)
    try:
        save_image_grid(_sample_grid(ema, config.data_dir, config.image_size, config.seed, device), out / "samples.png", columns=6)
    except (FileNotFoundError, ValueError):  # a data folder without a val split: no sample grid
        pass
    return out
