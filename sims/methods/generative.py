"""The generative receivers as sweep methods: `nullspace` (DDNM / DDNM+) and `repaint`.

Both receive exactly what the `received` method receives at the same point
and seed (same channel, noise and allocation), then regenerate the missing
pixels with a diffusion model (the shipped CamVid DDPM by default).
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from phy.rng import derive_seed, make_generator
from semantic.receivers.models import DEFAULT_MODEL, load_diffusion, model_sample_size
from semantic.receivers.nullspace import NullSpaceConfig, null_space_sample
from semantic.receivers.repaint import repaint

from ..registry import PointContext
from .received import (
    TransmissionOptions,
    bridge_for,
    image_metrics,
    received_at_point,
    register_image_method,
    validate_transmission,
)

__all__ = ["NullSpaceOptions", "RepaintOptions"]


class DiffusionOptions(TransmissionOptions):
    model: str = Field(DEFAULT_MODEL, description="shipped name, diffusers folder, or hub id")
    steps: int = Field(50, ge=1, le=1000)


class NullSpaceOptions(DiffusionOptions):
    sampler: Literal["ddim", "ddpm"] = "ddim"
    eta: float = Field(0.85, ge=0, le=1)
    travel_length: int = Field(0, ge=0)
    travel_repeat: int = Field(1, ge=1)
    sigma: Literal["known", "estimate", "none"] = Field(
        "known", description="noise level: from SNR and CSI, eq. 30's estimate, or assume noiseless"
    )


class RepaintOptions(DiffusionOptions):
    jump_length: int = Field(5, ge=1)
    jump_n_sample: int = Field(2, ge=1)
    eta: float = Field(0.0, ge=0, le=1)


def _validate(config, options: DiffusionOptions, point: dict) -> None:
    validate_transmission(config, options, point)
    try:
        size = model_sample_size(options.model)
    except (FileNotFoundError, ConnectionError, OSError) as exc:
        raise ValueError(f"model: {exc}") from None
    if size != config.source.image_size:
        raise ValueError(
            f"model {options.model!r} generates {size}x{size} images but source.image_size = {config.source.image_size}"
        )
    if isinstance(options, NullSpaceOptions) and options.travel_length >= options.steps:
        raise ValueError(f"travel_length ({options.travel_length}) must be below steps ({options.steps})")


def _model(ctx: PointContext):
    key = ("diffusion", ctx.options.model, ctx.device)
    if key not in ctx.cache:
        ctx.cache[key] = load_diffusion(ctx.options.model, ctx.device)
    return ctx.cache[key]


def _receiver_generator(ctx: PointContext, name: str) -> torch.Generator:
    """The receiver's own stream: the link's draws stay those of every other method."""
    return make_generator(derive_seed(ctx.seed, name, *sorted((k, repr(v)) for k, v in ctx.axes.items())), ctx.device)


@register_image_method("nullspace", NullSpaceOptions, _validate)
def nullspace(ctx: PointContext) -> dict:
    opts: NullSpaceOptions = ctx.options
    link, rx = received_at_point(ctx, bridge_for(opts, ctx.point))
    unet, scheduler = _model(ctx)
    scheduler.set_timesteps(opts.steps)
    sigma = {"known": rx.noise_std, "estimate": rx.sigma_r_estimate[..., None, None, None], "none": 0.0}[opts.sigma]
    config = NullSpaceConfig(opts.steps, opts.sampler, opts.eta, opts.travel_length, opts.travel_repeat)
    estimate = null_space_sample(
        unet, scheduler.alphas_cumprod, scheduler.timesteps, rx.operator, rx.y,
        _receiver_generator(ctx, "nullspace"), config, sigma, ctx.progress,
    )  # fmt: skip
    return image_metrics(estimate.clamp(-1, 1), link, rx)


@register_image_method("repaint", RepaintOptions, _validate)
def repaint_method(ctx: PointContext) -> dict:
    opts: RepaintOptions = ctx.options
    link, rx = received_at_point(ctx, bridge_for(opts, ctx.point))
    unet, scheduler = _model(ctx)
    known = rx.operator.A_pinv(rx.y)
    estimate = repaint(
        unet, scheduler.config, known.flatten(0, 1), rx.pixel_mask.flatten(0, 1),
        _receiver_generator(ctx, "repaint"), opts.steps, opts.jump_length, opts.jump_n_sample, opts.eta,
    )  # fmt: skip
    return image_metrics(estimate.reshape(known.shape), link, rx)
