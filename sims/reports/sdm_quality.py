"""Synthesis quality of the semantic diffusion model (and of the SPADE GAN) on CamVid val.

Synthesises val images from their label maps and scores each synthesis against the real
image: PSNR, SSIM, MS-SSIM (2 scales at 32 px: ``ms_ssim_2``) over the whole image,
and PSNR and MS-SSIM over the region a user would *not* receive (the non-intended
mask of a user that wants one class, ``--intended``; that is where the synthesis is
shown; MS-SSIM there with the intended pixels set to mid-grey in both images). In
semantic terms, the standard score of semantic image synthesis: mIoU of the shipped
segmenter (``camvid-seg-32``) on the synthesis against the conditioning map, next to
its mIoU on the real images (what the segmenter attains at all), and ``fd_seg``
(Frechet distance in the segmenter's features; not FID). ``--scales`` repeats an
SDM for several guidance scales; a GAN (``camvid-spadegan-32``, Liu et al.'s Fig. 18
comparison) has none. ``ms_per_image`` is the wall time of one batched synthesis per
image here. LPIPS/FID are not available offline.

``--keep P`` conditions on partial maps instead, each class kept with probability P (the
classes received so far, FAST's units, seed 001), and scores mIoU on the kept classes only:
the check that a model trained with class dropout (``gscsim train sdm --class-dropout``)
places what it was given.

Writes a grid image: rows of (label map, one synthesis per model / scale, real image).

Run: ``GSCSIM_DATA_DIR=../shared/data/camvid gscsim report sdm_quality camvid-sdm-32 --scales 1,1.5,2,3``
and ``gscsim report sdm_quality camvid-sdm-32 camvid-spadegan-32 --out fig18.png`` (diffusion vs GAN).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from phy.rng import make_generator
from semantic.codecs.labelmap import grey_palette
from semantic.data import CAMVID_NUM_CLASSES, CAMVID_VOID_ID, SELECTIONS, load_camvid
from semantic.intents import one_hot, partial_one_hot
from semantic.metrics import ms_ssim, ms_ssim_name, psnr, ssim
from semantic.pretrained import load_pretrained
from semantic.receivers.sdm import guided_sample
from semantic.receivers.spadegan import SpadeGenerator, gan_sample
from semantic.scoring import SemanticScorer
from semantic.segmentation import DualResolutionSegmenter, segmenter_name

from ..train.ddpm import save_image_grid


def draw(model, label_map: torch.Tensor, seed: int, scale: float, steps: int) -> torch.Tensor:
    """Syntheses float32 (B, 3, S, S) of an SDM (guided DDIM) or a SPADE GAN (one pass) from one-hot maps."""
    if isinstance(model, SpadeGenerator):
        return gan_sample(model, label_map, make_generator(seed))
    return guided_sample(model, label_map, make_generator(seed), scale=scale, steps=steps)


def score(samples, images, labels, intended: int, segmenter: str | None) -> dict:
    """Pixel scores (whole image and non-intended region) and, unless ``segmenter == 'none'``, mIoU and fd_seg."""
    size = images.shape[-1]
    outside = (labels != intended).unsqueeze(1).expand_as(images)
    mse = ((samples - images) ** 2 * outside).flatten(1).sum(1) / outside.flatten(1).sum(1).clamp(min=1)
    grey = torch.zeros_like(images)
    name = ms_ssim_name(size)
    metrics = {
        "psnr": float(psnr(samples, images).mean()),
        "ssim": float(ssim(samples, images).mean()),
        name: float(ms_ssim(samples, images).mean()),
        "psnr_non_intended": float((10 * torch.log10(4.0 / mse.clamp(min=1e-10))).mean()),
        f"{name}_non_intended": float(ms_ssim(torch.where(outside, samples, grey), torch.where(outside, images, grey)).mean()),
    }
    if segmenter != "none":
        seg = load_pretrained(segmenter or segmenter_name(size), DualResolutionSegmenter)
        semantic = SemanticScorer(seg, CAMVID_NUM_CLASSES, CAMVID_VOID_ID)(samples, images, labels)
        metrics.update(miou=float(semantic["miou"].nanmean()), miou_real=float(semantic["miou_reference"].nanmean()),
                       fd_seg=semantic["fd_seg"])  # fmt: skip
    return metrics


def partial_maps(labels: torch.Tensor, keep: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Partial conditions (FAST's units received so far): each class channel of each map kept with
    probability ``keep`` -> (one-hot maps (B, C, S, S) with the others null, labels with the pixels of
    the dropped classes set to void, so that mIoU scores only what was asked for)."""
    received = torch.rand(labels.shape[0], CAMVID_NUM_CLASSES + 1, generator=make_generator(seed)) < keep
    shown = received.gather(1, labels.flatten(1).clamp(max=CAMVID_NUM_CLASSES)).reshape(labels.shape)
    return partial_one_hot(labels, CAMVID_NUM_CLASSES, received), torch.where(shown, labels, CAMVID_VOID_ID)


def evaluate(model_name: str, data_dir: str | None, count: int, scale: float, steps: int, intended: int, seed: int,
             segmenter: str | None = None, selection: str = "spread", keep: float = 1.0):  # fmt: skip
    """(metrics dict, syntheses (count, 3, S, S), images, labels) of one model at guidance ``scale`` on
    ``count`` val frames (``selection``: spread over the split or its first ones); ``keep`` < 1
    conditions on partial maps (:func:`partial_maps`) and scores mIoU on the kept classes only."""
    model = load_pretrained(model_name)
    size = model.image_size if isinstance(model, SpadeGenerator) else 32
    images, labels = load_camvid(data_dir, "val", image_size=size, num_images=count, labels=True, selection=selection)
    label_map = one_hot(labels, CAMVID_NUM_CLASSES)
    if keep < 1:
        label_map, labels = partial_maps(labels, keep, seed + 1)
    start = time.perf_counter()
    samples = draw(model, label_map, seed, scale, steps)
    seconds = time.perf_counter() - start
    metrics = score(samples, images, labels, intended, segmenter) | {"ms_per_image": 1e3 * seconds / count}
    return metrics, samples, images, labels


def main(argv: list[str] | None = None) -> None:
    """Command line: score each model (and SDM guidance scale) on CamVid val and write a sample grid."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="shipped SDM or SPADE GAN names or folders")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--scales", default="1.5", help="SDM guidance scales s, comma-separated (e.g. 1,1.5,2,3)")
    parser.add_argument("--segmenter", default=None, help="segmenter for mIoU (default camvid-seg-32; none: skip)")
    parser.add_argument("--selection", choices=SELECTIONS, default="spread", help="which val frames (default: spread)")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--intended", type=int, default=8, help="the class a user receives (8 = car)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=float, default=1.0, help="partial maps: each class kept with this probability (FAST)")
    parser.add_argument("--grid-rows", type=int, default=6, help="images in the sample grid")
    parser.add_argument("--out", default="sdm_samples.png")
    args = parser.parse_args(argv)
    columns, images, labels = [], None, None
    for name in args.models:
        gan = isinstance(load_pretrained(name), SpadeGenerator)
        for scale in [1.0] if gan else [float(s) for s in args.scales.split(",")]:
            metrics, samples, images, labels = evaluate(name, args.data_dir, args.count, scale, args.steps,
                                                        args.intended, args.seed, args.segmenter, args.selection,
                                                        args.keep)  # fmt: skip
            label = name if gan else f"{name} s = {scale:g}"
            print(f"{label}: " + ", ".join(f"{key} {value:.4f}" for key, value in metrics.items()))
            columns.append(samples)
    rows = min(args.grid_rows, args.count)
    maps = grey_palette(CAMVID_NUM_CLASSES + 1)[labels.clamp(max=CAMVID_NUM_CLASSES)].permute(0, 3, 1, 2)
    grid = torch.stack([maps[:rows], *(c[:rows] for c in columns), images[:rows]], dim=1)
    save_image_grid(grid.reshape(-1, *grid.shape[2:]), Path(args.out), columns=grid.shape[1])
    print(f"grid (map, {', '.join(args.models)}, real) written to {args.out}")


if __name__ == "__main__":
    main()
