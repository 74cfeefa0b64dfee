"""`gscsim train ddpm`: the unconditional CamVid DDPM the null-space receiver loads by default.

A diffusers ``UNet2DModel`` trained with the epsilon loss on a linear
1000-step ``DDPMScheduler``, on random crops of CamVid train images resized
to a few scales (shorter side 1.0 to 1.4 times the crop, random horizontal
flips), AdamW with warm-up, EMA of the weights (the EMA weights are what
ships). It uses a GPU when there is one and runs, slower, on the CPU.
Checkpoints every ``checkpoint_every`` steps; ``--resume`` continues from one.

Output folder: ``model/`` (``unet/`` safetensors + config, ``scheduler/``),
``checkpoint/``, ``training.json`` (config, steps, time, device, losses),
``samples.png`` (a grid of DDIM samples from the EMA model).
"""

from __future__ import annotations

import copy
import math
import time
from pathlib import Path

import torch
from diffusers import DDIMScheduler, DDPMScheduler, UNet2DModel
from diffusers.training_utils import EMAModel
from pydantic import Field
from tqdm import tqdm

from phy.config import StrictModel
from phy.rng import make_generator, resolve_device
from semantic.pretrained import count_parameters, save_diffusion

from ..results import write_json
from .data import random_crops, training_images
from .progress import load_progress, save_progress

__all__ = ["DdpmTrainConfig", "build_unet", "train_ddpm"]


class DdpmTrainConfig(StrictModel):
    """`gscsim train ddpm` options (each is a command-line flag)."""
    data_dir: str | None = Field(None, description="CamVid folder; default $GSCSIM_DATA_DIR")
    output: str = Field("results/train/camvid-ddpm-32", description="output folder")
    image_size: int = Field(32, ge=8, le=256, description="side of the square training crops")
    channels: tuple[int, ...] = Field((32, 64, 64), description="U-Net widths per resolution, e.g. 32,64,64")
    layers_per_block: int = Field(1, ge=1, le=4, description="residual layers per U-Net block")
    steps: int = Field(6000, ge=1, description="optimiser steps")
    batch_size: int = Field(16, ge=1, description="images per step")
    lr: float = Field(2e-4, gt=0, description="learning rate")
    warmup_steps: int = Field(200, ge=0, description="linear learning-rate warm-up steps")
    ema_decay: float = Field(0.999, ge=0, lt=1, description="decay of the EMA weights (what ships)")
    scales: tuple[float, ...] = Field((1.0, 1.15, 1.3, 1.4), description="shorter-side scales of the crops, relative to image_size")
    seed: int = Field(0, ge=0, description="seed of initialisation, data order and noise")
    device: str = Field("auto", pattern=r"^(cpu|auto|cuda(:\d+)?)$", description="cpu, cuda, cuda:N, auto")
    checkpoint_every: int = Field(500, ge=1, description="steps between checkpoints (--resume continues from the last)")
    log_every: int = Field(100, ge=1, description="steps per logged mean loss")


def build_unet(config: DdpmTrainConfig) -> UNet2DModel:
    """The small U-Net: one resolution level per channel entry, attention in the middle block."""
    levels = len(config.channels)
    return UNet2DModel(
        sample_size=config.image_size,
        in_channels=3,
        out_channels=3,
        block_out_channels=tuple(config.channels),
        layers_per_block=config.layers_per_block,
        down_block_types=("DownBlock2D",) * levels,
        up_block_types=("UpBlock2D",) * levels,
        norm_num_groups=min(16, min(config.channels)),
    )


@torch.no_grad()
def sample_grid(unet: UNet2DModel, scheduler: DDPMScheduler, count: int, steps: int, seed: int, device: str) -> torch.Tensor:
    """``count`` DDIM samples (eta 0) of the model, float32 (count, 3, S, S) in [-1, 1]."""
    ddim = DDIMScheduler.from_config(scheduler.config)
    ddim.set_timesteps(steps)
    g = make_generator(seed, device)
    size = unet.config.sample_size
    x = torch.randn(count, 3, size, size, generator=g, device=device)
    for t in ddim.timesteps:
        x = ddim.step(unet(x, t).sample, t, x).prev_sample
    return x.clamp(-1, 1).cpu()


def save_image_grid(images: torch.Tensor, path: Path, columns: int = 8) -> None:
    """Write float32 (N, C, H, W) images in [-1, 1] as one PNG grid of ``columns`` columns."""
    from PIL import Image

    n, c, h, w = images.shape
    rows = math.ceil(n / columns)
    grid = torch.ones(c, rows * (h + 2), columns * (w + 2))
    for i, img in enumerate(images):
        r, q = divmod(i, columns)
        grid[:, r * (h + 2) + 1 : r * (h + 2) + 1 + h, q * (w + 2) + 1 : q * (w + 2) + 1 + w] = img
    array = ((grid.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    Image.fromarray(array).save(path)


def train_ddpm(config: DdpmTrainConfig, resume: bool = False, quiet: bool = False) -> Path:
    """Train (or continue) and write the model folder; return ``output/model``."""
    device = resolve_device(config.device)
    out = Path(config.output)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)  # parameter initialisation of the U-Net
    unet = build_unet(config).to(device)
    scheduler = DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear")
    optimizer = torch.optim.AdamW(unet.parameters(), lr=config.lr, weight_decay=0.0)
    ema = EMAModel(unet.parameters(), decay=config.ema_decay)
    data_g = make_generator(config.seed + 1)
    noise_g = make_generator(config.seed + 2, device)
    start_step, losses, elapsed = 0, [], 0.0

    ckpt = out / "checkpoint"
    progress = load_progress(ckpt, device, data_g, noise_g) if resume else None
    if progress is not None:
        start_step, elapsed, losses, state = progress
        unet.load_state_dict(UNet2DModel.from_pretrained(ckpt / "unet", low_cpu_mem_usage=False).state_dict())
        optimizer.load_state_dict(state["optimizer"])
        ema.load_state_dict(state["ema"])

    images = training_images(config.data_dir, config.image_size, config.scales)
    unet.train()
    bar = tqdm(range(start_step, config.steps), initial=start_step, total=config.steps, disable=quiet, desc="ddpm")
    window, tick = [], time.perf_counter()
    for step in bar:
        x0 = random_crops(images, config.image_size, config.batch_size, data_g).to(device)
        noise = torch.randn(x0.shape, generator=noise_g, device=device)
        t = torch.randint(0, 1000, (x0.shape[0],), generator=noise_g, device=device)
        loss = torch.nn.functional.mse_loss(unet(scheduler.add_noise(x0, noise, t), t).sample, noise)
        for group in optimizer.param_groups:
            group["lr"] = config.lr * min(1.0, (step + 1) / max(1, config.warmup_steps))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        optimizer.step()
        ema.step(unet.parameters())
        window.append(loss.item())
        if (step + 1) % config.log_every == 0:
            losses.append([step + 1, sum(window) / len(window)])
            bar.set_postfix_str(f"loss {losses[-1][1]:.4f}")
            window = []
        if (step + 1) % config.checkpoint_every == 0 or step + 1 == config.steps:
            elapsed += time.perf_counter() - tick
            tick = time.perf_counter()
            unet.save_pretrained(ckpt / "unet", safe_serialization=True)
            save_progress(ckpt, step + 1, elapsed, losses, data_g, noise_g,
                          optimizer=optimizer.state_dict(), ema=ema.state_dict())  # fmt: skip
    bar.close()

    final = copy.deepcopy(unet)
    ema.copy_to(final.parameters())
    final.eval()
    model_dir = save_diffusion(final, scheduler, out / "model")
    save_image_grid(sample_grid(final, scheduler, 32, 50, config.seed, device), out / "samples.png")
    write_json(
        out / "training.json",
        {
            "config": config.model_dump(mode="json"), "device": device,
            "device_name": torch.cuda.get_device_name(device) if device.startswith("cuda") else "cpu",
            "torch_threads": torch.get_num_threads(), "steps": config.steps, "seconds": round(elapsed, 1),
            "parameters": count_parameters(final), "losses": losses,
        },
    )  # fmt: skip
    return model_dir
