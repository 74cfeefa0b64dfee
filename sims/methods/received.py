"""The `received` method: the image a user gets without a generative receiver.

Images go over the link (analog or digital path, see :mod:`bridges.transmit`);
missing pixels are filled with zeros or with the nearest received pixel. This
is the "no generative receiver" reference the diffusion receivers must beat.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationError

from bridges.transmit import BridgeConfig, ImageLink, Received, resolve_image_link
from phy.config import format_validation_error
from semantic.metrics import ms_ssim, psnr, ssim

from ..registry import Metric, PointContext, register_method
from .images import check_source, user_images

__all__ = [
    "IMAGE_COLUMNS",
    "IMAGE_METRICS",
    "ReceivedOptions",
    "TransmissionOptions",
    "bridge_for",
    "image_metrics",
    "score",
    "received_at_point",
    "register_image_method",
    "validate_transmission",
]

IMAGE_METRICS = [Metric("psnr"), Metric("ssim"), Metric("ms_ssim")]
IMAGE_COLUMNS = ("n_subcarriers", "m_entries", "slots", "channel_uses", "bpp", "bit_error_rate", "delivered")
IMAGE_AXES = {"snr_db", "nm_ratio", "bandwidth_ratio"}


class TransmissionOptions(BridgeConfig):
    """Bridge options plus the operating point when it is not swept."""

    snr_db: float | None = Field(None, description="SNR per resource element when snr_db is not a sweep axis")


class ReceivedOptions(TransmissionOptions):
    fill: Literal["zeros", "nearest"] = "zeros"


def bridge_for(options: TransmissionOptions, point: dict) -> BridgeConfig:
    fields = set(BridgeConfig.model_fields)
    data = {k: v for k, v in options.model_dump().items() if k in fields}
    for axis in ("nm_ratio", "bandwidth_ratio"):
        if axis in point:
            data[axis] = float(point[axis])
    try:
        return BridgeConfig.model_validate(data)
    except ValidationError as exc:  # a swept nm_ratio out of range
        raise ValueError(format_validation_error(exc)) from None


def validate_transmission(config, options: TransmissionOptions, point: dict) -> None:
    """ValueError for a point whose images cannot go over the link."""
    check_source(config)
    if "snr_db" not in point and options.snr_db is None:
        raise ValueError("set snr_db, or sweep it")
    shape = (3, config.source.image_size, config.source.image_size)
    resolve_image_link(config.link, bridge_for(options, point), shape)


def received_at_point(ctx: PointContext, bridge: BridgeConfig) -> tuple[ImageLink, Received]:
    """Send the scenario's images at this point (shared by methods that see the same link).

    Methods at one (point, seed) draw the same channel and noise, so the
    transmission of the last point is kept and reused by the next method.
    """
    images = user_images(ctx)
    key = ("image-link", ctx.config.link.model_dump_json(), bridge.model_dump_json(), tuple(images.shape[2:]), ctx.device)
    if key not in ctx.cache:
        ctx.cache[key] = ImageLink(ctx.config.link, bridge, tuple(images.shape[2:]), ctx.device)
    link = ctx.cache[key]
    snr_db = float(ctx.point.get("snr_db", getattr(ctx.options, "snr_db", None)))
    sent_key = (key, ctx.seed, tuple(sorted((k, repr(v)) for k, v in ctx.axes.items())), snr_db)
    last = ctx.cache.get("last-transmission")
    if last is None or last[0] != sent_key:
        last = (sent_key, link(images, snr_db, ctx.generator))
        ctx.cache["last-transmission"] = last
    return link, last[1]


def register_image_method(kind: str, options: type[TransmissionOptions], validate=validate_transmission):
    """Register a method that sends the scenario's images and scores what a user gets."""
    return register_method(
        kind, metrics=IMAGE_METRICS, options=options, axes=IMAGE_AXES,
        extra_columns=IMAGE_COLUMNS, validate=validate,
    )  # fmt: skip


@register_image_method("received", ReceivedOptions)
def received(ctx: PointContext) -> dict:
    link, rx = received_at_point(ctx, bridge_for(ctx.options, ctx.point))
    return image_metrics(rx.unrestored(ctx.options.fill), link, rx)


def score(estimate, reference) -> dict:
    """PSNR, SSIM and MS-SSIM per image of float (N, C, H, W) estimates against references."""
    return {"psnr": psnr(estimate, reference), "ssim": ssim(estimate, reference), "ms_ssim": ms_ssim(estimate, reference)}


def image_metrics(estimate, link: ImageLink, rx: Received) -> dict:
    """Per-image PSNR, SSIM, MS-SSIM of ``estimate`` (B, K, C, H, W) and the link's columns."""
    estimate, reference = estimate.flatten(0, 1), rx.images.flatten(0, 1)
    out = score(estimate, reference)
    out.update(
        n_subcarriers=link.subcarriers_per_user, m_entries=link.entries_per_symbol, slots=rx.slots,
        channel_uses=rx.slots * link.layout.num_ofdm_symbols * link.subcarriers_per_user,
    )  # fmt: skip
    if rx.bit_errors is not None:
        payload_bits = 2 * rx.y.shape[-2] * link.subcarriers_per_user * link.bridge.bits_per_pixel
        out["bit_error_rate"] = rx.bit_errors.sum().item() / (payload_bits * rx.bit_errors.numel())
    return out
