"""The shipped CamVid segmenters on CamVid val: per-class IoU, mIoU, pixel accuracy, time per image.

Every pixel of the split at the segmenter's size is pooled (void ignored), so the
mIoU is the dataset-level one that published CamVid results report (e.g. SegNet,
Badrinarayanan et al. 2017, Table 2: class-average accuracy 65.2 and mIoU 55.6 at
360 x 480 on the test split); ours are at 32-128 px on val and can only be placed
beside those, not compared one to one.

Run: ``GSCSIM_DATA_DIR=../shared/data/camvid gscsim report segmenters [--sizes 32,64,128]``
"""

from __future__ import annotations

import argparse

import torch

from semantic.data import CAMVID_CLASSES, CAMVID_NUM_CLASSES
from semantic.pretrained import count_parameters, load_pretrained
from semantic.segmentation import DualResolutionSegmenter, segmenter_name

from ..train.segmenter import evaluate_segmenter


def main(argv: list[str] | None = None) -> None:
    """Command line: evaluate the shipped segmenters and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--sizes", default="32,64,128")
    parser.add_argument("--split", default="val")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = {}
    for size in sizes:
        model = load_pretrained(segmenter_name(size), DualResolutionSegmenter)
        rows[size] = evaluate_segmenter(model, args.data_dir, size, split=args.split) | {"parameters": count_parameters(model)}
    header = "| class | " + " | ".join(f"{s} px" for s in sizes) + " |"
    print(header)
    print("|" + " --- |" * (len(sizes) + 1))
    for name in CAMVID_CLASSES[:CAMVID_NUM_CLASSES]:
        print(f"| {name} | " + " | ".join(f"{rows[s]['class_iou'][name]:.3f}" for s in sizes) + " |")
    for key, fmt in (("miou", "{:.3f}"), ("pixel_accuracy", "{:.3f}"), ("seconds_per_image", "{:.5f}"), ("parameters", "{:d}")):
        print(f"| **{key}** | " + " | ".join(fmt.format(rows[s][key]) for s in sizes) + " |")
    print(f"\n{rows[sizes[0]]['images']} {args.split} images, {torch.get_num_threads()} CPU threads")


if __name__ == "__main__":
    main()
