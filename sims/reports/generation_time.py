"""Table IV of Liu et al. (generation time T_g = N^F / P^F), and the shipped SDM's N^F and T_g.

Prints the paper's two models on its four processors (2.87 TFLOPs on A100 / H100:
9.2 / 2.9 ms; 153 GFLOPs on A18 / M4: 4.4 / 4.0 ms), then the shipped SDM's FLOPs
per synthesis counted with torch's FlopCounterMode (50 DDIM steps; guidance s != 1
doubles every U-Net batch), the T_g they imply on each processor, and the wall time
of one synthesis measured here (median of ``--repeats``, torch threads as set).

Run: ``gscsim report generation_time [--model camvid-sdm-32] [--scales 1,1.5]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from semantic.flops import (
    PAPER_MODEL_FLOPS,
    PROCESSOR_FLOPS,
    generation_ms,
    sdm_synthesis_flops,
)
from semantic.pretrained import count_parameters, load_pretrained, training_info
from semantic.receivers.sdm import SemanticUNet, guided_sample

#: Table IV as printed: (model, processor) -> T_g (ms).
PAPER_TABLE_IV = {
    ("lightweight-diffusion", "a100"): 9.2, ("lightweight-diffusion", "h100"): 2.9,
    ("mobilediffusion-lite", "a18"): 4.4, ("mobilediffusion-lite", "m4"): 4.0,
}  # fmt: skip


def wall_ms(model: SemanticUNet, size: int, steps: int, scale: float, repeats: int) -> float:
    """Median wall time (ms) of one synthesis from a ``size`` x ``size`` map on the model's device."""
    label_map = torch.zeros(1, model.config["label_channels"], size, size)
    label_map[:, 0] = 1
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        guided_sample(model, label_map, torch.Generator().manual_seed(i), scale=scale, steps=steps)
        times.append(1e3 * (time.perf_counter() - start))
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    """Command line: print Table IV and the shipped SDM's generation time."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="camvid-sdm-32", help="shipped SDM name or folder")
    parser.add_argument("--scales", default="1,1.5", help="guidance scales, comma-separated")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    print("Table IV: T_g = N^F / P^F (ms), gscsim vs the paper")
    print("| model | N^F | processor | P^F | T_g | paper |")
    print("| --- | --- | --- | --- | --- | --- |")
    for (name, processor), printed in PAPER_TABLE_IV.items():
        flops = PAPER_MODEL_FLOPS[name]
        print(f"| {name} | {flops / 1e9:g} GFLOP | {processor} | {PROCESSOR_FLOPS[processor] / 1e12:g} TFLOP/s "
              f"| {generation_ms(flops, processor):.2f} | {printed} |")  # fmt: skip

    model = load_pretrained(args.model, SemanticUNet)
    size = training_info(args.model).get("train", {}).get("image_size", 32)
    print(f"\n{args.model}: {count_parameters(model) / 1e6:.2f} M parameters, {size} x {size} px, {args.steps} steps, "
          f"torch threads {torch.get_num_threads()}")  # fmt: skip
    processors = list(PROCESSOR_FLOPS)
    print("| s | N^F (GFLOP) | " + " | ".join(f"T_g {p} (ms)" for p in processors) + " | wall here (ms) |")
    print("|" + " --- |" * (len(processors) + 3))
    for scale in (float(s) for s in args.scales.split(",")):
        flops = sdm_synthesis_flops(model, size, args.steps, scale)
        cells = " | ".join(f"{generation_ms(flops, p):.3f}" for p in processors)
        print(f"| {scale:g} | {flops / 1e9:.2f} | {cells} | {wall_ms(model, size, args.steps, scale, args.repeats):.0f} |")


if __name__ == "__main__":
    main()
