"""RePaint (Lugmayr et al., CVPR 2022) through diffusers' pipeline: the off-the-shelf
generative inpainting reference, on the same U-Net as the null-space receiver."""

from __future__ import annotations

import warnings

import torch
from diffusers import RePaintPipeline, RePaintScheduler

__all__ = ["repaint"]


@torch.no_grad()
def repaint(
    unet: torch.nn.Module,
    scheduler_config: dict,
    known: torch.Tensor,
    mask: torch.Tensor,
    generator: torch.Generator,
    steps: int = 50,
    jump_length: int = 5,
    jump_n_sample: int = 2,
    eta: float = 0.0,
) -> torch.Tensor:
    """Inpaint ``known`` where ``mask`` is False.

    :param known: float (N, C, H, W) in [-1, 1], the received pixels (anything elsewhere).
    :param mask: bool (N, C, H, W) or (N, 1, H, W), True where the pixel was received.
    :returns: float32 (N, C, H, W) in [-1, 1] on ``known``'s device.
    """
    pipe = RePaintPipeline(unet=unet, scheduler=RePaintScheduler.from_config(scheduler_config))
    pipe.set_progress_bar_config(disable=True)
    with warnings.catch_warnings():  # the pipeline's own tensor preprocessing is deprecated in diffusers
        warnings.simplefilter("ignore", FutureWarning)
        out = pipe(
            image=known.to(unet.dtype), mask_image=mask.to(unet.dtype), num_inference_steps=steps, eta=eta,
            jump_length=jump_length, jump_n_sample=jump_n_sample, generator=generator, output_type="np",
        ).images  # fmt: skip
    return (torch.from_numpy(out).permute(0, 3, 1, 2) * 2 - 1).to(known.device, torch.float32)
