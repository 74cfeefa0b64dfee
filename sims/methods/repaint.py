"""The `repaint` method: diffusers' RePaint inpainting of the pixels the link did not carry.

Same reception as `received` and `nullspace` at a (point, seed); the known
pixels are A+ y, noise included (RePaint has no noise model).
"""

from __future__ import annotations

from pydantic import Field

from semantic.receivers.repaint import repaint

from ..registry import PointContext
from .common import (
    DiffusionOptions,
    diffusion_reception,
    image_metrics,
    register_diffusion_method,
)

__all__ = ["RepaintOptions"]


class RepaintOptions(DiffusionOptions):
    """RePaint's resampling schedule."""

    jump_length: int = Field(5, ge=1, description="RePaint jump length j")
    jump_n_sample: int = Field(2, ge=1, description="RePaint resamplings r per jump")
    eta: float = Field(0.0, ge=0, le=1, description="DDIM-style eta of the RePaint scheduler")


@register_diffusion_method("repaint", RepaintOptions)
def repaint_method(ctx: PointContext) -> dict:
    """RePaint (diffusers) inpainting of the missing pixels."""
    opts: RepaintOptions = ctx.options
    link, rx, (unet, scheduler), generator = diffusion_reception(ctx, "repaint")
    known = rx.operator.A_pinv(rx.y)
    estimate = repaint(
        unet, scheduler.config, known.flatten(0, 1), rx.pixel_mask.flatten(0, 1),
        generator, opts.steps, opts.jump_length, opts.jump_n_sample, opts.eta,
    )  # fmt: skip
    return image_metrics(ctx, estimate.reshape(known.shape), link, rx)
