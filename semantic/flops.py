"""Generation time from FLOPs: T_g = N^F / P^F (Liu et al., Section III-F, Table IV).

The multicasting paper models a receiver's synthesis time as the FLOPs of one
generation N^F over the processor's throughput P^F, with two diffusion models
and four processors (Table IV):

================================  =========  =====================
model                             N^F        T_g
================================  =========  =====================
lightweight diffusion [18]        2.87 TFLOP A100 9.2 ms, H100 2.9 ms
MobileDiffusion-Lite [46]         153 GFLOP  A18 4.4 ms, M4 4.0 ms
================================  =========  =====================

:func:`count_flops` counts any callable's FLOPs with torch's ``FlopCounterMode``
(matrix products and convolutions, 2 FLOPs per multiply-add; elementwise ops are
not counted, as in the usual FLOP figures of network papers), so any gscsim model
gets its N^F: :func:`sdm_synthesis_flops` runs one whole guided synthesis (every
DDIM step, the classifier-free guidance's doubled batch included).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import torch
from torch.utils.flop_counter import FlopCounterMode

__all__ = [
    "PAPER_MODEL_FLOPS",
    "PROCESSOR_FLOPS",
    "count_flops",
    "generation_ms",
    "model_generation_flops",
    "sdm_synthesis_flops",
]

#: Throughput P^F (FLOP/s) of Table IV's processors, as the paper prints them.
PROCESSOR_FLOPS = {"a100": 312e12, "h100": 989e12, "a18": 35e12, "m4": 38e12}
#: N^F (FLOPs per generated image) of Table IV's two models.
PAPER_MODEL_FLOPS = {"lightweight-diffusion": 2.87e12, "mobilediffusion-lite": 153e9}


def count_flops(fn: Callable, *args, **kwargs) -> int:
    """FLOPs torch counts while ``fn(*args, **kwargs)`` runs (2 per multiply-add)."""
    with FlopCounterMode(display=False) as counter:
        fn(*args, **kwargs)
    return int(counter.get_total_flops())


def generation_ms(flops: float, processor: str) -> float:
    """T_g = N^F / P^F in milliseconds on one of :data:`PROCESSOR_FLOPS`."""
    try:
        throughput = PROCESSOR_FLOPS[processor]
    except KeyError:
        raise ValueError(f"processor {processor!r}: expected one of {', '.join(PROCESSOR_FLOPS)}") from None
    return 1e3 * flops / throughput


def sdm_synthesis_flops(model, image_size: int, steps: int = 50, scale: float = 1.5) -> int:
    """N^F of one image synthesised by :func:`semantic.receivers.sdm.guided_sample` from an
    ``image_size`` x ``image_size`` map: ``steps`` U-Net evaluations, each on a doubled batch
    when ``scale != 1`` (classifier-free guidance)."""
    from .receivers.sdm import guided_sample

    classes = model.config["label_channels"]
    device = next(model.parameters()).device
    label_map = torch.zeros(1, classes, image_size, image_size, device=device)
    label_map[:, 0] = 1
    generator = torch.Generator(device=device).manual_seed(0)
    return count_flops(guided_sample, model, label_map, generator, scale=scale, steps=steps)


@lru_cache(maxsize=16)
def model_generation_flops(name: str, steps: int = 50, scale: float = 1.5) -> float:
    """N^F of ``name``: one of :data:`PAPER_MODEL_FLOPS`, or a shipped SDM (name or folder) counted
    with :func:`sdm_synthesis_flops` at the image size it was trained at (its ``training.json``)."""
    if name in PAPER_MODEL_FLOPS:
        return PAPER_MODEL_FLOPS[name]
    from .pretrained import load_pretrained, resolve, training_info
    from .receivers.sdm import SemanticUNet

    try:
        resolve(name)
    except FileNotFoundError:
        raise ValueError(
            f"generation model {name!r}: not a Table IV model ({', '.join(PAPER_MODEL_FLOPS)}) nor a shipped SDM"
        ) from None
    size = training_info(name).get("train", {}).get("image_size", 32)
    return float(sdm_synthesis_flops(load_pretrained(name, SemanticUNet), size, steps, scale))
