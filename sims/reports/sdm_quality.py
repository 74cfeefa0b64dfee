"""Sample quality of the semantic diffusion model on CamVid val.

Synthesises each val image from its label map (guided DDIM) and scores the
synthesis against the real image: PSNR, SSIM, MS-SSIM over the whole image,
and PSNR over the region a user would *not* receive (the non-intended mask of
a user that wants one class, ``--intended``; that is where the synthesis is
shown). mIoU and LPIPS/FID are not available offline. Writes a grid image:
rows of (label map, synthesis, real image).

Run: ``GSCSIM_DATA_DIR=../shared/data/camvid python -m sims.reports.sdm_quality camvid-sdm-32 --out sdm.png``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from phy.rng import make_generator
from semantic.codecs.labelmap import grey_palette
from semantic.data import CAMVID_NUM_CLASSES, load_camvid
from semantic.intents import one_hot
from semantic.metrics import ms_ssim, psnr, ssim
from semantic.pretrained import load_pretrained
from semantic.receivers.sdm import SemanticUNet, guided_sample

from ..train.ddpm import save_image_grid


def evaluate(model_name: str, data_dir: str | None, count: int, scale: float, steps: int, intended: int, seed: int):
    """(metrics dict, grid tensor (3 * count, 3, S, S))."""
    model = load_pretrained(model_name, SemanticUNet)
    size = 32
    images, labels = load_camvid(data_dir, "val", image_size=size, num_images=count, labels=True)
    samples = guided_sample(model, one_hot(labels, CAMVID_NUM_CLASSES), make_generator(seed), scale=scale, steps=steps)
    outside = (labels != intended).unsqueeze(1).expand_as(images)
    mse = ((samples - images) ** 2 * outside).flatten(1).sum(1) / outside.flatten(1).sum(1).clamp(min=1)
    metrics = {
        "psnr": float(psnr(samples, images).mean()),
        "ssim": float(ssim(samples, images).mean()),
        "ms_ssim": float(ms_ssim(samples, images).mean()),
        "psnr_non_intended": float((10 * torch.log10(4.0 / mse.clamp(min=1e-10))).mean()),
    }
    maps = grey_palette(CAMVID_NUM_CLASSES + 1)[labels.clamp(max=CAMVID_NUM_CLASSES)].permute(0, 3, 1, 2)
    grid = torch.stack([maps, samples, images], dim=1).reshape(-1, 3, size, size)
    return metrics, grid


def main(argv: list[str] | None = None) -> None:
    """Command line: score the SDM on CamVid val and write a sample grid."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="shipped SDM name or folder")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--scale", type=float, default=1.5, help="guidance scale s")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--intended", type=int, default=8, help="the class a user receives (8 = car)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="sdm_samples.png")
    args = parser.parse_args(argv)
    metrics, grid = evaluate(args.model, args.data_dir, args.count, args.scale, args.steps, args.intended, args.seed)
    for key, value in metrics.items():
        print(f"{key}: {value:.4f}")
    save_image_grid(grid, Path(args.out), columns=6)
    print(f"grid (map, synthesis, real) written to {args.out}")


if __name__ == "__main__":
    main()
