"""The `separation` method: JPEG + CRC + 5G LDPC + QAM at matched bandwidth.

Each image gets ``bandwidth_ratio * 3 H W`` resource elements; the JPEG quality
is the highest whose frame fits the code's payload (:class:`bridges.separation.SeparationLink`).
"""

from __future__ import annotations

from bridges.separation import SeparationLink

from ..registry import PointContext
from .common import (
    MatchedBandwidthOptions,
    check_matched_point,
    register_image_method,
    score,
    user_images,
)

__all__ = ["SeparationOptions"]


class SeparationOptions(MatchedBandwidthOptions):
    """The link's modulation and code come from [link]; only the operating point here."""


def _validate(config, options: SeparationOptions, point: dict) -> None:
    ratio = check_matched_point(config, options)
    SeparationLink(config.link, round(ratio * 3 * config.source.image_size**2))


@register_image_method("separation", SeparationOptions, _validate)
def separation(ctx: PointContext) -> dict:
    """Separate source and channel coding: JPEG over the digital link, lost frames shown blank."""
    images = user_images(ctx)
    _, _, _, H, W = images.shape
    uses = round(ctx.options.bandwidth_ratio * 3 * H * W)
    link = ctx.cache.get(
        SeparationLink, (ctx.config.link, uses, ctx.device), lambda: SeparationLink(ctx.config.link, uses, ctx.device)
    )
    result = link(images, float(ctx.options.snr_db), ctx.generator)
    out = score(ctx, result.images.flatten(0, 1), images.flatten(0, 1))
    out.update(
        channel_uses=uses, n_subcarriers=uses // ctx.config.link.grid.num_ofdm_symbols, slots=1,
        bpp=result.source_bits.float().mean().item() / (H * W), delivered=result.delivered.float().mean().item(),
    )  # fmt: skip
    return out
