"""Sample quality of the semantic diffusion model on CamVid val.

Synthesises each val image from its label map (guided DDIM) and scores the
synthesis against the real image: PSNR, SSIM, MS-SSIM (2 scales at 32 px: ``ms_ssim_2``) over the whole image,
and PSNR over the region a user would *not* receive (the non-intended mask of
a user that wants one class, ``--intended``; that is where the synthesis is
shown). In semantic terms, the standard score of semantic image synthesis: mIoU of
the shipped segmenter (``camvid-seg-32``) on the synthesis against the conditioning
map, next to its mIoU on the real images (what the segmenter attains at all), and
``fd_seg`` (Frechet distance in the segmenter's features; not FID). ``--scales``
repeats it for several guidance scales. LPIPS/FID are not available offline.
Writes a grid image of the first scale: rows of (label map, synthesis, real image).

Run: ``GSCSIM_DATA_DIR=../shared/data/camvid gscsim report sdm_quality camvid-sdm-32 --scales 1,1.5,2,3``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from phy.rng import make_generator
from semantic.codecs.labelmap import grey_palette
from semantic.data import CAMVID_NUM_CLASSES, CAMVID_VOID_ID, SELECTIONS, load_camvid
from semantic.intents import one_hot
from semantic.metrics import ms_ssim, ms_ssim_name, psnr, ssim
from semantic.pretrained import load_pretrained
from semantic.receivers.sdm import SemanticUNet, guided_sample
from semantic.scoring import SemanticScorer
from semantic.segmentation import DualResolutionSegmenter, segmenter_name

from ..train.ddpm import save_image_grid


def evaluate(model_name: str, data_dir: str | None, count: int, scale: float, steps: int, intended: int, seed: int,
             segmenter: str | None = None, selection: str = "spread"):  # fmt: skip
    """(metrics dict, grid tensor (3 * count, 3, S, S)) at guidance ``scale`` on ``count`` val frames
    (``selection``: spread over the split or its first ones, :func:`semantic.data.select_frames`)."""
    model = load_pretrained(model_name, SemanticUNet)
    size = 32
    images, labels = load_camvid(data_dir, "val", image_size=size, num_images=count, labels=True, selection=selection)
    samples = guided_sample(model, one_hot(labels, CAMVID_NUM_CLASSES), make_generator(seed), scale=scale, steps=steps)
    outside = (labels != intended).unsqueeze(1).expand_as(images)
    mse = ((samples - images) ** 2 * outside).flatten(1).sum(1) / outside.flatten(1).sum(1).clamp(min=1)
    metrics = {
        "psnr": float(psnr(samples, images).mean()),
        "ssim": float(ssim(samples, images).mean()),
        ms_ssim_name(size): float(ms_ssim(samples, images).mean()),
        "psnr_non_intended": float((10 * torch.log10(4.0 / mse.clamp(min=1e-10))).mean()),
    }
    if segmenter != "none":
        seg = load_pretrained(segmenter or segmenter_name(size), DualResolutionSegmenter)
        semantic = SemanticScorer(seg, CAMVID_NUM_CLASSES, CAMVID_VOID_ID)(samples, images, labels)
        metrics.update(miou=float(semantic["miou"].nanmean()), miou_real=float(semantic["miou_reference"].nanmean()),
                       fd_seg=semantic["fd_seg"])  # fmt: skip
    maps = grey_palette(CAMVID_NUM_CLASSES + 1)[labels.clamp(max=CAMVID_NUM_CLASSES)].permute(0, 3, 1, 2)
    grid = torch.stack([maps, samples, images], dim=1).reshape(-1, 3, size, size)
    return metrics, grid


def main(argv: list[str] | None = None) -> None:
    """Command line: score the SDM on CamVid val and write a sample grid."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="shipped SDM name or folder")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--scales", default="1.5", help="guidance scales s, comma-separated (e.g. 1,1.5,2,3)")
    parser.add_argument("--segmenter", default=None, help="segmenter for mIoU (default camvid-seg-32; none: skip)")
    parser.add_argument("--selection", choices=SELECTIONS, default="spread", help="which val frames (default: spread)")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--intended", type=int, default=8, help="the class a user receives (8 = car)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="sdm_samples.png")
    args = parser.parse_args(argv)
    grids = []
    for scale in (float(s) for s in args.scales.split(",")):
        metrics, grid = evaluate(args.model, args.data_dir, args.count, scale, args.steps, args.intended, args.seed,
                                 args.segmenter, args.selection)  # fmt: skip
        print(f"s = {scale}: " + ", ".join(f"{key} {value:.4f}" for key, value in metrics.items()))
        grids.append(grid)
    save_image_grid(grids[0], Path(args.out), columns=6)
    print(f"grid (map, synthesis, real) written to {args.out}")


if __name__ == "__main__":
    main()
