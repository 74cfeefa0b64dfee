"""The `received` method: the image a user gets without a generative receiver.

Images go over the link (analog or digital path, see :mod:`bridges.transmit`);
missing pixels are filled with zeros or with the nearest received pixel. This
is the "no generative receiver" reference the diffusion receivers must beat.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..registry import PointContext
from .common import (
    TransmissionOptions,
    image_metrics,
    received_at_point,
    register_image_method,
)

__all__ = ["LdpcImageOptions", "ReceivedOptions"]


class ReceivedOptions(TransmissionOptions):
    """The link options and how missing pixels are shown."""

    fill: Literal["zeros", "nearest"] = Field(
        "zeros", description="missing pixels: zeros (mid-grey) or the nearest received pixel"
    )


@register_image_method("received", ReceivedOptions)
def received(ctx: PointContext) -> dict:
    """The image as received (missing pixels filled), no generative receiver."""
    link, rx = received_at_point(ctx)
    return image_metrics(ctx, rx.unrestored(ctx.options.fill), link, rx)


class LdpcImageOptions(ReceivedOptions):
    """The digital path, always: the pixels themselves are coded."""

    path: Literal["digital"] = Field("digital", description="always digital: LDPC on the quantised pixels")
    fill: Literal["zeros", "nearest"] = Field("nearest", description="pixels of the entries never sent")


@register_image_method("ldpc_image", LdpcImageOptions)
def ldpc_image(ctx: PointContext) -> dict:
    """The LDPC baseline of Grassucci et al. (seed 004, Sec. V-B): LDPC applied directly to the
    modulated source image, no source compression.

    The pixels of the N of M entries per OFDM symbol the user is given are quantised
    (``bits_per_pixel``, 8 by default), coded with the [link]'s 5G LDPC code (gscsim's
    stand-in for the paper's IEEE 802.11 LDPC: Sionna has the 5G codes, not 802.11's),
    mapped to the [link]'s QAM (16-QAM in the paper) and sent over as many slots as they
    need; decoded bit errors stay in the pixels. It spends more channel uses than the
    analog methods (``channel_uses``): the paper's comparison is at equal subcarriers per
    symbol, not equal air time. Same allocation and lost entries as every image method.
    """
    return received(ctx)
