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

__all__ = ["ReceivedOptions"]


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
