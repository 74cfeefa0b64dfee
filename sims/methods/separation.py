"""The `separation` method: JPEG + CRC + 5G LDPC + QAM at matched bandwidth.

Each image gets ``bandwidth_ratio * 3 H W`` resource elements; the JPEG quality
is the highest whose frame fits the code's payload (:class:`bridges.separation.SeparationLink`).

``mcs = "adaptive"`` (the default) adapts the link to the point's SNR as a
practical link does: the MCS of the stream link's table (QPSK 0.2 .. 256-QAM
7/8) with the highest efficiency at most log2(1 + SNR / backoff), one codeword
filling the slot (:func:`bridges.streams.choose_mcs`, :func:`bridges.separation.mcs_link`).
``mcs = "fixed"`` keeps the [link]'s modulation and code at every SNR (the
fixed 16-QAM LDPC 1/2 of earlier studies, which delivers nothing at SNR <= 5 dB).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bridges.separation import SeparationLink, mcs_link
from bridges.streams import MCS_TABLE, choose_mcs

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
    """The operating point, and whether the MCS adapts to the SNR or is the [link]'s."""

    mcs: Literal["adaptive", "fixed"] = Field(
        "adaptive", description="adaptive: best MCS of the stream table for the SNR; fixed: [link] modulation and code"
    )
    backoff_db: float = Field(3.0, ge=0, description="adaptive: SNR margin to capacity of the MCS choice (dB)")


def _link_config(config, options: SeparationOptions, uses: int):
    if options.mcs == "fixed":
        return config.link
    return mcs_link(config.link, uses, MCS_TABLE[int(choose_mcs(float(options.snr_db), options.backoff_db))])


def _validate(config, options: SeparationOptions, point: dict) -> None:
    ratio = check_matched_point(config, options)
    uses = round(ratio * 3 * config.source.image_size**2)
    SeparationLink(_link_config(config, options, uses), uses)


@register_image_method("separation", SeparationOptions, _validate)
def separation(ctx: PointContext) -> dict:
    """Separate source and channel coding: JPEG over the digital link (MCS adapted to the SNR, or
    the [link]'s), lost frames shown blank."""
    images = user_images(ctx)
    _, _, _, H, W = images.shape
    uses = round(ctx.options.bandwidth_ratio * 3 * H * W)
    link_config = _link_config(ctx.config, ctx.options, uses)
    link = ctx.cache.get(
        SeparationLink, (link_config, uses, ctx.device), lambda: SeparationLink(link_config, uses, ctx.device)
    )
    result = link(images, float(ctx.options.snr_db), ctx.generator)
    out = score(ctx, result.images.flatten(0, 1), images.flatten(0, 1))
    out.update(
        channel_uses=uses + link.link_config.pilot_res_per_user, n_subcarriers=uses // ctx.config.link.grid.num_ofdm_symbols, slots=1,
        bpp=result.source_bits.float().mean().item() / (H * W), delivered=result.delivered.float().mean().item(),
    )  # fmt: skip
    return out
