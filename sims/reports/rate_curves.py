"""Measured rate-distortion and rate-perception curves on CamVid, fitted to the paper's form.

- Phi_r(r): a class stream coded at a budget of r bits per pixel of the average
  class size |Xbar| = ``class_fraction`` |X| (:func:`semantic.codecs.streams.code_class_region`,
  exactly what the pipeline sends: JPEG of the box and the class's outline, whose
  bits count in the budget), placed by its own outline as the pipeline composes it,
  and scored by 1 - MS-SSIM against the original class image, both mid-grey outside
  the class (whole frame; as many MS-SSIM scales as fit). The mean over every
  (image, class present) pair is one point.
- Phi_s(r0): the label map coded as JPEG at r0 bits per pixel of |X|, decoded,
  and the SDM's synthesis from it scored against the real image by
  1 - MS-SSIM over the whole image. This is a **proxy** for the paper's perception
  metric: LPIPS needs ImageNet backbone weights that are not on this machine.
  Every rate uses the same sampling noise (common random numbers), so the curve's
  slope is the map's effect, not sampling noise.

Both are fitted to ``a exp(-b r) + c`` (:func:`phy.multicast.fit_exp_curve`), r being
the rate the streams actually spent (``spent_bpp``), on
``--count`` frames spread over CamVid **train** (default): the evaluation frames
(val, or the test split) are not among them.
Writes ``curves.json`` (points, fits, settings) and ``curves.png``; the shipped SDM's
measurement is ``semantic/weights/camvid-sdm-32/rate_curves.json`` (its ``defaults`` feed the intent pipeline).

Run: ``GSCSIM_DATA_DIR=../shared/data/camvid python -m sims.reports.rate_curves --out results/rate_curves``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from phy.multicast import fit_exp_curve
from phy.rng import make_generator
from semantic.codecs import streams
from semantic.data import CAMVID_LABEL_IDS, CAMVID_NUM_CLASSES, load_camvid
from semantic.intents import class_images, class_masks
from semantic.metrics import ms_ssim
from semantic.pretrained import load_pretrained
from semantic.receivers.sdm import SemanticUNet, synthesize

CLASS_RATES = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)
MAP_RATES = (0.2, 0.25, 0.3, 0.4, 0.5, 0.7, 1.0, 1.5)


def distortion_points(images: torch.Tensor, labels: torch.Tensor, rates, class_fraction: float) -> dict:
    """Mean 1 - MS-SSIM and mean source bpp of class streams at each budget ``rates`` (bpp of |Xbar|)."""
    class_pixels = class_fraction * labels[0].numel()
    masks = class_masks(labels, CAMVID_NUM_CLASSES)
    class_x = class_images(images, masks)  # X_l = M_l * X, mid-grey outside the class
    present = [(i, c) for i in range(len(images)) for c in range(CAMVID_NUM_CLASSES) if masks[i, c].any()]
    values, spent = [], []
    for rate in rates:
        decoded, originals, bits = [], [], []
        for i, c in present:
            s = streams.code_class_region(images[i], masks[i, c], rate, class_pixels)
            pixels, where = streams.decode_class_stream(s)
            decoded.append(torch.where(where, pixels, 0.0))  # placed by its own outline, as composed
            originals.append(class_x[i, c])
            bits.append(s.source_bits)
        d = 1 - ms_ssim(torch.stack(decoded), torch.stack(originals))
        values.append(float(d.mean()))
        spent.append(float(np.mean(bits)) / class_pixels)
    return {"rates": list(rates), "values": values, "spent_bpp": spent, "pairs": len(present)}


def perception_points(model, images, labels, rates, seed: int, scale: float, steps: int) -> dict:
    """Mean 1 - MS-SSIM of syntheses from JPEG maps at ``rates`` (bpp of |X|), plus the lossless map."""
    size = tuple(labels.shape[-2:])

    def score(maps: torch.Tensor) -> float:
        synth = synthesize(model, maps, CAMVID_NUM_CLASSES, make_generator(seed), size, scale=scale, steps=steps)
        return float((1 - ms_ssim(synth, images)).mean())

    values, spent, accuracy = [], [], []
    for rate in rates:
        coded = [streams.code_map(lab, CAMVID_LABEL_IDS, "jpeg", rate) for lab in labels]
        maps = torch.stack([streams.decode_map(s, CAMVID_LABEL_IDS) for s in coded])
        values.append(score(maps))
        spent.append(float(np.mean([s.bits for s in coded])) / labels[0].numel())
        accuracy.append(float((maps == labels).float().mean()))
    rle_bpp = float(np.mean([streams.code_map(lab, CAMVID_LABEL_IDS, "rle").bits for lab in labels])) / labels[0].numel()
    return {
        "rates": list(rates), "values": values, "spent_bpp": spent, "map_accuracy": accuracy,
        "lossless": {"value": score(labels), "rle_bpp": rle_bpp},
    }  # fmt: skip


def measure(data_dir, split: str, count: int, image_size: int, class_fraction: float, sdm: str, seed: int,
            scale: float, steps: int) -> dict:  # fmt: skip
    """Both curves' points and fits on ``count`` CamVid images, with the settings."""
    images, labels = load_camvid(
        data_dir, split, image_size=image_size, num_images=count, labels=True, selection="spread"
    )
    distortion = distortion_points(images, labels, CLASS_RATES, class_fraction)
    perception = perception_points(load_pretrained(sdm, SemanticUNet), images, labels, MAP_RATES, seed, scale, steps)
    out = {"settings": {"split": split, "selection": "spread", "images": count, "image_size": image_size,
                        "class_fraction": class_fraction, "class_stream": "jpeg+mask (outline in the budget)",
                        "sdm": sdm, "seed": seed, "guidance": scale, "ddim_steps": steps,
                        "perception_proxy": "1 - MS-SSIM(synthesis, real), whole image"}}  # fmt: skip
    for name, points in (("distortion", distortion), ("perception", perception)):
        # Fitted against the bits the streams actually spent, not the budgets asked for: below a
        # codec's floor (lowest JPEG quality plus the class outline, about 1.3 bpp of |Xbar| at
        # 128 px) a budget is overshot, and the planner must see the rate that goes on the air.
        fit = fit_exp_curve(points["spent_bpp"], points["values"])
        out[name] = points | {"fit": {"a": fit.a, "b": fit.b, "c": fit.c}}
    return out


def plot(result: dict, path: Path) -> None:
    """Measured points, fits and the paper's curves, side by side, to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from phy.multicast import PAPER_DISTORTION, PAPER_PERCEPTION, ExpCurve

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, name, paper, label in (
        (axes[0], "distortion", PAPER_DISTORTION, "Phi_r: 1 - MS-SSIM of class streams"),
        (axes[1], "perception", PAPER_PERCEPTION, "Phi_s proxy: 1 - MS-SSIM of synthesis"),
    ):
        points, fit = result[name], ExpCurve(**result[name]["fit"])
        grid = np.linspace(0, max(points["spent_bpp"]), 200)
        ax.plot(points["spent_bpp"], points["values"], "o", label="measured (CamVid train), at the bits spent")
        ax.plot(grid, fit(grid), "-", label=f"fit {fit.a:.3f} e^(-{fit.b:.3f} r) + {fit.c:.3f}")
        ax.plot(grid, paper(grid), "--", label=f"paper {paper.a} e^(-{paper.b} r) + {paper.c}")
        ax.set_xlabel("rate (bpp)")
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    """Command line: measure, write curves.json and curves.png, print the fits."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--split", default="train", help="measure on train: evaluation uses val / test")
    parser.add_argument("--count", type=int, default=32)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--class-fraction", type=float, default=0.1)
    parser.add_argument("--sdm", default="camvid-sdm-32")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", type=float, default=1.5, help="guidance scale s")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--out", default="results/rate_curves")
    args = parser.parse_args(argv)
    result = measure(args.data_dir, args.split, args.count, args.image_size, args.class_fraction, args.sdm,
                     args.seed, args.scale, args.steps)  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "curves.json").write_text(json.dumps(result, indent=2))
    plot(result, out / "curves.png")
    for name in ("distortion", "perception"):
        f = result[name]["fit"]
        print(f"{name}: {f['a']:.4f} exp(-{f['b']:.4f} r) + {f['c']:.4f}  points {np.round(result[name]['values'], 4).tolist()}")
    print(f"written to {out}/curves.json and curves.png")


if __name__ == "__main__":
    main()
