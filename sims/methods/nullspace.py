"""The `nullspace` method: DDNM / DDNM+ null-space sampling of what the link did not carry.

It receives exactly what the `received` method receives at the same point and
seed (same channel, noise and allocation), then regenerates the missing pixels
and removes noise with a diffusion model (the shipped CamVid DDPM by default;
:mod:`semantic.receivers.nullspace`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from semantic.receivers.nullspace import NullSpaceConfig, null_space_sample

from ..registry import PointContext
from .common import (
    DiffusionOptions,
    diffusion_reception,
    image_metrics,
    register_diffusion_method,
)

__all__ = ["NullSpaceOptions"]


class NullSpaceOptions(DiffusionOptions):
    """Sampler, time travel and noise level of the null-space receiver."""

    sampler: Literal["ddim", "ddpm"] = Field("ddim", description="DDIM steps with eta, or DDPM ancestral steps")
    eta: float = Field(0.85, ge=0, le=1, description="DDIM's eta (0 deterministic, 1 DDPM-like); not DDNM's eta")
    travel_length: int = Field(0, ge=0, description="time-travel jump l (0: none)")
    travel_repeat: int = Field(1, ge=1, description="time-travel jumps r per jump point (DDNM's repeat_step = r + 1)")
    sigma: Literal["known", "estimate", "none"] = Field(
        "known", description="noise level: per pixel from SNR and CSI, one per image by eq. 30 (re-derived), or assume noiseless"
    )

    @model_validator(mode="after")
    def _travel_below_steps(self) -> "NullSpaceOptions":
        if self.travel_length >= self.steps:
            raise ValueError(f"travel_length ({self.travel_length}) must be below steps ({self.steps})")
        if self.path == "digital" and self.sigma != "none":
            # The digital path tells a receiver its quantisation noise (~0.002), but one bit error in a
            # most significant bit costs 1.0: DDNM+ would trust wrong pixels as nearly exact.
            raise ValueError(
                "path = 'digital': the receiver would be told quantisation noise only while bit errors cost "
                "up to 1.0 per pixel; use path = 'analog' (or sigma = 'none' to fill without denoising)"
            )
        return self


@register_diffusion_method("nullspace", NullSpaceOptions)
def nullspace(ctx: PointContext) -> dict:
    """DDNM+ null-space sampling (Wang et al.) of the received measurement."""
    opts: NullSpaceOptions = ctx.options
    link, rx, (unet, scheduler), generator = diffusion_reception(ctx, "nullspace")
    scheduler.set_timesteps(opts.steps)
    sigma = {"known": rx.noise_std, "estimate": rx.sigma_r_estimate[..., None, None, None], "none": 0.0}[opts.sigma]
    config = NullSpaceConfig(opts.steps, opts.sampler, opts.eta, opts.travel_length, opts.travel_repeat)
    estimate = null_space_sample(
        unet, scheduler.alphas_cumprod, scheduler.timesteps, rx.operator, rx.y,
        generator, config, sigma, ctx.progress,
    )  # fmt: skip
    return image_metrics(ctx, estimate.clamp(-1, 1), link, rx)
