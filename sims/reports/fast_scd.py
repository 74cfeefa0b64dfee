"""FAST (seed 001) Figs. 8 and 9: what the semantic difference Delta shows, and images vs the intervention factor w.

As in the paper (Sec. V-C), each map's units are split in two sets: the first starts the
denoising at step 0, the second arrives ``--late`` steps later (the paper: 20). The default
split puts the layout classes (attributes ``stuff`` and ``nature``) first and the rest
(``objects``, ``thin``, void) second, the analogue of a prompt's main nouns and its late details.

- Fig. 8 (``--fig8 PATH``): per map, the two sets' maps, |Delta| (channel mean) at the late
  arrival and 5 steps after it, the SCD image (w = 1) and the real image. In numbers: the share
  of Delta's energy on the second set's pixels next to their share of the image (Delta focused
  on the new units' regions has the first well above the second).
- Fig. 9 (``--fig9 PATH``): the images for each w of ``--ws``, rows = maps, with each image's
  precision (mIoU against the full map), and the mean over the ``--count`` maps per w.

Run: ``gscsim report fast_scd --fig8 fig8.png --fig9 fig9.png [--count 16] [--late 20]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from phy.rng import derive_seed, make_generator
from semantic.data import (
    CAMVID_CLASSES,
    CAMVID_COLOURS,
    CAMVID_NUM_CLASSES,
    load_camvid,
)
from semantic.metrics import miou
from semantic.pretrained import load_pretrained
from semantic.receivers.scd import NEVER, ScdConfig, sequential_conditional_denoising
from semantic.receivers.sdm import SemanticUNet
from semantic.segmentation import DualResolutionSegmenter, segment
from semantic.units import CAMVID_ATTRIBUTES, present_units

from ..train.ddpm import save_image_grid

FIRST_ATTRIBUTES = ("stuff", "nature")


def two_sets(labels: torch.Tensor, late: int) -> torch.Tensor:
    """arrival int64 (B, C + 1): the layout classes at step 0, every other present class at ``late``."""
    first = [CAMVID_CLASSES.index(c) for a in FIRST_ATTRIBUTES for c in CAMVID_ATTRIBUTES[a]]
    present = present_units(labels, CAMVID_NUM_CLASSES)
    arrival = torch.full(present.shape, NEVER, dtype=torch.int64)
    arrival[present] = late
    is_first = torch.zeros(present.shape[1], dtype=torch.bool)
    is_first[first] = True
    arrival[present & is_first] = 0
    return arrival


def colour_maps(labels: torch.Tensor, shown: torch.Tensor) -> torch.Tensor:
    """float32 (B, 3, H, W) in [-1, 1]: CamVid colours where ``shown`` (bool (B, C + 1)) holds the pixel's class, grey elsewhere."""
    palette = torch.tensor(CAMVID_COLOURS, dtype=torch.float32) / 127.5 - 1
    ids = labels.clamp(max=CAMVID_NUM_CLASSES)
    image = palette[ids].permute(0, 3, 1, 2)
    keep = shown.gather(1, ids.flatten(1)).reshape(ids.shape)[:, None]
    return torch.where(keep, image, torch.zeros_like(image))


def scd(model, labels, arrival, w: float, steps: int, seed: int, deltas: bool = False):
    """The SCD result with x_T drawn per map from ``seed`` (the same for every w)."""
    noise = torch.stack([torch.randn(3, *labels.shape[-2:], generator=make_generator(derive_seed(seed, i)))
                         for i in range(len(labels))])  # fmt: skip
    return sequential_conditional_denoising(model, labels, arrival, CAMVID_NUM_CLASSES, make_generator(seed),
                                            ScdConfig(steps=steps, w=w), return_deltas=deltas, noise=noise)  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    """Command line (module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="camvid-sdm-partial-32")
    parser.add_argument("--segmenter", default="camvid-seg-32")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--count", type=int, default=16, help="val maps (spread over the split)")
    parser.add_argument("--rows", type=int, default=4, help="maps shown in the figures")
    parser.add_argument("--late", type=int, default=20, help="the step at which the second set arrives")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--ws", default="0,0.5,1,2,4,8", help="intervention factors of Fig. 9")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fig8", default=None)
    parser.add_argument("--fig9", default=None)
    parser.add_argument("--zoom", type=int, default=4, help="pixels per image pixel in the grids")
    args = parser.parse_args(argv)
    zoom = lambda grid: torch.nn.functional.interpolate(grid, scale_factor=args.zoom, mode="nearest")  # noqa: E731
    model = load_pretrained(args.model, SemanticUNet).eval()
    segmenter = load_pretrained(args.segmenter, DualResolutionSegmenter).eval()
    images, labels = load_camvid(args.data_dir, "val", image_size=32, num_images=args.count, labels=True, selection="spread")
    arrival = two_sets(labels, args.late)
    rows = min(args.rows, args.count)

    out = scd(model, labels, arrival, 1.0, args.steps, args.seed, deltas=True)
    second = (arrival == args.late).gather(1, labels.clamp(max=CAMVID_NUM_CLASSES).flatten(1)).reshape(labels.shape)
    energy = out.deltas[args.late].square().sum(1)  # (B, H, W)
    on_second = (energy * second).flatten(1).sum(1) / energy.flatten(1).sum(1).clamp(min=1e-12)
    area = second.flatten(1).float().mean(1)
    has = area > 0
    print(f"Fig. 8: second set at step {args.late} of {args.steps} on {int(has.sum())} maps: Delta's energy on its pixels "
          f"{on_second[has].mean():.1%} vs their share of the image {area[has].mean():.1%}")  # fmt: skip
    if args.fig8:
        def norm(d):
            m = d.abs().mean(1, keepdim=True)
            return (m / m.flatten(1).amax(1).clamp(min=1e-12)[:, None, None, None] * 2 - 1).expand(-1, 3, -1, -1)

        later = min(args.late + 5, args.steps - 1)
        columns = [colour_maps(labels, arrival == 0), colour_maps(labels, arrival == args.late),
                   norm(out.deltas[args.late]), norm(out.deltas[later]), out.images, images]  # fmt: skip
        grid = torch.stack([c[:rows] for c in columns], 1)
        save_image_grid(zoom(grid.flatten(0, 1)), Path(args.fig8), columns=len(columns))
        print(f"Fig. 8 grid (first set, second set, |Delta| at {args.late} and {later}, image w = 1, real) -> {args.fig8}")

    ws = [float(w) for w in args.ws.split(",")]
    results = []
    for w in ws:
        image = scd(model, labels, arrival, w, args.steps, args.seed).images
        score = np.nan_to_num(miou(segment(segmenter, image), labels, CAMVID_NUM_CLASSES, CAMVID_NUM_CLASSES).numpy())
        results.append(image)
        print(f"Fig. 9: w = {w:g}: precision {score.mean():.4f} +- {1.96 * score.std(ddof=1) / np.sqrt(len(score)):.4f}"
              f" (first rows: {', '.join(f'{v:.2f}' for v in score[:rows])})")  # fmt: skip
    if args.fig9:
        grid = torch.stack([colour_maps(labels, arrival < NEVER)[:rows], *(r[:rows] for r in results), images[:rows]], 1)
        save_image_grid(zoom(grid.flatten(0, 1)), Path(args.fig9), columns=grid.shape[1])
        print(f"Fig. 9 grid (map, w = {', '.join(f'{w:g}' for w in ws)}, real) -> {args.fig9}")


if __name__ == "__main__":
    main()
