"""A figure like Liu et al.'s Fig. 14: original, label map, synthesis, and three users' images.

Runs the `intent_images` pipeline (proposed scheme) on one CamVid val image for
three users with disjoint intents and shows: the original, its label map
(CamVid colours), the synthesis from the map user 1 decoded, and each user's
composed image Y_k = M_I * (its decoded classes) + M_N * synthesis, titled with
the user's classes, intended-region PSNR and measured / predicted latency.

Run: ``GSCSIM_DATA_DIR=../shared/data/camvid python -m sims.reports.intent_figure --out fig14.png``
(requirements default to the measured-curve equivalents of the paper's first setting).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from bridges.intent_multicast import IntentMulticastConfig, IntentPipeline
from phy.config import LinkBudgetConfig
from phy.multicast import channel_gains
from phy.rng import make_generator
from semantic.data import (
    CAMVID_COLOURS,
    CAMVID_NUM_CLASSES,
    CAMVID_VOID_ID,
    load_camvid,
)
from semantic.metrics import masked_psnr

NAMES = ("sky", "building", "pole", "road", "pavement", "tree", "sign", "fence", "car", "pedestrian", "bicyclist")
COLOURS = torch.tensor(CAMVID_COLOURS)


def colour_map(labels: torch.Tensor) -> np.ndarray:
    """uint8 (H, W, 3) display colours of an int64 (H, W) map."""
    return COLOURS[labels.clamp(0, CAMVID_VOID_ID)].numpy().astype(np.uint8)


def to_rgb(image: torch.Tensor) -> np.ndarray:
    """uint8 (H, W, 3) of a float32 (3, H, W) image in [-1, 1]."""
    return ((image.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()


def render(index: int, classes: list[int], options: dict, data_dir, image_size: int, seed: int, out: Path) -> dict:
    """Run one drop of the intent pipeline and draw the Fig. 14-like panel; return its numbers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images, labels = load_camvid(data_dir, "val", image_size=image_size, num_images=index + 1, labels=True)
    image, lab = images[index], labels[index]
    opts = IntentMulticastConfig(**({"users": 3, "intents": "disjoint", "classes": classes} | options))
    pipeline = IntentPipeline(opts, LinkBudgetConfig(), (image_size, image_size))
    gains = channel_gains(pipeline.budget, (1, 3), np.random.default_rng(seed))[0]
    users, _ = pipeline.run(image, lab, gains, make_generator(seed))
    region = pipeline.intended_region(lab)
    panels = [("original", to_rgb(image)), ("label map", colour_map(lab)),
              ("synthesised from map", to_rgb(users[0].synthesis))]  # fmt: skip
    summary = {}
    for k, u in enumerate(users):
        p = float(masked_psnr(u.image[None], image[None], region[k : k + 1])[0])
        name = NAMES[pipeline.class_ids[k]]
        summary[f"user{k + 1}"] = {"class": name, "intended_psnr": p, "measured_ms": u.measured_s * 1e3,
                                   "predicted_ms": u.predicted_s * 1e3, "streams_lost": u.streams_lost}  # fmt: skip
        panels.append((f"user {k + 1}: {name}\nPSNR {p:.1f} dB, {u.measured_s * 1e3:.2f} / {u.predicted_s * 1e3:.2f} ms",
                       to_rgb(u.image)))  # fmt: skip
    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 3.1))
    for ax, (title, array) in zip(axes, panels):
        ax.imshow(array, interpolation="nearest")
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(out, dpi=130)
    plt.close(fig)
    return summary


def main(argv: list[str] | None = None) -> None:
    """Command line: render the panel to ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--index", type=int, default=0, help="CamVid val image")
    parser.add_argument("--classes", default="8,3,1", help="the three users' CamVid classes (default car, road, building)")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--power-mw", type=float, default=100.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="fig14.png")
    args = parser.parse_args(argv)
    classes = [int(c) for c in args.classes.split(",")]
    rest = [c for c in range(CAMVID_NUM_CLASSES) if c not in classes]
    summary = render(args.index, classes + rest, {"power_mw": args.power_mw}, args.data_dir, args.image_size,
                     args.seed, Path(args.out))  # fmt: skip
    for user, values in summary.items():
        print(user, {k: round(v, 3) if isinstance(v, float) else v for k, v in values.items()})
    print(f"figure written to {args.out}")


if __name__ == "__main__":
    main()
