"""Shared by the image methods: the scenario's images, per worker, arranged per user."""

from __future__ import annotations

import torch

from semantic.data import load_camvid, sample_images

from ..registry import PointContext

__all__ = ["source_images", "source_pairs", "user_images"]


def source_images(ctx: PointContext) -> torch.Tensor:
    """The scenario's images, float32 (num_images, 3, S, S) in [-1, 1], loaded once per worker."""
    source = ctx.config.source
    key = ("source-images", source.model_dump_json())
    if key not in ctx.cache:
        if source.dataset == "camvid":
            images = load_camvid(source.data_dir, source.split, source.image_size, source.num_images, source.transform)
        else:
            images = sample_images(source.image_size, source.num_images, source.transform)
        ctx.cache[key] = images
    return ctx.cache[key]


def source_pairs(ctx: PointContext) -> tuple[torch.Tensor, torch.Tensor]:
    """The scenario's CamVid images with their label maps: float32 (N, 3, S, S), int64 (N, S, S)."""
    source = ctx.config.source
    key = ("source-pairs", source.model_dump_json())
    if key not in ctx.cache:
        ctx.cache[key] = load_camvid(
            source.data_dir, source.split, source.image_size, source.num_images, source.transform, labels=True
        )
    return ctx.cache[key]


def user_images(ctx: PointContext) -> torch.Tensor:
    """The images as (num_images / K, K, 3, S, S): each user gets its own images."""
    images = source_images(ctx)
    K = ctx.config.link.grid.num_users
    return images.reshape(images.shape[0] // K, K, *images.shape[1:]).to(ctx.device)


def check_source(config) -> None:
    """ValueError unless the scenario has images that split evenly over the users."""
    if config.source is None:
        raise ValueError("needs a [source] table (the images to send)")
    K = config.link.grid.num_users
    if config.source.num_images % K:
        raise ValueError(
            f"source.num_images = {config.source.num_images} must be a multiple of link.grid.num_users = {K}"
        )
