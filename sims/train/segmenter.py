"""`gscsim train segmenter`: the CamVid segmenter that scores meaning (mIoU) in every sweep.

:class:`semantic.segmentation.DualResolutionSegmenter` trained on CamVid train with
cross-entropy, void ignored; augmentation: random scales of the shorter side (1 to
1.5 times the crop), random crops, horizontal flips (:mod:`sims.train.data`). AdamW
with a linear warm-up and a cosine decay. At the end it is evaluated on CamVid val at
its size (per-class IoU over all val pixels, mIoU, CPU inference time per image).

Output folder: ``config.json`` + ``diffusion_pytorch_model.safetensors`` (the
project's weights convention) + ``training.json`` (settings, losses, val IoU).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import torch
from pydantic import Field
from tqdm import tqdm

from phy.config import StrictModel
from phy.rng import make_generator, resolve_device
from semantic.data import (
    CAMVID_CLASSES,
    CAMVID_NUM_CLASSES,
    CAMVID_VOID_ID,
    load_camvid,
)
from semantic.metrics import class_iou
from semantic.pretrained import count_parameters, save_model
from semantic.segmentation import DualResolutionSegmenter, segment, segmenter_name

from .data import random_pair_crops, training_pairs

__all__ = ["SegmenterTrainConfig", "evaluate_segmenter", "train_segmenter"]


class SegmenterTrainConfig(StrictModel):
    """`gscsim train segmenter` options (each is a command-line flag)."""

    size: int = Field(64, ge=16, le=256, multiple_of=8, description="image size it is trained for (32, 64, 128)")
    width: int = Field(32, ge=8, le=128, description="channels of the high-resolution branch")
    data_dir: str | None = Field(None, description="CamVid folder; default $GSCSIM_DATA_DIR")
    output: str | None = Field(None, description="output folder; default results/train/camvid-seg-<size>")
    steps: int = Field(3000, ge=1, description="optimiser steps")
    batch_size: int = Field(16, ge=1, description="crops per step")
    lr: float = Field(3e-3, gt=0, description="peak learning rate (AdamW)")
    weight_decay: float = Field(1e-4, ge=0, description="AdamW weight decay")
    warmup_steps: int = Field(100, ge=0, description="linear warm-up steps, then cosine decay to 0")
    scales: tuple[float, ...] = Field((1.0, 1.15, 1.3, 1.5), description="shorter-side scales of the crops")
    seed: int = Field(0, ge=0, description="seed of initialisation and data order")
    device: str = Field("auto", pattern=r"^(cpu|auto|cuda(:\d+)?)$", description="cpu, cuda, cuda:N, auto")
    log_every: int = Field(100, ge=1, description="steps per logged mean loss")
    eval_images: int | None = Field(None, ge=1, description="CamVid val images for the final evaluation (default: all)")


def evaluate_segmenter(
    model: DualResolutionSegmenter, data_dir, size: int, count: int | None = None, split: str = "val"
) -> dict:
    """Per-class IoU and mIoU over a CamVid split at ``size`` (all pixels pooled, void ignored),
    pixel accuracy, and the inference time per image on the model's device."""
    images, labels = load_camvid(data_dir, split, image_size=size, num_images=count, labels=True)
    segment(model, images[:2])  # warm-up outside the timing
    start = time.perf_counter()
    predicted = segment(model, images)
    seconds = (time.perf_counter() - start) / len(images)
    iou = class_iou(predicted, labels, CAMVID_NUM_CLASSES, CAMVID_VOID_ID)
    return {
        "images": len(images), "miou": float(iou.nanmean()),
        "class_iou": {name: round(float(v), 4) for name, v in zip(CAMVID_CLASSES, iou)},
        "pixel_accuracy": float((predicted == labels)[labels != CAMVID_VOID_ID].float().mean()),
        "seconds_per_image": seconds, "threads": torch.get_num_threads(),
    }  # fmt: skip


def train_segmenter(config: SegmenterTrainConfig, quiet: bool = False) -> Path:
    """Train, evaluate on val, write the model folder; return it."""
    device = resolve_device(config.device)
    out = Path(config.output or f"results/train/{segmenter_name(config.size)}")
    torch.manual_seed(config.seed)
    model = DualResolutionSegmenter(CAMVID_NUM_CLASSES, config.width, config.size).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)

    def lr_at(step: int) -> float:
        if step < config.warmup_steps:
            return (step + 1) / config.warmup_steps
        progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * progress))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)
    pairs = training_pairs(config.data_dir, config.size, config.scales)
    data_g = make_generator(config.seed + 1)
    losses, window, start = [], [], time.perf_counter()
    model.train()
    for step in tqdm(range(config.steps), disable=quiet, desc=segmenter_name(config.size)):
        x, y = random_pair_crops(pairs, config.size, config.batch_size, data_g)
        loss = torch.nn.functional.cross_entropy(model(x.to(device)), y.to(device), ignore_index=CAMVID_VOID_ID)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        window.append(loss.item())
        if (step + 1) % config.log_every == 0 or step + 1 == config.steps:
            losses.append([step + 1, sum(window) / len(window)])
            window = []
    seconds = time.perf_counter() - start
    model.eval()
    info = {
        "train": config.model_dump(mode="json") | {"output": out.name}, "device": device, "seconds": round(seconds, 1),
        "torch_threads": torch.get_num_threads(), "parameters": count_parameters(model), "losses": losses,
        "val": evaluate_segmenter(model.cpu(), config.data_dir, config.size, config.eval_images),
    }  # fmt: skip
    return save_model(model, out, info)
